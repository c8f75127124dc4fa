import * as assert from "node:assert/strict";
import fc from "fast-check";
import { contextOf, meshAdmission, ruleSources } from "../../policy/semantics/authorization";
import { effectiveExportTo, exportedTo } from "../../policy/semantics/exportTo";
import { isGatewayApiGateway, isIstioGateway, podsOfGateway } from "../../policy/semantics/gateways";
import { dataplaneOf, Injector, injectionOf, sharedProbe } from "../../policy/semantics/injection";
import { Inventory } from "../../policy/semantics/inventory";
import { l3Admission } from "../../policy/semantics/networkPolicy";
import type { KubeObject, Subject } from "../../policy/semantics/objects";
import { peerAuthenticationOf } from "../../policy/semantics/mtls";
import { meshView } from "../../policy/semantics/reachability";
import { evaluate, PackConfig } from "../../policy/lib/engine";
import { RULES } from "../../policy/rules";
import { LabelSelector, SelectorIndex, selects } from "../../policy/semantics/selectors";
import { istiodWorkloads, readBy } from "../../policy/semantics/revisions";
import { importsOf, sidecarFor } from "../../policy/semantics/sidecarScope";
import { SourceSet } from "../../policy/semantics/sources";
import { hypotheticalWorkload, Workload } from "../../policy/semantics/workloads";

/**
 * One clean two-usergroup tenancy (blue: app-a, app-b, shared common; green: app-x), each test adding or changing one
 * object. Expectations follow Istio's and Kubernetes' documented behaviour.
 */
const ns = (name: string, labels: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
const istiod = (rev: string, namespace: string, extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: "mesh-tenancy.io/v1",
    kind: "HelmRelease",
    metadata: { name: `istiod-${rev}`, namespace },
    spec: { chart: "istiod", version: "1.31.0", values: { revision: rev, global: { istioNamespace: namespace }, meshConfig: { rootNamespace: namespace, trustDomain: "cluster.local", discoverySelectors: [{ matchLabels: { usergroup: rev } }], defaultServiceExportTo: ["."], ...extra } } },
});
const deployment = (name: string, namespace: string, labels: Record<string, string> = { app: name }, annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: { template: { metadata: { labels, annotations }, spec: { serviceAccountName: name, containers: [{ name, image: "x" }], ...spec } } },
});
const sidecar = (name: string, namespace: string, spec: Record<string, unknown>, labels?: Record<string, string>): KubeObject => ({ apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec });
const policy = (name: string, namespace: string, spec: Record<string, unknown>, annotations?: Record<string, string>, labels?: Record<string, string>): KubeObject => ({
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name, namespace, ...(annotations ? { annotations } : {}), ...(labels ? { labels } : {}) },
    spec,
});
const netpol = (name: string, namespace: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace }, spec });

function base(): KubeObject[] {
    return [
        ns("istio-blue", { usergroup: "blue", "mesh-tenancy.io/role": "system" }),
        ns("istio-green", { usergroup: "green", "mesh-tenancy.io/role": "system" }),
        istiod("blue", "istio-blue"),
        istiod("green", "istio-green"),
        ns("app-a", { usergroup: "blue", "istio.io/rev": "blue", "mesh-tenancy.io/role": "tenant" }),
        ns("app-b", { usergroup: "blue", "istio.io/rev": "blue", "mesh-tenancy.io/role": "tenant" }),
        ns("common", { usergroup: "blue", "istio.io/rev": "blue", "mesh-tenancy.io/role": "shared" }),
        ns("app-x", { usergroup: "green", "istio.io/rev": "green", "mesh-tenancy.io/role": "tenant" }),
        sidecar("default", "istio-blue", { egress: [{ hosts: ["./*", "istio-blue/*"] }] }),
        sidecar("default", "app-a", { egress: [{ hosts: ["./*", "istio-blue/*", "common/*"] }] }),
        deployment("web", "app-a"),
    ];
}

function inventoryOf(objects: KubeObject[]): Inventory {
    return new Inventory(objects.map((object): Subject => ({ object, origin: {} })));
}

function workload(inv: Inventory, name: string, namespace = "app-a"): Workload {
    const w = inv.workloadsIn(namespace).find((x) => x.name === name);
    assert.ok(w, `no workload ${namespace}/${name}`);
    return w;
}

const rev = (inv: Inventory, name: string) => inv.revisions.get(name)!;

