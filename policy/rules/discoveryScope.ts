import { REVISION_LABEL } from "../semantics/labels";
import type { Inventory, RevisionInfo } from "../semantics/inventory";
import type { Finding, Rule } from "../lib/rule";

export const discoveryScope: Rule = {
    id: "MT003",
    name: "discovered-by-exactly-one-revision",
    description: "Each meshed namespace is discovered by exactly its own revision; each revision discovers its system namespace; no two revisions discover the same namespace.",
    why: "Two istiods that discover one namespace both write its istio-ca-root-cert and fight over it; a revision blind to its own namespace loses its gateways' config; a namespace its revision does not discover gets no config at all.",
    defaultEnforcement: "mandatory",
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        const revisionSubject = (r: RevisionInfo) => r.subjects[0];

        for (const ns of inventory.namespaces.values()) {
            const discovering = inventory.revisionsDiscovering(ns.name).map((r) => r.name);
            const own = ns.labels[REVISION_LABEL];
            const ownRevision = own === undefined ? undefined : inventory.resolveRevision(own);
            if (discovering.length > 1) {
                findings.push({ subject: ns.subject, message: `discovered by ${discovering.length} revisions (${discovering.join(", ")}); their discoverySelectors must not overlap` });
            } else if (ownRevision !== undefined && discovering[0] !== ownRevision.name) {
                findings.push({
                    subject: ns.subject,
                    message: discovering.length === 0 ? `${REVISION_LABEL}=${own} but no revision discovers it; label it for revision ${ownRevision.name}'s discoverySelectors` : `${REVISION_LABEL}=${own} but discovered by revision ${discovering[0]}`,
                });
            }
        }
        for (const rev of inventory.revisions.values()) {
            if (inventory.namespaces.has(rev.namespace) && !inventory.discoveredBy(rev).has(rev.namespace)) {
                findings.push({ subject: revisionSubject(rev), message: `revision ${rev.name}'s discoverySelectors do not select its own namespace ${rev.namespace}; its gateways would lose their config` });
            }
        }
        return findings;
    },
};
