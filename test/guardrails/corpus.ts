import { planTenancy, TenancyPlan } from "../../plan";
import { MANAGED_BY, MANAGED_BY_LABEL, REVISION_LABEL } from "../../policy/semantics/labels";
import { loadStack } from "../harness/configs";
import type { AdmissionRequest, GroupVersionKind, GroupVersionResource } from "./vapEval";

/**
 * One corpus for both layers: the admission requests the guardrails judge, and, for the rules the pack judges too, the
 * object set the pack judges. Everything happens on the `local` stack as planned: its namespaces carry the guardrails'
 * parameters as the plan writes them, and its platform operators are the user `admin` and, added here so that the
 * exemption by group is judged too, the group `mesh-operators`.
 */

type Obj = Record<string, any>;

export const CORPUS_STACK = "local";
export const corpusPlan: TenancyPlan = planTenancy(loadStack(CORPUS_STACK, (raw) => (raw.platformOperators = { users: ["admin"], groups: ["mesh-operators"] })));

/** A tenant owner (shop's group) and the platform operator the stack names. */
export const TENANT = { username: "alice", groups: ["team-shop", "system:authenticated"] };
export const OPERATOR = { username: "admin", groups: ["system:authenticated"] };
export const OPERATOR_GROUP_MEMBER = { username: "carol", groups: ["system:authenticated", "mesh-operators"] };

