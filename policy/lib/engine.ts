import { Inventory } from "../semantics/inventory";
import type { Subject } from "../semantics/objects";
import type { EnforcementLevel, Rule, RuleConfig } from "./rule";

/** Per-rule settings as written in a pack config file: a level, or an object with a level and rule options. */
export type PackConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

export interface Violation {
    rule: Rule;
    level: Exclude<EnforcementLevel, "disabled">;
    subject: Subject;
    message: string;
    /** The kind of finding: a code of the rule's, or its id. */
    code: string;
}

const LEVELS = new Set<EnforcementLevel>(["advisory", "mandatory", "disabled"]);

/**
 * Resolves each rule's effective settings from a pack config, as `pulumi preview --policy-pack-config` does: the
 * `all` key sets every rule's level, a rule's own key overrides it. Unknown keys and levels are errors, so a typo
 * cannot silently leave a rule on its default.
 */
export function resolveConfig(rules: ReadonlyArray<Rule>, config: PackConfig = {}): Map<Rule, RuleConfig> {
    const byName = new Map(rules.map((r) => [r.name, r]));
    const problems: string[] = [];
    const levelOf = (key: string, value: unknown): EnforcementLevel | undefined => {
        if (value === undefined) return undefined;
        if (typeof value !== "string" || !LEVELS.has(value as EnforcementLevel)) {
            problems.push(`${key}: enforcement level must be advisory, mandatory or disabled, got ${JSON.stringify(value)}`);
            return undefined;
        }
        return value as EnforcementLevel;
    };
    for (const key of Object.keys(config)) {
        if (key !== "all" && !byName.has(key)) problems.push(`${key}: no such rule (rules: ${[...byName.keys()].join(", ")})`);
    }
    const all = levelOf("all", typeof config.all === "object" ? config.all?.enforcementLevel : config.all);
    const resolved = new Map<Rule, RuleConfig>();
    for (const rule of rules) {
        const entry = config[rule.name];
        const options = typeof entry === "object" && entry !== null ? entry : {};
        const own = levelOf(rule.name, typeof entry === "string" ? entry : options.enforcementLevel);
        const settings: RuleConfig = { ...options, enforcementLevel: own ?? all ?? rule.defaultEnforcement };
        for (const [key, value] of Object.entries(options)) {
            if (key === "enforcementLevel") continue;
            const schema = key === "suppress" ? { type: "string" } : rule.configSchema?.[key];
            if (schema === undefined) problems.push(`${rule.name}.${key}: not an option of this rule`);
            else if (schema.type === "array" ? !(Array.isArray(value) && value.every((v) => typeof v === "string")) : typeof value !== schema.type) {
                problems.push(`${rule.name}.${key}: must be a ${schema.type === "array" ? "list of strings" : schema.type}, got ${JSON.stringify(value)}`);
            } else if ("enum" in schema && schema.enum !== undefined && !schema.enum.includes(value as string)) {
                problems.push(`${rule.name}.${key}: must be one of ${schema.enum.join(", ")}, got ${JSON.stringify(value)}`);
            }
        }
        resolved.set(rule, settings);
    }
    if (problems.length > 0) throw new Error(`invalid policy config:\n  ${problems.join("\n  ")}`);
    return resolved;
}

/** Codes a rule's config suppresses: `suppress: "MT1502,MT1601"`. */
export function suppressedCodes(config: RuleConfig): Set<string> {
    const list = (config as unknown as Record<string, unknown>).suppress;
    return new Set(typeof list === "string" ? list.split(",").map((c) => c.trim()).filter((c) => c !== "") : []);
}

/** Runs every enabled rule over the subjects once, sharing one inventory. */
export function evaluate(rules: ReadonlyArray<Rule>, subjects: ReadonlyArray<Subject>, config: PackConfig = {}): Violation[] {
    const settings = resolveConfig(rules, config);
    const inventory = new Inventory(subjects);
    const violations: Violation[] = [];
    for (const rule of rules) {
        const ruleConfig = settings.get(rule)!;
        if (ruleConfig.enforcementLevel === "disabled") continue;
        for (const f of rule.check(inventory, ruleConfig)) {
            const code = f.code ?? rule.id;
            if (suppressedCodes(ruleConfig).has(code)) continue;
            violations.push({ rule, level: ruleConfig.enforcementLevel, subject: f.subject, message: f.message, code });
        }
    }
    return violations;
}
