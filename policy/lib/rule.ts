import type { Inventory } from "../semantics/inventory";
import type { Subject } from "../semantics/objects";

export type EnforcementLevel = "advisory" | "mandatory" | "disabled";

/** One violation, pointing at the object to fix. */
export interface Finding {
    subject: Subject;
    message: string;
    /** The code of this kind of finding (one of the rule's `codes`); the rule's id when it has only one kind. */
    code?: string;
}

/** Settings a rule receives from the pack config (`--policy-pack-config`, or the checker's `--config`). */
export interface RuleConfig {
    enforcementLevel: EnforcementLevel;
    /** Set in production configs: turns on the checks that only production needs. */
    production?: boolean;
}

export interface RuleMeta {
    /** Stable code, never reused: `MT001`. */
    id: string;
    /** Stable kebab-case name: the policy name in CrossGuard and the key in pack config files. */
    name: string;
    /** One line: what the rule demands. */
    description: string;
    /** Why the rule exists: what breaks without it. */
    why: string;
    defaultEnforcement: EnforcementLevel;
    /** How to fix a finding: what to change, and where. */
    fix: string;
    /** How the rule decides where its description leaves it open: what it reads, through which semantics. */
    judges?: string;
    /** What the admission guardrails hold of this rule: `no`, `yes: …`, `partly: …` or `by MT-A…`. */
    atAdmission: string;
    /** What holds only at preview and in the checker, and why; absent when admission holds all of it. */
    previewOnly?: string;
    /**
     * Each kind of finding the rule reports, by code (`MT` + the rule's number + two digits): what it means. Codes are
     * stable and never reused; a rule with one kind of finding has none, and its findings carry its id.
     */
    codes?: Record<string, string>;
    /** Extra config the rule reads, as JSON schema properties (lists are lists of strings). */
    configSchema?: Record<string, { type: "boolean"; description: string } | { type: "string"; enum?: string[]; description: string } | { type: "array"; items: { type: "string" }; description: string }>;
}

/**
 * A rule judges all objects at once, through the inventory's indexes (so cross-object checks never scan pairs), and
 * points each finding at the object to fix.
 */
export interface Rule extends RuleMeta {
    check(inventory: Inventory, config: RuleConfig): Finding[];
}
