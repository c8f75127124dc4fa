/** A Kubernetes object as the API server would hold it: what every rule judges. */
export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: {
        name: string;
        namespace?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
    };
    spec?: Record<string, unknown>;
    data?: Record<string, string>;
    [key: string]: unknown;
}

/** Where an object came from, so findings can point at it. */
export interface Origin {
    /** Pulumi URN, for objects seen by the CrossGuard adapter. */
    urn?: string;
    /** File and 1-based line of the YAML document, for objects read by the checker. */
    file?: string;
    line?: number;
    /** Pulumi's `protect` option; undefined where the source has no such notion (plain manifests). */
    protect?: boolean;
}

export interface Subject {
    object: KubeObject;
    origin: Origin;
}

/**
 * A Helm release as the stack declares it (`kubernetes:helm.sh/v4:Chart` inputs), expressed as an object so that
 * rules can judge a revision's values even where the chart's rendered objects are not visible.
 */
export const HELM_RELEASE_KIND = "HelmRelease";
export const HELM_RELEASE_API_VERSION = "mesh-tenancy.io/v1";

export interface HelmReleaseSpec {
    /** Chart reference: a name, a path or an `oci://` reference; its last segment names the chart. */
    chart: string;
    version?: string;
    values: Record<string, any>;
}

/** The chart's own name from any reference form: `istiod`, `./charts/istiod`, `oci://mirror/istio/istiod`. */
export function chartName(chart: string): string {
    const trimmed = chart.replace(/\/+$/, "");
    return trimmed.slice(trimmed.lastIndexOf("/") + 1).replace(/-\d+\.\d+\.\d+.*\.tgz$/, "");
}

export function isRecord(value: unknown): value is Record<string, any> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function stringRecord(value: unknown): Record<string, string> {
    if (!isRecord(value)) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
    return out;
}

export function arrayOf(value: unknown): any[] {
    return Array.isArray(value) ? value : [];
}

/** `namespace/name`, or just `name` for cluster-scoped objects. */
export function describeObject(object: KubeObject): string {
    return object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;
}

/**
 * Kinds that live outside namespaces. Every other kind is namespaced, as kubectl assumes for a kind it has no discovery
 * for (custom resources are namespaced unless their CRD says Cluster).
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "PriorityClass",
    "RuntimeClass", "IngressClass", "GatewayClass", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
    "CertificateSigningRequest", "ClusterTrustBundle", "FlowSchema", "PriorityLevelConfiguration",
]);

/**
 * The object as the API server would store it when applied without a namespace: namespaced kinds land in `namespace`
 * (kubectl's and istioctl's `-n`, `default` unless given; Pulumi's provider default namespace).
 */
export function inNamespaceByDefault(object: KubeObject, namespace: string): KubeObject {
    if (object.metadata.namespace !== undefined && object.metadata.namespace !== "") return object;
    if (CLUSTER_SCOPED_KINDS.has(object.kind) || object.kind === HELM_RELEASE_KIND) return object;
    return { ...object, metadata: { ...object.metadata, namespace } };
}
