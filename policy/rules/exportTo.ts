import type { Inventory } from "../semantics/inventory";
import { SERVICE_EXPORT_TO_ANNOTATION } from "../semantics/labels";
import { arrayOf, stringRecord, Subject } from "../semantics/objects";
import type { Finding, Rule } from "../lib/rule";

const EXPORTABLE = new Set(["VirtualService", "DestinationRule", "ServiceEntry"]);

/** The exportTo list an object declares, or undefined when it declares none (the mesh default applies). */
export function declaredExportTo(s: Subject): string[] | undefined {
    if (EXPORTABLE.has(s.object.kind)) {
        const list = (s.object.spec as any)?.exportTo;
        return Array.isArray(list) ? list.filter((v): v is string => typeof v === "string") : undefined;
    }
    if (s.object.kind === "Service" && s.object.apiVersion === "v1") {
        const annotation = stringRecord(s.object.metadata.annotations)[SERVICE_EXPORT_TO_ANNOTATION];
        return annotation === undefined ? undefined : annotation.split(",").map((v) => v.trim()).filter((v) => v !== "");
    }
    return undefined;
}

export const exportTo: Rule = {
    id: "MT008",
    name: "export-within-usergroup",
    description: "exportTo on VirtualServices, DestinationRules, ServiceEntries and Services (networking.istio.io/exportTo) in tenant namespaces never uses `*` and names only namespaces of the same usergroup.",
    why: "`*` publishes the object to every namespace, overriding the private mesh default; naming another usergroup's namespace publishes it across the tenancy boundary.",
    defaultEnforcement: "mandatory",
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const kind of [...EXPORTABLE, "Service"]) {
            for (const s of inventory.ofKind(kind)) {
                const ns = s.object.metadata.namespace;
                if (ns === undefined || inventory.roleOf(ns) !== "tenant") continue;
                const usergroup = inventory.usergroupOf(ns);
                for (const target of arrayOf(declaredExportTo(s))) {
                    if (target === "." || target === "~") continue;
                    if (target === "*") {
                        findings.push({ subject: s, message: `exportTo "*" publishes it to every namespace; list the namespaces that need it` });
                    } else if (inventory.usergroupOf(target) !== usergroup) {
                        findings.push({ subject: s, message: `exportTo "${target}" is outside usergroup ${usergroup}` });
                    }
                }
            }
        }
        return findings;
    },
};
