import { SdkExport } from "../policy/lib/sdkExport";

/**
 * The Pulumi SDK sends the engine three or more debug messages for every resource it registers ("Registering
 * resource", "RPC prepared", "RPC finished"), one gRPC call each, in series. The engine turns each into an event that
 * the CLI drops unless it runs with `--debug` (and writes to its own log file under ~/.pulumi/logs). At a few thousand
 * resources that is about a fifth of the program's CPU and a tenth of the CLI's (BENCHMARKS.md, "The engine at
 * scale"). The program sends none of them unless MESH_TENANCY_SDK_DEBUG=1; info, warnings and errors are unchanged.
 *
 * Returns whether the messages are now held back: false when asked to keep them, or when the SDK no longer exposes a
 * replaceable `debug` (an SDK upgrade; then nothing changes but speed).
 */
export function quietSdkDebugLog(env: NodeJS.ProcessEnv = process.env): boolean {
    restoreSdkDebugLog();
    if (env.MESH_TENANCY_SDK_DEBUG === "1") return false;
    return sdkDebug.replace(() => () => Promise.resolve());
}

/** Undoes {@link quietSdkDebugLog}. */
export function restoreSdkDebugLog(): void {
    sdkDebug.restore();
}

export const sdkDebug = new SdkExport<(...args: unknown[]) => Promise<void>>("quiet-debug-log", "@pulumi/pulumi/log", "debug", { from: __filename });
