import type { Inventory } from "../semantics/inventory";
import { declaredExportTo, EXPORTABLE_KINDS } from "../semantics/exportTo";
import { arrayOf } from "../semantics/objects";
import type { Finding, Rule } from "../lib/rule";

export const exportTo: Rule = {
    id: "MT008",
    name: "export-within-usergroup",
    description: "exportTo on VirtualServices, DestinationRules, ServiceEntries and Services (networking.istio.io/exportTo) in tenant and shared namespaces never uses `*` and names only namespaces of the same usergroup.",
    why: "`*` publishes the object to every namespace, overriding the private mesh default; naming another usergroup's namespace publishes it across the tenancy boundary.",
    defaultEnforcement: "mandatory",
    fix: "List the importing namespaces of the same usergroup instead of `*` (the program's `serviceExportTo` output gives the exact value for each namespace).",
    atAdmission: "yes, stricter: exportTo may name `.`, `~` and the namespace's peers (namespaces it imports or that import it)",
    codes: {
        MT0801: "exportTo `*` publishes an object to every namespace",
        MT0802: "exportTo names a namespace outside the object's usergroup",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const kind of EXPORTABLE_KINDS) {
            for (const s of inventory.ofKind(kind)) {
                const ns = s.object.metadata.namespace;
                const role = ns === undefined ? undefined : inventory.roleOf(ns);
                if (ns === undefined || (role !== "tenant" && role !== "shared")) continue;
                const usergroup = inventory.usergroupOf(ns);
                for (const target of arrayOf(declaredExportTo(s))) {
                    if (target === "." || target === "~") continue;
                    if (target === "*") {
                        findings.push({ code: "MT0801", subject: s, message: `exportTo "*" publishes it to every namespace; list the namespaces that need it` });
                    } else if (inventory.usergroupOf(target) !== usergroup) {
                        findings.push({ code: "MT0802", subject: s, message: `exportTo "${target}" is outside usergroup ${usergroup}` });
                    }
                }
            }
        }
        return findings;
    },
};
