import * as assert from "node:assert/strict";
import * as path from "path";
import { evaluate } from "../../policy/lib/engine";
import { RULES } from "../../policy/rules";
import { Inventory } from "../../policy/semantics/inventory";
import { isIstioControlPlaneWorkload } from "../../policy/semantics/namespaceRoles";
import type { KubeObject, Subject } from "../../policy/semantics/objects";
import { describeWrites, identityOf, writeAccess } from "../../policy/semantics/rbac";
import { readWorkload } from "../../policy/semantics/workloads";
import { fixtureObjects, FIXTURES } from "../policy/harness";

const subjects = (objects: KubeObject[]): Subject[] => objects.map((object) => ({ object, origin: {} }));
const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
const clusterRole = (name: string, rules: unknown[], extra: Record<string, unknown> = {}, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name, labels }, rules, ...extra });
const role = (namespace: string, name: string, rules: unknown[]): KubeObject => ({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name, namespace }, rules });
const binding = (kind: "RoleBinding" | "ClusterRoleBinding", name: string, roleRef: { kind: string; name: string }, subjectList: unknown[], namespace?: string): KubeObject => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind,
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", ...roleRef },
    subjects: subjectList,
});

/** `<identity> <namespace|*>: <resource>=<verbs>` for every grant, sorted. */
function grants(objects: KubeObject[]): string[] {
    const access = writeAccess(new Inventory(subjects(objects)));
    return access.grants
        .flatMap((g) => g.writes.map((w) => `${JSON.stringify(g.identity)} ${g.namespace ?? "*"}: ${w.resource.group}/${w.resource.resource}=${[...w.verbs].sort().join(",")}${w.names.length > 0 ? `[${w.names.join(",")}]` : ""}`))
        .sort();
}

