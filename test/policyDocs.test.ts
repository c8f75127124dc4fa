import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { staleDocs } from "../ops/docs";
import { catalogue, catalogueProblems, kindsOf } from "../policy/lib/catalogue";
import { RULES } from "../policy/rules";
import { ROOT } from "./harness/configs";
import { manifestFindings, ruleFixtures } from "./policy/harness";

describe("policy documentation and config files", () => {
    const readme = fs.readFileSync(path.join(ROOT, "policy", "README.md"), "utf8");

    it("has ids and names that are unique and stable in form", () => {
        assert.equal(new Set(RULES.map((r) => r.id)).size, RULES.length);
        assert.equal(new Set(RULES.map((r) => r.name)).size, RULES.length);
        for (const r of RULES) {
            assert.match(r.id, /^MT\d{3}$/);
            assert.match(r.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
            assert.ok(r.description.length > 20 && r.why.length > 20, r.id);
        }
    });

    for (const rule of RULES) {
        it(`documents ${rule.id} ${rule.name} with checks, why and fix`, () => {
            const start = readme.indexOf(`### ${rule.id} \`${rule.name}\``);
            assert.ok(start >= 0, "section missing");
            const section = readme.slice(start, readme.indexOf("\n### ", start + 1) >>> 0);
            assert.match(section, /\*\*Checks:\*\*/);
            assert.match(section, /\*\*Why:\*\*/);
            assert.match(section, /\*\*Fix:\*\* \S/);
        });
    }

    it("has one code per kind of finding: ids, names and codes unique, each code of its rule's form", () => {
        assert.deepEqual(catalogueProblems(RULES), []);
        assert.equal(new Set(catalogue(RULES).map((e) => e.code)).size, catalogue(RULES).length);
    });

    it("keeps the generated parts of the docs equal to the catalogues (npm run docs writes them)", () => {
        assert.deepEqual(staleDocs(ROOT), [], "run npm run docs");
    });

    it("sees every finding of the fixtures carry a code its rule declares, and every declared code in some fixture's expectations", () => {
        const declared = new Map(RULES.flatMap((r) => kindsOf(r).map(([code]) => [code, r.id] as const)));
        const expected = new Set<string>();
        for (const f of ruleFixtures()) {
            for (const e of [...f.expected, ...f.crossGuardProduction]) expected.add(e.split(" ")[0]);
            if (f.clean) continue;
            for (const finding of manifestFindings([f.file])) assert.ok(declared.has(finding.id), `${f.rel}: ${finding.id} is no declared code`);
        }
        // Kinds that need a pack config a fixture header cannot give, each with the test that makes the rule report it.
        const elsewhere: Record<string, string> = { MT1503: "test/semantics/semantics.test.ts" };
        for (const [code, file] of Object.entries(elsewhere)) assert.match(fs.readFileSync(path.join(ROOT, file), "utf8"), new RegExp(`\\b${code}\\b`), `${file} tests ${code}`);
        const unexercised = [...declared.keys()].filter((code) => !expected.has(code) && !(code in elsewhere));
        assert.deepEqual(unexercised, [], "a kind of finding without a fixture that expects it");
    });
});
