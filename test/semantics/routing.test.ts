import * as assert from "node:assert/strict";
import { envoyFilterReach, patchEffects, patchNamespaces } from "../../policy/semantics/envoyFilters";
import { injectorWebhooks, webhookTargetOf } from "../../policy/semantics/injection";
import { Inventory } from "../../policy/semantics/inventory";
import type { KubeObject } from "../../policy/semantics/objects";
import { attachedGateways, boundVirtualServices, delegateOf, gatewayRouteNamespaces, referenceGrant, resolveHost, routeTargets, virtualServiceBinding } from "../../policy/semantics/routing";

/**
 * Routing, EnvoyFilter and injector-target semantics over one small usergroup (blue: tenants app-a and app-b, each
 * importing only itself and istio-blue), each test adding the objects it is about. Expectations follow the Istio API
 * reference (VirtualService, Gateway, EnvoyFilter), istio/istio pilot/pkg/model (virtualservice.go, push_context.go),
 * the Gateway API spec (route attachment, ReferenceGrant) and admissionregistration.k8s.io/v1.
 */
const ns = (name: string, labels: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
const tenant = (name: string) => ns(name, { usergroup: "blue", "istio.io/rev": "blue", "mesh-tenancy.io/role": "tenant" });
const base: KubeObject[] = [
    ns("istio-blue", { usergroup: "blue", "mesh-tenancy.io/role": "system" }),
    {
        apiVersion: "mesh-tenancy.io/v1",
        kind: "HelmRelease",
        metadata: { name: "istiod-blue", namespace: "istio-blue" },
        spec: { chart: "istiod", version: "1.31.0", values: { revision: "blue", global: { istioNamespace: "istio-blue" }, meshConfig: { rootNamespace: "istio-blue", discoverySelectors: [{ matchLabels: { usergroup: "blue" } }], defaultServiceExportTo: ["."], defaultVirtualServiceExportTo: ["."] } } },
    },
    tenant("app-a"),
    tenant("app-b"),
    ...["app-a", "app-b"].map((n): KubeObject => ({ apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "default", namespace: n }, spec: { egress: [{ hosts: ["./*", "istio-blue/*"] }] } })),
    { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "app-a" }, spec: { template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "x" }] } } } },
    { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "app-b" }, spec: { template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "x" }] } } } },
];
const inventoryOf = (extra: KubeObject[]) => new Inventory([...base, ...extra].map((object) => ({ object, origin: {} })));
const service = (name: string, namespace: string, exportTo?: string): KubeObject => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace, ...(exportTo ? { annotations: { "networking.istio.io/exportTo": exportTo } } : {}) }, spec: { selector: { app: name } } });
const vs = (name: string, namespace: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name, namespace }, spec });
const subject = (inv: Inventory, kind: string, namespace: string, name: string) => inv.inNamespace(namespace, kind).find((s) => s.object.metadata.name === name)!;
const targets = (inv: Inventory) => routeTargets(inv).map((t) => `${t.kind} ${t.source}->${t.destination}`).sort();

