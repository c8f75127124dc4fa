import * as assert from "node:assert/strict";
import { crossGuardPolicies } from "../policy/adapters/crossguard";
import { evaluate } from "../policy/lib/engine";
import { RULES } from "../policy/rules";
import { ALL_STACKS, loadStack, validConfig } from "./harness/configs";
import { registerConfig } from "./harness/program";
import { packConfig, subjectsOf } from "./harness/registrations";

describe("the program's own stacks pass the policy pack", () => {
    for (const stack of ALL_STACKS) {
        it(`stacks/Pulumi.${stack}.yaml has no finding under the ${stack === "prod" ? "prod" : "dev"} config`, async () => {
            const mocks = await registerConfig(loadStack(stack));
            const violations = evaluate(RULES, subjectsOf(mocks.registrations), packConfig(stack === "prod" ? "prod" : "dev"));
            assert.deepEqual(violations.map((v) => `${v.rule.id} ${v.subject.object.kind} ${v.subject.object.metadata.name}: ${v.message}`), []);
        });
    }

    it("learns each revision from the istiod chart inputs alone (no rendered objects under mocks)", async () => {
        const mocks = await registerConfig(loadStack("prod"));
        const subjects = subjectsOf(mocks.registrations);
        const releases = subjects.filter((s) => s.object.kind === "HelmRelease");
        assert.equal(releases.length, 1 + 2 + 1, "base, two istiods, one gateway");
    });

    it("production refuses unprotected tenant namespaces", async () => {
        const mocks = await registerConfig(validConfig());
        const violations = evaluate(RULES, subjectsOf(mocks.registrations), packConfig("prod"));
        const unprotected = violations.filter((v) => v.rule.id === "MT013").map((v) => v.subject.object.metadata.name).sort();
        assert.deepEqual(unprotected, ["app-ns-1", "app-ns-2", "app-ns-3", "common-services", "logmonkey"]);
        assert.ok(violations.every((v) => v.rule.id === "MT013"), "nothing else fires");
    });

    it("the CrossGuard policies report the same findings with the resource's URN", async () => {
        const mocks = await registerConfig(validConfig((r) => r.usergroups[0].tenants[1].labels = { team: "x" }));
        const bad = mocks.registrations.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, opts: { protect: r.protect } }));
        const sidecar = bad.find((r) => r.name === "logmonkey-sidecar")!;
        const hosts: string[] = sidecar.props.spec.egress[0].hosts;
        sidecar.props = { ...sidecar.props, spec: { egress: [{ hosts: [...hosts, "app-ns-2/*"] }] } };
        const reported: { message: string; urn?: string }[] = [];
        for (const policy of crossGuardPolicies(RULES)) {
            policy.validateStack({ resources: bad as any, getConfig: () => ({}) } as any, (message: string, urn?: string) => reported.push({ message, urn }));
        }
        assert.deepEqual(reported, [
            {
                message: '[MT0702] Sidecar logmonkey/default: egress host "app-ns-2/*" reaches into usergroup usergroup-2; this Sidecar belongs to usergroup usergroup-1',
                urn: sidecar.urn,
            },
        ]);
    });
});
