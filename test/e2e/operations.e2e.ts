/**
 * Operations on the real engine: istiod patching its webhooks, the pull-request comment of a large preview, drift and
 * its repair, protected namespaces and the retire procedure, destroy, and an `up` killed half-way.
 */
import * as assert from "node:assert/strict";
import { spawn } from "child_process";
import * as fs from "fs";
import { GITHUB_COMMENT_LIMIT } from "../../ops/comment";
import { planTenancy, plannedObjects } from "../../plan";
import { ROOT, loadStack } from "../harness/configs";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../../policy/semantics/labels";
import { checkTenantGuardrails } from "./guardrails";
import { expectExit, kubectlJson, pulumi, pulumiFolded, run, stackConfigVariant, stackFileVariant, tempFile } from "./harness";
import { istioBuild, startIstiod } from "./istio";
import { assertContains, assertPlannedLive, ensureIstiods, ensureUp, istiods, markUp, plan, POLICY, RESOURCE, STACK, tenantNamespaces, timed, waitFor, waitForAsync } from "./engine";

describe("operations: day-two runs of stack local, from drift to destroy", function () {
    this.timeout(20 * 60 * 1000);

    before(() => ensureUp());

    it("istiod patching its webhooks, as in a cluster, leaves the stack converged, and up --refresh keeps istiod's patch", async () => {
        await ensureIstiods();
        const build = istioBuild(plan.base.version);
        const cp = plan.controlPlanes[0];
        const revision = cp.revisions[0].name;
        await istiods.get(cp.usergroup)!.stop();
        istiods.set(cp.usergroup, await startIstiod(cp, build.suffix, { patchWebhooks: true }));
        const webhooks = () => [
            ...kubectlJson(["get", "mutatingwebhookconfigurations", "-l", `istio.io/rev=${revision}`]).items,
            kubectlJson(["get", "validatingwebhookconfiguration", `istio-validator-${revision}-${cp.systemNamespace}`]),
        ];
        const bundles = () => webhooks().flatMap((c: any) => c.webhooks.map((w: any) => `${c.metadata.name}/${w.name}: ${w.clientConfig.caBundle ?? ""}`));
        assert.ok(await waitForAsync(() => bundles().every((b) => !b.endsWith(": ")), 60), `istiod patched every CA bundle: ${bundles().map((b) => b.slice(0, 80)).join("; ")}`);
        const patched = bundles();
        timed("refresh preview after istiod", expectExit(pulumi(["preview", "--refresh", "--expect-no-changes", "--stack", STACK, ...POLICY]), 0, "preview --refresh with istiod's patches"));
        timed("refresh up after istiod", expectExit(pulumi(["up", "--refresh", "--yes", "--skip-preview", "--stack", STACK, ...POLICY]), 0, "up --refresh"));
        assert.deepEqual(bundles(), patched, "up --refresh left istiod's CA bundles in place");
        const validator = webhooks().at(-1);
        assert.deepEqual(validator.webhooks.map((w: any) => w.failurePolicy), validator.webhooks.map(() => "Fail"), "the validator renders the failurePolicy istiod converges to");
    });

    it("a preview comment stays within GitHub's limit, with the policy results and a link to the full log", () => {
        // Forty more tenants: a diff far longer than a comment may be.
        const many = stackFileVariant(STACK, (usergroups) => {
            for (let i = 0; i < 40; i++) usergroups[1].tenants.push({ name: `extra-${i}` });
        });
        const log = tempFile("preview.log");
        timed("large diff preview", expectExit(pulumiFolded(["preview", "--diff", "--stack", STACK, "--config-file", many, ...POLICY], log), 0, "large preview"));
        const full = fs.readFileSync(log, "utf8");
        assert.ok(full.length > GITHUB_COMMENT_LIMIT, `the whole preview has ${full.length} characters`);
        const out = tempFile("comment.md");
        const args = ["comment", "--stack", STACK, "--log", log, "--exit-code", "0", "--url", "https://ci.example/runs/1", "--out", out];
        expectExit(run("node", ["-r", "ts-node/register/transpile-only", "ops/cli.ts", ...args]), 0, "comment");
        const comment = fs.readFileSync(out, "utf8");
        assert.ok(comment.length <= GITHUB_COMMENT_LIMIT, `${comment.length}`);
        // `mesh-tenancy@v0.1.0` in a plain preview, `mesh-tenancy|local|policy  0.1.0` under "Policy Packs run:" with --diff.
        assert.match(comment, /\*\*Policies\*\*\n\n```text\n[^`]*mesh-tenancy(@v|\|)/);
        assert.match(comment, /\+ \d+ to create/);
        assert.match(comment, /\n\+ +kubernetes:core\/v1:Namespace/, "creates marked in the first column");
        // The diff lists resources in the order the engine steps them, which varies: some new tenant's namespace is there.
        assert.match(comment, /::extra-\d+-ns\]/);
        assert.match(comment, /more lines in the full log: https:\/\/ci\.example\/runs\/1/);
        assert.doesNotMatch(comment, /^Outputs:/m);
    });

    it("drift: the documented repair restores exactly the drifted objects, and a second run has nothing to do", () => {
        expectExit(run("kubectl", ["patch", "authorizationpolicy", "allow-permitted-namespaces", "-n", "payments", "--type=json",
            "-p", '[{"op":"replace","path":"/spec/rules/0/from/0/source/principals","value":["*"]}]']), 0, "widen principals");
        expectExit(run("kubectl", ["delete", "sidecar", "default", "-n", "ledger"]), 0, "delete a Sidecar");
        // A label the tenant put on its own namespace: forcing takes back only what the plan declares.
        expectExit(run("kubectl", ["label", "namespace", "payments", "team.example.com/cost-center=4711"]), 0, "label");

        const previewRun = timed("drift preview", expectExit(pulumi(["preview", "--refresh", "--json", "--stack", STACK, ...POLICY]), 0, "drift preview"));
        const steps: { op: string; urn: string }[] = JSON.parse(previewRun.stdout).steps;
        const changes = steps.filter((s) => ["create", "update", "delete", "replace"].includes(s.op)).map((s) => `${s.op} ${s.urn.slice(s.urn.lastIndexOf("::") + 2)}`);
        assert.deepEqual(changes.sort(), ["create ledger-sidecar", "update payments-authz"]);

        const repair = timed("repair", expectExit(pulumi(["up", "--refresh", "--yes", "--stack", STACK, ...POLICY]), 0, "documented repair"));
        assert.match(repair.stdout, /\+ 1 created/);
        assert.match(repair.stdout, /~ 1 updated/);
        for (const expected of plannedObjects(plan).filter((o) => o.metadata.namespace === "payments" || o.metadata.namespace === "ledger")) {
            const { kind, metadata } = expected;
            assertContains(kubectlJson(["get", RESOURCE[kind], metadata.name, "-n", metadata.namespace!]), expected, `${kind} ${metadata.namespace}/${metadata.name}`);
        }
        const principals = kubectlJson(["get", "authorizationpolicy", "allow-permitted-namespaces", "-n", "payments"]).spec.rules[0].from[0].source.principals;
        assert.ok(!principals.includes("*"), principals.join(","));
        assert.equal(kubectlJson(["get", "namespace", "payments"]).metadata.labels["team.example.com/cost-center"], "4711");

        timed("second repair", expectExit(pulumi(["up", "--refresh", "--yes", "--expect-no-changes", "--stack", STACK, ...POLICY]), 0, "second repair"));
    });

    // Nested suites run after the suite's own tests, in order: protected namespaces, destroy, the killed up.
    describe("protected namespaces", () => {
        const protectedConfig = (mutate: (config: Record<string, any>) => void = () => undefined) =>
            stackConfigVariant(STACK, (config) => {
                config["mesh-tenancy:protectNamespaces"] = "true";
                mutate(config);
            });
        const reports = (usergroups: any[]) => usergroups[1].tenants.find((t: any) => t.name === "reports");
        const withoutReports = (config: Record<string, any>) => {
            const ug = config["mesh-tenancy:usergroups"][1];
            ug.tenants = ug.tenants.filter((t: any) => t.name !== "reports");
        };
        const reportsObjects = plannedObjects(plan).filter((o) => o.metadata.name === "reports" || o.metadata.namespace === "reports");
        const assertReportsIntact = (what: string) => {
            for (const o of reportsObjects) {
                const live = kubectlJson(["get", RESOURCE[o.kind], o.metadata.name, ...(o.metadata.namespace ? ["-n", o.metadata.namespace] : [])]);
                assert.equal(live.metadata.deletionTimestamp, undefined, `${what}: ${o.kind} ${o.metadata.name} is being deleted`);
            }
        };

        it("protecting the stack changes no object", () => {
            timed("protect", expectExit(pulumi(["up", "--yes", "--skip-preview", "--stack", STACK, "--config-file", protectedConfig(), ...POLICY]), 0, "protect"));
        });

        it("removing a tenant deletes nothing of it, and the refusal says how to retire it", () => {
            const log = tempFile("remove.log");
            const r = timed("refused removal", pulumiFolded(["up", "--yes", "--skip-preview", "--stack", STACK, "--config-file", protectedConfig(withoutReports), ...POLICY], log));
            assert.notEqual(r.code, 0, r.stdout);
            assert.match(r.stdout, /protect/);
            assert.match(r.stdout, /retire: true/);
            assertReportsIntact("after the refused removal");
            // The engine applied the rest of that update before the refusal (analytics stops importing reports: a
            // narrowing); the config with reports puts it back, and then nothing is left to do.
            timed("restore after refusal", expectExit(pulumi(["up", "--yes", "--skip-preview", "--stack", STACK, "--config-file", protectedConfig(), ...POLICY]), 0, "restore"));
            expectExit(pulumi(["preview", "--expect-no-changes", "--stack", STACK, "--config-file", protectedConfig()]), 0, "no change after the restore");
        });

        it("destroy --skip-preview deletes nothing", () => {
            const r = timed("refused destroy", pulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK]));
            assert.notEqual(r.code, 0, r.stdout);
            assertReportsIntact("after the refused destroy");
            for (const o of plannedObjects(plan)) {
                kubectlJson(["get", RESOURCE[o.kind], o.metadata.name, ...(o.metadata.namespace ? ["-n", o.metadata.namespace] : [])]);
            }
            // The refused steps leave the stack as it was: the next update has nothing to do.
            expectExit(pulumi(["preview", "--expect-no-changes", "--stack", STACK, "--config-file", protectedConfig()]), 0, "no change after the refusals");
        });

        it("the documented retire procedure removes the tenant with its namespace", () => {
            const step1 = timed("retire step 1", expectExit(pulumi(["up", "--yes", "--skip-preview", "--stack", STACK, "--config-file",
                protectedConfig((c) => (reports(c["mesh-tenancy:usergroups"]).retire = true)), ...POLICY]), 0, "retire: true"));
            assertReportsIntact("after retire: true");
            const outputs = JSON.parse(expectExit(pulumi(["stack", "output", "--json", "--stack", STACK]), 0, "outputs").stdout);
            const unprotect: string = outputs.retiring.reports;
            assert.match(unprotect, /^pulumi state unprotect --yes 'urn:pulumi:local::mesh-tenancy::.*::reports-ns'$/, step1.stdout);
            const urn = unprotect.slice(unprotect.indexOf("'") + 1, -1);
            expectExit(pulumi(["state", "unprotect", "--yes", urn, "--stack", STACK]), 0, "unprotect the namespace");
            timed("retire step 2", expectExit(pulumi(["up", "--yes", "--skip-preview", "--stack", STACK, "--config-file", protectedConfig(withoutReports), ...POLICY]), 0, "remove the tenant"));
            const gone = waitFor(() => run("kubectl", ["get", "namespace", "reports"]).code !== 0, 120);
            // What holds a namespace that does not go: its phase and conditions, and what is left in it.
            const left = () => {
                const ns = run("kubectl", ["get", "namespace", "reports", "-o", "json"]);
                if (ns.code !== 0) return "";
                const o = JSON.parse(ns.stdout);
                const inside = run("kubectl", ["api-resources", "--verbs=list", "--namespaced", "-o", "name"]).stdout.trim().split("\n").join(",");
                return `deletionTimestamp ${o.metadata.deletionTimestamp}, phase ${o.status?.phase}, conditions ${JSON.stringify(o.status?.conditions ?? [])}; left: ${run("kubectl", ["get", inside, "-n", "reports", "-o", "name"]).stdout.trim().replace(/\n/g, " ")}`;
            };
            assert.ok(gone, `namespace reports is deleted, and its contents with it (${left()})`);
            assert.equal(kubectlJson(["get", "sidecars.networking.istio.io", "-A"]).items.filter((i: any) => i.metadata.namespace === "reports").length, 0);
            // analytics stays as the plan without reports has it (its guardrail parameters no longer name reports).
            const afterRetire = planTenancy(loadStack(STACK, (raw) => (raw.usergroups[1].tenants = raw.usergroups[1].tenants.filter((t: any) => t.name !== "reports"))));
            assertContains(kubectlJson(["get", "namespace", "analytics"]), plannedObjects(afterRetire).find((o) => o.kind === "Namespace" && o.metadata.name === "analytics")!, "analytics");
        });

        it("unprotecting brings the stack back to the plain local stack", () => {
            timed("unprotect", expectExit(pulumi(["up", "--yes", "--skip-preview", "--stack", STACK, ...POLICY]), 0, "back to the local stack"));
            expectExit(pulumi(["preview", "--expect-no-changes", "--stack", STACK, ...POLICY]), 0, "no changes");
        });
    });

    // A suite of its own, so that it runs after the protected namespaces (mocha runs a suite's own tests before its nested suites).
    describe("destroy", () => {
        it("removes every tenant namespace of the unprotected stack, as local:down runs it", () => {
            timed("destroy", expectExit(pulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK]), 0, "destroy"));
            markUp(false);
            const remaining = kubectlJson(["get", "namespaces"]).items.map((n: any) => n.metadata.name);
            for (const ns of [...tenantNamespaces, ...plan.controlPlanes.map((cp) => cp.systemNamespace)]) {
                assert.ok(!remaining.includes(ns), `namespace ${ns} still exists`);
            }
            // The stack leaves the CRDs to the cluster (istio.crds: external): they stay, with Istio's own schemas.
            const sidecarCrd = kubectlJson(["get", "crd", "sidecars.networking.istio.io"]);
            const v1 = sidecarCrd.spec.versions.find((v: any) => v.name === "v1");
            assert.ok(v1?.schema?.openAPIV3Schema?.properties?.spec?.properties?.egress !== undefined, "the official Sidecar schema is still there");
        });
    });

    describe("an up killed half-way", () => {
        it("(state written at the end only) is recovered by `pulumi cancel` and the next up, nothing orphaned or doubled", async () => {
            // With the admission guardrails, which the destroy above removed: created a second time in the same API server, they
            // must admit the plan and refuse what they refused before (their parameters are on the namespaces).
            const guarded = planTenancy(loadStack(STACK));
            assert.equal(process.env.PULUMI_SKIP_CHECKPOINTS, "true", "scripts/pulumi-env.sh writes the state at the end of a run");
            const tenantCount = () => kubectlJson(["get", "namespaces", "-l", "mesh-tenancy.io/role=tenant"]).items.length;
            // Its own process group, so that the kill takes the language host, the policy pack and the provider with it.
            const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", STACK, ...POLICY], { cwd: ROOT, detached: true, stdio: "ignore" });
            const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
            const started = await waitForAsync(() => tenantCount() >= 2, 300);
            process.kill(-child.pid!, "SIGKILL");
            await exited;
            assert.ok(started, "the up created tenant namespaces before it was killed");
            const partial = tenantCount();
            assert.ok(partial < guarded.namespaces.length, `killed half-way: ${partial} of ${guarded.namespaces.length} tenant namespaces exist`);
            // The plugins start in process groups of their own, so the group kill leaves them; they stay in the killed
            // CLI's session (and would end by themselves within five minutes, when their engine health check fails).
            const leftovers = run("ps", ["-o", "pid=,args=", "--sid", String(child.pid)]).stdout.trim().split("\n").filter((l) => l.trim() !== "");
            assert.ok(leftovers.every((l) => /pulumi-(language-nodejs|resource-kubernetes)|node/.test(l)), `only plugins are left: ${leftovers.join("; ")}`);
            run("pkill", ["-KILL", "-s", String(child.pid)]);
            assert.ok(await waitForAsync(() => run("pgrep", ["-s", String(child.pid)]).stdout.trim() === "", 10), "no process of the killed run is left");
            assert.equal(run("pgrep", ["-f", `${process.env.PULUMI_HOME}/plugins/`]).stdout.trim(), "", "no provider of this PULUMI_HOME is left running");

            // The run held the stack's lock; the state is still the one from before the run (empty after the destroy above).
            const locked = pulumi(["up", "--yes", "--skip-preview", "--stack", STACK, ...POLICY]);
            assert.notEqual(locked.code, 0, "the lock of the killed run stops the next up");
            assert.match(locked.stdout + locked.stderr, /locked/);
            expectExit(pulumi(["cancel", "--yes", "--stack", STACK]), 0, "cancel releases the lock");
            // The killed run applied under field managers of its own; the recovering up takes every field back (docs/operating.md, "After a killed update").
            const recover = run("pulumi", ["up", "--yes", "--skip-preview", "--stack", STACK, ...POLICY, "--non-interactive", "--color", "never"], { env: { PULUMI_K8S_ENABLE_PATCH_FORCE: "true" } });
            timed("up after kill", expectExit(recover, 0, "up after the kill"));
            expectExit(pulumi(["preview", "--expect-no-changes", "--stack", STACK, ...POLICY]), 0, "converged");
            assertPlannedLive(plannedObjects(guarded));
            // Nothing the platform labels as its own exists beyond the plan, and the state holds each object once.
            const planned = new Set(plannedObjects(guarded).map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`));
            for (const kind of [...new Set(plannedObjects(guarded).map((o) => o.kind))]) {
                for (const o of kubectlJson(["get", RESOURCE[kind], "-A", "-l", `${MANAGED_BY_LABEL}=${MANAGED_BY}`]).items) {
                    assert.ok(planned.has(`${kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`), `orphan ${kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`);
                }
            }
            // The guardrails, created a second time in this API server, refuse and admit exactly as after the first up.
            checkTenantGuardrails();
            const urns = JSON.parse(expectExit(pulumi(["stack", "export", "--stack", STACK]), 0, "export").stdout).deployment.resources.map((r: any) => r.urn);
            assert.equal(new Set(urns).size, urns.length, "every resource once in the state");
            timed("destroy after kill", expectExit(pulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK]), 0, "destroy"));
            markUp(false);
            // Deletes run in the background here: what follows (the opt-in upgrade suite) starts from namespaces that are gone.
            assert.ok(await waitForAsync(() => tenantCount() === 0, 180), "the tenant namespaces are gone after the destroy");
        });
    });
});
