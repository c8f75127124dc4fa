import type { Inventory, RevisionInfo } from "./inventory";
import { REVISION_LABEL } from "./labels";
import { stringRecord, Subject } from "./objects";
import type { Workload } from "./workloads";

/**
 * Which control-plane revision reads which object.
 *
 * istiod of revision `r` reads an Istio config object when (1) its namespace is one `r` discovers (discoverySelectors
 * scope config as well as services from Istio 1.22 on, and earlier with enhanced resource scoping), and (2) the object
 * carries no `istio.io/rev` label, or carries `r` itself or one of `r`'s tags: an object labelled for another revision
 * is invisible to `r`. A namespace the object set does not hold is taken as discovered, since nothing shows otherwise.
 */

/**
 * The ports istiod serves (istio-discovery chart, `release-1.31`: the Deployment's `containerPort`s, the Service's
 * `targetPort`s): plaintext xDS, which hands any caller the service view it asks for; secure xDS and the CA; the
 * injection and validation webhooks (and `/ready`); metrics and authenticated debug endpoints; HTTP on 8080 (readiness
 * and debug endpoints, and plaintext xDS when `--grpcAddr` is cleared).
 */
/** The ServiceAccount the istio-discovery chart runs a revision's istiod as: `istiod` for the default one, `istiod-<revision>` else. */
export function istiodServiceAccount(revision: string): string {
    return revision === "default" ? "istiod" : `istiod-${revision}`;
}

export const ISTIOD_PORTS = { xds: 15010, secureXdsAndCa: 15012, webhook: 15017, monitoring: 15014, http: 8080 } as const;

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

/** The `kind` of the stand-in for the pods the istiod chart will run. */
export const ISTIOD_CHART_PODS = "istiod chart";

/**
 * The pods of `rev`'s istiod: its Deployment and pods where the object set holds them; otherwise, when some object of
 * its namespace holds any object (the chart release, the mesh ConfigMap, a NetworkPolicy), a stand-in for the pods the
 * istiod chart will run there, labelled as the chart labels them (`app: istiod`, `istio.io/rev: <revision>`), container
 * ports unknown. Empty when the object set holds nothing in its namespace (a revision known only by name, from a
 * webhook).
 */
export function istiodWorkloads(inventory: Inventory, rev: RevisionInfo): Workload[] {
    const own = new Set(rev.subjects);
    const running = inventory.workloadsIn(rev.namespace).filter((w) => own.has(w.subject));
    if (running.length > 0) return running;
    const inNamespace = inventory.inNamespace(rev.namespace);
    const anchor = rev.subjects.find((s) => s.object.metadata.namespace === rev.namespace) ?? inventory.inNamespace(rev.namespace, "NetworkPolicy")[0] ?? inNamespace[0];
    if (anchor === undefined) return [];
    return [
        {
            subject: anchor,
            kind: ISTIOD_CHART_PODS,
            name: `istiod-${rev.name}`,
            namespace: rev.namespace,
            labels: { app: "istiod", [REVISION_LABEL]: rev.name },
            annotations: {},
            serviceAccount: istiodServiceAccount(rev.name),
            hostNetwork: false,
            hasProxy: false,
        },
    ];
}
