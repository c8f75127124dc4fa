import { managedLabels, PlannedObject } from "../objects";

/** ClusterRole with the Istio and Gateway API kinds a tenant owner manages; bound per tenant namespace. */
export const TENANT_ISTIO_ROLE = "mesh-tenancy-tenant-istio";

/** The tenant owners' binding to the Istio role, beside their `admin` binding. */
export function tenantIstioRoleBinding(namespace: string, subjects: Record<string, unknown>[]): PlannedObject {
    return {
        resourceName: `${namespace}-owners-istio`,
        object: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name: "tenant-owners-istio", namespace, labels: managedLabels() },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: TENANT_ISTIO_ROLE },
            subjects,
        },
    };
}

const ALL_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];

/**
 * What a tenant owns in its namespace, beside `admin`: routing (VirtualService, DestinationRule, ServiceEntry, HTTPRoute,
 * GRPCRoute), workload Sidecars, its own AuthorizationPolicies and RequestAuthentications, and Telemetry. Never:
 * EnvoyFilter and WasmPlugin (they rewrite or extend the proxy itself and can remove the filters that enforce
 * AuthorizationPolicy), PeerAuthentication (PERMISSIVE or DISABLE accepts plaintext, so identity-based policies stop
 * holding), Istio Gateway, WorkloadEntry/WorkloadGroup and Gateway API Gateway/ReferenceGrant (they place workloads,
 * bind ingress pods or grant cross-namespace references: decisions the plan makes).
 */
export function tenantRole(): PlannedObject {
    return {
        resourceName: "tenant-istio-role",
        object: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRole",
            metadata: { name: TENANT_ISTIO_ROLE, labels: managedLabels() },
            rules: [
                { apiGroups: ["networking.istio.io"], resources: ["virtualservices", "destinationrules", "serviceentries", "sidecars"], verbs: ALL_VERBS },
                { apiGroups: ["security.istio.io"], resources: ["authorizationpolicies", "requestauthentications"], verbs: ALL_VERBS },
                { apiGroups: ["telemetry.istio.io"], resources: ["telemetries"], verbs: ALL_VERBS },
                { apiGroups: ["gateway.networking.k8s.io"], resources: ["httproutes", "grpcroutes"], verbs: ALL_VERBS },
            ],
        },
    };
}