describe("semantics: RBAC, who may write what where", () => {
    it("subjects: a ServiceAccount without namespace is the RoleBinding's, matches nobody in a ClusterRoleBinding; the system users and groups", () => {
        assert.deepEqual(identityOf({ kind: "ServiceAccount", name: "ci" }, "app-a"), { kind: "serviceaccounts", namespace: "app-a", name: "ci" });
        assert.equal(identityOf({ kind: "ServiceAccount", name: "ci" }, undefined), undefined);
        assert.deepEqual(identityOf({ kind: "User", name: "system:serviceaccount:app-b:web" }, "app-a"), { kind: "serviceaccounts", namespace: "app-b", name: "web" });
        assert.deepEqual(identityOf({ kind: "Group", name: "system:serviceaccounts:app-b" }, "app-a"), { kind: "serviceaccounts", namespace: "app-b", name: "*" });
        for (const group of ["system:authenticated", "system:unauthenticated", "system:serviceaccounts"]) assert.equal(identityOf({ kind: "Group", name: group }, "app-a")?.kind, "everyone", group);
        assert.equal(identityOf({ kind: "User", name: "system:anonymous" }, undefined)?.kind, "everyone");
        assert.deepEqual(identityOf({ kind: "Group", name: "team-a" }, "app-a"), { kind: "group", name: "team-a" });
    });

    it("rules: `*` covers every resource and subresource; a subresource is not its resource; `*/status` is no object; resourceNames never grant create or deletecollection", () => {
        const sa = [{ kind: "ServiceAccount", name: "x" }];
        const objects = [
            role("app-a", "r", [
                { apiGroups: [""], resources: ["pods/exec", "*/status"], verbs: ["*"] },
                { apiGroups: [""], resources: ["secrets"], resourceNames: ["tls"], verbs: ["create", "update", "deletecollection"] },
                { apiGroups: ["networking.istio.io"], resources: ["*"], verbs: ["patch"] },
            ]),
            binding("RoleBinding", "b", { kind: "Role", name: "r" }, sa, "app-a"),
        ];
        assert.deepEqual(grants(objects), [
            '{"kind":"serviceaccounts","namespace":"app-a","name":"x"} app-a: /secrets=update[tls]',
            ...["destinationrules", "envoyfilters", "gateways", "serviceentries", "sidecars", "virtualservices", "workloadentries", "workloadgroups"].map((r) => `{"kind":"serviceaccounts","namespace":"app-a","name":"x"} app-a: networking.istio.io/${r}=patch`),
        ]);
    });

    it("names: a verb granted on every object and another on named ones only are told apart, and `*` among resourceNames is a name", () => {
        const objects = [
            ns("app-a"),
            role("app-a", "mixed", [
                { apiGroups: ["security.istio.io"], resources: ["authorizationpolicies"], verbs: ["create", "patch"] },
                { apiGroups: ["security.istio.io"], resources: ["authorizationpolicies"], verbs: ["delete", "patch"], resourceNames: ["ap-1"] },
                { apiGroups: [""], resources: ["secrets"], verbs: ["update"], resourceNames: ["*"] },
            ]),
            binding("RoleBinding", "mixed", { kind: "Role", name: "mixed" }, [{ kind: "User", name: "dev", apiGroup: "rbac.authorization.k8s.io" }], "app-a"),
        ];
        assert.deepEqual(grants(objects), [
            '{"kind":"user","name":"dev"} app-a: /secrets=update[*]',
            '{"kind":"user","name":"dev"} app-a: security.istio.io/authorizationpolicies=create,patch',
            '{"kind":"user","name":"dev"} app-a: security.istio.io/authorizationpolicies=delete[ap-1]',
        ]);
        const g = writeAccess(new Inventory(subjects(objects))).grants[0];
        assert.equal(describeWrites(g.writes), "create, patch, delete Istio config (AuthorizationPolicies, AuthorizationPolicies named ap-1); update secrets (Secrets named *)");
    });

    it("bindings: a RoleBinding grants a ClusterRole in its namespace only and nothing cluster-scoped; a ClusterRoleBinding everywhere", () => {
        const admin = clusterRole("ns-admin", [{ apiGroups: [""], resources: ["namespaces"], verbs: ["patch"] }, { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["delete"] }]);
        const user = [{ kind: "User", name: "u" }];
        assert.deepEqual(grants([admin, binding("RoleBinding", "b", { kind: "ClusterRole", name: "ns-admin" }, user, "app-a")]), ['{"kind":"user","name":"u"} app-a: networking.k8s.io/networkpolicies=delete']);
        assert.deepEqual(grants([admin, binding("ClusterRoleBinding", "b", { kind: "ClusterRole", name: "ns-admin" }, user)]), ['{"kind":"user","name":"u"} *: /namespaces=patch', '{"kind":"user","name":"u"} *: networking.k8s.io/networkpolicies=delete']);
        assert.deepEqual(grants([role("app-b", "r", [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }]), binding("RoleBinding", "b", { kind: "Role", name: "r" }, user, "app-a")]), [], "a Role of another namespace is not found");
    });

    it("aggregation: a set's ClusterRole labelled aggregate-to-view extends view, edit and admin; an aggregated role's own rules are the controller's", () => {
        const extra = clusterRole("extra", [{ apiGroups: ["security.istio.io"], resources: ["authorizationpolicies"], verbs: ["create"] }], {}, { "rbac.authorization.k8s.io/aggregate-to-view": "true" });
        const user = [{ kind: "User", name: "u" }];
        for (const r of ["view", "edit", "admin"]) {
            const found = grants([extra, binding("RoleBinding", "b", { kind: "ClusterRole", name: r }, user, "app-a")]);
            assert.ok(found.includes('{"kind":"user","name":"u"} app-a: security.istio.io/authorizationpolicies=create'), r);
        }
        assert.deepEqual(grants([binding("RoleBinding", "b", { kind: "ClusterRole", name: "view" }, user, "app-a")]), [], "view alone writes nothing");
        const aggregating = clusterRole("mine", [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }], { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { pick: "me" } }] } });
        const picked = clusterRole("picked", [{ apiGroups: [""], resources: ["secrets"], verbs: ["delete"] }], {}, { pick: "me" });
        assert.deepEqual(grants([aggregating, picked, binding("RoleBinding", "b", { kind: "ClusterRole", name: "mine" }, user, "app-a")]), ['{"kind":"user","name":"u"} app-a: /secrets=delete']);
        const access = writeAccess(new Inventory(subjects([extra, binding("RoleBinding", "b", { kind: "ClusterRole", name: "admin" }, user, "app-a")])));
        assert.match(describeWrites(access.grants[0].writes), /create, update, patch, delete, deletecollection RBAC \(Roles, RoleBindings\)/);
    });

    it("a role the set does not hold (nor Kubernetes' defaults) is unknown, not guessed", () => {
        const access = writeAccess(new Inventory(subjects([binding("ClusterRoleBinding", "b", { kind: "ClusterRole", name: "somewhere-else" }, [{ kind: "Group", name: "g" }])])));
        assert.deepEqual(access.grants, []);
        assert.deepEqual(access.unknown.map((u) => u.roleRef), ["ClusterRole somewhere-else"]);
    });
});

