import type { Inventory } from "../semantics/inventory";
import type { Finding, Rule } from "../lib/rule";
import { enhancedResourceScoping } from "../semantics/versions";

const EXPORT_DEFAULTS = ["defaultServiceExportTo", "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo"];

export const istiodScoping: Rule = {
    id: "MT004",
    name: "istiod-scoping-settings",
    description: 'Every istiod sets discoverySelectors and the three mesh default…ExportTo values to ["."], and ENABLE_ENHANCED_RESOURCE_SCOPING where it exists but defaults off.',
    why: "Without discoverySelectors a revision watches every namespace; without private exportTo defaults every VirtualService, DestinationRule and Service leaks to every namespace; on 1.20–1.21 Istio config ignores discoverySelectors unless enhanced scoping is on.",
    defaultEnforcement: "mandatory",
    fix: "Set `meshConfig.discoverySelectors`, and `defaultServiceExportTo`, `defaultVirtualServiceExportTo`, `defaultDestinationRuleExportTo` to `[\".\"]` in the istiod values; on Istio 1.20–1.21 set `pilot.env.ENABLE_ENHANCED_RESOURCE_SCOPING: \"true\"`, and never set it to `\"false\"`.",
    atAdmission: "no",
    previewOnly: "istiod settings are chart values the platform sets",
    codes: {
        MT0401: "a revision has no discoverySelectors, so it discovers every namespace",
        MT0402: "a revision's defaultServiceExportTo, defaultVirtualServiceExportTo or defaultDestinationRuleExportTo is not [\".\"]",
        MT0403: "a revision of a release where ENABLE_ENHANCED_RESOURCE_SCOPING defaults off does not turn it on",
        MT0404: "a revision turns ENABLE_ENHANCED_RESOURCE_SCOPING off",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const rev of inventory.revisions.values()) {
            const subject = rev.subjects[0];
            if (rev.mesh !== undefined) {
                const selectors = inventory.discoverySelectors(rev);
                if (selectors === undefined || selectors.length === 0) {
                    findings.push({ code: "MT0401", subject, message: `revision ${rev.name} has no meshConfig.discoverySelectors, so it discovers every namespace` });
                }
                for (const key of EXPORT_DEFAULTS) {
                    const value = rev.mesh[key];
                    if (!(Array.isArray(value) && value.length === 1 && value[0] === ".")) {
                        findings.push({ code: "MT0402", subject, message: `revision ${rev.name}: meshConfig.${key} is ${JSON.stringify(value ?? "unset (all namespaces)")}, must be ["."]` });
                    }
                }
            }
            const flag = rev.env?.ENABLE_ENHANCED_RESOURCE_SCOPING;
            const support = enhancedResourceScoping(rev.version);
            if (support === "default-off" && flag !== "true") {
                findings.push({ code: "MT0403", subject, message: `revision ${rev.name} (Istio ${rev.version}) needs ENABLE_ENHANCED_RESOURCE_SCOPING=true: on this version Istio config ignores discoverySelectors without it` });
            } else if ((support === "default-on" || support === "unknown") && flag === "false") {
                findings.push({ code: "MT0404", subject, message: `revision ${rev.name} turns ENABLE_ENHANCED_RESOURCE_SCOPING off, so Istio config ignores discoverySelectors` });
            }
        }
        return findings;
    },
};