describe("routing semantics", () => {
    it("reads short hosts in the VirtualService's namespace and takes other names literally", () => {
        assert.equal(resolveHost("api", "app-b"), "api.app-b.svc.cluster.local");
        assert.equal(resolveHost("api.app-b", "app-a"), "api.app-b");
        assert.equal(resolveHost("*.example.com", "app-a"), "*.example.com");
    });

    it("binds to mesh without gateways, and reads bare Gateway names in the VirtualService's namespace", () => {
        const inv = inventoryOf([vs("a", "app-a", { hosts: ["x"] }), vs("b", "app-a", { hosts: ["x"], gateways: ["ingress", "app-b/public", "mesh"] }), vs("c", "app-a", { hosts: ["x"], gateways: ["ingress"] })]);
        assert.deepEqual(virtualServiceBinding(subject(inv, "VirtualService", "app-a", "a")), { mesh: true, gateways: [] });
        assert.deepEqual(virtualServiceBinding(subject(inv, "VirtualService", "app-a", "b")), { mesh: true, gateways: ["app-a/ingress", "app-b/public"] });
        assert.deepEqual(virtualServiceBinding(subject(inv, "VirtualService", "app-a", "c")), { mesh: false, gateways: ["app-a/ingress"] });
    });

    it("a Gateway server host without namespace, or with */, takes every namespace's VirtualServices; ./ only its own", () => {
        const gw = (hosts: string[]): KubeObject => ({ apiVersion: "networking.istio.io/v1", kind: "Gateway", metadata: { name: "ingress", namespace: "app-a" }, spec: { servers: [{ port: { number: 80 }, hosts }] } });
        const of = (hosts: string[]) => gatewayRouteNamespaces(subject(inventoryOf([gw(hosts)]), "Gateway", "app-a", "ingress"));
        assert.ok(of(["a.example.com"]).isAny);
        assert.ok(of(["*/a.example.com"]).isAny);
        assert.equal(of(["./a.example.com"]).describe(), "app-a");
        assert.equal(of(["./a.example.com", "app-b/b.example.com"]).describe(), "app-a, app-b");
    });

    it("a VirtualService binds to a Gateway only where a server host takes its namespace and it is exported to the gateway pods' namespace", () => {
        const pods: KubeObject = { apiVersion: "mesh-tenancy.io/v1", kind: "HelmRelease", metadata: { name: "ingress", namespace: "app-a" }, spec: { chart: "gateway", values: { revision: "blue", labels: { "mesh-tenancy.io/gateway": "app-a" } } } };
        const gw = (host: string): KubeObject => ({ apiVersion: "networking.istio.io/v1", kind: "Gateway", metadata: { name: "ingress", namespace: "app-a" }, spec: { selector: { "mesh-tenancy.io/gateway": "app-a" }, servers: [{ port: { number: 80 }, hosts: [host] }] } });
        const takeover = (exportTo: string[]) => vs("takeover", "app-b", { hosts: ["a.example.com"], gateways: ["app-a/ingress"], exportTo, http: [{ route: [{ destination: { host: "web" } }] }] });
        const bound = (host: string, exportTo: string[]) => {
            const inv = inventoryOf([pods, gw(host), takeover(exportTo), service("web", "app-b", ".,app-a")]);
            return { names: boundVirtualServices(inv, subject(inv, "Gateway", "app-a", "ingress")).map((s) => `${s.object.metadata.namespace}/${s.object.metadata.name}`), targets: targets(inv) };
        };
        assert.deepEqual(bound("*/a.example.com", [".", "app-a"]), { names: ["app-b/takeover"], targets: ["route app-a->app-b"] });
        assert.deepEqual(bound("*/a.example.com", ["."]), { names: [], targets: [] }, "not exported to app-a, where the gateway pods run");
        assert.deepEqual(bound("./a.example.com", [".", "app-a"]), { names: [], targets: [] }, "the server takes only app-a's VirtualServices");
        assert.deepEqual(bound("*/b.example.com", [".", "app-a"]), { names: [], targets: [] }, "no server host covers a.example.com");
    });

    it("a mesh route reaches another namespace only where the destination is exported to the sender, and only for senders the VirtualService is exported to", () => {
        const route = vs("to-b", "app-a", { hosts: ["web"], http: [{ route: [{ destination: { host: "web.app-b.svc.cluster.local" } }] }] });
        assert.deepEqual(targets(inventoryOf([route, service("web", "app-b")])), []);
        assert.deepEqual(targets(inventoryOf([route, service("web", "app-b", ".,app-a")])), ["route app-a->app-b"]);
        // Exported to app-b too, the VirtualService is still not applied there: app-b's Sidecar does not import app-a.
        const exported = vs("to-b", "app-a", { hosts: ["web"], exportTo: ["*"], http: [{ route: [{ destination: { host: "web.app-b.svc.cluster.local" } }] }] });
        assert.deepEqual(targets(inventoryOf([exported, service("web", "app-b", "*")])), ["route app-a->app-b"]);
    });

    it("a delegate counts only without hosts and exported to the root's namespace; its short hosts are read in its own namespace; the root's mirror carries over", () => {
        const root = vs("root", "app-a", { hosts: ["web"], http: [{ delegate: { name: "d", namespace: "app-b" }, mirror: { host: "web" } }] });
        const delegate = (spec: Record<string, unknown>) => vs("d", "app-b", { http: [{ route: [{ destination: { host: "web" } }] }], ...spec });
        const refOf = (inv: Inventory) => delegateOf(inv, subject(inv, "VirtualService", "app-a", "root"), { name: "d", namespace: "app-b" });
        assert.equal(refOf(inventoryOf([root, delegate({})])), undefined, "exported only to app-b by the mesh default");
        assert.equal(refOf(inventoryOf([root, delegate({ hosts: ["web"], exportTo: ["*"] })])), undefined, "a VirtualService with hosts is no delegate");
        const inv = inventoryOf([root, delegate({ exportTo: ["app-a"] }), service("web", "app-b", ".,app-a")]);
        assert.ok(refOf(inv) !== undefined);
        assert.deepEqual(targets(inv), ["mirror app-a->app-a", "route app-a->app-b"]);
    });

    it("Gateway API routes attach only through a listener that admits their namespace and kind, and cross namespaces only with a ReferenceGrant", () => {
        const gw: KubeObject = {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "Gateway",
            metadata: { name: "public", namespace: "app-a" },
            spec: { listeners: [{ name: "http", protocol: "HTTP", port: 80 }, { name: "tls", protocol: "TLS", port: 443, allowedRoutes: { namespaces: { from: "All" } } }] },
        };
        const route = (namespace: string, kind: string, sectionName?: string, backend: Record<string, unknown> = { name: "web" }): KubeObject => ({ apiVersion: "gateway.networking.k8s.io/v1", kind, metadata: { name: "r", namespace }, spec: { parentRefs: [{ name: "public", namespace: "app-a", ...(sectionName ? { sectionName } : {}) }], rules: [{ backendRefs: [backend] }] } });
        const attached = (r: KubeObject) => {
            const inv = inventoryOf([gw, r]);
            return attachedGateways(inv, subject(inv, r.kind, r.metadata.namespace!, "r")).length;
        };
        assert.equal(attached(route("app-a", "HTTPRoute")), 1);
        assert.equal(attached(route("app-b", "HTTPRoute")), 0, "the HTTP listener takes routes of its own namespace only (Same)");
        assert.equal(attached(route("app-b", "TLSRoute", "tls")), 1, "the TLS listener takes TLSRoutes from All");
        assert.equal(attached(route("app-b", "HTTPRoute", "tls")), 0, "a TLS listener takes no HTTPRoute");
        const grant = (to: Record<string, unknown>): KubeObject => ({ apiVersion: "gateway.networking.k8s.io/v1beta1", kind: "ReferenceGrant", metadata: { name: "g", namespace: "app-b" }, spec: { from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "app-a" }], to: [to] } });
        const cross = route("app-a", "HTTPRoute", undefined, { name: "web", namespace: "app-b" });
        assert.deepEqual(targets(inventoryOf([gw, cross])), []);
        assert.deepEqual(targets(inventoryOf([gw, cross, grant({ group: "", kind: "Service" })])), ["route app-a->app-b"]);
        const named = inventoryOf([gw, cross, grant({ group: "", kind: "Service", name: "other" })]);
        assert.equal(referenceGrant(named, "HTTPRoute", "app-a", "app-b", "", "Service", "web"), undefined, "a grant naming another Service does not cover web");
        assert.deepEqual(targets(named), []);
    });
});