describe("semantics: labels two injector webhooks both accept", () => {
    const hook = (namespaceSelector: LabelSelector, objectSelector: LabelSelector = {}) => ({ namespaceSelector, objectSelector }) as unknown as Injector;
    const rev = (values: string[]) => ({ matchExpressions: [{ key: "istio.io/rev", operator: "In", values }, { key: "istio-injection", operator: "DoesNotExist" }] });

    it("finds the labels both require, and none where their requirements contradict", () => {
        assert.deepEqual(sharedProbe(hook(rev(["blue"])), hook(rev(["green", "blue"]))), { namespace: { "istio.io/rev": "blue" }, pod: {} });
        assert.deepEqual(sharedProbe(hook(rev(["green", "blue"])), hook(rev(["blue"]))), { namespace: { "istio.io/rev": "blue" }, pod: {} }, "in either order");
        assert.equal(sharedProbe(hook(rev(["blue"])), hook(rev(["green"]))), undefined);
        assert.equal(sharedProbe(hook(rev(["blue"])), hook({ matchLabels: { "istio-injection": "enabled" } })), undefined, "DoesNotExist against a required label");
        assert.deepEqual(sharedProbe(hook({ matchLabels: { team: "a" } }), hook({ matchExpressions: [{ key: "env", operator: "Exists" }] })), { namespace: { team: "a", env: "true" }, pod: {} });
        const object = (values: string[]) => hook({}, { matchExpressions: [{ key: "istio.io/rev", operator: "In", values }] });
        assert.equal(sharedProbe(object(["blue"]), object(["green"])), undefined);
        assert.deepEqual(sharedProbe(object(["blue"]), object(["blue"])), { namespace: {}, pod: { "istio.io/rev": "blue" } });
    });
});

describe("semantics: data plane (sidecar, ambient or neither)", () => {
    /** The mode of deployment `web` in namespace `amb`, given the namespace's labels and the pods' labels and annotations. */
    const modeOf = (nsLabels: Record<string, string>, podLabels: Record<string, string> = {}, annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}) => {
        const inv = inventoryOf([...base(), ns("amb", { usergroup: "blue", ...nsLabels }), deployment("web", "amb", { app: "web", ...podLabels }, annotations, spec)]);
        return dataplaneOf(inv, workload(inv, "web", "amb")).mode;
    };
    const AMBIENT = { "istio.io/dataplane-mode": "ambient" };

    it("a namespace labelled ambient puts its pods in ambient mode, unless a pod is labelled none", () => {
        assert.equal(modeOf(AMBIENT), "ambient");
        assert.equal(modeOf(AMBIENT, { "istio.io/dataplane-mode": "none" }), "none");
        assert.equal(modeOf({ "istio-injection": "disabled", ...AMBIENT }), "ambient");
    });

    it("a pod labelled ambient joins ambient mode in any namespace that does not inject it", () => {
        assert.equal(modeOf({}, AMBIENT), "ambient");
        assert.equal(modeOf({ "istio.io/dataplane-mode": "none" }, AMBIENT), "ambient");
        assert.equal(modeOf({}), "none");
    });

    it("injection wins: the injector ignores the mode label and a pod with a sidecar is never enrolled", () => {
        assert.equal(modeOf({ "istio.io/rev": "blue", ...AMBIENT }), "sidecar");
        assert.equal(modeOf({ "istio.io/rev": "blue" }, AMBIENT), "sidecar");
        assert.equal(modeOf({ "istio.io/rev": "blue", ...AMBIENT }, { "sidecar.istio.io/inject": "false" }), "ambient");
        // A revision that does not exist injects nothing, so the namespace's ambient label takes the pods.
        assert.equal(modeOf({ "istio.io/rev": "purple", ...AMBIENT }), "ambient");
    });

    it("pods on the host network join neither; a pod istio-cni already enrolled is ambient", () => {
        assert.equal(modeOf(AMBIENT, {}, {}, { hostNetwork: true }), "none");
        assert.equal(modeOf({}, {}, { "ambient.istio.io/redirection": "enabled" }), "ambient");
    });
});

describe("semantics: injection (which revision meshes a pod)", () => {
    const meshedBy = (objects: KubeObject[], name = "web", namespace = "app-a") => {
        const inv = inventoryOf(objects);
        const i = injectionOf(inv, workload(inv, name, namespace));
        return i.meshed ? i.revision!.name : `no: ${i.reason}`;
    };

    it("the namespace's istio.io/rev picks the injector", () => {
        assert.equal(meshedBy(base()), "blue");
    });

    it("istio-injection=disabled beside istio.io/rev turns injection off", () => {
        const objects = base();
        objects[4] = ns("app-a", { usergroup: "blue", "istio.io/rev": "blue", "istio-injection": "disabled" });
        assert.match(meshedBy(objects), /^no: namespace label istio-injection=disabled/);
    });

    it("the pod label and the pod annotation sidecar.istio.io/inject=false opt out; host networking is never injected", () => {
        assert.match(meshedBy([...base(), deployment("job", "app-a", { app: "job", "sidecar.istio.io/inject": "false" })], "job"), /^no: pod label/);
        assert.match(meshedBy([...base(), deployment("job", "app-a", { app: "job" }, { "sidecar.istio.io/inject": "false" })], "job"), /^no: annotation/);
        assert.match(meshedBy([...base(), deployment("job", "app-a", { app: "job" }, {}, { hostNetwork: true })], "job"), /^no: pods on the host network/);
    });

    it("a namespace's istio.io/rev overrides a pod's; in an unlabelled namespace the pod's label picks the revision", () => {
        assert.equal(meshedBy([...base(), deployment("odd", "app-a", { app: "odd", "istio.io/rev": "green" })], "odd"), "blue");
        const objects = [...base(), ns("plain", {}), deployment("pinned", "plain", { app: "pinned", "istio.io/rev": "green" }), deployment("bare", "plain")];
        assert.equal(meshedBy(objects, "pinned", "plain"), "green");
        assert.match(meshedBy(objects, "bare", "plain"), /^no: neither the namespace nor the pods ask for injection/);
    });

    it("reads the pod template of every workload kind (CronJob: jobTemplate)", () => {
        const cron: KubeObject = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "nightly", namespace: "app-a" }, spec: { jobTemplate: { spec: { template: { metadata: { labels: { "sidecar.istio.io/inject": "false" } }, spec: {} } } } } };
        assert.match(meshedBy([...base(), cron], "nightly"), /^no: pod label/);
    });

    it("learns a revision from its injector ConfigMap alone", () => {
        const objects = base().filter((o) => o.metadata.name !== "istiod-green");
        objects.push({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "istio-sidecar-injector-green", namespace: "istio-green", labels: { "istio.io/rev": "green" } }, data: { config: "{}" } });
        const inv = inventoryOf(objects);
        assert.equal(inv.revisions.get("green")?.namespace, "istio-green");
    });

    it("reports every injector webhook that matches: two revisions on one namespace", () => {
        const hook: KubeObject = {
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "MutatingWebhookConfiguration",
            metadata: { name: "istio-sidecar-injector-green", labels: { "istio.io/rev": "green" } },
            webhooks: [{ name: "rev.namespace.sidecar-injector.istio.io", clientConfig: { service: { name: "istiod-green", namespace: "istio-green" } }, namespaceSelector: { matchLabels: { usergroup: "blue" } } }],
        } as KubeObject;
        const inv = inventoryOf([...base(), hook]);
        assert.deepEqual([...new Set(injectionOf(inv, workload(inv, "web")).matched.map((i) => i.revision.name))].sort(), ["blue", "green"]);
    });
});

