/**
 * The labels and annotations that carry tenancy on Kubernetes objects. The program writes them and the rules read them;
 * objects written by other tools take part in the checks by carrying the same labels.
 */

/** Namespace label naming the usergroup (and so the control-plane revision) that owns the namespace. */
export const USERGROUP_LABEL = "usergroup";

/** Istio's revision label: on a namespace it picks the injector, on a control-plane object it names the revision. */
export const REVISION_LABEL = "istio.io/rev";

/** On a tag's injector webhook: the tag's `istio.io/rev` value (the webhook's own `istio.io/rev` is the revision it points at). */
export const TAG_LABEL = "istio.io/tag";

/** Legacy injection label; must not stand next to `istio.io/rev`. */
export const INJECTION_LABEL = "istio-injection";

/** Istio's data-plane mode label: `ambient` puts a namespace's pods in ambient mode (ztunnel, no sidecar injected for it). */
export const DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode";

/** Namespace label saying what a namespace is for: `tenant`, `shared` (imported by every tenant) or `system`. */
export const ROLE_LABEL = "mesh-tenancy.io/role";
export type NamespaceRole = "tenant" | "shared" | "system";

/** Pod label that marks a tenant's ingress gateway; its value is the tenant namespace. */
export const GATEWAY_LABEL = "mesh-tenancy.io/gateway";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "mesh-tenancy";

/** Service annotation that limits which namespaces may import a service. */
export const SERVICE_EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo";

/** Kubernetes sets this label on every namespace to its own name. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
