/**
 * The catalogue of finding codes: every kind of finding the pack reports, with its rule, severity, summary and fix, read
 * from the rule modules (each rule's metadata is the one place its documentation is written). The SARIF output, the
 * policy README's rule sections and tables (`npm run docs`) and the checks on codes all read it from here.
 */
import type { EnforcementLevel, Rule } from "./rule";

export interface CodeEntry {
    /** `MT0901`, or the rule's id for a rule with one kind of finding. */
    code: string;
    /** The rule's id, `MT009`. */
    rule: string;
    /** The rule's name, the policy name in CrossGuard. */
    name: string;
    severity: EnforcementLevel;
    /** What this kind of finding means. */
    summary: string;
    fix: string;
}

/** A rule's kinds of finding, by code: its `codes`, or its id and description when it has one kind. */
export function kindsOf(rule: Rule): Array<[code: string, summary: string]> {
    return rule.codes !== undefined ? Object.entries(rule.codes) : [[rule.id, rule.description]];
}

export function catalogue(rules: ReadonlyArray<Rule>): CodeEntry[] {
    return rules.flatMap((rule) => kindsOf(rule).map(([code, summary]) => ({ code, rule: rule.id, name: rule.name, severity: rule.defaultEnforcement, summary, fix: rule.fix })));
}

/** Rule ids are `MT` and three digits; a finding code is `MT`, its rule's last two digits and two more (MT009: MT0901). */
export const RULE_ID = /^MT\d{3}$/;
export const FINDING_CODE = /^MT\d{4}$/;

/**
 * What is wrong with the catalogue: ids or names used twice, a code used by two rules or not of its rule's form.
 * Empty when it holds.
 */
export function catalogueProblems(rules: ReadonlyArray<Rule>): string[] {
    const problems: string[] = [];
    const seen = new Map<string, string>();
    const names = new Set<string>();
    for (const rule of rules) {
        if (!RULE_ID.test(rule.id)) problems.push(`${rule.id}: a rule id is MT and three digits`);
        if (names.has(rule.name)) problems.push(`${rule.id}: name ${rule.name} is used twice`);
        names.add(rule.name);
        for (const [code] of kindsOf(rule)) {
            const owner = seen.get(code);
            if (owner !== undefined) problems.push(`${code}: reported by ${owner} and ${rule.id}`);
            seen.set(code, rule.id);
            if (code !== rule.id && !(code.startsWith(`MT${rule.id.slice(3)}`) && FINDING_CODE.test(code))) {
                problems.push(`${code}: a code of ${rule.id} is MT${rule.id.slice(3)} and two digits`);
            }
        }
        if (rule.codes !== undefined && Object.keys(rule.codes).length < 2) problems.push(`${rule.id}: codes are for a rule with several kinds of finding; with one, its findings carry the rule's id`);
    }
    return problems;
}
