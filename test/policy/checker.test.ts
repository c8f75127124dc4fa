import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readManifests } from "../../policy/adapters/manifests";
import { main } from "../../policy/cli/check";
import { CHECKER_DIR, FIXTURES, HELM_TEMPLATE_DIR, ROOT } from "./harness";

interface Run {
    status: number;
    out: string[];
    err: string[];
}

function check(...argv: string[]): Run {
    const out: string[] = [];
    const err: string[] = [];
    const status = main(argv, (l) => out.push(l), (l) => err.push(l));
    return { status, out, err };
}

const rel = (p: string) => path.relative(ROOT, p);
const fixture = (...parts: string[]) => rel(path.join(FIXTURES, ...parts));

const LINE = /^(MT\d{3,4}) (mandatory|advisory) (\S+) (\S+): (.+)$/;
const SUMMARY = /^(\d+) mandatory, (\d+) advisory findings? in (\d+) objects from (\d+) files?$/;

/** The checker resolves relative paths against the working directory; the fixtures are named from the repo root. */
function inRoot<T>(fn: () => T): T {
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
        return fn();
    } finally {
        process.chdir(cwd);
    }
}

describe("check CLI: main()", () => {
    it("exit 0 on a clean fixture directory, with only the summary line", () => {
        const run = inRoot(() => check(rel(HELM_TEMPLATE_DIR)));
        assert.equal(run.status, 0, run.err.join("\n"));
        assert.deepEqual(run.err, []);
        assert.equal(run.out.length, 1);
        const m = SUMMARY.exec(run.out[0]);
        assert.ok(m, run.out[0]);
        assert.deepEqual([m[1], m[2], m[4]], ["0", "0", "3"]);
        assert.ok(Number(m[3]) > 20);
    });

    it("exit 1 on a violating fixture directory: one line per finding, then the summary", () => {
        const run = inRoot(() => check(fixture("strict-mtls")));
        assert.equal(run.status, 1);
        assert.deepEqual(run.err, []);
        const findings = run.out.slice(0, -1);
        assert.ok(findings.length > 0);
        for (const line of findings) assert.match(line, LINE);
        const m = SUMMARY.exec(run.out.at(-1)!)!;
        assert.ok(m, run.out.at(-1));
        assert.equal(Number(m[1]), findings.filter((l) => LINE.exec(l)![2] === "mandatory").length);
        assert.equal(Number(m[2]), findings.filter((l) => LINE.exec(l)![2] === "advisory").length);
        assert.equal(Number(m[4]), fs.readdirSync(path.join(FIXTURES, "strict-mtls")).length);
    });

    it("prints `<id> <level> <Kind> <ns>/<name>: <message>` exactly", () => {
        const run = inRoot(() => check(fixture("revision-label-without-injection-label", "violating-pod-revision-mismatch.yaml")));
        assert.equal(run.status, 1);
        assert.deepEqual(run.out, [
            "MT0102 mandatory Deployment app-a/web: pods of Deployment app-a/web have istio.io/rev=green, which their namespace's labels override: revision blue injects them (webhook blue.namespace.sidecar-injector.istio.io)",
            run.out[1],
        ]);
        assert.match(run.out[1], /^1 mandatory, 0 advisory finding in \d+ objects from 1 file$/);
    });

    it("cluster-scoped objects are printed by name alone", () => {
        const run = inRoot(() => check(fixture("default-revision-exists", "violating-validator-wrong-namespace.yaml")));
        assert.equal(run.status, 1);
        assert.match(run.out[0], /^MT1102 mandatory ValidatingWebhookConfiguration istiod-default-validator: default validator calls istiod-blue in istio-system/);
    });

    it("advisory findings alone exit 0", () => {
        const run = inRoot(() => check(fixture("headless-service-port-clash", "violating-imported-namespace.yaml")));
        assert.equal(run.status, 0);
        assert.deepEqual(
            run.out.slice(0, -1).map((l) => LINE.exec(l)!.slice(1, 5).join(" ")),
            ["MT014 advisory Service app-a/kafka", "MT014 advisory Service common/kafka-mirror"],
        );
        assert.match(run.out.at(-1)!, /^0 mandatory, 2 advisory findings in/);
    });

    it("exit 2 on broken YAML, naming the file and the line", () => {
        const file = rel(path.join(CHECKER_DIR, "broken.yaml"));
        const run = inRoot(() => check(file));
        assert.equal(run.status, 2);
        assert.deepEqual(run.out, []);
        assert.equal(run.err.length, 1);
        assert.equal(run.err[0], `check: ${file}:13: invalid YAML: Map keys must be unique`);
    });

    it("exit 2 on a document that is no Kubernetes object, naming the file and the document's line", () => {
        const file = rel(path.join(CHECKER_DIR, "not-an-object.yaml"));
        const run = inRoot(() => check(file));
        assert.equal(run.status, 2);
        assert.deepEqual(run.err, [`check: ${file}:7: not a Kubernetes object (needs apiVersion, kind and metadata.name)`]);
    });

    it("exit 2 on a missing path", () => {
        const run = inRoot(() => check("test/fixtures/policy/no-such-dir"));
        assert.equal(run.status, 2);
        assert.deepEqual(run.out, []);
        assert.deepEqual(run.err, ["check: test/fixtures/policy/no-such-dir: no such file or directory"]);
    });

    for (const [what, argv, message] of [
        ["no paths", [], "check: no files or directories given"],
        ["an unknown option", ["--verbose", "x.yaml"], "check: unknown option --verbose"],
        ["--config without a file", ["--config"], "check: --config needs a file"],
    ] as const) {
        it(`exit 2 with usage on bad usage: ${what}`, () => {
            const run = check(...argv);
            assert.equal(run.status, 2);
            assert.deepEqual(run.out, []);
            assert.equal(run.err[0], message);
            assert.match(run.err[1], /^usage: check \[--config FILE\] \[--json\] \[--format text\|json\|sarif\] .*<file-or-dir>\.\.\./);
        });
    }

    it("--help prints the usage alone (and exits 2)", () => {
        const run = check("--help");
        assert.equal(run.status, 2);
        assert.equal(run.err.length, 1);
        assert.match(run.err[0], /^usage: check/);
    });

    it("exit 2 on an unreadable or invalid --config", () => {
        const missing = inRoot(() => check("--config", "policy/config/nope.json", fixture("strict-mtls", "clean.yaml")));
        assert.equal(missing.status, 2);
        assert.match(missing.err[0], /^check: policy\/config\/nope\.json: cannot read policy config: /);
        const notJson = inRoot(() => check("--config", fixture("strict-mtls", "clean.yaml"), fixture("strict-mtls", "clean.yaml")));
        assert.equal(notJson.status, 2);
        assert.match(notJson.err[0], /cannot read policy config/);
        const badRule = inRoot(() => check("--config", rel(path.join(CHECKER_DIR, "typo-config.json")), fixture("strict-mtls", "clean.yaml")));
        assert.equal(badRule.status, 2);
        assert.match(badRule.err[0], /^check: invalid policy config:/);
        assert.match(badRule.err.join("\n"), /strict-mtsl: no such rule/);
    });

    it("--json parses, with one entry per finding and the summary", () => {
        const file = fixture("discovered-by-exactly-one-revision", "violating-overlap.yaml");
        const run = inRoot(() => check("--json", file));
        assert.equal(run.status, 1);
        assert.equal(run.out.length, 1);
        const report = JSON.parse(run.out[0]);
        assert.deepEqual(Object.keys(report).sort(), ["findings", "summary"]);
        assert.deepEqual(
            report.findings.map((f: any) => `${f.id} ${f.rule} ${f.level} ${f.kind} ${f.namespace} ${f.name}`),
            [
                "MT003 discovered-by-exactly-one-revision mandatory Namespace null istio-blue",
                "MT003 discovered-by-exactly-one-revision mandatory Namespace null app-a",
            ],
        );
        assert.deepEqual(report.summary, { files: 1, objects: report.summary.objects, mandatory: 2, advisory: 0 });
        assert.ok(report.summary.objects > 10);
        // Each finding points at its document: the line of the document's `---` marker, followed by that object.
        const lines = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n");
        for (const f of report.findings) {
            assert.equal(f.file, file);
            assert.equal(lines[f.line - 1], "---");
            const next = lines.slice(f.line).findIndex((l) => l === "---");
            const doc = lines.slice(f.line, next < 0 ? undefined : f.line + next).join("\n");
            assert.match(doc, new RegExp(`^kind: ${f.kind}$`, "m"));
            assert.match(doc, new RegExp(`^  name: ${f.name}$`, "m"));
        }
    });

    it("--json on a clean set: no findings, exit 0", () => {
        const run = inRoot(() => check("--json", rel(HELM_TEMPLATE_DIR)));
        assert.equal(run.status, 0);
        const report = JSON.parse(run.out[0]);
        assert.deepEqual(report.findings, []);
        assert.deepEqual({ ...report.summary, objects: 0 }, { files: 3, objects: 0, mandatory: 0, advisory: 0 });
    });

    it("--config policy/config/dev.json turns a mandatory finding of a rule dev makes advisory into exit 0", () => {
        const file = fixture("strict-mtls", "violating-root-permissive.yaml");
        const strict = inRoot(() => check(file));
        assert.equal(strict.status, 1);
        assert.ok(strict.out.slice(0, -1).every((l) => /^MT090[12] mandatory /.test(l)));
        for (const argv of [["--config", "policy/config/dev.json", file], ["--config=policy/config/dev.json", file]]) {
            const dev = inRoot(() => check(...argv));
            assert.equal(dev.status, 0, dev.out.join("\n"));
            assert.ok(dev.out.slice(0, -1).length > 0);
            assert.ok(dev.out.slice(0, -1).every((l) => /^MT090[12] advisory /.test(l)));
            assert.match(dev.out.at(-1)!, /^0 mandatory, 2 advisory findings in/);
        }
    });

    it("--config policy/config/prod.json never reports MT013: manifests carry no protect flag", () => {
        const run = inRoot(() => check("--config", "policy/config/prod.json", fixture("namespaces-protected-in-production", "violating.yaml")));
        assert.equal(run.status, 0, run.out.join("\n"));
        assert.ok(!run.out.some((l) => l.startsWith("MT013")));
    });
});

