import type { GuardrailMode, MeshTenancyConfig, PlatformOperators } from "../model/config";
import { INJECTION_LABEL, MANAGED_BY, MANAGED_BY_LABEL, REVISION_LABEL, ROLE_LABEL, SERVICE_EXPORT_TO_ANNOTATION, USERGROUP_LABEL } from "../policy/semantics/labels";
import { managedLabels, PlannedObject } from "./objects";

/**
 * Admission guardrails: ValidatingAdmissionPolicies that hold everyone but the platform operators to the plan inside
 * the API server, whatever client they use (kubectl, Helm, GitOps controllers). Everything here is computed from the
 * plan; the component only registers it.
 *
 * Each policy is generic; what differs per namespace (its revision, the namespaces it may import, who it admits) is in
 * annotations of the Namespace itself, which CEL reads as `namespaceObject`. The bindings select namespaces by their
 * role label, and a selected namespace without the annotations refuses every request (fail closed).
 *
 * Why not a parameter object (`paramKind`): the API server keeps one informer per core parameter kind and stops it for
 * good, until it restarts, the first time no binding names that kind (kubernetes/kubernetes#130887). Uninstalling and
 * installing the stack again, or turning the guardrails off and on, then leaves every binding without parameters
 * ("no params found for policy binding") or with stale ones. Namespaces are always watched; their annotations are read
 * from the same object the bindings already select on.
 */

/** Prefix of the Namespace annotations that carry its guardrail parameters; only the platform operators may set them (MT102). */
export const GUARDRAIL_ANNOTATION_PREFIX = "guardrails.mesh-tenancy.io/";

/** The annotation of each parameter. */
export const GUARDRAIL_PARAM_ANNOTATIONS: Readonly<Record<keyof GuardrailParams, string>> = {
    revisions: `${GUARDRAIL_ANNOTATION_PREFIX}revisions`,
    importableNamespaces: `${GUARDRAIL_ANNOTATION_PREFIX}importable-namespaces`,
    exportPeers: `${GUARDRAIL_ANNOTATION_PREFIX}export-peers`,
    admittedNamespaces: `${GUARDRAIL_ANNOTATION_PREFIX}admitted-namespaces`,
    trustDomain: `${GUARDRAIL_ANNOTATION_PREFIX}trust-domain`,
};

/** ClusterRole with the Istio and Gateway API kinds a tenant owner manages; bound per tenant namespace. */
export const TENANT_ISTIO_ROLE = "mesh-tenancy-tenant-istio";

/** Whether a guardrail mirrors a policy-pack rule (same id) or exists only at admission. */
export interface GuardrailInfo {
    /** `MT0NN`: the pack rule it mirrors; `MT1NN`: admission only (who makes a change, which a preview cannot see). */
    id: string;
    name: string;
    /** What it refuses, in one line. */
    refuses: string;
    /** Namespaces it applies to. */
    scope: GuardrailScope;
}

/** `tenant`: tenant and shared namespaces (with parameters); `system`: system namespaces; `managed`: all three; `cluster`: Namespace objects. */
export type GuardrailScope = "tenant" | "system" | "managed" | "cluster";

/**
 * Every guardrail, in id order. The ids below 100 are the pack's; the rest have no preview rule because what they guard
 * is who makes a change (a stack only holds the platform's own changes).
 */
