import * as assert from "node:assert/strict";
import * as path from "path";
import { configFromStack } from "../../model/stack";
import { planTenancy } from "../../plan";
import { deployedGatewayPods, GATEWAY_NAME_LABEL } from "../../policy/semantics/gateways";
import { Inventory } from "../../policy/semantics/inventory";
import { GATEWAY_LABEL } from "../../policy/semantics/labels";
import { attachedRoutes } from "../../policy/semantics/routing";
import { gatewayApiVersion } from "../../policy/semantics/versions";
import { configFileValues, ROOT } from "../harness/configs";
import { expectExit, kubectlJson, pulumi, run, stackConfigVariant } from "./harness";
import { grantOfficialRbac, Istiod, istioBuild, probe, sleep, startIstiod, until } from "./istio";

/**
 * Gateway API ingress, judged by the real istiod: stack `local` with shop's and analytics' gateways as Gateway API
 * Gateways (`ingress.kind` per tenant) and ledger's from the gateway chart, Istio's official charts, the Gateway API
 * CRDs installed by the stack from the directory `scripts/build-toolchain.sh gateway-api-crds` writes. Each usergroup's istiod, started out of
 * cluster as its chart's ServiceAccount, must deploy its own tenants' gateways (Deployment, Service, ServiceAccount in
 * the tenant namespace, carrying the revision and the labels the model predicts) and nobody else's; the deployed
 * gateway's proxy must receive the tenant's route and not another tenant's route aimed at it.
 *
 * Runnable alone: `npm run test:e2e -- --grep "Gateway API"`.
 */

const STACK = "local";
const POLICY = ["--policy-pack", "policy", "--policy-pack-config", "policy/config/dev.json"];
const CRDS = path.join(process.env.MESH_TENANCY_BIN ?? "", "gateway-api-crds");
const CHARTS = path.join(process.env.MESH_TENANCY_BIN ?? "", "istio-charts");
const GW_RESOURCE = "gateways.gateway.networking.k8s.io";

