import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { localClusterTransform } from "../components";
import { contentsLifecycle } from "../components/lifecycle";
import { Registration } from "./harness/mocks";
import { STACKS, validConfig } from "./harness/configs";
import { registerConfig, runProgram } from "./harness/program";
import { planTenancy, plannedObjects } from "../plan";

const CHART = "kubernetes:helm.sh/v4:Chart";


describe("components under mocks", function () {
    let regs: Registration[];
    let byName: (name: string) => Registration;
    const urnOf = (name: string) => byName(name).urn;

    before(async () => {
        const mocks = await registerConfig(validConfig((r) => (r.protectNamespaces = true)));
        regs = mocks.registrations;
        byName = (name) => mocks.byName(name);
    });

    it("registers the component types with the project's type tokens", () => {
        const types = new Set(regs.map((r) => r.type));
        for (const t of ["MeshTenancy", "IstioBase", "ControlPlane", "TenantNamespace", "TenantGateway"]) {
            assert.ok(types.has(`mesh-tenancy:index:${t}`), t);
        }
        assert.equal(regs.filter((r) => r.type === "mesh-tenancy:index:ControlPlane").length, 2);
        assert.equal(regs.filter((r) => r.type === "mesh-tenancy:index:TenantNamespace").length, 5);
    });

    it("registers namespaces as typed resources with their labels", () => {
        const ns = byName("app-ns-1-ns");
        assert.equal(ns.type, "kubernetes:core/v1:Namespace");
        assert.deepEqual(ns.inputs.metadata.labels, {
            usergroup: "usergroup-1",
            "istio.io/rev": "usergroup-1",
            "mesh-tenancy.io/role": "tenant",
            "app.kubernetes.io/managed-by": "mesh-tenancy",
        });
    });

    it("parents every resource under its component", () => {
        assert.equal(byName("app-ns-1-ns").parent, urnOf("app-ns-1"));
        assert.equal(byName("app-ns-1").parent, urnOf("mesh"));
        assert.equal(byName("usergroup-1-istiod").parent, urnOf("usergroup-1"));
        const gatewayComponent = regs.find((r) => r.type === "mesh-tenancy:index:TenantGateway")!;
        assert.equal(gatewayComponent.parent, urnOf("app-ns-1"));
        const gatewayChart = regs.find((r) => r.type === CHART && r.name === "app-ns-1-ingressgateway")!;
        assert.equal(gatewayChart.parent, gatewayComponent.urn);
        assert.ok(regs.filter((r) => r.type !== "pulumi:pulumi:Stack" && r.name !== "mesh").every((r) => r.parent !== ""), "nothing but the root is unparented");
    });

    it("protects every namespace and everything in it, the base chart and the guardrails, when protectNamespaces is set", () => {
        const namespaces = regs.filter((r) => r.type === "kubernetes:core/v1:Namespace");
        assert.equal(namespaces.length, 7);
        const inside = (r: Registration): boolean => {
            if (["TenantNamespace", "ControlPlane", "IstioBase", "Guardrails"].some((t) => r.type === `mesh-tenancy:index:${t}`)) return true;
            const parent = regs.find((p) => p.urn === r.parent);
            return parent !== undefined && inside(parent);
        };
        const protectedOnes = regs.filter(inside);
        assert.ok(protectedOnes.length > 40, `${protectedOnes.length}`);
        assert.deepEqual(protectedOnes.filter((r) => !r.protect).map((r) => r.name), []);
        assert.deepEqual(regs.filter((r) => !inside(r) && r.protect).map((r) => r.type), [], "only the root component stays unprotected");
        const components = regs.filter((r) => ["TenantNamespace", "ControlPlane", "IstioBase", "Guardrails"].some((t) => r.type === `mesh-tenancy:index:${t}`));
        assert.ok(regs.some((r) => r.type.endsWith(":ValidatingAdmissionPolicy") && r.protect), "the guardrails are protected");
        // A transform carries the protection to what charts render; the namespaces' own objects carry it themselves.
        assert.deepEqual(components.filter((r) => r.transforms.length !== (r.type === "mesh-tenancy:index:TenantNamespace" ? 0 : 1)).map((r) => r.name), []);
        const gateways = regs.filter((r) => r.type === "mesh-tenancy:index:TenantGateway");
        assert.ok(gateways.length > 0 && gateways.every((r) => r.transforms.length === 1 && r.protect));
    });

    it("contents transform: protects or retains everything but the namespace itself", () => {
        const apply = (lifecycle: { protect: boolean; retain: boolean }, type: string) =>
            contentsLifecycle(lifecycle)({ type, name: "x", custom: true, props: {}, opts: { ignoreChanges: ["spec"] } });
        assert.deepEqual(apply({ protect: true, retain: false }, "kubernetes:apps/v1:Deployment"), { props: {}, opts: { ignoreChanges: ["spec"], protect: true } });
        const crd = contentsLifecycle({ protect: true, retain: false })({ type: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", name: "c", custom: true, props: {}, opts: { retainOnDelete: true } });
        assert.equal((crd as pulumi.ResourceTransformResult).opts.retainOnDelete, true, "a resource's own retainOnDelete stands");
        assert.deepEqual(apply({ protect: false, retain: true }, "kubernetes:networking.istio.io/v1:Sidecar"), { props: {}, opts: { ignoreChanges: ["spec"], protect: false, retainOnDelete: true } });
        assert.equal(apply({ protect: false, retain: true }, "kubernetes:core/v1:Namespace"), undefined);
        // The engine runs a component's transforms on the component itself, whose retainOnDelete its children inherit.
        assert.equal(contentsLifecycle({ protect: true, retain: true })({ type: "mesh-tenancy:index:TenantNamespace", name: "t", custom: false, props: {}, opts: {} }), undefined);
    });

    it("a retiring tenant keeps its namespace protected, and its contents are unprotected and retained", async () => {
        const mocks = await registerConfig(validConfig((r) => {
            r.protectNamespaces = true;
            r.usergroups[0].tenants[0].retire = true;
        }));
        const component = mocks.byName("app-ns-1");
        assert.equal(component.protect, false);
        assert.equal(mocks.byName("app-ns-1-ns").protect, true);
        assert.equal(mocks.byName("app-ns-1-ns").retainOnDelete, false, "the namespace is deleted when the tenant leaves, its contents with it");
        const children = mocks.registrations.filter((r) => r.parent === component.urn && r.name !== "app-ns-1-ns");
        assert.ok(children.length >= 4 && children.every((r) => !r.protect), children.map((r) => `${r.name}:${r.protect}`).join(", "));
        assert.ok(children.filter((r) => r.custom).every((r) => r.retainOnDelete), "its objects are retained");
        const gateway = mocks.registrations.find((r) => r.type === "mesh-tenancy:index:TenantGateway" && r.parent === component.urn)!;
        const retire = gateway.transforms[0]({ type: "kubernetes:apps/v1:Deployment", name: "d", custom: true, props: {}, opts: {} });
        assert.deepEqual(retire, { props: {}, opts: { protect: false, retainOnDelete: true } }, "so is what its gateway chart renders");
        assert.equal(mocks.byName("logmonkey").protect, true, "other tenants stay protected");
    });

    it("passes the planned values to the istiod chart, pinned and from the configured source", () => {
        const istiod = regs.find((r) => r.type === CHART && r.name === "usergroup-1-istiod")!;
        assert.equal(istiod.inputs.chart, "istiod");
        assert.equal(istiod.inputs.version, "1.31.0");
        assert.equal(istiod.inputs.namespace, "usergroup-1");
        assert.equal(istiod.inputs.name, "istiod-usergroup-1");
        assert.deepEqual(istiod.inputs.repositoryOpts, { repo: "https://istio-release.storage.googleapis.com/charts" });
        assert.equal(istiod.inputs.values.revision, "usergroup-1");
        assert.deepEqual(istiod.inputs.values.meshConfig.discoverySelectors, [{ matchLabels: { usergroup: "usergroup-1" } }]);
        assert.deepEqual(istiod.inputs.values.pilot.env, { PILOT_SCOPE_GATEWAY_TO_NAMESPACE: "true" });
        assert.deepEqual(istiod.inputs.values.global, { istioNamespace: "usergroup-1", networkPolicy: { enabled: false } });
    });

    it("orders base before istiod before Istio objects and gateways", () => {
        const base = regs.find((r) => r.type === CHART && r.name === "istio-base")!;
        const istiod = regs.find((r) => r.type === CHART && r.name === "usergroup-1-istiod")!;
        assert.ok(istiod.dependencies.includes(base.urn), "istiod waits for base");
        for (const name of ["usergroup-1-mtls-strict", "usergroup-1-root-sidecar", "app-ns-1-sidecar", "app-ns-1-authz"]) {
            assert.ok(byName(name).dependencies.includes(istiod.urn), `${name} waits for istiod`);
        }
        const gatewayChart = regs.find((r) => r.type === CHART && r.name === "app-ns-1-ingressgateway")!;
        assert.ok(gatewayChart.dependencies.includes(istiod.urn), "gateway waits for istiod");
        for (const name of ["app-ns-1-deny-ingress", "app-ns-1-allow-permitted"]) {
            assert.deepEqual(byName(name).dependencies, [urnOf("app-ns-1-ns")], `${name} waits for its namespace only`);
        }
        assert.ok(gatewayChart.dependencies.includes(urnOf("app-ns-1-ns")), "gateway waits for its namespace");
    });

    it("creates whatever lets anyone run or write in a namespace (owners' RoleBinding, gateway) only after all its isolation objects", () => {
        const isolation = regs.filter((r) => r.custom && /TenantNamespace\$kubernetes:[^:]+:(Sidecar|PeerAuthentication|AuthorizationPolicy|NetworkPolicy)::app-ns-1-/.test(r.urn)).map((r) => r.urn);
        assert.ok(isolation.length >= 5, isolation.join(", "));
        const owners = byName("app-ns-1-owners");
        const gatewayChart = regs.find((r) => r.type === CHART && r.name === "app-ns-1-ingressgateway")!;
        const gateway = regs.find((r) => r.type === "mesh-tenancy:index:TenantGateway" && r.name === "app-ns-1-gateway")!;
        for (const urn of isolation) {
            assert.ok(owners.dependencies.includes(urn), `the owners' RoleBinding waits for ${urn}`);
            assert.ok(gateway.dependencies.includes(urn) || gatewayChart.dependencies.includes(urn), `the gateway waits for ${urn}`);
        }
        assert.ok(!byName("app-ns-1-deny-ingress").dependencies.includes(owners.urn), "and isolation never waits for a grant");
    });

    it("registers the guardrails as typed resources, with each namespace's parameters on the namespace everything in it waits for", () => {
        const ns = byName("app-ns-1-ns");
        assert.ok(Object.keys(ns.inputs.metadata.annotations).some((k: string) => k.startsWith("guardrails.mesh-tenancy.io/")));
        for (const name of ["app-ns-1-sidecar", "app-ns-1-authz", "app-ns-1-deny-ingress", "app-ns-1-owners", "app-ns-1-owners-istio"]) {
            assert.ok(byName(name).dependencies.includes(ns.urn), `${name} waits for its namespace`);
        }
        assert.equal(byName("guardrails").type, "mesh-tenancy:index:Guardrails");
        assert.equal(byName("tenant-istio-role").type, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole");
        const policy = byName("guardrail-sidecars");
        assert.equal(policy.type, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy");
        const binding = byName("guardrail-sidecars-binding");
        assert.equal(binding.type, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding");
        assert.ok(binding.dependencies.includes(policy.urn));
    });

    it("registers Istio objects as CustomResources with planned specs", () => {
        const sidecar = byName("app-ns-1-sidecar-permit-logs");
        assert.equal(sidecar.type, "kubernetes:networking.istio.io/v1:Sidecar");
        assert.equal(sidecar.inputs.apiVersion, "networking.istio.io/v1");
        assert.equal(sidecar.inputs.kind, "Sidecar");
        assert.deepEqual(sidecar.inputs.spec.workloadSelector, { labels: { "app.kubernetes.io/name": "batman-app" } });
        assert.equal(byName("app-ns-1-gateway-config").inputs.kind, "Gateway");
        assert.equal(byName("app-ns-1-deny-ingress").type, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
        assert.equal(byName("app-ns-1-owners").type, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding");
    });

    it("keeps Istio's CRDs when the stack is destroyed", async () => {
        const base = regs.find((r) => r.type === CHART && r.name === "istio-base")!;
        assert.equal(base.transforms.length, 1);
        const crd = await base.transforms[0]({ type: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", name: "x", custom: true, props: {}, opts: {} });
        assert.equal(crd?.opts.retainOnDelete, true);
        const other = await base.transforms[0]({ type: "kubernetes:core/v1:ServiceAccount", name: "x", custom: true, props: {}, opts: {} });
        assert.equal(other, undefined);
    });

    it("forces server-side apply on every planned object, and on nothing else", async () => {
        const mocks = await registerConfig(validConfig((r) => (r.smokeWorkloads = true)));
        const planned = plannedObjects(planTenancy(validConfig((r) => (r.smokeWorkloads = true))));
        const custom = mocks.registrations.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith(CHART));
        const forced = custom.filter((r) => r.inputs.metadata?.annotations?.["pulumi.com/patchForce"] === "true");
        const key = (kind: string, ns: string | undefined, name: string) => `${kind} ${ns ?? ""}/${name}`;
        assert.deepEqual(
            forced.map((r) => key(r.inputs.kind ?? r.type.slice(r.type.lastIndexOf(":") + 1), r.inputs.metadata.namespace, r.inputs.metadata.name)).sort(),
            planned.map((o) => key(o.kind, o.metadata.namespace, o.metadata.name)).sort(),
        );
        const smoke = custom.filter((r) => r.inputs.metadata?.name?.startsWith("smoke-"));
        assert.ok(smoke.length > 0 && smoke.every((r) => r.inputs.metadata.annotations?.["pulumi.com/patchForce"] === undefined), "smoke workloads stand for tenants' own");
    });

    it("registers the planned smoke workloads as they are, with kubernetesx, under one component per tenant", async () => {
        const config = validConfig((r) => (r.smokeWorkloads = true));
        const mocks = await registerConfig(config);
        const planned = planTenancy(config).namespaces.flatMap((ns) => ns.smokeWorkloads ?? []);
        assert.equal(planned.length, 12);
        for (const p of planned) {
            const kind = p.object.kind === "Service" ? "kubernetes:core/v1:Service" : "kubernetes:apps/v1:Deployment";
            const registered = mocks.registrations.find((r) => r.type === kind && r.name === p.resourceName);
            assert.ok(registered, `${kind} ${p.resourceName}`);
            // kubernetesx fills in empty lists (env, volumes, …) that the API server drops again; nothing else may differ.
            assert.deepEqual(withoutEmptyLists(registered.inputs), p.object);
            assert.match(registered.parent ?? "", /SmokeWorkloads/);
        }
        const services = mocks.byType("kubernetes:core/v1:Service").filter((s) => s.inputs.metadata.namespace === "logmonkey");
        assert.equal(services.length, 1);
        assert.equal(services[0].inputs.metadata.annotations["networking.istio.io/exportTo"], ".,app-ns-1");
        assert.equal(mocks.byType("kubernetes:apps/v1:Deployment").length, 8, "client and echo in each of four tenants");
        assert.equal(mocks.byType("mesh-tenancy:index:SmokeWorkloads").length, 4, "tenants only, not shared namespaces");
    });

    for (const stack of STACKS) {
        it(`runs index.ts with stacks/Pulumi.${stack}.yaml and exports a summary of what it registered`, async () => {
            const { mocks, exports } = await runProgram(stack);
            const namespaces = mocks.byType("kubernetes:core/v1:Namespace");
            assert.ok(namespaces.length >= 4);
            assert.deepEqual(Object.keys(exports).sort(), ["details", "revisions", "summary"]);
            const { summary, revisions } = exports;
            assert.equal(summary.usergroups, Object.keys(revisions).length);
            assert.equal(summary.usergroups + summary.tenants + summary.sharedNamespaces, namespaces.length);
            assert.equal(summary.gateways, mocks.byType("mesh-tenancy:index:TenantGateway").length);
            for (const [usergroup, r] of Object.entries<any>(revisions)) {
                assert.ok(namespaces.some((n) => n.inputs.metadata.name === r.systemNamespace), `${usergroup}: ${r.systemNamespace}`);
            }
            const protectedCount = namespaces.filter((r) => r.protect).length;
            assert.equal(protectedCount > 0, stack === "prod");
        });
    }

    it("exports every namespace's scoping when the stack sets detailedOutputs", async () => {
        const { mocks, exports } = await runProgram("dev", { "mesh-tenancy:detailedOutputs": "true" });
        assert.deepEqual(Object.keys(exports).sort(), ["details", "expectedConnectivity", "namespaces", "revisions", "summary", "usergroups"]);
        for (const [name, ns] of Object.entries<any>(exports.namespaces)) {
            assert.ok(mocks.registrations.some((r) => r.name === `${name}-ns`), name);
            assert.equal(ns.sidecarEgressHosts[0], "./*");
        }
    });

    it("on a local cluster every object skips readiness waits and deletes in the background, and the namespaces' objects need no transform for it", async function () {
        this.timeout(120_000);
        const { mocks } = await runProgram("local", { "mesh-tenancy:smokeWorkloads": "true" });
        assert.equal(mocks.stackTransforms.length, 0);
        const byUrn = new Map(mocks.registrations.map((r) => [r.urn, r]));
        const under = (r: Registration, type: string): boolean => {
            for (let p = byUrn.get(r.parent); p !== undefined; p = byUrn.get(p.parent)) if (p.type === `mesh-tenancy:index:${type}`) return true;
            return false;
        };
        const objects = mocks.registrations.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/"));
        assert.ok(objects.length > 50);
        for (const r of objects) {
            const { inputs, callbacks } = await mocks.effective(r);
            assert.equal(inputs.metadata?.annotations?.["pulumi.com/deletionPropagationPolicy"], "background", `${r.type} ${r.name}`);
            const awaited = ["Deployment", "Service", "ResourceQuota"].some((k) => r.type.endsWith(`:${k}`));
            assert.equal(inputs.metadata.annotations["pulumi.com/skipAwait"], awaited ? "true" : undefined, `${r.type} ${r.name}`);
            const delegated = ["TenantGateway", "SmokeWorkloads"].some((t) => under(r, t));
            if (under(r, "TenantNamespace") && !delegated) assert.equal(callbacks, 0, `${r.name} is registered ready-made`);
        }
        assert.ok(objects.some((r) => r.type.endsWith(":Deployment")), "smoke workloads are among them");
    });

    it("the local-cluster transform skips readiness waits and deletes in the background", () => {
        const deployment = localClusterTransform({ type: "kubernetes:apps/v1:Deployment", name: "d", custom: true, props: { metadata: { name: "d" } }, opts: {} })!;
        assert.deepEqual(deployment.props.metadata.annotations, { "pulumi.com/deletionPropagationPolicy": "background", "pulumi.com/skipAwait": "true" });
        const ns = localClusterTransform({ type: "kubernetes:core/v1:Namespace", name: "n", custom: true, props: {}, opts: {} })!;
        assert.deepEqual(ns.props.metadata.annotations, { "pulumi.com/deletionPropagationPolicy": "background" });
        assert.equal(localClusterTransform({ type: "kubernetes:helm.sh/v4:Chart", name: "c", custom: false, props: {}, opts: {} }), undefined);
    });
});

function withoutEmptyLists(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(withoutEmptyLists);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
        Object.entries(value)
            .filter(([, v]) => !(Array.isArray(v) && v.length === 0) && v !== undefined)
            .map(([k, v]) => [k, withoutEmptyLists(v)]),
    );
}
