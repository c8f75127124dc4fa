import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness/configs";

describe("runtime", () => {
    it("runs on the Node.js major that package.json's engines and its node devDependency name", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const minimum = /^>=(\d+)$/.exec(pkg.engines.node);
        assert.ok(minimum, `engines.node "${pkg.engines.node}" is not of the form >=N`);
        const pinned = Number(String(pkg.devDependencies.node).split(".")[0]);
        assert.equal(pinned, Number(minimum[1]), "the node devDependency provides the engines minimum");
        assert.equal(Number(process.versions.node.split(".")[0]), pinned, `running on Node ${process.versions.node}: is node_modules/.bin first on PATH?`);
        const policy = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "package.json"), "utf8"));
        assert.equal(policy.engines.node, pkg.engines.node);
        assert.equal(policy.devDependencies.node, pkg.devDependencies.node);
    });
});