describe("semantics: config ownership and Sidecar scope", () => {
    it("a config object labelled for another revision is invisible; one labelled with a tag of this revision is read", () => {
        const foreign = { object: policy("p", "app-a", {}, undefined, { "istio.io/rev": "green" }), origin: {} };
        const inv = inventoryOf(base());
        assert.equal(readBy(inv, foreign, rev(inv, "blue")), false);
        assert.equal(readBy(inv, foreign, rev(inv, "green")), false, "green does not discover app-a");
        inv.tags.set("stable", rev(inv, "blue"));
        assert.equal(readBy(inv, { object: policy("p", "app-a", {}, undefined, { "istio.io/rev": "stable" }), origin: {} }, rev(inv, "blue")), true);
    });

    it("picks the workload Sidecar that selects the pods, else the namespace's, else the root's, else none", () => {
        const objects = [...base(), sidecar("web-only", "app-a", { workloadSelector: { labels: { app: "web" } }, egress: [{ hosts: ["./*"] }] }), deployment("other", "app-a"), deployment("b", "app-b")];
        const inv = inventoryOf(objects);
        const blue = rev(inv, "blue");
        assert.equal(sidecarFor(inv, workload(inv, "web"), blue).sidecar?.object.metadata.name, "web-only");
        assert.equal(sidecarFor(inv, workload(inv, "other"), blue).how, "namespace");
        assert.equal(sidecarFor(inv, workload(inv, "b", "app-b"), blue).how, "root");
        assert.deepEqual([...importsOf(inv, workload(inv, "b", "app-b"), blue).namespaces], ["app-b", "istio-blue"], "root Sidecar's ./ is the proxy's own namespace");
        const noRoot = inventoryOf(objects.filter((o) => !(o.kind === "Sidecar" && o.metadata.namespace === "istio-blue")).concat(deployment("c", "app-b")));
        assert.equal(sidecarFor(noRoot, workload(noRoot, "c", "app-b"), rev(noRoot, "blue")).how, "none");
        assert.deepEqual([...importsOf(noRoot, workload(noRoot, "c", "app-b"), rev(noRoot, "blue")).namespaces].sort(), ["app-a", "app-b", "common", "istio-blue"], "unscoped: everything blue discovers, nothing of green");
    });

    it("a Sidecar without egress imports everything the revision discovers, whatever the root Sidecar says", () => {
        const objects = base().filter((o) => !(o.kind === "Sidecar" && o.metadata.namespace === "app-a"));
        objects.push(sidecar("default", "app-a", { outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } }));
        const inv = inventoryOf(objects);
        const imports = importsOf(inv, workload(inv, "web"), rev(inv, "blue"));
        assert.equal(imports.everything, true);
        assert.equal(imports.namespaces.has("app-x"), false);
    });

    it("two workload Sidecars selecting the same pods compete", () => {
        const objects = [...base(), sidecar("one", "app-a", { workloadSelector: { labels: { app: "web" } }, egress: [{ hosts: ["./*"] }] }), sidecar("two", "app-a", { workloadSelector: { labels: { app: "web" } }, egress: [{ hosts: ["./*"] }] })];
        const inv = inventoryOf(objects);
        assert.equal(sidecarFor(inv, workload(inv, "web"), rev(inv, "blue")).competing.length, 1);
    });
});