export const GUARDRAILS: ReadonlyArray<GuardrailInfo> = [
    { id: "MT001", name: "revision-label-without-injection-label", scope: "tenant", refuses: "a pod, pod template or Istio config object labelled istio.io/rev with another revision than its namespace's" },
    { id: "MT005", name: "one-default-sidecar-per-namespace", scope: "tenant", refuses: "a Sidecar without workloadSelector other than the namespace's `default` one" },
    { id: "MT007", name: "sidecar-hosts-within-usergroup", scope: "tenant", refuses: "Sidecar egress hosts outside the namespace's allowed imports, and Sidecars without egress (they import everything)" },
    { id: "MT008", name: "export-within-usergroup", scope: "tenant", refuses: "exportTo (VirtualService, DestinationRule, ServiceEntry, Service annotation) naming `*` or a namespace that is not a peer" },
    { id: "MT009", name: "strict-mtls", scope: "tenant", refuses: "PeerAuthentication PERMISSIVE or DISABLE, DestinationRule TLS mode DISABLE" },
    { id: "MT016", name: "admission-follows-imports", scope: "tenant", refuses: "an ALLOW AuthorizationPolicy whose rules admit sources outside the namespace's admitted namespaces (itself, its importers, its system namespace)" },
    { id: "MT017", name: "workloads-meshed-and-authorized", scope: "tenant", refuses: "pods and pod templates with sidecar.istio.io/inject \"false\" or traffic.sidecar.istio.io/* capture settings" },
    { id: "MT101", name: "managed-objects-platform-only", scope: "managed", refuses: "creating, changing or deleting objects labelled app.kubernetes.io/managed-by=mesh-tenancy (the plan's Sidecars, policies, parameters)" },
    { id: "MT102", name: "tenancy-labels-platform-only", scope: "cluster", refuses: "setting or changing a namespace's usergroup, istio.io/rev, istio-injection or mesh-tenancy.io/role label, or its guardrails.mesh-tenancy.io/* annotations (the guardrails' parameters)" },
    { id: "MT103", name: "no-proxy-patches-from-tenants", scope: "tenant", refuses: "EnvoyFilter and WasmPlugin objects" },
    { id: "MT104", name: "system-namespaces-platform-only", scope: "system", refuses: "any Istio config in a revision's system namespace" },
    { id: "MT105", name: "parameters-present", scope: "tenant", refuses: "every guarded change in a tenant or shared namespace whose guardrails.mesh-tenancy.io/* annotations are missing (fail closed)" },
];

export interface GuardrailsPlan {
    mode: GuardrailMode;
    /**
     * Protected with the namespaces (`protectNamespaces`): while a protected namespace stays, the guardrails holding it
     * stay too, so a refused destroy or removal leaves no namespace without them.
     */
    protect: boolean;
    /** Identities exempt from every guardrail. */
    platformOperators: PlatformOperators;
    /** The tenant owners' Istio role (a ClusterRole, bound only by RoleBindings in tenant namespaces). */
    tenantRole?: PlannedObject;
    /** ValidatingAdmissionPolicies, then their bindings; empty when the guardrails are off. */
    policies: PlannedObject[];
    bindings: PlannedObject[];
}

/** What one tenant or shared namespace's guardrails compare against; the values of its annotations. */
export interface GuardrailParams {
    /** The namespace's revision and the tags pointing at it: the only `istio.io/rev` values allowed in it. */
    revisions: string[];
    /** Namespaces a Sidecar here may import: itself, its system namespace, what the plan lets it import. */
    importableNamespaces: string[];
    /** Namespaces exportTo may name besides `.` and `~`: the peers that import it or that it imports. */
    exportPeers: string[];
    /** Namespaces whose workloads an ALLOW policy here may admit: itself, the namespaces importing it, its system namespace. */
    admittedNamespaces: string[];
    /** For principals: `<trustDomain>/ns/<namespace>/sa/...`. */
    trustDomain: string;
}

/** The plan facts one namespace's parameters come from. */
export interface NamespaceFacts {
    name: string;
    /** The `istio.io/rev` values that select the namespace's revision: its name and the tags pointing at it. */
    revisions: string[];
    systemNamespace: string;
    imports: string[];
    allowedSources: string[];
}

export function guardrailParams(ns: NamespaceFacts, trustDomain: string): GuardrailParams {
    const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
    return {
        // A pod may name any of them and is still injected by the namespace's control plane (what MT001 allows too).
        revisions: sorted(ns.revisions),
        importableNamespaces: sorted([ns.name, ns.systemNamespace, ...ns.imports]),
        exportPeers: sorted([...ns.imports, ...ns.allowedSources].filter((n) => n !== ns.name)),
        // The plan's NetworkPolicies admit the system namespace too (gateways and istiod live there), as the pack's MT016 does.
        admittedNamespaces: sorted([...ns.allowedSources, ns.systemNamespace]),
        trustDomain,
    };
}

/** Annotation values are strings: lists are comma-separated, which CEL splits back. */
export function guardrailAnnotations(params: GuardrailParams): Record<string, string> {
    const value = (v: string | string[]) => (typeof v === "string" ? v : v.join(","));
    return Object.fromEntries(Object.entries(GUARDRAIL_PARAM_ANNOTATIONS).map(([field, key]) => [key, value(params[field as keyof GuardrailParams])]));
}

