/**
 * The documents stay true to the tree: every relative link and anchor resolves, the README's Layout names every
 * top-level entry of the repository and nothing that is not there, each doc a hint of the output folder names has the
 * heading it names, and counts the docs state match the code.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { API_UNREACHABLE_HINT, lockHeldHint } from "../ops/fold";
import { headingAnchor } from "../policy/cli/sarif";
import { ROOT } from "./harness/configs";

const tracked = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter((f) => f !== "");
const markdown = tracked.filter((f) => f.endsWith(".md") && !f.includes("node_modules/"));

function anchorsOf(file: string): Set<string> {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
    return new Set([...text.matchAll(/^#{1,6} (.*)$/gm)].map((m) => headingAnchor(m[1])));
}

describe("documentation against the tree", () => {
    it("has no relative link or anchor that leads nowhere", () => {
        const broken: string[] = [];
        let links = 0;
        for (const file of markdown) {
            const text = fs.readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
            for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
                const target = m[1];
                if (/^[a-z]+:/.test(target)) continue;
                links++;
                const [p, anchor] = target.split("#");
                const dest = p === "" ? file : path.normalize(path.join(path.dirname(file), p));
                if (!fs.existsSync(path.join(ROOT, dest))) broken.push(`${file}: ${target} (no ${dest})`);
                else if (anchor !== undefined && dest.endsWith(".md") && !anchorsOf(dest).has(anchor)) broken.push(`${file}: ${target} (no heading #${anchor} in ${dest})`);
            }
        }
        assert.deepEqual(broken, []);
        assert.ok(links > 50, `${links} relative links checked`);
    });

    it("lists in README's Layout every top-level directory of the repository, and only what exists", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const layout = /## Layout\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
        assert.ok(layout !== undefined, "README has a Layout block");
        const listed = [...layout.matchAll(/^(\S+?)\/?\s{2,}/gm)].map((m) => m[1]);
        for (const entry of listed) assert.ok(fs.existsSync(path.join(ROOT, entry)), `Layout lists ${entry}, which does not exist`);
        const dirs = [...new Set(tracked.filter((f) => f.includes("/")).map((f) => f.slice(0, f.indexOf("/"))))].filter((d) => !d.startsWith("."));
        assert.deepEqual(dirs.filter((d) => !listed.includes(d)), [], "top-level directories missing from README's Layout");
    });

    it("names in each output hint a doc and a heading that exist", () => {
        const hints = [...API_UNREACHABLE_HINT, ...lockHeldHint()].join("\n") + fs.readFileSync(path.join(ROOT, "ops", "fold.ts"), "utf8");
        const refs = [...hints.matchAll(/\((docs\/[\w.-]+\.md), \\?"([^"\\]+)\\?"\)/g)];
        assert.ok(refs.length >= 4, "the hints point into the docs");
        for (const [, doc, heading] of refs) assert.ok(anchorsOf(doc).has(headingAnchor(heading)), `${doc} has a heading "${heading}"`);
    });
});