describe("EnvoyFilter semantics", () => {
    const ef = (name: string, namespace: string, spec: Record<string, unknown>, labels?: Record<string, string>): KubeObject => ({ apiVersion: "networking.istio.io/v1alpha3", kind: "EnvoyFilter", metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec });
    const reach = (filter: KubeObject) => {
        const inv = inventoryOf([filter]);
        return envoyFilterReach(inv, subject(inv, "EnvoyFilter", filter.metadata.namespace!, filter.metadata.name)).namespaces;
    };

    it("reaches its own namespace's proxies, and from the root namespace those of every namespace its revision serves, by selector", () => {
        assert.deepEqual(reach(ef("f", "app-a", {})), ["app-a"]);
        assert.deepEqual(reach(ef("f", "app-a", { workloadSelector: { labels: { app: "other" } } })), []);
        assert.deepEqual(reach(ef("f", "istio-blue", { workloadSelector: { labels: { app: "web" } } })), ["app-a", "app-b"]);
        assert.deepEqual(reach(ef("f", "istio-blue", { workloadSelector: { labels: { app: "web" } } }, { "istio.io/rev": "green" })), [], "labelled for another revision");
    });

    it("a patch reaches sidecars or gateways by its context", () => {
        const rbacOff = (context: string) => ef("f", "app-a", { configPatches: [{ applyTo: "HTTP_FILTER", match: { context, listener: { filterChain: { filter: { name: "envoy.filters.network.http_connection_manager", subFilter: { name: "envoy.filters.http.rbac" } } } } }, patch: { operation: "REMOVE" } }] });
        const of = (context: string) => {
            const inv = inventoryOf([rbacOff(context)]);
            const s = subject(inv, "EnvoyFilter", "app-a", "f");
            return patchNamespaces(envoyFilterReach(inv, s), patchEffects(s)[0]);
        };
        assert.deepEqual(of("SIDECAR_INBOUND"), ["app-a"]);
        assert.deepEqual(of("ANY"), ["app-a"]);
        assert.deepEqual(of("GATEWAY"), [], "app-a runs no gateway");
    });

    it("tells patches that remove authorization, change mTLS or reroute from those that do none of it", () => {
        const touches = (patch: Record<string, unknown>) => patchEffects({ object: ef("f", "app-a", { configPatches: [patch] }), origin: {} })[0].touches.sort();
        const rbac = { listener: { filterChain: { filter: { name: "envoy.filters.network.http_connection_manager", subFilter: { name: "envoy.filters.http.rbac" } } } } };
        assert.deepEqual(touches({ applyTo: "HTTP_FILTER", match: { context: "SIDECAR_INBOUND", ...rbac }, patch: { operation: "REMOVE" } }), ["authorization"]);
        assert.deepEqual(touches({ applyTo: "HTTP_FILTER", match: { context: "SIDECAR_INBOUND", ...rbac }, patch: { operation: "INSERT_AFTER", value: { name: "envoy.filters.http.lua" } } }), []);
        assert.deepEqual(touches({ applyTo: "NETWORK_FILTER", match: { context: "SIDECAR_INBOUND", listener: { filterChain: { filter: { name: "envoy.filters.network.http_connection_manager" } } } }, patch: { operation: "MERGE", value: { typed_config: { http_filters: [] } } } }), ["authorization"]);
        assert.deepEqual(touches({ applyTo: "CLUSTER", match: { context: "SIDECAR_OUTBOUND" }, patch: { operation: "MERGE", value: { transport_socket: { name: "raw" } } } }), ["mtls"]);
        assert.deepEqual(touches({ applyTo: "CLUSTER", match: { context: "SIDECAR_OUTBOUND" }, patch: { operation: "ADD", value: { name: "x" } } }), ["routing"]);
        assert.deepEqual(touches({ applyTo: "FILTER_CHAIN", match: { context: "SIDECAR_INBOUND" }, patch: { operation: "REPLACE", value: {} } }), ["authorization", "mtls"]);
        assert.deepEqual(touches({ applyTo: "FILTER_CHAIN", match: { context: "SIDECAR_OUTBOUND" }, patch: { operation: "REPLACE", value: {} } }), []);
    });
});

