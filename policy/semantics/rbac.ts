import type { Inventory } from "./inventory";
import { arrayOf, isRecord, stringRecord, Subject } from "./objects";
import { LabelSelector, selects } from "./selectors";

/**
 * Who may write what, and where, as Kubernetes RBAC decides it (`plugin/pkg/auth/authorizer/rbac` and the RBAC
 * reference, kubernetes.io/docs/reference/access-authn-authz/rbac/):
 *
 * - a rule matches when its `apiGroups`, `resources` and `verbs` each hold `*` or the requested value; a resource
 *   `*` covers every resource and subresource, `pods/exec` only that subresource, and `*` joined to `/status` that
 *   subresource of every resource; `resourceNames` narrows a rule to named objects (literally: `*` there is a name, not a
 *   wildcard), which a `create` or `deletecollection` never is (their name is not known when they are authorized), so
 *   such a rule grants neither;
 * - a RoleBinding grants its Role (of its own namespace) or ClusterRole inside its namespace only, and never on
 *   cluster-scoped resources; a ClusterRoleBinding grants its ClusterRole everywhere;
 * - a ServiceAccount subject without a namespace is one of the RoleBinding's namespace (in a ClusterRoleBinding it matches
 *   nobody); a service account is also the user `system:serviceaccount:<ns>:<name>` and in the groups
 *   `system:serviceaccounts` and `system:serviceaccounts:<ns>`; every authenticated request is in
 *   `system:authenticated`, every anonymous one is `system:anonymous` in `system:unauthenticated`;
 * - a ClusterRole with an `aggregationRule` holds the rules of every ClusterRole whose labels one of its
 *   `clusterRoleSelectors` selects (the controller overwrites its own `rules`): resolved over the set's ClusterRoles and
 *   Kubernetes' default user-facing roles, which aggregate the same way.
 *
 * Only what a rule can write is followed (non-resource URLs and read verbs are not), and only the kinds that govern a
 * tenant (`GOVERNED`).
 */

export const WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection"] as const;

interface PolicyRule {
    apiGroups: string[];
    resources: string[];
    verbs: string[];
    resourceNames: string[];
}

/** What a tenant's isolation rests on, in groups a finding names. */
export type GovernedClass = "Istio config" | "NetworkPolicies" | "RBAC" | "workloads" | "secrets" | "admission" | "namespaces" | "identities";

export interface GovernedResource {
    group: string;
    /** The resource, with `/subresource` where the write is on one. */
    resource: string;
    /** The kind as a finding names it, plural. */
    kinds: string;
    class: GovernedClass;
    clusterScoped: boolean;
    /** Verbs that count as changing it (the write verbs unless given). */
    verbs?: ReadonlyArray<string>;
}

const ISTIO = (group: string, resource: string, kinds: string): GovernedResource => ({ group, resource, kinds, class: "Istio config", clusterScoped: false });
const WORKLOAD = (group: string, resource: string, kinds: string): GovernedResource => ({ group, resource, kinds, class: "workloads", clusterScoped: false });

/**
 * The resources whose writers govern a namespace: Istio and Gateway API config (scoping, routing, authorization, mTLS,
 * proxy patches, the tenant's gateway), NetworkPolicies, RBAC itself and the verbs that escalate it, workloads (a pod
 * may name any service account of its namespace and run as it), secrets, service account tokens, and, cluster-wide,
 * namespaces (their labels pick the revision, the usergroup and the guardrails) and admission configuration (injector
 * webhooks and the guardrails' policies).
 */
