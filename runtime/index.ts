import { quietSdkDebugLog, sdkDebug } from "./sdkLog";
import { dropUnreadOutputs, responseDecoder } from "./sdkOutputs";
import { debuggablePromise, lightPromiseTraces } from "./sdkTraces";

/** The program's hooks (the policy pack has its own, in policy/adapters/crossguard.ts). */
const HOOKS = [sdkDebug, debuggablePromise, responseDecoder];

/**
 * The program's runtime tuning of the Pulumi SDK, in one place: index.ts calls {@link installSdkHooks} once, before it
 * registers anything (test/runtime.test.ts fails when it does not). Each hook cuts SDK work the program never uses;
 * each one that cannot be installed on this SDK warns once and leaves the SDK as shipped (policy/lib/sdkExport.ts, shared with the pack's hooks).
 * Measured gains and the SDK versions they were checked on: BENCHMARKS.md, "SDK hooks".
 *
 * Node's compile cache (runtime/compileCache.ts) is not a hook: it must be imported before the other modules, so
 * index.ts imports it first.
 */
export function installSdkHooks(env: NodeJS.ProcessEnv = process.env): Record<string, boolean> {
    // The SDK records a stack trace for every resource it registers and every promise it creates; the TypeScript
    // runtime maps each frame of each trace back through source maps, which costs about as much again as registering
    // the resource (BENCHMARKS.md, "The engine at scale"). Traces are formatted by V8 alone from here on: the program's
    // own errors name config keys and objects, not source lines, and a crash still shows its stack.
    (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
    quietSdkDebugLog(env);
    lightPromiseTraces(env);
    dropUnreadOutputs();
    return sdkHookStatus();
}

/** Each of the program's hooks by name, and whether it is installed now. */
export function sdkHookStatus(): Record<string, boolean> {
    return Object.fromEntries(HOOKS.map((h) => [h.hook, h.installed]));
}

/** Puts back what every hook of the program replaced. */
export function restoreSdkHooks(): void {
    for (const h of HOOKS) h.restore();
}
