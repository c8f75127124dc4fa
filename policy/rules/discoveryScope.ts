import { REVISION_LABEL } from "../semantics/labels";
import type { Inventory, RevisionInfo } from "../semantics/inventory";
import type { Finding, Rule } from "../lib/rule";

export const discoveryScope: Rule = {
    id: "MT003",
    name: "discovered-by-exactly-one-revision",
    description: "Each meshed namespace is discovered by its own revision; each revision discovers its system namespace; no two control planes discover the same namespace (revisions running in one namespace, as during a canary upgrade, are one control plane).",
    why: "Two istiods of different control planes that discover one namespace both write its istio-ca-root-cert with their own roots and fight over it; revisions in one namespace share its CA secret, so they write the same root. A revision blind to its own namespace loses its gateways' config; a namespace its revision does not discover gets no config at all.",
    defaultEnforcement: "mandatory",
    fix: "Label the namespace `usergroup=<its usergroup>` only; make each revision's `discoverySelectors` match its own `usergroup` label (the program does); never list a namespace under two usergroups; a namespace follows only tags of its own usergroup (the tag's `istio.io/rev` value starts with the usergroup's name).",
    atAdmission: "partly: a namespace's `usergroup` label cannot be set or changed (MT-A2)",
    previewOnly: "discovery selectors of each revision (chart values)",
    codes: {
        MT0301: "a namespace is discovered by revisions of two or more control planes",
        MT0302: "a namespace's istio.io/rev names a revision that does not discover it",
        MT0303: "a revision does not discover its own namespace",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        const revisionSubject = (r: RevisionInfo) => r.subjects[0];

        for (const ns of inventory.namespaces.values()) {
            const revisions = inventory.revisionsDiscovering(ns.name);
            const discovering = revisions.map((r) => r.name);
            const controlPlanes = new Set(revisions.map((r) => r.namespace));
            const own = ns.labels[REVISION_LABEL];
            const ownRevision = own === undefined ? undefined : inventory.resolveRevision(own);
            if (controlPlanes.size > 1) {
                findings.push({ code: "MT0301", subject: ns.subject, message: `discovered by ${discovering.length} revisions of ${controlPlanes.size} control planes (${revisions.map((r) => `${r.name} in ${r.namespace}${r.mesh === undefined ? " (mesh config not in the set: taken to discover what it injects)" : ""}`).join(", ")}); their discoverySelectors must not overlap` });
            } else if (ownRevision !== undefined && !discovering.includes(ownRevision.name)) {
                const via = own !== ownRevision.name ? `tag ${own} of revision ${ownRevision.name} (control plane ${ownRevision.namespace})` : `revision ${own}`;
                findings.push({
                    code: "MT0302",
                    subject: ns.subject,
                    message:
                        discovering.length === 0
                            ? `${REVISION_LABEL}=${own} but no revision discovers it; label it for revision ${ownRevision.name}'s discoverySelectors`
                            : `${REVISION_LABEL}=${own} selects ${via}, but the namespace is discovered by ${discovering.join(", ")} (control plane ${revisions[0].namespace})`,
                });
            }
        }
        for (const rev of inventory.revisions.values()) {
            if (inventory.namespaces.has(rev.namespace) && !inventory.discoveredBy(rev).has(rev.namespace)) {
                findings.push({ code: "MT0303", subject: revisionSubject(rev), message: `revision ${rev.name}'s discoverySelectors do not select its own namespace ${rev.namespace}; its gateways would lose their config` });
            }
        }
        return findings;
    },
};