describe("semantics: exportTo", () => {
    it("declared values win; otherwise the revision's mesh default; otherwise Istio's `*`", () => {
        const inv = inventoryOf(base());
        const svc = (annotations?: Record<string, string>): Subject => ({ object: { apiVersion: "v1", kind: "Service", metadata: { name: "s", namespace: "app-a", ...(annotations ? { annotations } : {}) } }, origin: {} });
        assert.deepEqual(effectiveExportTo(svc(), rev(inv, "blue")), ["."]);
        assert.deepEqual(effectiveExportTo(svc({ "networking.istio.io/exportTo": "app-b, common" }), rev(inv, "blue")), ["app-b", "common"]);
        const vs: Subject = { object: { apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "v", namespace: "app-a" }, spec: {} }, origin: {} };
        assert.deepEqual(effectiveExportTo(vs, rev(inv, "blue")), ["*"], "defaultVirtualServiceExportTo unset");
        assert.equal(exportedTo(["."], "app-a", "app-a"), true);
        assert.equal(exportedTo(["."], "app-a", "app-b"), false);
        assert.equal(exportedTo(["~"], "app-a", "app-a"), false);
        assert.equal(exportedTo(["*"], "app-a", "app-x"), true);
    });
});

describe("semantics: mesh admission (AuthorizationPolicy)", () => {
    const admits = (extra: KubeObject[], name = "web") => {
        const inv = inventoryOf([...base(), ...extra]);
        return meshAdmission(inv, workload(inv, name), rev(inv, "blue")).sources;
    };
    const allowFrom = (source: Record<string, unknown>) => policy("allow", "app-a", { rules: [{ from: [{ source }] }] });

    it("no ALLOW policy admits everyone; an ALLOW policy without rules admits no one", () => {
        assert.equal(admits([]).isAny, true);
        assert.equal(admits([policy("allow-nothing", "app-a", {})]).isEmpty, true);
    });

    it("dry-run and AUDIT policies enforce nothing", () => {
        assert.equal(admits([policy("a", "app-a", { rules: [{ from: [{ source: { namespaces: ["app-a"] } }] }] }, { "istio.io/dry-run": "true" })]).isAny, true);
        assert.equal(admits([policy("a", "app-a", { action: "AUDIT", rules: [{}] })]).isAny, true);
    });

    it("principals pin namespaces by trust domain; wildcards and other trust domains are read as Istio matches them", () => {
        assert.deepEqual([...admits([allowFrom({ principals: ["cluster.local/ns/app-b/sa/client"] })].slice()).names], ["app-b"]);
        assert.deepEqual([...admits([allowFrom({ principals: ["cluster.local/ns/app-b/sa/*"] })]).names], ["app-b"]);
        assert.equal(admits([allowFrom({ principals: ["other.domain/ns/app-b/sa/client"] })]).isEmpty, true);
        assert.equal(admits([allowFrom({ principals: ["cluster.local/*"] })]).cofinite, true);
        assert.equal(admits([allowFrom({ principals: ["*/ns/app-b/sa/client"] })]).has("app-b"), true);
        assert.equal(admits([allowFrom({ principals: ["*/ns/app-b/sa/client"] })]).has("app-x"), false);
        assert.equal(admits([allowFrom({ principals: ["cluster.local/ns/app-*"] })]).cofinite, true, "a namespace prefix admits namespaces created later");
    });

    it("address blocks and request principals admit every namespace; beside a principal they narrow nothing away", () => {
        assert.equal(admits([allowFrom({ ipBlocks: ["10.0.0.0/8"] })]).isAny, true);
        assert.equal(admits([allowFrom({ requestPrincipals: ["*"] })]).isAny, true);
        assert.deepEqual([...admits([allowFrom({ ipBlocks: ["10.0.0.0/8"], namespaces: ["app-b"] })]).names], ["app-b"]);
    });

    it("a rule without from admits everyone, even narrowed by `to`; `when` on source.namespace narrows", () => {
        assert.equal(admits([policy("a", "app-a", { rules: [{ to: [{ operation: { methods: ["GET"] } }] }] })]).isAny, true);
        assert.deepEqual([...admits([policy("a", "app-a", { rules: [{ when: [{ key: "source.namespace", values: ["common"] }] }] })]).names], ["common"]);
    });

    it("DENY refuses only the sources every request of which it matches; notNamespaces denies the rest", () => {
        const denyAllBut = policy("deny", "app-a", { action: "DENY", rules: [{ from: [{ source: { notNamespaces: ["app-a", "app-b"] } }] }] });
        const s = admits([denyAllBut]);
        assert.equal(s.has("app-b"), true);
        assert.equal(s.has("app-x"), false);
        assert.equal(s.has("never-seen"), false);
        const denyPath = policy("deny", "app-a", { action: "DENY", rules: [{ from: [{ source: { namespaces: ["app-x"] } }], to: [{ operation: { paths: ["/admin"] } }] }] });
        assert.equal(admits([denyPath]).has("app-x"), true, "only /admin is refused");
    });

    it("selectors, the root namespace and targetRefs decide which workloads a policy covers", () => {
        assert.equal(admits([policy("a", "app-a", { selector: { matchLabels: { app: "other" } }, rules: [] })]).isAny, true, "selects other pods");
        assert.equal(admits([policy("a", "istio-blue", { rules: [] })]).isEmpty, true, "root namespace policy applies to every workload");
        assert.equal(admits([policy("a", "app-a", { targetRefs: [{ kind: "Service", group: "", name: "web" }], rules: [] })]).isAny, true, "Service targets bind waypoints, not sidecars");
    });

    it("possible vs certain matching of a rule", () => {
        const ctx = contextOf(inventoryOf(base()), undefined);
        const rule = { from: [{ source: { principals: ["cluster.local/ns/app-b/sa/one"] } }] };
        assert.equal(ruleSources(rule, ctx, "possible").sources.has("app-b"), true);
        assert.equal(ruleSources(rule, ctx, "certain").sources.has("app-b"), false);
    });
});