const RESOURCES: Record<string, GroupVersionKind & { resource: string }> = {
    Namespace: { group: "", version: "v1", kind: "Namespace", resource: "namespaces" },
    Pod: { group: "", version: "v1", kind: "Pod", resource: "pods" },
    Service: { group: "", version: "v1", kind: "Service", resource: "services" },
    ConfigMap: { group: "", version: "v1", kind: "ConfigMap", resource: "configmaps" },
    Deployment: { group: "apps", version: "v1", kind: "Deployment", resource: "deployments" },
    ReplicaSet: { group: "apps", version: "v1", kind: "ReplicaSet", resource: "replicasets" },
    CronJob: { group: "batch", version: "v1", kind: "CronJob", resource: "cronjobs" },
    NetworkPolicy: { group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy", resource: "networkpolicies" },
    Sidecar: { group: "networking.istio.io", version: "v1", kind: "Sidecar", resource: "sidecars" },
    VirtualService: { group: "networking.istio.io", version: "v1", kind: "VirtualService", resource: "virtualservices" },
    DestinationRule: { group: "networking.istio.io", version: "v1", kind: "DestinationRule", resource: "destinationrules" },
    ServiceEntry: { group: "networking.istio.io", version: "v1", kind: "ServiceEntry", resource: "serviceentries" },
    EnvoyFilter: { group: "networking.istio.io", version: "v1alpha3", kind: "EnvoyFilter", resource: "envoyfilters" },
    Telemetry: { group: "telemetry.istio.io", version: "v1", kind: "Telemetry", resource: "telemetries" },
    WasmPlugin: { group: "extensions.istio.io", version: "v1alpha1", kind: "WasmPlugin", resource: "wasmplugins" },
    PeerAuthentication: { group: "security.istio.io", version: "v1", kind: "PeerAuthentication", resource: "peerauthentications" },
    AuthorizationPolicy: { group: "security.istio.io", version: "v1", kind: "AuthorizationPolicy", resource: "authorizationpolicies" },
    Gateway: { group: "networking.istio.io", version: "v1", kind: "Gateway", resource: "gateways" },
    // Kinds two APIs share are keyed `Kind.group` for the second.
    "Gateway.gateway.networking.k8s.io": { group: "gateway.networking.k8s.io", version: "v1", kind: "Gateway", resource: "gateways" },
    ReferenceGrant: { group: "gateway.networking.k8s.io", version: "v1beta1", kind: "ReferenceGrant", resource: "referencegrants" },
};

/** The table's entry for an object: by its kind and its apiVersion's group. */
function resourceOf(obj: Obj): GroupVersionKind & { resource: string } {
    const group = String(obj.apiVersion).includes("/") ? String(obj.apiVersion).split("/")[0] : "";
    const r = Object.values(RESOURCES).find((e) => e.kind === obj.kind && e.group === group);
    if (r === undefined) throw new Error(`unknown kind ${obj.kind} of ${obj.apiVersion}`);
    return r;
}

/** The Namespace object as planned (tenant, shared or system). */
export function plannedNamespace(name: string): Obj {
    const ns = corpusPlan.namespaces.find((n) => n.name === name)?.namespace ?? corpusPlan.controlPlanes.find((c) => c.systemNamespace === name)?.namespace;
    if (ns === undefined) throw new Error(`no namespace ${name} in the ${CORPUS_STACK} plan`);
    return ns.object;
}

/** An object of a kind the corpus knows, with apiVersion from the table above. */
export function object(kind: string, namespace: string | undefined, name: string, rest: Obj = {}): Obj {
    const r = RESOURCES[kind];
    if (r === undefined) throw new Error(`unknown kind ${kind}`);
    const { metadata, ...others } = rest;
    return { apiVersion: r.group === "" ? r.version : `${r.group}/${r.version}`, kind: r.kind, metadata: { name, ...(namespace === undefined ? {} : { namespace }), ...(metadata ?? {}) }, ...others };
}

export interface RequestOptions {
    operation?: AdmissionRequest["operation"];
    oldObject?: Obj;
    user?: { username: string; groups: string[] };
    subResource?: string;
    /** The Namespace the request is in, when not the planned one (e.g. one without parameters). */
    namespaceObject?: Obj;
}

/** The admission request that creates (or updates, or deletes) `obj` in its namespace. */
export function requestFor(obj: Obj, opts: RequestOptions = {}): AdmissionRequest {
    const r = resourceOf(obj);
    const operation = opts.operation ?? (opts.oldObject === undefined ? "CREATE" : "UPDATE");
    const namespace: string | undefined = obj.metadata.namespace;
    const gvk: GroupVersionKind = { group: r.group, version: r.version, kind: r.kind };
    const gvr: GroupVersionResource = { group: r.group, version: r.version, resource: r.resource };
    return {
        operation,
        ...(operation === "DELETE" ? {} : { object: obj }),
        ...(operation === "DELETE" ? { oldObject: obj } : opts.oldObject === undefined ? {} : { oldObject: opts.oldObject }),
        kind: gvk,
        resource: gvr,
        ...(opts.subResource === undefined ? {} : { subResource: opts.subResource }),
        ...(namespace === undefined ? {} : { namespace, namespaceObject: opts.namespaceObject ?? plannedNamespace(namespace) }),
        name: obj.metadata.name,
        userInfo: opts.user ?? TENANT,
    };
}

// ---------------------------------------------------------------------------------------------------------------------
// Object builders: one baseline per kind, and each fixture changes one field.

const podTemplate = (labels: Obj = {}, annotations: Obj = {}) => ({ metadata: { labels: { app: "web", ...labels }, annotations }, spec: { containers: [{ name: "app", image: "registry.example/app:1" }] } });

export const deployment = (ns: string, name: string, labels: Obj = {}, annotations: Obj = {}) =>
    object("Deployment", ns, name, { spec: { selector: { matchLabels: { app: "web" } }, template: podTemplate(labels, annotations) } });
export const pod = (ns: string, name: string, labels: Obj = {}, annotations: Obj = {}) =>
    object("Pod", ns, name, { metadata: { labels: { app: "web", ...labels }, annotations }, spec: podTemplate().spec });
export const cronJob = (ns: string, name: string, labels: Obj = {}, annotations: Obj = {}) =>
    object("CronJob", ns, name, { spec: { schedule: "0 * * * *", jobTemplate: { spec: { template: podTemplate(labels, annotations) } } } });
export const sidecar = (ns: string, name: string, spec: Obj | undefined) => object("Sidecar", ns, name, spec === undefined ? {} : { spec });
export const virtualService = (ns: string, name: string, exportTo?: string[]) =>
    object("VirtualService", ns, name, { spec: { hosts: [`${name}.${ns}.svc.cluster.local`], ...(exportTo === undefined ? {} : { exportTo }), http: [{ route: [{ destination: { host: `${name}.${ns}.svc.cluster.local` } }] }] } });
export const destinationRule = (ns: string, name: string, spec: Obj = {}) => object("DestinationRule", ns, name, { spec: { host: `${name}.${ns}.svc.cluster.local`, ...spec } });
export const serviceEntry = (ns: string, name: string, exportTo?: string[]) =>
    object("ServiceEntry", ns, name, { spec: { hosts: ["api.example.com"], ports: [{ number: 443, name: "https", protocol: "TLS" }], resolution: "DNS", ...(exportTo === undefined ? {} : { exportTo }) } });
export const service = (ns: string, name: string, exportTo?: string) =>
    object("Service", ns, name, { metadata: exportTo === undefined ? {} : { annotations: { "networking.istio.io/exportTo": exportTo } }, spec: { selector: { app: name }, ports: [{ name: "http", port: 80 }] } });
export const peerAuthentication = (ns: string, name: string, spec: Obj) => object("PeerAuthentication", ns, name, { spec });
export const authorizationPolicy = (ns: string, name: string, spec: Obj) => object("AuthorizationPolicy", ns, name, { spec });
export const fromNamespaces = (...namespaces: string[]) => ({ action: "ALLOW", rules: [{ from: [{ source: { namespaces } }] }] });
export const fromPrincipals = (...principals: string[]) => ({ action: "ALLOW", rules: [{ from: [{ source: { principals } }] }] });

// ---------------------------------------------------------------------------------------------------------------------
// The parity table

/** A rule that both layers judge for one object in context, and how their verdicts relate. */
export interface Pair {
    guardrail: string;
    /** The pack rule (by id) and the codes of its findings that are this pair's judgement (all of the rule's when absent). */
    rule: string;
    codes?: string[];
    /** Where the two may differ, each reason once; fixtures name the reason they exercise. */
    differences: Record<string, string>;
}

export const PAIRS: ReadonlyArray<Pair> = [
    {
        guardrail: "MT001",
        rule: "MT001",
        codes: ["MT0102"],
        differences: {
            "not-injected":
                "a pod that opts out of injection has no revision to get wrong, so the pack says nothing of its istio.io/rev; the guardrail refuses the label anyway (MT017 refuses the opt-out too), since it cannot tell whether the opt-out stays",
        },
    },
    {
        guardrail: "MT005",
        rule: "MT005",
        codes: ["MT0502"],
        differences: {
            "named-default":
                "the guardrail sees one Sidecar, not the namespace's others, so it lets only the one named `default` go without workloadSelector (names are unique per namespace); the pack counts the selector-less Sidecars and accepts the first under any name",
        },
    },
    {
        guardrail: "MT007",
        rule: "MT007",
        differences: {
            "plan-imports":
                "the guardrail holds a Sidecar to the namespaces the plan lets its namespace import (its parameters); the pack, which does not know the plan, to the namespace's usergroup",
            "no-egress": "a Sidecar without egress imports every namespace of the usergroup: the guardrail refuses it as an import beyond the plan's; the pack's MT007 judges named hosts, and what such a Sidecar imports is within the usergroup",
        },
    },
    {
        guardrail: "MT008",
        rule: "MT008",
        differences: {
            "plan-peers":
                "the guardrail holds exportTo to the namespace's peers in the plan (those it imports and those importing it); the pack, which does not know the plan, to the namespace's usergroup",
        },
    },
    {
        guardrail: "MT009",
        rule: "MT009",
        codes: ["MT0902", "MT0903"],
        differences: {
            "port-without-selector":
                "portLevelMtls without a selector is honoured by no istiod and refused by Istio's own CRD schema (`portLevelMtls requires selector`), so the pack sees no plaintext; the guardrail refuses the weak mode wherever it is written",
        },
    },
    {
        guardrail: "MT016",
        rule: "MT016",
        codes: ["MT1601"],
        differences: {
            "other-usergroup":
                "a namespace of another usergroup is the usergroup boundary's (MT015), which the pack judges on what a workload admits through its sidecar and at L3 together: the namespace's NetworkPolicies still refuse it; the guardrail, seeing one AuthorizationPolicy, refuses it outright",
            "no-from":
                "an ALLOW rule without `from` admits every namespace: the pack reports that under MT012/MT015 (every namespace, not a tenant of the usergroup), the guardrail under MT016",
        },
    },
    {
        guardrail: "MT017",
        rule: "MT017",
        codes: ["MT1701", "MT1704"],
        differences: {
            outbound:
                "outbound capture settings let the pod's own calls skip its sidecar (and mutual TLS); the pack's MT017 judges what reaches the pod (inbound), the guardrail refuses every traffic.sidecar.istio.io/* setting",
        },
    },
    {
        guardrail: "MT025",
        rule: "MT025",
        codes: ["MT2501", "MT2503", "MT2505"],
        differences: {
            selector:
                "a listener's Selector picks namespaces by labels that change after the Gateway is written, which the guardrail cannot read: it admits only `Same`; the pack judges the namespaces the selector picks now, and lets those the tenant may call",
            "all-namespaces":
                "a listener admitting every namespace reaches beyond the usergroup: the pack reports it under MT1004 (the usergroup boundary), the guardrail under MT025",
        },
    },
];

export interface ParityFixture {
    name: string;
    guardrail: string;
    /** The object the request creates. */
    object: Obj;
    /** Objects the set holds besides the stack's, for the pack (e.g. the workload an AuthorizationPolicy applies to). */
    context?: Obj[];
    /** The stack's objects the set does not hold (`Kind namespace/name`), for the pack. */
    without?: string[];
    /** The guardrail's verdict; the pack's is the same unless `differs` names the pair's reason. */
    expect: "refused" | "admitted";
    differs?: string;
}

const istioGateway = (ns: string, hosts: string[]) => object("Gateway", ns, "edge", { spec: { selector: { [`mesh-tenancy.io/gateway`]: ns }, servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts }] } });
const apiGateway = (ns: string, namespaces?: Obj) =>
    object("Gateway.gateway.networking.k8s.io", ns, "edge", { spec: { gatewayClassName: "istio", listeners: [{ name: "http", port: 80, protocol: "HTTP", ...(namespaces === undefined ? {} : { allowedRoutes: { namespaces } }) }] } });
