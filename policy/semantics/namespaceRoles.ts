import { push } from "./collections";
import { DEPLOYED_GATEWAY_PODS, GATEWAY_CHART_PODS } from "./gateways";
import type { Inventory, RevisionInfo } from "./inventory";
import { ROLE_LABEL } from "./labels";
import { ISTIOD_CHART_PODS } from "./revisions";
import type { Workload } from "./workloads";

/**
 * What a namespace is, by what runs there and what it holds, against what its `mesh-tenancy.io/role` label claims.
 *
 * The label is written by the program but is only a label: whoever may label namespaces may claim any role. The role
 * in effect (`Inventory.roleOf`) is therefore decided by what the set shows: a namespace where a revision's istiod
 * runs, or that a revision's mesh config names as its root, is a system namespace whatever it claims (its config
 * reaches every namespace of the revision); a namespace that claims `system` without either is judged as a tenant.
 * `shared` exempts from nothing. What runs in a system namespace should be Istio's own control plane.
 */

/** Istio's images (istio/istio `tools/docker.yaml`): istiod, the proxy of gateways and sidecars, istio-cni, ztunnel. */
const ISTIO_IMAGES = new Set(["pilot", "proxyv2", "install-cni", "ztunnel"]);

/** `docker.io/istio/pilot:1.31.0@sha256:…` → `pilot`. */
function imageName(image: string): string {
    const path = image.split("@")[0];
    const last = path.slice(path.lastIndexOf("/") + 1);
    const colon = last.indexOf(":");
    return colon < 0 ? last : last.slice(0, colon);
}

/**
 * Whether a workload is Istio's own control plane or a gateway: every container runs one of Istio's images, or it is a
 * gateway Deployment of Istio's gateway chart (image `auto`, filled in by the injector's `gateway` template), or it stands
 * for a chart's pods (the istiod chart, a gateway chart release). Undefined when the set shows no image of it (a pod
 * `istioctl analyze` makes up for file analysis has a container without one): that cannot be told.
 */
export function isIstioControlPlaneWorkload(w: Workload): boolean | undefined {
    if (w.kind === ISTIOD_CHART_PODS || w.kind === GATEWAY_CHART_PODS || w.kind === DEPLOYED_GATEWAY_PODS) return true;
    const images = w.images ?? [];
    if (images.length === 0) return undefined;
    const gatewayTemplate = (w.annotations["inject.istio.io/templates"] ?? "").split(",").includes("gateway");
    return images.every((i) => ISTIO_IMAGES.has(imageName(i)) || (i === "auto" && gatewayTemplate));
}

export interface NamespaceRoleEvidence {
    namespace: string;
    /** The `mesh-tenancy.io/role` label, as claimed. */
    claimed?: string;
    /** Revisions whose istiod runs here. */
    runs: RevisionInfo[];
    /** Revisions whose mesh root namespace this is. */
    roots: RevisionInfo[];
    /** Workloads here that are not Istio's control plane or gateways (those whose images the set does not show are left out). */
    ordinaryWorkloads: Workload[];
}

const revisionIndex = new WeakMap<Inventory, { runs: Map<string, RevisionInfo[]>; roots: Map<string, RevisionInfo[]> }>();

/** What the set shows of a namespace's role. */
export function roleEvidence(inventory: Inventory, namespace: string): NamespaceRoleEvidence {
    let index = revisionIndex.get(inventory);
    if (index === undefined) {
        index = { runs: new Map(), roots: new Map() };
        for (const r of inventory.revisions.values()) {
            push(index.runs, r.namespace, r);
            push(index.roots, r.rootNamespace, r);
        }
        revisionIndex.set(inventory, index);
    }
    return {
        namespace,
        claimed: inventory.namespaces.get(namespace)?.labels[ROLE_LABEL],
        runs: index.runs.get(namespace) ?? [],
        roots: index.roots.get(namespace) ?? [],
        ordinaryWorkloads: inventory.workloadsIn(namespace).filter((w) => isIstioControlPlaneWorkload(w) === false),
    };
}