describe("semantics: usergroups without usergroup labels", () => {
    const inventory = (file: string) => new Inventory(subjects(fixtureObjects(path.join(FIXTURES, "nothing-crosses-usergroups", file))));

    it("revisions default and canary of one istiod namespace are one usergroup, istio-injection=enabled included", () => {
        const inv = inventory("clean-istio-canary-layout.yaml");
        assert.deepEqual([...inv.revisions.keys()].sort(), ["canary", "default"]);
        for (const n of ["istio-system", "test-ns", "test-ns-canary"]) assert.equal(inv.usergroupOf(n), "istio-system", n);
    });

    it("tags resolve to their revision's usergroup", () => {
        const inv = inventory("clean-istio-canary-tags.yaml");
        assert.deepEqual([...inv.tags.keys()].sort(), ["prod-canary", "prod-stable"]);
        assert.equal(inv.usergroupOf("test-ns"), "istio-system");
        assert.equal(inv.usergroupOf("test-ns-canary"), "istio-system");
    });

    it("a revision alone in its namespace keeps its name; a usergroup label wins; an unresolved istio.io/rev names itself", () => {
        const release = (name: string, namespace: string, revision: string): KubeObject => ({ apiVersion: "mesh-tenancy.io/v1", kind: "HelmRelease", metadata: { name, namespace }, spec: { chart: "istiod", values: { revision } } });
        const inv = new Inventory(subjects([ns("istio-a"), ns("istio-b", { usergroup: "team-b" }), release("a", "istio-a", "a"), release("b", "istio-b", "b"), ns("x", { "istio.io/rev": "a" }), ns("y", { "istio.io/rev": "b" }), ns("z", { "istio.io/rev": "gone" })]));
        assert.deepEqual(["x", "y", "z"].map((n) => inv.usergroupOf(n)), ["a", "team-b", "gone"]);
    });
});

describe("semantics: a namespace's role by effect", () => {
    it("a control plane namespace is system whatever it claims; a system claim without one is a tenant; shared stays shared", () => {
        const release: KubeObject = { apiVersion: "mesh-tenancy.io/v1", kind: "HelmRelease", metadata: { name: "istiod", namespace: "cp" }, spec: { chart: "istiod", values: { revision: "r" } } };
        const role = "mesh-tenancy.io/role";
        const inv = new Inventory(subjects([release, ns("cp", { [role]: "tenant" }), ns("fake", { [role]: "system" }), ns("common", { [role]: "shared" }), ns("plain")]));
        assert.deepEqual(["cp", "fake", "common", "plain"].map((n) => inv.roleOf(n)), ["system", "tenant", "shared", undefined]);
    });

    it("Istio's images and the gateway chart's `auto` image are the control plane; anything else, or an injected app, is not", () => {
        const deployment = (images: string[], annotations: Record<string, string> = {}) =>
            readWorkload({ object: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "cp" }, spec: { template: { metadata: { annotations }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } } } }, origin: {} })!;
        assert.equal(isIstioControlPlaneWorkload(deployment(["docker.io/istio/pilot:1.31.0"])), true);
        assert.equal(isIstioControlPlaneWorkload(deployment(["gcr.io/istio-release/ztunnel:1.31.0-distroless@sha256:abc"])), true);
        assert.equal(isIstioControlPlaneWorkload(deployment(["auto"], { "inject.istio.io/templates": "gateway" })), true);
        assert.equal(isIstioControlPlaneWorkload(deployment(["auto"])), false);
        assert.equal(isIstioControlPlaneWorkload(deployment(["example.com/app:1", "docker.io/istio/proxyv2:1.31.0"])), false);
        assert.equal(isIstioControlPlaneWorkload(deployment([])), undefined, "no image shown: cannot be told");
    });
});

