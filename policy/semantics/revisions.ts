import type { Inventory, RevisionInfo } from "./inventory";
import { REVISION_LABEL } from "./labels";
import { stringRecord, Subject } from "./objects";

/**
 * Which control-plane revision reads which object.
 *
 * istiod of revision `r` reads an Istio config object when (1) its namespace is one `r` discovers (discoverySelectors
 * scope config as well as services from Istio 1.22 on, and earlier with enhanced resource scoping), and (2) the object
 * carries no `istio.io/rev` label, or carries `r` itself or one of `r`'s tags: an object labelled for another revision
 * is invisible to `r`. A namespace the object set does not hold is taken as discovered, since nothing shows otherwise.
 */

/** Whether `rev` discovers `namespace`. */
export function discovers(inventory: Inventory, rev: RevisionInfo, namespace: string): boolean {
    if (!inventory.namespaces.has(namespace)) return true;
    return inventory.discoveredBy(rev).has(namespace);
}

/** The tags that point at `rev`. */
export function tagsOf(inventory: Inventory, rev: RevisionInfo): string[] {
    return [...inventory.tags].filter(([, r]) => r === rev).map(([t]) => t);
}

/** Whether the `istio.io/rev` label of a config object lets `rev` read it. */
export function labelledFor(inventory: Inventory, subject: Subject, rev: RevisionInfo): boolean {
    const label = stringRecord(subject.object.metadata.labels)[REVISION_LABEL];
    if (label === undefined) return true;
    if (label === rev.name || (label === "default" && rev.name === "default")) return true;
    return inventory.tags.get(label) === rev;
}

/** Whether istiod of `rev` reads this Istio config object at all. */
export function readBy(inventory: Inventory, subject: Subject, rev: RevisionInfo): boolean {
    const ns = subject.object.metadata.namespace;
    return labelledFor(inventory, subject, rev) && (ns === undefined || discovers(inventory, rev, ns));
}

/** The config objects of `kind` in `namespace` that `rev` reads. */
export function configIn(inventory: Inventory, rev: RevisionInfo, namespace: string, kind: string): Subject[] {
    if (!discovers(inventory, rev, namespace)) return [];
    return inventory.inNamespace(namespace, kind).filter((s) => labelledFor(inventory, s, rev));
}
