/**
 * Install and scope, on the real engine: preview with the pack (and with Istio's official charts), the pack refusing
 * the rogue team's stack, the first `up` from an empty stack, each revision's istiod installed with its scoping,
 * istiod discovering exactly its usergroup, istioctl analyze, the stand-in charts against istioctl's rendering, and
 * the preview of one more tenant. Starts from an empty stack (destroying what an earlier suite left).
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { planTenancy, plannedObjects } from "../../plan";
import { ROOT, loadStack } from "../harness/configs";
import { expectExit, kubectlJson, pulumi, run, stackConfigVariant, stackFileVariant, tempFile } from "./harness";
import { istioBuild, istioOperatorFor, renderOfficial, rssMb } from "./istio";
import { AnalyzerMessage, analyze, assertNoWarning, assertPlannedLive, describeMessage, ensureIstiods, freshStack, istiods, markUp, plan, POLICY, resourcesByName, STACK, summarise, timed } from "./engine";

describe("install and scope: the first up of stack local, each usergroup's control plane and what it discovers", function () {
    this.timeout(20 * 60 * 1000);

    before(() => freshStack());

    it("preview with the policy pack passes, without a warning", () => {
        const r = timed("preview", expectExit(pulumi(["preview", "--stack", STACK, ...POLICY]), 0, "preview"));
        assertNoWarning(r);
        assert.match(r.stdout, /mesh-tenancy@v0\.1\.0/);
        assert.match(r.stdout, /\+ \d+ to create/);
    });

    it("with Istio's official charts (the Istio module's, through the provider's Helm) the preview passes the pack too, renders every object the stand-ins do, and carries the program's values", () => {
        const charts = path.join(process.env.MESH_TENANCY_BIN ?? "", "istio-charts");
        assert.ok(fs.existsSync(path.join(charts, "istiod", "Chart.yaml")), `${charts} holds the official charts (scripts/build-toolchain.sh istio-charts)`);
        const official = stackConfigVariant(STACK, (config) => (config["mesh-tenancy:istio"].chartDirectory = charts));
        const r = timed("preview (official charts)", expectExit(pulumi(["preview", "--stack", STACK, "--config-file", official, ...POLICY]), 0, "preview with the official charts"));
        assertNoWarning(r);
        const steps = (file?: string) => {
            const out = expectExit(pulumi(["preview", "--stack", STACK, "--json", ...(file !== undefined ? ["--config-file", file] : [])]), 0, "preview --json").stdout;
            const byName = new Map<string, any>();
            for (const step of JSON.parse(out).steps ?? []) byName.set(`${String(step.urn).split("::")[2].split("$").pop()} ${String(step.urn).split("::")[3]}`, step.newState?.inputs ?? {});
            return byName;
        };
        const [fromOfficial, fromStandIns] = [steps(official), steps()];
        const missing = [...fromStandIns.keys()].filter((k) => !fromOfficial.has(k));
        assert.deepEqual(missing, [], "the official charts render every object the stand-ins render");
        const extra = [...fromOfficial.keys()].filter((k) => !fromStandIns.has(k));
        console.log(`      official charts: ${fromOfficial.size} resources, ${extra.length} the stand-ins leave out: ${extra.map((k) => k.replace(/^kubernetes:/, "")).join(", ")}`);
        for (const cp of plan.controlPlanes) {
            const revision = cp.revisions[0].name;
            const dep = fromOfficial.get(`kubernetes:apps/v1:Deployment ${revision}-istiod:${cp.systemNamespace}/istiod-${revision}`);
            assert.ok(dep !== undefined, `the istiod Deployment of ${revision}`);
            const env = Object.fromEntries((dep.spec.template.spec.containers[0].env ?? []).map((e: any) => [e.name, e.value]));
            for (const [k, v] of Object.entries((cp.revisions[0].istiod.values as any).pilot.env)) assert.equal(env[k], v, `${revision}: env ${k}`);
            assert.equal(dep.spec.replicas, (cp.revisions[0].istiod.values as any).pilot.replicaCount, `${revision}: replicas`);
            const mesh = YAML.parse(fromOfficial.get(`kubernetes:core/v1:ConfigMap ${revision}-istiod:${cp.systemNamespace}/istio-${revision}`).data.mesh);
            assert.deepEqual(mesh.discoverySelectors, [{ matchLabels: { usergroup: cp.usergroup } }], `${revision}: discovery selectors`);
            assert.deepEqual(mesh.defaultServiceExportTo, ["."], `${revision}: private Services by default`);
        }
        assert.deepEqual([...fromOfficial.keys()].filter((k) => k.includes("istiod:") && k.includes(":NetworkPolicy ")), [], "the charts render no NetworkPolicy of their own (global.networkPolicy.enabled false)");
    });

    it("the policy pack refuses a stack that breaks isolation, naming the rules, whichever way the CLI starts it", () => {
        const cwd = path.join(ROOT, "test", "e2e", "rogue-team");
        expectExit(pulumi(["stack", "select", "--create", "rogue"], { cwd }), 0, "select rogue stack");
        const args = ["preview", "--stack", "rogue", "--policy-pack", path.join(ROOT, "policy")];
        // Given its directory, plain pulumi starts the pack through the Node.js language host; scripts/pulumi-run.sh
        // starts the same pack as a binary analyzer (policy/analyzer). Both must refuse with the same findings.
        const viaHost = timed("refused preview (language host)", pulumi(args, { cwd }));
        const log = tempFile("rogue-preview.log");
        const viaAnalyzer = timed("refused preview (policy/analyzer)", run(path.join(ROOT, "scripts", "pulumi-run.sh"), [...args, "--non-interactive", "--color", "never"], { cwd, env: { MESH_TENANCY_PULUMI_LOG: log } }));
        const [hostOut, analyzerOut] = [viaHost.stdout + viaHost.stderr, fs.readFileSync(log, "utf8")];
        const findings = (out: string) => [...new Set(out.split("\n").filter((l) => /\[MT\d+\]/.test(l)).map((l) => l.trim()))].sort();
        for (const [how, r, out] of [["language host", viaHost, hostOut], ["policy/analyzer", viaAnalyzer, analyzerOut]] as const) {
            assert.notEqual(r.code, 0, `${how}: ${out}`);
            assert.match(out, /revision-label-without-injection-label/, how);
            assert.match(out, /sidecar-hosts-within-usergroup/, how);
            assert.match(out, /\[MT0701\] Sidecar payments\/default: egress host "\*\/\*" imports from every namespace/, how);
        }
        assert.match(analyzerOut, /local: \S*policy\/analyzer\)/, "pulumi-run.sh started the pack as the binary analyzer");
        assert.deepEqual(findings(analyzerOut), findings(hostOut), "the same findings both ways");
    });

    it("up creates what the plan says", () => {
        assertNoWarning(timed("up", expectExit(pulumi(["up", "--yes", "--skip-preview", "--stack", STACK, ...POLICY]), 0, "up")));
        markUp(true);
        assertPlannedLive(plannedObjects(plan));
    });

    it("up installs each revision's istiod with its discovery selectors and private exportTo defaults", () => {
        for (const cp of plan.controlPlanes) {
            const revision = cp.revisions[0].name;
            const cm = kubectlJson(["get", "configmap", `istio-${revision}`, "-n", cp.systemNamespace]);
            assert.equal(cm.metadata.labels["istio.io/rev"], revision);
            assert.match(cm.data.mesh, new RegExp(`usergroup: ${cp.usergroup}`));
            assert.match(cm.data.mesh, /defaultServiceExportTo:\s*\n\s*- \./);
            const deployment = kubectlJson(["get", "deployment", `istiod-${revision}`, "-n", cp.systemNamespace]);
            const env = Object.fromEntries(deployment.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
            const planned: Record<string, string> = (cp.revisions[0].istiod.values as any).pilot.env;
            assert.equal(planned.PILOT_SCOPE_GATEWAY_TO_NAMESPACE, "true");
            for (const [name, value] of Object.entries(planned)) assert.equal(env[name], value, name);
            assert.equal(env.ENABLE_ENHANCED_RESOURCE_SCOPING, undefined, "the flag is gone from Istio 1.25 on");
            const chartPolicies = kubectlJson(["get", "networkpolicies", "-n", cp.systemNamespace, "-l", "app=istiod"]).items;
            assert.deepEqual(chartPolicies, [], "the chart's own istiod NetworkPolicy stays off");
        }
        const gateways = kubectlJson(["get", "deployments", "-A", "-l", "mesh-tenancy.io/gateway"]).items;
        assert.deepEqual(gateways.map((d: any) => d.metadata.namespace).sort(), plan.namespaces.filter((n) => n.gateway).map((n) => n.name).sort());
    });

    it("a second up reports no changes", () => {
        const r = timed("second up", expectExit(pulumi(["up", "--yes", "--expect-no-changes", "--stack", STACK, ...POLICY]), 0, "second up"));
        assert.doesNotMatch(r.stdout, /[+~-] \d+ to (create|update|delete|replace)/);
    });

    it("a real istiod per usergroup starts as its chart's ServiceAccount with the deployed mesh config and env", async () => {
        await ensureIstiods();
        for (const cp of plan.controlPlanes) {
            const istiod = istiods.get(cp.usergroup)!;
            console.log(`      istiod ${cp.revisions[0].name}: ready in ${istiod.readySeconds.toFixed(1)}s, ${rssMb(istiod.process.pid!)} MB RSS`);
            // Services as istiod's registry holds them (model.Service: `Attributes.Namespace`).
            const registry = (await (await fetch(`${istiod.http}/debug/registryz`)).json()) as any[];
            const discovered = [...new Set(registry.map((s) => String(s.Attributes?.Namespace)))].sort();
            // Every planned namespace holds a Service (istiod's, the echo Services), so each must be there, and nothing else.
            assert.deepEqual(discovered, [...cp.discoveredNamespaces].sort(), `istiod ${cp.revisions[0].name} discovers exactly its usergroup's namespaces`);
        }
    });

    it("istioctl analyze -A finds nothing at warning or error level in what the program wrote", () => {
        const messages = analyze();
        const serious = messages.filter((m) => m.level === "Warning" || m.level === "Error");
        // The local control plane has no nodes, so no pod ever exists: a selector that names pods finds none. Istio
        // reports that as IST0101 "Referenced selector not found" (Gateway, Sidecar workloadSelector) and IST0127 "No
        // matching workloads" (AuthorizationPolicy). On a cluster with the tenants' pods running these do not arise.
        const noPods = (m: AnalyzerMessage) => (m.code === "IST0101" && /^Referenced selector not found/.test(m.message ?? "")) || m.code === "IST0127";
        console.log(`      istioctl analyze -A: ${messages.length} messages (${summarise(messages)}); explained by the absence of pods: ${serious.filter(noPods).length}`);
        assert.deepEqual(serious.filter((m) => !noPods(m)).map(describeMessage), []);
    });

    it("the stand-in istiod chart agrees with istioctl's rendering of the same values on every field its README claims", () => {
        const build = istioBuild(plan.base.version);
        console.log(`      stand-in charts for Istio ${plan.base.version}, compared with istioctl ${build.version} (${build.suffix === "" ? "release-1.31" : "release-1.30"} build)`);
        const differences: string[] = [];
        for (const cp of plan.controlPlanes) {
            const { name: revision } = cp.revisions[0];
            const ns = cp.systemNamespace;
            const official = renderOfficial(istioOperatorFor(cp.revisions[0].istiod.values as Record<string, any>), build.suffix);
            const find = (kind: string, name: string) => {
                const o = official.find((x) => x.kind === kind && x.metadata.name === name);
                if (o === undefined) differences.push(`${revision}: istioctl renders no ${kind} ${name}`);
                return o;
            };
            const live = (resource: string, name: string, namespace?: string) => kubectlJson(["get", resource, name, ...(namespace ? ["-n", namespace] : [])]);
            const same = (what: string, stand: unknown, off: unknown) => {
                if (JSON.stringify(stand) !== JSON.stringify(off)) differences.push(`${revision}: ${what}: stand-in ${JSON.stringify(stand)}, official ${JSON.stringify(off)}`);
            };

            const cm = find("ConfigMap", `istio-${revision}`);
            if (cm !== undefined) {
                const standMesh = YAML.parse(live("configmap", `istio-${revision}`, ns).data.mesh);
                const offMesh = YAML.parse(cm.data.mesh);
                same("ConfigMap namespace", ns, cm.metadata.namespace);
                for (const key of ["rootNamespace", "trustDomain", "discoverySelectors", "defaultServiceExportTo", "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo", "defaultProviders"]) {
                    same(`mesh ${key}`, standMesh[key], offMesh[key]);
                }
                same("mesh defaultConfig.discoveryAddress", standMesh.defaultConfig?.discoveryAddress, offMesh.defaultConfig?.discoveryAddress);
                same("ConfigMap label istio.io/rev", live("configmap", `istio-${revision}`, ns).metadata.labels["istio.io/rev"], cm.metadata.labels["istio.io/rev"]);
            }

            const dep = find("Deployment", `istiod-${revision}`);
            if (dep !== undefined) {
                const stand = live("deployment", `istiod-${revision}`, ns);
                for (const key of ["app", "istio", "istio.io/rev"]) same(`Deployment label ${key}`, stand.metadata.labels[key], dep.metadata.labels[key]);
                same("Deployment selector", stand.spec.selector.matchLabels, dep.spec.selector.matchLabels);
                for (const key of ["app", "istio", "istio.io/rev", "sidecar.istio.io/inject"]) {
                    same(`pod label ${key}`, stand.spec.template.metadata.labels[key], dep.spec.template.metadata.labels[key]);
                }
                const envOf = (d: any) => Object.fromEntries((d.spec.template.spec.containers[0].env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
                const standEnv = envOf(stand);
                const offEnv = envOf(dep);
                const planned = Object.keys(((cp.revisions[0].istiod.values as any).pilot?.env ?? {}) as Record<string, string>);
                for (const key of ["REVISION", ...planned]) same(`env ${key}`, standEnv[key], offEnv[key]);
            }

            const svc = find("Service", `istiod-${revision}`);
            if (svc !== undefined) {
                const stand = live("service", `istiod-${revision}`, ns);
                const ports = (x: any) => x.spec.ports.map((p: any) => `${p.name}:${p.port}->${p.targetPort ?? p.port}`).sort();
                same("Service ports", ports(stand), ports(svc));
                same("Service selector", stand.spec.selector, svc.spec.selector);
            }

            const injector = find("MutatingWebhookConfiguration", `istio-sidecar-injector-${revision}-${ns}`);
            if (injector !== undefined) {
                const stand = live("mutatingwebhookconfiguration", `istio-sidecar-injector-${revision}-${ns}`);
                const hooks = (x: any) => x.webhooks.map((w: any) => ({ name: w.name, namespaceSelector: w.namespaceSelector, objectSelector: w.objectSelector }));
                same("injector webhooks", hooks(stand), hooks(injector));
            }
            const validator = find("ValidatingWebhookConfiguration", `istio-validator-${revision}-${ns}`);
            if (validator !== undefined) {
                const stand = live("validatingwebhookconfiguration", `istio-validator-${revision}-${ns}`);
                const hooks = (x: any) => x.webhooks.map((w: any) => ({ name: w.name, objectSelector: w.objectSelector }));
                same("validator webhooks", hooks(stand), hooks(validator));
            }
            const injectorConfig = find("ConfigMap", `istio-sidecar-injector-${revision}`);
            if (injectorConfig !== undefined) {
                const stand = live("configmap", `istio-sidecar-injector-${revision}`, ns);
                same("injector ConfigMap label istio.io/rev", stand.metadata.labels["istio.io/rev"], injectorConfig.metadata.labels["istio.io/rev"]);
                same("injector ConfigMap keys", Object.keys(stand.data).sort(), Object.keys(injectorConfig.data).sort());
            }
            find("ClusterRole", `istiod-clusterrole-${revision}-${ns}`);
            const sa = find("ServiceAccount", `istiod-${revision}`);
            if (sa !== undefined) same("ServiceAccount namespace", ns, sa.metadata.namespace);
        }
        assert.deepEqual(differences, []);
    });

    it("adding one tenant previews creates of that tenant only, plus the admissions the plan says change", () => {
        const add = (usergroups: any[]) => usergroups[0].tenants.push({ name: "newcomer", egress: ["payments/*"] });
        const file = stackFileVariant(STACK, add);
        const r = timed("diff preview", expectExit(pulumi(["preview", "--diff", "--json", "--stack", STACK, "--config-file", file]), 0, "preview with a new tenant"));
        const steps: { op: string; urn: string }[] = JSON.parse(r.stdout).steps;
        const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
        const byOp = (op: string) => steps.filter((s) => s.op === op).map((s) => nameOf(s.urn)).sort();

        const afterPlan = planTenancy(loadStack(STACK, (raw) => add(raw.usergroups)));
        const before = resourcesByName(plan);
        const after = resourcesByName(afterPlan);
        const created = [...after.keys()].filter((n) => !before.has(n)).sort();
        const updated = [...after.keys()].filter((n) => before.has(n) && before.get(n) !== after.get(n)).sort();
        // Smoke workloads: the newcomer's component, echo Deployment and Service (one name) and client; and the echo
        // Service of every namespace whose exportTo the newcomer changes.
        const newcomer = afterPlan.namespaces.find((n) => n.name === "newcomer")!;
        const smokeCreated = newcomer.smokeWorkloads ? ["newcomer-smoke", "newcomer-smoke-echo", "newcomer-smoke-echo", "newcomer-smoke-client"] : [];
        const exportToBefore = new Map(plan.namespaces.filter((n) => n.smokeWorkloads).map((n) => [n.name, n.serviceExportTo.join(",")]));
        const smokeUpdated = afterPlan.namespaces
            .filter((n) => exportToBefore.has(n.name) && exportToBefore.get(n.name) !== n.serviceExportTo.join(","))
            .map((n) => `${n.name}-smoke-echo`);

        assert.ok(created.length >= 5 && created.every((n) => n.startsWith("newcomer")), created.join(", "));
        assert.deepEqual(byOp("create"), ["newcomer", ...created, ...smokeCreated].sort(), "creates: the tenant's component and its objects");
        // The namespaces the newcomer imports must now admit it: the plan says which policies and exportTo annotations
        // change, and nothing else does.
        assert.deepEqual(byOp("update"), [...updated, ...smokeUpdated].sort());
        assert.ok(updated.every((n) => /^(payments|common-a)-(authz|allow-permitted|ns)$/.test(n)), updated.join(", "));
        assert.deepEqual(smokeUpdated, newcomer.smokeWorkloads ? ["payments-smoke-echo"] : []);
        assert.deepEqual(steps.filter((s) => !["same", "create", "update"].includes(s.op)), []);
    });
});
