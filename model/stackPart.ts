/** What a stack deploys of its environment (config `stackPart`). */
export type StackPart = { kind: "all" } | { kind: "platform" } | { kind: "usergroup"; usergroup: string };

const USERGROUP_PART = "usergroup:";

/** `stackPart` as written → what it names; undefined when it names nothing (checkConsistency reports it). */
export function parseStackPart(value: string): StackPart | undefined {
    if (value === "all" || value === "platform") return { kind: value };
    if (value.startsWith(USERGROUP_PART) && value.length > USERGROUP_PART.length) return { kind: "usergroup", usergroup: value.slice(USERGROUP_PART.length) };
    return undefined;
}

export function formatStackPart(part: StackPart): string {
    return part.kind === "usergroup" ? `${USERGROUP_PART}${part.usergroup}` : part.kind;
}
