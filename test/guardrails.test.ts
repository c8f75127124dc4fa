import * as assert from "node:assert/strict";
import fc from "fast-check";
import { parseConfig } from "../model/config";
import { NamespacePlan, planTenancy, TenancyPlan } from "../plan";
import { GUARDRAIL_ANNOTATION_PREFIX, GUARDRAIL_ID, GUARDRAIL_PARAM_ANNOTATIONS, GUARDRAILS, guardrailIdOf, guardrailsFor, policyGuardrailScopes, TENANT_ISTIO_ROLE } from "../plan/guardrails";
import { FINDING_CODE, RULE_ID } from "../policy/lib/catalogue";
import { RULES } from "../policy/rules";
import { loadStack, validConfig } from "./harness/configs";
import { validRawConfig } from "./harness/generate";

const RUNS = 200;

/** The parameters on the namespace's annotations, as the policies split them. */
function params(n: NamespacePlan): Record<string, string[]> & { trustDomain: string[] } {
    const annotations = n.namespace.object.metadata.annotations ?? {};
    return Object.fromEntries(
        Object.entries(GUARDRAIL_PARAM_ANNOTATIONS).map(([field, key]) => {
            assert.ok(key in annotations, `${n.name} has no annotation ${key}`);
            return [field, annotations[key].split(",").filter((x) => x !== "")];
        }),
    ) as any;
}

const byName = (plan: TenancyPlan, name: string) => plan.namespaces.find((n) => n.name === name)!;
const kindsOf = (plan: TenancyPlan, kind: string) => [...plan.guardrails.policies, ...plan.guardrails.bindings].map((p) => p.object).filter((o) => o.kind === kind);

describe("admission guardrails: plan → parameters", () => {
    const local = planTenancy(loadStack("local"));

    it("gives each namespace its revision, importable namespaces, export peers and admitted namespaces (local stack)", () => {
        assert.deepEqual(params(byName(local, "shop")), {
            revisions: ["team-a"],
            // own, system, shared, the declared peer and the workload Sidecar's import
            importableNamespaces: ["common-a", "istio-team-a", "ledger", "payments", "shop"],
            exportPeers: ["common-a", "ledger", "payments"],
            admittedNamespaces: ["istio-team-a", "shop"],
            trustDomain: ["cluster.local"],
        });
        assert.deepEqual(params(byName(local, "payments")), {
            revisions: ["team-a"],
            importableNamespaces: ["common-a", "istio-team-a", "payments"],
            // shop imports payments: payments may export to it, and admits it
            exportPeers: ["common-a", "shop"],
            admittedNamespaces: ["istio-team-a", "payments", "shop"],
            trustDomain: ["cluster.local"],
        });
        assert.deepEqual(params(byName(local, "analytics")), {
            revisions: ["team-b"],
            importableNamespaces: ["analytics", "reports", "team-b"],
            exportPeers: ["reports"],
            admittedNamespaces: ["analytics", "reports", "team-b"],
            trustDomain: ["cluster.local"],
        });
    });

    it("puts the parameters on the namespace itself, under the guardrails' annotation prefix, and nothing else there", () => {
        for (const n of local.namespaces) {
            const keys = Object.keys(n.namespace.object.metadata.annotations ?? {});
            assert.deepEqual(keys.filter((k) => k.startsWith(GUARDRAIL_ANNOTATION_PREFIX)).sort(), Object.values(GUARDRAIL_PARAM_ANNOTATIONS).sort());
        }
        for (const cp of local.controlPlanes) assert.equal(cp.namespace.object.metadata.annotations, undefined, "system namespaces have no parameters");
    });

    it(`the plan's own Sidecars, exports and AuthorizationPolicies stay inside their namespace's parameters (${RUNS} configs)`, () => {
        fc.assert(
            fc.property(validRawConfig, (raw) => {
                const plan = planTenancy(parseConfig(raw));
                const trustDomain = "cluster.local";
                for (const n of plan.namespaces) {
                    const p = params(n);
                    // The revision and the tags pointing at it, the namespace's own label among them.
                    assert.ok(p.revisions.includes(n.revision) && p.revisions.includes(n.revisionLabel), `${n.name}: ${p.revisions}`);
                    const ug = plan.controlPlanes.find((cp) => cp.systemNamespace === n.systemNamespace)!;
                    assert.ok(p.revisions.every((r) => r === n.revision || ug.tags.some((t) => t.label === r && t.revision === n.revision)), `${n.name}: ${p.revisions}`);
                    for (const o of n.objects.map((x) => x.object)) {
                        if (o.kind === "Sidecar") {
                            for (const host of (o.spec as any).egress.flatMap((e: any) => e.hosts) as string[]) {
                                const target = host.slice(0, host.indexOf("/"));
                                assert.ok(target === "." || p.importableNamespaces.includes(target), `${n.name}: ${host} not importable`);
                            }
                        }
                        if (o.kind === "AuthorizationPolicy" && (o.spec as any).action === "ALLOW") {
                            for (const principal of (o.spec as any).rules.flatMap((r: any) => r.from.flatMap((f: any) => f.source.principals)) as string[]) {
                                assert.ok(p.admittedNamespaces.some((a) => principal.startsWith(`${trustDomain}/ns/${a}/sa/`)), `${n.name}: ${principal} not admitted`);
                            }
                        }
                    }
                    for (const target of n.serviceExportTo) assert.ok(target === "." || p.exportPeers.includes(target), `${n.name}: exportTo ${target} not a peer`);
                    // Peers are the namespaces it imports and those importing it, never itself, its system namespace or another usergroup's.
                    const group = new Set(plan.namespaces.filter((m) => m.usergroup === n.usergroup).map((m) => m.name));
                    assert.ok(p.exportPeers.every((x) => x !== n.name && group.has(x)), `${n.name}: ${p.exportPeers}`);
                    assert.ok(p.admittedNamespaces.every((x) => group.has(x) || x === n.systemNamespace));
                    assert.ok(p.importableNamespaces.every((x) => group.has(x) || x === n.systemNamespace));
                }
            }),
            { numRuns: RUNS },
        );
    });
});

