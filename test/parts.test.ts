import * as assert from "node:assert/strict";
import { evaluate } from "../policy/lib/engine";
import { RULES } from "../policy/rules";
import { ConfigError } from "../model/issues";
import { planTenancy } from "../plan";
import { ALL_STACKS, loadStack } from "./harness/configs";
import { registerConfig } from "./harness/program";
import type { Registration } from "./harness/mocks";
import { packConfig, subjectsOf } from "./harness/registrations";

/** A registration by what it is, without its URN (the parent chain differs by nothing but is stack-local). */
function key(r: Registration): string {
    return `${r.type} ${r.name}`;
}

describe("stack parts: one environment split into a platform stack and a stack per usergroup", () => {
    for (const stack of ALL_STACKS) {
        it(`${stack}: the parts register exactly what "all" registers, each object once, with the same inputs, and each passes the pack`, async () => {
            const whole = await registerConfig(loadStack(stack));
            const usergroups = loadStack(stack).usergroups.map((ug) => ug.name);
            const parts = ["platform", ...usergroups.map((ug) => `usergroup:${ug}`)];
            const seen = new Map<string, string>();
            const problems: string[] = [];
            for (const part of parts) {
                const config = loadStack(stack, (raw) => (raw.stackPart = part));
                const mocks = await registerConfig(config);
                for (const r of mocks.registrations.filter((x) => x.custom)) {
                    const earlier = seen.get(key(r));
                    if (earlier !== undefined) problems.push(`${key(r)} in ${earlier} and ${part}`);
                    seen.set(key(r), part);
                    const same = whole.registrations.find((w) => key(w) === key(r));
                    if (same === undefined) problems.push(`${key(r)} (${part}) is not in all`);
                    else assert.deepEqual(r.inputs, same.inputs, `${key(r)} in ${part}`);
                }
                const findings = evaluate(RULES, subjectsOf(mocks.registrations), packConfig(stack === "prod" ? "prod" : "dev"));
                problems.push(...findings.map((v) => `${part}: ${v.rule.id} ${v.subject.object.kind} ${v.subject.object.metadata.name}: ${v.message}`));
            }
            for (const w of whole.registrations.filter((x) => x.custom)) if (!seen.has(key(w))) problems.push(`${key(w)} is in no part`);
            assert.deepEqual(problems, []);
        });
    }

    it("the base chart goes with the usergroup whose system namespace holds it, the guardrails with the platform", () => {
        const config = (part: string) => planTenancy(loadStack("local", (raw) => (raw.stackPart = part))).part;
        const home = planTenancy(loadStack("local")).base.namespace;
        const usergroups = loadStack("local").usergroups;
        for (const ug of usergroups) assert.equal(config(`usergroup:${ug.name}`).base, ug.systemNamespace === home, ug.name);
        assert.deepEqual(config("platform"), { name: "platform", base: false, guardrails: true, usergroups: [] });
        assert.deepEqual(config("all"), { name: "all", base: true, guardrails: true, usergroups: usergroups.map((u) => u.name) });
    });

    it("refuses a part that names nothing, naming the key and the usergroups", () => {
        for (const [value, message] of [
            ["usergroup:nobody", /^\s*stackPart: "usergroup:nobody" names no usergroup \(known: team-a, team-b\)$/m],
            ["team-a", /^\s*stackPart: "team-a" is not a part; use "all", "platform" or "usergroup:<name>" \(usergroups: team-a, team-b\)$/m],
        ] as const) {
            assert.throws(
                () => loadStack("local", (raw) => (raw.stackPart = value)),
                (e: unknown) => e instanceof ConfigError && message.test(e.message),
            );
        }
    });
});