describe("check CLI: input robustness", () => {
    let tmp: string;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-tenancy-check-"));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const put = (name: string, text: string) => {
        const file = path.join(tmp, name);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
        return file;
    };

    it("exit 2 when the input holds no Kubernetes object: an empty file, comments only, empty documents", () => {
        for (const [name, text] of [["empty.yaml", ""], ["comments.yaml", "# rendered nothing\n"], ["docs.yaml", "---\n---\n"]]) {
            const file = put(name, text);
            const run = check(file);
            assert.equal(run.status, 2, name);
            assert.deepEqual(run.out, []);
            assert.deepEqual(run.err, [`check: no Kubernetes objects in ${file}: the file holds none (nothing to check)`]);
        }
    });

    it("exit 2 on an empty directory, or one without YAML or JSON files", () => {
        const empty = path.join(tmp, "empty-dir");
        fs.mkdirSync(empty);
        const run = check(empty);
        assert.equal(run.status, 2);
        assert.deepEqual(run.err, [`check: no Kubernetes objects in ${empty}: no .yaml, .yml or .json files`]);
        const other = put("other/README.md", "# not a manifest\n");
        const run2 = check(path.dirname(other));
        assert.deepEqual([run2.status, run2.err], [2, [`check: no Kubernetes objects in ${path.dirname(other)}: no .yaml, .yml or .json files`]]);
        const docs = put("two/a.yaml", "# nothing\n");
        put("two/b.yml", "");
        const run3 = check(path.dirname(docs));
        assert.deepEqual([run3.status, run3.err], [2, [`check: no Kubernetes objects in ${path.dirname(docs)}: none of the 2 files holds any (nothing to check)`]]);
    });

    it("objects without a namespace are judged in --namespace (default `default`), as kubectl would apply them", () => {
        // A tenant's objects as an app team writes them, relying on `kubectl apply -n app-a`.
        const original = path.join(FIXTURES, "tenant-isolation-policies", "violating-principals-star.yaml");
        const text = fs.readFileSync(original, "utf8");
        assert.ok(text.includes("  namespace: app-a\n"));
        const stripped = put("namespace-less.yaml", text.split("  namespace: app-a\n").join(""));
        const findings = (run: Run) => JSON.parse(run.out[0]).findings.map((f: any) => `${f.id} ${f.kind} ${f.namespace}/${f.name}: ${f.message}`);
        const expected = findings(inRoot(() => check("--json", rel(original))));
        assert.ok(expected.some((f: string) => f.includes("app-a/")), expected.join("\n"));
        for (const argv of [["-n", "app-a"], ["--namespace", "app-a"], ["--namespace=app-a"]]) {
            const run = check("--json", ...argv, stripped);
            assert.equal(run.status, 1, run.err.join("\n"));
            assert.deepEqual(findings(run), expected);
        }
        // Without it they land in `default`: the tenant namespace app-a is judged empty, and `default` holds them.
        const inDefault = check("--json", stripped);
        assert.equal(inDefault.status, 1);
        assert.notDeepEqual(findings(inDefault), expected);
        const moved = readManifests([stripped]).subjects.filter((s) => s.object.metadata.namespace === "default");
        assert.ok(moved.length > 0);
        assert.ok(!readManifests([stripped]).subjects.some((s) => s.object.metadata.namespace === "app-a"));
        assert.deepEqual(
            readManifests([stripped], { namespace: "app-a" }).subjects.map((s) => s.object.metadata.namespace),
            readManifests([original]).subjects.map((s) => s.object.metadata.namespace),
        );
    });

    it("--format text|json|sarif; --json is --format json", () => {
        const file = fixture("discovered-by-exactly-one-revision", "violating-overlap.yaml");
        const text = inRoot(() => check(file));
        assert.deepEqual(inRoot(() => check("--format", "text", file)), text);
        const json = inRoot(() => check("--json", file));
        assert.deepEqual(inRoot(() => check("--format=json", file)), json);
        assert.equal(JSON.parse(inRoot(() => check("--format", "sarif", file)).out[0]).version, "2.1.0");
    });

    for (const [what, argv, message] of [
        ["an unknown format", ["--format", "xml", "x.yaml"], 'check: --format: unknown format "xml" (text, json or sarif)'],
        ["--format without a value", ["--format"], "check: --format needs a format (text, json or sarif)"],
        ["a namespace that is no DNS label", ["-n", "App_A", "x.yaml"], 'check: --namespace: not a namespace name: "App_A"'],
        ["a size that is no size", ["--max-document-size", "lots", "x.yaml"], 'check: --max-document-size: not a size: "lots" (e.g. 64M)'],
        ["a zero size", ["--max-document-size=0", "x.yaml"], "check: --max-document-size: must be positive, got 0"],
    ] as const) {
        it(`exit 2 with usage on ${what}`, () => {
            const run = check(...argv);
            assert.equal(run.status, 2);
            assert.deepEqual(run.out, []);
            assert.equal(run.err[0], message);
            assert.match(run.err[1], /^usage: check /);
        });
    }

    it("an alias bomb or an oversized document: exit 2 with file and line; --max-document-size raises the cap", () => {
        const bomb = put("bomb.yaml", "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a: &a [x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n  d: [*c, *c, *c, *c, *c, *c, *c, *c]\n");
        assert.deepEqual(check(bomb).err, [`check: ${bomb}:1: document expands aliases past the limit of 100 (a "billion laughs" document?)`]);
        const big = put("big.yaml", `---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: a\ndata:\n  blob: ${"x".repeat(3000)}\n`);
        const refused = check("--max-document-size", "2K", big);
        assert.equal(refused.status, 2);
        assert.match(refused.err[0], new RegExp(`^check: ${big.replace(/[.]/g, "\\.")}:6: document (of \\d+ characters|starting here) exceeds the 2048-character limit per document \\(raise it with --max-document-size\\)$`));
        const raised = check("--max-document-size", "4Ki", big);
        assert.equal(raised.status, 0, raised.err.join("\n"));
        assert.match(raised.out.at(-1)!, /in 2 objects from 1 file$/);
    });
});

describe("check CLI: as a subprocess", function () {
    this.timeout(120_000);

    const run = (...args: string[]) =>
        spawnSync("npx", ["--no-install", "ts-node", "--transpile-only", "policy/cli/check.ts", ...args], { cwd: ROOT, encoding: "utf8", timeout: 110_000 });

    it("exit status 1 on a violating fixture, 0 on a clean one, 2 on broken YAML, end to end", () => {
        const violating = run(fixture("tenant-isolation-policies", "violating-principals-star.yaml"));
        assert.equal(violating.status, 1, violating.stderr);
        assert.match(violating.stdout, /^MT1202 mandatory Deployment app-a\/web: Deployment app-a\/web admits every namespace through its sidecar: AuthorizationPolicy app-a\/allow-mesh rule 1$/m);
        assert.match(violating.stdout, /^1 mandatory, 0 advisory finding in \d+ objects from 1 file$/m);

        const clean = run(rel(HELM_TEMPLATE_DIR));
        assert.equal(clean.status, 0, clean.stderr);

        const broken = run(rel(path.join(CHECKER_DIR, "broken.yaml")));
        assert.equal(broken.status, 2);
        assert.match(broken.stderr, /broken\.yaml:13: invalid YAML/);
    });
});
