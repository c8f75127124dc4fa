/**
 * One benchmark measurement in a fresh process, so that its time and peak RSS are its own:
 *
 *   run-one.ts --mode program --n N --out FILE [--reps R] [--plain-stacks]
 *     parse and plan the generated config of N tenants and build the components under the recording mocks until every
 *     registration has settled; write the registrations to FILE, as CrossGuard would hand them to the pack.
 *   run-one.ts --mode policy --in FILE
 *     convert those registrations with the CrossGuard adapter and run the whole policy pack over them, then the
 *     config-scope model over the same objects. CrossGuard runs a pack in a process of its own, so does this.
 *   run-one.ts --mode flat --n N [--reps R] [--plain-stacks]
 *     register the same resources directly: no components, no plan, no validation (see flat.ts).
 *
 * Prints one JSON line. Program and flat runs follow a warm-up on 10 tenants; with --reps R the fastest of R runs is
 * kept (on a shared machine the fastest run is the least disturbed one). Policy and model runs are the fastest of 3.
 */
import * as fs from "fs";
import * as path from "path";
import { PerformanceObserver } from "perf_hooks";
import { MeshTenancy } from "../components";
import { configFromStack } from "../model/stack";
import { planTenancy } from "../plan";
import { ResourceLike, subjectFromResource } from "../policy/adapters/crossguard";
import { evaluate, PackConfig } from "../policy/lib/engine";
import type { Subject } from "../policy/semantics/objects";
import { RULES } from "../policy/rules";
import { visibilityModel } from "../report/visibility";
import { RecordingMocks, settle } from "../test/harness/mocks";
import { flatProgram, flatResources } from "./flat";
import { benchConfig, stackValues } from "./generate";

const ROOT = path.resolve(__dirname, "..");

/**
 * Pulumi captures a stack trace for every resource and every internal promise. ts-node's source-map-support maps each
 * frame back to TypeScript, which doubles the cost of a registration under mocks; with `--plain-stacks` V8 formats
 * them itself. Both programs of a comparison are run the same way.
 */
if (process.argv.includes("--plain-stacks")) (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;

export interface ProgramResult {
    mode: "program";
    n: number;
    usergroups: number;
    tenantNamespaces: number;
    resources: number;
    /** Parse, validate and plan: the program's own work before any resource exists. */
    planMs: number;
    /** planMs plus building the components until every registration settled. */
    programMs: number;
    /** CPU time (user + system, every thread of the process) of the same span. */
    programCpuMs: number;
    /** Main-thread GC pauses within the same span. */
    programGcMs: number;
    maxRssMb: number;
}

export interface PolicyResult {
    mode: "policy";
    resources: number;
    /** Converting the registrations and evaluating every rule. */
    policyMs: number;
    policyCpuMs: number;
    findings: { mandatory: number; advisory: number };
    /** The config-scope model over the same objects. */
    modelMs: number;
    maxRssMb: number;
}

export interface FlatResult {
    mode: "flat";
    n: number;
    resources: number;
    flatMs: number;
    flatCpuMs: number;
    flatGcMs: number;
    maxRssMb: number;
}

/** Garbage-collection pauses of the main thread so far, in milliseconds (delivered asynchronously: see gcPauses). */
let gcPauseMs = 0;
new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcPauseMs += e.duration;
}).observe({ entryTypes: ["gc"] });

/** GC pauses so far, once the observer has been handed the entries of the work just finished. */
async function gcPauses(): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return gcPauseMs;
}

/** CPU time of the whole process so far, in milliseconds. */
function cpuMs(): number {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
}

function gc(): void {
    (globalThis as { gc?: () => void }).gc?.();
}

function fastest<T>(runs: T[], key: (r: T) => number): T {
    return runs.reduce((best, r) => (key(r) < key(best) ? r : best));
}

async function runProgram(n: number) {
    const values = stackValues(benchConfig(n));
    gc();
    const g0 = await gcPauses();
    const c0 = cpuMs();
    const t0 = performance.now();
    const plan = planTenancy(configFromStack(values, "mesh-tenancy"));
    const t1 = performance.now();
    const mocks = new RecordingMocks();
    mocks.install();
    new MeshTenancy("mesh", { plan });
    await settle();
    const t2 = performance.now();
    const c2 = cpuMs();
    const resources: ResourceLike[] = mocks.registrations.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, opts: { protect: r.protect } }));
    return {
        resources,
        usergroups: plan.controlPlanes.length,
        tenantNamespaces: plan.namespaces.length,
        planMs: t1 - t0,
        programMs: t2 - t0,
        programCpuMs: c2 - c0,
        programGcMs: (await gcPauses()) - g0,
    };
}

