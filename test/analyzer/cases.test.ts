/**
 * The fixtures under test/fixtures/analyzer-cases: one behaviour of Istio each, shown by Istio's analyzer test data and
 * written here as a clean tenancy plus one change. Each file says what Istio does (`# istio:`), which objects a correct
 * checker reports (`# expect:`, exactly; `none` for none), which further findings it may add (`# also:`), the namespace
 * the file is applied to (`# namespace:`), and, while the checker does not meet the expectation, why (`# gap:`).
 *
 * A fixture without a gap must be met. A fixture with a gap must still not be met: once the checker meets it, the test
 * fails until the gap line is deleted, so a closed gap is never left undocumented and never silently reopens.
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { main } from "../../policy/cli/check";
import { composedFixtures } from "../harness/overlay";

/** The cases, composed from their overlays on analyzer-cases/clean.yaml (test/harness/overlay.ts). */
const DIR = composedFixtures("analyzer-cases");

interface Case {
    file: string;
    rel: string;
    istio: string;
    expected: string[];
    also: string[];
    namespace?: string;
    gap?: string;
}

/** A header field: its lines, continuation lines (`#   …`) joined. */
function field(text: string, key: string): string[] {
    const out: string[] = [];
    const lines = text.split("\n");
    for (let i = 0; i < lines.length && lines[i].startsWith("#"); i++) {
        const m = new RegExp(`^# ${key}: (.*)$`).exec(lines[i]);
        if (m === null) continue;
        let value = m[1].trim();
        while (i + 1 < lines.length && /^# {3}\S/.test(lines[i + 1])) value += " " + lines[++i].slice(4).trim();
        out.push(value);
    }
    return out;
}

function readCases(): Case[] {
    return fs
        .readdirSync(DIR)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => {
            const file = path.join(DIR, f);
            const text = fs.readFileSync(file, "utf8");
            const expected = field(text, "expect");
            return {
                file,
                rel: f,
                istio: field(text, "istio").join(" "),
                expected: expected.filter((e) => e !== "none").sort(),
                also: field(text, "also").sort(),
                namespace: field(text, "namespace")[0],
                gap: field(text, "gap")[0],
            };
        });
}

/** The checker's findings as `<Kind> <namespace>/<name>` (cluster-scoped: `<Kind> <name>`), through its command line. */
function check(c: Case): { subjects: string[]; error?: string } {
    const out: string[] = [];
    const err: string[] = [];
    const args = ["--json", ...(c.namespace === undefined ? [] : ["--namespace", c.namespace]), c.file];
    const status = main(args, (l) => out.push(l), (l) => err.push(l));
    if (status === 2) return { subjects: [], error: err.join("\n") };
    const findings = JSON.parse(out.join("\n")).findings as Array<{ kind: string; namespace: string | null; name: string }>;
    return { subjects: [...new Set(findings.map((f) => (f.namespace ? `${f.kind} ${f.namespace}/${f.name}` : `${f.kind} ${f.name}`)))].sort() };
}

const cases = readCases();

describe("Istio analyzer cases (test/fixtures/analyzer-cases)", () => {
    it("every case says what Istio does and what a correct checker reports", () => {
        assert.ok(cases.some((c) => c.rel === "clean.yaml"), "clean.yaml, the tenancy every case starts from, is missing");
        for (const c of cases) {
            assert.ok(c.istio.length > 0, `${c.rel}: no "# istio:" line`);
            assert.ok(fs.readFileSync(c.file, "utf8").includes("\n# expect: "), `${c.rel}: no "# expect:" line`);
            for (const s of [...c.expected, ...c.also]) assert.match(s, /^[A-Z]\w* \S+$/, `${c.rel}: "${s}" is not "<Kind> <namespace>/<name>"`);
        }
    });

    for (const c of cases) {
        const title = c.gap === undefined ? `${c.rel}: ${c.expected.length === 0 ? "no finding" : c.expected.join(", ")}` : `${c.rel}: still a known gap (${c.gap})`;
        it(title, () => {
            const { subjects, error } = check(c);
            // A fixture applied with a namespace fails on a checker without --namespace; any other error is a broken fixture.
            if (error !== undefined) assert.ok(c.namespace !== undefined && c.gap !== undefined && /--namespace/.test(error), `${c.rel}: checker error: ${error}`);
            const allowed = new Set([...c.expected, ...c.also]);
            const met = error === undefined && c.expected.every((s) => subjects.includes(s)) && subjects.every((s) => allowed.has(s));
            if (c.gap === undefined) {
                assert.ok(met, `${c.rel}: expected ${JSON.stringify(c.expected)}${c.also.length > 0 ? ` (may add ${JSON.stringify(c.also)})` : ""}, the checker reported ${JSON.stringify(subjects)}`);
            } else {
                assert.ok(!met, `${c.rel}: the checker now meets this case (${JSON.stringify(subjects)}); delete its "# gap:" line`);
            }
        });
    }
});
