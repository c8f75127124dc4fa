/**
 * Node.js keeps the compiled code of the modules it loads on disk from here on (`module.enableCompileCache`, in the
 * directory NODE_COMPILE_CACHE names, else under the system's temporary directory), so the next preview or update
 * does not parse and compile the Pulumi SDK, the Kubernetes SDK and the program again: about three quarters of a
 * second of every run's start (BENCHMARKS.md, "Cutting the per-resource cost"). Imported first by index.ts, before
 * the modules it should cover; the modules the SDK's runner loaded before the program are covered only when
 * NODE_COMPILE_CACHE is set when Node.js starts (scripts/pulumi-run.sh sets it), and then this call changes nothing.
 * Node checks each cached entry against the module's source, so a changed file is compiled afresh; a cache that
 * cannot be written changes nothing but speed.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeModule: { enableCompileCache?: () => unknown } = require("module");
nodeModule.enableCompileCache?.();
