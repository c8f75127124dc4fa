import * as assert from "assert";
import * as path from "path";
import { createRequire } from "module";
import { answerResourceCallsUnread, crossGuardPolicies, shareDeserializedStack } from "../../policy/adapters/crossguard";
import { RULES } from "../../policy/rules";
import type { KubeObject } from "../../policy/semantics/objects";
import { fixtureObjects, ruleFixtures, pulumiType, resourceName, resourceProps, ROOT, urnOf } from "./harness";

/*
 * The pack as @pulumi/policy's analyzer server runs it: a real AnalyzeStack request (protobuf resources with property
 * structs) handed to the server's own analyzeStack function, which deserializes the stack once per stack policy and
 * calls each policy in turn. Checks that sharing the deserialized stack and the inventory across the policies of one
 * analysis changes no finding, deserializes each struct once, and never carries one analysis into the next.
 */

const packRequire = createRequire(path.join(ROOT, "policy", "package.json"));
const server = packRequire("@pulumi/policy/server");
const deserialize = packRequire("@pulumi/policy/deserialize");
const analyzerPb = packRequire("@pulumi/pulumi/proto/analyzer_pb");
const { Struct } = packRequire("google-protobuf/google/protobuf/struct_pb");

/** A protobuf AnalyzerResource or AnalyzeRequest (they share these fields) filled with an object as the engine sends it. */
function describing(message: any, object: KubeObject): any {
    const type = pulumiType(object);
    message.setType(type);
    message.setName(resourceName(object));
    message.setUrn(urnOf(type, resourceName(object)));
    message.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(resourceProps(object)))));
    message.setOptions(new analyzerPb.AnalyzerResourceOptions());
    return message;
}

function request(objects: ReadonlyArray<KubeObject>): unknown {
    const req = new analyzerPb.AnalyzeStackRequest();
    req.setResourcesList(objects.map((object) => describing(new analyzerPb.AnalyzerResource(), object)));
    return req;
}

/** Runs one AnalyzeStack call through the server's function; the diagnostics as "policy: message" lines, sorted. */
async function analyzeStack(analyze: (call: unknown, cb: (err: unknown, resp: any) => void) => void, objects: ReadonlyArray<KubeObject>): Promise<string[]> {
    const resp = await new Promise<any>((resolve, reject) => analyze({ request: request(objects) }, (err, r) => (err ? reject(err) : resolve(r))));
    return resp
        .getDiagnosticsList()
        .map((d: any) => `${d.getPolicyname()}: ${d.getMessage()}`)
        .sort();
}

/** Every rule's fixture files (clean and violating ones in directory order), so consecutive analyses differ in outcome. */
function fixtureStacks(): KubeObject[][] {
    return ruleFixtures().map((f) => fixtureObjects(f.file));
}

describe("the pack under @pulumi/policy's analyzer server", () => {
    const original = deserialize.deserializeProperties;
    afterEach(() => (deserialize.deserializeProperties = original));

    it("shares one deserialization and one inventory among the policies of an analysis, changing no finding and carrying nothing into the next", async function () {
        this.timeout(300_000);
        const stacks = fixtureStacks();
        assert.ok(stacks.length > 30, `found ${stacks.length} fixture files`);
        const serverFor = () => server.makeAnalyzeStackRpcFun("mesh-tenancy", "0.0.0", "advisory", crossGuardPolicies(RULES));

        const unshared = serverFor();
        const expected: string[][] = [];
        for (const objects of stacks) expected.push(await analyzeStack(unshared, objects));
        assert.ok(expected.filter((d) => d.length > 0).length > 15, "violating fixtures are reported");
        assert.ok(expected.some((d) => d.length === 0), "compliant fixtures are not");

        // Count the library's own deserializations under the shared cache.
        const calls = new Map<object, number>();
        deserialize.deserializeProperties = (struct: object, proxySecrets: boolean) => {
            calls.set(struct, (calls.get(struct) ?? 0) + 1);
            return original(struct, proxySecrets);
        };
        assert.equal(shareDeserializedStack(), true);
        const shared = serverFor();
        for (const [i, objects] of stacks.entries()) {
            assert.deepEqual(await analyzeStack(shared, objects), expected[i], `fixture file ${i}: same findings as without sharing`);
        }
        // The same objects again: a new request, a new analysis (nothing cached from the last one decides it).
        assert.deepEqual(await analyzeStack(shared, stacks[0]), expected[0]);
        const counts = new Set(calls.values());
        assert.deepEqual([...counts], [1], `deserializations per property struct: ${[...counts].join(", ")} (${RULES.length} rules)`);
    });
});