export const GOVERNED: ReadonlyArray<GovernedResource> = [
    ISTIO("networking.istio.io", "virtualservices", "VirtualServices"),
    ISTIO("networking.istio.io", "destinationrules", "DestinationRules"),
    ISTIO("networking.istio.io", "gateways", "Istio Gateways"),
    ISTIO("networking.istio.io", "serviceentries", "ServiceEntries"),
    ISTIO("networking.istio.io", "sidecars", "Sidecars"),
    ISTIO("networking.istio.io", "envoyfilters", "EnvoyFilters"),
    ISTIO("networking.istio.io", "workloadentries", "WorkloadEntries"),
    ISTIO("networking.istio.io", "workloadgroups", "WorkloadGroups"),
    ISTIO("security.istio.io", "authorizationpolicies", "AuthorizationPolicies"),
    ISTIO("security.istio.io", "peerauthentications", "PeerAuthentications"),
    ISTIO("security.istio.io", "requestauthentications", "RequestAuthentications"),
    ISTIO("telemetry.istio.io", "telemetries", "Telemetries"),
    ISTIO("extensions.istio.io", "wasmplugins", "WasmPlugins"),
    ISTIO("gateway.networking.k8s.io", "gateways", "Gateway API Gateways"),
    ISTIO("gateway.networking.k8s.io", "httproutes", "HTTPRoutes"),
    ISTIO("gateway.networking.k8s.io", "grpcroutes", "GRPCRoutes"),
    ISTIO("gateway.networking.k8s.io", "tcproutes", "TCPRoutes"),
    ISTIO("gateway.networking.k8s.io", "tlsroutes", "TLSRoutes"),
    ISTIO("gateway.networking.k8s.io", "referencegrants", "ReferenceGrants"),
    { group: "networking.k8s.io", resource: "networkpolicies", kinds: "NetworkPolicies", class: "NetworkPolicies", clusterScoped: false },
    { group: "rbac.authorization.k8s.io", resource: "roles", kinds: "Roles", class: "RBAC", clusterScoped: false },
    { group: "rbac.authorization.k8s.io", resource: "rolebindings", kinds: "RoleBindings", class: "RBAC", clusterScoped: false },
    { group: "rbac.authorization.k8s.io", resource: "clusterroles", kinds: "ClusterRoles", class: "RBAC", clusterScoped: true },
    { group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", kinds: "ClusterRoleBindings", class: "RBAC", clusterScoped: true },
    { group: "rbac.authorization.k8s.io", resource: "roles", kinds: "Roles (bind, escalate)", class: "RBAC", clusterScoped: false, verbs: ["bind", "escalate"] },
    { group: "rbac.authorization.k8s.io", resource: "clusterroles", kinds: "ClusterRoles (bind, escalate)", class: "RBAC", clusterScoped: true, verbs: ["bind", "escalate"] },
    { group: "", resource: "users", kinds: "users (impersonate)", class: "identities", clusterScoped: true, verbs: ["impersonate"] },
    { group: "", resource: "groups", kinds: "groups (impersonate)", class: "identities", clusterScoped: true, verbs: ["impersonate"] },
    { group: "", resource: "serviceaccounts", kinds: "service accounts (impersonate)", class: "identities", clusterScoped: false, verbs: ["impersonate"] },
    { group: "", resource: "serviceaccounts/token", kinds: "service account tokens", class: "identities", clusterScoped: false, verbs: ["create"] },
    WORKLOAD("", "pods", "Pods"),
    WORKLOAD("", "replicationcontrollers", "ReplicationControllers"),
    WORKLOAD("apps", "deployments", "Deployments"),
    WORKLOAD("apps", "statefulsets", "StatefulSets"),
    WORKLOAD("apps", "daemonsets", "DaemonSets"),
    WORKLOAD("apps", "replicasets", "ReplicaSets"),
    WORKLOAD("batch", "jobs", "Jobs"),
    WORKLOAD("batch", "cronjobs", "CronJobs"),
    { group: "", resource: "secrets", kinds: "Secrets", class: "secrets", clusterScoped: false },
    { group: "", resource: "namespaces", kinds: "Namespaces", class: "namespaces", clusterScoped: true, verbs: ["update", "patch", "delete"] },
    { group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", kinds: "MutatingWebhookConfigurations", class: "admission", clusterScoped: true },
    { group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", kinds: "ValidatingWebhookConfigurations", class: "admission", clusterScoped: true },
    { group: "admissionregistration.k8s.io", resource: "validatingadmissionpolicies", kinds: "ValidatingAdmissionPolicies", class: "admission", clusterScoped: true },
    { group: "admissionregistration.k8s.io", resource: "validatingadmissionpolicybindings", kinds: "ValidatingAdmissionPolicyBindings", class: "admission", clusterScoped: true },
];

/** Whether a governed resource's write lets its holder grant itself more than it holds (RBAC verbs, impersonation, tokens). */
export function escalates(r: GovernedResource): boolean {
    return r.class === "identities" || (r.class === "RBAC" && (r.verbs !== undefined || r.clusterScoped));
}

// ---------------------------------------------------------------------------------------------------------------------
// Roles

/** A rule as the role holds it, with where it comes from for the path a finding prints. */
export interface SourcedRule {
    rule: PolicyRule;
    /** `rule 3` of the role itself, or `ClusterRole system:aggregate-to-edit (Kubernetes default) rule 6` aggregated into it. */
    origin: string;
}

export interface ResolvedRole {
    kind: "Role" | "ClusterRole";
    name: string;
    /** The role object, when the set holds it. */
    subject?: Subject;
    /** One of Kubernetes' default ClusterRoles, which the API server creates: not in the set, known all the same. */
    builtIn: boolean;
    rules: SourcedRule[];
}

interface RoleObject {
    name: string;
    labels: Record<string, string>;
    rules: PolicyRule[];
    aggregation?: LabelSelector[];
    subject?: Subject;
}

const READ_WRITE = ["get", "list", "watch", ...WRITE_VERBS];
const rule = (verbs: string[], groups: string[], resources: string[]): PolicyRule => ({ apiGroups: groups, resources, verbs, resourceNames: [] });
const AGGREGATE = (to: string) => ({ [`rbac.authorization.k8s.io/aggregate-to-${to}`]: "true" });

/**
 * Kubernetes' default user-facing ClusterRoles, as far as they write (bootstrap policy of
 * `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`): `cluster-admin` everything; `admin` aggregates
 * `system:aggregate-to-admin` (Roles and RoleBindings) and `edit`; `edit` aggregates `system:aggregate-to-edit`
 * (pods, workloads, secrets, service accounts and their tokens and impersonation, NetworkPolicies) and `view`. A role of
 * the same name in the set replaces its default; a set's role labelled `aggregate-to-*` extends them.
 */
const DEFAULT_CLUSTER_ROLES: ReadonlyArray<RoleObject> = [
    { name: "cluster-admin", labels: {}, rules: [rule(["*"], ["*"], ["*"])] },
    { name: "admin", labels: {}, rules: [], aggregation: [{ matchLabels: AGGREGATE("admin") }] },
    { name: "edit", labels: AGGREGATE("admin"), rules: [], aggregation: [{ matchLabels: AGGREGATE("edit") }] },
    { name: "view", labels: AGGREGATE("edit"), rules: [], aggregation: [{ matchLabels: AGGREGATE("view") }] },
    { name: "system:aggregate-to-admin", labels: AGGREGATE("admin"), rules: [rule(READ_WRITE, ["rbac.authorization.k8s.io"], ["roles", "rolebindings"])] },
    {
        name: "system:aggregate-to-edit",
        labels: AGGREGATE("edit"),
        rules: [
            rule(["impersonate"], [""], ["serviceaccounts"]),
            rule([...WRITE_VERBS], [""], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
            rule([...WRITE_VERBS], [""], ["replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets"]),
            rule(["create"], [""], ["serviceaccounts/token"]),
            rule([...WRITE_VERBS], ["apps"], ["statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale"]),
            rule([...WRITE_VERBS], ["autoscaling"], ["horizontalpodautoscalers"]),
            rule([...WRITE_VERBS], ["batch"], ["jobs", "cronjobs"]),
            rule([...WRITE_VERBS], ["policy"], ["poddisruptionbudgets"]),
            rule([...WRITE_VERBS], ["networking.k8s.io"], ["networkpolicies", "ingresses"]),
        ],
    },
    { name: "system:aggregate-to-view", labels: AGGREGATE("view"), rules: [] },
];

function readRules(value: unknown): PolicyRule[] {
    const strings = (v: unknown) => arrayOf(v).filter((x): x is string => typeof x === "string");
    return arrayOf(value)
        .filter(isRecord)
        .map((r) => ({ apiGroups: strings(r.apiGroups), resources: strings(r.resources), verbs: strings(r.verbs), resourceNames: strings(r.resourceNames) }));
}

function roleObject(s: Subject): RoleObject {
    const aggregation = (s.object as any).aggregationRule;
    return {
        name: s.object.metadata.name,
        labels: stringRecord(s.object.metadata.labels),
        rules: readRules((s.object as any).rules),
        aggregation: isRecord(aggregation) ? arrayOf(aggregation.clusterRoleSelectors).filter(isRecord) : undefined,
        subject: s,
    };
}

const describeRole = (kind: string, r: RoleObject) => `${kind} ${r.name}${r.subject === undefined ? " (Kubernetes default)" : ""}`;

class Roles {
    private readonly clusterRoles = new Map<string, RoleObject>();
    private readonly resolved = new Map<string, SourcedRule[]>();

    constructor(private readonly inventory: Inventory) {
        for (const r of DEFAULT_CLUSTER_ROLES) this.clusterRoles.set(r.name, r);
        for (const s of inventory.ofKind("ClusterRole")) this.clusterRoles.set(s.object.metadata.name, roleObject(s));
    }

    clusterRole(name: string): ResolvedRole | undefined {
        const r = this.clusterRoles.get(name);
        if (r === undefined) return undefined;
        return { kind: "ClusterRole", name, subject: r.subject, builtIn: r.subject === undefined, rules: this.rulesOf(r, new Set()) };
    }

    role(namespace: string, name: string): ResolvedRole | undefined {
        const s = this.inventory.inNamespace(namespace, "Role").find((x) => x.object.metadata.name === name);
        if (s === undefined) return undefined;
        const r = roleObject(s);
        return { kind: "Role", name, subject: s, builtIn: false, rules: r.rules.map((x, i) => ({ rule: x, origin: `rule ${i + 1}` })) };
    }

    /** A ClusterRole's rules: its own, or, when it aggregates, those of every ClusterRole it selects (transitively). */
    private rulesOf(r: RoleObject, visiting: Set<string>): SourcedRule[] {
        const cached = this.resolved.get(r.name);
        if (cached !== undefined) return cached;
        let rules: SourcedRule[];
        if (r.aggregation === undefined) {
            rules = r.rules.map((x, i) => ({ rule: x, origin: `rule ${i + 1}` }));
        } else {
            visiting.add(r.name);
            rules = [];
            for (const other of this.clusterRoles.values()) {
                if (other.name === r.name || visiting.has(other.name) || !r.aggregation.some((sel) => selects(sel, other.labels))) continue;
                for (const x of this.rulesOf(other, visiting)) rules.push({ rule: x.rule, origin: x.origin.startsWith("rule ") ? `${describeRole("ClusterRole", other)} ${x.origin}` : x.origin });
            }
            visiting.delete(r.name);
        }
        if (visiting.size === 0) this.resolved.set(r.name, rules);
        return rules;
    }
}

// ---------------------------------------------------------------------------------------------------------------------
// Who

/**
 * The identity a binding subject stands for. Service accounts of one namespace (`name` `*` for all of them) are that
 * namespace's workloads; `everyone` groups hold requesters of every namespace (or none at all).
 */
export type Identity =
    | { kind: "serviceaccounts"; namespace: string; name: string }
    | { kind: "everyone"; group: string; who: string }
    | { kind: "user" | "group"; name: string };

const BROAD: Readonly<Record<string, string>> = {
    "system:authenticated": "every authenticated user and every namespace's service accounts",
    "system:unauthenticated": "every anonymous request",
    "system:serviceaccounts": "every namespace's service accounts",
};

/** The identity of one binding subject; undefined for a subject that matches nobody. */
export function identityOf(subject: Record<string, any>, bindingNamespace: string | undefined): Identity | undefined {
    const name = typeof subject.name === "string" ? subject.name : "";
    if (name === "") return undefined;
    switch (subject.kind) {
        case "ServiceAccount": {
            const namespace = typeof subject.namespace === "string" && subject.namespace !== "" ? subject.namespace : bindingNamespace;
            return namespace === undefined || namespace === "" ? undefined : { kind: "serviceaccounts", namespace, name };
        }
        case "User": {
            const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(name);
            if (sa !== null) return { kind: "serviceaccounts", namespace: sa[1], name: sa[2] };
            if (name === "system:anonymous") return { kind: "everyone", group: name, who: BROAD["system:unauthenticated"] };
            return { kind: "user", name };
        }
        case "Group": {
            if (BROAD[name] !== undefined) return { kind: "everyone", group: name, who: BROAD[name] };
            const ns = /^system:serviceaccounts:(.+)$/.exec(name);
            if (ns !== null) return { kind: "serviceaccounts", namespace: ns[1], name: "*" };
            return { kind: "group", name };
        }
        default:
            return undefined;
    }
}

export function describeIdentity(id: Identity): string {
    switch (id.kind) {
        case "serviceaccounts":
            return id.name === "*" ? `every service account of ${id.namespace}` : `ServiceAccount ${id.namespace}/${id.name}`;
        case "everyone":
            return `Group ${id.group} (${id.who})`;
        case "user":
            return `User ${id.name}`;
        case "group":
            return `Group ${id.name}`;
    }
}

// ---------------------------------------------------------------------------------------------------------------------
// What, where

function matches(values: ReadonlyArray<string>, wanted: string): boolean {
    return values.includes("*") || values.includes(wanted);
}

function resourceMatches(rule: PolicyRule, resource: string): boolean {
    const slash = resource.indexOf("/");
    return rule.resources.some((r) => r === "*" || r === resource || (slash >= 0 && r === `*${resource.slice(slash)}`));
}

/** The verbs of `wanted` that `rule` grants on `r`, with the names it is narrowed to. */
function grantedVerbs(rule: PolicyRule, r: GovernedResource): { verbs: string[]; names: string[] } {
    if (!matches(rule.apiGroups, r.group) || !resourceMatches(rule, r.resource)) return { verbs: [], names: [] };
    // Names are matched literally: `*` among them is an object named `*`, not every object (the API server's RBAC
    // authorizer refused writes to other names under `resourceNames: ["*"]`, test/fixtures/rbac).
    const named = rule.resourceNames.length > 0;
    const verbs = (r.verbs ?? WRITE_VERBS).filter((v) => matches(rule.verbs, v) && !(named && (v === "create" || v === "deletecollection")));
    return { verbs, names: named ? rule.resourceNames : [] };
}

/** `create, update networking.istio.io/*`, lists in brackets: `get [apps, batch]/[jobs, deployments]`. */
function describeRule(x: PolicyRule): string {
    const list = (xs: string[]) => (xs.length === 1 ? xs[0] : `[${xs.join(", ")}]`);
    return `${x.verbs.join(", ")} ${list(x.apiGroups.map((g) => (g === "" ? "core" : g)))}/${list(x.resources)}${x.resourceNames.length > 0 ? ` named ${x.resourceNames.join(", ")}` : ""}`;
}

/** One governed resource an identity may change through one binding: on every object, or (`names`) on named ones only. */
export interface GrantedWrite {
    resource: GovernedResource;
    verbs: string[];
    /** The objects it is narrowed to by `resourceNames`; empty for every object. */
    names: string[];
    /** The role rules that grant it. */
    rules: string[];
}

/** What one binding subject may write, and where. */
export interface WriteGrant {
    binding: Subject;
    role: ResolvedRole;
    identity: Identity;
    /** The namespace of a RoleBinding; undefined for a ClusterRoleBinding (every namespace and the cluster scope). */
    namespace?: string;
    writes: GrantedWrite[];
}

/** A binding whose role the set does not hold (nor is a Kubernetes default): what it grants cannot be told. */
export interface UnknownRoleRef {
    binding: Subject;
    roleRef: string;
    identities: Identity[];
    namespace?: string;
}

export interface WriteAccess {
    grants: WriteGrant[];
    unknown: UnknownRoleRef[];
}

/**
 * The governed resources a role lets its subjects change; a RoleBinding (`namespaced`) grants nothing cluster-scoped.
 * Per resource, the verbs granted on every object and, apart, those granted only on named objects (one rule may grant
 * `create` on all and another `delete` on one name).
 */
function writesOf(role: ResolvedRole, namespaced: boolean): GrantedWrite[] {
    const writes: GrantedWrite[] = [];
    for (const r of GOVERNED) {
        if (namespaced && r.clusterScoped) continue;
        const everyObject = { verbs: new Set<string>(), via: [] as string[] };
        const named: { verb: string; names: string[]; via: string }[] = [];
        for (const { rule: x, origin } of role.rules) {
            const g = grantedVerbs(x, r);
            if (g.verbs.length === 0) continue;
            const via = `${origin}: ${describeRule(x)}`;
            if (g.names.length === 0) {
                g.verbs.forEach((v) => everyObject.verbs.add(v));
                everyObject.via.push(via);
            } else for (const verb of g.verbs) named.push({ verb, names: g.names, via });
        }
        if (everyObject.verbs.size > 0) writes.push({ resource: r, verbs: [...everyObject.verbs], names: [], rules: everyObject.via });
        const onlyNamed = named.filter((n) => !everyObject.verbs.has(n.verb));
        if (onlyNamed.length > 0) {
            writes.push({ resource: r, verbs: [...new Set(onlyNamed.map((n) => n.verb))], names: [...new Set(onlyNamed.flatMap((n) => n.names))].sort(), rules: [...new Set(onlyNamed.map((n) => n.via))] });
        }
    }
    return writes;
}

const cache = new WeakMap<Inventory, WriteAccess>();

/**
 * Every write to a governed resource that the set's RoleBindings and ClusterRoleBindings grant, per binding subject
 * (only grants that write something), and the bindings whose role is unknown.
 */
export function writeAccess(inventory: Inventory): WriteAccess {
    const found = cache.get(inventory);
    if (found !== undefined) return found;
    const roles = new Roles(inventory);
    const access: WriteAccess = { grants: [], unknown: [] };
    const writesByRole = new Map<string, GrantedWrite[]>();
    const bindings = [...inventory.ofKind("RoleBinding"), ...inventory.ofKind("ClusterRoleBinding")];
    for (const binding of bindings) {
        const o = binding.object as any;
        const namespace = binding.object.kind === "RoleBinding" ? binding.object.metadata.namespace : undefined;
        if (binding.object.kind === "RoleBinding" && namespace === undefined) continue;
        const ref = isRecord(o.roleRef) ? o.roleRef : {};
        const refName = typeof ref.name === "string" ? ref.name : "";
        const role = ref.kind === "Role" ? (namespace === undefined ? undefined : roles.role(namespace, refName)) : ref.kind === "ClusterRole" ? roles.clusterRole(refName) : undefined;
        const identities = arrayOf(o.subjects)
            .filter(isRecord)
            .map((s) => identityOf(s, namespace))
            .filter((i): i is Identity => i !== undefined);
        if (identities.length === 0) continue;
        if (role === undefined) {
            access.unknown.push({ binding, roleRef: `${String(ref.kind ?? "role")} ${namespace !== undefined && ref.kind === "Role" ? `${namespace}/` : ""}${refName}`, identities, namespace });
            continue;
        }
        // What a role writes depends only on the role and the binding's kind: computed once per pair.
        const key = `${role.kind} ${role.kind === "Role" ? `${namespace}/` : ""}${role.name} ${namespace === undefined ? "cluster" : "namespace"}`;
        let writes = writesByRole.get(key);
        if (writes === undefined) writesByRole.set(key, (writes = writesOf(role, namespace !== undefined)));
        if (writes.length === 0) continue;
        for (const identity of identities) access.grants.push({ binding, role, identity, namespace, writes });
    }
    cache.set(inventory, access);
    return access;
}

/** `RoleBinding app-a/x -> ClusterRole y (rule text; rule text) -> <identity>`: the objects behind a grant. */
export function grantPath(grant: WriteGrant | UnknownRoleRef, writes?: ReadonlyArray<GrantedWrite>): string {
    const b = grant.binding.object;
    const binding = `${b.kind} ${b.metadata.namespace !== undefined && b.kind === "RoleBinding" ? `${b.metadata.namespace}/` : ""}${b.metadata.name}`;
    if (!("role" in grant)) return `${binding} -> ${grant.roleRef} (not in the object set) -> ${grant.identities.map(describeIdentity).join(", ")}`;
    const rules = [...new Set((writes ?? grant.writes).flatMap((w) => w.rules))];
    const role = `${grant.role.kind} ${grant.role.kind === "Role" ? `${grant.namespace}/` : ""}${grant.role.name}${grant.role.builtIn ? " (Kubernetes default)" : ""}`;
    return `${binding} -> ${role}${rules.length > 0 ? ` (${rules.join("; ")})` : ""} -> ${describeIdentity(grant.identity)}`;
}

/** Kinds named per class before the rest are counted. */
const KINDS_NAMED = 4;

/** Per class, the verbs and kinds: `create, update Istio config (AuthorizationPolicies, Sidecars); delete Secrets named a`. */
export function describeWrites(writes: ReadonlyArray<GrantedWrite>): string {
    const byClass = new Map<GovernedClass, GrantedWrite[]>();
    for (const w of writes) byClass.set(w.resource.class, [...(byClass.get(w.resource.class) ?? []), w]);
    return [...byClass]
        .map(([cls, ws]) => {
            const verbs = [...new Set(ws.flatMap((w) => w.verbs))];
            const kinds = ws.map((w) => `${w.resource.kinds}${w.names.length > 0 ? ` named ${w.names.join(", ")}` : ""}`);
            const shown = kinds.length > KINDS_NAMED ? `${kinds.slice(0, KINDS_NAMED).join(", ")} and ${kinds.length - KINDS_NAMED} more` : kinds.join(", ");
            return kinds.length === 1 && kinds[0].toLowerCase() === cls.toLowerCase() ? `${verbs.join(", ")} ${kinds[0]}` : `${verbs.join(", ")} ${cls} (${shown})`;
        })
        .join("; ");
}

// ---------------------------------------------------------------------------------------------------------------------
// One request

/** Who asks, as the API server's authenticator hands it to the authorizer: a user name and its groups. */
export interface Requester {
    user: string;
    groups: ReadonlyArray<string>;
}

/**
 * The requester of a ServiceAccount (`system:serviceaccount:<ns>:<name>`, in `system:serviceaccounts`,
 * `system:serviceaccounts:<ns>` and `system:authenticated`) or of an authenticated user with its own groups.
 */
export function requesterOf(who: { serviceAccount: { namespace: string; name: string } } | { user: string; groups?: ReadonlyArray<string> }): Requester {
    if ("serviceAccount" in who) {
        const { namespace, name } = who.serviceAccount;
        return { user: `system:serviceaccount:${namespace}:${name}`, groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"] };
    }
    if (who.user === "system:anonymous") return { user: who.user, groups: ["system:unauthenticated"] };
    return { user: who.user, groups: [...new Set([...(who.groups ?? []), "system:authenticated"])] };
}

/** Whether a binding subject's identity takes in the requester. */
export function identityCovers(id: Identity, r: Requester): boolean {
    switch (id.kind) {
        case "user":
            return r.user === id.name;
        case "group":
            return r.groups.includes(id.name);
        case "everyone":
            return id.group === "system:anonymous" ? r.user === "system:anonymous" : r.groups.includes(id.group);
        case "serviceaccounts":
            return id.name === "*" ? r.groups.includes(`system:serviceaccounts:${id.namespace}`) : r.user === `system:serviceaccount:${id.namespace}:${id.name}`;
    }
}

/** One write the authorizer is asked about: a verb on a governed resource, in a namespace or cluster-wide, maybe of one named object. */
export interface WriteRequest {
    resource: GovernedResource;
    verb: string;
    /** Undefined: cluster-scoped, or across every namespace. */
    namespace?: string;
    /** The object's name; undefined where it is not known (create, deletecollection) or not asked. */
    name?: string;
}

/**
 * Whether the set's bindings let the requester make the write, and through which grants: a RoleBinding counts in its own
 * namespace only and never for cluster-scoped resources, a ClusterRoleBinding everywhere; a rule narrowed by
 * `resourceNames` counts only for a request naming one of them. Grants the API server makes outside the set (its
 * default bindings) are not seen.
 */
export function mayWrite(inventory: Inventory, requester: Requester, request: WriteRequest): { allowed: boolean; via: string[] } {
    const via: string[] = [];
    for (const grant of writeAccess(inventory).grants) {
        if (grant.namespace !== undefined && (request.resource.clusterScoped || grant.namespace !== request.namespace)) continue;
        if (!identityCovers(grant.identity, requester)) continue;
        // Rule by rule: one role may grant a verb on every object and another verb on named ones only.
        for (const { rule: x, origin } of grant.role.rules) {
            const g = grantedVerbs(x, request.resource);
            if (!g.verbs.includes(request.verb)) continue;
            if (g.names.length > 0 && (request.name === undefined || !g.names.includes(request.name))) continue;
            via.push(`${grantPath(grant, [])} ${origin}: ${describeRule(x)}`);
        }
    }
    return { allowed: via.length > 0, via };
}
