import type { ChartSource, MeshTenancyConfig, RevisionConfig, TenantConfig, UsergroupConfig } from "../model/config";
import { DEFAULT_TAG, tagLabel } from "../model/revisions";
import { formatStackPart } from "../model/stackPart";
import {
    GATEWAY_LABEL,
    SERVICE_EXPORT_TO_ANNOTATION,
    INJECTION_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAMESPACE_NAME_LABEL,
    NamespaceRole,
    REVISION_LABEL,
    ROLE_LABEL,
    TAG_LABEL,
    USERGROUP_LABEL,
} from "../policy/semantics/labels";
import { ISTIOD_PORTS } from "../policy/semantics/revisions";
import { guardrailAnnotations, GuardrailsPlan, guardrailParams, planGuardrails, tenantIstioRoleBinding } from "./guardrails";
import { chartGlobals, ISTIO_CRD_NAMES, istioApiVersions, istiodBaseValues, istiodEnv } from "./istio";
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

/** One istiod revision of a usergroup. */
export interface RevisionPlan {
    /** The chart's `revision`: istiod runs as `istiod-<name>`. */
    name: string;
    version: string;
    istiod: ChartRelease;
    /** `istio.io/rev` values of the tags pointing at this revision, sorted. */
    tags: string[];
    /** Tenant and shared namespaces whose pods this revision injects (through a tag or its own name), sorted. */
    namespaces: string[];
}

/** A revision tag: namespaces labelled with it are injected by whichever revision it points at. */
export interface TagPlan {
    /** The tag's name in the stack config: `stable`, `canary`. */
    name: string;
    /** Its `istio.io/rev` value, unique in the cluster: `<usergroup>-<tag>`. */
    label: string;
    /** The revision it points at. */
    revision: string;
    /** Its injector, which moving the tag updates in place. */
    webhook: PlannedObject;
}

export interface ControlPlanePlan {
    usergroup: string;
    systemNamespace: string;
    namespace: PlannedObject;
    /**
     * Protect the system namespace and everything in it (istiod, mTLS, root Sidecar) from deletion, with the tenants',
     * when `protectNamespaces` is set.
     */
    protect: boolean;
    /**
     * One revision, or two during an upgrade. All run in the system namespace, so they share its CA secret (one root of
     * trust: their workloads keep talking mTLS) and its root config, and they discover the same namespaces.
     */
    revisions: RevisionPlan[];
    /** Tags, by name; empty for a usergroup whose namespaces name its one revision directly. */
    tags: TagPlan[];
    /** STRICT PeerAuthentication, the root Sidecar and the NetworkPolicies guarding istiod, all in the system namespace. */
    objects: PlannedObject[];
    /** Namespaces every revision's discoverySelectors select: its system, shared and tenant namespaces; sorted. */
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
    /** What this stack registers of the plan (config `stackPart`); the plan itself is always the whole environment. */
    part: PartPlan;
}

/** The share of the plan one stack registers. */
export interface PartPlan {
    /** As configured: `all`, `platform` or `usergroup:<name>`. */
    name: string;
    /** Istio's base chart: in `all`, and in the part of the usergroup whose system namespace it goes into. */
    base: boolean;
    /** The admission guardrails and the tenant owners' Istio role: in `all` and `platform`. */
    guardrails: boolean;
    /** The usergroups whose control planes and namespaces it registers. */
    usergroups: string[];
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
    return {
        base: planBase(config),
        protectBase: config.protectNamespaces,
        controlPlanes,
        namespaces,
        guardrails: planGuardrails(config),
        localCluster: config.localCluster,
        detailedOutputs: config.detailedOutputs,
        part: planPart(config),
    };
}

function planPart(config: MeshTenancyConfig): PartPlan {
    const part = config.stackPart;
    const name = formatStackPart(part);
    switch (part.kind) {
        case "all":
            return { name, base: true, guardrails: true, usergroups: config.usergroups.map((ug) => ug.name) };
        case "platform":
            return { name, base: false, guardrails: true, usergroups: [] };
        case "usergroup":
            return { name, base: baseHome(config).name === part.usergroup, guardrails: false, usergroups: [part.usergroup] };
    }
}