describe("the pack's answers to the engine's per-resource calls", () => {
    const grpc = packRequire("@grpc/grpc-js");
    const { AnalyzerService } = packRequire("@pulumi/pulumi/proto/analyzer_grpc_pb");
    const addService = grpc.Server.prototype.addService;
    const servers: any[] = [];
    afterEach(() => {
        grpc.Server.prototype.addService = addService;
        for (const s of servers.splice(0)) s.forceShutdown();
    });

    /** A server with the given Analyzer implementation on a free local port, and a client for it. */
    async function serve(implementation: object, client = AnalyzerService): Promise<{ call: (method: string, req: unknown) => Promise<any> }> {
        const s = new grpc.Server();
        servers.push(s);
        s.addService(AnalyzerService, implementation);
        const port = await new Promise<number>((resolve, reject) => s.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e: Error | null, p: number) => (e ? reject(e) : resolve(p))));
        const c = new (grpc.makeGenericClientConstructor(client, "Analyzer"))(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        return { call: (method, req) => new Promise((resolve, reject) => c[method](req, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r)))) };
    }

    /** A client whose Analyze and Remediate send bytes that are no AnalyzeRequest (a field longer than the message). */
    const garbling = {
        ...AnalyzerService,
        analyze: { ...AnalyzerService.analyze, requestSerialize: () => Buffer.from([0x0a, 0x40, 0x01]) },
        remediate: { ...AnalyzerService.remediate, requestSerialize: () => Buffer.from([0x0a, 0x40, 0x01]) },
    };

    it("are, from the library itself, empty for every resource: this pack has no resource policy", async function () {
        this.timeout(120_000);
        const policies = crossGuardPolicies(RULES);
        const analyze = server.makeAnalyzeRpcFun("mesh-tenancy", "0.0.0", "mandatory", policies);
        const remediate = server.makeRemediateRpcFun("mesh-tenancy", "0.0.0", "mandatory", policies);
        const objects = fixtureStacks().flat();
        assert.ok(objects.length > 200, `${objects.length} fixture objects`);
        const empty = (m: any) => Buffer.from(new m.responseType().serializeBinary()).toString("hex");
        for (const object of objects) {
            const req = describing(new analyzerPb.AnalyzeRequest(), object);
            for (const [fn, method] of [[analyze, AnalyzerService.analyze], [remediate, AnalyzerService.remediate]] as const) {
                const resp = await new Promise<any>((resolve, reject) => fn({ request: req }, (e: unknown, r: unknown) => (e ? reject(e) : resolve(r))));
                assert.equal(Buffer.from(resp.serializeBinary()).toString("hex"), empty(method), `${method.path} of ${object.kind} ${object.metadata.name}`);
            }
        }
    });

    it("are that empty answer given without decoding the request, on the next Analyzer server only; every other call is the pack's own", async () => {
        assert.equal(answerResourceCallsUnread(crossGuardPolicies(RULES)), true);
        const version = "0.0.0-given";
        const info = new AnalyzerService.getPluginInfo.responseType();
        info.setVersion(version);
        const unreachable = () => assert.fail("the library's handler was called");
        const fast = await serve({ analyze: unreachable, remediate: unreachable, getPluginInfo: (_c: unknown, cb: (e: null, r: unknown) => void) => cb(null, info) }, garbling);
        assert.equal(grpc.Server.prototype.addService, addService, "gRPC's addService is put back once the pack's server has its service");
        assert.equal((await fast.call("analyze", null)).getDiagnosticsList().length, 0);
        assert.equal((await fast.call("remediate", null)).getRemediationsList().length, 0);
        assert.equal((await fast.call("getPluginInfo", new AnalyzerService.getPluginInfo.requestType())).getVersion(), version);

        // The next server decodes as the library does: the same bytes are refused.
        const plain = await serve({ analyze: (_c: unknown, cb: (e: null, r: unknown) => void) => cb(null, new AnalyzerService.analyze.responseType()) }, garbling);
        await assert.rejects(plain.call("analyze", null), /deserializ|decod|INTERNAL/i);
    });

    it("are left to the library when a policy validates or remediates single resources", () => {
        const resourcePolicy = { name: "single", enforcementLevel: "advisory" as const, validateResource: () => undefined };
        assert.equal(answerResourceCallsUnread([...crossGuardPolicies(RULES), resourcePolicy]), false);
        assert.equal(grpc.Server.prototype.addService, addService);
    });
});
