import { contextOf, policyRef, ruleSources } from "../semantics/authorization";
import { picksProxies } from "../semantics/envoyFilters";
import type { Inventory } from "../semantics/inventory";
import { arrayOf, isRecord, stringRecord } from "../semantics/objects";
import { labelledFor } from "../semantics/revisions";
import { SourceSet } from "../semantics/sources";
import type { Finding, Rule } from "../lib/rule";

const PROXY_CONFIG_KINDS = ["EnvoyFilter", "WasmPlugin"];

export const rootConfigReach: Rule = {
    id: "MT019",
    name: "root-namespace-config-reach",
    description: "Config in a revision's root namespace that applies to every workload of the revision is judged for its reach: no EnvoyFilter or WasmPlugin there without a selector, and no ALLOW AuthorizationPolicy there admitting every namespace.",
    why: "Istio applies EnvoyFilters, WasmPlugins and AuthorizationPolicies of the root namespace to the proxies of every namespace the revision serves: one object there rewrites or opens every tenant of the usergroup at once.",
    defaultEnforcement: "mandatory",
    fix: "Give EnvoyFilters and WasmPlugins in a root namespace a workload selector (or move them to the tenant namespace that needs them), and write root ALLOW policies with named principals or namespaces.",
    atAdmission: "by MT-A4 (no Istio config in system namespaces but the platform's) and MT-A3 (no EnvoyFilter or WasmPlugin in tenant namespaces)",
    previewOnly: "the reach of the platform's own root-namespace config",
    codes: {
        MT1901: "an EnvoyFilter or WasmPlugin in a root namespace applies to every workload",
        MT1902: "an ALLOW AuthorizationPolicy in a root namespace admits every namespace, for every workload",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const rev of inventory.revisions.values()) {
            const root = rev.rootNamespace;
            for (const kind of PROXY_CONFIG_KINDS) {
                for (const s of inventory.inNamespace(root, kind)) {
                    if (!labelledFor(inventory, s, rev)) continue;
                    if (!picksProxies(s)) {
                        findings.push({ code: "MT1901", subject: s, message: `${kind} in root namespace ${root} has no selector: it changes the proxy of every workload of revision ${rev.name}` });
                    }
                }
            }
            const ctx = contextOf(inventory, rev);
            for (const s of inventory.inNamespace(root, "AuthorizationPolicy")) {
                const ref = policyRef(s);
                if (!labelledFor(inventory, s, rev) || !ref.enforced || ref.action !== "ALLOW") continue;
                const spec: Record<string, any> = isRecord(s.object.spec) ? s.object.spec : {};
                if (stringRecord(spec.selector?.matchLabels) && Object.keys(stringRecord(spec.selector?.matchLabels)).length > 0) continue;
                let admitted = SourceSet.none();
                const details: string[] = [];
                arrayOf(spec.rules).forEach((rule, i) => {
                    const r = ruleSources(isRecord(rule) ? rule : {}, ctx, "possible");
                    if (r.sources.cofinite) details.push(`rule ${i + 1}${r.detail.length > 0 ? ` ${r.detail.join(", ")}` : ""}`);
                    admitted = admitted.union(r.sources);
                });
                if (admitted.cofinite) {
                    findings.push({ code: "MT1902", subject: s, message: `ALLOW policy in root namespace ${root} applies to every workload of revision ${rev.name} and admits ${admitted.describe()} (${details.join("; ")})` });
                }
            }
        }
        return findings;
    },
};
