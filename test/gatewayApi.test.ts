import * as assert from "node:assert/strict";
import { ConfigError } from "../model/issues";
import { planTenancy, plannedObjects } from "../plan";
import { evaluate } from "../policy/lib/engine";
import { RULES } from "../policy/rules";
import { deployedGatewayPods, GATEWAY_NAME_LABEL } from "../policy/semantics/gateways";
import { Inventory } from "../policy/semantics/inventory";
import { GATEWAY_LABEL } from "../policy/semantics/labels";
import { attachedRoutes } from "../policy/semantics/routing";
import type { Subject } from "../policy/semantics/objects";
import { renderHtml } from "../report/html";
import { buildReport, renderText } from "../report/report";
import { visibilityModel } from "../report/visibility";
import { loadStack } from "./harness/configs";
import { registerConfig, runProgram } from "./harness/program";
import { checkLocalFiles } from "../model/stack";
import { restoreSdkHooks } from "../runtime";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { packConfig, subjectsOf } from "./harness/registrations";

/** Stack `local` with shop's gateway as a Gateway API Gateway (per tenant, or as the stack's default kind). */
function gatewayApiStack(how: "tenant" | "stack", gateway: Record<string, unknown> = {}) {
    return loadStack("local", (raw) => {
        const shop = raw.usergroups[0].tenants.find((t: any) => t.name === "shop");
        Object.assign(shop.gateway, gateway, how === "tenant" ? { kind: "gateway-api" } : {});
        if (how === "stack") raw.ingress = { kind: "gateway-api" };
    });
}

