import * as assert from "node:assert/strict";
import * as path from "path";
import { planTenancy, plannedObjects, KubeObject } from "../../plan";
import { ROOT, loadStack } from "../harness/configs";
import { expectExit, kubectlJson, pulumi, Run, stackFileVariant } from "./harness";

const STACK = "local";
const POLICY = ["--policy-pack", "policy", "--policy-pack-config", "policy/config/dev.json"];
const timings: Record<string, number> = {};
const timed = (what: string, r: Run) => ((timings[what] = Math.round(r.seconds * 10) / 10), r);

/** The plural resource name kubectl takes for each kind the plan creates. */
const RESOURCE: Record<string, string> = {
    Namespace: "namespaces",
    Sidecar: "sidecars.networking.istio.io",
    Gateway: "gateways.networking.istio.io",
    PeerAuthentication: "peerauthentications.security.istio.io",
    AuthorizationPolicy: "authorizationpolicies.security.istio.io",
    NetworkPolicy: "networkpolicies.networking.k8s.io",
    RoleBinding: "rolebindings.rbac.authorization.k8s.io",
    ResourceQuota: "resourcequotas",
};

describe("the real engine against a local control plane", function () {
    this.timeout(20 * 60 * 1000);
    const plan = planTenancy(loadStack(STACK));
    const tenantNamespaces = plan.namespaces.map((n) => n.name);

    before(() => {
        expectExit(pulumi(["stack", "select", "--create", STACK]), 0, "select stack");
    });

    after(() => {
        console.log(`      e2e timings (s): ${JSON.stringify(timings)}`);
    });

    it("1. preview with the policy pack passes", () => {
        const r = timed("preview", expectExit(pulumi(["preview", "--stack", STACK, ...POLICY]), 0, "preview"));
        assert.match(r.stdout, /mesh-tenancy@v0\.1\.0/);
        assert.match(r.stdout, /\+ \d+ to create/);
    });

    it("2. the policy pack refuses a stack that breaks isolation, naming the rules", () => {
        const cwd = path.join(ROOT, "test", "e2e", "rogue-team");
        expectExit(pulumi(["stack", "select", "--create", "rogue"], { cwd }), 0, "select rogue stack");
        const r = timed("refused preview", pulumi(["preview", "--stack", "rogue", "--policy-pack", path.join(ROOT, "policy")], { cwd }));
        const out = r.stdout + r.stderr;
        assert.notEqual(r.code, 0, out);
        assert.match(out, /revision-label-without-injection-label/);
        assert.match(out, /sidecar-hosts-within-usergroup/);
        assert.match(out, /\[MT007\] Sidecar payments\/default: egress host "\*\/\*" imports from every namespace/);
    });

    it("3. up creates what the plan says", () => {
        timed("up", expectExit(pulumi(["up", "--yes", "--skip-preview", "--stack", STACK, ...POLICY]), 0, "up"));
        for (const expected of plannedObjects(plan)) {
            const { kind, metadata } = expected;
            const live = kubectlJson(["get", RESOURCE[kind], metadata.name, ...(metadata.namespace ? ["-n", metadata.namespace] : [])]);
            assertContains(live, expected, `${kind} ${metadata.namespace ?? ""}/${metadata.name}`);
        }
    });

    it("3. up installs each revision's istiod with its discovery selectors and private exportTo defaults", () => {
        for (const cp of plan.controlPlanes) {
            const cm = kubectlJson(["get", "configmap", `istio-${cp.revision}`, "-n", cp.systemNamespace]);
            assert.equal(cm.metadata.labels["istio.io/rev"], cp.revision);
            assert.match(cm.data.mesh, new RegExp(`usergroup: ${cp.usergroup}`));
            assert.match(cm.data.mesh, /defaultServiceExportTo:\s*\n\s*- \./);
            const deployment = kubectlJson(["get", "deployment", `istiod-${cp.revision}`, "-n", cp.systemNamespace]);
            const env = Object.fromEntries(deployment.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
            assert.equal(env.ENABLE_ENHANCED_RESOURCE_SCOPING, "true");
            assert.equal(env.PILOT_SCOPE_GATEWAY_TO_NAMESPACE, "true");
        }
        const gateways = kubectlJson(["get", "deployments", "-A", "-l", "mesh-tenancy.io/gateway"]).items;
        assert.deepEqual(gateways.map((d: any) => d.metadata.namespace).sort(), plan.namespaces.filter((n) => n.gateway).map((n) => n.name).sort());
    });

    it("4. a second up reports no changes", () => {
        const r = timed("second up", expectExit(pulumi(["up", "--yes", "--expect-no-changes", "--stack", STACK, ...POLICY]), 0, "second up"));
        assert.doesNotMatch(r.stdout, /[+~-] \d+ to (create|update|delete|replace)/);
    });

    it("5. adding one tenant previews creates of that tenant only, plus the admissions the plan says change", () => {
        const add = (usergroups: any[]) => usergroups[0].tenants.push({ name: "newcomer", egress: ["payments/*"] });
        const file = stackFileVariant(STACK, add);
        const r = timed("diff preview", expectExit(pulumi(["preview", "--diff", "--json", "--stack", STACK, "--config-file", file]), 0, "preview with a new tenant"));
        const steps: { op: string; urn: string }[] = JSON.parse(r.stdout).steps;
        const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
        const byOp = (op: string) => steps.filter((s) => s.op === op).map((s) => nameOf(s.urn)).sort();

        const before = resourcesByName(plan);
        const after = resourcesByName(planTenancy(loadStack(STACK, (raw) => add(raw.usergroups))));
        const created = [...after.keys()].filter((n) => !before.has(n)).sort();
        const updated = [...after.keys()].filter((n) => before.has(n) && before.get(n) !== after.get(n)).sort();

        assert.ok(created.length >= 5 && created.every((n) => n.startsWith("newcomer")), created.join(", "));
        assert.deepEqual(byOp("create"), ["newcomer", ...created].sort(), "creates: the tenant's component and its objects");
        // The namespaces the newcomer imports must now admit it: the plan says which policies change, and nothing else does.
        assert.deepEqual(byOp("update"), updated);
        assert.ok(updated.every((n) => /^(payments|common-a)-(authz|allow-permitted)$/.test(n)), updated.join(", "));
        assert.deepEqual(steps.filter((s) => !["same", "create", "update"].includes(s.op)), []);
    });

    it("6. destroy removes every tenant namespace", () => {
        timed("destroy", expectExit(pulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK]), 0, "destroy"));
        const remaining = kubectlJson(["get", "namespaces"]).items.map((n: any) => n.metadata.name);
        for (const ns of [...tenantNamespaces, ...plan.controlPlanes.map((cp) => cp.systemNamespace)]) {
            assert.ok(!remaining.includes(ns), `namespace ${ns} still exists`);
        }
        const crds = kubectlJson(["get", "crd"]).items.map((c: any) => c.metadata.name);
        assert.ok(crds.includes("sidecars.networking.istio.io"), "Istio CRDs are retained on destroy");
    });
});

/** Each planned object's content by resource name. */
function resourcesByName(p: ReturnType<typeof planTenancy>): Map<string, string> {
    const objects = [
        ...p.controlPlanes.flatMap((cp) => [cp.namespace, ...cp.objects]),
        ...p.namespaces.flatMap((n) => [n.namespace, ...n.objects, ...(n.gateway?.objects ?? [])]),
    ];
    return new Map(objects.map((o) => [o.resourceName, JSON.stringify(o.object)]));
}

/** Every field the plan sets is on the live object with the same value (the server adds its own fields). */
function assertContains(live: any, expected: KubeObject | any, where: string): void {
    const walk = (l: any, e: any, at: string) => {
        if (e !== null && typeof e === "object" && !Array.isArray(e)) {
            for (const [k, v] of Object.entries(e)) walk(l?.[k], v, `${at}.${k}`);
        } else {
            assert.deepEqual(normalise(l), normalise(e), `${where}: ${at}`);
        }
    };
    walk(live, expected, "");
}

/** The API server writes quantities back as strings. */
function normalise(value: unknown): unknown {
    return typeof value === "number" ? String(value) : Array.isArray(value) ? value.map(normalise) : value;
}
