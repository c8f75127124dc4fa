import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { planTenancy, plannedObjects, KubeObject } from "../../plan";
import { SERVICE_EXPORT_TO_ANNOTATION } from "../../policy/semantics/labels";
import type { Subject } from "../../policy/semantics/objects";
import { admissionTable, compareAdmission } from "../authz/istiodAuthz";
import { fixtureCases, runFuzz } from "../authz/fuzz";
import { ROOT, loadStack } from "../harness/configs";
import { allComposedFixtures } from "../harness/overlay";
import { clockInto, expectExit, kubectlJson, run, tempFile } from "./harness";
import { Istiod, istioBuild, istioOperatorFor, liveSubjects, renderOfficial, sleep, startIstiod } from "./istio";

/**
 * Who gets through each sidecar, judged by the RBAC a real istiod compiles for it and by the semantics model, side by
 * side. Its own setup, before the engine's suite: the local stack's planned objects, its tenants' smoke workloads and
 * the official istiod chart's objects for each revision applied with kubectl (no engine needed to ask istiod), the
 * rogue team's manifests and the fixtures' AuthorizationPolicies that a real API server accepts; then a bounded
 * differential fuzz run on a usergroup of its own. Everything is deleted afterwards, and the namespaces awaited, so
 * the engine's suite starts from an empty cluster.
 */

const STACK = "local";
/** Bounded here; `npm run fuzz:authz` runs more. */
const FUZZ = { seed: Number(process.env.MESH_TENANCY_AUTHZ_SEED ?? 29), runs: 12, seconds: 90 };