describe("semantics: L3 admission (NetworkPolicy)", () => {
    const l3 = (extra: KubeObject[]) => {
        const inv = inventoryOf([...base(), ...extra]);
        return l3Admission(inv, workload(inv, "web")).sources;
    };
    it("a pod no ingress policy selects accepts everything; an egress-only policy does not isolate ingress", () => {
        assert.equal(l3([]).isAny, true);
        assert.equal(l3([netpol("e", "app-a", { podSelector: {}, policyTypes: ["Egress"] })]).isAny, true);
    });
    it("one all-pod policy with allow rules isolates: only its sources get in", () => {
        const s = l3([netpol("allow", "app-a", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "app-b" } } }] }] })]);
        assert.deepEqual([...s.names], ["app-b"]);
        assert.equal(s.cofinite, false);
    });
    it("a rule without from, `namespaceSelector: {}` and ipBlocks admit every namespace; podSelector alone the own one", () => {
        assert.equal(l3([netpol("n", "app-a", { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] })]).isAny, true);
        assert.equal(l3([netpol("n", "app-a", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] })]).isAny, true);
        assert.equal(l3([netpol("n", "app-a", { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }] })]).isAny, true);
        assert.deepEqual([...l3([netpol("n", "app-a", { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })]).names], ["app-a"]);
    });
    it("a selector that only excludes labels also admits namespaces the object set does not hold", () => {
        const s = l3([netpol("n", "app-a", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: "usergroup", operator: "NotIn", values: ["green"] }] } }] }] })]);
        assert.equal(s.cofinite, true);
        assert.equal(s.has("app-x"), false);
    });
});

describe("semantics: L3 admission on one port", () => {
    const from = (namespace: string) => [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } }];
    const ported = (ports: unknown[], spec: Record<string, unknown> = {}) => {
        const objects = [...base(), netpol("n", "app-a", { podSelector: {}, ingress: [{ from: from("app-b"), ports }] })];
        if (Object.keys(spec).length > 0) objects[objects.findIndex((o) => o.kind === "Deployment")] = deployment("web", "app-a", { app: "web" }, {}, spec);
        const inv = inventoryOf(objects);
        return (port?: number, protocol?: string) => l3Admission(inv, workload(inv, "web"), port === undefined ? undefined : { port, ...(protocol ? { protocol } : {}) });
    };
    const admitsB = (a: ReturnType<ReturnType<typeof ported>>) => a.sources.has("app-b");

    it("without a port, a rule's ports do not narrow who gets in (as before)", () => {
        const at = ported([{ port: 80 }]);
        assert.equal(admitsB(at()), true);
        assert.deepEqual([...at().sources.names], ["app-b"]);
        assert.equal(at().summary, "1 NetworkPolicy admit app-b");
    });
    it("a numeric port admits its sources on that port only; TCP is the default protocol on both sides", () => {
        const at = ported([{ port: 80 }]);
        assert.equal(admitsB(at(80)), true);
        assert.equal(admitsB(at(80, "TCP")), true);
        assert.equal(admitsB(at(8080)), false);
        assert.equal(admitsB(at(80, "UDP")), false);
        assert.equal(at(8080).policies.length, 1, "the pod stays isolated on ports no rule opens");
        assert.equal(at(8080).sources.isEmpty, true);
        assert.match(at(80).summary, /on TCP 80$/);
    });
    it("`endPort` makes a range, inclusive at both ends; a protocol-only entry covers every port of that protocol", () => {
        const range = ported([{ protocol: "TCP", port: 15010, endPort: 15012 }]);
        assert.deepEqual([15009, 15010, 15011, 15012, 15013].map((p) => admitsB(range(p))), [false, true, true, true, false]);
        const udp = ported([{ protocol: "UDP" }]);
        assert.equal(admitsB(udp(53, "UDP")), true);
        assert.equal(admitsB(udp(53)), false);
    });
    it("an absent or empty `ports` covers every port", () => {
        assert.equal(admitsB(ported([])(15010)), true);
        const inv = inventoryOf([...base(), netpol("n", "app-a", { podSelector: {}, ingress: [{ from: from("app-b") }] })]);
        assert.equal(l3Admission(inv, workload(inv, "web"), { port: 15010 }).sources.has("app-b"), true);
    });
    it("a named port resolves against the pod's container ports (init containers too), by name and number", () => {
        const containers = { containers: [{ name: "web", image: "x", ports: [{ name: "http", containerPort: 8080 }] }], initContainers: [{ name: "agent", image: "y", restartPolicy: "Always", ports: [{ name: "metrics", containerPort: 9090, protocol: "TCP" }] }] };
        const http = ported([{ port: "http" }], containers);
        assert.equal(admitsB(http(8080)), true);
        assert.equal(admitsB(http(9090)), false);
        assert.equal(admitsB(ported([{ port: "metrics" }], containers)(9090)), true);
        assert.equal(admitsB(ported([{ port: "grpc" }], containers)(8080)), false, "a name no container declares opens nothing");
        assert.equal(admitsB(ported([{ protocol: "UDP", port: "http" }], containers)(8080)), false, "the entry's protocol still has to match");
    });
    it("where the container ports are not known, a named port is taken to match any port", () => {
        const inv = inventoryOf([...base(), netpol("n", "app-b", { podSelector: {}, ingress: [{ from: from("app-a"), ports: [{ port: "http" }] }] })]);
        const standIn = hypotheticalWorkload("app-b", inv.namespaces.get("app-b")!.subject);
        assert.equal(standIn.containerPorts, undefined);
        assert.equal(l3Admission(inv, standIn, { port: 15010 }).sources.has("app-a"), true);
        assert.equal(l3Admission(inv, standIn, { port: 15010, protocol: "UDP" }).sources.has("app-a"), false);
    });
    it("the workload reading knows its container ports, TCP by default", () => {
        const inv = inventoryOf([...base().filter((o) => o.kind !== "Deployment"), deployment("web", "app-a", { app: "web" }, {}, { containers: [{ name: "web", image: "x", ports: [{ name: "http", containerPort: 8080 }, { containerPort: 53, protocol: "UDP" }] }] })]);
        assert.deepEqual(workload(inv, "web").containerPorts, [
            { name: "http", containerPort: 8080, protocol: "TCP" },
            { containerPort: 53, protocol: "UDP" },
        ]);
        assert.deepEqual(workload(inventoryOf(base()), "web").containerPorts, []);
    });
});