/** The usergroup whose system namespace holds the base chart: the default revision's, else the first by name. */
function baseHome(config: MeshTenancyConfig): UsergroupConfig {
    const byName = [...config.usergroups].sort((a, b) => a.name.localeCompare(b.name));
    return config.usergroups.find((ug) => ug.name === config.istio.defaultRevision) ?? byName[0];
}

/**
 * The base chart renders the CRDs and, when a default revision is named, the cluster-wide `istiod-default-validator`
 * pointing at that revision's istiod; it goes into that revision's system namespace, or else into the system namespace
 * of the alphabetically first usergroup so that reordering usergroups does not move it. With `crds: external` it renders
 * no CRD (`base.excludedCRDs` names them all, which both the official chart and the stand-in honour); with `chart` the
 * values are exactly what they would be without the key.
 */
function planBase(config: MeshTenancyConfig): ChartRelease {
    const home = baseHome(config);
    return {
        resourceName: "istio-base",
        releaseName: "istio-base",
        namespace: home.systemNamespace,
        ...chartLocation(config.istio.chartSource, "base"),
        version: config.istio.version,
        values: {
            defaultRevision: config.istio.defaultRevision === "" ? "" : stableRevision(home),
            global: { istioNamespace: home.systemNamespace },
            ...(config.istio.crds === "external" ? { base: { enableCRDTemplates: true, excludedCRDs: [...ISTIO_CRD_NAMES] } } : {}),
        },
    };
}

/** The revision the usergroup's `stable` tag points at; its only revision when it has no tags. */
function stableRevision(ug: UsergroupConfig): string {
    return ug.tags[DEFAULT_TAG] ?? ug.revisions[0].name;
}

/** `istio.io/rev` of a namespace following `tag` (undefined: a usergroup without tags, whose namespaces name its revision). */
function revisionLabelOf(ug: UsergroupConfig, tag: string | undefined): string {
    return tag === undefined || Object.keys(ug.tags).length === 0 ? ug.revisions[0].name : tagLabel(ug.name, tag);
}

/** The revision injecting a namespace that follows `tag`. */
function revisionFollowed(ug: UsergroupConfig, tag: string | undefined): string {
    return tag === undefined || Object.keys(ug.tags).length === 0 ? ug.revisions[0].name : ug.tags[tag];
}

/** `istio.io/rev` values of the tags pointing at `revision`, sorted: with its name, what selects its injector. */
function tagsPointingAt(ug: UsergroupConfig, revision: string): string[] {
    return Object.entries(ug.tags)
        .filter(([, target]) => target === revision)
        .map(([tag]) => tagLabel(ug.name, tag))
        .sort();
}

function planControlPlane(config: MeshTenancyConfig, ug: UsergroupConfig, api: ReturnType<typeof istioApiVersions>): ControlPlanePlan {
    const sys = ug.systemNamespace;
    const discovered = [sys, ...ug.sharedNamespaces, ...ug.tenants.map((t) => t.name)].sort();
    const followers = [
        ...ug.sharedNamespaces.map((ns) => ({ ns, tag: Object.keys(ug.tags).length > 0 ? DEFAULT_TAG : undefined })),
        ...ug.tenants.map((t) => ({ ns: t.name, tag: t.tag })),
    ];
    const tags = Object.entries(ug.tags)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, revision]) => planTag(config, ug, name, revision));
    return {
        usergroup: ug.name,
        systemNamespace: sys,
        discoveredNamespaces: discovered,
        namespace: namespaceObject(sys, "system", ug.name, {}, {}),
        protect: config.protectNamespaces,
        revisions: ug.revisions.map((r) => ({
            name: r.name,
            version: r.version,
            istiod: istiodRelease(config, ug, r),
            tags: tagsPointingAt(ug, r.name),
            namespaces: followers.filter((f) => revisionFollowed(ug, f.tag) === r.name).map((f) => f.ns).sort(),
        })),
        tags,
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
            ...systemNetworkPolicies(config, ug),
        ],
    };
}

/** istiod's ports, from the semantics model (the pack checks who reaches them by the same numbers). */
export { ISTIOD_PORTS };

