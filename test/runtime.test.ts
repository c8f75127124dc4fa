import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { quietSdkDebugLog, restoreSdkDebugLog } from "../components/sdkLog";
import { lightPromiseTraces, restorePromiseTraces } from "../components/sdkTraces";
import { loadStack, ROOT } from "./harness/configs";
import { registerConfig } from "./harness/program";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkSettings = require("@pulumi/pulumi/runtime/settings");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const engineProto = require("@pulumi/pulumi/proto/engine_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkDebuggable = require("@pulumi/pulumi/runtime/debuggable");

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

    describe("SDK debug messages", () => {
        const getEngine = sdkSettings.getEngine;
        afterEach(() => {
            restoreSdkDebugLog();
            sdkSettings.getEngine = getEngine;
        });

        /** Registers the local stack's resources with an engine that records every log message; returns them by severity. */
        async function logged(): Promise<Map<number, number>> {
            const bySeverity = new Map<number, number>();
            sdkSettings.getEngine = () => ({
                log: (req: any, done: () => void) => {
                    bySeverity.set(req.getSeverity(), (bySeverity.get(req.getSeverity()) ?? 0) + 1);
                    done();
                },
            });
            await registerConfig(loadStack("local"));
            pulumi.log.warn("a warning still reaches the engine");
            await new Promise((resolve) => setTimeout(resolve, 50));
            return bySeverity;
        }

        it("are not sent to the engine by the program, unless MESH_TENANCY_SDK_DEBUG=1; warnings are", async function () {
            this.timeout(120_000);
            const { DEBUG, WARNING } = engineProto.LogSeverity;
            assert.equal(quietSdkDebugLog({ MESH_TENANCY_SDK_DEBUG: "1" }), false);
            const before = await logged();
            assert.ok((before.get(DEBUG) ?? 0) > 100, `debug messages without quieting: ${before.get(DEBUG)}`);
            assert.equal(quietSdkDebugLog({}), true);
            const after = await logged();
            assert.equal(after.get(DEBUG) ?? 0, 0);
            assert.equal(after.get(WARNING), 1);
        });
    });

    describe("SDK promise traces", () => {
        afterEach(() => restorePromiseTraces());

        /** Registers the local stack's resources; returns the traces the SDK recorded on its promises meanwhile. */
        async function traces(): Promise<string[]> {
            const seen: string[] = [];
            const hooked = sdkDebuggable.debuggablePromise;
            sdkDebuggable.debuggablePromise = (p: Promise<unknown>, ctx: unknown) => {
                const out = hooked(p, ctx);
                seen.push((p as unknown as { _debugStackTrace: string })._debugStackTrace);
                return out;
            };
            try {
                await registerConfig(loadStack("local"));
            } finally {
                sdkDebuggable.debuggablePromise = hooked;
            }
            return seen;
        }
        const frames = (trace: string) => trace.split("\n").filter((l) => l.trim().startsWith("at ")).length;

        it("are recorded without frames, unless PULUMI_DEBUG_PROMISE_LEAKS is set; errors keep their stacks", async function () {
            this.timeout(120_000);
            assert.equal(lightPromiseTraces({ PULUMI_DEBUG_PROMISE_LEAKS: "1" }), false);
            const full = await traces();
            assert.ok(full.length > 100, `promises wrapped while registering: ${full.length}`);
            assert.ok(full.every((t) => frames(t) > 0), "with leak debugging every trace has frames");
            assert.equal(lightPromiseTraces({}), true);
            const light = await traces();
            assert.ok(light.length > 100, `promises wrapped while registering: ${light.length}`);
            assert.deepEqual([...new Set(light.map(frames))], [0]);
            assert.ok(frames(new Error("the program's own").stack ?? "") > 0, "Error.stackTraceLimit is restored");
        });
    });
});