describe("semantics: istiod's pods", () => {
    it("are its Deployment when the set holds one, else the chart's pods in its namespace, else none", () => {
        const inv = inventoryOf(base());
        const [chart] = istiodWorkloads(inv, inv.revisions.get("blue")!);
        assert.deepEqual(chart.labels, { app: "istiod", "istio.io/rev": "blue" });
        assert.equal(chart.namespace, "istio-blue");
        assert.equal(chart.subject.object.kind, "HelmRelease");
        assert.equal(chart.containerPorts, undefined);
        const pods = deployment("istiod-blue", "istio-blue", { app: "istiod", "istio.io/rev": "blue" }, {}, { containers: [{ name: "discovery", image: "pilot:1.31.0", ports: [{ name: "grpc-xds", containerPort: 15010 }] }] });
        pods.metadata.labels = { app: "istiod", "istio.io/rev": "blue" };
        const withDeployment = inventoryOf([...base(), pods]);
        assert.deepEqual(istiodWorkloads(withDeployment, withDeployment.revisions.get("blue")!).map((w) => `${w.kind} ${w.name}`), ["Deployment istiod-blue"]);
        const webhook: KubeObject = { apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", metadata: { name: "istio-sidecar-injector-red", labels: { "istio.io/rev": "red" } }, webhooks: [{ name: "rev.namespace.sidecar-injector.istio.io", clientConfig: { service: { name: "istiod-red", namespace: "istio-red" } } }] } as KubeObject;
        const byName = inventoryOf([...base(), webhook]);
        assert.ok(byName.revisions.has("red"));
        assert.deepEqual(istiodWorkloads(byName, byName.revisions.get("red")!), [], "known only by name: nothing to judge");
    });
});

describe("semantics: gateways", () => {
    it("a Gateway API Gateway is not an Istio Gateway", () => {
        const api: Subject = { object: { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: { name: "g", namespace: "app-a" } }, origin: {} };
        assert.equal(isIstioGateway(api), false);
        assert.equal(isGatewayApiGateway(api), true);
    });
    it("an Istio Gateway configures matching pods of other namespaces unless their revision scopes gateways to their namespace", () => {
        const gw: KubeObject = { apiVersion: "networking.istio.io/v1", kind: "Gateway", metadata: { name: "g", namespace: "app-b" }, spec: { selector: { istio: "ingress" } } };
        const pods = deployment("ingress", "app-a", { istio: "ingress" });
        const open = inventoryOf([...base(), pods, gw]);
        assert.deepEqual(podsOfGateway(open, { object: gw, origin: {} }).map((b) => b.effective), [true]);
        const scoped = [...base(), pods, gw];
        scoped[2] = { ...istiod("blue", "istio-blue") };
        (scoped[2].spec as any).values.pilot = { env: { PILOT_SCOPE_GATEWAY_TO_NAMESPACE: "true" } };
        assert.deepEqual(podsOfGateway(inventoryOf(scoped), { object: gw, origin: {} }).map((b) => b.effective), [false]);
    });
});

describe("semantics: sets and reachability", () => {
    it("set algebra keeps cofinite sets cofinite", () => {
        const any = SourceSet.any("r");
        assert.equal(any.minus(SourceSet.of(["a"])).has("a"), false);
        assert.equal(any.minus(SourceSet.of(["a"])).has("b"), true);
        assert.deepEqual([...SourceSet.of(["a", "b"]).intersect(SourceSet.allExcept(["b"])).names], ["a"]);
        assert.equal(SourceSet.of(["a"]).union(SourceSet.allExcept(["a", "b"])).has("a"), true);
    });
    it("a namespace with no workload is judged by a stand-in pod with no labels", () => {
        const inv = inventoryOf(base());
        const view = meshView(inv);
        assert.equal(view.workloadsOf("app-b")[0].hypothetical, true);
        assert.equal(view.view(hypotheticalWorkload("app-b", inv.namespaces.get("app-b")!.subject)).injection.meshed, true);
    });
    it("calls need both an import and admission", () => {
        const objects = [...base(), policy("allow", "app-a", { rules: [{ from: [{ source: { namespaces: ["app-b"] } }] }] })];
        objects.push(sidecar("default", "app-b", { egress: [{ hosts: ["./*", "app-a/*"] }] }));
        objects.push({ apiVersion: "v1", kind: "Service", metadata: { name: "private", namespace: "app-a" } });
        const calls = meshView(inventoryOf(objects)).calls().map((c) => `${c.source}->${c.destination}`);
        assert.ok(!calls.includes("app-b->app-a"), "app-a's Services are private by the mesh default");
        objects.push({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "app-a", annotations: { "networking.istio.io/exportTo": ".,app-b" } } });
        const after = meshView(inventoryOf(objects)).calls().map((c) => `${c.source}->${c.destination}`);
        assert.ok(after.includes("app-b->app-a"));
        assert.ok(!after.includes("common->app-a"), "common imports nothing of app-a");
    });
});

