import type { GatewayKind, MeshTenancyConfig, TenantConfig } from "../model/config";
import { GATEWAY_API_GROUP, ISTIO_GATEWAY_CLASS } from "../policy/semantics/gateways";
import { GATEWAY_LABEL, REVISION_LABEL } from "../policy/semantics/labels";
import { ChartRelease, chartLocation } from "./charts";
import { chartGlobals, istioApiVersions } from "./istio";
import { managedLabels, PlannedObject } from "./objects";

/* A tenant's own ingress gateway: the gateway chart's release in its namespace, the `Gateway`, and its policies. */

export interface GatewayPlan {
    /** `istio`: the gateway chart and an Istio Gateway; `gateway-api`: a Gateway API Gateway istiod deploys. */
    kind: GatewayKind;
    /** The gateway chart's release; none for `gateway-api` (istiod deploys the pods). */
    release?: ChartRelease;
    /** The `Gateway`, plus the policies that let outside traffic reach the gateway pods and nothing else. */
    objects: PlannedObject[];
    /** Pod labels unique to this tenant's gateway; the Gateway selects exactly these. */
    selector: Record<string, string>;
    hosts: string[];
}

const GATEWAY_RELEASE = "ingressgateway";

/** Ports the gateway chart's pods listen on: HTTP, HTTPS and the status port load balancers probe. */
const GATEWAY_POD_PORTS = [80, 443, 15021];

/**
 * The gateway's pods carry the namespace's `istio.io/rev`, so they move with the namespace's tag, and its chart is of
 * the version of the revision that injects it: a gateway is upgraded when its namespace moves, not before.
 */
export function planGateway(
    config: MeshTenancyConfig,
    tenant: TenantConfig,
    revisionLabel: string,
    version: string,
    api: ReturnType<typeof istioApiVersions>,
): GatewayPlan {
    const gw = tenant.gateway!;
    const ns = tenant.name;
    const kind = gw.kind ?? config.ingress.kind;
    // Both kinds' pods carry this label (the chart's `labels`, the Gateway API Gateway's `infrastructure.labels`): the
    // gateway's AuthorizationPolicy and NetworkPolicy select them alike.
    const selector = { [GATEWAY_LABEL]: ns };
    const policies = gatewayPolicies(ns, gw.hosts, selector, api);
    if (kind === "gateway-api") return { kind, selector, hosts: gw.hosts, objects: [...gatewayApiObjects(ns, gw, selector, revisionLabel), ...policies] };
    const servers: Record<string, unknown>[] = [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: gw.hosts.map((h) => `./${h}`) }];
    if (gw.tlsCredentialName !== undefined) {
        servers.push({
            port: { number: 443, name: "https", protocol: "HTTPS" },
            hosts: gw.hosts.map((h) => `./${h}`),
            tls: { mode: "SIMPLE", credentialName: gw.tlsCredentialName },
        });
    }
    return {
        kind,
        selector,
        hosts: gw.hosts,
        release: {
            resourceName: `${ns}-ingressgateway`,
            releaseName: GATEWAY_RELEASE,
            namespace: ns,
            ...chartLocation(config.istio.chartSource, "gateway"),
            version,
            values: {
                revision: revisionLabel,
                labels: selector,
                global: chartGlobals(version),
                service: { type: gw.serviceType },
                replicaCount: gw.replicas,
                autoscaling: { enabled: false },
            },
        },
        objects: [
            {
                resourceName: `${ns}-gateway-config`,
                object: { apiVersion: api.networking, kind: "Gateway", metadata: { name: "ingress", namespace: ns, labels: managedLabels() }, spec: { selector, servers } },
            },
            ...policies,
        ],
    };
}

/** The Gateway API listener names a host gets: `http-<i>`, and `https-<i>` with a TLS credential. */
const listenerName = (protocol: "http" | "https", i: number) => `${protocol}-${i}`;

/**
 * A Gateway API Gateway of class `istio`: istiod of the revision its `istio.io/rev` label names deploys its pods, Service
 * and ServiceAccount in the namespace. One listener per host and protocol, each admitting routes of the namespace only;
 * the service type through Istio's `networking.istio.io/service-type` annotation, the replica count through a ConfigMap
 * of deployment settings the Gateway's `infrastructure.parametersRef` names (Istio merges it into the Deployment).
 */
function gatewayApiObjects(ns: string, gw: NonNullable<TenantConfig["gateway"]>, selector: Record<string, string>, revisionLabel: string): PlannedObject[] {
    const sameNamespace = { namespaces: { from: "Same" } };
    const listeners: Record<string, unknown>[] = gw.hosts.map((hostname, i) => ({ name: listenerName("http", i), port: 80, protocol: "HTTP", hostname, allowedRoutes: sameNamespace }));
    if (gw.tlsCredentialName !== undefined) {
        gw.hosts.forEach((hostname, i) =>
            listeners.push({ name: listenerName("https", i), port: 443, protocol: "HTTPS", hostname, tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", group: "", name: gw.tlsCredentialName }] }, allowedRoutes: sameNamespace }),
        );
    }
    const parameters = `${GATEWAY_API_NAME}-gateway-options`;
    const objects: PlannedObject[] = [
        {
            resourceName: `${ns}-gateway-api`,
            object: {
                apiVersion: `${GATEWAY_API_GROUP}/v1`,
                kind: "Gateway",
                metadata: { name: GATEWAY_API_NAME, namespace: ns, labels: { ...managedLabels(), [REVISION_LABEL]: revisionLabel }, annotations: { "networking.istio.io/service-type": gw.serviceType } },
                spec: {
                    gatewayClassName: ISTIO_GATEWAY_CLASS,
                    infrastructure: { labels: selector, ...(gw.replicas !== 1 ? { parametersRef: { group: "", kind: "ConfigMap", name: parameters } } : {}) },
                    listeners,
                },
            },
        },
    ];
    if (gw.replicas !== 1) {
        objects.unshift({
            resourceName: `${ns}-gateway-options`,
            object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: parameters, namespace: ns, labels: managedLabels() }, data: { deployment: `spec:\n  replicas: ${gw.replicas}\n` } },
        });
    }
    return objects;
}

/** The name of a tenant's Gateway API Gateway; istiod names its Deployment, Service and ServiceAccount `ingress-istio`. */
export const GATEWAY_API_NAME = "ingress";

/** What lets outside traffic reach the gateway pods for the tenant's hosts, and nothing else: the same for both kinds. */
function gatewayPolicies(ns: string, hosts: string[], selector: Record<string, string>, api: ReturnType<typeof istioApiVersions>): PlannedObject[] {
    return [
        {
            resourceName: `${ns}-gateway-authz`,
            object: {
                apiVersion: api.security,
                kind: "AuthorizationPolicy",
                metadata: { name: "allow-gateway-hosts", namespace: ns, labels: managedLabels() },
                spec: {
                    selector: { matchLabels: selector },
                    action: "ALLOW",
                    rules: [{ to: [{ operation: { hosts: hosts.flatMap((h) => [h, `${h}:*`]) } }] }],
                },
            },
        },
        {
            resourceName: `${ns}-gateway-netpol`,
            object: {
                apiVersion: "networking.k8s.io/v1",
                kind: "NetworkPolicy",
                metadata: { name: "allow-gateway-ingress", namespace: ns, labels: managedLabels() },
                spec: {
                    podSelector: { matchLabels: selector },
                    policyTypes: ["Ingress"],
                    ingress: [{ ports: GATEWAY_POD_PORTS.map((port) => ({ protocol: "TCP", port })) }],
                },
            },
        },
    ];
}