describe("authorization judged by istiod itself", function () {
    this.timeout(20 * 60 * 1000);
    const plan = planTenancy(loadStack(STACK));
    const build = istioBuild(plan.base.version);
    const istiods = new Map<string, Istiod>();
    const appliedFiles: string[] = [];
    const namespaces = new Set<string>();
    const timings: Record<string, number> = {};
    const clock = clockInto(timings);

    const apply = (objects: KubeObject[] | string, what: string) => {
        const file = typeof objects === "string" ? objects : tempFile("objects.yaml");
        if (typeof objects !== "string") {
            fs.writeFileSync(file, objects.map((o) => YAML.stringify(o)).join("---\n"));
            for (const o of objects) if (o.kind === "Namespace") namespaces.add(o.metadata.name);
        }
        expectExit(run("kubectl", ["apply", "--server-side", "--force-conflicts", "--field-manager", "authz-e2e", "-f", file]), 0, what);
        appliedFiles.push(file);
    };

    before(async () => {
        await clock("setup", async () => {
            // The admission guardrails judge app teams' writes; this suite writes as the platform and is not about them.
            const planned = plannedObjects(plan).filter((o) => !o.kind.startsWith("ValidatingAdmissionPolicy"));
            const smoke = plan.namespaces.flatMap((n) => (n.smokeWorkloads ?? []).map((o) => o.object));
            const sharedEcho = plan.namespaces
                .filter((n) => n.role === "shared")
                .map((n): KubeObject => ({
                    apiVersion: "v1",
                    kind: "Service",
                    metadata: { name: "shared-echo", namespace: n.name, annotations: { [SERVICE_EXPORT_TO_ANNOTATION]: n.serviceExportTo.join(",") } },
                    spec: { selector: { app: "shared-echo" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
                }));
            const official = plan.controlPlanes.flatMap((cp) => renderOfficial(istioOperatorFor(cp.revisions[0].istiod.values as Record<string, any>), build.suffix).filter((o) => o.kind !== "CustomResourceDefinition"));
            const all = [...planned, ...smoke, ...sharedEcho, ...official];
            apply([...all.filter((o) => o.kind === "Namespace"), ...all.filter((o) => o.kind !== "Namespace")], "apply the local stack's objects and the official istiod charts");
            const rogue = path.join(ROOT, "test", "e2e", "rogue-team", "manifests.yaml");
            for (const doc of YAML.parseAllDocuments(fs.readFileSync(rogue, "utf8"))) if (doc.get("kind") === "Namespace") namespaces.add(String(doc.getIn(["metadata", "name"])));
            apply(rogue, "apply the rogue team's manifests");
            const team = plan.namespaces.find((n) => n.usergroup === plan.controlPlanes[0].usergroup)!;
            const cases = fixtureCases(allComposedFixtures(), team.namespace.object.metadata.labels ?? {});
            for (const c of cases) namespaces.add(c.namespace);
            const file = tempFile("cases.yaml");
            fs.writeFileSync(file, cases.flatMap((c) => c.objects).map((o) => YAML.stringify(o)).join("---\n"));
            appliedFiles.push(file);
            // One call for all; where the API server refuses some, each case on its own says which.
            let refused = 0;
            if (run("kubectl", ["apply", "--server-side", "--field-manager", "authz-e2e", "-f", file]).code !== 0) {
                for (const c of cases) {
                    const one = tempFile("case.yaml");
                    fs.writeFileSync(one, c.objects.map((o) => YAML.stringify(o)).join("---\n"));
                    if (run("kubectl", ["apply", "--server-side", "--field-manager", "authz-e2e", "-f", one]).code !== 0) refused++;
                }
            }
            console.log(`      fixtures: ${cases.length} distinct AuthorizationPolicies, each in a namespace of ${plan.controlPlanes[0].usergroup}; the API server refused ${refused}`);
            for (const cp of plan.controlPlanes) istiods.set(cp.revisions[0].name, await startIstiod(cp, build.suffix));
            await sleep(3000); // let each istiod push what it discovered
        });
    });

    after(async () => {
        for (const istiod of istiods.values()) await istiod.stop();
        await clock("teardown", async () => {
            for (const file of appliedFiles.reverse()) run("kubectl", ["delete", "--ignore-not-found", "--wait=false", "-f", file]);
            const deadline = Date.now() + 180_000;
            const left = () => kubectlJson(["get", "namespaces"]).items.map((n: any) => n.metadata.name).filter((n: string) => namespaces.has(n));
            while (left().length > 0 && Date.now() < deadline) await sleep(1000);
            assert.deepEqual(left(), [], "the suite's namespaces are gone before the engine's suite starts");
        });
        console.log(`      authz e2e timings (s): ${JSON.stringify(timings)}`);
    });

    it("1. for every workload of every tenant, shared and system namespace, istiod's compiled RBAC admits exactly the caller namespaces the model admits", async () => {
        // liveSubjects() is what the report reads; mTLS needs the PeerAuthentications beside it.
        const peerAuthentications = kubectlJson(["get", "peerauthentications.security.istio.io", "-A"]).items.map((object: any): Subject => ({ object, origin: {} }));
        const subjects: Subject[] = [...liveSubjects(), ...peerAuthentications];
        const accounts = kubectlJson(["get", "serviceaccounts", "-A"]).items.map((object: any) => ({ object, origin: {} }));
        const addrs = new Map([...istiods].map(([rev, i]) => [rev, i.grpc] as const));
        const { rows, skipped, disagreements, undecided } = await clock("compare", () => compareAdmission(subjects, accounts, addrs, build.version));
        for (const line of admissionTable(rows)) console.log(`      ${line}`);
        for (const s of skipped) console.log(`      (not probed) ${s.workload}: ${s.why}`);
        for (const d of disagreements) console.log(`      DISAGREE ${d}`);
        const probed = new Set(rows.map((r) => r.workload.replace(/^(any new pod in |\S+ )/, "").split("/")[0]));
        for (const n of plan.namespaces) assert.ok(probed.has(n.name), `a proxy of ${n.name} was probed`);
        // The rogue namespace carries both injection labels: whether its pods get a sidecar is the model's to say.
        assert.ok([...rows, ...skipped].some((r) => r.workload.includes("rogue-payments")), "the rogue team's namespace was judged");
        assert.ok(rows.some((r) => r.workload.includes("authz-case-")), "the fixtures' cases were probed");
        assert.deepEqual(undecided, []);
        assert.deepEqual(disagreements, []);
    });

    it("2. the measured cases of test/fixtures/authz and a bounded differential fuzz run: random AuthorizationPolicies and PeerAuthentications, istiod and the model agree", async () => {
        const report = await clock("fuzz", () => runFuzz({ ...FUZZ, suffix: build.suffix, istioVersion: build.version, log: (l) => console.log(`      ${l}`), replay: path.join(ROOT, "test", "fixtures", "authz") }));
        for (const ns of report.namespaces) namespaces.add(ns);
        assert.ok(report.estates > 0, "at least one estate ran");
        assert.ok(report.fixtures > 0, "the measured cases were measured again");
        assert.deepEqual(report.undecided, []);
        assert.deepEqual(report.disagreements, []);
    });
});
