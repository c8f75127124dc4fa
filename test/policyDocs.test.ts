import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { RULES } from "../policy/rules";
import { ROOT } from "./harness/configs";

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
});