const referenceGrant = (ns: string, from: string) => object("ReferenceGrant", ns, "routes-in", { spec: { from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: from }], to: [{ group: "", kind: "Service" }] } });

const SHOP_WORKLOAD = deployment("shop", "web");
const PAYMENTS_WORKLOAD = deployment("payments", "api");

export const PARITY_FIXTURES: ReadonlyArray<ParityFixture> = [
    // MT001: a pod (or its template) asking for another revision than its namespace's.
    { name: "Deployment asking for another usergroup's revision", guardrail: "MT001", object: deployment("shop", "web", { [REVISION_LABEL]: "team-b" }), expect: "refused" },
    { name: "Pod asking for a revision that does not exist", guardrail: "MT001", object: pod("shop", "web", { [REVISION_LABEL]: "canary" }), expect: "refused" },
    { name: "CronJob template asking for another revision", guardrail: "MT001", object: cronJob("shop", "report", { [REVISION_LABEL]: "team-b" }), expect: "refused" },
    { name: "Deployment naming its own namespace's revision", guardrail: "MT001", object: deployment("shop", "web", { [REVISION_LABEL]: "team-a" }), expect: "admitted" },
    { name: "Deployment without istio.io/rev", guardrail: "MT001", object: deployment("shop", "web"), expect: "admitted" },
    {
        name: "Pod out of the mesh asking for another revision",
        guardrail: "MT001",
        object: pod("shop", "web", { [REVISION_LABEL]: "team-b", "sidecar.istio.io/inject": "false" }),
        expect: "refused",
        differs: "not-injected",
    },

    // MT005: one Sidecar without workloadSelector per namespace.
    { name: "second selector-less Sidecar beside the plan's default", guardrail: "MT005", object: sidecar("shop", "extra", { egress: [{ hosts: ["./*"] }] }), expect: "refused" },
    { name: "Sidecar with an empty workloadSelector beside the default", guardrail: "MT005", object: sidecar("shop", "extra", { workloadSelector: { labels: {} }, egress: [{ hosts: ["./*"] }] }), expect: "refused" },
    { name: "workload Sidecar with a selector", guardrail: "MT005", object: sidecar("shop", "web", { workloadSelector: { labels: { app: "web" } }, egress: [{ hosts: ["./*"] }] }), expect: "admitted" },
    { name: "the default Sidecar rewritten under its own name", guardrail: "MT005", object: sidecar("shop", "default", { egress: [{ hosts: ["./*", "payments/*"] }] }), expect: "admitted" },
    {
        name: "the only selector-less Sidecar, under another name",
        guardrail: "MT005",
        object: sidecar("shop", "main", { egress: [{ hosts: ["./*"] }] }),
        without: ["Sidecar shop/default"],
        expect: "refused",
        differs: "named-default",
    },

    // MT007: Sidecar egress hosts.
    { name: "Sidecar importing every namespace (*/*)", guardrail: "MT007", object: sidecar("shop", "default", { egress: [{ hosts: ["*/*"] }] }), expect: "refused" },
    { name: "Sidecar importing another usergroup's namespace", guardrail: "MT007", object: sidecar("shop", "default", { egress: [{ hosts: ["./*", "analytics/*"] }] }), expect: "refused" },
    { name: "Sidecar importing a namespace that does not exist", guardrail: "MT007", object: sidecar("shop", "default", { egress: [{ hosts: ["elsewhere/*"] }] }), expect: "refused" },
    { name: "Sidecar with a foreign host in its second listener", guardrail: "MT007", object: sidecar("shop", "default", { egress: [{ port: { number: 80, protocol: "HTTP", name: "http" }, hosts: ["./*"] }, { hosts: ["analytics/*"] }] }), expect: "refused" },
    { name: "Sidecar importing the plan's imports", guardrail: "MT007", object: sidecar("shop", "default", { egress: [{ hosts: ["./*", "payments/*", "common-a/*", "istio-team-a/*"] }] }), expect: "admitted" },
    { name: "Sidecar importing nothing (~)", guardrail: "MT007", object: sidecar("shop", "default", { egress: [{ hosts: ["~/*"] }] }), expect: "admitted" },
    {
        name: "Sidecar importing a namespace of its usergroup the plan does not let it import",
        guardrail: "MT007",
        object: sidecar("payments", "default", { egress: [{ hosts: ["./*", "ledger/*"] }] }),
        expect: "refused",
        differs: "plan-imports",
    },
    { name: "Sidecar without egress", guardrail: "MT007", object: sidecar("shop", "default", {}), expect: "refused", differs: "no-egress" },

    // MT008: exportTo.
    { name: "VirtualService exported to every namespace", guardrail: "MT008", object: virtualService("shop", "web", ["*"]), expect: "refused" },
    { name: "DestinationRule exported to another usergroup", guardrail: "MT008", object: destinationRule("shop", "web", { exportTo: [".", "analytics"] }), expect: "refused" },
    { name: "ServiceEntry exported to every namespace", guardrail: "MT008", object: serviceEntry("shop", "api", ["*"]), expect: "refused" },
    { name: "Service annotated to export everywhere", guardrail: "MT008", object: service("shop", "web", "*"), expect: "refused" },
    { name: "Service annotated with a peer and another usergroup", guardrail: "MT008", object: service("shop", "web", "payments, analytics"), expect: "refused" },
    { name: "VirtualService private", guardrail: "MT008", object: virtualService("shop", "web", ["."]), expect: "admitted" },
    { name: "VirtualService exported to its peers", guardrail: "MT008", object: virtualService("shop", "web", [".", "payments", "common-a"]), expect: "admitted" },
    { name: "VirtualService without exportTo", guardrail: "MT008", object: virtualService("shop", "web"), expect: "admitted" },
    { name: "Service annotated with a peer, spaced, and a trailing comma", guardrail: "MT008", object: service("shop", "web", "payments , "), expect: "admitted" },
    { name: "Service without the annotation", guardrail: "MT008", object: service("shop", "web"), expect: "admitted" },
    { name: "ServiceEntry exported to a namespace of its usergroup that is not a peer", guardrail: "MT008", object: serviceEntry("payments", "api", ["ledger"]), expect: "refused", differs: "plan-peers" },

    // MT009: mutual TLS.
    { name: "PeerAuthentication PERMISSIVE for the namespace", guardrail: "MT009", object: peerAuthentication("shop", "weak", { mtls: { mode: "PERMISSIVE" } }), expect: "refused" },
    { name: "PeerAuthentication DISABLE for the namespace", guardrail: "MT009", object: peerAuthentication("shop", "weak", { mtls: { mode: "DISABLE" } }), expect: "refused" },
    {
        name: "PeerAuthentication PERMISSIVE on one port of a workload",
        guardrail: "MT009",
        object: peerAuthentication("shop", "weak", { selector: { matchLabels: { app: "web" } }, mtls: { mode: "STRICT" }, portLevelMtls: { "8080": { mode: "PERMISSIVE" } } }),
        context: [SHOP_WORKLOAD],
        expect: "refused",
    },
    {
        name: "PeerAuthentication PERMISSIVE on one port, without selector",
        guardrail: "MT009",
        object: peerAuthentication("shop", "ports", { mtls: { mode: "STRICT" }, portLevelMtls: { "8080": { mode: "PERMISSIVE" } } }),
        context: [SHOP_WORKLOAD],
        expect: "refused",
        differs: "port-without-selector",
    },
    { name: "PeerAuthentication STRICT", guardrail: "MT009", object: peerAuthentication("shop", "strict", { mtls: { mode: "STRICT" } }), expect: "admitted" },
    { name: "PeerAuthentication without a mode", guardrail: "MT009", object: peerAuthentication("shop", "empty", {}), expect: "admitted" },
    { name: "DestinationRule DISABLE at the top level", guardrail: "MT009", object: destinationRule("shop", "web", { trafficPolicy: { tls: { mode: "DISABLE" } } }), expect: "refused" },
    { name: "DestinationRule DISABLE in a subset", guardrail: "MT009", object: destinationRule("shop", "web", { subsets: [{ name: "v1", labels: { v: "1" }, trafficPolicy: { tls: { mode: "DISABLE" } } }] }), expect: "refused" },
    {
        name: "DestinationRule DISABLE on one port",
        guardrail: "MT009",
        object: destinationRule("shop", "web", { trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: "DISABLE" } }] } }),
        expect: "refused",
    },
    {
        name: "DestinationRule DISABLE on one port of a subset",
        guardrail: "MT009",
        object: destinationRule("shop", "web", { subsets: [{ name: "v1", labels: { v: "1" }, trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: "DISABLE" } }] } }] }),
        expect: "refused",
    },
    { name: "DestinationRule ISTIO_MUTUAL", guardrail: "MT009", object: destinationRule("shop", "web", { trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } }), expect: "admitted" },
    { name: "DestinationRule without TLS settings", guardrail: "MT009", object: destinationRule("shop", "web", { trafficPolicy: { connectionPool: { tcp: { maxConnections: 10 } } } }), expect: "admitted" },

    // MT016: whom an ALLOW AuthorizationPolicy admits.
    { name: "ALLOW from a namespace of the usergroup that does not import it", guardrail: "MT016", object: authorizationPolicy("shop", "from-ledger", fromNamespaces("ledger")), context: [SHOP_WORKLOAD], expect: "refused" },
    {
        name: "ALLOW from a principal of a namespace that does not import it",
        guardrail: "MT016",
        object: authorizationPolicy("shop", "from-ledger", fromPrincipals("cluster.local/ns/ledger/sa/default")),
        context: [SHOP_WORKLOAD],
        expect: "refused",
    },
    {
        name: "ALLOW with one admitted and one foreign source",
        guardrail: "MT016",
        object: authorizationPolicy("payments", "mixed", { action: "ALLOW", rules: [{ from: [{ source: { namespaces: ["shop"] } }] }, { from: [{ source: { namespaces: ["ledger"] } }] }] }),
        context: [PAYMENTS_WORKLOAD],
        expect: "refused",
    },
    { name: "ALLOW from the namespace's importer", guardrail: "MT016", object: authorizationPolicy("payments", "from-shop", fromNamespaces("shop")), context: [PAYMENTS_WORKLOAD], expect: "admitted" },
    {
        name: "ALLOW from the importer's principals",
        guardrail: "MT016",
        object: authorizationPolicy("payments", "from-shop", fromPrincipals("cluster.local/ns/shop/sa/web")),
        context: [PAYMENTS_WORKLOAD],
        expect: "admitted",
    },
    {
        name: "DENY naming a foreign namespace (denies, admits nobody)",
        guardrail: "MT016",
        object: authorizationPolicy("shop", "deny-ledger", { action: "DENY", rules: [{ from: [{ source: { namespaces: ["ledger"] } }] }] }),
        context: [SHOP_WORKLOAD],
        expect: "admitted",
    },
    {
        name: "ALLOW from another usergroup's namespace",
        guardrail: "MT016",
        object: authorizationPolicy("shop", "from-analytics", fromNamespaces("analytics")),
        context: [SHOP_WORKLOAD],
        expect: "refused",
        differs: "other-usergroup",
    },
    { name: "ALLOW rule without from", guardrail: "MT016", object: authorizationPolicy("shop", "any", { action: "ALLOW", rules: [{ to: [{ operation: { methods: ["GET"] } }] }] }), context: [SHOP_WORKLOAD], expect: "refused", differs: "no-from" },

    // MT017: workloads in the mesh, inbound traffic on the sidecar.
    { name: "Deployment opting out of injection (label)", guardrail: "MT017", object: deployment("shop", "web", { "sidecar.istio.io/inject": "false" }), expect: "refused" },
    { name: "Pod opting out of injection (annotation)", guardrail: "MT017", object: pod("shop", "web", {}, { "sidecar.istio.io/inject": "false" }), expect: "refused" },
    { name: "Deployment excluding inbound ports from capture", guardrail: "MT017", object: deployment("shop", "web", {}, { "traffic.sidecar.istio.io/excludeInboundPorts": "8080" }), expect: "refused" },
    { name: "Deployment capturing no inbound port", guardrail: "MT017", object: deployment("shop", "web", {}, { "traffic.sidecar.istio.io/includeInboundPorts": "" }), expect: "refused" },
    { name: "Deployment asking for injection", guardrail: "MT017", object: deployment("shop", "web", { "sidecar.istio.io/inject": "true" }), expect: "admitted" },
    { name: "CronJob with an ordinary template", guardrail: "MT017", object: cronJob("shop", "report"), expect: "admitted" },
    {
        name: "Deployment excluding outbound ports from capture",
        guardrail: "MT017",
        object: deployment("shop", "web", {}, { "traffic.sidecar.istio.io/excludeOutboundPorts": "5432" }),
        expect: "refused",
        differs: "outbound",
    },
    // MT025: who may bind routes to a tenant's gateway, and whose routes a tenant's ReferenceGrant lets in.
    { name: "Istio Gateway of its own namespace's hosts", guardrail: "MT025", object: istioGateway("shop", ["./shop.example.com"]), expect: "admitted" },
    { name: "Istio Gateway taking VirtualServices of a namespace the tenant calls", guardrail: "MT025", object: istioGateway("shop", ["payments/pay.example.com"]), expect: "admitted" },
    { name: "Istio Gateway taking VirtualServices of every namespace", guardrail: "MT025", object: istioGateway("shop", ["*/shop.example.com"]), expect: "refused" },
    { name: "Istio Gateway host without namespace", guardrail: "MT025", object: istioGateway("shop", ["shop.example.com"]), expect: "refused" },
    { name: "Istio Gateway taking VirtualServices of a namespace the tenant may not call", guardrail: "MT025", object: istioGateway("shop", ["analytics/shop.example.com"]), expect: "refused" },
    { name: "Gateway API listener with the default allowedRoutes", guardrail: "MT025", object: apiGateway("shop"), expect: "admitted" },
    { name: "Gateway API listener admitting its own namespace", guardrail: "MT025", object: apiGateway("shop", { from: "Same" }), expect: "admitted" },
    { name: "Gateway API listener admitting the whole usergroup", guardrail: "MT025", object: apiGateway("shop", { from: "Selector", selector: { matchLabels: { usergroup: "team-a" } } }), expect: "refused" },
    { name: "Gateway API listener selecting only a namespace the tenant calls", guardrail: "MT025", object: apiGateway("shop", { from: "Selector", selector: { matchLabels: { "mesh-tenancy.io/role": "tenant", usergroup: "team-a" }, matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["payments"] }] } }), expect: "refused", differs: "selector" },
    { name: "Gateway API listener admitting every namespace", guardrail: "MT025", object: apiGateway("shop", { from: "All" }), expect: "refused", differs: "all-namespaces" },
    { name: "ReferenceGrant for routes of a namespace that calls the tenant", guardrail: "MT025", object: referenceGrant("payments", "shop"), expect: "admitted" },
    { name: "ReferenceGrant for routes of a namespace that may not call the tenant", guardrail: "MT025", object: referenceGrant("payments", "ledger"), expect: "refused" },
];

