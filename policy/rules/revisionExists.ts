import { REVISION_LABEL } from "../semantics/labels";
import { Inventory } from "../semantics/inventory";
import type { Finding, Rule } from "../lib/rule";

export const revisionExists: Rule = {
    id: "MT002",
    name: "revision-exists",
    description: "Every istio.io/rev value on a namespace or pod template names an istiod revision (or revision tag) installed in the same stack or manifest set.",
    why: "A revision label that matches no injector leaves pods without sidecars (or, with a failing webhook, unschedulable), and no error says so.",
    defaultEnforcement: "mandatory",
    check(inventory: Inventory): Finding[] {
        const known = [...inventory.revisions.keys(), ...[...inventory.tags.keys()].map((t) => `tag ${t}`)];
        const missing = (rev: string) => inventory.resolveRevision(rev) === undefined;
        const findings: Finding[] = [];
        for (const ns of inventory.meshedNamespaces()) {
            const rev = ns.labels[REVISION_LABEL];
            if (missing(rev)) findings.push({ subject: ns.subject, message: `${REVISION_LABEL}=${rev} names no installed revision (installed: ${known.join(", ") || "none"})` });
        }
        for (const w of inventory.workloads()) {
            const rev = Inventory.podLabels(w.object)?.[REVISION_LABEL];
            if (rev !== undefined && missing(rev)) findings.push({ subject: w, message: `pod template ${REVISION_LABEL}=${rev} names no installed revision (installed: ${known.join(", ") || "none"})` });
        }
        return findings;
    },
};
