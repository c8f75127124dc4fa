import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { main } from "../../policy/cli/check";
import { headingAnchor, ruleHeading, RULES_DOC } from "../../policy/cli/sarif";
import { RULES } from "../../policy/rules";
import { FIXTURES, ROOT } from "./harness";

/**
 * The parts of the SARIF 2.1.0 schema (OASIS sarif-schema-2.1.0.json) a log of this checker uses, written out as
 * checks: required properties, types and enumerations. Returns every problem as `path: what`.
 */
function sarifProblems(log: any): string[] {
    const problems: string[] = [];
    const fail = (at: string, what: string) => problems.push(`${at}: ${what}`);
    const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
    const object = (v: unknown, at: string) => (isObject(v) ? true : (fail(at, "must be an object"), false));
    const string = (v: unknown, at: string, required = true) => {
        if (v === undefined) {
            if (required) fail(at, "is required");
        } else if (typeof v !== "string") fail(at, "must be a string");
    };
    const message = (m: any, at: string) => {
        // message: text or id required (§3.11.4).
        if (!object(m, at)) return;
        if (m.text === undefined && m.id === undefined) fail(at, "needs text or id");
        string(m.text, `${at}.text`, false);
    };
    const multiformat = (m: any, at: string, required: boolean): void => {
        if (m === undefined) {
            if (required) fail(at, "is required");
            return;
        }
        if (object(m, at)) string(m.text, `${at}.text`);
        if (isObject(m)) string(m.markdown, `${at}.markdown`, false);
    };
    const uri = (v: unknown, at: string, absolute: boolean) => {
        string(v, at, false);
        if (typeof v !== "string") return;
        if (absolute && !/^[a-z][a-z0-9+.-]*:/i.test(v)) fail(at, `must be an absolute URI, got ${v}`);
        if (/\s|\\/.test(v)) fail(at, `not a URI: ${v}`);
    };
    const LEVELS = new Set(["none", "note", "warning", "error"]);

    if (!object(log, "sarifLog")) return problems;
    if (log.version !== "2.1.0") fail("version", `must be "2.1.0", got ${JSON.stringify(log.version)}`);
    uri(log.$schema, "$schema", true);
    if (!Array.isArray(log.runs)) return [...problems, "runs: must be an array"];
    log.runs.forEach((run: any, r: number): void => {
        const at = `runs[${r}]`;
        if (!object(run, at)) return;
        if (!object(run.tool, `${at}.tool`) || !object(run.tool.driver, `${at}.tool.driver`)) return;
        const driver = run.tool.driver;
        string(driver.name, `${at}.tool.driver.name`);
        string(driver.version, `${at}.tool.driver.version`, false);
        uri(driver.informationUri, `${at}.tool.driver.informationUri`, true);
        const rules: any[] = driver.rules ?? [];
        if (!Array.isArray(rules)) fail(`${at}.tool.driver.rules`, "must be an array");
        const ids = new Set<string>();
        rules.forEach((rule, i) => {
            const ra = `${at}.tool.driver.rules[${i}]`;
            if (!object(rule, ra)) return;
            string(rule.id, `${ra}.id`);
            if (ids.has(rule.id)) fail(`${ra}.id`, `duplicate ${rule.id}`);
            ids.add(rule.id);
            string(rule.name, `${ra}.name`, false);
            multiformat(rule.shortDescription, `${ra}.shortDescription`, false);
            multiformat(rule.fullDescription, `${ra}.fullDescription`, false);
            multiformat(rule.help, `${ra}.help`, false);
            uri(rule.helpUri, `${ra}.helpUri`, true);
            const level = rule.defaultConfiguration?.level;
            if (level !== undefined && !LEVELS.has(level)) fail(`${ra}.defaultConfiguration.level`, `not a level: ${level}`);
        });
        if (run.originalUriBaseIds !== undefined) {
            for (const [id, loc] of Object.entries<any>(run.originalUriBaseIds)) {
                uri(loc?.uri, `${at}.originalUriBaseIds.${id}.uri`, true);
                if (typeof loc?.uri === "string" && !loc.uri.endsWith("/")) fail(`${at}.originalUriBaseIds.${id}.uri`, "must end with a slash");
            }
        }
        if (run.results === undefined) return;
        if (!Array.isArray(run.results)) {
            fail(`${at}.results`, "must be an array");
            return;
        }
        run.results.forEach((result: any, i: number) => {
            const ra = `${at}.results[${i}]`;
            if (!object(result, ra)) return;
            message(result.message, `${ra}.message`);
            if (result.level !== undefined && !LEVELS.has(result.level)) fail(`${ra}.level`, `not a level: ${result.level}`);
            string(result.ruleId, `${ra}.ruleId`, false);
            if (result.ruleIndex !== undefined) {
                if (!Number.isInteger(result.ruleIndex) || result.ruleIndex < -1) fail(`${ra}.ruleIndex`, "must be an integer >= -1");
                else if (rules[result.ruleIndex]?.id !== result.ruleId) fail(`${ra}.ruleIndex`, `names rule ${rules[result.ruleIndex]?.id}, not ${result.ruleId}`);
            }
            if (typeof result.ruleId === "string" && !ids.has(result.ruleId)) fail(`${ra}.ruleId`, `${result.ruleId} is not among the driver's rules`);
            (result.locations ?? []).forEach((loc: any, l: number) => {
                const la = `${ra}.locations[${l}]`;
                if (!object(loc, la)) return;
                const phys = loc.physicalLocation;
                if (phys !== undefined && object(phys, `${la}.physicalLocation`)) {
                    if (phys.artifactLocation === undefined && phys.address === undefined) fail(`${la}.physicalLocation`, "needs artifactLocation or address");
                    const art = phys.artifactLocation;
                    if (art !== undefined && object(art, `${la}.physicalLocation.artifactLocation`)) {
                        uri(art.uri, `${la}.physicalLocation.artifactLocation.uri`, art.uriBaseId === undefined);
                        if (art.uriBaseId !== undefined && run.originalUriBaseIds?.[art.uriBaseId] === undefined) fail(`${la}.physicalLocation.artifactLocation.uriBaseId`, `${art.uriBaseId} is not defined`);
                    }
                    const region = phys.region;
                    if (region !== undefined && object(region, `${la}.physicalLocation.region`)) {
                        if (!Number.isInteger(region.startLine) || region.startLine < 1) fail(`${la}.physicalLocation.region.startLine`, "must be an integer >= 1");
                    }
                }
                for (const [j, logical] of (loc.logicalLocations ?? []).entries()) {
                    if (object(logical, `${la}.logicalLocations[${j}]`)) string(logical.fullyQualifiedName, `${la}.logicalLocations[${j}].fullyQualifiedName`, false);
                }
            });
        });
    });
    return problems;
}

