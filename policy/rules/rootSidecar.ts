import type { Inventory } from "../semantics/inventory";
import type { Finding, Rule } from "../lib/rule";
import { workloadSelectorOf } from "../semantics/sidecarScope";

export const rootSidecar: Rule = {
    id: "MT006",
    name: "root-sidecar-without-selector",
    description: "A Sidecar in a revision's root namespace has no workloadSelector.",
    why: "Istio applies a root-namespace Sidecar as the default of every namespace that has none; with a workloadSelector it is not a default and scopes nothing.",
    defaultEnforcement: "mandatory",
    fix: "Remove the `workloadSelector`, or move the Sidecar into a tenant namespace.",
    atAdmission: "by MT-A4: nobody but the platform writes Istio config in a system namespace",
    previewOnly: "the root Sidecar's content (the platform's)",
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const rev of inventory.revisions.values()) {
            for (const sc of inventory.inNamespace(rev.rootNamespace, "Sidecar")) {
                if (workloadSelectorOf(sc) !== undefined) {
                    findings.push({ subject: sc, message: `Sidecar in root namespace ${rev.rootNamespace} of revision ${rev.name} has a workloadSelector; a mesh-wide default must have none` });
                }
            }
        }
        return findings;
    },
};
