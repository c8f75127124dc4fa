import { SdkExport } from "../policy/lib/sdkExport";

/**
 * The Pulumi SDK wraps the promises it creates (several per resource: one per property it sends or receives) for the
 * leak report it prints when a program exits with work pending, and records on each the stack it was created on, as
 * `new Error().stack`: formatted at once, ten frames each. It prints those stacks only when PULUMI_DEBUG_PROMISE_LEAKS
 * is set; otherwise the report names the pending resources and nothing reads them. Formatting them was about a tenth
 * of the program's CPU on a no-op `up` (BENCHMARKS.md, "Cutting the per-resource cost"). From here on the SDK records
 * them without frames, unless PULUMI_DEBUG_PROMISE_LEAKS is set. The program's own errors keep their stacks, and so do
 * the resources' source positions, which the SDK captures separately with its own frame limit.
 *
 * Returns whether the traces are now light: false when leak debugging is on, or when the SDK no longer exposes a
 * replaceable `debuggablePromise` (an SDK upgrade; then nothing changes but speed).
 */
export function lightPromiseTraces(env: NodeJS.ProcessEnv = process.env): boolean {
    restorePromiseTraces();
    if (env.PULUMI_DEBUG_PROMISE_LEAKS) return false;
    return debuggablePromise.replace((original) => (p, ctx) => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return original(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
    });
}

/** Undoes {@link lightPromiseTraces}. */
export function restorePromiseTraces(): void {
    debuggablePromise.restore();
}

export const debuggablePromise = new SdkExport<(p: unknown, ctx: unknown) => unknown>("light-promise-traces", "@pulumi/pulumi/runtime/debuggable", "debuggablePromise", { from: __filename });
