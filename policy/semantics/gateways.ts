import { push } from "./collections";
import type { Inventory } from "./inventory";
import { injectionOf } from "./injection";
import { stringRecord, Subject } from "./objects";
import type { Workload } from "./workloads";

/**
 * Gateways. An Istio `Gateway` (networking.istio.io) configures the gateway pods its `selector` matches, in every
 * namespace, unless the revision running those pods sets `PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true`, in which case only
 * pods of the Gateway's own namespace. A Kubernetes Gateway API `Gateway` (gateway.networking.k8s.io) has no pod
 * selector: its controller deploys its pods; which routes attach to its listeners is `routing.ts`'s question.
 */

export const ISTIO_GATEWAY_GROUP = "networking.istio.io";
export const GATEWAY_API_GROUP = "gateway.networking.k8s.io";

const groupOf = (s: Subject) => s.object.apiVersion.split("/")[0];

/** Workload kinds that stand for pods not yet made: a gateway chart release's, a Gateway API Gateway's istiod deploys. */
export const GATEWAY_CHART_PODS = "gateway chart";
export const DEPLOYED_GATEWAY_PODS = "deployed gateway";

/** The GatewayClass whose Gateways istiod deploys itself (a Deployment, Service and ServiceAccount per Gateway). */
export const ISTIO_GATEWAY_CLASS = "istio";
/** The pod label istiod's gateway deployment controller gives every pod of a Gateway API Gateway: the Gateway's name. */
export const GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";

/**
 * The pods istiod deploys for a Gateway API Gateway of class `istio`, before they exist: in the Gateway's namespace, a
 * Deployment named `<gateway>-istio` whose pods carry `gateway.networking.k8s.io/gateway-name: <gateway>` and the labels
 * of `spec.infrastructure.labels`, annotated with the revision of the Gateway's own `istio.io/rev` label (the istiod that
 * deploys it; else the namespace's), under the ServiceAccount `<gateway>-istio`. The pods run their own istio-proxy (the `kube-gateway` template), so they are
 * labelled `sidecar.istio.io/inject: "false"`: nothing injects them. Undefined for any other object or class.
 */
export function deployedGatewayPods(s: Subject): { namespace: string; labels: Record<string, string>; annotations: Record<string, string>; subject: Subject; serviceAccount: string } | undefined {
    if (!isGatewayApiGateway(s) || (s.object.spec as any)?.gatewayClassName !== ISTIO_GATEWAY_CLASS) return undefined;
    const name = s.object.metadata.name;
    const own = stringRecord(s.object.metadata.labels);
    const labels: Record<string, string> = { ...stringRecord((s.object.spec as any)?.infrastructure?.labels), [GATEWAY_NAME_LABEL]: name, "sidecar.istio.io/inject": "false" };
    // The revision goes on the pods as an annotation, not a label: nothing injects them.
    const annotations: Record<string, string> = own["istio.io/rev"] !== undefined ? { "istio.io/rev": own["istio.io/rev"] } : {};
    return { namespace: s.object.metadata.namespace ?? "default", labels, annotations, subject: s, serviceAccount: `${name}-${ISTIO_GATEWAY_CLASS}` };
}

export function isIstioGateway(s: Subject): boolean {
    return s.object.kind === "Gateway" && groupOf(s) === ISTIO_GATEWAY_GROUP;
}

export function isGatewayApiGateway(s: Subject): boolean {
    return s.object.kind === "Gateway" && groupOf(s) === GATEWAY_API_GROUP;
}

const byLabel = new WeakMap<Inventory, Map<string, Workload[]>>();

/** Workloads (gateway chart releases included) carrying the pod label `key=value`, from an index built once. */
function workloadsLabelled(inventory: Inventory, key: string, value: string): Workload[] {
    let index = byLabel.get(inventory);
    if (index === undefined) {
        index = new Map();
        for (const w of inventory.workloads()) for (const [k, v] of Object.entries(w.labels)) push(index, `${k}=${v}`, w);
        byLabel.set(inventory, index);
    }
    return index.get(`${key}=${value}`) ?? [];
}

/** Whether gateway pods in `namespace` with these labels only take Gateways of their own namespace. */
export function scopedToNamespace(inventory: Inventory, namespace: string, labels: Record<string, string>, workload?: Workload): boolean {
    const rev = workload !== undefined ? injectionOf(inventory, workload).revision : inventory.resolveRevision(labels["istio.io/rev"] ?? inventory.namespaces.get(namespace)?.labels["istio.io/rev"] ?? "");
    return rev?.env?.PILOT_SCOPE_GATEWAY_TO_NAMESPACE === "true";
}

export interface GatewayBinding {
    namespace: string;
    subject: Subject;
    /** Whether this Gateway's config reaches these pods (false: the pods' revision scopes gateways to their namespace). */
    effective: boolean;
}

/** The gateway pods an Istio Gateway's selector matches, with whether it really configures them. */
export function podsOfGateway(inventory: Inventory, gateway: Subject): GatewayBinding[] {
    const selector = stringRecord((gateway.object.spec as any)?.selector);
    if (Object.keys(selector).length === 0) return [];
    const ns = gateway.object.metadata.namespace ?? "default";
    const [[key, value]] = Object.entries(selector);
    return workloadsLabelled(inventory, key, value)
        .filter((w) => Object.entries(selector).every(([k, v]) => w.labels[k] === v))
        .map((w) => ({ namespace: w.namespace, subject: w.subject, effective: w.namespace === ns || !scopedToNamespace(inventory, w.namespace, w.labels, w) }));
}

/**
 * Two Istio Gateways configure some of the same gateway pods: istiod merges the servers of every Gateway whose selector
 * matches a pod. Judged on the pods the object set holds; where it holds none for either, on whether one pod could
 * carry both selectors' labels (no key they both name with different values).
 */
export function shareGatewayPods(inventory: Inventory, a: Subject, b: Subject): boolean {
    const pods = (g: Subject) => new Set(podsOfGateway(inventory, g).filter((p) => p.effective).map((p) => p.subject));
    const [podsA, podsB] = [pods(a), pods(b)];
    if (podsA.size > 0 && podsB.size > 0) return [...podsA].some((p) => podsB.has(p));
    const [selA, selB] = [a, b].map((g) => stringRecord((g.object.spec as any)?.selector));
    if (Object.keys(selA).length === 0 || Object.keys(selB).length === 0) return false;
    return Object.entries(selA).every(([k, v]) => selB[k] === undefined || selB[k] === v);
}
