import type { MeshTenancyConfig, TenantConfig } from "../model/config";
import { GATEWAY_LABEL } from "../policy/semantics/labels";
import { ChartRelease, chartLocation } from "./charts";
import { chartGlobals, istioApiVersions } from "./istio";
import { managedLabels, PlannedObject } from "./objects";

/* A tenant's own ingress gateway: the gateway chart's release in its namespace, the `Gateway`, and its policies. */

export interface GatewayPlan {
    release: ChartRelease;
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
    const selector = { [GATEWAY_LABEL]: ns };
    const servers: Record<string, unknown>[] = [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: gw.hosts.map((h) => `./${h}`) }];
    if (gw.tlsCredentialName !== undefined) {
        servers.push({
            port: { number: 443, name: "https", protocol: "HTTPS" },
            hosts: gw.hosts.map((h) => `./${h}`),
            tls: { mode: "SIMPLE", credentialName: gw.tlsCredentialName },
        });
    }
    return {
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
            {
                resourceName: `${ns}-gateway-authz`,
                object: {
                    apiVersion: api.security,
                    kind: "AuthorizationPolicy",
                    metadata: { name: "allow-gateway-hosts", namespace: ns, labels: managedLabels() },
                    spec: {
                        selector: { matchLabels: selector },
                        action: "ALLOW",
                        rules: [{ to: [{ operation: { hosts: gw.hosts.flatMap((h) => [h, `${h}:*`]) } }] }],
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
        ],
    };
}
