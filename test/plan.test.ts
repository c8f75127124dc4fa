import * as assert from "node:assert/strict";
import { planTenancy, plannedObjects, NamespacePlan, TenancyPlan } from "../plan";
import { chartGlobals, istiodBaseValues, istiodEnv, istioApiVersions } from "../plan/istio";
import { ISTIOD_PORTS, SMOKE_IMAGES } from "../plan";
import { selects } from "../policy/semantics/selectors";
import { connectionAllowed, programOutputs, stackOutputs } from "../plan/outputs";
import { anySelects } from "../policy/semantics/selectors";
import { STACKS, loadStack, validConfig } from "./harness/configs";

const ns = (plan: TenancyPlan, name: string): NamespacePlan => {
    const found = plan.namespaces.find((n) => n.name === name);
    assert.ok(found, `namespace ${name} not planned`);
    return found;
};
const objectsOf = (n: NamespacePlan, kind: string) => n.objects.map((o) => o.object).filter((o) => o.kind === kind);
const spec = (o: { spec?: Record<string, unknown> }) => o.spec as any;

describe("plan", () => {
    const plan = planTenancy(validConfig());

    describe("control planes", () => {
        it("installs one istiod revision per usergroup in its system namespace", () => {
            assert.deepEqual(plan.controlPlanes.map((cp) => [cp.revisions[0].name, cp.systemNamespace, cp.revisions[0].istiod.namespace]), [
                ["usergroup-1", "usergroup-1", "usergroup-1"],
                ["usergroup-2", "usergroup-2", "usergroup-2"],
            ]);
            const values = plan.controlPlanes[0].revisions[0].istiod.values as any;
            assert.equal(values.revision, "usergroup-1");
            assert.equal(values.global.istioNamespace, "usergroup-1");
            assert.equal(values.meshConfig.rootNamespace, "usergroup-1");
        });

        it("selects the usergroup's namespaces by label, system namespace included", () => {
            const values = plan.controlPlanes[0].revisions[0].istiod.values as any;
            assert.deepEqual(values.meshConfig.discoverySelectors, [{ matchLabels: { usergroup: "usergroup-1" } }]);
            const system = plan.controlPlanes[0].namespace.object;
            assert.equal(system.metadata.labels?.usergroup, "usergroup-1");
        });

        it("discovery selectors cover exactly the usergroup's namespaces", () => {
            const allNamespaces = plannedObjects(plan).filter((o) => o.kind === "Namespace");
            for (const cp of plan.controlPlanes) {
                const selectors = (cp.revisions[0].istiod.values as any).meshConfig.discoverySelectors;
                const selected = allNamespaces.filter((n) => anySelects(selectors, n.metadata.labels ?? {})).map((n) => n.metadata.name).sort();
                assert.deepEqual(selected, cp.discoveredNamespaces);
            }
            assert.deepEqual(plan.controlPlanes[0].discoveredNamespaces, ["app-ns-1", "common-services", "logmonkey", "usergroup-1"]);
        });

        it("makes Services, VirtualServices and DestinationRules private to their namespace by default", () => {
            const mesh = (plan.controlPlanes[0].revisions[0].istiod.values as any).meshConfig;
            for (const key of ["defaultServiceExportTo", "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo"]) {
                assert.deepEqual(mesh[key], ["."], key);
            }
        });

        it("puts a STRICT PeerAuthentication without selector and a root Sidecar without workloadSelector in the system namespace", () => {
            const objects = plan.controlPlanes[0].objects.map((o) => o.object);
            const pa = objects.find((o) => o.kind === "PeerAuthentication")!;
            assert.equal(pa.metadata.namespace, "usergroup-1");
            assert.deepEqual(pa.spec, { mtls: { mode: "STRICT" } });
            const root = objects.find((o) => o.kind === "Sidecar")!;
            assert.equal(root.metadata.namespace, "usergroup-1");
            assert.equal(spec(root).workloadSelector, undefined);
            // `./*` is the system namespace here; naming it again is a duplicate Istio's validation warns about (IST0133).
            assert.deepEqual(spec(root).egress[0].hosts, ["./*", "common-services/*"]);
        });

        it("sets ENABLE_ENHANCED_RESOURCE_SCOPING on 1.20 to 1.24 only", () => {
            assert.equal(istiodEnv("1.22.0").ENABLE_ENHANCED_RESOURCE_SCOPING, "true");
            assert.equal(istiodEnv("1.24.3").ENABLE_ENHANCED_RESOURCE_SCOPING, "true");
            assert.equal(istiodEnv("1.20.1").ENABLE_ENHANCED_RESOURCE_SCOPING, "true");
            assert.equal(istiodEnv("1.25.0").ENABLE_ENHANCED_RESOURCE_SCOPING, undefined);
            assert.equal(istiodEnv("1.26.8").ENABLE_ENHANCED_RESOURCE_SCOPING, undefined);
            const oldest = planTenancy(validConfig((r) => (r.istio.version = "1.29.0")));
            assert.equal((oldest.controlPlanes[0].revisions[0].istiod.values as any).pilot.env.ENABLE_ENHANCED_RESOURCE_SCOPING, undefined);
        });

        it("scopes every gateway deployment to its own namespace's Gateway objects", () => {
            assert.equal((plan.controlPlanes[0].revisions[0].istiod.values as any).pilot.env.PILOT_SCOPE_GATEWAY_TO_NAMESPACE, "true");
        });

        it("uses the v1 Istio APIs from 1.22 and v1beta1 before", () => {
            assert.deepEqual(istioApiVersions("1.22.0"), { networking: "networking.istio.io/v1", security: "security.istio.io/v1" });
            assert.deepEqual(istioApiVersions("1.21.4"), { networking: "networking.istio.io/v1beta1", security: "security.istio.io/v1beta1" });
        });
    });

    describe("system namespace NetworkPolicies", () => {
        const systemPolicies = (p: TenancyPlan, usergroup: string) =>
            p.controlPlanes.find((cp) => cp.usergroup === usergroup)!.objects.map((o) => o.object).filter((o) => o.kind === "NetworkPolicy");
        const istiodAccess = (p: TenancyPlan, usergroup: string) => spec(systemPolicies(p, usergroup).find((o) => o.metadata.name === "istiod-access")!);
        const ruleFor = (access: any, port: number) => {
            const rules = access.ingress.filter((r: any) => r.ports.some((x: any) => x.port === port));
            assert.ok(rules.length <= 1, `port ${port} in one rule only`);
            return rules[0];
        };

        it("denies all ingress to the system namespace by default", () => {
            for (const cp of plan.controlPlanes) {
                const deny = systemPolicies(plan, cp.usergroup).find((o) => o.metadata.name === "default-deny-ingress")!;
                assert.equal(deny.metadata.namespace, cp.systemNamespace);
                assert.deepEqual(spec(deny), { podSelector: {}, policyTypes: ["Ingress"] });
            }
        });

        it("admits xDS and CA ports to istiod from exactly its usergroup's namespaces", () => {
            const namespaces = plannedObjects(plan).filter((o) => o.kind === "Namespace");
            for (const cp of plan.controlPlanes) {
                const access = istiodAccess(plan, cp.usergroup);
                assert.deepEqual(access.podSelector, { matchLabels: { app: "istiod" } }, "every revision's istiod in the system namespace");
                const xds = ruleFor(access, ISTIOD_PORTS.xds);
                assert.deepEqual(xds.ports.map((x: any) => x.port).sort(), [ISTIOD_PORTS.xds, ISTIOD_PORTS.secureXdsAndCa]);
                assert.equal(ruleFor(access, ISTIOD_PORTS.secureXdsAndCa), xds);
                const admitted = namespaces.filter((n) => xds.from.some((f: any) => selects(f.namespaceSelector, n.metadata.labels ?? {}))).map((n) => n.metadata.name).sort();
                assert.deepEqual(admitted, cp.discoveredNamespaces, cp.usergroup);
                assert.ok(xds.from.every((f: any) => f.podSelector === undefined && f.ipBlock === undefined));
            }
        });

        it("opens the webhook port to every source by default, since the API server is no pod", () => {
            const webhook = ruleFor(istiodAccess(plan, "usergroup-1"), ISTIOD_PORTS.webhook);
            assert.deepEqual(webhook, { ports: [{ protocol: "TCP", port: 15017 }] });
        });

        it("admits the webhook port only from the API server's CIDRs when they are configured", () => {
            const p = planTenancy(validConfig((r) => (r.controlPlaneAccess = { apiServerCidrs: ["172.18.0.0/16", "fd00::/64"] })));
            const webhook = ruleFor(istiodAccess(p, "usergroup-2"), ISTIOD_PORTS.webhook);
            assert.deepEqual(webhook.from, [{ ipBlock: { cidr: "172.18.0.0/16" } }, { ipBlock: { cidr: "fd00::/64" } }]);
        });

        it("admits monitoring only from the configured namespace, and from nowhere without one", () => {
            assert.equal(ruleFor(istiodAccess(plan, "usergroup-1"), ISTIOD_PORTS.monitoring), undefined);
            const p = planTenancy(validConfig((r) => (r.controlPlaneAccess = { monitoringNamespace: "monitoring" })));
            const monitoring = ruleFor(istiodAccess(p, "usergroup-1"), ISTIOD_PORTS.monitoring);
            assert.deepEqual(monitoring.from, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }]);
            assert.deepEqual(monitoring.ports, [{ protocol: "TCP", port: 15014 }]);
        });

        it("opens istiod's debug port 8080 to no pod", () => {
            for (const cp of plan.controlPlanes) {
                assert.equal(ruleFor(istiodAccess(plan, cp.usergroup), ISTIOD_PORTS.http), undefined);
            }
        });
    });

    describe("chart values by Istio version", () => {
        it("turns the charts' own NetworkPolicies off wherever the charts have them", () => {
            assert.deepEqual(chartGlobals("1.31.0", "sys"), { istioNamespace: "sys", networkPolicy: { enabled: false } });
            assert.deepEqual(chartGlobals("1.29.0"), { networkPolicy: { enabled: false } });
            assert.deepEqual(chartGlobals("1.27.3"), {});
            assert.deepEqual((plan.controlPlanes[0].revisions[0].istiod.values as any).global.networkPolicy, { enabled: false });
            assert.deepEqual((ns(plan, "app-ns-1").gateway!.release!.values as any).global, { networkPolicy: { enabled: false } });
        });

        it("renders the validator with the failurePolicy istiod converges to, and no CA bundle, so istiod's patches are no drift", () => {
            assert.deepEqual(istiodBaseValues("1.31.0"), { validationFailurePolicy: "Fail" });
            assert.equal(istiodBaseValues("1.27.3"), undefined, "the chart reads the value from 1.28 on");
            const values = plan.controlPlanes[0].revisions[0].istiod.values as any;
            assert.deepEqual(values.base, { validationFailurePolicy: "Fail" });
            assert.equal(JSON.stringify(values).includes("CABundle"), false);
        });

        for (const version of ["1.29.0", "1.30.3", "1.31.0", "1.32.0"]) {
            it(`plans ${version} with the v1 APIs, no enhanced-scoping flag and the gateway scoping flag`, () => {
                const p = planTenancy(validConfig((r) => (r.istio.version = version)));
                const values = p.controlPlanes[0].revisions[0].istiod.values as any;
                assert.deepEqual(values.pilot.env, { PILOT_SCOPE_GATEWAY_TO_NAMESPACE: "true" });
                assert.ok(plannedObjects(p).filter((o) => o.apiVersion.includes("istio.io")).every((o) => o.apiVersion.endsWith("/v1")));
                assert.equal(p.base.version, version);
            });
        }
    });

    describe("smoke workloads", () => {
        it("are planned only in tenant namespaces and only when asked", () => {
            assert.ok(plan.namespaces.every((n) => n.smokeWorkloads === undefined));
            const p = planTenancy(validConfig((r) => (r.smokeWorkloads = true)));
            assert.deepEqual(p.namespaces.filter((n) => n.smokeWorkloads !== undefined).map((n) => n.name).sort(), ["app-ns-1", "app-ns-2", "app-ns-3", "logmonkey"]);
        });

        it("name their images, ports and labels, and export the echo Service to the namespace's importers", () => {
            const p = planTenancy(validConfig((r) => (r.smokeWorkloads = true)));
            const logmonkey = ns(p, "logmonkey");
            const objects = logmonkey.smokeWorkloads!.map((o) => o.object) as any[];
            const echo = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "smoke-echo");
            const client = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "smoke-client");
            const service = objects.find((o) => o.kind === "Service");
            assert.equal(echo.spec.template.spec.containers[0].image, SMOKE_IMAGES.echo);
            assert.equal(client.spec.template.spec.containers[0].image, SMOKE_IMAGES.client);
            assert.deepEqual(echo.spec.selector.matchLabels, echo.spec.template.metadata.labels);
            assert.deepEqual(service.spec.selector, echo.spec.template.metadata.labels);
            assert.equal(service.spec.ports[0].targetPort, echo.spec.template.spec.containers[0].ports[0].containerPort);
            assert.equal(service.metadata.annotations["networking.istio.io/exportTo"], logmonkey.serviceExportTo.join(","));
            assert.equal(service.metadata.annotations["networking.istio.io/exportTo"], ".,app-ns-1");
            assert.deepEqual(logmonkey.smokeWorkloads!.map((o) => o.resourceName), ["logmonkey-smoke-echo", "logmonkey-smoke-echo", "logmonkey-smoke-client"]);
            assert.ok(!plannedObjects(p).includes(service), "smoke workloads stand for the tenant's own, not the platform's");
            assert.ok(objects.every((o) => o.metadata.labels?.["app.kubernetes.io/managed-by"] === undefined));
        });

        it("on Istio's proxyless gRPC data plane: the grpc-agent template, Istio's echo server and mesh-caller from one image, ISTIO_MUTUAL for every namespace the echo is exported to", () => {
            const image = "registry.example.com/proxyless:1";
            const p = planTenancy(validConfig((r) => (r.smokeWorkloads = { proxyless: { image } })));
            const logmonkey = ns(p, "logmonkey");
            const objects = logmonkey.smokeWorkloads!.map((o) => o.object) as any[];
            const echo = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "smoke-echo");
            const client = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "smoke-client");
            for (const d of [echo, client]) {
                assert.equal(d.spec.template.metadata.annotations["inject.istio.io/templates"], "grpc-agent");
                assert.deepEqual(JSON.parse(d.spec.template.metadata.annotations["proxy.istio.io/config"]), { holdApplicationUntilProxyStarts: true });
                assert.equal(d.spec.template.spec.containers[0].image, image);
            }
            assert.deepEqual(echo.spec.template.spec.containers[0].command.slice(0, 3), ["/usr/local/bin/istio-echo", "--grpc=7070", "--xds-grpc-server=7070"]);
            assert.deepEqual(client.spec.template.spec.containers[0].command, ["/usr/local/bin/mesh-caller", "-wait"]);
            const service = objects.find((o) => o.kind === "Service");
            assert.deepEqual(service.spec.ports.map((x: any) => x.name), ["http", "grpc"]);
            const dr = objects.find((o) => o.kind === "DestinationRule");
            assert.deepEqual(dr.spec, { host: "smoke-echo.logmonkey.svc.cluster.local", exportTo: [".", "app-ns-1"], trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } });
        });
    });

    describe("images", () => {
        it("are the charts' own unless named; named, istiod's is pilot.image and the injected proxy's global.proxy.image", () => {
            const values = plan.controlPlanes[0].revisions[0].istiod.values as any;
            assert.equal(values.pilot.image, undefined);
            assert.equal(values.global.proxy, undefined);
            const named = planTenancy(validConfig((r) => (r.istio.images = { pilot: "reg.example.com/pilot:1", proxy: "reg.example.com/proxyv2:1" })));
            for (const cp of named.controlPlanes) {
                const v = cp.revisions[0].istiod.values as any;
                assert.equal(v.pilot.image, "reg.example.com/pilot:1");
                assert.deepEqual(v.global.proxy, { image: "reg.example.com/proxyv2:1" });
                assert.equal(v.global.istioNamespace, cp.systemNamespace);
            }
        });
    });

    describe("base chart", () => {
        it("renders no default validator by default and pins the chart version", () => {
            assert.equal((plan.base.values as any).defaultRevision, "");
            assert.equal(plan.base.version, "1.31.0");
            assert.equal(plan.base.chart, "base");
            assert.equal(plan.base.repository, "https://istio-release.storage.googleapis.com/charts");
        });

        it("points a configured default revision at that revision's own namespace", () => {
            const p = planTenancy(validConfig((r) => {
                r.istio.defaultRevision = "usergroup-2";
                r.usergroups[1].systemNamespace = "istio-ug2";
            }));
            assert.equal((p.base.values as any).defaultRevision, "usergroup-2");
            assert.equal((p.base.values as any).global.istioNamespace, "istio-ug2");
            assert.equal(p.base.namespace, "istio-ug2");
        });

        it("leaves the CRDs to the base chart unless they are managed apart", () => {
            assert.equal((plan.base.values as any).base, undefined, "crds: chart passes no base.* value");
            const external = planTenancy(validConfig((r) => (r.istio.crds = "external")));
            const base = (external.base.values as any).base;
            assert.equal(base.enableCRDTemplates, true);
            assert.ok(base.excludedCRDs.includes("sidecars.networking.istio.io"));
            assert.equal(base.excludedCRDs.length, 15);
            assert.throws(() => validConfig((r) => (r.istio.crds = "none")), /istio\.crds: must be one of "chart", "external"/);
        });

        it("takes charts from a local directory or an OCI mirror when configured", () => {
            const local = planTenancy(validConfig((r) => (r.istio.chartDirectory = "./test/charts/")));
            assert.equal(local.controlPlanes[0].revisions[0].istiod.chart, "./test/charts/istiod");
            assert.equal(local.controlPlanes[0].revisions[0].istiod.repository, undefined);
            const oci = planTenancy(validConfig((r) => (r.istio.chartRepository = "oci://mirror.example.com/istio")));
            assert.equal(oci.base.chart, "oci://mirror.example.com/istio/base");
            assert.equal(oci.base.repository, undefined);
        });
    });

    describe("tenant namespaces", () => {
        it("labels tenants with usergroup and istio.io/rev and never istio-injection", () => {
            for (const n of plan.namespaces) {
                const labels = n.namespace.object.metadata.labels!;
                assert.equal(labels.usergroup, n.usergroup);
                assert.equal(labels["istio.io/rev"], n.usergroup);
                assert.equal(labels["istio-injection"], undefined);
            }
            assert.equal(ns(plan, "common-services").namespace.object.metadata.labels!["mesh-tenancy.io/role"], "shared");
            assert.equal(ns(plan, "app-ns-1").namespace.object.metadata.labels!["mesh-tenancy.io/role"], "tenant");
        });

        it("gives each namespace exactly one selector-less Sidecar, even with workload Sidecars", () => {
            for (const n of plan.namespaces) {
                const defaults = objectsOf(n, "Sidecar").filter((s) => spec(s).workloadSelector === undefined);
                assert.equal(defaults.length, 1, n.name);
                assert.equal(defaults[0].metadata.name, "default");
            }
            assert.equal(objectsOf(ns(plan, "app-ns-1"), "Sidecar").length, 2);
        });

        it("imports own, system and shared namespaces plus declared peers under namespace isolation", () => {
            assert.deepEqual(ns(plan, "app-ns-1").sidecarEgressHosts, [
                "./*",
                "usergroup-1/*",
                "common-services/*",
                "logmonkey/logcatcher.logmonkey.svc.cluster.local",
            ]);
            assert.deepEqual(ns(plan, "logmonkey").sidecarEgressHosts, ["./*", "usergroup-1/*", "common-services/*"]);
        });

        it("imports every tenant of the group under usergroup isolation", () => {
            assert.deepEqual(ns(plan, "app-ns-2").sidecarEgressHosts, ["./*", "usergroup-2/*", "app-ns-3/*"]);
            assert.deepEqual(ns(plan, "app-ns-3").sidecarEgressHosts, ["./*", "usergroup-2/*", "app-ns-2/*"]);
        });

        it("repeats the default hosts in each workload Sidecar and adds its own", () => {
            const p = planTenancy(validConfig((r) => (r.usergroups[0].tenants[0].workloadSidecars[0].egress = ["logmonkey/*"])));
            const w = objectsOf(ns(p, "app-ns-1"), "Sidecar").find((s) => s.metadata.name === "permit-logs")!;
            assert.deepEqual(spec(w).workloadSelector, { labels: { "app.kubernetes.io/name": "batman-app" } });
            assert.deepEqual(spec(w).egress[0].hosts, ["./*", "usergroup-1/*", "common-services/*", "logmonkey/*"]);
        });

        it("drops redundant hosts: own namespace by name, duplicates, hosts covered by namespace/*", () => {
            const p = planTenancy(validConfig((r) => (r.usergroups[0].tenants[0].egress = ["app-ns-1/*", "common-services/db.common-services.svc.cluster.local", "logmonkey/*", "logmonkey/*"])));
            assert.deepEqual(ns(p, "app-ns-1").sidecarEgressHosts, ["./*", "usergroup-1/*", "common-services/*", "logmonkey/*"]);
        });

        it("allows in AuthorizationPolicy exactly the namespace and those that import it", () => {
            const authz = (name: string) => objectsOf(ns(plan, name), "AuthorizationPolicy").find((a) => spec(a).selector === undefined)!;
            assert.deepEqual(spec(authz("logmonkey")), {
                action: "ALLOW",
                rules: [{ from: [{ source: { principals: ["cluster.local/ns/app-ns-1/sa/*", "cluster.local/ns/logmonkey/sa/*"] } }] }],
            });
            assert.deepEqual(spec(authz("common-services")).rules[0].from[0].source.principals, [
                "cluster.local/ns/app-ns-1/sa/*",
                "cluster.local/ns/common-services/sa/*",
                "cluster.local/ns/logmonkey/sa/*",
            ]);
            assert.deepEqual(spec(authz("app-ns-1")).rules[0].from[0].source.principals, ["cluster.local/ns/app-ns-1/sa/*"]);
        });

        it("uses the configured trust domain in principals", () => {
            const p = planTenancy(validConfig((r) => (r.istio.trustDomain = "prod.example.com")));
            const a = objectsOf(ns(p, "app-ns-1"), "AuthorizationPolicy")[0];
            assert.deepEqual(spec(a).rules[0].from[0].source.principals, ["prod.example.com/ns/app-ns-1/sa/*"]);
            assert.equal((p.controlPlanes[0].revisions[0].istiod.values as any).meshConfig.trustDomain, "prod.example.com");
        });

        it("denies ingress by default and allows the permitted namespaces and the system namespace", () => {
            const policies = objectsOf(ns(plan, "logmonkey"), "NetworkPolicy");
            const deny = policies.find((p) => p.metadata.name === "default-deny-ingress")!;
            assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ["Ingress"] });
            const allow = policies.find((p) => p.metadata.name === "allow-permitted-namespaces")!;
            assert.deepEqual(spec(allow).ingress[0].from, [
                { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["app-ns-1", "logmonkey", "usergroup-1"] }] } },
            ]);
            const groupWide = objectsOf(ns(plan, "app-ns-2"), "NetworkPolicy").find((p) => p.metadata.name === "allow-permitted-namespaces")!;
            assert.deepEqual(spec(groupWide).ingress[0].from, [{ namespaceSelector: { matchLabels: { usergroup: "usergroup-2" } } }]);
        });

        it("binds owners to the admin ClusterRole", () => {
            const rb = objectsOf(ns(plan, "app-ns-1"), "RoleBinding")[0] as any;
            assert.deepEqual(rb.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" });
            assert.deepEqual(rb.subjects, [{ kind: "Group", name: "team-app-1", apiGroup: "rbac.authorization.k8s.io" }]);
            assert.equal(objectsOf(ns(plan, "logmonkey"), "RoleBinding").length, 0);
        });

        it("protects namespaces only when asked", () => {
            assert.ok(plan.namespaces.every((n) => !n.protect));
            assert.ok(planTenancy(validConfig((r) => (r.protectNamespaces = true))).namespaces.every((n) => n.protect));
        });

        it("exports a namespace's services exactly to the namespaces that import it", () => {
            assert.deepEqual(ns(plan, "logmonkey").serviceExportTo, [".", "app-ns-1"]);
            assert.deepEqual(ns(plan, "app-ns-1").serviceExportTo, ["."]);
        });
    });

    describe("gateways", () => {
        const gw = ns(plan, "app-ns-1").gateway!;
        const release = gw.release!;

        it("installs the gateway chart in the tenant namespace with the usergroup's revision and tenant-unique labels", () => {
            assert.equal(release.namespace, "app-ns-1");
            assert.equal(release.chart, "gateway");
            assert.deepEqual((release.values as any).revision, "usergroup-1");
            assert.deepEqual((release.values as any).labels, { "mesh-tenancy.io/gateway": "app-ns-1" });
            assert.equal(ns(plan, "logmonkey").gateway, undefined);
        });

        it("binds its hosts only for the tenant's own namespace and selects exactly its own pods", () => {
            const g = gw.objects.map((o) => o.object).find((o) => o.kind === "Gateway")!;
            assert.deepEqual(spec(g).selector, { "mesh-tenancy.io/gateway": "app-ns-1" });
            assert.deepEqual(spec(g).servers, [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["./app1.example.com"] }]);
        });

        it("adds an HTTPS server when a TLS credential is named", () => {
            const p = planTenancy(validConfig((r) => (r.usergroups[0].tenants[0].gateway.tlsCredentialName = "app1-cert")));
            const g = ns(p, "app-ns-1").gateway!.objects.map((o) => o.object).find((o) => o.kind === "Gateway")!;
            assert.deepEqual(spec(g).servers[1], { port: { number: 443, name: "https", protocol: "HTTPS" }, hosts: ["./app1.example.com"], tls: { mode: "SIMPLE", credentialName: "app1-cert" } });
        });

        it("admits outside traffic to the gateway pods only for its own hosts", () => {
            const a = gw.objects.map((o) => o.object).find((o) => o.kind === "AuthorizationPolicy")!;
            assert.deepEqual(spec(a).selector, { matchLabels: { "mesh-tenancy.io/gateway": "app-ns-1" } });
            assert.deepEqual(spec(a).rules, [{ to: [{ operation: { hosts: ["app1.example.com", "app1.example.com:*"] } }] }]);
            const np = gw.objects.map((o) => o.object).find((o) => o.kind === "NetworkPolicy")!;
            assert.deepEqual(spec(np).podSelector, { matchLabels: { "mesh-tenancy.io/gateway": "app-ns-1" } });
        });
    });

    describe("outputs", () => {
        const outputs = stackOutputs(plan);

        it("reports each usergroup's revision, system namespace and discovered namespaces", () => {
            assert.deepEqual(outputs.usergroups["usergroup-2"], {
                revision: "usergroup-2",
                revisions: { "usergroup-2": { version: "1.31.0", tags: [], namespaces: ["app-ns-2", "app-ns-3"] } },
                tags: {},
                systemNamespace: "usergroup-2",
                discoveredNamespaces: ["app-ns-2", "app-ns-3", "usergroup-2"],
            });
        });

        it("reports each tenant's Sidecar hosts and gateway", () => {
            assert.deepEqual(outputs.namespaces["app-ns-1"].gateway, { selector: { "mesh-tenancy.io/gateway": "app-ns-1" }, hosts: ["app1.example.com"] });
            assert.equal(outputs.namespaces["app-ns-1"].revision, "usergroup-1");
        });

        it("summarises by default: counts and each usergroup's revision, and where the detail is", () => {
            const summary = programOutputs(plan, "dev");
            assert.deepEqual(Object.keys(summary).sort(), ["details", "revisions", "summary"]);
            assert.deepEqual(summary.summary, { usergroups: 2, tenants: 4, sharedNamespaces: 1, gateways: 1 });
            assert.deepEqual(summary.revisions["usergroup-2"], { revision: "usergroup-2", running: ["usergroup-2"], systemNamespace: "usergroup-2", discoveredNamespaces: 3 });
            assert.match(summary.details, /npm run report -- --stack dev/);
            const detailed = programOutputs({ ...plan, detailedOutputs: true }, "dev");
            assert.deepEqual(detailed.namespaces, outputs.namespaces);
            assert.deepEqual(detailed.expectedConnectivity, outputs.expectedConnectivity);
        });

        it("allows what the Sidecars import and refuses everything else", () => {
            assert.ok(connectionAllowed(outputs, "app-ns-1", "logmonkey"));
            assert.ok(connectionAllowed(outputs, "app-ns-1", "common-services"));
            assert.ok(!connectionAllowed(outputs, "logmonkey", "app-ns-1"));
            assert.ok(connectionAllowed(outputs, "app-ns-2", "app-ns-3"));
            assert.ok(!connectionAllowed(outputs, "app-ns-1", "app-ns-2"));
            assert.ok(!connectionAllowed(outputs, "app-ns-2", "common-services"));
        });
    });

    for (const stack of STACKS) {
        it(`plans stacks/Pulumi.${stack}.yaml with unique resource names`, () => {
            const p = planTenancy(loadStack(stack));
            const names = [
                ...p.controlPlanes.flatMap((cp) => [cp.namespace.resourceName, cp.revisions[0].istiod.resourceName, ...cp.objects.map((o) => o.resourceName)]),
                ...p.namespaces.flatMap((n) => [n.namespace.resourceName, ...n.objects.map((o) => o.resourceName), ...(n.gateway?.objects.map((o) => o.resourceName) ?? [])]),
            ];
            assert.equal(new Set(names).size, names.length, "resource names are unique");
        });
    }

    it("protects every namespace in prod", () => {
        assert.ok(planTenancy(loadStack("prod")).namespaces.every((n) => n.protect));
    });
});