describe("Gateway API ingress: each usergroup's istiod deploys its tenants' gateways", function () {
    this.timeout(15 * 60 * 1000);
    const file = stackConfigVariant(STACK, (config) => {
        config["mesh-tenancy:ingress"] = { kind: "istio", gatewayApiCrds: { directory: CRDS } };
        // Istio's official charts: istiod deploys a Gateway API Gateway from the `kube-gateway` template of its
        // injector ConfigMap, which only the official istiod chart renders.
        config["mesh-tenancy:istio"].chartDirectory = CHARTS;
        const [teamA, teamB] = config["mesh-tenancy:usergroups"];
        const tenant = (ug: any, name: string) => ug.tenants.find((t: any) => (typeof t === "string" ? t : t.name) === name);
        Object.assign(tenant(teamA, "shop").gateway, { kind: "gateway-api", replicas: 2 });
        tenant(teamA, "ledger").gateway = { hosts: ["ledger.local.example.com"], serviceType: "ClusterIP" };
        tenant(teamB, "analytics").gateway = { hosts: ["analytics.local.example.com"], serviceType: "NodePort", kind: "gateway-api" };
    });
    const plan = planTenancy(configFromStack(configFileValues(file), "mesh-tenancy", ROOT));
    const cp = (usergroup: string) => plan.controlPlanes.find((c) => c.usergroup === usergroup)!;
    const istiods: Istiod[] = [];
    const deployed = (ns: string) => run("kubectl", ["get", "deployment", "ingress-istio", "-n", ns, "-o", "json"]);

    before(() => {
        expectExit(pulumi(["stack", "select", "--create", STACK]), 0, "select stack");
    });

    after(async () => {
        for (const istiod of istiods) await istiod.stop();
        if (process.env.MESH_TENANCY_E2E_KEEP === "1") return;
        run("kubectl", ["delete", "httproutes.gateway.networking.k8s.io", "-A", "--all"]);
        expectExit(pulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK, "--config-file", file]), 0, "destroy");
        // The stack keeps CRDs it installed when destroyed; the suites after this one run without the Gateway API.
        run("kubectl", ["delete", "-f", CRDS, "--ignore-not-found", "--wait=true"]);
        const names = plan.namespaces.map((n) => n.name);
        const deadline = Date.now() + 180_000;
        while (Date.now() < deadline && names.some((n) => run("kubectl", ["get", "namespace", n]).code === 0)) await sleep(500);
    });

    it("1. a stack with both ingress kinds passes the pack, installs the Gateway API CRDs and each tenant's Gateway", () => {
        expectExit(pulumi(["up", "--yes", "--skip-preview", "--stack", STACK, "--config-file", file, ...POLICY]), 0, "up");
        const crd = kubectlJson(["get", "crd", GW_RESOURCE]);
        assert.equal(crd.metadata.annotations["gateway.networking.k8s.io/bundle-version"], gatewayApiVersion(plan.base.version), "the CRDs of the Gateway API release the Istio version requires");
        assert.equal(crd.metadata.annotations["gateway.networking.k8s.io/channel"], "standard");
        const gateways = kubectlJson(["get", GW_RESOURCE, "-A"]).items;
        assert.deepEqual(gateways.map((g: any) => `${g.metadata.namespace}/${g.metadata.name} ${g.metadata.labels["istio.io/rev"]}`).sort(), ["analytics/ingress team-b", "shop/ingress team-a"]);
        assert.equal(kubectlJson(["get", "deployments", "-n", "ledger", "-l", GATEWAY_LABEL]).items.length, 1, "ledger's gateway is the chart's");
        assert.equal(kubectlJson(["get", "gateways.networking.istio.io", "-A"]).items.length, 1, "one Istio Gateway: ledger's");
    });

    it("2. another usergroup's istiod leaves a Gateway alone; its own deploys it as the model predicts", async () => {
        const build = istioBuild(plan.base.version);
        grantOfficialRbac(cp("team-b").revisions[0].istiod.values as Record<string, any>, build.suffix);
        istiods.push(await startIstiod(cp("team-b"), build.suffix, { patchWebhooks: true }));
        await until(() => deployed("analytics").code === 0, 60, () => "team-b's istiod deploys analytics' gateway");
        await sleep(3000);
        assert.notEqual(deployed("shop").code, 0, "team-b's istiod does not deploy team-a's gateway");
        grantOfficialRbac(cp("team-a").revisions[0].istiod.values as Record<string, any>, build.suffix);
        istiods.push(await startIstiod(cp("team-a"), build.suffix, { patchWebhooks: true }));
        await until(() => deployed("shop").code === 0, 60, () => "team-a's istiod deploys shop's gateway");

        const live = kubectlJson(["get", GW_RESOURCE, "-A"]).items;
        for (const [ns, revision, serviceType, replicas] of [["shop", "team-a", "ClusterIP", 2], ["analytics", "team-b", "NodePort", 1]] as const) {
            const gateway = live.find((g: any) => g.metadata.namespace === ns);
            const predicted = deployedGatewayPods({ object: gateway, origin: {} })!;
            const deployment = JSON.parse(deployed(ns).stdout);
            const pod = deployment.spec.template;
            for (const [k, v] of Object.entries(predicted.labels)) assert.equal(pod.metadata.labels[k], v, `${ns}: the pods' label ${k}, as the model predicts (they have ${JSON.stringify(pod.metadata.labels)})`);
            for (const [k, v] of Object.entries(predicted.annotations)) assert.equal(pod.metadata.annotations[k], v, `${ns}: the pods' annotation ${k}, as the model predicts`);
            assert.equal(pod.metadata.annotations["istio.io/rev"], revision, `${ns}: the revision`);
            assert.deepEqual(pod.spec.containers.map((c: any) => c.name), ["istio-proxy"], `${ns}: the pods run their own proxy`);
            assert.deepEqual(deployment.metadata.ownerReferences.map((r: any) => `${r.kind}/${r.name}`), ["Gateway/ingress"], `${ns}: owned by the Gateway (what the workload guardrail's exemption for istiod reads)`);
            assert.equal(pod.spec.serviceAccountName, predicted.serviceAccount, `${ns}: the ServiceAccount, as the model predicts`);
            assert.equal(deployment.spec.replicas, replicas, `${ns}: replicas from the Gateway's parameters`);
            const service = kubectlJson(["get", "service", "ingress-istio", "-n", ns]);
            assert.equal(service.spec.type, serviceType, `${ns}: the service type from the Gateway's annotation`);
            kubectlJson(["get", "serviceaccount", predicted.serviceAccount, "-n", ns]);
            // The gateway's policies select the deployed pods exactly as the chart's.
            const netpol = kubectlJson(["get", "networkpolicy", "allow-gateway-ingress", "-n", ns]);
            for (const [k, v] of Object.entries(netpol.spec.podSelector.matchLabels)) assert.equal(pod.metadata.labels[k], v, `${ns}: the NetworkPolicy selects the deployed pods`);
        }
    });

    it("3. the deployed gateway's proxy receives the tenant's route, and not another tenant's route aimed at it", async () => {
        const route = (ns: string, name: string, parentNamespace: string, path: string) => ({
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "HTTPRoute",
            metadata: { name, namespace: ns },
            spec: {
                parentRefs: [{ name: "ingress", namespace: parentNamespace }],
                hostnames: ["shop.local.example.com"],
                rules: [{ matches: [{ path: { type: "PathPrefix", value: path } }], backendRefs: [{ name: "smoke-echo", port: 80 }] }],
            },
        });
        const routes = [route("shop", "storefront", "shop", "/"), route("payments", "steal-shop", "shop", "/steal")];
        expectExit(run("kubectl", ["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: routes }) }), 0, "HTTPRoutes");

        // The model: which routes attach to shop's listeners.
        const subjects = ["namespaces", GW_RESOURCE, "httproutes.gateway.networking.k8s.io", "services"].flatMap((r) => kubectlJson(["get", r, "-A"]).items).map((object: any) => ({ object, origin: {} }));
        const inventory = new Inventory(subjects);
        const shopGateway = subjects.find((s) => s.object.kind === "Gateway" && s.object.metadata.namespace === "shop")!;
        assert.deepEqual(attachedRoutes(inventory, shopGateway).map((r) => `${r.object.metadata.namespace}/${r.object.metadata.name}`), ["shop/storefront"]);

        // istiod: what the gateway's proxy, as deployed, receives.
        const build = istioBuild(plan.base.version);
        const pod = JSON.parse(deployed("shop").stdout).spec.template;
        const istiodA = istiods[1];
        // Where the gateway's routes send (or mirror) requests: the route configurations it receives, not the clusters it
        // merely knows (a gateway receives every Service its namespace may see).
        let routed: Record<string, string[]> = {};
        await until(() => {
            routed = probe(istiodA.grpc, "shop", { labels: pod.metadata.labels, istioVersion: build.version, type: "router", serviceAccount: pod.spec.serviceAccountName }).routeClusters;
            return Object.values(routed).flat().includes("outbound|80||smoke-echo.shop.svc.cluster.local");
        }, 60, () => `shop's gateway routes to its route's backend; it routes ${JSON.stringify(routed)}`);
        assert.deepEqual(Object.values(routed).flat().filter((c) => !c.endsWith("|smoke-echo.shop.svc.cluster.local")), [], `shop's gateway routes nowhere else: ${JSON.stringify(routed)}`);
        // analytics' gateway (team-b) hears nothing of team-a's routes.
        const other = probe(istiods[0].grpc, "analytics", { labels: { [GATEWAY_NAME_LABEL]: "ingress" }, istioVersion: build.version, type: "router" });
        assert.deepEqual(other.clusters.filter((c) => /\.(shop|payments)\.svc\./.test(c)), [], "analytics' gateway hears nothing of team-a");
        assert.deepEqual(Object.values(other.routeClusters).flat(), [], "and routes nowhere: analytics has no route");
    });

    it("4. the API server's guardrails refuse a Gateway that takes other namespaces' routes and a grant to a namespace that may not call, from anyone but the platform operators", () => {
        // A cluster-wide identity with every RBAC right (system:masters), not one of the platform operators.
        const rogue = ["--as", "rogue-bot", "--as-group", "system:masters"];
        const tryCreate = (object: unknown) => run("kubectl", ["create", "--dry-run=server", ...rogue, "-f", "-"], { input: JSON.stringify(object) });
        const open = { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: { name: "wide", namespace: "shop" }, spec: { gatewayClassName: "istio", listeners: [{ name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } }] } };
        const grant = { apiVersion: "gateway.networking.k8s.io/v1beta1", kind: "ReferenceGrant", metadata: { name: "let-ledger-in", namespace: "payments" }, spec: { from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "ledger" }], to: [{ group: "", kind: "Service" }] } };
        for (const [what, object] of [["open listener", open], ["grant", grant]] as const) {
            const r = tryCreate(object);
            assert.notEqual(r.code, 0, `${what}: refused`);
            assert.match(r.stderr, /\[MT025\]/, `${what}: by MT025`);
        }
        const narrow = { ...open, metadata: { name: "narrow", namespace: "shop" }, spec: { ...open.spec, listeners: [{ name: "http", port: 80, protocol: "HTTP" }] } };
        expectExit(tryCreate(narrow), 0, "a Gateway admitting its own namespace's routes only");
    });
});