/** The guardrail ids that hold in a namespace of the given role; none when the guardrails are off. */
export function guardrailsFor(mode: GuardrailMode, role: "tenant" | "shared" | "system"): GuardrailInfo[] {
    if (mode === "off") return [];
    return GUARDRAILS.filter((g) => g.scope === "cluster" || g.scope === "managed" || (g.scope === "system" ? role === "system" : role !== "system"));
}

/** Per managed namespace (tenant, shared, system), the ids of the guardrails that hold in it. */
export function guardrailsByNamespace(plan: { guardrails: GuardrailsPlan; namespaces: { name: string; role: "tenant" | "shared" }[]; controlPlanes: { systemNamespace: string }[] }): Map<string, string[]> {
    const ids = (role: "tenant" | "shared" | "system") => guardrailsFor(plan.guardrails.mode, role).map((g) => g.id);
    return new Map([
        ...plan.controlPlanes.map((cp) => [cp.systemNamespace, ids("system")] as const),
        ...plan.namespaces.map((ns) => [ns.name, ids(ns.role)] as const),
    ]);
}

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
function tenantRole(): PlannedObject {
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

// ---------------------------------------------------------------------------------------------------------------------
// The policies. CEL reads `object` (the request's object), `oldObject`, `params` (the namespace's ConfigMap),
// `namespaceObject` and `request`; `variables.x` are the named expressions each policy declares first.

const ISTIO_GROUPS = ["networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"];
const WORKLOAD_RULES = [
    { apiGroups: [""], resources: ["pods", "replicationcontrollers"] },
    { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets", "replicasets"] },
    { apiGroups: ["batch"], resources: ["jobs", "cronjobs"] },
];

interface Validation {
    /** Pack id the validation mirrors; the message starts with it. */
    id: string;
    expression: string;
    /** Built from the request and the parameters, so the message names the field, the bad values and the allowed ones. */
    messageExpression: string;
}

interface PolicySpec {
    /** Policy name without the `mesh-tenancy-` prefix. */
    name: string;
    scope: GuardrailScope;
    operations: string[];
    rules: { apiGroups: string[]; resources: string[] }[];
    variables: { name: string; expression: string }[];
    validations: Validation[];
}

/** A CEL string literal. */
function cel(value: string): string {
    return JSON.stringify(value);
}

function celList(values: string[]): string {
    return `[${values.map(cel).join(", ")}]`;
}

/** A parameter list from the namespace's annotations (`variables.params`), dropping the empty string that splitting "" yields. */
function paramList(field: keyof GuardrailParams): string {
    const key = cel(GUARDRAIL_PARAM_ANNOTATIONS[field]);
    return `(${key} in variables.params ? variables.params[${key}].split(',').filter(n, n != '') : [])`;
}

/** A single-valued parameter, or '' (MT105 refuses the request when it is missing). */
function paramValue(field: keyof GuardrailParams): string {
    const key = cel(GUARDRAIL_PARAM_ANNOTATIONS[field]);
    return `(${key} in variables.params ? variables.params[${key}] : '')`;
}

/** The labels of a metadata expression, or an empty map. */
function labelsOf(meta: string): string {
    return `(has(${meta}.labels) ? ${meta}.labels : {})`;
}

function annotationsOf(meta: string): string {
    return `(has(${meta}.annotations) ? ${meta}.annotations : {})`;
}

const sidecars: PolicySpec = {
    name: "sidecars",
    scope: "tenant",
    operations: ["CREATE", "UPDATE"],
    rules: [{ apiGroups: ["networking.istio.io"], resources: ["sidecars"] }],
    variables: [
        // `.` is the Sidecar's own namespace and `~` imports nothing; everything else must be a namespace the plan lets
        // this one import. The namespace is what precedes the first `/` of `namespace/dnsName`.
        { name: "importable", expression: `['.', '~'] + ${paramList("importableNamespaces")}` },
        // Istio's schemas (and the stand-in CRDs) leave spec optional.
        { name: "spec", expression: "has(object.spec) ? object.spec : {}" },
        { name: "egress", expression: "has(variables.spec.egress) ? variables.spec.egress : []" },
        {
            name: "foreignHosts",
            expression: "variables.egress.map(e, has(e.hosts) ? e.hosts.filter(h, !(h.split('/')[0] in variables.importable)) : []).map(l, l.join(', ')).filter(s, s != '')",
        },
    ],
    validations: [
        {
            // A Sidecar without egress listeners imports every namespace its revision discovers, whatever the root Sidecar
            // says (measured on istiod; istio/istio#59376).
            id: "MT007",
            expression: "size(variables.egress) > 0",
            messageExpression: `'[MT007] spec.egress: a Sidecar without egress imports every namespace of the usergroup; list egress hosts, allowed namespaces: ' + variables.importable.join(', ')`,
        },
        {
            id: "MT007",
            expression: "size(variables.foreignHosts) == 0",
            messageExpression: `'[MT007] spec.egress[].hosts: ' + variables.foreignHosts.join(', ') + ' name namespaces ' + object.metadata.namespace + ' may not import; allowed namespaces: ' + variables.importable.join(', ')`,
        },
        {
            // Names are unique per namespace, so allowing the selector-less Sidecar only under the plan's name `default`
            // is how one object's admission keeps a namespace at one default Sidecar (CEL cannot list the others).
            id: "MT005",
            expression: "object.metadata.name == 'default' || (has(variables.spec.workloadSelector) && has(variables.spec.workloadSelector.labels) && size(variables.spec.workloadSelector.labels) > 0)",
            messageExpression: `'[MT005] spec.workloadSelector: ' + object.metadata.name + ' has none, so it would be a second Sidecar for every pod of ' + object.metadata.namespace + ' (only the one named default may); allowed: a Sidecar with spec.workloadSelector.labels'`,
        },
    ],
};

const exportTo: PolicySpec = {
    name: "export",
    scope: "tenant",
    operations: ["CREATE", "UPDATE"],
    rules: [
        { apiGroups: ["networking.istio.io"], resources: ["virtualservices", "destinationrules", "serviceentries"] },
        { apiGroups: [""], resources: ["services"] },
    ],
    variables: [
        // `.` keeps the object private, `~` hides it; `*` and any namespace that is neither imported by this one nor
        // importing it would publish it where the plan does not reach.
        { name: "allowed", expression: `['.', '~'] + ${paramList("exportPeers")}` },
        // Istio's schemas (and the stand-in CRDs) leave spec optional.
        { name: "spec", expression: "has(object.spec) ? object.spec : {}" },

        {
            // The object field for Istio kinds, the comma-separated annotation for Services.
            name: "targets",
            expression: `object.kind == 'Service' ? (${cel(SERVICE_EXPORT_TO_ANNOTATION)} in ${annotationsOf("object.metadata")} ? object.metadata.annotations[${cel(SERVICE_EXPORT_TO_ANNOTATION)}].split(',').map(t, t.trim()) : []) : (has(variables.spec.exportTo) ? variables.spec.exportTo : [])`,
        },
        { name: "field", expression: `object.kind == 'Service' ? ${cel(`metadata.annotations[${SERVICE_EXPORT_TO_ANNOTATION}]`)} : 'spec.exportTo'` },
        { name: "outside", expression: "variables.targets.filter(t, !(t in variables.allowed))" },
        {
            // Every TLS setting of a DestinationRule: its traffic policy and each subset's, with their port-level ones.
            name: "trafficPolicies",
            expression: "object.kind != 'DestinationRule' ? [] : (has(variables.spec.trafficPolicy) ? [variables.spec.trafficPolicy] : []) + (has(variables.spec.subsets) ? variables.spec.subsets.filter(s, has(s.trafficPolicy)).map(s, s.trafficPolicy) : [])",
        },
    ],
    validations: [
        {
            id: "MT008",
            expression: "size(variables.outside) == 0",
            messageExpression: `'[MT008] ' + variables.field + ': ' + variables.outside.join(', ') + ' not among the peers of ' + object.metadata.namespace + '; allowed: ' + variables.allowed.join(', ')`,
        },
        {
            id: "MT009",
            expression:
                "!variables.trafficPolicies.exists(p, (has(p.tls) && has(p.tls.mode) && p.tls.mode == 'DISABLE') || (has(p.portLevelSettings) && p.portLevelSettings.exists(s, has(s.tls) && has(s.tls.mode) && s.tls.mode == 'DISABLE')))",
            messageExpression: `'[MT009] spec.trafficPolicy (or subsets[].trafficPolicy, portLevelSettings[]) tls.mode: DISABLE sends plaintext; allowed: ISTIO_MUTUAL, SIMPLE, MUTUAL or unset'`,
        },
    ],
};

const security: PolicySpec = {
    name: "security",
    scope: "tenant",
    operations: ["CREATE", "UPDATE"],
    rules: [{ apiGroups: ["security.istio.io"], resources: ["authorizationpolicies", "peerauthentications"] }],
    variables: [
        { name: "admitted", expression: paramList("admittedNamespaces") },
        // Istio's schemas (and the stand-in CRDs) leave spec optional.
        { name: "spec", expression: "has(object.spec) ? object.spec : {}" },

        // Istio matches principals by exact value, prefix or suffix with `*`: a principal pins one namespace only when it
        // starts with the whole `<trust domain>/ns/<namespace>/sa/` of an admitted namespace.
        { name: "principalPrefixes", expression: `variables.admitted.map(n, ${paramValue("trustDomain")} + '/ns/' + n + '/sa/')` },
        { name: "isAllow", expression: "object.kind == 'AuthorizationPolicy' && (!has(variables.spec.action) || variables.spec.action == 'ALLOW')" },
        {
            // A source is admitted when it names principals or namespaces (AND-ed with anything else it says, which only
            // narrows it) and all of them are admitted; namespaces are matched exactly, since `*` patterns widen them.
            name: "rulesAdmittingOthers",
            expression: `!variables.isAllow || !has(variables.spec.rules) ? [] : variables.spec.rules.filter(r, !has(r.from) || size(r.from) == 0 || r.from.exists(f, !has(f.source) ||
    !((has(f.source.principals) && size(f.source.principals) > 0 && f.source.principals.all(p, variables.principalPrefixes.exists(pre, p.startsWith(pre)))) ||
      (has(f.source.namespaces) && size(f.source.namespaces) > 0 && f.source.namespaces.all(n, n in variables.admitted)))))`,
        },
        {
            name: "weakModes",
            expression: "object.kind != 'PeerAuthentication' ? [] : ((has(variables.spec.mtls) && has(variables.spec.mtls.mode) ? [variables.spec.mtls.mode] : []) + (has(variables.spec.portLevelMtls) ? variables.spec.portLevelMtls.map(port, has(variables.spec.portLevelMtls[port].mode) ? variables.spec.portLevelMtls[port].mode : '') : [])).filter(m, m in ['PERMISSIVE', 'DISABLE'])",
        },
    ],
    validations: [
        {
            id: "MT016",
            expression: "size(variables.rulesAdmittingOthers) == 0",
            messageExpression: `'[MT016] spec.rules[].from[].source: ' + string(size(variables.rulesAdmittingOthers)) + ' ALLOW rule(s) admit sources outside what ' + object.metadata.namespace + ' admits (a rule without from, ipBlocks alone or a pattern admits more); allowed: principals ' + ${paramValue("trustDomain")} + '/ns/<namespace>/sa/... or namespaces, for the namespaces ' + variables.admitted.join(', ')`,
        },
        {
            id: "MT009",
            expression: "size(variables.weakModes) == 0",
            messageExpression: `'[MT009] spec.mtls.mode / spec.portLevelMtls: ' + variables.weakModes.join(', ') + ' accepts plaintext; allowed: STRICT, UNSET'`,
        },
    ],
};

const workloads: PolicySpec = {
    name: "workloads",
    scope: "tenant",
    operations: ["CREATE", "UPDATE"],
    rules: WORKLOAD_RULES,
    variables: [
        // The pod's metadata: the Pod's own, or its template's (a CronJob's is one level deeper).
        {
            name: "podMeta",
            expression:
                "object.kind == 'Pod' ? object.metadata : object.kind == 'CronJob' ? (has(object.spec.jobTemplate.spec.template.metadata) ? object.spec.jobTemplate.spec.template.metadata : {}) : (has(object.spec.template.metadata) ? object.spec.template.metadata : {})",
        },
        { name: "labels", expression: labelsOf("variables.podMeta") },
        { name: "annotations", expression: annotationsOf("variables.podMeta") },
        { name: "field", expression: "object.kind == 'Pod' ? 'metadata' : object.kind == 'CronJob' ? 'spec.jobTemplate.spec.template.metadata' : 'spec.template.metadata'" },
        { name: "revisions", expression: paramList("revisions") },
        // Capture settings: whatever the sidecar does not capture bypasses mutual TLS and AuthorizationPolicy.
        { name: "captureAnnotations", expression: "variables.annotations.filter(k, k.startsWith('traffic.sidecar.istio.io/'))" },
    ],
    validations: [
        {
            // A pod revision other than its namespace's joins another usergroup's control plane.
            id: "MT001",
            expression: `!(${cel(REVISION_LABEL)} in variables.labels) || variables.labels[${cel(REVISION_LABEL)}] in variables.revisions`,
            messageExpression: `'[MT001] ' + variables.field + '.labels[${REVISION_LABEL}]: ' + variables.labels[${cel(REVISION_LABEL)}] + ' is not the revision of ' + object.metadata.namespace + '; allowed: ' + variables.revisions.join(', ') + ' or no label'`,
        },
        {
            // Both the label (current) and the annotation (older releases) turn injection off for the pod.
            id: "MT017",
            expression: "!(('sidecar.istio.io/inject' in variables.labels && variables.labels['sidecar.istio.io/inject'] == 'false') || ('sidecar.istio.io/inject' in variables.annotations && variables.annotations['sidecar.istio.io/inject'] == 'false'))",
            messageExpression: `'[MT017] ' + variables.field + ' sidecar.istio.io/inject: \"false\" takes the pod out of the mesh of ' + object.metadata.namespace + '; allowed: \"true\" or unset'`,
        },
        {
            id: "MT017",
            expression: "size(variables.captureAnnotations) == 0",
            messageExpression: `'[MT017] ' + variables.field + '.annotations: ' + variables.captureAnnotations.join(', ') + ' let traffic bypass the sidecar; allowed: none of traffic.sidecar.istio.io/*'`,
        },
    ],
};

const istioConfigRevision: PolicySpec = {
    name: "istio-config",
    scope: "tenant",
    operations: ["CREATE", "UPDATE"],
    rules: [{ apiGroups: ISTIO_GROUPS, resources: ["*"] }],
    variables: [
        { name: "labels", expression: labelsOf("object.metadata") },
        { name: "revisions", expression: paramList("revisions") },
    ],
    validations: [
        {
            // Istio config labelled with another revision is ignored by the namespace's own istiod.
            id: "MT001",
            expression: `!(${cel(REVISION_LABEL)} in variables.labels) || variables.labels[${cel(REVISION_LABEL)}] in variables.revisions`,
            messageExpression: `'[MT001] metadata.labels[${REVISION_LABEL}]: ' + variables.labels[${cel(REVISION_LABEL)}] + ' is not the revision of ' + object.metadata.namespace + '; allowed: ' + variables.revisions.join(', ') + ' or no label'`,
        },
        {
            id: "MT103",
            expression: "!(object.kind in ['EnvoyFilter', 'WasmPlugin'])",
            messageExpression: `'[MT103] kind: ' + object.kind + ' patches or extends the proxy and can remove the filters that enforce isolation; allowed kinds: VirtualService, DestinationRule, ServiceEntry, Sidecar, AuthorizationPolicy, RequestAuthentication, Telemetry'`,
        },
    ],
};

const MANAGED_NAMESPACED_RULES = [
    { apiGroups: [""], resources: ["configmaps", "resourcequotas"] },
    { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"] },
    { apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings", "roles"] },
    { apiGroups: ISTIO_GROUPS, resources: ["*"] },
];

const managedObjects: PolicySpec = {
    name: "managed-objects",
    scope: "managed",
    operations: ["CREATE", "UPDATE", "DELETE"],
    rules: MANAGED_NAMESPACED_RULES,
    variables: [
        { name: "managedNow", expression: `object != null && ${cel(MANAGED_BY_LABEL)} in ${labelsOf("object.metadata")} && object.metadata.labels[${cel(MANAGED_BY_LABEL)}] == ${cel(MANAGED_BY)}` },
        { name: "managedBefore", expression: `oldObject != null && ${cel(MANAGED_BY_LABEL)} in ${labelsOf("oldObject.metadata")} && oldObject.metadata.labels[${cel(MANAGED_BY_LABEL)}] == ${cel(MANAGED_BY)}` },
        // Deleting a namespace deletes its contents as the namespace controller: that must go through.
        { name: "namespaceTerminating", expression: "request.operation == 'DELETE' && has(namespaceObject.metadata.deletionTimestamp)" },
    ],
    validations: [
        {
            id: "MT101",
            expression: "variables.namespaceTerminating || !(variables.managedNow || variables.managedBefore)",
            messageExpression: `'[MT101] metadata.labels[${MANAGED_BY_LABEL}]: ' + (object != null ? object.kind : oldObject.kind) + ' ' + (object != null ? object.metadata.name : oldObject.metadata.name) + ' belongs to the plan; only the platform operators may ' + request.operation.lowerAscii() + ' it; allowed: objects without this label'`,
        },
    ],
};

const TENANCY_LABELS = [USERGROUP_LABEL, REVISION_LABEL, INJECTION_LABEL, ROLE_LABEL];

const namespaceLabels: PolicySpec = {
    name: "namespace-labels",
    scope: "cluster",
    operations: ["CREATE", "UPDATE"],
    rules: [{ apiGroups: [""], resources: ["namespaces"] }],
    variables: [
        // These labels decide which revision discovers a namespace, which injector its pods use, and how the pack and
        // the guardrails treat it: a namespace labelled into a usergroup joins its mesh.
        { name: "tenancyLabels", expression: celList(TENANCY_LABELS) },
        { name: "newLabels", expression: labelsOf("object.metadata") },
        { name: "oldLabels", expression: `oldObject == null ? {} : ${labelsOf("oldObject.metadata")}` },
        {
            name: "changed",
            expression: "variables.tenancyLabels.filter(k, (k in variables.newLabels) != (k in variables.oldLabels) || (k in variables.newLabels && variables.newLabels[k] != variables.oldLabels[k]))",
        },
        // The guardrails' own parameters: whoever could rewrite them would widen what the guardrails admit.
        { name: "newAnnotations", expression: annotationsOf("object.metadata") },
        { name: "oldAnnotations", expression: `oldObject == null ? {} : ${annotationsOf("oldObject.metadata")}` },
        {
            name: "changedParams",
            expression: `variables.newAnnotations.filter(k, k.startsWith(${cel(GUARDRAIL_ANNOTATION_PREFIX)}) && (!(k in variables.oldAnnotations) || variables.newAnnotations[k] != variables.oldAnnotations[k])) + variables.oldAnnotations.filter(k, k.startsWith(${cel(GUARDRAIL_ANNOTATION_PREFIX)}) && !(k in variables.newAnnotations))`,
        },
    ],
    validations: [
        {
            id: "MT102",
            expression: "size(variables.changed) == 0",
            messageExpression: `'[MT102] metadata.labels: ' + variables.changed.join(', ') + ' on namespace ' + object.metadata.name + ': tenancy labels are set only by the platform operators; allowed: ' + (oldObject == null ? 'none of ' + variables.tenancyLabels.join(', ') : 'the current values (' + variables.tenancyLabels.filter(k, k in variables.oldLabels).map(k, k + '=' + variables.oldLabels[k]).join(', ') + ')')`,
        },
        {
            id: "MT102",
            expression: "size(variables.changedParams) == 0",
            messageExpression: `'[MT102] metadata.annotations: ' + variables.changedParams.join(', ') + ' on namespace ' + object.metadata.name + ': the guardrail parameters are set only by the platform operators; allowed: ' + (oldObject == null ? 'no ${GUARDRAIL_ANNOTATION_PREFIX}* annotation' : 'the current values')`,
        },
    ],
};

const systemNamespaces: PolicySpec = {
    name: "system-namespaces",
    scope: "system",
    operations: ["CREATE", "UPDATE", "DELETE"],
    rules: [{ apiGroups: ISTIO_GROUPS, resources: ["*"] }],
    variables: [],
    validations: [
        {
            // Config in a revision's root namespace applies to every namespace of the usergroup.
            id: "MT104",
            expression: "false",
            messageExpression: `'[MT104] metadata.namespace: ' + request.namespace + ' is a system namespace; Istio config there applies to the whole usergroup and is managed by the platform operators only; allowed: your own namespaces'`,
        },
    ],
};

const POLICIES: ReadonlyArray<PolicySpec> = [workloads, sidecars, exportTo, security, istioConfigRevision, managedObjects, namespaceLabels, systemNamespaces];

/** The role label values of the namespaces a scope covers. */
function scopeRoles(scope: GuardrailScope): string[] | undefined {
    switch (scope) {
        case "tenant":
            return ["tenant", "shared"];
        case "system":
            return ["system"];
        case "managed":
            return ["tenant", "shared", "system"];
        case "cluster":
            return undefined;
    }
}

/** A match condition that skips the platform operators: they are held by the policy pack at preview instead. */
function notAPlatformOperator(operators: PlatformOperators): { name: string; expression: string } {
    return {
        name: "not-a-platform-operator",
        expression: `!(request.userInfo.username in ${celList(operators.users)}) && !request.userInfo.groups.exists(g, g in ${celList(operators.groups)})`,
    };
}

/** MT105: a tenant or shared namespace without its parameters admits nothing guarded (fail closed). */
const parametersPresent: Validation = {
    id: "MT105",
    expression: `${celList(Object.values(GUARDRAIL_PARAM_ANNOTATIONS))}.all(k, k in variables.params)`,
    messageExpression: `'[MT105] metadata.annotations: namespace ' + request.namespace + ' lacks ' + ${celList(Object.values(GUARDRAIL_PARAM_ANNOTATIONS))}.filter(k, !(k in variables.params)).join(', ') + ', the parameters its guardrails compare against, so they refuse every change here until the platform operators restore them (pulumi up); allowed: nothing'`,
};

/** Tenant and shared namespaces carry parameters: every policy there reads them first and refuses when any is missing. */
function withParameters(spec: PolicySpec): Pick<PolicySpec, "variables" | "validations"> {
    if (spec.scope !== "tenant") return spec;
    return { variables: [{ name: "params", expression: annotationsOf("namespaceObject.metadata") }, ...spec.variables], validations: [parametersPresent, ...spec.validations] };
}

const VALIDATION_ACTIONS: Record<Exclude<GuardrailMode, "off">, string[]> = {
    enforce: ["Deny"],
    warn: ["Warn", "Audit"],
};

function policyObjects(spec: PolicySpec, mode: Exclude<GuardrailMode, "off">, operators: PlatformOperators): [PlannedObject, PlannedObject] {
    const name = `mesh-tenancy-${spec.name}`;
    const labels = { [MANAGED_BY_LABEL]: MANAGED_BY };
    const roles = scopeRoles(spec.scope);
    const { variables, validations } = withParameters(spec);
    const policy: PlannedObject = {
        resourceName: `guardrail-${spec.name}`,
        object: {
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "ValidatingAdmissionPolicy",
            metadata: { name, labels, annotations: { "mesh-tenancy.io/guardrails": [...new Set(validations.map((v) => v.id))].join(",") } },
            spec: {
                failurePolicy: "Fail",
                matchConstraints: {
                    resourceRules: spec.rules.map((r) => ({ ...r, apiVersions: ["*"], operations: spec.operations, scope: "*" })),
                },
                matchConditions: [notAPlatformOperator(operators)],
                ...(variables.length > 0 ? { variables } : {}),
                validations: validations.map((v) => ({ expression: v.expression, messageExpression: v.messageExpression, reason: "Forbidden" })),
            },
        },
    };
    const binding: PlannedObject = {
        resourceName: `guardrail-${spec.name}-binding`,
        object: {
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "ValidatingAdmissionPolicyBinding",
            metadata: { name, labels },
            spec: {
                policyName: name,
                validationActions: VALIDATION_ACTIONS[mode],
                ...(roles === undefined ? {} : { matchResources: { namespaceSelector: { matchExpressions: [{ key: ROLE_LABEL, operator: "In", values: roles }] } } }),
            },
        },
    };
    return [policy, binding];
}

export function planGuardrails(config: MeshTenancyConfig): GuardrailsPlan {
    const mode = config.admissionGuardrails;
    const operators = config.platformOperators;
    const protect = config.protectNamespaces;
    if (mode === "off") return { mode, protect, platformOperators: operators, policies: [], bindings: [] };
    const pairs = POLICIES.map((spec) => policyObjects(spec, mode, operators));
    return { mode, protect, platformOperators: operators, tenantRole: tenantRole(), policies: pairs.map((p) => p[0]), bindings: pairs.map((p) => p[1]) };
}

/** Every guardrail id some policy validates, with the scope of that policy: GUARDRAILS must say the same. */
export function policyGuardrailScopes(): Map<string, GuardrailScope> {
    return new Map(POLICIES.flatMap((p) => withParameters(p).validations.map((v) => [v.id, p.scope] as const)));
}