describe("semantics: SelectorIndex (items found by the labels their selectors require)", () => {
    const keys = ["app", "istio.io/rev", "istio-injection", "team"];
    const values = ["a", "b", "c"];
    const requirement = fc.record({
        key: fc.constantFrom(...keys),
        operator: fc.constantFrom("In", "NotIn", "Exists", "DoesNotExist", "Bogus"),
        values: fc.array(fc.constantFrom(...values), { maxLength: 2 }),
    });
    const selector: fc.Arbitrary<LabelSelector> = fc.record(
        { matchLabels: fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), { maxKeys: 2 }), matchExpressions: fc.array(requirement, { maxLength: 3 }) },
        { requiredKeys: [] },
    );
    const labels = fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), { maxKeys: 4 });

    it("returns exactly the items whose every selector selects its part's labels, in the items' order (500 random sets)", () => {
        fc.assert(
            fc.property(fc.array(fc.tuple(selector, selector), { maxLength: 12 }), fc.array(fc.tuple(labels, labels), { minLength: 1, maxLength: 5 }), (items, lookups) => {
                const index = new SelectorIndex(items, (item) => item);
                for (const [a, b] of lookups) {
                    const expected = items.filter(([sa, sb]) => selects(sa, a) && selects(sb, b));
                    assert.deepEqual(index.selecting([a, b]), expected);
                }
            }),
            { numRuns: 500 },
        );
    });

    it("an In requirement with no values selects nothing; a selector requiring no label is tried for every lookup", () => {
        const none = { matchExpressions: [{ key: "app", operator: "In", values: [] }] };
        const all = {};
        const index = new SelectorIndex([none, all], (s) => [s]);
        assert.deepEqual(index.selecting([{ app: "a" }]), [all]);
        assert.deepEqual(index.selecting([{}]), [all]);
    });
});

