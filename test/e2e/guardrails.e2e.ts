/**
 * The admission guardrails in the real API server: installed as the plan says, refusing and admitting as the pack,
 * warn mode, the platform operators' exemption (the steps are in ./guardrails.ts).
 */
import { planTenancy } from "../../plan";
import { loadStack } from "../harness/configs";
import { admissionGuardrailSteps } from "./guardrails";
import { ensureUp, plan, STACK, timings } from "./engine";

describe("admission guardrails: the API server refuses and admits what the plan says", function () {
    this.timeout(20 * 60 * 1000);

    before(() => ensureUp());

    admissionGuardrailSteps(plan, planTenancy(loadStack(STACK, (raw) => (raw.admissionGuardrails = "warn"))), timings);

});
