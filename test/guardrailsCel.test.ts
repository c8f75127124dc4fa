import * as assert from "node:assert/strict";
import { planTenancy } from "../plan";
import { GUARDRAIL_PARAM_ANNOTATIONS, GUARDRAILS, guardrailIdOf } from "../plan/guardrails";
import { evaluate } from "../policy/lib/engine";
import type { Subject } from "../policy/semantics/objects";
import { RULES } from "../policy/rules";
import { ALL_STACKS, loadStack } from "./harness/configs";
import { registerConfig } from "./harness/program";
import { subjectsOf } from "./harness/registrations";
import { BRANCH_CASES, CORPUS_STACK, corpusPlan, PAIRS, PARITY_FIXTURES, ParityFixture, peerAuthentication, requestFor } from "./guardrails/corpus";
import { mutations, Mutation } from "./guardrails/mutations";
import { CaseReport, runVapEval, VapEvalCase, VapEvalReport } from "./guardrails/vapEval";

/**
 * The admission guardrails judged by the Kubernetes API server's own code (scripts/toolchain/cel): every generated
 * policy validated and compiled as on create, and one corpus of admission requests dispatched through the
 * ValidatingAdmissionPolicy plugin, the same fixtures judged by the policy pack where both layers judge a rule. One
 * process judges everything, so the suite stays in seconds.
 */

type Obj = Record<string, any>;

const MODES = ["enforce", "warn"] as const;
const corpusPolicies = corpusPlan.guardrails.policies.map((p) => p.object as Obj);
const corpusBindings = corpusPlan.guardrails.bindings.map((p) => p.object as Obj);
const corpusNames = corpusPolicies.map((p) => p.metadata.name as string);

/** Every stack's policies in both modes, renamed apart so that one run holds them all. */
const variants = ALL_STACKS.flatMap((stack) =>
    MODES.map((mode) => {
        const plan = planTenancy(loadStack(stack, (raw) => (raw.admissionGuardrails = mode)));
        const suffix = `${stack}-${mode}`;
        const rename = (o: Obj): Obj => ({ ...o, metadata: { ...o.metadata, name: `${o.metadata.name}.${suffix}` } });
        return {
            stack,
            mode,
            policies: plan.guardrails.policies.map((p) => rename(p.object as Obj)),
            bindings: plan.guardrails.bindings.map((b): Obj => {
                const binding = rename(b.object as Obj);
                return { ...binding, spec: { ...binding.spec, policyName: `${binding.spec.policyName}.${suffix}` } };
            }),
        };
    }),
);
const warnVariant = variants.find((v) => v.stack === CORPUS_STACK && v.mode === "warn")!;

/** The guardrail ids of the validations that refused, across every policy that judged the request. */
function refusedIds(report: CaseReport, policy?: string): string[] {
    const ids = report.policies
        .filter((p) => policy === undefined || p.policy === policy)
        .flatMap((p) => p.validations.filter((v) => v.action === "deny").map((v) => guardrailIdOf(v.message ?? "") ?? `unnamed: ${v.message}`));
    return [...new Set(ids)].sort();
}

function parityCase(f: ParityFixture): VapEvalCase {
    return { name: `parity: ${f.name}`, request: requestFor(f.object), policies: corpusNames };
}

/** The guardrail ids a parity fixture is refused by: its own, and MT017 beside MT001 for a pod that also opts out. */
function expectedIds(f: ParityFixture): string[] {
    if (f.expect === "admitted") return [];
    const labels = f.object.metadata.labels ?? {};
    return [...new Set([f.guardrail, ...(labels["sidecar.istio.io/inject"] === "false" ? ["MT017"] : [])])].sort();
}

const baseCases: VapEvalCase[] = [
    ...PARITY_FIXTURES.map(parityCase),
    ...BRANCH_CASES.map((c) => ({ name: `branch: ${c.name}`, request: c.request, policies: corpusNames })),
    {
        name: "warn: a PERMISSIVE PeerAuthentication",
        request: requestFor(peerAuthentication("shop", "weak", { mtls: { mode: "PERMISSIVE" } })),
        policies: warnVariant.policies.map((p) => p.metadata.name),
    },
];

/** A policy's rules match a request's resource and operation (before selectors): which cases a mutation can change. */
function ruleMatches(policy: Obj, c: VapEvalCase): boolean {
    const r = c.request;
    if (r.subResource !== undefined) return false;
    return policy.spec.matchConstraints.resourceRules.some(
        (rule: Obj) => rule.apiGroups.includes(r.resource.group) && (rule.resources.includes("*") || rule.resources.includes(r.resource.resource)) && rule.operations.includes(r.operation),
    );
}