/**
 * Ingress to the system namespace: denied by default, then to istiod only what each caller needs. Plaintext xDS (15010)
 * and secure xDS with the CA (15012) from the usergroup's own namespaces, selected by the same `usergroup` label the
 * revision's discoverySelectors trust: istiod serves 15010 to whoever connects, so without this a pod of another
 * usergroup could read this usergroup's whole service view. The webhook port (15017) for the API server, which calls
 * from outside any pod, so no pod or namespace selector can name it: from `controlPlaneAccess.apiServerCidrs` when
 * given, else from every source (the port serves sidecar injection, validation and `/ready`: no service registry). Monitoring (15014, metrics
 * and authenticated debug endpoints) only from `controlPlaneAccess.monitoringNamespace`, and from nowhere without it.
 * The debug port 8080 is opened to no one: kubelet probes come from the node, which NetworkPolicies always admit.
 */
function systemNetworkPolicies(config: MeshTenancyConfig, ug: UsergroupConfig): PlannedObject[] {
    const sys = ug.systemNamespace;
    const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));
    const access = config.controlPlaneAccess;
    const ingress: Record<string, unknown>[] = [
        {
            from: [{ namespaceSelector: { matchLabels: { [USERGROUP_LABEL]: ug.name } } }],
            ports: tcp(ISTIOD_PORTS.xds, ISTIOD_PORTS.secureXdsAndCa),
        },
        access.apiServerCidrs !== undefined
            ? { from: access.apiServerCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: tcp(ISTIOD_PORTS.webhook) }
            : { ports: tcp(ISTIOD_PORTS.webhook) },
    ];
    if (access.monitoringNamespace !== undefined) {
        ingress.push({
            from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: access.monitoringNamespace } } }],
            ports: tcp(ISTIOD_PORTS.monitoring),
        });
    }
    return [
        {
            resourceName: `${ug.name}-system-deny-ingress`,
            object: {
                apiVersion: "networking.k8s.io/v1",
                kind: "NetworkPolicy",
                metadata: { name: "default-deny-ingress", namespace: sys, labels: managedLabels() },
                spec: { podSelector: {}, policyTypes: ["Ingress"] },
            },
        },
        {
            resourceName: `${ug.name}-istiod-access`,
            object: {
                apiVersion: "networking.k8s.io/v1",
                kind: "NetworkPolicy",
                metadata: { name: "istiod-access", namespace: sys, labels: managedLabels() },
                spec: {
                    podSelector: { matchLabels: { app: "istiod" } },
                    policyTypes: ["Ingress"],
                    ingress,
                },
            },
        },
    ];
}

/**
 * One revision's istiod. Every revision of a usergroup gets the same mesh config and discovery selectors; only the name
 * and version differ. The resource is named after the revision, so a usergroup's first revision (named after the
 * usergroup when the stack lists no revisions) keeps the resource it always had.
 */