describe("admission guardrails: policies and bindings", () => {
    const enforce = planTenancy(validConfig());
    const warn = planTenancy(validConfig((r) => (r.admissionGuardrails = "warn")));
    const off = planTenancy(validConfig((r) => (r.admissionGuardrails = "off")));

    it("enforce binds with Deny, warn with Warn and Audit, off installs no policy, binding, parameters or Istio role", () => {
        const actions = (plan: TenancyPlan) => [...new Set(kindsOf(plan, "ValidatingAdmissionPolicyBinding").map((b) => JSON.stringify((b.spec as any).validationActions)))];
        assert.deepEqual(actions(enforce), ['["Deny"]']);
        assert.deepEqual(actions(warn), ['["Warn","Audit"]']);
        assert.deepEqual(off.guardrails.policies, []);
        assert.deepEqual(off.guardrails.bindings, []);
        assert.equal(off.guardrails.tenantRole, undefined);
        assert.ok(off.namespaces.every((n) => n.namespace.object.metadata.annotations === undefined));
        assert.ok(off.namespaces.every((n) => !n.objects.some((o) => o.object.metadata.name === "tenant-owners-istio")));
    });

    it("binds every policy once, under its own name", () => {
        const policies = kindsOf(enforce, "ValidatingAdmissionPolicy").map((p) => p.metadata.name);
        const bound = kindsOf(enforce, "ValidatingAdmissionPolicyBinding").map((b) => (b.spec as any).policyName);
        assert.deepEqual([...bound].sort(), [...policies].sort());
        assert.equal(new Set(policies).size, policies.length);
    });

    it("exempts exactly the platform operators the stack names, in every policy", () => {
        const plan = planTenancy(validConfig((r) => (r.platformOperators = { users: ["deployer"], groups: ["ops", "ci"] })));
        for (const p of kindsOf(plan, "ValidatingAdmissionPolicy")) {
            const conditions = (p.spec as any).matchConditions;
            // The workload guardrails also leave the control plane's own writes alone (below).
            assert.equal(conditions.length, p.metadata.name === "mesh-tenancy-workloads" ? 3 : 1, p.metadata.name);
            assert.equal(conditions[0].expression, `!(request.userInfo.username in ["deployer"]) && !request.userInfo.groups.exists(g, g in ["ops", "ci"])`);
        }
    });

    it("leaves to the control plane, in the workload guardrails only, the copies controllers make of judged templates and the Deployments each revision's istiod writes for Gateway API Gateways", () => {
        const plan = planTenancy(loadStack("local"));
        const workloads = kindsOf(plan, "ValidatingAdmissionPolicy").find((p) => p.metadata.name === "mesh-tenancy-workloads")!;
        const [, pods, gateways] = (workloads.spec as any).matchConditions;
        assert.equal(pods.name, "not-a-copy-of-a-judged-template");
        for (const c of ["deployment-controller", "cronjob-controller", "replicaset-controller", "job-controller"]) assert.match(pods.expression, new RegExp(`"system:serviceaccount:kube-system:${c}"`));
        assert.equal(gateways.name, "not-istiod-deploying-a-gateway");
        assert.match(gateways.expression, /\["system:serviceaccount:istio-team-a:istiod-team-a", "system:serviceaccount:team-b:istiod-team-b"\]/);
    });

    it("reads per-namespace parameters from the admitted object's namespace annotations, only in tenant and shared namespaces, failing closed", () => {
        const policies = kindsOf(enforce, "ValidatingAdmissionPolicy");
        for (const b of kindsOf(enforce, "ValidatingAdmissionPolicyBinding")) {
            const policy = policies.find((p) => p.metadata.name === (b.spec as any).policyName)!;
            const spec = policy.spec as any;
            // No parameter object: a core paramKind's informer stops for good once no binding names it (kubernetes#130887).
            assert.equal(spec.paramKind, undefined, policy.metadata.name);
            assert.equal((b.spec as any).paramRef, undefined, policy.metadata.name);
            const cel = JSON.stringify([spec.variables ?? [], spec.validations]);
            assert.ok(!cel.includes("params.data"), `${policy.metadata.name} reads a parameter object`);
            const readsParams = (spec.variables ?? []).some((v: any) => v.name === "params");
            assert.equal(cel.includes("variables.params"), readsParams, `${policy.metadata.name} reads parameters it does not declare`);
            if (!readsParams) continue;
            assert.deepEqual(spec.variables[0], { name: "params", expression: "(has(namespaceObject.metadata.annotations) ? namespaceObject.metadata.annotations : {})" });
            assert.deepEqual((b.spec as any).matchResources.namespaceSelector.matchExpressions, [{ key: "mesh-tenancy.io/role", operator: "In", values: ["tenant", "shared"] }]);
            // The first validation refuses when any parameter is missing; every parameter the policy reads is one of them.
            assert.match(spec.validations[0].messageExpression, /^'\[MT-A5\]/);
            for (const key of Object.values(GUARDRAIL_PARAM_ANNOTATIONS)) assert.ok(spec.validations[0].expression.includes(JSON.stringify(key)), `${policy.metadata.name}: MT-A5 misses ${key}`);
            for (const used of cel.match(/guardrails\.mesh-tenancy\.io\/[a-z-]+/g) ?? []) assert.ok(Object.values(GUARDRAIL_PARAM_ANNOTATIONS).includes(used), `${policy.metadata.name} reads ${used}`);
        }
    });

    it("every message names its guardrail id, and every validation has a message built from the request", () => {
        for (const p of kindsOf(enforce, "ValidatingAdmissionPolicy")) {
            const ids = String(p.metadata.annotations?.["mesh-tenancy.io/guardrails"]).split(",");
            for (const v of (p.spec as any).validations) {
                const id = guardrailIdOf(v.messageExpression);
                assert.ok(id !== undefined && ids.includes(id), `${p.metadata.name}: ${v.messageExpression}`);
                assert.match(v.messageExpression, /allowed/, `${p.metadata.name} ${id}: the message lists what is allowed`);
            }
        }
    });

    it("lists each guardrail once, with the scope of its policy; an MT0NN one mirrors the pack rule of the same id and name, an MT-AN one is admission-only", () => {
        const scopes = policyGuardrailScopes();
        assert.deepEqual([...scopes.keys()].sort(), GUARDRAILS.map((g) => g.id).sort());
        for (const g of GUARDRAILS) {
            assert.match(g.id, GUARDRAIL_ID);
            assert.equal(scopes.get(g.id), g.scope, g.id);
            const rule = RULES.find((r) => r.id === g.id);
            if (g.id.startsWith("MT-A")) assert.equal(rule, undefined, `${g.id} is admission-only`);
            else assert.equal(rule?.name, g.name, `${g.id} mirrors a pack rule`);
            if (g.id.startsWith("MT-A")) assert.ok(!RULE_ID.test(g.id) && !FINDING_CODE.test(g.id), `${g.id} cannot be read as a rule id or a finding code`);
        }
    });

    it("says which guardrails hold in which kind of namespace", () => {
        const ids = (role: "tenant" | "shared" | "system") => guardrailsFor("enforce", role).map((g) => g.id);
        assert.deepEqual(ids("tenant"), ["MT001", "MT005", "MT007", "MT008", "MT009", "MT016", "MT017", "MT025", "MT-A1", "MT-A2", "MT-A3", "MT-A5"]);
        assert.deepEqual(ids("shared"), ids("tenant"));
        assert.deepEqual(ids("system"), ["MT-A1", "MT-A2", "MT-A4"]);
        assert.deepEqual(guardrailsFor("off", "tenant"), []);
    });
});

describe("admission guardrails: the tenant owners' Istio role", () => {
    const plan = planTenancy(validConfig());
    const role = plan.guardrails.tenantRole!.object as any;
    const granted = role.rules.flatMap((r: any) => r.resources.map((res: string) => `${res}.${r.apiGroups[0]}`));

    it("grants the routing, workload Sidecar, policy and telemetry kinds a tenant manages", () => {
        for (const kind of ["virtualservices", "destinationrules", "serviceentries", "sidecars"]) assert.ok(granted.includes(`${kind}.networking.istio.io`), kind);
        for (const kind of ["authorizationpolicies", "requestauthentications"]) assert.ok(granted.includes(`${kind}.security.istio.io`), kind);
        assert.ok(granted.includes("telemetries.telemetry.istio.io"));
        assert.ok(granted.includes("httproutes.gateway.networking.k8s.io"));
    });

    it("never grants proxy patches, mTLS settings, gateways, namespaces or anything cluster-wide", () => {
        for (const kind of ["envoyfilters.networking.istio.io", "wasmplugins.extensions.istio.io", "peerauthentications.security.istio.io", "gateways.networking.istio.io", "gateways.gateway.networking.k8s.io", "namespaces."]) {
            assert.ok(!granted.includes(kind), kind);
        }
        assert.ok(role.rules.every((r: any) => !r.resources.includes("*") && !r.apiGroups.includes("*") && r.nonResourceURLs === undefined));
    });

    it("is bound, beside admin, in exactly the tenant namespaces that have owners, to the same subjects", () => {
        for (const n of plan.namespaces) {
            const admin = n.objects.find((o) => o.object.metadata.name === "tenant-owners")?.object as any;
            const istio = n.objects.find((o) => o.object.metadata.name === "tenant-owners-istio")?.object as any;
            assert.equal(istio === undefined, admin === undefined, n.name);
            if (istio === undefined) continue;
            assert.deepEqual(istio.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: TENANT_ISTIO_ROLE });
            assert.deepEqual(istio.subjects, admin.subjects);
            assert.equal(istio.kind, "RoleBinding");
        }
    });
});