function check(argv: string[], env: NodeJS.ProcessEnv = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
        const status = main(argv, (l) => out.push(l), (l) => err.push(l), env);
        return { status, out, err };
    } finally {
        process.chdir(cwd);
    }
}

const VIOLATING = path.relative(ROOT, path.join(FIXTURES, "discovered-by-exactly-one-revision", "violating-overlap.yaml"));
const ADVISORY = path.relative(ROOT, path.join(FIXTURES, "headless-service-port-clash", "violating-imported-namespace.yaml"));

describe("check --format sarif", () => {
    it("the structural check refuses what SARIF 2.1.0 forbids", () => {
        assert.deepEqual(sarifProblems({ version: "2.1.0", runs: [] }), []);
        assert.ok(sarifProblems({ runs: [] }).some((p) => p.startsWith("version")));
        assert.ok(sarifProblems({ version: "2.1.0", runs: [{ tool: { driver: {} } }] }).includes("runs[0].tool.driver.name: is required"));
        const log = {
            version: "2.1.0",
            runs: [{ tool: { driver: { name: "t", rules: [{ id: "A" }] } }, results: [{ ruleId: "B", ruleIndex: 0, level: "fatal", message: {}, locations: [{ physicalLocation: { artifactLocation: { uri: "a b" }, region: { startLine: 0 } } }] }] }],
        };
        assert.deepEqual(sarifProblems(log).sort(), [
            "runs[0].results[0].level: not a level: fatal",
            "runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri: must be an absolute URI, got a b",
            "runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri: not a URI: a b",
            "runs[0].results[0].locations[0].physicalLocation.region.startLine: must be an integer >= 1",
            "runs[0].results[0].message: needs text or id",
            "runs[0].results[0].ruleId: B is not among the driver's rules",
            "runs[0].results[0].ruleIndex: names rule A, not B",
        ]);
    });

    it("is a valid SARIF 2.1.0 log: every rule described, one result per finding at its file and line", () => {
        const run = check(["--format", "sarif", VIOLATING]);
        assert.equal(run.status, 1);
        assert.equal(run.out.length, 1);
        const log = JSON.parse(run.out[0]);
        assert.deepEqual(sarifProblems(log), []);
        const driver = log.runs[0].tool.driver;
        assert.equal(driver.name, "mesh-tenancy-check");
        // A descriptor per rule, followed by one per code of a rule with several kinds of finding.
        assert.deepEqual(
            driver.rules.map((r: any) => r.id),
            RULES.flatMap((r) => [r.id, ...Object.keys(r.codes ?? {}).filter((c) => c !== r.id)]),
        );
        const byId = new Map(driver.rules.map((d: any) => [d.id, d]));
        for (const rule of RULES) {
            for (const [id, short] of [[rule.id, rule.description], ...Object.entries(rule.codes ?? {}).filter(([c]) => c !== rule.id)]) {
                const d: any = byId.get(id);
                assert.equal(d.name, rule.name);
                assert.equal(d.shortDescription.text, short);
                assert.equal(d.fullDescription.text, rule.why);
                assert.equal(d.helpUri, undefined, "no absolute address of the repository is known outside CI");
                assert.match(d.help.text, new RegExp(`See ${RULES_DOC}#${headingAnchor(ruleHeading(rule))}\\.$`));
            }
        }
        // The same findings as --json, in the same order.
        const json = JSON.parse(check(["--json", VIOLATING]).out[0]);
        const results = log.runs[0].results;
        assert.equal(results.length, json.findings.length);
        for (const [i, f] of json.findings.entries()) {
            const r = results[i];
            assert.equal(r.ruleId, f.code);
            assert.equal(r.level, "error");
            assert.equal(r.message.text, `${f.kind} ${f.namespace === null ? "" : `${f.namespace}/`}${f.name}: ${f.message}`);
            const physical = r.locations[0].physicalLocation;
            assert.deepEqual(physical.artifactLocation, { uri: VIOLATING.split(path.sep).join("/"), uriBaseId: "%SRCROOT%" });
            assert.equal(physical.region.startLine, f.line);
        }
        assert.equal(log.runs[0].originalUriBaseIds["%SRCROOT%"].uri, `file://${ROOT}/`);
    });

    it("advisory findings are warnings; a clean input gives an empty result list", () => {
        const advisory = JSON.parse(check(["--format=sarif", ADVISORY]).out[0]);
        assert.deepEqual(sarifProblems(advisory), []);
        assert.ok(advisory.runs[0].results.length > 0);
        assert.ok(advisory.runs[0].results.every((r: any) => r.level === "warning" && r.ruleId.startsWith("MT014")));
        const clean = check(["--format", "sarif", path.relative(ROOT, path.join(FIXTURES, "strict-mtls", "clean.yaml"))]);
        assert.equal(clean.status, 0);
        assert.deepEqual(JSON.parse(clean.out[0]).runs[0].results, []);
    });

    it("links each rule to its section of policy/README.md at the commit when GitHub Actions names the repository", () => {
        const env = { GITHUB_SERVER_URL: "https://github.example.com", GITHUB_REPOSITORY: "platform/mesh-tenancy", GITHUB_SHA: "0123abc" };
        const log = JSON.parse(check(["--format", "sarif", VIOLATING], env).out[0]);
        assert.deepEqual(sarifProblems(log), []);
        const doc = fs.readFileSync(path.join(ROOT, RULES_DOC), "utf8");
        const anchors = new Set([...doc.matchAll(/^#{1,6} (.+)$/gm)].map((m) => headingAnchor(m[1])));
        for (const d of log.runs[0].tool.driver.rules) {
            // That every rule has a section is test/policyDocs.test.ts's to demand; here, that the link finds it.
            const rule = d.properties?.rule ?? d.id;
            if (!doc.includes(`### ${rule} \``)) continue;
            const m = /^https:\/\/github\.example\.com\/platform\/mesh-tenancy\/blob\/0123abc\/policy\/README\.md#(.+)$/.exec(d.helpUri);
            assert.ok(m, d.helpUri);
            assert.ok(anchors.has(m[1]), `${d.id}: ${RULES_DOC} has no heading with anchor #${m[1]}`);
            assert.ok(m[1].startsWith((d.properties?.rule ?? d.id).toLowerCase() + "-"), m[1]);
        }
    });

    it("GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens", () => {
        assert.equal(headingAnchor("MT001 `revision-label-without-injection-label` (mandatory)"), "mt001-revision-label-without-injection-label-mandatory");
        assert.equal(headingAnchor("What the rules read"), "what-the-rules-read");
    });
});
