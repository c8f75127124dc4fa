import { createRequire } from "module";

/**
 * One function exported by a module of the Pulumi SDK (or a library it runs on), replaced in place and put back on
 * request. The SDK's runtime calls its own exports through the module object, so replacing the export reaches every
 * caller. Every hook into the SDKs is one of these: the program's (runtime/: sdkLog.ts, sdkTraces.ts, sdkOutputs.ts)
 * and the policy pack's (policy/adapters/crossguard.ts).
 *
 * Each hook reaches an SDK module by a deep path that no SDK release promises to keep (`@pulumi/pulumi/log`,
 * `…/runtime/debuggable`, `…/proto/resource_pb`). The module is required only when the hook is installed, inside a
 * guard: when it is gone, moved behind an `exports` map, or no longer has a writable export of that name, the hook is
 * not installed, one warning names it and why, and the program runs with the SDK as shipped (slower, never broken).
 */
export class SdkExport<F> {
    private original: F | undefined;
    private module: Record<string, unknown> | undefined;
    /** Why the last `replace` left the SDK unhooked, if it did. */
    private refusal: string | undefined;

    private readonly target: (module: any) => Record<string, unknown>;
    private readonly from: string | (() => string);

    /**
     * `hook` names the hook in warnings; `modulePath` is the module to require, resolved from the file `from` (the
     * program and the pack each have their own copy of the SDK: each hook names its own file), and `name` the export.
     * `from` may be a function, called when the hook is installed, inside the guard. Options: `target` picks the object
     * holding the export (the module itself by default; a generated message class, a prototype).
     */
    constructor(
        readonly hook: string,
        private readonly modulePath: string,
        private readonly name: string,
        options: { from: string | (() => string); target?: (module: any) => Record<string, unknown> },
    ) {
        this.target = options.target ?? ((m) => m);
        this.from = options.from;
    }

    /** Whether the export is replaced now. */
    get installed(): boolean {
        return this.original !== undefined;
    }

    /** Why the hook is not installed after the last `replace`, when it was refused. */
    get whyNot(): string | undefined {
        return this.refusal;
    }

    /**
     * Replaces the export with `make(original)`. Returns false, changing nothing and warning once, when the module
     * cannot be loaded or has no writable export of that name, or when `check` (run on the loaded module) says why the
     * hook would be wrong for this SDK.
     */
    replace(make: (original: F) => F, check?: (module: any) => string | undefined): boolean {
        this.restore();
        this.refusal = undefined;
        let holder: Record<string, unknown> | undefined;
        try {
            const loaded = createRequire(typeof this.from === "string" ? this.from : this.from())(this.modulePath);
            holder = this.target(loaded);
            const why = check?.(loaded);
            if (why !== undefined) return this.refuse(why);
        } catch (err) {
            return this.refuse(`${this.modulePath} cannot be loaded: ${(err as Error).message.split("\n")[0]}`);
        }
        if (holder === undefined || Object.getOwnPropertyDescriptor(holder, this.name)?.writable !== true) {
            return this.refuse(`${this.modulePath} has no writable export ${this.name}`);
        }
        this.module = holder;
        const original = holder[this.name] as F;
        this.original = original;
        holder[this.name] = make(original);
        return true;
    }

    /** The original export, while the hook is installed (a hook that removes itself calls it through this). */
    get replaced(): F | undefined {
        return this.original;
    }

    /** Puts the original back, if it was replaced. */
    restore(): void {
        if (this.original !== undefined && this.module !== undefined) this.module[this.name] = this.original;
        this.original = undefined;
    }

    private refuse(why: string): false {
        this.refusal = why;
        if (!warned.has(this.hook)) {
            warned.add(this.hook);
            warn(`mesh-tenancy: the SDK hook "${this.hook}" is not installed (${why}); running with the Pulumi SDK as shipped, slower for large stacks`);
        }
        return false;
    }
}

const warned = new Set<string>();
let warn: (message: string) => void = (message) => process.stderr.write(`${message}\n`);

/** For tests: where refusals are reported, and forgetting which were reported. */
export function setHookWarning(to: (message: string) => void): void {
    warn = to;
    warned.clear();
}
