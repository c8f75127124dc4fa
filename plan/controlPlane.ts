import type { PluggedInCa } from "../model/ca";
import type { MeshTenancyConfig, RevisionConfig, UsergroupConfig } from "../model/config";
import { DEFAULT_TAG, tagLabel } from "../model/revisions";
import { INJECTION_LABEL, NAMESPACE_NAME_LABEL, REVISION_LABEL, TAG_LABEL, USERGROUP_LABEL } from "../policy/semantics/labels";
import { ISTIOD_PORTS } from "../policy/semantics/revisions";
import { ChartRelease, chartLocation } from "./charts";
import { chartGlobals, ISTIO_CRD_NAMES, istioApiVersions, istiodBaseValues, istiodEnv } from "./istio";
import { managedLabels, namespaceObject, PlannedObject } from "./objects";
import { normaliseHosts } from "./scoping";

/*
 * A usergroup's control plane: its system namespace, istiod revisions and tags, STRICT mTLS, the root Sidecar and the
 * NetworkPolicies guarding istiod; and Istio's base chart, which goes into one usergroup's system namespace.
 */

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
    /**
     * With one shared root (`istio.ca.roots: shared-root`), the plugged-in intermediate CA as Istio reads it: Secret
     * `cacerts` in the system namespace, which must exist before istiod starts (model/ca.ts). Its data is secret.
     */
    caSecret?: PlannedObject;
    /** Namespaces every revision's discoverySelectors select: its system, shared and tenant namespaces; sorted. */
    discoveredNamespaces: string[];
}

/** The usergroup whose system namespace holds the base chart: the default revision's, else the first by name. */
export function baseHome(config: MeshTenancyConfig): UsergroupConfig {
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
export function planBase(config: MeshTenancyConfig): ChartRelease {
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
export function revisionLabelOf(ug: UsergroupConfig, tag: string | undefined): string {
    return tag === undefined || Object.keys(ug.tags).length === 0 ? ug.revisions[0].name : tagLabel(ug.name, tag);
}

/** The revision injecting a namespace that follows `tag`. */
export function revisionFollowed(ug: UsergroupConfig, tag: string | undefined): string {
    return tag === undefined || Object.keys(ug.tags).length === 0 ? ug.revisions[0].name : ug.tags[tag];
}

/** `istio.io/rev` values of the tags pointing at `revision`, sorted: with its name, what selects its injector. */
export function tagsPointingAt(ug: UsergroupConfig, revision: string): string[] {
    return Object.entries(ug.tags)
        .filter(([, target]) => target === revision)
        .map(([tag]) => tagLabel(ug.name, tag))
        .sort();
}

/** Istio's plugged-in CA: the Secret named `cacerts` in istiod's namespace, holding the four PEM files. */
function caSecret(ug: UsergroupConfig, files: PluggedInCa): PlannedObject {
    return {
        resourceName: `${ug.name}-cacerts`,
        object: { apiVersion: "v1", kind: "Secret", metadata: { name: "cacerts", namespace: ug.systemNamespace, labels: managedLabels() }, type: "Opaque", stringData: { ...files } },
    };
}

export function planControlPlane(config: MeshTenancyConfig, ug: UsergroupConfig, api: ReturnType<typeof istioApiVersions>): ControlPlanePlan {
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
        ...(config.istio.ca.pluggedIn[ug.name] !== undefined ? { caSecret: caSecret(ug, config.istio.ca.pluggedIn[ug.name]) } : {}),
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
    if (config.istio.images.pilot !== undefined) pilot.image = config.istio.images.pilot;
    const global = chartGlobals(revision.version, sys);
    if (config.istio.images.proxy !== undefined) global.proxy = { image: config.istio.images.proxy };
    return {
        resourceName: `${revision.name}-istiod`,
        releaseName: `istiod-${revision.name}`,
        namespace: sys,
        ...chartLocation(config.istio.chartSource, "istiod"),
        version: revision.version,
        values: {
            revision: revision.name,
            global,
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
