/**
 * The admission guardrails' CEL cost: `npm run bench:guardrails -- [--repeat 200] [--json]`.
 *
 * Runs the unit suite's corpus (test/guardrails/corpus.ts: the `local` stack's policies, every parity fixture and
 * branch case) through vap-eval, the API server's own compiler and validator (scripts/toolchain/cel), each matched
 * policy validating each request `--repeat` times, and prints per policy:
 *
 * - the Kubernetes cost estimator's figures for its expressions, every list, map and string bounded by the largest
 *   request the API server takes (3 MiB): the sum of the minimums (the cheapest request) and the largest maximum (the
 *   worst expression). The API server does not refuse a ValidatingAdmissionPolicy on this estimate (it does so only for
 *   CRD validation rules); it stops an evaluation at run time, at 1,000,000 per expression and 10,000,000 per binding;
 * - the runtime cost the API server charged on the corpus (largest per request) against the binding budget;
 * - the validator's wall time per request (median of the per-request medians, and the largest).
 */
import { BRANCH_CASES, corpusPlan, PARITY_FIXTURES, requestFor } from "../test/guardrails/corpus";
import { runVapEval } from "../test/guardrails/vapEval";

const args = process.argv.slice(2);
const repeat = Number(args[args.indexOf("--repeat") + 1] ?? "") || 200;
const json = args.includes("--json");

const policies = corpusPlan.guardrails.policies.map((p) => p.object as Record<string, any>);
const start = process.hrtime.bigint();
const report = runVapEval({
    policies,
    bindings: corpusPlan.guardrails.bindings.map((b) => b.object as Record<string, any>),
    cases: [...PARITY_FIXTURES.map((f) => ({ name: f.name, request: requestFor(f.object) })), ...BRANCH_CASES.map((b) => ({ name: b.name, request: b.request }))],
    repeat,
});
const wallMs = Number(process.hrtime.bigint() - start) / 1e6;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const rows = report.policies.map((p) => {
    const estimates = p.expressions.map((e) => e.estimatedCost).filter((e) => e !== undefined);
    const judged = report.cases.flatMap((c) => c.policies.filter((v) => v.policy === p.name && v.matchConditions));
    return {
        policy: p.name,
        expressions: p.expressions.length,
        estimatedMin: estimates.reduce((s, e) => s + e.min, 0),
        estimatedWorstExpression: Math.max(...estimates.map((e) => e.max)),
        overPerCallLimit: estimates.filter((e) => e.max > report.environment.perCallLimit).length,
        requests: judged.length,
        runtimeCostMax: Math.max(0, ...judged.map((v) => v.cost)),
        medianUs: median(judged.map((v) => v.elapsedNs)) / 1000,
        maxUs: Math.max(0, ...judged.map((v) => v.elapsedNs)) / 1000,
    };
});

if (json) {
    console.log(JSON.stringify({ environment: report.environment, repeat, cases: report.cases.length, wallMs, rows }, null, 2));
} else {
    const big = (n: number) => (n >= 1e15 ? n.toExponential(1) : n.toLocaleString("en"));
    console.log(`CEL environment: compatibility ${report.environment.compatibilityVersion}, strict cost ${report.environment.strictCost}; ${report.cases.length} requests, each matched policy run ${repeat} times; vap-eval took ${(wallMs / 1000).toFixed(1)} s\n`);
    console.log("| policy | expressions | estimated cost: cheapest request | estimated cost: worst expression (3 MiB bound) | expressions over 1,000,000 at worst | requests judged | runtime cost, largest | time per request, median | time per request, largest |");
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const r of rows) {
        console.log(`| ${r.policy} | ${r.expressions} | ${big(r.estimatedMin)} | ${big(r.estimatedWorstExpression)} | ${r.overPerCallLimit} | ${r.requests} | ${r.runtimeCostMax} | ${r.medianUs.toFixed(0)} µs | ${r.maxUs.toFixed(0)} µs |`);
    }
}