const MUTATIONS: Mutation[] = mutations(corpusPolicies);

/** The issue's weakening: PERMISSIVE PeerAuthentications and top-level DestinationRule DISABLE admitted. */
function weakenedMtls(): Obj[] {
    return corpusPolicies.map((p) => {
        const copy = structuredClone(p);
        copy.metadata.name = `${p.metadata.name}.weak-mtls`;
        for (const v of copy.spec.variables ?? []) if (v.name === "weakModes") v.expression = v.expression.replace("['PERMISSIVE', 'DISABLE']", "['DISABLE']");
        for (const v of copy.spec.validations) v.expression = v.expression.replace("(has(p.tls) && has(p.tls.mode) && p.tls.mode == 'DISABLE') || ", "");
        return copy;
    });
}
const weakMtls = weakenedMtls();

describe("admission guardrails in the API server's own CEL (vap-eval)", function () {
    // A cold build of the tool takes minutes; once built it is found current in a fraction of a second.
    this.timeout(20 * 60_000);

    let report: VapEvalReport;
    const byName = new Map<string, CaseReport>();
    let baseline: Subject[];

    before(async () => {
        const mutationCases = MUTATIONS.flatMap((m, i) =>
            baseCases.filter((c) => c.policies === corpusNames && ruleMatches(m.mutated, c)).map((c) => ({ ...c, name: `mutation ${i}: ${c.name}`, policies: [m.mutated.metadata.name] })),
        );
        const weakCases = PARITY_FIXTURES.filter((f) => f.guardrail === "MT009").map((f) => ({ ...parityCase(f), name: `weak-mtls: ${f.name}`, policies: weakMtls.map((p) => p.metadata.name) }));
        const rebind = (policies: Obj[]) =>
            policies.map((p) => {
                const original = corpusBindings.find((b) => p.metadata.name.startsWith(`${b.spec.policyName}.`))!;
                return { ...original, metadata: { ...original.metadata, name: p.metadata.name }, spec: { ...original.spec, policyName: p.metadata.name } };
            });
        const mutated = MUTATIONS.map((m) => m.mutated);
        report = runVapEval({
            policies: [...corpusPolicies, ...variants.flatMap((v) => v.policies), ...mutated, ...weakMtls],
            bindings: [...corpusBindings, ...variants.flatMap((v) => v.bindings), ...rebind(mutated), ...rebind(weakMtls)],
            cases: [...baseCases, ...mutationCases, ...weakCases],
        });
        for (const c of report.cases) byName.set(c.name, c);
        baseline = subjectsOf((await registerConfig(loadStack(CORPUS_STACK))).registrations);
    });

    const judged = (name: string): CaseReport => {
        const c = byName.get(name);
        assert.ok(c !== undefined, `no verdict for ${name}`);
        assert.equal(c.error, undefined, `${name}: ${c.error}`);
        return c;
    };

    describe("every generated policy, every stack, both modes", () => {
        it("is accepted by the API server's create-time validation, every expression compiling for evaluation", () => {
            const generated = new Set([...corpusNames, ...variants.flatMap((v) => v.policies.map((p) => p.metadata.name))]);
            const problems = report.policies
                .filter((p) => generated.has(p.name))
                .flatMap((p) => [...p.validationErrors.map((e) => `${p.name}: ${e}`), ...p.expressions.filter((e) => e.error !== undefined).map((e) => `${p.name} ${e.field}: ${e.error}\n  ${e.expression}`)]);
            assert.deepEqual(problems, []);
            const bindings = new Set([...corpusBindings, ...variants.flatMap((v) => v.bindings)].map((b) => b.metadata.name));
            assert.deepEqual(report.bindings.filter((b) => bindings.has(b.name)).flatMap((b) => b.validationErrors.map((e) => `${b.name}: ${e}`)), []);
            assert.equal(generated.size, (ALL_STACKS.length * MODES.length + 1) * corpusNames.length);
        });

        it("evaluates on the whole corpus without an evaluation error, a failing messageExpression or a cost over the API server's budget", () => {
            const problems: string[] = [];
            for (const c of baseCases.map((x) => judged(x.name))) {
                for (const p of c.policies) {
                    if (p.matchConditionError !== undefined) problems.push(`${c.name}: ${p.policy} match conditions: ${p.matchConditionError}`);
                    if (p.cost > report.environment.runtimeBudget) problems.push(`${c.name}: ${p.policy} costs ${p.cost}`);
                    for (const v of p.validations) {
                        if (v.evaluation === "error") problems.push(`${c.name}: ${p.policy} validations[${v.index}]: ${v.message}`);
                        if (v.messageError !== undefined) problems.push(`${c.name}: ${p.policy} validations[${v.index}].messageExpression: ${v.messageError}`);
                    }
                }
            }
            assert.deepEqual(problems, []);
        });
    });

    describe("one corpus, two layers: the pack and the guardrail on the same objects", () => {
        it("the table pairs every guardrail that mirrors a pack rule, and each difference it allows is exercised by a fixture", () => {
            const mirrored = GUARDRAILS.filter((g) => Number(g.id.slice(2)) < 100).map((g) => g.id);
            assert.deepEqual(PAIRS.map((p) => p.guardrail), mirrored);
            for (const pair of PAIRS) {
                const fixtures = PARITY_FIXTURES.filter((f) => f.guardrail === pair.guardrail);
                assert.ok(fixtures.some((f) => f.expect === "refused" && f.differs === undefined), `${pair.guardrail}: no refused fixture at parity`);
                assert.ok(fixtures.some((f) => f.expect === "admitted" && f.differs === undefined), `${pair.guardrail}: no admitted fixture at parity`);
                for (const reason of Object.keys(pair.differences)) assert.ok(fixtures.some((f) => f.differs === reason), `${pair.guardrail}: no fixture shows "${reason}"`);
                for (const f of fixtures) assert.ok(f.differs === undefined || f.differs in pair.differences, `${f.name}: unknown difference ${f.differs}`);
            }
        });

        /** New findings of the pair's rule (and codes) once the fixture joins the stack's objects: the pack's verdict. */
        function packRefuses(f: ParityFixture): string[] {
            const pair = PAIRS.find((p) => p.guardrail === f.guardrail)!;
            const rule = RULES.find((r) => r.id === pair.rule)!;
            const key = (o: Obj) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
            const replaced = new Set([...(f.context ?? []), f.object].map(key).concat(f.without ?? []));
            const kept = baseline.filter((s) => !replaced.has(key(s.object)));
            const findings = (objects: Obj[]) =>
                evaluate([rule], [...kept, ...objects.map((object) => ({ object, origin: {} }) as Subject)])
                    .filter((v) => pair.codes === undefined || pair.codes.includes(v.code))
                    .map((v) => `${v.code} ${key(v.subject.object)}: ${v.message}`);
            const before = new Set(findings(f.context ?? []));
            return findings([...(f.context ?? []), f.object]).filter((x) => !before.has(x));
        }

        for (const f of PARITY_FIXTURES) {
            const label = f.differs === undefined ? `both ${f.expect === "refused" ? "refuse" : "admit"}` : `the guardrail ${f.expect === "refused" ? "refuses" : "admits"}, the pack ${f.expect === "refused" ? "admits" : "refuses"} (${f.differs})`;
            it(`${f.guardrail}: ${f.name}: ${label}`, () => {
                const c = judged(parityCase(f).name);
                assert.deepEqual(refusedIds(c), expectedIds(f), c.message);
                assert.equal(c.allowed, f.expect === "admitted", c.message);
                const pack = packRefuses(f);
                const packExpects = f.differs === undefined ? f.expect : f.expect === "refused" ? "admitted" : "refused";
                assert.equal(pack.length > 0 ? "refused" : "admitted", packExpects, pack.join("\n"));
            });
        }
    });

    describe("branches only admission has", () => {
        for (const b of BRANCH_CASES) {
            it(`${b.name}: ${b.refusedBy.length === 0 ? "admitted" : `refused by ${b.refusedBy.join(", ")}`}`, () => {
                const c = judged(`branch: ${b.name}`);
                assert.deepEqual(refusedIds(c), [...b.refusedBy].sort(), c.message);
                assert.equal(c.allowed, b.refusedBy.length === 0, c.message);
            });
        }

        it("in warn mode a refusal is a warning and an audit annotation, and the request goes through", () => {
            const c = judged("warn: a PERMISSIVE PeerAuthentication");
            assert.equal(c.allowed, true);
            assert.equal(c.warnings.length, 1);
            assert.match(c.warnings[0], /^Validation failed for ValidatingAdmissionPolicy 'mesh-tenancy-security\.local-warn' with binding '.*': \[MT009\]/);
            const failures = JSON.parse(c.auditAnnotations["validation.policy.admission.k8s.io/validation_failure"]);
            assert.deepEqual(failures.map((x: Obj) => x.validationActions), [["Warn", "Audit"]]);
        });
    });

    describe("messages users can act on", () => {
        const ALLOWED = /[;,] allowed( [a-z]+)?: /;
        const refusals = () =>
            [...PARITY_FIXTURES.map((f) => [parityCase(f).name, f.object] as const), ...BRANCH_CASES.map((b) => [`branch: ${b.name}`, b.request.object ?? b.request.oldObject!] as const)].flatMap(([name, obj]) =>
                judged(name).policies.flatMap((p) => p.validations.filter((v) => v.action === "deny").map((v) => ({ name, obj, message: v.message ?? "" }))),
            );

        it("every refusal names its guardrail, the object, the field, what is allowed, and whom to ask", () => {
            const problems: string[] = [];
            for (const { name, obj, message } of refusals()) {
                const what = obj.metadata.namespace === undefined ? `${obj.kind} ${obj.metadata.name}` : `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`;
                const missing = [
                    guardrailIdOf(message) !== undefined ? undefined : "guardrail id",
                    message.includes(what) ? undefined : `object (${what})`,
                    / (metadata|spec|kind)[.:\[ ]/.test(message) ? undefined : "field",
                    ALLOWED.test(message) ? undefined : "allowed values",
                    /ask the platform operators/.test(message) ? undefined : "whom to ask",
                ].filter((x) => x !== undefined);
                if (missing.length > 0) problems.push(`${name}: no ${missing.join(", ")}: ${message}`);
            }
            assert.deepEqual(problems, []);
        });

        it("a refusal measured against the namespace's parameters lists exactly their values", () => {
            const listed: Record<string, keyof typeof GUARDRAIL_PARAM_ANNOTATIONS> = { MT001: "revisions", MT007: "importableNamespaces", MT008: "exportPeers", MT016: "admittedNamespaces" };
            let checked = 0;
            for (const { name, obj, message } of refusals()) {
                const id = guardrailIdOf(message) ?? "";
                const field = listed[id];
                if (field === undefined) continue;
                const ns = corpusPlan.namespaces.find((n) => n.name === obj.metadata.namespace)!;
                const values = ns.namespace.object.metadata.annotations![GUARDRAIL_PARAM_ANNOTATIONS[field]].split(",");
                const allowed = message.slice(ALLOWED.exec(message)!.index);
                for (const v of values) assert.ok(allowed.includes(v), `${name}: ${v} missing from: ${message}`);
                checked++;
            }
            assert.ok(checked >= 10, `only ${checked} refusals checked`);
        });
    });

    describe("weakening an expression fails a test", () => {
        it(`every weakened validation, match condition and variable (${MUTATIONS.length}) changes a verdict of the corpus`, () => {
            const uncaught: string[] = [];
            MUTATIONS.forEach((m, i) => {
                const compiled = report.policies.find((p) => p.name === m.mutated.metadata.name)!;
                assert.deepEqual(compiled.validationErrors, [], `${m.policy} ${m.what} does not compile: the weakening is not one`);
                const changed = report.cases
                    .filter((c) => c.name.startsWith(`mutation ${i}: `))
                    .some((c) => {
                        const original = judged(c.name.slice(`mutation ${i}: `.length));
                        // The original verdicts are asserted exactly above, so a changed one is a failing test.
                        return JSON.stringify(refusedIds(original, m.policy)) !== JSON.stringify(refusedIds(c, m.mutated.metadata.name));
                    });
                if (!changed) uncaught.push(`${m.policy} ${m.what}`);
            });
            assert.deepEqual(uncaught, []);
        });

        it("the mTLS guardrail weakened to admit PERMISSIVE PeerAuthentications and DestinationRule DISABLE outside port settings fails its fixtures", () => {
            const failing = PARITY_FIXTURES.filter((f) => f.guardrail === "MT009").filter((f) => JSON.stringify(refusedIds(judged(`weak-mtls: ${f.name}`))) !== JSON.stringify(expectedIds(f)));
            assert.deepEqual(
                failing.map((f) => f.name),
                [
                    "PeerAuthentication PERMISSIVE for the namespace",
                    "PeerAuthentication PERMISSIVE on one port of a workload",
                    "PeerAuthentication PERMISSIVE on one port, without selector",
                    "DestinationRule DISABLE at the top level",
                    "DestinationRule DISABLE in a subset",
                ],
            );
            const changed = weakMtls.filter((p) => JSON.stringify(p.spec) !== JSON.stringify(corpusPolicies.find((o) => `${o.metadata.name}.weak-mtls` === p.metadata.name)!.spec));
            assert.deepEqual(changed.map((p) => p.metadata.name), ["mesh-tenancy-export.weak-mtls", "mesh-tenancy-security.weak-mtls"]);
        });
    });
});