function istiodRelease(config: MeshTenancyConfig, ug: UsergroupConfig, revision: RevisionConfig): ChartRelease {
    const sys = ug.systemNamespace;
    const pilot: Record<string, unknown> = {
        env: istiodEnv(revision.version),
        replicaCount: ug.istiod.replicas,
        autoscaleEnabled: false,
    };
    if (ug.istiod.resources !== undefined) pilot.resources = ug.istiod.resources;
    return {
        resourceName: `${revision.name}-istiod`,
        releaseName: `istiod-${revision.name}`,
        namespace: sys,
        ...chartLocation(config.istio.chartSource, "istiod"),
        version: revision.version,
        values: {
            revision: revision.name,
            global: chartGlobals(revision.version, sys),
            ...(istiodBaseValues(revision.version) !== undefined ? { base: istiodBaseValues(revision.version) } : {}),
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
    };
}

/**
 * A tag's injector, written as the istiod chart's `revisionTags` renders it (same name, labels and selectors, so
 * istiod and `istioctl tag list` recognise it) but as an object of its own: inside a revision's chart release, moving
 * the tag to the other revision would create it under the new release and then delete it with the old one, leaving no
 * injector. Here moving a tag changes one object in place. istiod fills in the CA bundle of webhooks labelled with its
 * revision. A local cluster without a running istiod must still admit pods, hence `Ignore` there.
 */
function planTag(config: MeshTenancyConfig, ug: UsergroupConfig, name: string, revision: string): TagPlan {
    const sys = ug.systemNamespace;
    const label = tagLabel(ug.name, name);
    const failurePolicy = config.localCluster ? "Ignore" : "Fail";
    const hook = (prefix: string, namespaceSelector: unknown, objectSelector: unknown) => ({
        name: `${prefix}sidecar-injector.istio.io`,
        clientConfig: { service: { name: `istiod-${revision}`, namespace: sys, path: "/inject", port: 443 } },
        sideEffects: "None",
        rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
        failurePolicy,
        reinvocationPolicy: "Never",
        admissionReviewVersions: ["v1"],
        namespaceSelector,
        objectSelector,
    });
    const notDisabled = { key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] };
    const noInjectionLabel = { key: INJECTION_LABEL, operator: "DoesNotExist" };
    return {
        name,
        label,
        revision,
        webhook: {
            resourceName: `${ug.name}-tag-${name}`,
            object: {
                apiVersion: "admissionregistration.k8s.io/v1",
                kind: "MutatingWebhookConfiguration",
                metadata: {
                    name: sys === "istio-system" ? `istio-revision-tag-${label}` : `istio-revision-tag-${label}-${sys}`,
                    labels: { [TAG_LABEL]: label, [REVISION_LABEL]: revision, app: "sidecar-injector", ...managedLabels() },
                },
                webhooks: [
                    hook("rev.namespace.", { matchExpressions: [{ key: REVISION_LABEL, operator: "In", values: [label] }, noInjectionLabel] }, { matchExpressions: [notDisabled] }),
                    hook(
                        "rev.object.",
                        { matchExpressions: [{ key: REVISION_LABEL, operator: "DoesNotExist" }, noInjectionLabel] },
                        { matchExpressions: [notDisabled, { key: REVISION_LABEL, operator: "In", values: [label] }] },
                    ),
                ],
            },
        },
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
        ...(config.smokeWorkloads && role === "tenant" ? { smokeWorkloads: smokeWorkloads(name, serviceExportTo) } : {}),
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
function smokeWorkloads(ns: string, exportTo: string[]): PlannedObject[] {
    const deployment = (role: string, container: Record<string, unknown>): PlannedObject => {
        const app = { app: `smoke-${role}` };
        return {
            resourceName: `${ns}-smoke-${role}`,
            object: {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: `smoke-${role}`, namespace: ns, labels: app },
                spec: { replicas: 1, selector: { matchLabels: app }, template: { metadata: { labels: app }, spec: { containers: [container] } } },
            },
        };
    };
    return [
        deployment("echo", { name: "echo", image: SMOKE_IMAGES.echo, ports: [{ name: "http", containerPort: 8080 }] }),
        {
            resourceName: `${ns}-smoke-echo`,
            object: {
                apiVersion: "v1",
                kind: "Service",
                metadata: { name: "smoke-echo", namespace: ns, annotations: { [SERVICE_EXPORT_TO_ANNOTATION]: exportTo.join(",") } },
                spec: { selector: { app: "smoke-echo" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
            },
        },
        deployment("client", { name: "client", image: SMOKE_IMAGES.client, command: ["sleep", "infinity"] }),
    ];
}

/**
 * The gateway's pods carry the namespace's `istio.io/rev`, so they move with the namespace's tag, and its chart is of
 * the version of the revision that injects it: a gateway is upgraded when its namespace moves, not before.
 */
function planGateway(
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

function managedLabels(): Record<string, string> {
    return { [MANAGED_BY_LABEL]: MANAGED_BY };
}

function namespaceObject(name: string, role: NamespaceRole, usergroup: string, extra: Record<string, string>, annotations: Record<string, string>): PlannedObject {
    return {
        resourceName: `${name}-ns`,
        object: {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name, labels: { ...extra, [USERGROUP_LABEL]: usergroup, [ROLE_LABEL]: role, ...managedLabels() }, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
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

/** Every platform object the plan registers directly (charts and smoke workloads excluded), e.g. for policy checks and reports. */
export function plannedObjects(plan: TenancyPlan): KubeObject[] {
    const g = plan.guardrails;
    return [
        ...plan.controlPlanes.flatMap((cp) => [cp.namespace.object, ...cp.objects.map((o) => o.object), ...cp.tags.map((t) => t.webhook.object)]),
        ...plan.namespaces.flatMap((ns) => [
            ns.namespace.object,
            ...ns.objects.map((o) => o.object),
            ...(ns.gateway?.objects.map((o) => o.object) ?? []),
        ]),
        ...[...(g.tenantRole !== undefined ? [g.tenantRole] : []), ...g.policies, ...g.bindings].map((o) => o.object),
    ];
}
