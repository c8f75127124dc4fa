import type { Inventory, RevisionInfo } from "../semantics/inventory";
import { REVISION_LABEL } from "../semantics/labels";
import { tagsOf } from "../semantics/revisions";
import type { Finding, Rule } from "../lib/rule";

export const retiringRevision: Rule = {
    id: "MT020",
    name: "pinned-to-retiring-revision",
    description: "Advisory: no namespace, pod template or running pod is tied by name to a revision that no tag points at while another revision of its control plane carries the tags (a revision being retired).",
    why: "In a canary upgrade the old revision is removed once the tags have moved; whatever names it directly does not move with the tags, and loses its injector (or keeps a proxy whose istiod is gone) when the revision is removed.",
    defaultEnforcement: "advisory",
    fix: "Label namespaces and pods with a tag (`<usergroup>-stable`), never a revision name; restart pods still injected by the old revision (their `istio.io/rev` annotation names it) before removing it. Run the checker over `kubectl get pods -A -o yaml` with the rendered control plane to list them.",
    atAdmission: "no",
    previewOnly: "which revisions are retiring (the stack config) and which namespaces or pod templates still name them",
    codes: {
        MT2001: "a namespace names a retiring revision instead of a tag",
        MT2002: "a pod template pins a retiring revision",
        MT2003: "a running pod was injected by a retiring revision",
    },
    check(inventory: Inventory): Finding[] {
        const retiring = retiringRevisions(inventory);
        if (retiring.size === 0) return [];
        const findings: Finding[] = [];
        const why = (rev: RevisionInfo) => `revision ${rev.name} is being retired (tags of control plane ${rev.namespace} point at ${successorsOf(inventory, rev).join(", ")})`;
        for (const ns of inventory.meshedNamespaces()) {
            const rev = retiring.get(ns.labels[REVISION_LABEL]);
            if (rev !== undefined) findings.push({ code: "MT2001", subject: ns.subject, message: `${REVISION_LABEL}=${rev.name} names the revision, not a tag; ${why(rev)}: follow a tag instead` });
        }
        for (const w of inventory.workloads()) {
            const pinned = retiring.get(w.labels[REVISION_LABEL] ?? "");
            if (pinned !== undefined) {
                findings.push({ code: "MT2002", subject: w.subject, message: `pods pin ${REVISION_LABEL}=${pinned.name}; ${why(pinned)}: drop the label or use a tag` });
                continue;
            }
            // The injector writes the revision that injected a pod into its `istio.io/rev` annotation.
            const injectedBy = w.kind === "Pod" && w.hasProxy ? retiring.get(w.annotations[REVISION_LABEL] ?? "") : undefined;
            if (injectedBy !== undefined) findings.push({ code: "MT2003", subject: w.subject, message: `pod was injected by ${injectedBy.name}; ${why(injectedBy)}: restart it before the revision is removed` });
        }
        return findings;
    },
};

/** Installed revisions no tag points at, in a control plane (istiod namespace) where tags point at another revision. */
function retiringRevisions(inventory: Inventory): Map<string, RevisionInfo> {
    const taggedNamespaces = new Set([...inventory.tags.values()].map((r) => r.namespace));
    const retiring = new Map<string, RevisionInfo>();
    for (const rev of inventory.revisions.values()) {
        if (tagsOf(inventory, rev).length === 0 && taggedNamespaces.has(rev.namespace)) retiring.set(rev.name, rev);
    }
    return retiring;
}

function successorsOf(inventory: Inventory, rev: RevisionInfo): string[] {
    return [...new Set([...inventory.tags.values()].filter((r) => r.namespace === rev.namespace).map((r) => r.name))].sort();
}