describe("MT022 platform operators are exempt only as configured", () => {
    const dir = path.join(FIXTURES, "who-may-write-a-tenant");
    const run = (file: string, config: Record<string, unknown>) => evaluate(RULES, subjects(fixtureObjects(path.join(dir, file))), { "who-may-write-a-tenant": config }).filter((v) => v.rule.id === "MT022").map((v) => v.code);

    it("a configured group is exempt from a cluster-wide grant, and from nothing without the config", () => {
        assert.deepEqual(run("violating-escalation.yaml", {}), ["MT2204"]);
        assert.deepEqual(run("violating-escalation.yaml", { platformOperatorGroups: ["team-a"] }), []);
        assert.deepEqual(run("violating-cluster-wide-writer.yaml", { platformOperatorGroups: ["team-a"] }), ["MT2205"]);
    });

    it("Kubernetes' own components (the reserved system: prefix) are the platform's; every-requester groups are not", () => {
        const objects = (subject: Record<string, string>) => [...fixtureObjects(path.join(dir, "clean.yaml")), binding("ClusterRoleBinding", "k", { kind: "ClusterRole", name: "cluster-admin" }, [subject])];
        const codes = (subject: Record<string, string>) => evaluate(RULES, subjects(objects(subject)), {}).filter((v) => v.rule.id === "MT022").map((v) => v.code);
        assert.deepEqual(codes({ kind: "Group", name: "system:masters" }), []);
        assert.deepEqual(codes({ kind: "User", name: "system:kube-controller-manager" }), []);
        assert.deepEqual(codes({ kind: "Group", name: "system:authenticated" }), ["MT2203"]);
        assert.deepEqual(codes({ kind: "User", name: "system:anonymous" }), ["MT2203"]);
        assert.deepEqual(codes({ kind: "Group", name: "system:serviceaccounts:app-g" }), ["MT2204"]);
    });

    it("a namespace outside the tenancy is not judged, whoever may write it", () => {
        const objects = [...fixtureObjects(path.join(dir, "clean.yaml")), ns("scratch"), binding("RoleBinding", "open", { kind: "ClusterRole", name: "admin" }, [{ kind: "Group", name: "system:authenticated" }], "scratch")];
        assert.deepEqual(evaluate(RULES, subjects(objects), {}).filter((v) => v.rule.id === "MT022"), []);
        const inTenant = [...objects, binding("RoleBinding", "open", { kind: "ClusterRole", name: "admin" }, [{ kind: "Group", name: "system:authenticated" }], "app-b")];
        assert.deepEqual(evaluate(RULES, subjects(inTenant), {}).filter((v) => v.rule.id === "MT022").map((v) => v.code), ["MT2203"]);
    });

    it("a tenant's service account is exempt only when named as a user", () => {
        assert.deepEqual(run("violating-cluster-admin-to-tenant-sa.yaml", { platformOperatorUsers: ["system:serviceaccount:app-a:other"] }), ["MT2204"]);
        assert.deepEqual(run("violating-cluster-admin-to-tenant-sa.yaml", { platformOperatorUsers: ["system:serviceaccount:app-a:web"] }), []);
    });
});