describe("injector targets", () => {
    const hook = (client: Record<string, unknown>, failurePolicy?: string) => ({ name: "rev.namespace.sidecar-injector.istio.io", clientConfig: client, ...(failurePolicy ? { failurePolicy } : {}), namespaceSelector: { matchLabels: { "istio.io/rev": "blue" } } });
    const mwc = (h: Record<string, unknown>): KubeObject => ({ apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", metadata: { name: "istio-sidecar-injector-blue-istio-blue", labels: { "istio.io/rev": "blue" } }, webhooks: [h] } as KubeObject);

    it("a Service the istiod chart renders is istiod's; an unknown one is missing; a URL is no Service; failurePolicy is Fail unless Ignore", () => {
        const inv = inventoryOf([]);
        const rendered = webhookTargetOf(inv, hook({ service: { namespace: "istio-blue", name: "istiod-blue" } }));
        assert.equal(rendered.servedBy?.name, "blue");
        assert.equal(rendered.serviceInSet, true);
        assert.equal(rendered.failurePolicy, "Fail");
        const missing = webhookTargetOf(inv, hook({ service: { namespace: "istio-blue", name: "istiod" } }, "Ignore"));
        assert.deepEqual([missing.servedBy, missing.serviceInSet, missing.failurePolicy], [undefined, false, "Ignore"]);
        const url = webhookTargetOf(inv, hook({ url: "https://x.example.com/inject" }));
        assert.deepEqual([url.url, url.serviceInSet], ["https://x.example.com/inject", false]);
    });

    it("a Service object reaches the istiod its selector matches, and the injection model follows it rather than the webhook's labels", () => {
        const green: KubeObject[] = [
            ns("istio-green", { usergroup: "green", "mesh-tenancy.io/role": "system" }),
            { apiVersion: "mesh-tenancy.io/v1", kind: "HelmRelease", metadata: { name: "istiod-green", namespace: "istio-green" }, spec: { chart: "istiod", version: "1.31.0", values: { revision: "green", global: { istioNamespace: "istio-green" } } } },
            { apiVersion: "v1", kind: "Service", metadata: { name: "injector", namespace: "istio-green" }, spec: { selector: { app: "istiod", "istio.io/rev": "green" } } },
        ];
        const inv = inventoryOf([...green, mwc(hook({ service: { namespace: "istio-green", name: "injector" } }))]);
        const [w] = injectorWebhooks(inv);
        assert.equal(w.claimed?.name, "blue");
        assert.equal(w.revision?.name, "green");
        assert.equal(w.target.serviceObject?.object.metadata.name, "injector");
    });

    it("a Service selecting the istiod pods of every revision in its namespace reaches the one the webhook claims (Istio's canary layout)", () => {
        const canary: KubeObject[] = [
            { apiVersion: "mesh-tenancy.io/v1", kind: "HelmRelease", metadata: { name: "istiod-canary", namespace: "istio-blue" }, spec: { chart: "istiod", version: "1.31.0", values: { revision: "canary", global: { istioNamespace: "istio-blue" } } } },
            { apiVersion: "v1", kind: "Service", metadata: { name: "istiod-any", namespace: "istio-blue" }, spec: { selector: { app: "istiod" } } },
        ];
        const inv = inventoryOf(canary);
        const revision = (name: string) => inv.revisions.get(name);
        const client = { service: { namespace: "istio-blue", name: "istiod-any" } };
        assert.equal(webhookTargetOf(inv, hook(client), revision("canary")).servedBy?.name, "canary");
        assert.equal(webhookTargetOf(inv, hook(client), revision("blue")).servedBy?.name, "blue");
    });
});
