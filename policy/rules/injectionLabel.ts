import { INJECTION_LABEL, REVISION_LABEL } from "../semantics/labels";
import { Inventory } from "../semantics/inventory";
import { stringRecord } from "../semantics/objects";
import type { Finding, Rule } from "../lib/rule";

export const injectionLabel: Rule = {
    id: "MT001",
    name: "revision-label-without-injection-label",
    description: "A namespace with istio.io/rev has no istio-injection label, and workloads' istio.io/rev matches their namespace's.",
    why: "istio-injection takes precedence over istio.io/rev: `enabled` injects the default revision instead of the usergroup's, and `disabled` silently turns injection off; a pod revision different from its namespace's joins another usergroup's control plane.",
    defaultEnforcement: "mandatory",
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const ns of inventory.meshedNamespaces()) {
            const injection = ns.labels[INJECTION_LABEL];
            if (injection !== undefined) {
                findings.push({
                    subject: ns.subject,
                    message: `namespace has ${REVISION_LABEL}=${ns.labels[REVISION_LABEL]} and ${INJECTION_LABEL}=${injection}; remove ${INJECTION_LABEL}${injection === "disabled" ? " (with it, injection is silently off)" : ""}`,
                });
            }
        }
        for (const w of inventory.workloads()) {
            const podRev = Inventory.podLabels(w.object)?.[REVISION_LABEL];
            const ns = w.object.metadata.namespace;
            if (podRev === undefined || ns === undefined) continue;
            const nsRev = stringRecord(inventory.namespaces.get(ns)?.labels)[REVISION_LABEL];
            const same = nsRev === podRev || (nsRev !== undefined && inventory.resolveRevision(nsRev) !== undefined && inventory.resolveRevision(nsRev) === inventory.resolveRevision(podRev));
            if (nsRev !== undefined && !same) {
                findings.push({ subject: w, message: `pods have ${REVISION_LABEL}=${podRev} but namespace ${ns} has ${REVISION_LABEL}=${nsRev}` });
            }
        }
        return findings;
    },
};