// ---------------------------------------------------------------------------------------------------------------------
// Branches only admission has: operations, subresources, missing fields, who asks, where.

export interface BranchCase {
    name: string;
    request: AdmissionRequest;
    /** Refused by these guardrail ids (and no other), or admitted. */
    refusedBy: string[];
}

/** A tenant namespace the platform labelled into team-a without the guardrails' parameters. */
const UNPARAMETERISED = (() => {
    const ns = structuredClone(plannedNamespace("shop"));
    ns.metadata.name = "hand-made";
    delete ns.metadata.annotations;
    return ns;
})();

const managedConfigMap = object("ConfigMap", "shop", "mesh-settings", { metadata: { labels: { [MANAGED_BY_LABEL]: MANAGED_BY } }, data: { a: "1" } });
const terminatingShop = (() => {
    const ns = structuredClone(plannedNamespace("shop"));
    ns.metadata.deletionTimestamp = "2026-12-04T12:00:00Z";
    return ns;
})();
const plainNamespace = object("Namespace", undefined, "scratch", { metadata: { labels: { team: "x" } } });

export const BRANCH_CASES: ReadonlyArray<BranchCase> = [
    // Who asks.
    { name: "a member of another group named like the operator is not exempt", request: requestFor(peerAuthentication("shop", "weak", { mtls: { mode: "PERMISSIVE" } }), { user: { username: "admin2", groups: ["admin"] } }), refusedBy: ["MT009"] },
    ...(
        [
            ["a Deployment asking for another revision", deployment("shop", "web", { [REVISION_LABEL]: "team-b" }), "MT001"],
            ["a Sidecar importing every namespace", sidecar("shop", "default", { egress: [{ hosts: ["*/*"] }] }), "MT007"],
            ["a VirtualService exported everywhere", virtualService("shop", "web", ["*"]), "MT008"],
            ["an EnvoyFilter", object("EnvoyFilter", "shop", "patch", { spec: { configPatches: [] } }), "MT-A3"],
            ["a ConfigMap that claims to be managed", object("ConfigMap", "shop", "mesh-settings", { metadata: { labels: { [MANAGED_BY_LABEL]: MANAGED_BY } } }), "MT-A1"],
            ["a namespace labelled into a usergroup", object("Namespace", undefined, "sneaky", { metadata: { labels: { usergroup: "team-a" } } }), "MT-A2"],
            ["a PERMISSIVE PeerAuthentication", peerAuthentication("shop", "weak", { mtls: { mode: "PERMISSIVE" } }), "MT009"],
            ["Istio config in a system namespace", peerAuthentication("istio-team-a", "default", { mtls: { mode: "STRICT" } }), "MT-A4"],
            ["a Gateway API listener open to every namespace", apiGateway("shop", { from: "All" }), "MT025"],
        ] as const
    ).flatMap(([what, obj, id]) => [
        { name: `the platform operator may create ${what}`, request: requestFor(obj, { user: OPERATOR }), refusedBy: [] },
        { name: `a member of the platform operators' group may create ${what}`, request: requestFor(obj, { user: OPERATOR_GROUP_MEMBER }), refusedBy: [] },
        { name: `a tenant may not create ${what}`, request: requestFor(obj), refusedBy: [id] },
    ]),
    // What the control plane writes on its own: pods the controllers make from templates judged when written, and the
    // Deployment a usergroup's istiod writes for a Gateway API Gateway (its own istio-proxy, nothing injects it).
    ...(() => {
        const gatewayOwned = (d: Obj) => ({ ...d, metadata: { ...d.metadata, ownerReferences: [{ apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", name: "ingress", uid: "u" }] } });
        const deployedGateway = gatewayOwned(deployment("shop", "ingress-istio", { "sidecar.istio.io/inject": "false" }));
        const istiodA = { username: "system:serviceaccount:istio-team-a:istiod-team-a", groups: ["system:serviceaccounts", "system:authenticated"] };
        const rsController = { username: "system:serviceaccount:kube-system:replicaset-controller", groups: ["system:serviceaccounts", "system:authenticated"] };
        const deploymentController = { username: "system:serviceaccount:kube-system:deployment-controller", groups: ["system:serviceaccounts", "system:authenticated"] };
        const gatewayReplicaSet = object("ReplicaSet", "shop", "ingress-istio-7d9f", { spec: { selector: { matchLabels: { app: "web" } }, template: (deployedGateway as Obj).spec.template } });
        const outOfMesh = pod("shop", "web-1", { "sidecar.istio.io/inject": "false" });
        return [
            { name: "istiod of the usergroup may write the Deployment of a Gateway API Gateway it reconciles", request: requestFor(deployedGateway, { user: istiodA }), refusedBy: [] },
            { name: "a tenant may not write a Deployment out of the mesh, even one claiming a Gateway as owner", request: requestFor(deployedGateway), refusedBy: ["MT017"] },
            { name: "istiod may not write a Deployment out of the mesh that no Gateway owns", request: requestFor(deployment("shop", "web", { "sidecar.istio.io/inject": "false" }), { user: istiodA }), refusedBy: ["MT017"] },
            { name: "the ReplicaSet controller may make the pods of a judged template", request: requestFor(outOfMesh, { user: rsController }), refusedBy: [] },
            { name: "the Deployment controller may make the ReplicaSet of istiod's gateway Deployment", request: requestFor(gatewayReplicaSet, { user: deploymentController }), refusedBy: [] },
            { name: "a tenant may not write that ReplicaSet", request: requestFor(gatewayReplicaSet), refusedBy: ["MT017"] },
            { name: "a tenant may not create a pod out of the mesh", request: requestFor(outOfMesh), refusedBy: ["MT017"] },
        ];
    })(),
    // Operations the policies do not match.
    { name: "deleting a PERMISSIVE PeerAuthentication", request: requestFor(peerAuthentication("shop", "weak", { mtls: { mode: "PERMISSIVE" } }), { operation: "DELETE" }), refusedBy: [] },
    { name: "deleting a Deployment with a foreign revision", request: requestFor(deployment("shop", "web", { [REVISION_LABEL]: "team-b" }), { operation: "DELETE" }), refusedBy: [] },
    // Updates are judged on the new object.
    {
        name: "updating a STRICT PeerAuthentication to PERMISSIVE",
        request: requestFor(peerAuthentication("shop", "p", { mtls: { mode: "PERMISSIVE" } }), { oldObject: peerAuthentication("shop", "p", { mtls: { mode: "STRICT" } }) }),
        refusedBy: ["MT009"],
    },
    {
        name: "updating a PERMISSIVE PeerAuthentication to STRICT",
        request: requestFor(peerAuthentication("shop", "p", { mtls: { mode: "STRICT" } }), { oldObject: peerAuthentication("shop", "p", { mtls: { mode: "PERMISSIVE" } }) }),
        refusedBy: [],
    },
    // Subresources are other resources to the rules: a status write is not a pod write.
    { name: "a pod's status update (subresource)", request: requestFor(pod("shop", "web", { [REVISION_LABEL]: "team-b" }), { oldObject: pod("shop", "web", { [REVISION_LABEL]: "team-b" }), subResource: "status" }), refusedBy: [] },
    // Missing fields.
    { name: "a Sidecar without spec", request: requestFor(sidecar("shop", "default", undefined)), refusedBy: ["MT007"] },
    { name: "a Sidecar without spec under another name", request: requestFor(sidecar("shop", "bare", undefined)), refusedBy: ["MT007", "MT005"] },
    { name: "a PeerAuthentication without spec", request: requestFor(object("PeerAuthentication", "shop", "bare")), refusedBy: [] },
    { name: "an AuthorizationPolicy without spec (ALLOW nothing)", request: requestFor(object("AuthorizationPolicy", "shop", "bare")), refusedBy: [] },
    { name: "a DestinationRule without spec", request: requestFor(object("DestinationRule", "shop", "bare")), refusedBy: [] },
    { name: "a Deployment without template metadata", request: requestFor(object("Deployment", "shop", "bare", { spec: { selector: { matchLabels: { app: "x" } }, template: { spec: { containers: [] } } } })), refusedBy: [] },
    { name: "a Pod without labels or annotations", request: requestFor(object("Pod", "shop", "bare", { spec: { containers: [] } })), refusedBy: [] },
    // A namespace without the parameters refuses every guarded change (fail closed), and only those.
    { name: "a VirtualService in a namespace without parameters", request: requestFor(virtualService("hand-made", "web", ["."]), { namespaceObject: UNPARAMETERISED }), refusedBy: ["MT-A5"] },
    ...(
        [
            ["a Deployment", deployment("hand-made", "web")],
            ["a Sidecar", sidecar("hand-made", "default", { egress: [{ hosts: ["./*"] }] })],
            ["a PeerAuthentication", peerAuthentication("hand-made", "p", { mtls: { mode: "STRICT" } })],
            ["a Telemetry", object("Telemetry", "hand-made", "t", { spec: {} })],
            ["a Gateway API Gateway", apiGateway("hand-made")],
        ] as const
    ).map(([what, obj]) => ({ name: `${what} in a namespace without parameters`, request: requestFor(obj, { namespaceObject: UNPARAMETERISED }), refusedBy: ["MT-A5"] })),
    {
        name: "a VirtualService in a namespace with some parameters missing",
        request: requestFor(virtualService("half-made", "web", ["."]), {
            namespaceObject: (() => {
                const ns = structuredClone(plannedNamespace("shop"));
                ns.metadata.name = "half-made";
                delete ns.metadata.annotations["guardrails.mesh-tenancy.io/export-peers"];
                return ns;
            })(),
        }),
        refusedBy: ["MT-A5"],
    },
    { name: "a ConfigMap in a namespace without parameters", request: requestFor(object("ConfigMap", "hand-made", "settings", { data: {} }), { namespaceObject: UNPARAMETERISED }), refusedBy: [] },
    // Istio config labelled with another revision; proxy patches; the system namespace.
    { name: "a VirtualService labelled with another revision", request: requestFor(object("VirtualService", "shop", "web", { metadata: { labels: { [REVISION_LABEL]: "team-b" } }, spec: { hosts: ["web"] } })), refusedBy: ["MT001"] },
    { name: "a Telemetry labelled with its own revision", request: requestFor(object("Telemetry", "shop", "t", { metadata: { labels: { [REVISION_LABEL]: "team-a" } }, spec: {} })), refusedBy: [] },
    { name: "an EnvoyFilter in a tenant namespace", request: requestFor(object("EnvoyFilter", "shop", "patch", { spec: { configPatches: [] } })), refusedBy: ["MT-A3"] },
    { name: "a WasmPlugin in a tenant namespace", request: requestFor(object("WasmPlugin", "shop", "ext", { spec: { url: "oci://registry.example/x" } })), refusedBy: ["MT-A3"] },
    { name: "an AuthorizationPolicy in a system namespace", request: requestFor(authorizationPolicy("istio-team-a", "open", fromNamespaces("shop"))), refusedBy: ["MT-A4"] },
    { name: "deleting Istio config in a system namespace", request: requestFor(peerAuthentication("istio-team-a", "default", { mtls: { mode: "STRICT" } }), { operation: "DELETE" }), refusedBy: ["MT-A4"] },
    // The plan's own objects.
    { name: "changing a managed ConfigMap", request: requestFor({ ...managedConfigMap, data: { a: "2" } }, { oldObject: managedConfigMap }), refusedBy: ["MT-A1"] },
    { name: "deleting a managed ConfigMap", request: requestFor(managedConfigMap, { operation: "DELETE" }), refusedBy: ["MT-A1"] },
    { name: "removing the managed-by label from a managed ConfigMap", request: requestFor(object("ConfigMap", "shop", "mesh-settings", { data: { a: "1" } }), { oldObject: managedConfigMap }), refusedBy: ["MT-A1"] },
    { name: "creating a ConfigMap that claims to be managed", request: requestFor(managedConfigMap), refusedBy: ["MT-A1"] },
    { name: "the namespace controller deletes a managed object of a terminating namespace", request: requestFor(managedConfigMap, { operation: "DELETE", namespaceObject: terminatingShop }), refusedBy: [] },
    { name: "an ordinary ConfigMap", request: requestFor(object("ConfigMap", "shop", "settings", { data: { a: "1" } })), refusedBy: [] },
    // Namespace labels and parameters.
    { name: "creating a namespace labelled into a usergroup", request: requestFor(object("Namespace", undefined, "sneaky", { metadata: { labels: { usergroup: "team-a", [REVISION_LABEL]: "team-a" } } })), refusedBy: ["MT-A2"] },
    { name: "creating a namespace carrying guardrail parameters", request: requestFor(object("Namespace", undefined, "sneaky", { metadata: { annotations: { "guardrails.mesh-tenancy.io/revisions": "team-a" } } })), refusedBy: ["MT-A2"] },
    { name: "creating an ordinary namespace", request: requestFor(plainNamespace), refusedBy: [] },
    {
        name: "widening a tenant namespace's importable namespaces",
        request: requestFor(
            (() => {
                const ns = structuredClone(plannedNamespace("payments"));
                ns.metadata.annotations["guardrails.mesh-tenancy.io/importable-namespaces"] += ",ledger";
                return ns;
            })(),
            { oldObject: plannedNamespace("payments") },
        ),
        refusedBy: ["MT-A2"],
    },
    {
        name: "dropping a tenant namespace's istio.io/rev label",
        request: requestFor(
            (() => {
                const ns = structuredClone(plannedNamespace("payments"));
                delete ns.metadata.labels[REVISION_LABEL];
                return ns;
            })(),
            { oldObject: plannedNamespace("payments") },
        ),
        refusedBy: ["MT-A2"],
    },
    // Large objects a tenant may legitimately write: judged on their content, within the API server's runtime cost
    // limits (an evaluation stopped for cost refuses the request, failurePolicy being Fail).
    {
        name: "a Sidecar with 2,000 importable egress hosts",
        request: requestFor(sidecar("shop", "default", { egress: Array.from({ length: 20 }, (_, i) => ({ port: { number: 8000 + i, protocol: "HTTP", name: `p${i}` }, hosts: Array.from({ length: 100 }, (__, j) => `payments/svc-${j}.payments.svc.cluster.local`) })) })),
        refusedBy: [],
    },
    {
        name: "an ALLOW AuthorizationPolicy with 200 rules of 5 admitted principals",
        request: requestFor(authorizationPolicy("payments", "many", { action: "ALLOW", rules: Array.from({ length: 200 }, (_, i) => ({ from: [{ source: { principals: Array.from({ length: 5 }, (__, j) => `cluster.local/ns/shop/sa/sa-${i}-${j}`) } }] })) })),
        refusedBy: [],
    },
    {
        name: "a Deployment with 500 labels and 500 annotations on its pods",
        request: requestFor(deployment("shop", "web", Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`example.com/l${i}`, "x"])), Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`example.com/a${i}`, "y".repeat(100)])))),
        refusedBy: [],
    },
    {
        name: "a VirtualService exported to its peers 300 times over",
        request: requestFor(virtualService("shop", "web", Array.from({ length: 300 }, (_, i) => ["payments", "common-a", "ledger"][i % 3]))),
        refusedBy: [],
    },
    {
        name: "adding an ordinary label to a tenant namespace",
        request: requestFor(
            (() => {
                const ns = structuredClone(plannedNamespace("payments"));
                ns.metadata.labels.cost = "team-payments";
                return ns;
            })(),
            { oldObject: plannedNamespace("payments") },
        ),
        refusedBy: [],
    },
];
