import type { MeshTenancyConfig, SmokeWorkloadsConfig, TenantConfig, UsergroupConfig } from "../model/config";
import { DEFAULT_TAG } from "../model/revisions";
import { NAMESPACE_NAME_LABEL, NamespaceRole, REVISION_LABEL, SERVICE_EXPORT_TO_ANNOTATION, USERGROUP_LABEL } from "../policy/semantics/labels";
import { revisionFollowed, revisionLabelOf, tagsPointingAt } from "./controlPlane";
import { GatewayPlan, planGateway } from "./gateway";
import { guardrailAnnotations, guardrailParams, tenantIstioRoleBinding } from "./guardrails";
import { istioApiVersions } from "./istio";
import { managedLabels, namespaceObject, PlannedObject } from "./objects";
import { NamespaceScope } from "./scoping";

/*
 * A tenant or shared namespace: its labels (usergroup, revision), its default and workload Sidecars, the
 * AuthorizationPolicy and NetworkPolicies that admit only the namespaces allowed to call it, its owners and quota, its
 * gateway, and the smoke workloads when asked for.
 */

export interface NamespacePlan {
    name: string;
    role: Exclude<NamespaceRole, "system">;
    usergroup: string;
    /** The revision that injects this namespace's pods now. */
    revision: string;
    /** The tag the namespace follows, when its usergroup has tags. */
    tag?: string;
    /** The namespace's `istio.io/rev`: the tag's value, or the revision's name for a usergroup without tags. */
    revisionLabel: string;
    systemNamespace: string;
    namespace: PlannedObject;
    /** Protect the namespace and everything in it (its isolation objects, gateway and workloads) from deletion. */
    protect: boolean;
    /**
     * The tenant is being retired: everything in the namespace is unprotected and kept in the cluster when it leaves
     * the stack, so that removing the tenant deletes only the namespace, and Kubernetes its contents with it.
     */
    retire: boolean;
    /** Sidecars, AuthorizationPolicy, NetworkPolicies, RoleBinding, ResourceQuota. */
    objects: PlannedObject[];
    sidecarEgressHosts: string[];
    imports: string[];
    allowedSources: string[];
    /** Value for `networking.istio.io/exportTo` on this namespace's Services, so their importers can see them. */
    serviceExportTo: string[];
    gateway?: GatewayPlan;
    /** A client and an echo server (Deployments and a Service), when the stack asks for smoke workloads. */
    smokeWorkloads?: PlannedObject[];
}