describe("Gateway API ingress", () => {
    describe("the plan", () => {
        const plan = planTenancy(gatewayApiStack("tenant", { replicas: 3, tlsCredentialName: "shop-cert" }));
        const shop = plan.namespaces.find((n) => n.name === "shop")!;
        const gw = shop.gateway!;
        const gateway = gw.objects.find((o) => o.object.kind === "Gateway")!.object as any;

        it("is a Gateway of class istio with the namespace's revision and no chart", () => {
            assert.equal(gw.kind, "gateway-api");
            assert.equal(gw.release, undefined);
            assert.equal(gateway.apiVersion, "gateway.networking.k8s.io/v1");
            assert.equal(gateway.spec.gatewayClassName, "istio");
            assert.equal(gateway.metadata.labels["istio.io/rev"], shop.namespace.object.metadata.labels!["istio.io/rev"]);
        });

        it("listens for each host on HTTP and, with a credential, HTTPS, admitting routes of its own namespace only", () => {
            assert.deepEqual(
                gateway.spec.listeners.map((l: any) => `${l.name} ${l.protocol}/${l.port} ${l.hostname} ${l.allowedRoutes.namespaces.from}`),
                ["http-0 HTTP/80 shop.local.example.com Same", "https-0 HTTPS/443 shop.local.example.com Same"],
            );
            assert.deepEqual(gateway.spec.listeners[1].tls, { mode: "Terminate", certificateRefs: [{ kind: "Secret", group: "", name: "shop-cert" }] });
        });

        it("takes the service type by Istio's annotation and the replicas by a parameters ConfigMap", () => {
            assert.equal(gateway.metadata.annotations["networking.istio.io/service-type"], "ClusterIP");
            assert.deepEqual(gateway.spec.infrastructure.parametersRef, { group: "", kind: "ConfigMap", name: "ingress-gateway-options" });
            const options = gw.objects.find((o) => o.object.kind === "ConfigMap")!.object as any;
            assert.equal(options.data.deployment, "spec:\n  replicas: 3\n");
        });

        it("gives its pods the label the gateway's AuthorizationPolicy and NetworkPolicy select, as the chart's pods have", () => {
            assert.deepEqual(gateway.spec.infrastructure.labels, { [GATEWAY_LABEL]: "shop" });
            const chartPlan = planTenancy(loadStack("local")).namespaces.find((n) => n.name === "shop")!.gateway!;
            const policies = (p: typeof gw) => p.objects.filter((o) => o.object.kind !== "Gateway" && o.object.kind !== "ConfigMap").map((o) => o.object);
            assert.deepEqual(policies(gw), policies(chartPlan));
        });

        it("follows the stack's default kind, which a tenant's own kind overrides", () => {
            assert.equal(planTenancy(gatewayApiStack("stack")).namespaces.find((n) => n.name === "shop")!.gateway!.kind, "gateway-api");
            const back = loadStack("local", (raw) => {
                raw.ingress = { kind: "gateway-api" };
                raw.usergroups[0].tenants.find((t: any) => t.name === "shop").gateway.kind = "istio";
            });
            assert.equal(planTenancy(back).namespaces.find((n) => n.name === "shop")!.gateway!.kind, "istio");
        });

        it("refuses an unknown kind or CRD source, naming the key", () => {
            assert.throws(() => loadStack("local", (raw) => (raw.ingress = { kind: "nginx" })), (e: unknown) => e instanceof ConfigError && /ingress\.kind/.test(e.message) && /"istio", "gateway-api"/.test(e.message));
            assert.throws(() => loadStack("local", (raw) => (raw.ingress = { gatewayApiCrds: "install" })), (e: unknown) => e instanceof ConfigError && /ingress\.gatewayApiCrds/.test(e.message));
            assert.throws(() => gatewayApiStack("stack", { kind: "envoy" }), (e: unknown) => e instanceof ConfigError && /gateway\.kind/.test(e.message));
        });

        it("refuses, before registering anything, a CRD directory that is missing or holds no manifests, naming the key", async () => {
            const empty = fs.mkdtempSync(path.join(os.tmpdir(), "crds-"));
            for (const directory of [path.join(empty, "missing"), empty]) {
                const { mocks, error } = await runProgram("local", { "mesh-tenancy:ingress": JSON.stringify({ gatewayApiCrds: { directory } }) }).then(
                    (r) => ({ mocks: r.mocks, error: undefined as unknown }),
                    (error: unknown) => ({ mocks: undefined, error }),
                );
                assert.equal(mocks, undefined, "the program does not finish");
                assert.match(String((error as Error).message), /ingress\.gatewayApiCrds\.directory: (cannot read|".*" holds no CRD manifests)/);
            }
            restoreSdkHooks(); // index.ts installed them before it refused the config
            fs.writeFileSync(path.join(empty, "gateways.yaml"), "");
            checkLocalFiles(loadStack("local", (raw) => (raw.ingress = { gatewayApiCrds: { directory: empty } })));
        });

        it("installs the Gateway API CRDs only where the stack names their directory", () => {
            assert.equal(plan.gatewayApiCrds, undefined);
            const withCrds = planTenancy(loadStack("local", (raw) => (raw.ingress = { gatewayApiCrds: { directory: "/crds" } })));
            assert.deepEqual(withCrds.gatewayApiCrds, { directory: "/crds" });
        });
    });

    describe("the model", () => {
        const plan = planTenancy(gatewayApiStack("tenant"));
        const gateway: Subject = { object: plannedObjects(plan).find((o) => o.kind === "Gateway" && o.apiVersion.startsWith("gateway.networking.k8s.io/"))!, origin: {} };

        it("stands the Gateway for the pods istiod deploys: own proxy, the gateway's labels, the revision as an annotation", () => {
            const pods = deployedGatewayPods(gateway)!;
            assert.deepEqual(pods.labels, { [GATEWAY_LABEL]: "shop", [GATEWAY_NAME_LABEL]: "ingress", "sidecar.istio.io/inject": "false" });
            assert.deepEqual(pods.annotations, { "istio.io/rev": "team-a" });
            assert.equal(pods.serviceAccount, "ingress-istio");
            const w = new Inventory([gateway]).workloads().find((x) => x.subject === gateway)!;
            assert.equal(w.hasProxy, true);
            assert.equal(deployedGatewayPods({ object: { ...gateway.object, spec: { ...(gateway.object.spec as any), gatewayClassName: "other" } }, origin: {} }), undefined, "another class's Gateway gets no pods from istiod");
        });

        it("attaches a tenant's own route and not another namespace's route aimed at it", () => {
            const route = (ns: string, name: string): Subject => ({
                object: { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name, namespace: ns }, spec: { parentRefs: [{ name: "ingress", namespace: "shop" }], rules: [{ backendRefs: [{ name: "smoke-echo", port: 80 }] }] } },
                origin: {},
            });
            const subjects = [...plannedObjects(plan).map((object) => ({ object, origin: {} })), route("shop", "storefront"), route("payments", "steal-shop")];
            const inventory = new Inventory(subjects);
            const gw = subjects.find((s) => s.object.kind === "Gateway" && s.object.apiVersion.startsWith("gateway.networking.k8s.io/"))!;
            assert.deepEqual(attachedRoutes(inventory, gw).map((r) => `${r.object.metadata.namespace}/${r.object.metadata.name}`), ["shop/storefront"]);
        });
    });

    describe("the report", () => {
        it("lists both kinds of gateway with their hosts, who may bind routes, the routes bound and the pods, in text, JSON and HTML", async () => {
            const config = loadStack("local", (raw) => {
                raw.usergroups[0].tenants.find((t: any) => t.name === "shop").gateway.kind = "gateway-api";
                raw.usergroups[0].tenants.find((t: any) => t.name === "ledger").gateway = { hosts: ["ledger.local.example.com"], serviceType: "ClusterIP" };
            });
            const route: Subject = { object: { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name: "storefront", namespace: "shop" }, spec: { parentRefs: [{ name: "ingress" }] } }, origin: {} };
            const subjects = [...subjectsOf((await registerConfig(config)).registrations), route];
            const report = buildReport(visibilityModel(subjects), { kind: "stack", name: "local", files: [] });
            const text = renderText(report);
            assert.match(text, /shop\/ingress \(Gateway API, class istio\) hosts shop\.local\.example\.com; routes from shop; bound: shop\/storefront; pods: shop\/ingress-istio/);
            assert.match(text, /ledger\/ingress \(Istio Gateway\) hosts \.\/ledger\.local\.example\.com; routes from ledger[^;]*; bound: none; pods: ledger\/ingressgateway/);
            assert.deepEqual(JSON.parse(JSON.stringify(report)).gateways.map((g: any) => `${g.namespace}/${g.name} ${g.kind}`), ["ledger/ingress istio", "shop/ingress gateway-api"]);
            assert.match(renderHtml(report), /<td>shop\/ingress<\/td><td>Gateway API \(class istio\)<\/td>/);
        });
    });

    describe("the pack", () => {
        it("passes a stack with both kinds, and refuses a Gateway API listener that admits other namespaces' routes (MT1004 beyond the usergroup, MT25xx within it)", async () => {
            const config = loadStack("local", (raw) => {
                raw.usergroups[0].tenants.find((t: any) => t.name === "shop").gateway.kind = "gateway-api";
                raw.usergroups[0].tenants.find((t: any) => t.name === "ledger").gateway = { hosts: ["ledger.local.example.com"], serviceType: "ClusterIP" };
            });
            const subjects = subjectsOf((await registerConfig(config)).registrations);
            assert.deepEqual(evaluate(RULES, subjects, packConfig("dev")).map((v) => `${v.code} ${v.message}`), []);
            const opened = (namespaces: Record<string, unknown>) =>
                subjects.map((s) =>
                    s.object.kind === "Gateway" && s.object.apiVersion.startsWith("gateway.networking.k8s.io/")
                        ? { ...s, object: { ...s.object, spec: { ...(s.object.spec as any), listeners: (s.object.spec as any).listeners.map((l: any) => ({ ...l, allowedRoutes: { namespaces } })) } } }
                        : s,
                );
            // What a real istiod 1.31 wrote for shop's Gateway (read back in test/e2e/gateway-api.e2e.ts, step 2): the
            // checker reading the live objects sees a gateway with its own proxy, not a workload out of the mesh.
            const deployed = (containers: string[]) => ({
                object: {
                    apiVersion: "apps/v1",
                    kind: "Deployment",
                    metadata: { name: "ingress-istio", namespace: "shop", labels: { "gateway.istio.io/managed": "istio.io-gateway-controller", [GATEWAY_NAME_LABEL]: "ingress", [GATEWAY_LABEL]: "shop" }, ownerReferences: [{ apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", name: "ingress", uid: "u" }] },
                    spec: {
                        replicas: 1,
                        selector: { matchLabels: { [GATEWAY_NAME_LABEL]: "ingress" } },
                        template: {
                            metadata: { annotations: { "istio.io/rev": "team-a" }, labels: { "gateway.istio.io/managed": "istio.io-gateway-controller", [GATEWAY_NAME_LABEL]: "ingress", [GATEWAY_LABEL]: "shop", "sidecar.istio.io/inject": "false", "service.istio.io/canonical-name": "ingress-istio" } },
                            spec: { serviceAccountName: "ingress-istio", containers: containers.map((name) => ({ name, image: "auto" })) },
                        },
                    },
                },
                origin: {},
            });
            const live = (containers: string[]) => evaluate(RULES, [...subjects, deployed(containers)], packConfig("dev")).map((v) => `${v.code} ${v.message}`);
            assert.deepEqual(live(["istio-proxy"]), [], "the deployed gateway as istiod writes it");
            assert.ok(live(["app"]).some((f) => f.startsWith("MT1701")), "the same Deployment without its proxy is out of the mesh");
            const codes = (namespaces: Record<string, unknown>) => evaluate(RULES, opened(namespaces), packConfig("dev")).map((v) => v.code);
            assert.ok(codes({ from: "All" }).includes("MT1004"), `every namespace: ${codes({ from: "All" }).join(", ")}`);
            // The whole usergroup: ledger among them, which shop may not call.
            const usergroup = codes({ from: "Selector", selector: { matchLabels: { usergroup: "team-a" } } });
            assert.ok(usergroup.some((c) => c.startsWith("MT25")), `the usergroup's namespaces: ${usergroup.join(", ")}`);
        });
    });
});
