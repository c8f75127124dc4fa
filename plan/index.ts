import type { ChartSource, MeshTenancyConfig, TenantConfig, UsergroupConfig } from "../model/config";
import {
    GATEWAY_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAMESPACE_NAME_LABEL,
    NamespaceRole,
    REVISION_LABEL,
    ROLE_LABEL,
    USERGROUP_LABEL,
} from "../policy/semantics/labels";
import { GuardrailsPlan, guardrailParams, guardrailParamsConfigMap, planGuardrails, tenantIstioRoleBinding } from "./guardrails";
import { ISTIO_CRD_NAMES, istioApiVersions, istiodEnv } from "./istio";
import type { KubeObject, PlannedObject } from "./objects";
import { NamespaceScope, normaliseHosts, scopeUsergroup } from "./scoping";

export type { KubeObject, PlannedObject } from "./objects";

/** A Helm chart release: which chart, from where, into which namespace, with which values. */
export interface ChartRelease {
    /** Pulumi resource name of the release. */
    resourceName: string;
    /** Helm release name (drives names and labels inside the chart). */
    releaseName: string;
    namespace: string;
    /** Chart reference as Helm takes it: a name in `repository`, an `oci://` reference, or a local directory. */
    chart: string;
    /** Helm repository URL, when the chart is a name in a repository. */
    repository?: string;
    version: string;
    values: Record<string, unknown>;
}

type ChartName = "base" | "istiod" | "gateway";

/** Where Helm finds one of the Istio charts, for each kind of chart source. */
export function chartLocation(source: ChartSource, name: ChartName): { chart: string; repository?: string } {
    if (source.directory !== undefined) return { chart: `${source.directory.replace(/\/+$/, "")}/${name}` };
    const repository = source.repository!;
    if (repository.startsWith("oci://")) return { chart: `${repository.replace(/\/+$/, "")}/${name}` };
    return { chart: name, repository };
}

export interface ControlPlanePlan {
    usergroup: string;
    revision: string;
    systemNamespace: string;
    namespace: PlannedObject;
    /**
     * Protect the system namespace and everything in it (istiod, mTLS, root Sidecar) from deletion, with the tenants',
     * when `protectNamespaces` is set.
     */
    protect: boolean;
    istiod: ChartRelease;
    /** STRICT PeerAuthentication and the root Sidecar, both in the system namespace. */
    objects: PlannedObject[];
    /** Namespaces the revision's discoverySelectors select: its system, shared and tenant namespaces; sorted. */
    discoveredNamespaces: string[];
}

export interface GatewayPlan {
    release: ChartRelease;
    /** The `Gateway`, plus the policies that let outside traffic reach the gateway pods and nothing else. */
    objects: PlannedObject[];
    /** Pod labels unique to this tenant's gateway; the Gateway selects exactly these. */
    selector: Record<string, string>;
    hosts: string[];
}

export interface NamespacePlan {
    name: string;
    role: Exclude<NamespaceRole, "system">;
    usergroup: string;
    revision: string;
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
    /**
     * The admission guardrails' parameters for this namespace (a ConfigMap), absent when the guardrails are off. Registered
     * before the namespace's other objects: the guardrail bindings refuse objects in a namespace that lacks it.
     */
    guardrailParams?: PlannedObject;
    gateway?: GatewayPlan;
    smokeWorkloads: boolean;
}

/** The whole desired tenancy, computed from config alone. */
export interface TenancyPlan {
    base: ChartRelease;
    /** Protect the base chart's cluster-wide objects, with the namespaces, when `protectNamespaces` is set. */
    protectBase: boolean;
    controlPlanes: ControlPlanePlan[];
    namespaces: NamespacePlan[];
    /** ValidatingAdmissionPolicies, their bindings and the tenant owners' Istio role. */
    guardrails: GuardrailsPlan;
    localCluster: boolean;
    /** Export every namespace's scoping and the expected connectivity, not only the summary. */
    detailedOutputs: boolean;
}

const GATEWAY_RELEASE = "ingressgateway";
/** Ports the gateway chart's pods listen on: HTTP, HTTPS and the status port load balancers probe. */
const GATEWAY_POD_PORTS = [80, 443, 15021];

export function planTenancy(config: MeshTenancyConfig): TenancyPlan {
    const api = istioApiVersions(config.istio.version);
    const controlPlanes = config.usergroups.map((ug) => planControlPlane(config, ug, api));
    const namespaces = config.usergroups.flatMap((ug) => {
        const scopes = scopeUsergroup(ug);
        const shared = ug.sharedNamespaces.map((ns) => planNamespace(config, ug, ns, "shared", scopes, api));
        const tenants = ug.tenants.map((t) => planNamespace(config, ug, t.name, "tenant", scopes, api, t));
        return [...shared, ...tenants];
    });
    return { base: planBase(config), protectBase: config.protectNamespaces, controlPlanes, namespaces, guardrails: planGuardrails(config), localCluster: config.localCluster, detailedOutputs: config.detailedOutputs };
}

/**
 * The base chart renders the CRDs and, when a default revision is named, the cluster-wide `istiod-default-validator`
 * pointing at that revision's istiod; it goes into that revision's system namespace, or else into the system namespace
 * of the alphabetically first usergroup so that reordering usergroups does not move it. With `crds: external` it renders
 * no CRD (`base.excludedCRDs` names them all, which both the official chart and the stand-in honour); with `chart` the
 * values are exactly what they would be without the key.
 */
