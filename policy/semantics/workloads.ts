import { arrayOf, isRecord, KubeObject, stringRecord, Subject } from "./objects";

/**
 * Workloads: every object that stamps out pods (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
 * Job, CronJob), read as the pods it makes. Kubernetes takes pod labels, annotations, service account and host
 * networking from the pod template (CronJob: `jobTemplate.spec.template`).
 */

const TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"]);
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set([...TEMPLATE_KINDS, "CronJob", "Pod"]);

/** Pod annotations that send traffic around the sidecar (Istio's `traffic.sidecar.istio.io/*`). */
export const INBOUND_EXCLUDE_ANNOTATION = "traffic.sidecar.istio.io/excludeInboundPorts";
export const INBOUND_INCLUDE_ANNOTATION = "traffic.sidecar.istio.io/includeInboundPorts";
export const OUTBOUND_EXCLUDE_ANNOTATIONS = ["traffic.sidecar.istio.io/excludeOutboundPorts", "traffic.sidecar.istio.io/excludeOutboundIPRanges", "traffic.sidecar.istio.io/excludeInterfaces"];

/** A port a container of the pod declares (`containers[].ports[]`, init containers included). */
export interface ContainerPort {
    name?: string;
    containerPort: number;
    /** `TCP` when the object does not say. */
    protocol: string;
}

export interface Workload {
    subject: Subject;
    kind: string;
    name: string;
    namespace: string;
    /** Labels of the pods it makes. */
    labels: Record<string, string>;
    annotations: Record<string, string>;
    serviceAccount: string;
    hostNetwork: boolean;
    /** An already injected pod (it has an `istio-proxy` container). */
    hasProxy: boolean;
    /**
     * The ports its containers declare, where the object shows its containers; undefined when they are not known (a
     * stand-in pod, a chart's pods), so a named port cannot be resolved.
     */
    containerPorts?: ContainerPort[];
    /** The images of its containers and init containers, where the object shows them. */
    images?: string[];
    /** A stand-in for "any new pod with no labels", used where a namespace holds no workload. */
    hypothetical?: boolean;
}

/** The pod template of a workload object, or undefined for other kinds. */
function podTemplate(object: KubeObject): { metadata?: any; spec?: any } | undefined {
    if (!WORKLOAD_KINDS.has(object.kind)) return undefined;
    if (object.kind === "Pod") return { metadata: object.metadata, spec: object.spec };
    const spec: Record<string, any> = isRecord(object.spec) ? object.spec : {};
    const template = object.kind === "CronJob" ? spec.jobTemplate?.spec?.template : spec.template;
    return isRecord(template) ? template : {};
}

/** Reads a workload object; undefined when the object makes no pods or has no namespace. */
export function readWorkload(subject: Subject): Workload | undefined {
    const { object } = subject;
    const template = podTemplate(object);
    const namespace = object.metadata.namespace;
    if (template === undefined || namespace === undefined) return undefined;
    const spec = isRecord(template.spec) ? template.spec : {};
    const containers = [...arrayOf(spec.containers), ...arrayOf(spec.initContainers)];
    return {
        subject,
        kind: object.kind,
        name: object.metadata.name,
        namespace,
        labels: stringRecord(template.metadata?.labels),
        annotations: stringRecord(template.metadata?.annotations),
        serviceAccount: typeof spec.serviceAccountName === "string" && spec.serviceAccountName !== "" ? spec.serviceAccountName : typeof spec.serviceAccount === "string" && spec.serviceAccount !== "" ? spec.serviceAccount : "default",
        hostNetwork: spec.hostNetwork === true,
        hasProxy: containers.some((c) => c?.name === "istio-proxy"),
        images: containers.map((c) => c?.image).filter((i): i is string => typeof i === "string"),
        containerPorts: containers.flatMap((c) =>
            arrayOf(c?.ports)
                .filter((p) => typeof p?.containerPort === "number")
                .map((p): ContainerPort => ({ ...(typeof p.name === "string" ? { name: p.name } : {}), containerPort: p.containerPort, protocol: typeof p.protocol === "string" ? p.protocol : "TCP" })),
        ),
    };
}

/** A pod with no labels in `namespace`: what a namespace's defaults do to a workload nobody has deployed yet. */
export function hypotheticalWorkload(namespace: string, subject: Subject): Workload {
    return { subject, kind: "Pod", name: "(any pod)", namespace, labels: {}, annotations: {}, serviceAccount: "default", hostNetwork: false, hasProxy: false, hypothetical: true };
}

/** The injection templates istiod renders into a pod (Istio's default: `sidecar`). */
export const INJECT_TEMPLATES_ANNOTATION = "inject.istio.io/templates";

/**
 * Istio's injection templates that put Envoy in the pod's inbound path: `sidecar` (with istio-init or the CNI's capture
 * rules) and `gateway` (Envoy serves the ports itself). The others Istio ships, `grpc-agent` and `grpc-simple`
 * (proxyless gRPC), add pilot-agent only: the application serves its own ports, and only those its gRPC server takes
 * from xDS enforce mTLS and AuthorizationPolicies, which no object shows. A template of a name not here (one an
 * operator added to istiod's config) is read the same way, as capturing nothing.
 */
const CAPTURING_TEMPLATES = new Set(["sidecar", "gateway"]);

/**
 * Inbound traffic that skips the proxy, and so skips mesh authorization: every port of a pod whose injection templates
 * capture no traffic (proxyless gRPC), ports listed in `excludeInboundPorts`, or every port when `includeInboundPorts`
 * is set to the empty string. `why` says which.
 */
export function inboundBypass(w: Workload): { all: boolean; ports: string[]; why?: string } {
    const templates = (w.annotations[INJECT_TEMPLATES_ANNOTATION] ?? "").split(",").map((t) => t.trim()).filter((t) => t !== "");
    if (templates.length > 0 && !templates.some((t) => CAPTURING_TEMPLATES.has(t))) {
        return { all: true, ports: [], why: `its injection templates (${templates.join(", ")}) capture no traffic: only the ports its own gRPC server takes from xDS check mTLS and AuthorizationPolicies, and no object says which` };
    }
    const include = w.annotations[INBOUND_INCLUDE_ANNOTATION];
    if (include !== undefined && include.trim() === "") return { all: true, ports: [], why: `${INBOUND_INCLUDE_ANNOTATION} is empty` };
    const exclude = w.annotations[INBOUND_EXCLUDE_ANNOTATION];
    const ports = exclude === undefined ? [] : exclude.split(",").map((p) => p.trim()).filter((p) => p !== "");
    return { all: false, ports };
}

/** `Kind namespace/name`, or `pods of namespace` for the stand-in. */
export function describeWorkload(w: Workload): string {
    return w.hypothetical ? `any new pod in ${w.namespace}` : `${w.kind} ${w.namespace}/${w.name}`;
}