describe("semantics: mutual TLS (PeerAuthentication levels, ports, CA topology)", () => {
    const pa = (name: string, namespace: string, spec: Record<string, unknown>, labels?: Record<string, string>): KubeObject => ({ apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec });
    const modeOf = (objects: KubeObject[], port?: string) => {
        const inv = inventoryOf(objects);
        const view = peerAuthenticationOf(inv, workload(inv, "web"), rev(inv, "blue"));
        return port === undefined ? view.mode : (view.ports.get(port) ?? view.mode);
    };
    const STRICT_ROOT = pa("default", "istio-blue", { mtls: { mode: "STRICT" } });

    it("nothing applies: PERMISSIVE; the root namespace's policy applies mesh-wide", () => {
        assert.equal(modeOf(base()), "PERMISSIVE");
        assert.equal(modeOf([...base(), STRICT_ROOT]), "STRICT");
    });

    it("the most specific level that declares a mode wins; UNSET inherits", () => {
        assert.equal(modeOf([...base(), STRICT_ROOT, pa("ns", "app-a", { mtls: { mode: "PERMISSIVE" } })]), "PERMISSIVE");
        assert.equal(modeOf([...base(), STRICT_ROOT, pa("ns", "app-a", { mtls: { mode: "UNSET" } })]), "STRICT");
        assert.equal(modeOf([...base(), STRICT_ROOT, pa("ns", "app-a", { mtls: { mode: "PERMISSIVE" } }), pa("web", "app-a", { selector: { matchLabels: { app: "web" } }, mtls: { mode: "STRICT" } })]), "STRICT");
        assert.equal(modeOf([...base(), STRICT_ROOT, pa("other", "app-a", { selector: { matchLabels: { app: "other" } }, mtls: { mode: "DISABLE" } })]), "STRICT", "a selector that does not match");
    });

    it("port-level modes only on a policy with a selector, UNSET on a port inherits", () => {
        const sel = { selector: { matchLabels: { app: "web" } } };
        assert.equal(modeOf([...base(), STRICT_ROOT, pa("web", "app-a", { ...sel, portLevelMtls: { "9090": { mode: "PERMISSIVE" } } })], "9090"), "PERMISSIVE");
        assert.equal(modeOf([...base(), STRICT_ROOT, pa("web", "app-a", { ...sel, portLevelMtls: { "9090": { mode: "UNSET" } } })], "9090"), "STRICT");
        assert.equal(modeOf([...base(), STRICT_ROOT, pa("ns", "app-a", { portLevelMtls: { "9090": { mode: "PERMISSIVE" } } })], "9090"), "STRICT", "ignored without a selector");
    });

    it("a policy labelled for another revision is not read", () => {
        assert.equal(modeOf([...base(), pa("default", "istio-blue", { mtls: { mode: "STRICT" } }, { "istio.io/rev": "green" })]), "PERMISSIVE");
    });

    describe("CA topology", () => {
        // app-a admits app-x (usergroup green, its own istiod in istio-green) by principal, at L3 too.
        const crossing = (): KubeObject[] => [
            ...base(),
            STRICT_ROOT,
            pa("default", "istio-green", { mtls: { mode: "STRICT" } }),
            sidecar("default", "app-x", { egress: [{ hosts: ["./*", "app-a/*"] }] }),
            policy("allow-partner", "app-a", { action: "ALLOW", rules: [{ from: [{ source: { principals: ["cluster.local/ns/app-x/sa/client", "cluster.local/ns/app-a/sa/*"] } }] }] }),
        ];

        it("shared roots: the partner gets through; separate roots: refused at the handshake, and said why", () => {
            const inv = inventoryOf(crossing());
            const w = workload(inv, "web");
            assert.ok(meshView(inv).view(w).admitted.has("app-x"));
            const separate = meshView(inv, "per-usergroup").view(w);
            assert.ok(!separate.admitted.has("app-x"));
            assert.ok(separate.refusedAtHandshake.has("app-x"));
            assert.match(separate.refusedAtHandshake.why("app-x").join(" "), /another root \(per-usergroup CA\).*STRICT from PeerAuthentication istio-blue\/default/);
            assert.ok(separate.admitted.has("app-a"), "its own usergroup shares the root");
        });

        it("separate roots do not help a sidecar that accepts plaintext", () => {
            const inv = inventoryOf([...crossing(), pa("default", "app-a", { mtls: { mode: "PERMISSIVE" } })]);
            assert.ok(meshView(inv, "per-usergroup").view(workload(inv, "web")).admitted.has("app-x"));
        });

        it("MT015 reports the latent opening as MT1503 under separate roots and as MT1501 otherwise", () => {
            const subjects = crossing().map((object): Subject => ({ object, origin: {} }));
            const codes = (config: PackConfig) => evaluate(RULES, subjects, config).filter((v) => v.rule.id === "MT015" && v.subject.object.kind === "Deployment").map((v) => v.code);
            assert.deepEqual(codes({}), ["MT1501"]);
            assert.deepEqual(codes({ "nothing-crosses-usergroups": { caTopology: "per-usergroup" } }), ["MT1503"]);
            assert.throws(() => evaluate(RULES, subjects, { "nothing-crosses-usergroups": { caTopology: "separate" } }), /nothing-crosses-usergroups.caTopology: must be one of shared-root, per-usergroup, got "separate"/);
        });
    });
});

describe("semantics: the revision-less istiod's injectors", () => {
    // The istio-discovery chart installed without a revision renders the `rev.` pair for `istio.io/rev=default` beside
    // the legacy `istio-injection` / `sidecar.istio.io/inject` pair (mutatingwebhook.yaml).
    const objects = (nsLabels: Record<string, string>, podLabels: Record<string, string> = { app: "web" }) => [
        ns("istio-system", { "mesh-tenancy.io/role": "system" }),
        istiod("default", "istio-system"),
        ns("app-a", nsLabels),
        deployment("web", "app-a", podLabels),
    ];
    const meshedBy = (nsLabels: Record<string, string>, podLabels?: Record<string, string>) => {
        const inv = inventoryOf(objects(nsLabels, podLabels));
        const i = injectionOf(inv, workload(inv, "web"));
        return i.meshed ? i.revision!.name : "none";
    };

    it("injects namespaces labelled istio.io/rev=default, istio-injection=enabled, and pods labelled either way", () => {
        assert.equal(meshedBy({ "istio.io/rev": "default" }), "default");
        assert.equal(meshedBy({ "istio-injection": "enabled" }), "default");
        assert.equal(meshedBy({}, { app: "web", "istio.io/rev": "default" }), "default");
        assert.equal(meshedBy({}, { app: "web", "sidecar.istio.io/inject": "true" }), "default");
        assert.equal(meshedBy({ "istio.io/rev": "default", "istio-injection": "disabled" }), "none");
        assert.equal(meshedBy({}), "none");
    });
});
