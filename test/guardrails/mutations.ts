/**
 * Weakened copies of the generated policies, to show that the corpus notices each weakening: every validation replaced
 * by `true`, each of its top-level disjuncts and conjuncts dropped in turn, the platform operators' exemption widened to
 * everyone.
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
        (policy.spec.matchConditions ?? []).forEach((_: unknown, i: number) => add(`matchConditions[${i}] := true`, (p) => (p.spec.matchConditions[i].expression = "true")));
        (policy.spec.validations as Obj[]).forEach((v, i) => {
            if (v.expression !== "true") add(`validations[${i}] := true`, (p) => (p.spec.validations[i].expression = "true"));
            for (const op of ["||", "&&"] as const) {
                const operands = topLevelOperands(v.expression, op);
                if (operands.length < 2) continue;
                operands.forEach((_, k) => add(`validations[${i}] without its ${op} operand ${k}`, (p) => (p.spec.validations[i].expression = operands.filter((__, j) => j !== k).join(` ${op} `))));
            }
        });
    }
    return out;
}
