/**
 * One function exported by a module of the Pulumi SDK, replaced in place and put back on request. The SDK's runtime
 * calls its own exports through the module object, so replacing the export reaches every caller. Every hook the
 * program installs into the SDK (runtime/sdkLog.ts, sdkTraces.ts, sdkOutputs.ts) is one of these.
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

    /**
     * `hook` names the hook in warnings; `modulePath` is the SDK module to require; `target` picks the object holding
     * the export (the module itself by default, e.g. a generated message class) and `name` the export.
     */
    constructor(
        readonly hook: string,
        private readonly modulePath: string,
        private readonly name: string,
        private readonly target: (module: any) => Record<string, unknown> = (m) => m,
        /** Listed in {@link sdkHookStatus}: the program's hooks are; a test's stand-ins are not. */
        register = true,
    ) {
        if (register) HOOKS.push(this);
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
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const loaded = require(this.modulePath);
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

/** Every hook the program defines, in the order their modules were loaded. */
const HOOKS: SdkExport<unknown>[] = [];
const warned = new Set<string>();
let warn: (message: string) => void = (message) => process.stderr.write(`${message}\n`);

/** Puts every hook's original back. */
export function restoreSdkHooks(): void {
    for (const h of HOOKS) h.restore();
}

/** Each hook by name, and whether it is installed now. */
export function sdkHookStatus(): Record<string, boolean> {
    return Object.fromEntries(HOOKS.map((h) => [h.hook, h.installed]));
}

/** For tests: where refusals are reported, and forgetting which were reported. */
export function setHookWarning(to: (message: string) => void): void {
    warn = to;
    warned.clear();
}