async function runFlat(n: number) {
    const resources = flatResources(planTenancy(configFromStack(stackValues(benchConfig(n)), "mesh-tenancy")));
    gc();
    const g0 = await gcPauses();
    const c0 = cpuMs();
    const t0 = performance.now();
    const mocks = new RecordingMocks();
    mocks.install();
    flatProgram(resources);
    await settle();
    const t1 = performance.now();
    const c1 = cpuMs();
    return { resources: mocks.registrations.length, flatMs: t1 - t0, flatCpuMs: c1 - c0, flatGcMs: (await gcPauses()) - g0 };
}

function packConfig(): PackConfig {
    return JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "config", "prod.json"), "utf8"));
}

/** A full GC, then a pause so that its background sweeping is not counted in the CPU time that follows. */
async function quiesce(): Promise<void> {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
}

async function runPolicy(resources: ReadonlyArray<ResourceLike>, config: PackConfig) {
    await quiesce();
    const c0 = cpuMs();
    const t0 = performance.now();
    const subjects = resources.map(subjectFromResource).filter((s): s is Subject => s !== undefined);
    const violations = evaluate(RULES, subjects, config);
    const t1 = performance.now();
    const policyCpuMs = cpuMs() - c0;
    await quiesce();
    const t2 = performance.now();
    const model = visibilityModel(subjects);
    const t3 = performance.now();
    return { violations, model, policyMs: t1 - t0, policyCpuMs, modelMs: t3 - t2 };
}

function arg(name: string): string | undefined {
    const i = process.argv.indexOf(name);
    return i < 0 ? undefined : process.argv[i + 1];
}

const USAGE = "usage: run-one.ts --mode program --n N --out FILE | --mode policy --in FILE | --mode flat --n N  [--reps R] [--plain-stacks]";

async function main(): Promise<void> {
    const mode = arg("--mode");
    const n = Number(arg("--n") ?? "0");
    const reps = Number(arg("--reps") ?? "1");
    let result: ProgramResult | PolicyResult | FlatResult;
    if (mode === "program") {
        const out = arg("--out");
        if (!Number.isInteger(n) || n < 1 || out === undefined) throw new Error(USAGE);
        await runProgram(10);
        const runs: Awaited<ReturnType<typeof runProgram>>[] = [];
        for (let i = 0; i < reps; i++) runs.push(await runProgram(n));
        const best = fastest(runs, (r) => r.programCpuMs);
        fs.writeFileSync(out, JSON.stringify(best.resources));
        const { resources, ...figures } = best;
        result = { mode, n, ...figures, resources: resources.length, maxRssMb: 0 };
    } else if (mode === "policy") {
        const input = arg("--in");
        if (input === undefined) throw new Error(USAGE);
        const resources = JSON.parse(fs.readFileSync(input, "utf8")) as ResourceLike[];
        const config = packConfig();
        const runs: Awaited<ReturnType<typeof runPolicy>>[] = [];
        // Small stacks take milliseconds, where one run is mostly JIT and timer noise: repeat until a second has been
        // spent (at least 3 runs, at most 50) and keep the fastest.
        const started = performance.now();
        while (runs.length < 3 || (runs.length < 50 && performance.now() - started < 1000)) runs.push(await runPolicy(resources, config));
        const { violations, model } = runs[0];
        const mandatory = violations.filter((v) => v.level === "mandatory");
        if (mandatory.length > 0) {
            throw new Error(`the generated stack must pass the policy pack; first findings:\n${mandatory.slice(0, 5).map((v) => `${v.rule.id} ${v.subject.object.kind} ${v.subject.object.metadata.name}: ${v.message}`).join("\n")}`);
        }
        const excess = model.scopes.reduce((sum, s) => sum + s.excess.length, 0);
        if (excess > 0) throw new Error(`config-scope model: ${excess} imports beyond the minimum in a generated stack`);
        result = {
            mode,
            resources: resources.length,
            policyMs: fastest(runs, (r) => r.policyMs).policyMs,
            policyCpuMs: fastest(runs, (r) => r.policyCpuMs).policyCpuMs,
            findings: { mandatory: 0, advisory: violations.length },
            modelMs: fastest(runs, (r) => r.modelMs).modelMs,
            maxRssMb: 0,
        };
    } else if (mode === "flat") {
        if (!Number.isInteger(n) || n < 1) throw new Error(USAGE);
        await runFlat(10);
        const runs: Awaited<ReturnType<typeof runFlat>>[] = [];
        for (let i = 0; i < reps; i++) runs.push(await runFlat(n));
        result = { mode, n, ...fastest(runs, (r) => r.flatCpuMs), maxRssMb: 0 };
    } else {
        throw new Error(USAGE);
    }
    result.maxRssMb = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
});
