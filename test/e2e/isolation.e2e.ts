/**
 * Isolation as the real istiods compute it: every proxy's view against the report's prediction, the who-can-call-whom
 * matrix over the objects read back, nothing of one usergroup at another's proxies, istiod's own NetworkPolicies, and
 * Istio's analyzer codes for the rogue team's objects.
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../harness/configs";
import { stackOutputs } from "../../plan/outputs";
import { visibilityModel } from "../../report/visibility";
import { evaluate } from "../../policy/lib/engine";
import { controlPlaneReach } from "../../policy/rules/controlPlaneReach";
import { Inventory } from "../../policy/semantics/inventory";
import { l3Admission } from "../../policy/semantics/networkPolicy";
import { ISTIOD_PORTS, istiodWorkloads } from "../../policy/semantics/revisions";
import { expectExit, run } from "./harness";
import { BUILTIN_CLUSTERS, compareViews, istioBuild, liveSubjects, probe, receivedServices, viewTable } from "./istio";
import { analyze, clockSync, ensureIstiods, istiods, OUT_DIR, plan, summarise } from "./engine";

describe("isolation: what each real istiod gives each namespace, and who reaches it", function () {
    this.timeout(20 * 60 * 1000);

    before(async () => void (await ensureIstiods()));

    it("every meshed namespace's proxies receive exactly the Services the report predicts", () => {
        const build = istioBuild(plan.base.version);
        const { rows, mismatches } = clockSync("probes", () => compareViews(liveSubjects(), istiods, build.version));
        fs.writeFileSync(path.join(OUT_DIR, "istio-views.json"), JSON.stringify(rows, null, 2));
        for (const line of viewTable(rows)) console.log(`      ${line}`);
        assert.ok(new Set(rows.map((r) => r.namespace)).size >= plan.namespaces.length, "every planned namespace was probed");
        assert.deepEqual(rows.flatMap((r) => r.otherClusters), [], "clusters that are neither Services nor built in");
        assert.deepEqual(mismatches, []);
    });

    it("the report's who-can-call-whom matrix over the objects read back equals the program's expectedConnectivity", () => {
        const expected = stackOutputs(plan).expectedConnectivity.allow;
        const managed = new Set(Object.keys(expected));
        const actual: Record<string, string[]> = {};
        for (const call of visibilityModel(liveSubjects()).calls) {
            if (managed.has(call.source) && managed.has(call.destination)) (actual[call.source] ??= []).push(call.destination);
        }
        const sorted = (m: Record<string, string[]>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [...v].sort()]).sort());
        assert.deepEqual(sorted(actual), sorted(expected));
    });

    it("another usergroup's namespace receives nothing of this usergroup through its own istiod; 15010 answers anyone", () => {
        const build = istioBuild(plan.base.version);
        const usergroupOf = new Map(plan.namespaces.map((n) => [n.name, n.usergroup] as const));
        for (const cp of plan.controlPlanes) usergroupOf.set(cp.systemNamespace, cp.usergroup);
        for (const ns of plan.namespaces) {
            const own = probe(istiods.get(ns.usergroup)!.grpc, ns.name, { istioVersion: build.version });
            const foreign = receivedServices(own).services.filter((id) => usergroupOf.get(id.slice(0, id.indexOf("/"))) !== ns.usergroup);
            assert.deepEqual(foreign, [], `${ns.name} receives Services of another usergroup from its own istiod`);
        }
        // The improper path: a proxy of one usergroup connecting to another usergroup's plaintext xDS port.
        for (const cp of plan.controlPlanes) {
            const istiod = istiods.get(cp.usergroup)!;
            const outsiders = plan.namespaces.filter((n) => n.usergroup !== cp.usergroup);
            for (const ns of outsiders) {
                const r = probe(istiod.grpc, ns.name, { istioVersion: build.version });
                assert.deepEqual(r.clusters, BUILTIN_CLUSTERS, `${ns.name} at ${cp.revisions[0].name}'s istiod, under its own name`);
            }
            // Nothing authenticates a plaintext xDS client: claiming an insider's namespace yields that namespace's view.
            const insider = plan.namespaces.find((n) => n.usergroup === cp.usergroup)!;
            const claimed = probe(istiod.grpc, insider.name, { istioVersion: build.version });
            assert.ok(receivedServices(claimed).services.length > 0, `a client claiming ${insider.name} gets its view`);
            console.log(`      ${cp.revisions[0].name}'s istiod on plaintext xDS: an outsider under its own name gets ${BUILTIN_CLUSTERS.length} built-in clusters; claiming ${insider.name} it gets ${claimed.clusters.length} clusters (${receivedServices(claimed).services.join(", ")})`);
        }
    });

    it("read back from the API server, each system namespace's NetworkPolicies admit no other usergroup to its istiod (semantics model, MT021)", () => {
        const subjects = liveSubjects();
        const inventory = new Inventory(subjects);
        for (const cp of plan.controlPlanes) {
            const rev = inventory.revisions.get(cp.revisions[0].name);
            assert.ok(rev !== undefined, `revision ${cp.revisions[0].name} learned from the live objects`);
            const [istiod, ...more] = istiodWorkloads(inventory, rev);
            assert.equal(more.length, 0);
            assert.equal(istiod.kind, "Deployment", "judged on the live istiod Deployment's pods");
            const own = plan.namespaces.filter((n) => n.usergroup === cp.usergroup).map((n) => n.name);
            const others = plan.namespaces.filter((n) => n.usergroup !== cp.usergroup).map((n) => n.name);
            for (const port of [ISTIOD_PORTS.xds, ISTIOD_PORTS.secureXdsAndCa, ISTIOD_PORTS.http, ISTIOD_PORTS.monitoring]) {
                const { sources } = l3Admission(inventory, istiod, { port });
                assert.deepEqual(others.filter((ns) => sources.has(ns)), [], `${cp.usergroup} istiod port ${port}: no other usergroup's namespace gets in`);
                assert.equal(sources.cofinite, false, `${cp.usergroup} istiod port ${port}: no namespace outside the object set gets in`);
                const admitted = own.filter((ns) => sources.has(ns));
                assert.deepEqual(admitted, port === ISTIOD_PORTS.xds || port === ISTIOD_PORTS.secureXdsAndCa ? own : [], `${cp.usergroup} istiod port ${port}: its own namespaces`);
            }
            assert.ok(!l3Admission(inventory, istiod, { port: ISTIOD_PORTS.webhook }).sources.isEmpty, "the API server can call the webhooks");
        }
        assert.deepEqual(evaluate([controlPlaneReach], subjects).map((v) => v.message), []);
    });

    it("the rogue team's objects, applied with kubectl, produce Istio's documented codes", () => {
        const file = path.join(ROOT, "test", "e2e", "rogue-team", "manifests.yaml");
        expectExit(run("kubectl", ["apply", "-f", file]), 0, "apply the rogue team's manifests");
        try {
            const rogue = analyze().filter((m) => /rogue/.test(m.origin ?? ""));
            console.log(`      istioctl analyze -A on the rogue team's objects: ${summarise(rogue)}`);
            const codes = [...new Set(rogue.map((m) => m.code))].sort();
            // IST0101 ReferencedResourceNotFound, IST0111 MultipleSidecarsWithoutWorkloadSelectors, IST0123
            // NamespaceMultipleInjectionLabels, IST0132 VirtualServiceHostNotFoundInGateway, IST0133 SchemaWarning
            // (`*/*` next to other hosts): istio.io/istio pkg/config/analysis/msg/messages.yaml.
            assert.deepEqual(codes, ["IST0101", "IST0111", "IST0123", "IST0132", "IST0133"]);
        } finally {
            expectExit(run("kubectl", ["delete", "-f", file, "--wait=false"]), 0, "delete the rogue team's manifests");
        }
    });
});
