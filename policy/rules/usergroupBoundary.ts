import type { Inventory } from "../semantics/inventory";
import { meshView } from "../semantics/reachability";
import { describeWorkload } from "../semantics/workloads";
import { gatewayWorkload, managedNamespaces } from "./support";
import type { Finding, Rule } from "../lib/rule";

export const usergroupBoundary: Rule = {
    id: "MT015",
    name: "nothing-crosses-usergroups",
    description: "No workload of a usergroup's tenant or shared namespaces admits a source from outside the usergroup (through its sidecar and its NetworkPolicies together), and no proxy of it imports a namespace outside it.",
    why: "A usergroup is a tenancy boundary: its own control plane, its own namespaces. One AuthorizationPolicy rule with an address block, one NetworkPolicy rule without `from`, one Sidecar host in a foreign namespace, and the boundary is gone whatever the other objects say.",
    defaultEnforcement: "mandatory",
    codes: {
        MT1501: "a workload admits sources outside its usergroup, through its sidecar and at L3",
        MT1502: "a proxy imports a namespace outside its usergroup",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        const view = meshView(inventory);
        for (const { name: ns, usergroup } of managedNamespaces(inventory)) {
            const outside = (n: string) => inventory.usergroupOf(n) !== usergroup;
            for (const w of view.workloadsOf(ns)) {
                if (gatewayWorkload(inventory, w)) continue;
                const v = view.view(w);
                const foreign = v.admitted.cofinite ? [] : [...v.admitted.names].filter(outside);
                if (v.admitted.cofinite) {
                    findings.push({ code: "MT1501", subject: w.subject, message: `${describeWorkload(w)} admits ${v.admitted.describe()}: ${v.admitted.whyOthers().join("; ")}` });
                } else if (foreign.length > 0) {
                    const paths = foreign.sort().map((n) => `${n} (usergroup ${inventory.usergroupOf(n) ?? "none"}: ${v.admitted.why(n).join("; ")})`);
                    findings.push({ code: "MT1501", subject: w.subject, message: `${describeWorkload(w)} admits namespaces outside usergroup ${usergroup}: ${paths.join(", ")}` });
                }
                const imported = v.imports === undefined ? [] : [...v.imports.namespaces].filter(outside);
                if (imported.length > 0) {
                    findings.push({ code: "MT1502", subject: v.imports!.choice.sidecar ?? w.subject, message: `proxies of ${describeWorkload(w)} import ${imported.sort().join(", ")}, outside usergroup ${usergroup}: ${v.imports!.reason}` });
                }
            }
        }
        return findings;
    },
};
