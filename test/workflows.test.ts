import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "./harness/configs";

/** The CLI the e2e builds and runs, from the toolchain's pins. */
function toolchainPulumiVersion(): string {
    const env = fs.readFileSync(path.join(ROOT, "scripts", "toolchain", "versions.env"), "utf8");
    const m = /^PULUMI_VERSION=v?(\S+)$/m.exec(env);
    assert.ok(m !== null, "versions.env pins PULUMI_VERSION");
    return m[1];
}

describe("GitHub workflows", () => {
    const dir = path.join(ROOT, ".github", "workflows");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));

    it("install exactly the Pulumi CLI the e2e runs, wherever they install one", () => {
        const want = toolchainPulumiVersion();
        let installs = 0;
        for (const f of files) {
            const wf = YAML.parse(fs.readFileSync(path.join(dir, f), "utf8"));
            for (const [job, spec] of Object.entries<any>(wf.jobs ?? {})) {
                for (const step of spec.steps ?? []) {
                    if (typeof step.uses !== "string" || !step.uses.startsWith("pulumi/actions@")) continue;
                    installs++;
                    assert.equal(String(step.with?.["pulumi-version"] ?? "(unpinned)"), want, `${f} job ${job}: ${step.name ?? step.uses}`);
                }
            }
        }
        assert.ok(installs > 0, "some workflow installs the Pulumi CLI");
    });
});
