import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../report/cli";
import type { ScopeReport } from "../../report/report";
import { ROOT, STACKS } from "../harness/configs";

const FIXTURES = path.join(__dirname, "fixtures");

function run(argv: string[]): { status: number; out: string; err: string } {
    let out = "";
    const err: string[] = [];
    const status = main(argv, (t) => (out += t), (l) => err.push(l));
    return { status, out, err: err.join("\n") };
}

describe("report CLI", () => {
    let tmp: string;
    before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "scope-report-"))));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    for (const stack of STACKS) {
        it(`--stack ${stack} prints each namespace with its imports, share, reduction and excess`, () => {
            const r = run(["--stack", stack]);
            assert.equal(r.status, 0, r.err);
            assert.match(r.out, new RegExp(`^Config scope of stack ${stack} `));
            assert.match(r.out, /namespace +role +imports +share +reduction +excess/);
            assert.match(r.out, /excess over minimum 0\.\n$/);
            assert.doesNotMatch(r.out, /UNSCOPED/);
        });
    }

    it("--stack prod --json gives the report as JSON, per usergroup and namespace", () => {
        const r = run(["--stack", "prod", "--json"]);
        assert.equal(r.status, 0, r.err);
        const report = JSON.parse(r.out) as ScopeReport;
        assert.equal(report.source.kind, "stack");
        assert.equal(report.total, 7);
        assert.deepEqual(report.usergroups.map((g) => [g.usergroup, g.namespaces.map((n) => n.namespace)]), [
            ["usergroup-1", ["common-services", "app-ns-1", "logmonkey"]],
            ["usergroup-2", ["app-ns-2", "app-ns-3"]],
        ]);
        const app1 = report.usergroups[0].namespaces[1];
        assert.deepEqual(app1.imports, ["usergroup-1", "common-services", "app-ns-1", "logmonkey"]);
        assert.equal(app1.imported, 4);
        assert.equal(app1.reduction, 3 / 7);
        assert.deepEqual(app1.excess, []);
        assert.deepEqual(app1.serviceExportTo, ["."], "the exportTo the plan gives its Services");
        assert.equal(report.totals.excess, 0);
        assert.equal(report.hasServices, false, "a stack report invents no Service objects");
    });

    it("--stack says which admission guardrails hold in each namespace, and in which mode", () => {
        const dev = run(["--stack", "dev"]);
        assert.match(dev.out, /admission guardrails \(warn\) in common-services, checkout, payments, catalog, search, notifications: MT001 MT005 MT007 MT008 MT009 MT016 MT017 MT025 MT-A1 MT-A2 MT-A3 MT-A5\n/);
        assert.match(dev.out, /admission guardrails \(warn\) in istio-platform: MT-A1 MT-A2 MT-A4\n/);
        const prod = JSON.parse(run(["--stack", "prod", "--json"]).out) as ScopeReport;
        assert.equal(prod.admissionGuardrails?.mode, "enforce");
        assert.deepEqual(prod.admissionGuardrails?.byNamespace["usergroup-2"], ["MT-A1", "MT-A2", "MT-A4"]);
        const row = prod.usergroups.flatMap((g) => g.namespaces).find((n) => n.namespace === "app-ns-1");
        assert.ok(row?.guardrails?.includes("MT007") && row.guardrails.includes("MT016"));
        const manifests = JSON.parse(run(["--manifests", path.join(FIXTURES, "cluster"), "--json"]).out) as ScopeReport;
        assert.equal(manifests.admissionGuardrails, undefined, "plain manifests carry no plan, so no guardrails");
    });

    it("--manifests reports hand-made manifests, the pitfall namespace importing everything", () => {
        const r = run(["--manifests", path.join(FIXTURES, "cluster"), "--json"]);
        assert.equal(r.status, 0, r.err);
        const report = JSON.parse(r.out) as ScopeReport;
        const pitfall = report.usergroups.flatMap((g) => g.namespaces).find((n) => n.namespace === "pitfall")!;
        assert.equal(pitfall.scoping, "unscoped");
        assert.deepEqual(pitfall.imports, pitfall.discovered);
        assert.equal(report.totals.unscoped, 1);
        const text = run(["--manifests", path.join(FIXTURES, "cluster")]);
        assert.match(text.out, /pitfall +tenant +3\/10 +30% +70% +1 \(green-app\) +UNSCOPED/);
    });

    it("--html writes one self-contained page with the namespace matrix", () => {
        const file = path.join(tmp, "cluster.html");
        const r = run(["--manifests", path.join(FIXTURES, "cluster"), "--html", file]);
        assert.equal(r.status, 0, r.err);
        assert.match(r.err, /wrote .*cluster\.html/);
        const html = fs.readFileSync(file, "utf8");
        assert.match(html, /^<!DOCTYPE html>/);
        assert.equal((html.match(/<table class="matrix">/g) ?? []).length, 2, "one matrix per usergroup");
        for (const state of ["own", "imp", "exc", "ref"]) assert.match(html, new RegExp(`class="c ${state}"`), state);
        assert.match(html, /<th>pitfall<span class="role">tenant<\/span><span class="badge bad">unscoped<\/span><\/th><td class="stat">3\/10<\/td>/);
        assert.doesNotMatch(html, /<script|<link|src=|url\(|@import/i, "nothing to fetch, nothing to run");
    });

    it("--html works for a stack too", () => {
        const file = path.join(tmp, "dev.html");
        assert.equal(run(["--stack", "dev", "--html", file]).status, 0);
        const html = fs.readFileSync(file, "utf8");
        const rows = html.match(/<tr><th>[^<]+<span class="role">/g) ?? [];
        assert.equal(rows.length, 6, "one row per meshed namespace");
    });

    it("--html says when only a workload Sidecar's pods import a namespace", () => {
        const file = path.join(tmp, "uat.html");
        assert.equal(run(["--stack", "uat", "--html", file]).status, 0);
        assert.match(fs.readFileSync(file, "utf8"), /title="orders imports reporting, only in the pods Sidecar ledger-export selects"/);
    });

    it("exits 2 with the config error for a stack the program refuses", () => {
        const r = run(["--stack", path.join(FIXTURES, "Pulumi.bad.yaml")]);
        assert.equal(r.status, 2);
        assert.match(r.err, /^report: invalid mesh-tenancy stack config/);
        assert.match(r.err, /usergroups\[0\]\.tenants\[0\]\.egres: unknown key "egres" \(did you mean "egress"\?\)/);
        assert.equal(r.out, "");
    });

    it("exits 2 on an unknown stack, unreadable manifests and bad usage", () => {
        const unknown = run(["--stack", "nope"]);
        assert.equal(unknown.status, 2);
        assert.match(unknown.err, /no stack "nope".*\(stacks: .*dev.*prod.*uat/);
        const broken = run(["--manifests", path.join(FIXTURES, "broken")]);
        assert.equal(broken.status, 2);
        assert.match(broken.err, /bad\.yaml:\d+: invalid YAML/);
        assert.equal(run(["--manifests", path.join(tmp, "missing")]).status, 2);
        assert.equal(run([]).status, 2);
        assert.equal(run(["--stack", "dev", "--manifests", FIXTURES]).status, 2);
        assert.equal(run(["--stack"]).status, 2);
        assert.equal(run(["--frobnicate"]).status, 2);
        assert.equal(run(["--stack", "dev", "--html", path.join(tmp, "no", "such", "dir.html")]).status, 2);
    });

    it("runs as `npm run report` does and sets the exit status", () => {
        const entry = ["-r", "ts-node/register/transpile-only", path.join(ROOT, "report", "cli.ts")];
        const ok = spawnSync(process.execPath, [...entry, "--stack", "uat", "--json"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(ok.status, 0, ok.stderr);
        assert.equal((JSON.parse(ok.stdout) as ScopeReport).source.name, "uat");
        const bad = spawnSync(process.execPath, [...entry, "--stack", path.join(FIXTURES, "Pulumi.bad.yaml")], { cwd: ROOT, encoding: "utf8" });
        assert.equal(bad.status, 2);
        assert.doesNotMatch(bad.stderr, /at .*\.ts:\d+/, "a config error is not a crash: no stack trace");
    });
});
