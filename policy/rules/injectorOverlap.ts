import type { Inventory } from "../semantics/inventory";
import { meshView } from "../semantics/reachability";
import { describeWorkload } from "../semantics/workloads";
import type { Finding, Rule } from "../lib/rule";

export const injectorOverlap: Rule = {
    id: "MT018",
    name: "one-injector-per-pod",
    description: "No namespace and no workload is matched by the injector webhooks of two revisions.",
    why: "The API server calls every mutating webhook that matches; the first to run injects its revision's proxy and the other skips the already injected pod. Which control plane a pod joins then depends on webhook order, across usergroups.",
    defaultEnforcement: "mandatory",
    codes: { MT1801: "injector webhooks of two revisions match the same pods" },
    check(inventory: Inventory): Finding[] {
        const view = meshView(inventory);
        const findings: Finding[] = [];
        for (const ns of inventory.namespaces.keys()) {
            const candidates = [view.defaultView(ns)!.workload, ...inventory.workloadsIn(ns)];
            for (const w of candidates) {
                const matched = view.view(w).injection.matched;
                const revisions = [...new Set(matched.map((i) => i.revision.name))];
                if (revisions.length < 2) continue;
                const hooks = matched.map((i) => `${i.name} (revision ${i.revision.name}${i.via !== i.revision.name ? ` via ${i.via}` : ""})`);
                findings.push({ code: "MT1801", subject: w.subject, message: `${describeWorkload(w)} is matched by injectors of revisions ${revisions.join(", ")}: ${hooks.join(", ")}` });
            }
        }
        return findings;
    },
};
