/** One problem found in the stack config, located by its key path. */
export interface ConfigIssue {
    /** Key path in the stack config, e.g. `usergroups[1].tenants[0].name`. */
    path: string;
    message: string;
}

/** Renders a key path the way users write it: `usergroups[1].tenants[0].name`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
    let out = "";
    for (const part of path) {
        if (typeof part === "number") {
            out += `[${part}]`;
        } else {
            const key = String(part);
            const plain = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key);
            out += plain ? (out ? `.${key}` : key) : `[${JSON.stringify(key)}]`;
        }
    }
    return out;
}

/** Thrown before any resource is registered; carries every problem at once. */
export class ConfigError extends Error {
    readonly issues: ReadonlyArray<ConfigIssue>;

    constructor(issues: ReadonlyArray<ConfigIssue>) {
        const lines = issues.map((i) => `  ${i.path || "(config)"}: ${i.message}`);
        super(`invalid mesh-tenancy stack config (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n${lines.join("\n")}`);
        this.name = "ConfigError";
        this.issues = issues;
    }
}
