import type { Inventory } from "../semantics/inventory";
import { describeWrites, escalates, GrantedWrite, grantPath, Identity, writeAccess } from "../semantics/rbac";
import type { Finding, Rule, RuleConfig } from "../lib/rule";
import { inTenancy } from "./support";

/** Kubernetes' own namespaces: what runs there is the cluster's. */
const KUBERNETES_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease"]);

function listOf(config: RuleConfig, key: string): string[] {
    const list = (config as unknown as Record<string, unknown>)[key];
    return Array.isArray(list) ? list.filter((n): n is string => typeof n === "string") : [];
}

type Code = "MT2201" | "MT2202" | "MT2203" | "MT2204" | "MT2205" | "MT2206";

/** Namespaces named in a message before the rest are counted. */
const NAMED = 8;

export const tenantWriters: Rule = {
    id: "MT022",
    name: "who-may-write-a-tenant",
    description:
        "No RoleBinding or ClusterRoleBinding lets another usergroup's or another tenant's service accounts, a namespace outside the tenancy, or a group of every requester change a tenant or shared namespace's Istio config, NetworkPolicies, RBAC, workloads or secrets, nor anything in a system namespace; no one but the configured platform operators and the control plane holds such writes cluster-wide or a path to escalate.",
    why: "Every isolation object of a tenant (its Sidecar, AuthorizationPolicies, NetworkPolicies, its gateway) is only as strong as the set of identities that may rewrite it. A workload of another tenant whose service account may patch an AuthorizationPolicy, create a pod that runs as any account, or bind a role in a tenant's namespace has crossed the boundary without sending a packet; a grant to `system:serviceaccounts` or `system:authenticated` hands that to every pod in the cluster.",
    defaultEnforcement: "mandatory",
    fix: "Bind tenant owners with RoleBindings in their own namespace only (the program's `tenant-owners` and `tenant-owners-istio`); never bind another namespace's service accounts, `system:serviceaccounts*`, `system:authenticated` or `system:unauthenticated` to a role that writes; keep ClusterRoleBindings for the platform operators and the control plane, and list the operators in the rule's options.",
    judges: "`semantics/rbac.ts` (`writeAccess`), which follows Kubernetes RBAC: a rule matches `*` or the exact API group, resource (`pods/exec` is not `pods`; `*` followed by `/status` is a subresource of every resource, no object) and verb; `resourceNames` narrow updates and deletes and never grant `create` or `deletecollection`; a RoleBinding grants its Role (of its own namespace) or ClusterRole in its namespace only and nothing cluster-scoped, a ClusterRoleBinding everywhere; a ServiceAccount subject without namespace is the RoleBinding's (in a ClusterRoleBinding it matches nobody); the user `system:serviceaccount:<ns>:<name>` is that account, the group `system:serviceaccounts:<ns>` every account of `<ns>`; aggregated ClusterRoles hold the rules of the ClusterRoles their selectors pick, Kubernetes' defaults included. Writes that count: create, update, patch, delete, deletecollection of Istio and Gateway API kinds, NetworkPolicies, Roles and RoleBindings, workloads (a pod may run as any account of its namespace), Secrets, and `bind`/`escalate` on roles, `impersonate`, service account tokens; cluster-wide also ClusterRoles and ClusterRoleBindings, Namespaces (their labels pick revision and usergroup) and admission configuration (injector webhooks, the guardrails). Exempt: the platform operators the rule's options name, Kubernetes' own users and groups (names with the reserved `system:` prefix, other than the service account and every-requester forms above), and the service accounts of a revision's istiod namespace and of `kube-system`, `kube-public`, `kube-node-lease`. A service account writing its own namespace and a User or Group bound in a tenant namespace (its owners) are not findings. The message names the path: binding, role and the rules that grant, subject, what it may write and where. MT2207 is the one kind the set cannot settle: its message says which role to add to the checked objects.",
    atAdmission: "partly: the plan's RoleBindings are managed objects (MT-A1), and the tenant role grants no RBAC, EnvoyFilter, PeerAuthentication or Gateway",
    previewOnly: "what a binding written outside the stack grants (the API server's own RBAC escalation check refuses only grants beyond the writer's own rights)",
    codes: {
        MT2201: "another usergroup's service accounts may write a tenant's governing config",
        MT2202: "another tenant's service accounts (or those of a namespace outside the tenancy) may write a tenant's governing config",
        MT2203: "a group of every requester (system:authenticated, system:unauthenticated, system:serviceaccounts, system:anonymous) may write governing config",
        MT2204: "an identity other than a platform operator may escalate cluster-wide: write ClusterRoles or ClusterRoleBindings, bind or escalate roles, impersonate or mint tokens in every namespace",
        MT2205: "a ClusterRoleBinding lets an identity other than a platform operator write governing config in every namespace",
        MT2206: "an identity other than a platform operator may write governing config in a system namespace",
        MT2207: "a binding gives a role the object set does not hold to an identity whose write access would be a finding",
    },
    configSchema: {
        platformOperatorUsers: { type: "array", items: { type: "string" }, description: "Users exempt (the stack's platformOperators.users; a ServiceAccount as system:serviceaccount:<ns>:<name>)." },
        platformOperatorGroups: { type: "array", items: { type: "string" }, description: "Groups exempt (the stack's platformOperators.groups)." },
    },
    check(inventory: Inventory, config: RuleConfig): Finding[] {
        const operatorUsers = new Set(listOf(config, "platformOperatorUsers"));
        const operatorGroups = new Set(listOf(config, "platformOperatorGroups"));
        const isSystem = (ns: string) => KUBERNETES_NAMESPACES.has(ns) || inventory.roleOf(ns) === "system";
        const judged = (ns: string) => isSystem(ns) || inTenancy(inventory, ns);
        const tenancy = [...inventory.namespaces.keys()].filter((n) => inTenancy(inventory, n)).sort();

        /** The platform's own accounts: configured operators, Kubernetes' components, and the control plane's and Kubernetes' service accounts. */
        const exempt = (id: Identity): boolean => {
            switch (id.kind) {
                // Names with the `system:` prefix are reserved for Kubernetes' own components (RBAC reference, "Default
                // roles and role bindings"); the service account and everyone forms are told apart before this.
                case "user":
                    return operatorUsers.has(id.name) || id.name.startsWith("system:");
                case "group":
                    return operatorGroups.has(id.name) || id.name.startsWith("system:");
                case "everyone":
                    return operatorGroups.has(id.group);
                case "serviceaccounts":
                    return (
                        KUBERNETES_NAMESPACES.has(id.namespace) ||
                        inventory.revisionRunningIn(id.namespace) !== undefined ||
                        operatorGroups.has(`system:serviceaccounts:${id.namespace}`) ||
                        (id.name !== "*" && operatorUsers.has(`system:serviceaccount:${id.namespace}:${id.name}`))
                    );
            }
        };

        /** Which kind of finding a grant is, if any: its identity, and where it writes (undefined: every namespace). */
        const classify = (id: Identity, namespace: string | undefined, writes: ReadonlyArray<GrantedWrite>): Code | undefined => {
            if (exempt(id) || (namespace !== undefined && !judged(namespace))) return undefined;
            if (id.kind === "everyone") return "MT2203";
            if (namespace === undefined) return writes.some((w) => escalates(w.resource)) ? "MT2204" : "MT2205";
            if (id.kind === "serviceaccounts") {
                if (id.namespace === namespace) return undefined;
                const own = inventory.usergroupOf(id.namespace);
                const target = inventory.usergroupOf(namespace);
                if (own !== undefined && target !== undefined && own !== target && inventory.roleOf(id.namespace) !== undefined) return "MT2201";
                return isSystem(namespace) ? "MT2206" : "MT2202";
            }
            return isSystem(namespace) ? "MT2206" : undefined;
        };

        const where = (namespace: string | undefined): string => {
            if (namespace !== undefined) return `in ${namespace}`;
            const named = tenancy.length > NAMED ? `${tenancy.slice(0, NAMED).join(", ")} and ${tenancy.length - NAMED} more` : tenancy.join(", ");
            return `in every namespace${named === "" ? "" : ` (tenants and shared namespaces ${named})`} and cluster-wide`;
        };

        /** Who the identity is, in words, with what makes it foreign to the namespace. */
        const who = (id: Identity, code: Code | "MT2207"): string => {
            if (id.kind === "everyone") return id.who;
            if (id.kind !== "serviceaccounts") return `its members${id.kind === "user" ? " (one user)" : ""}`;
            const ug = inventory.usergroupOf(id.namespace);
            const accounts = id.name === "*" ? `every service account of ${id.namespace}` : `workloads of ${id.namespace} running as ${id.name}`;
            if (code === "MT2201") return `${accounts} (usergroup ${ug})`;
            if (inventory.roleOf(id.namespace) === undefined) return `${accounts} (${inventory.namespaces.has(id.namespace) ? "no tenant, shared or system namespace" : "a namespace not in the object set"})`;
            if (code === "MT2202") return `${accounts} (another tenant${ug === undefined ? "" : ` of usergroup ${ug}`})`;
            return accounts;
        };

        const findings: Finding[] = [];
        const access = writeAccess(inventory);
        for (const grant of access.grants) {
            const code = classify(grant.identity, grant.namespace, grant.writes);
            if (code === undefined) continue;
            const writes = code === "MT2204" ? grant.writes.filter((w) => escalates(w.resource)) : grant.writes;
            const kinds = (ws: ReadonlyArray<GrantedWrite>) => new Set(ws.map((w) => w.resource)).size;
            const others = kinds(grant.writes) - kinds(writes);
            const besides = others > 0 ? `, besides writing ${others} other governed kinds` : "";
            findings.push({ code, subject: grant.binding, message: `${grantPath(grant, writes)}: ${who(grant.identity, code)} may ${describeWrites(writes)} ${where(grant.namespace)}${besides}` });
        }
        for (const unknown of access.unknown) {
            // What the role grants cannot be told; it matters only for an identity that writing anything would make a finding.
            const flagged = unknown.identities.filter((id) => classify(id, unknown.namespace, []) !== undefined);
            if (flagged.length === 0) continue;
            findings.push({
                code: "MT2207",
                subject: unknown.binding,
                message: `${grantPath(unknown)}: what it lets ${flagged.map((id) => who(id, "MT2207")).join(", ")} write ${where(unknown.namespace)} cannot be told; add the role to the checked objects (or bind one the set holds) to settle it`,
            });
        }
        return findings;
    },
};
