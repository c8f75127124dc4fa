import * as assert from "assert";
import * as path from "path";
import { createRequire } from "module";
import { crossGuardPolicies, shareDeserializedStack } from "../../policy/adapters/crossguard";
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

function request(objects: ReadonlyArray<KubeObject>): unknown {
    const req = new analyzerPb.AnalyzeStackRequest();
    req.setResourcesList(
        objects.map((object) => {
            const r = new analyzerPb.AnalyzerResource();
            const type = pulumiType(object);
            r.setType(type);
            r.setName(resourceName(object));
            r.setUrn(urnOf(type, resourceName(object)));
            r.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(resourceProps(object)))));
            r.setOptions(new analyzerPb.AnalyzerResourceOptions());
            return r;
        }),
    );
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
