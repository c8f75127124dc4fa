/**
 * The xDS probe's own Go tests (scripts/toolchain/xds-probe: the RBAC reading of `-inbound`, the fleet's file, node
 * metadata, ACKs and resubscriptions), run by `npm test` as scripts/build-toolchain.sh builds the tool: same flags,
 * same module cache. Fails, never skips, without Go, as the guardrails' CEL tests do.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as path from "path";
import { ROOT } from "./harness/configs";

describe("xds-probe's Go tests", function () {
    this.timeout(15 * 60 * 1000);

    it("pass (go test ./... in scripts/toolchain/xds-probe)", () => {
        const r = spawnSync("go", ["test", "-tags", "vtprotobuf,disable_pgv", "./..."], {
            cwd: path.join(ROOT, "scripts", "toolchain", "xds-probe"),
            env: { ...process.env, GOFLAGS: "-mod=readonly -buildvcs=false", GOTOOLCHAIN: "local" },
            encoding: "utf8",
        });
        if (r.error !== undefined) assert.fail(`go: ${r.error.message}. npm test runs the xDS probe's Go tests: install Go 1.24 or newer and run npm test again.`);
        assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /^ok\s+\S+xds-probe/m);
    });
});
