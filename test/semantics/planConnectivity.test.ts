import * as assert from "node:assert/strict";
import { planTenancy } from "../../plan";
import { stackOutputs } from "../../plan/outputs";
import { Inventory } from "../../policy/semantics/inventory";
import { meshView } from "../../policy/semantics/reachability";
import { planSubjects } from "../../report/stack";
import { ALL_STACKS, loadStack } from "../harness/configs";

/**
 * The program's own check: the connectivity the plan promises (`expectedConnectivity`) is exactly what the semantics
 * model computes from the objects the plan writes, for every stack, both ways (nothing missing, nothing extra).
 */
describe("the plan's expected connectivity equals what Istio and Kubernetes would do with its objects", () => {
    for (const stack of ALL_STACKS) {
        it(`stack ${stack}`, () => {
            const plan = planTenancy(loadStack(stack));
            const expected = stackOutputs(plan).expectedConnectivity.allow;
            const managed = new Set(Object.keys(expected));
            const actual: Record<string, string[]> = {};
            for (const call of meshView(new Inventory(planSubjects(plan))).calls()) {
                if (!managed.has(call.source) || !managed.has(call.destination)) continue;
                (actual[call.source] ??= []).push(call.destination);
            }
            const sorted = (m: Record<string, string[]>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [...v].sort()]).sort());
            assert.deepEqual(sorted(actual), sorted(expected));
        });
    }
});
