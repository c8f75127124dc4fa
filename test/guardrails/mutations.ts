/**
 * Weakened copies of the generated policies, to show that the corpus notices each weakening: every validation replaced
 * by `true`, each top-level disjunct and conjunct of a validation or match condition dropped in turn, the platform
 * operators' exemption widened to everyone, and each variable that collects what is wrong emptied.
 */

type Obj = Record<string, any>;

export interface Mutation {
    /** The policy it weakens (by name) and what it did, for the failure message. */
    policy: string;
    what: string;
    /** The weakened policy, under a name of its own. */
    mutated: Obj;
}

/** The operands of `op` at the top level of a CEL expression (outside parentheses, brackets and string literals). */
export function topLevelOperands(expression: string, op: "||" | "&&"): string[] {
    const parts: string[] = [];
    let depth = 0;
    let quote: string | undefined;
    let start = 0;
    for (let i = 0; i < expression.length; i++) {
        const c = expression[i];
        if (quote !== undefined) {
            if (c === "\\") i++;
            else if (c === quote) quote = undefined;
            continue;
        }
        if (c === "'" || c === '"') quote = c;
        else if ("([{".includes(c)) depth++;
        else if (")]}".includes(c)) depth--;
        else if (depth === 0 && expression.startsWith(op, i)) {
            parts.push(expression.slice(start, i).trim());
            start = i + op.length;
            i += op.length - 1;
        }
    }
    parts.push(expression.slice(start).trim());
    return parts;
}

/**
 * Variables whose value is what a validation refuses (or the fact that makes it refuse), and the value that hides it.
 * The lists of what is allowed are not here: widening them is what the corpus's refused cases show by other means.
 */
const EMPTIED: Readonly<Record<string, string>> = {
    foreignHosts: "[]",
    outside: "[]",
    trafficPolicies: "[]",
    rulesAdmittingOthers: "[]",
    weakModes: "[]",
    captureAnnotations: "[]",
    changed: "[]",
    changedParams: "[]",
    isAllow: "false",
    managedNow: "false",
    managedBefore: "false",
    namespaceTerminating: "true",
};

function rename(policy: Obj, suffix: string): Obj {
    const copy = structuredClone(policy);
    copy.metadata.name = `${policy.metadata.name}.${suffix}`;
    return copy;
}

export function mutations(policies: ReadonlyArray<Obj>): Mutation[] {
    const out: Mutation[] = [];
    for (const policy of policies) {
        const name = policy.metadata.name as string;
        let n = 0;
        const add = (what: string, edit: (p: Obj) => void) => {
            const mutated = rename(policy, `m${n++}`);
            edit(mutated);
            out.push({ policy: name, what, mutated });
        };
        const dropOperands = (field: "matchConditions" | "validations", i: number, expression: string) => {
            for (const op of ["||", "&&"] as const) {
                const operands = topLevelOperands(expression, op);
                if (operands.length < 2) continue;
                operands.forEach((_, k) => add(`${field}[${i}] without its ${op} operand ${k}`, (p) => (p.spec[field][i].expression = operands.filter((__, j) => j !== k).join(` ${op} `))));
            }
        };
        (policy.spec.matchConditions as Obj[] | undefined)?.forEach((c, i) => {
            add(`matchConditions[${i}] := true`, (p) => (p.spec.matchConditions[i].expression = "true"));
            dropOperands("matchConditions", i, c.expression);
        });
        (policy.spec.validations as Obj[]).forEach((v, i) => {
            if (v.expression !== "true") add(`validations[${i}] := true`, (p) => (p.spec.validations[i].expression = "true"));
            dropOperands("validations", i, v.expression);
        });
        (policy.spec.variables as Obj[] | undefined)?.forEach((v, i) => {
            const hidden = EMPTIED[v.name];
            if (hidden !== undefined) add(`variables.${v.name} := ${hidden}`, (p) => (p.spec.variables[i].expression = hidden));
        });
    }
    return out;
}
