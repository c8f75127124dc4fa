import * as pulumi from "@pulumi/pulumi";
import type { MeshTenancyConfig } from "../../model/config";
import { planTenancy } from "../../plan";
import { MeshTenancy } from "../../components";
import { RecordingMocks, settle } from "./mocks";
import { ROOT, stackConfigValues } from "./configs";
import * as path from "path";

/** Builds the components for a config under recording mocks and returns every registration. */
export async function registerConfig(config: MeshTenancyConfig): Promise<RecordingMocks> {
    const mocks = new RecordingMocks();
    mocks.install();
    new MeshTenancy("mesh", { plan: planTenancy(config) });
    await settle();
    return mocks;
}

/**
 * Runs the real entry point, `index.ts`, with a stack file's config (and `extra` values over it, keyed like the
 * stack file), as `pulumi preview` would.
 */
export async function runProgram(stack: string, extra: Record<string, string> = {}): Promise<{ mocks: RecordingMocks; exports: Record<string, any> }> {
    const mocks = new RecordingMocks();
    mocks.install("mesh-tenancy", stack, true);
    pulumi.runtime.setAllConfig({ ...stackConfigValues(stack), ...extra });
    const entry = path.join(ROOT, "index.ts");
    delete require.cache[require.resolve(entry)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = require(entry);
    await settle();
    return { mocks, exports };
}