function planBase(config: MeshTenancyConfig): ChartRelease {
    const byName = [...config.usergroups].sort((a, b) => a.name.localeCompare(b.name));
    const home = config.usergroups.find((ug) => ug.name === config.istio.defaultRevision) ?? byName[0];
    return {
        resourceName: "istio-base",
        releaseName: "istio-base",
        namespace: home.systemNamespace,
        ...chartLocation(config.istio.chartSource, "base"),
        version: config.istio.version,
        values: {
            defaultRevision: config.istio.defaultRevision,
            global: { istioNamespace: home.systemNamespace },
            ...(config.istio.crds === "external" ? { base: { enableCRDTemplates: true, excludedCRDs: [...ISTIO_CRD_NAMES] } } : {}),
        },
    };
}

function planControlPlane(config: MeshTenancyConfig, ug: UsergroupConfig, api: ReturnType<typeof istioApiVersions>): ControlPlanePlan {
    const sys = ug.systemNamespace;
    const revision = ug.name;
    const discovered = [sys, ...ug.sharedNamespaces, ...ug.tenants.map((t) => t.name)].sort();
    const pilot: Record<string, unknown> = {
        env: istiodEnv(config.istio.version),
        replicaCount: ug.istiod.replicas,
        autoscaleEnabled: false,
    };
    if (ug.istiod.resources !== undefined) pilot.resources = ug.istiod.resources;
    return {
        usergroup: ug.name,
        revision,
        systemNamespace: sys,
        discoveredNamespaces: discovered,
        namespace: namespaceObject(sys, "system", ug.name, {}),
        protect: config.protectNamespaces,
        istiod: {
            resourceName: `${ug.name}-istiod`,
            releaseName: `istiod-${revision}`,
            namespace: sys,
            ...chartLocation(config.istio.chartSource, "istiod"),
            version: config.istio.version,
            values: {
                revision,
                global: { istioNamespace: sys },
                meshConfig: {
                    rootNamespace: sys,
                    trustDomain: config.istio.trustDomain,
                    discoverySelectors: [{ matchLabels: { [USERGROUP_LABEL]: ug.name } }],
                    defaultServiceExportTo: ["."],
                    defaultVirtualServiceExportTo: ["."],
                    defaultDestinationRuleExportTo: ["."],
                },
                pilot,
            },
        },
        objects: [
            {
                resourceName: `${ug.name}-mtls-strict`,
                object: {
                    apiVersion: api.security,
                    kind: "PeerAuthentication",
                    metadata: { name: "default", namespace: sys, labels: managedLabels() },
                    spec: { mtls: { mode: "STRICT" } },
                },
            },
            {
                resourceName: `${ug.name}-root-sidecar`,
                object: {
                    apiVersion: api.networking,
                    kind: "Sidecar",
                    metadata: { name: "default", namespace: sys, labels: managedLabels() },
                    spec: { egress: [{ hosts: normaliseHosts(sys, sys, ug.sharedNamespaces.map((ns) => `${ns}/*`)) }] },
                },
            },
        ],
    };
}

function planNamespace(
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
    const labels = { ...(tenant?.labels ?? {}), [REVISION_LABEL]: ug.name };
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
    const gateway = tenant?.gateway !== undefined ? planGateway(config, ug, tenant, api) : undefined;
    return {
        name,
        role,
        usergroup: ug.name,
        revision: ug.name,
        systemNamespace: sys,
        namespace: namespaceObject(name, role, ug.name, labels),
        protect: config.protectNamespaces,
        retire: tenant?.retire ?? false,
        objects,
        sidecarEgressHosts: scope.defaultHosts,
        imports: scope.imports,
        allowedSources: scope.allowedSources,
        serviceExportTo: scope.allowedSources.map((ns) => (ns === name ? "." : ns)).sort(),
        gateway,
        smokeWorkloads: config.smokeWorkloads && role === "tenant",
        ...(config.admissionGuardrails !== "off"
            ? { guardrailParams: guardrailParamsConfigMap(guardrailParams({ name, revision: ug.name, systemNamespace: sys, imports: scope.imports, allowedSources: scope.allowedSources }, config.istio.trustDomain)) }
            : {}),
    };
}

function planGateway(config: MeshTenancyConfig, ug: UsergroupConfig, tenant: TenantConfig, api: ReturnType<typeof istioApiVersions>): GatewayPlan {
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
            version: config.istio.version,
            values: {
                revision: ug.name,
                labels: selector,
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

function managedLabels(): Record<string, string> {
    return { [MANAGED_BY_LABEL]: MANAGED_BY };
}

function namespaceObject(name: string, role: NamespaceRole, usergroup: string, extra: Record<string, string>): PlannedObject {
    return {
        resourceName: `${name}-ns`,
        object: {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name, labels: { ...extra, [USERGROUP_LABEL]: usergroup, [ROLE_LABEL]: role, ...managedLabels() } },
        },
    };
}

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

/** Every object the plan registers directly (charts excluded), e.g. for policy checks and reports. */
export function plannedObjects(plan: TenancyPlan): KubeObject[] {
    const g = plan.guardrails;
    return [
        ...plan.controlPlanes.flatMap((cp) => [cp.namespace.object, ...cp.objects.map((o) => o.object)]),
        ...plan.namespaces.flatMap((ns) => [
            ns.namespace.object,
            ...(ns.guardrailParams !== undefined ? [ns.guardrailParams.object] : []),
            ...ns.objects.map((o) => o.object),
            ...(ns.gateway?.objects.map((o) => o.object) ?? []),
        ]),
        ...[...(g.tenantRole !== undefined ? [g.tenantRole] : []), ...g.policies, ...g.bindings].map((o) => o.object),
    ];
}
