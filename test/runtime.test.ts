import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { quietSdkDebugLog, restoreSdkDebugLog } from "../runtime/sdkLog";
import { dropUnreadOutputs, fieldNumbersDiffer, restoreOutputs, withoutUnreadOutputs } from "../runtime/sdkOutputs";
import { installSdkHooks, restoreSdkHooks, sdkHookStatus } from "../runtime";
import { SdkExport, setHookWarning } from "../policy/lib/sdkExport";
import { runProgram } from "./harness/program";
import { lightPromiseTraces, restorePromiseTraces } from "../runtime/sdkTraces";
import { loadStack, ROOT } from "./harness/configs";
import { registerConfig } from "./harness/program";
import { RecordingMocks, settle } from "./harness/mocks";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkSettings = require("@pulumi/pulumi/runtime/settings");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const engineProto = require("@pulumi/pulumi/proto/engine_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkDebuggable = require("@pulumi/pulumi/runtime/debuggable");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const resourceProto = require("@pulumi/pulumi/proto/resource_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

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

    describe("SDK outputs of planned objects", () => {
        // Running index.ts (other tests do) installs the filter.
        beforeEach(() => restoreOutputs());
        afterEach(() => restoreOutputs());

        /**
         * Registers the local stack's resources, each answer passing through protobuf bytes and the SDK's decoder as
         * gRPC hands it over, with a server-set `metadata.uid` added to every object that has metadata; returns the
         * registrations and, per URN, the metadata output the program's resource resolved to.
         */
        async function register(): Promise<{ mocks: RecordingMocks; metadata: Map<string, any> }> {
            const { MeshTenancy } = await import("../components");
            const { planTenancy } = await import("../plan");
            const mocks = new RecordingMocks();
            mocks.install();
            const monitor = sdkSettings.getMonitor();
            const recorded = monitor.registerResource.bind(monitor);
            monitor.registerResource = (req: any, callback: (err: unknown, resp: unknown) => void) =>
                recorded(req, (err: unknown, resp: any) => {
                    if (err) return callback(err, resp);
                    const object = resp.getObject()?.toJavaScript();
                    if (object?.metadata !== undefined) resp.setObject(Struct.fromJavaScript({ ...object, metadata: { ...object.metadata, uid: "from-the-server" } }));
                    callback(err, resourceProto.RegisterResourceResponse.deserializeBinary(resp.serializeBinary()));
                });
            const mesh = new MeshTenancy("mesh", { plan: planTenancy(loadStack("local")) });
            await settle();
            const metadata = new Map<string, any>();
            const namespaces = [...mesh.namespaces.values()].map((ns) => ns.namespace as any);
            for (const ns of namespaces) {
                const [urn, meta] = await new Promise<[string, any]>((resolve) => pulumi.all([ns.urn, ns.metadata]).apply(resolve));
                metadata.set(urn, meta);
            }
            return { mocks, metadata };
        }

        it("are not decoded by the program: a planned object's outputs are its inputs, every other answer is decoded whole", async function () {
            this.timeout(120_000);
            const before = await register();
            assert.ok(before.metadata.size > 2, `namespaces registered: ${before.metadata.size}`);
            for (const meta of before.metadata.values()) assert.equal(meta.uid, "from-the-server", "without the filter the server's fields are read");
            assert.equal(dropUnreadOutputs(), true);
            const after = await register();
            assert.deepEqual([...after.metadata.keys()].sort(), [...before.metadata.keys()].sort());
            for (const [urn, meta] of after.metadata) {
                assert.equal(meta.uid, undefined, `${urn}: the server's fields are not decoded`);
                assert.equal(meta.name, before.metadata.get(urn).name, `${urn}: the planned fields resolve from the inputs`);
            }
            // Every custom resource the program registers itself is dropped; kubernetesx's (the smoke workloads' Deployments
            // and Services, written as a tenant would write them) and components are decoded whole.
            const answer = (urn: string) => {
                const resp = new resourceProto.RegisterResourceResponse();
                resp.setUrn(urn);
                resp.setId("some-id");
                resp.setObject(Struct.fromJavaScript({ kept: "no" }));
                resp.setStable(true);
                resp.getPropertydependenciesMap().set("spec", new resourceProto.RegisterResourceResponse.PropertyDependencies().setUrnsList(["urn:pulumi:a::b::c::d"]));
                return resp;
            };
            const decoded = (urn: string) => resourceProto.RegisterResourceResponse.deserializeBinary(answer(urn).serializeBinary());
            const byKubernetesx = (urn: string) => /SmokeWorkloads\$kubernetes:(apps\/v1:Deployment|core\/v1:Service)::/.test(urn);
            const custom = after.mocks.registrations.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
            const planned = custom.filter((r) => !byKubernetesx(r.urn));
            assert.ok(custom.some((r) => byKubernetesx(r.urn)), "the local stack has smoke workloads");
            assert.ok(planned.length > 20, `custom resources: ${planned.length}`);
            for (const r of planned) {
                const resp = decoded(r.urn);
                assert.equal(resp.getObject(), undefined, `${r.urn}: outputs dropped`);
                assert.deepEqual([resp.getUrn(), resp.getId(), resp.getStable(), resp.getPropertydependenciesMap().get("spec").getUrnsList()], [r.urn, "some-id", true, ["urn:pulumi:a::b::c::d"]]);
            }
            for (const r of after.mocks.registrations.filter((r) => !r.custom || byKubernetesx(r.urn))) {
                assert.deepEqual(decoded(r.urn).getObject()?.toJavaScript(), { kept: "no" }, `${r.urn}: decoded whole`);
            }
            const sameNameOtherType = planned[0].urn.replace(/[^$:]+::([^:]+)$/, "kubernetes:core/v1:Secret::$1");
            assert.deepEqual(decoded(sameNameOtherType).getObject()?.toJavaScript(), { kept: "no" }, "a resource is recognised by type and name");
            restoreOutputs();
            assert.deepEqual(decoded(planned[0].urn).getObject()?.toJavaScript(), { kept: "no" }, "restored");
        });

        it("leaves bytes that are not a well-formed message to the SDK's decoder", () => {
            for (const bytes of [[0x0a, 0x05, 0x61], [0x0b, 0x01], [0x0a], [0x80], [0x00, 0x01], []]) {
                const input = Uint8Array.from(bytes);
                assert.equal(withoutUnreadOutputs(input), input, `[${bytes}]`);
            }
        });
    });

    describe("SDK hooks (runtime/)", () => {
        const HOOK_NAMES = ["drop-unread-outputs", "light-promise-traces", "quiet-debug-log"];

        it("each installs on this SDK, and is put back", () => {
            restoreSdkHooks();
            const installed = installSdkHooks({});
            assert.deepEqual(Object.keys(installed).sort(), HOOK_NAMES);
            assert.deepEqual(Object.entries(installed).filter(([, ok]) => !ok), [], "every hook installs on the SDK in package-lock.json");
            restoreSdkHooks();
            assert.deepEqual(Object.values(sdkHookStatus()), [false, false, false]);
        });

        it("are installed by index.ts itself: the program run as `pulumi preview` runs it leaves every one installed", async function () {
            this.timeout(60_000);
            restoreSdkHooks();
            await runProgram("local");
            try {
                assert.deepEqual(sdkHookStatus(), Object.fromEntries(HOOK_NAMES.map((n) => [n, true])));
            } finally {
                restoreSdkHooks();
            }
        });

        it("an SDK without a hook's module or export, or with other field numbers, runs unhooked with one warning naming the hook", () => {
            const warnings: string[] = [];
            setHookWarning((m) => warnings.push(m));
            try {
                const gone = new SdkExport<() => void>("test-gone", "@pulumi/pulumi/no-such-module", "x", { from: __filename });
                assert.equal(gone.replace(() => () => undefined), false);
                assert.equal(gone.replace(() => () => undefined), false);
                assert.match(gone.whyNot!, /cannot be loaded/);
                const renamed = new SdkExport<() => void>("test-renamed", "@pulumi/pulumi/log", "noSuchExport", { from: __filename });
                assert.equal(renamed.replace(() => () => undefined), false);
                assert.equal(warnings.length, 2, warnings.join("\n"));
                assert.match(warnings[0], /the SDK hook "test-gone" is not installed \(@pulumi\/pulumi\/no-such-module cannot be loaded/);
                assert.match(warnings[1], /"test-renamed" is not installed \(@pulumi\/pulumi\/log has no writable export noSuchExport\)/);
            } finally {
                setHookWarning((m) => process.stderr.write(`${m}\n`));
            }
        });

        it("checks the response filter's field numbers against the SDK's own generated messages before installing it", () => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            assert.equal(fieldNumbersDiffer(require("@pulumi/pulumi/proto/resource_pb")), undefined);
            // A release that renumbered the fields: urn as 2, object as 4.
            class Renumbered {
                private urn = "";
                setUrn(u: string) {
                    this.urn = u;
                }
                setObject() {}
                serializeBinary() {
                    const urn = new TextEncoder().encode(this.urn);
                    return new Uint8Array([0x12, urn.length, ...urn, 0x22, 0]);
                }
            }
            assert.match(fieldNumbersDiffer({ RegisterResourceResponse: Renumbered })!, /no longer carries urn as field 1 and object as field 3: fields 2, 4/);
        });
    });
});