export function planNamespace(
    config: MeshTenancyConfig,
    ug: UsergroupConfig,
    name: string,
    role: "tenant" | "shared",
    scopes: Map<string, NamespaceScope>,
    api: ReturnType<typeof istioApiVersions>,
    tenant?: TenantConfig,
): NamespacePlan {
    const scope = scopes.get(name)!;
    const sys = ug.systemNamespace;
    const tag = Object.keys(ug.tags).length === 0 ? undefined : (tenant?.tag ?? DEFAULT_TAG);
    const revisionLabel = revisionLabelOf(ug, tag);
    const labels = { ...(tenant?.labels ?? {}), [REVISION_LABEL]: revisionLabel };
    const objects: PlannedObject[] = [
        sidecar(api, name, "default", scope.defaultHosts),
        ...[...scope.workloadHosts].map(([wName, hosts]) => {
            const w = tenant!.workloadSidecars.find((x) => x.name === wName)!;
            return sidecar(api, name, wName, hosts, w.selector);
        }),
        authorizationPolicy(api, name, scope.allowedSources, config.istio.trustDomain),
        ...networkPolicies(ug, name, scope.allowedSources),
    ];
    if (tenant !== undefined && tenant.owners.length > 0) {
        const owners = ownersRoleBinding(name, tenant);
        objects.push(owners);
        // Istio rights come with the guardrails that bound them; without guardrails owners keep `admin` only.
        if (config.admissionGuardrails !== "off") objects.push(tenantIstioRoleBinding(name, (owners.object as any).subjects));
    }
    if (tenant?.quota !== undefined) {
        objects.push({
            resourceName: `${name}-quota`,
            object: { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenant-quota", namespace: name, labels: managedLabels() }, spec: { hard: tenant.quota } },
        });
    }
    const revision = revisionFollowed(ug, tag);
    const version = ug.revisions.find((r) => r.name === revision)!.version;
    const serviceExportTo = scope.allowedSources.map((ns) => (ns === name ? "." : ns)).sort();
    const gateway = tenant?.gateway !== undefined ? planGateway(config, tenant, revisionLabel, version, api) : undefined;
    return {
        name,
        role,
        usergroup: ug.name,
        revision,
        ...(tag !== undefined ? { tag } : {}),
        revisionLabel,
        systemNamespace: sys,
        // The guardrails' parameters ride on the Namespace, so that they exist before anything in it and go with it.
        namespace: namespaceObject(
            name,
            role,
            ug.name,
            labels,
            config.admissionGuardrails !== "off" ? guardrailAnnotations(guardrailParams({ name, revisions: [revision, ...tagsPointingAt(ug, revision)], systemNamespace: sys, imports: scope.imports, allowedSources: scope.allowedSources }, config.istio.trustDomain)) : {},
        ),
        protect: config.protectNamespaces,
        retire: tenant?.retire ?? false,
        objects,
        sidecarEgressHosts: scope.defaultHosts,
        imports: scope.imports,
        allowedSources: scope.allowedSources,
        serviceExportTo,
        gateway,
        ...(config.smokeWorkloads && role === "tenant" ? { smokeWorkloads: smokeWorkloads(name, serviceExportTo, config.smokeWorkloads, api) } : {}),
    };
}

/** Pinned images of the smoke workloads: a shell with curl, and an HTTP echo server. */
export const SMOKE_IMAGES = { client: "curlimages/curl:8.11.1", echo: "mccutchen/go-httpbin:v2.15.0" } as const;

/**
 * A client and an echo server, as in Istio's own install checks: `kubectl exec deploy/smoke-client -- curl
 * smoke-echo.<ns>/get` shows which namespaces a tenant can reach. The echo Service is exported to the namespaces that
 * may import this one, like any tenant Service should be. They stand for the tenant's own workloads, so they carry no
 * managed-by label (no forced apply) and are not among `plannedObjects`, which are the platform's.
 */
function smokeWorkloads(ns: string, exportTo: string[], settings: SmokeWorkloadsConfig, api: ReturnType<typeof istioApiVersions>): PlannedObject[] {
    const proxyless = settings.dataPlane === "proxyless" ? settings : undefined;
    const deployment = (role: string, container: Record<string, unknown>): PlannedObject => {
        const app = { app: `smoke-${role}` };
        const metadata = proxyless === undefined ? { labels: app } : { labels: app, annotations: PROXYLESS_SMOKE_ANNOTATIONS };
        return {
            resourceName: `${ns}-smoke-${role}`,
            object: {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: `smoke-${role}`, namespace: ns, labels: app },
                spec: { replicas: 1, selector: { matchLabels: app }, template: { metadata, spec: { containers: [container] } } },
            },
        };
    };
    const ports = [{ name: "http", port: 80, targetPort: 8080 }, ...(proxyless !== undefined ? [{ name: "grpc", port: PROXYLESS_SMOKE_PORT, targetPort: PROXYLESS_SMOKE_PORT }] : [])];
    const echo =
        proxyless === undefined
            ? { name: "echo", image: SMOKE_IMAGES.echo, ports: [{ name: "http", containerPort: 8080 }] }
            : {
                  name: "echo",
                  image: proxyless.image,
                  command: ["/usr/local/bin/istio-echo", `--grpc=${PROXYLESS_SMOKE_PORT}`, `--xds-grpc-server=${PROXYLESS_SMOKE_PORT}`, "--port=8080", "--tcp=9090"],
                  ports: [
                      { name: "http", containerPort: 8080 },
                      { name: "grpc", containerPort: PROXYLESS_SMOKE_PORT },
                  ],
              };
    const client = proxyless === undefined ? { name: "client", image: SMOKE_IMAGES.client, command: ["sleep", "infinity"] } : { name: "client", image: proxyless.image, command: ["/usr/local/bin/mesh-caller", "-wait"] };
    return [
        deployment("echo", echo),
        {
            resourceName: `${ns}-smoke-echo`,
            object: {
                apiVersion: "v1",
                kind: "Service",
                metadata: { name: "smoke-echo", namespace: ns, annotations: { [SERVICE_EXPORT_TO_ANNOTATION]: exportTo.join(",") } },
                spec: { selector: { app: "smoke-echo" }, ports },
            },
        },
        deployment("client", client),
        // gRPC clients get no automatic mTLS: every namespace the echo Service is exported to calls it with ISTIO_MUTUAL.
        ...(proxyless !== undefined
            ? [
                  {
                      resourceName: `${ns}-smoke-echo-mtls`,
                      object: {
                          apiVersion: api.networking,
                          kind: "DestinationRule",
                          metadata: { name: "smoke-echo-mtls", namespace: ns },
                          spec: { host: `smoke-echo.${ns}.svc.cluster.local`, exportTo, trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
                      },
                  },
              ]
            : []),
    ];
}

/** The gRPC port of the proxyless smoke echo server. */
export const PROXYLESS_SMOKE_PORT = 7070;

/** Istio's proxyless template (pilot-agent, no Envoy), the app after the agent, with the small requests of a test pod. */
const PROXYLESS_SMOKE_ANNOTATIONS = {
    "inject.istio.io/templates": "grpc-agent",
    // The app starts once pilot-agent is ready: an xDS server started before the agent's socket exists backs off and
    // may serve nothing for minutes.
    "proxy.istio.io/config": JSON.stringify({ holdApplicationUntilProxyStarts: true }),
    "sidecar.istio.io/proxyCPU": "10m",
    "sidecar.istio.io/proxyMemory": "40Mi",
};

function sidecar(api: ReturnType<typeof istioApiVersions>, ns: string, name: string, hosts: string[], selector?: Record<string, string>): PlannedObject {
    const spec: Record<string, unknown> = { egress: [{ hosts }] };
    if (selector !== undefined) spec.workloadSelector = { labels: selector };
    return {
        resourceName: name === "default" ? `${ns}-sidecar` : `${ns}-sidecar-${name}`,
        object: { apiVersion: api.networking, kind: "Sidecar", metadata: { name, namespace: ns, labels: managedLabels() }, spec },
    };
}

/** ALLOW for mTLS principals of the permitted namespaces; with any ALLOW policy present, Istio denies everything else. */
function authorizationPolicy(api: ReturnType<typeof istioApiVersions>, ns: string, sources: string[], trustDomain: string): PlannedObject {
    return {
        resourceName: `${ns}-authz`,
        object: {
            apiVersion: api.security,
            kind: "AuthorizationPolicy",
            metadata: { name: "allow-permitted-namespaces", namespace: ns, labels: managedLabels() },
            spec: {
                action: "ALLOW",
                rules: [{ from: [{ source: { principals: sources.map((s) => `${trustDomain}/ns/${s}/sa/*`) } }] }],
            },
        },
    };
}

function networkPolicies(ug: UsergroupConfig, ns: string, sources: string[]): PlannedObject[] {
    const wholeGroup = sources.length === ug.tenants.length + ug.sharedNamespaces.length;
    const from = wholeGroup
        ? [{ namespaceSelector: { matchLabels: { [USERGROUP_LABEL]: ug.name } } }]
        : [{ namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: "In", values: [...sources, ug.systemNamespace].sort() }] } }];
    return [
        {
            resourceName: `${ns}-deny-ingress`,
            object: {
                apiVersion: "networking.k8s.io/v1",
                kind: "NetworkPolicy",
                metadata: { name: "default-deny-ingress", namespace: ns, labels: managedLabels() },
                spec: { podSelector: {}, policyTypes: ["Ingress"] },
            },
        },
        {
            resourceName: `${ns}-allow-permitted`,
            object: {
                apiVersion: "networking.k8s.io/v1",
                kind: "NetworkPolicy",
                metadata: { name: "allow-permitted-namespaces", namespace: ns, labels: managedLabels() },
                spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from }] },
            },
        },
    ];
}

function ownersRoleBinding(ns: string, tenant: TenantConfig): PlannedObject {
    return {
        resourceName: `${ns}-owners`,
        object: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name: "tenant-owners", namespace: ns, labels: managedLabels() },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" },
            subjects: tenant.owners.map((o) =>
                o.kind === "ServiceAccount"
                    ? { kind: o.kind, name: o.name, namespace: o.namespace ?? ns }
                    : { kind: o.kind, name: o.name, apiGroup: "rbac.authorization.k8s.io" },
            ),
        },
    };
}
