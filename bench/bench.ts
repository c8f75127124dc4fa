/**
 * `npm run bench [-- --n 10,100,1000] [--source-maps] [--json]`
 *
 * For each N, one process after another: the program (parse, plan, components under the recording mocks, until every
 * registration settled); the whole policy pack and the config-scope model over what it registered; a flat baseline
 * that registers the same resources with no components, plan or validation. Prints the machine, a table, the growth
 * ratios T(10N)/T(N), the overhead against the baseline, and whether the targets are met.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { FlatResult, PolicyResult, ProgramResult } from "./run-one";

const DEFAULT_NS = [10, 100, 500, 1000, 5000];
const TARGET_GROWTH = 12;
const TARGET_OVERHEAD = 1.5;
const CHILD_TIMEOUT_MS = 20 * 60 * 1000;

interface Options {
    ns: number[];
    sourceMaps: boolean;
    json: boolean;
}

function parseArgs(argv: string[]): Options {
    const options: Options = { ns: DEFAULT_NS, sourceMaps: false, json: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--n") options.ns = (argv[++i] ?? "").split(",").map(Number);
        else if (a === "--source-maps") options.sourceMaps = true;
        else if (a === "--json") options.json = true;
        else throw new Error(`unknown argument ${a}; usage: bench.ts [--n 10,100,1000] [--source-maps] [--json]`);
    }
    if (options.ns.length === 0 || options.ns.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("--n takes a comma-separated list of positive integers");
    options.ns = [...new Set(options.ns)].sort((a, b) => a - b);
    return options;
}

/** Small configs run several times (the fastest is kept): a single run of a few milliseconds is mostly noise. */
function repsFor(n: number): number {
    return n <= 100 ? 5 : 1;
}

/**
 * V8 heap settings for every child, program and baseline alike. With the default old-space limit (about 4 GiB) and
 * young generation a 40,000-resource program under mocks spends most of its time collecting garbage near the limit,
 * which measures V8 rather than the program; a Pulumi program of that size needs the same (`NODE_OPTIONS=…`).
 */
const HEAP_FLAGS = ["--max-old-space-size=16384", "--max-semi-space-size=128"];

function runChild<T>(label: string, args: string[], options: Options): T {
    const argv = [...HEAP_FLAGS, "--expose-gc", "-r", "ts-node/register/transpile-only", path.join(__dirname, "run-one.ts"), ...args];
    if (!options.sourceMaps) argv.push("--plain-stacks");
    const child = spawnSync(process.execPath, argv, { cwd: path.resolve(__dirname, ".."), encoding: "utf8", timeout: CHILD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
    if (child.status !== 0) {
        const why = child.error?.message ?? (child.signal !== null ? `killed by ${child.signal}` : `exit status ${child.status}`);
        throw new Error(`${label} did not complete (${why}):\n${child.stderr}`);
    }
    return JSON.parse(child.stdout.trim().split("\n").pop()!) as T;
}

interface Row {
    n: number;
    program: ProgramResult;
    policy: PolicyResult;
    flat: FlatResult;
}

function measure(n: number, options: Options, progress: (s: string) => void): Row {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mesh-tenancy-bench-")), "registrations.json");
    try {
        progress(`N=${n}: program…`);
        const program = runChild<ProgramResult>(`N=${n} program`, ["--mode", "program", "--n", String(n), "--reps", String(repsFor(n)), "--out", file], options);
        progress(" policies…");
        const policy = runChild<PolicyResult>(`N=${n} policies`, ["--mode", "policy", "--in", file], options);
        progress(" flat baseline…");
        const flat = runChild<FlatResult>(`N=${n} flat baseline`, ["--mode", "flat", "--n", String(n), "--reps", String(repsFor(n))], options);
        progress(` ${fmtMs(program.programMs)} / ${fmtMs(flat.flatMs)}\n`);
        return { n, program, policy, flat };
    } finally {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
}

export function machine(): string {
    const cpus = os.cpus();
    const model = cpus[0]?.model.trim() ?? "unknown CPU";
    return `${model}, ${cpus.length} CPU${cpus.length === 1 ? "" : "s"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}`;
}

const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`);
const fmtRatio = (r: number) => r.toFixed(2);
const fmtMb = (mb: number) => `${Math.round(mb)} MB`;

function table(rows: Row[]): string[] {
    const header = [
        "N",
        "usergroups",
        "resources (flat)",
        "program wall",
        "program CPU",
        "parse+plan",
        "GC pauses",
        "flat wall",
        "flat CPU",
        "overhead CPU (wall)",
        "policies wall",
        "policies CPU",
        "scope model",
        "peak RSS program / policies / flat",
    ];
    const lines = [header, header.map(() => "---")];
    for (const { n, program: p, policy: q, flat: f } of rows) {
        lines.push([
            String(n),
            String(p.usergroups),
            `${p.resources} (${f.resources})`,
            fmtMs(p.programMs),
            fmtMs(p.programCpuMs),
            fmtMs(p.planMs),
            `${Math.round((100 * p.programGcMs) / p.programMs)}%`,
            fmtMs(f.flatMs),
            fmtMs(f.flatCpuMs),
            `${fmtRatio(p.programCpuMs / f.flatCpuMs)} (${fmtRatio(p.programMs / f.flatMs)})`,
            fmtMs(q.policyMs),
            fmtMs(q.policyCpuMs),
            fmtMs(q.modelMs),
            `${fmtMb(p.maxRssMb)} / ${fmtMb(q.maxRssMb)} / ${fmtMb(f.maxRssMb)}`,
        ]);
    }
    return lines.map((l) => `| ${l.join(" | ")} |`);
}

interface Growth {
    from: number;
    to: number;
    program: number;
    flat: number;
    /** Main-thread time outside GC pauses (wall less pauses). */
    programOutsideGc: number;
    plan: number;
    policies: number;
    policiesWall: number;
    model: number;
    programWall: number;
    flatWall: number;
}

function growth(rows: Row[]): Growth[] {
    const byN = new Map(rows.map((r) => [r.n, r]));
    const out: Growth[] = [];
    for (const small of rows) {
        const big = byN.get(small.n * 10);
        if (big === undefined) continue;
        const r = (f: (row: Row) => number) => f(big) / f(small);
        out.push({
            from: small.n,
            to: big.n,
            program: r((x) => x.program.programCpuMs),
            flat: r((x) => x.flat.flatCpuMs),
            programOutsideGc: r((x) => x.program.programMs - x.program.programGcMs),
            plan: r((x) => x.program.planMs),
            policies: r((x) => x.policy.policyCpuMs),
            policiesWall: r((x) => x.policy.policyMs),
            model: r((x) => x.policy.modelMs),
            programWall: r((x) => x.program.programMs),
            flatWall: r((x) => x.flat.flatMs),
        });
    }
    return out;
}

function main(): number {
    const options = parseArgs(process.argv.slice(2));
    const progress = (s: string) => {
        if (!options.json) process.stderr.write(s);
    };
    const started = Date.now();
    const loadBefore = os.loadavg()[0];
    const rows: Row[] = [];
    const failures: string[] = [];
    for (const n of options.ns) {
        try {
            rows.push(measure(n, options, progress));
        } catch (err) {
            failures.push((err as Error).message);
            progress(" FAILED\n");
        }
    }
    const ratios = growth(rows);
    const overheads = rows.map((r) => r.program.programCpuMs / r.flat.flatCpuMs);
    const pairs = (f: (g: Growth) => number) => ratios.map((g) => `${g.from}->${g.to}: ${fmtRatio(f(g))}`).join(", ") || "no 10x pair";
    const targets = [
        { name: "every N completes", met: failures.length === 0, detail: failures.length === 0 ? `${rows.length} of ${options.ns.length}` : failures.join("\n") },
        { name: `program T(10N)/T(N) <= ${TARGET_GROWTH} (CPU time)`, met: ratios.every((g) => g.program <= TARGET_GROWTH), detail: `${pairs((g) => g.program)}; wall ${pairs((g) => g.programWall)}` },
        { name: `policies T(10N)/T(N) <= ${TARGET_GROWTH} (CPU time)`, met: ratios.every((g) => g.policies <= TARGET_GROWTH), detail: `${pairs((g) => g.policies)}; wall ${pairs((g) => g.policiesWall)}` },
        { name: `overhead against the flat baseline <= ${TARGET_OVERHEAD} (CPU time)`, met: overheads.every((o) => o <= TARGET_OVERHEAD), detail: rows.map((r, i) => `N=${r.n}: ${fmtRatio(overheads[i])}`).join(", ") },
    ];
    const minutes = (Date.now() - started) / 60000;
    const loadAfter = os.loadavg()[0];
    const setting = options.sourceMaps
        ? "stack traces mapped by ts-node's source-map-support, as `pulumi up` runs a TypeScript program"
        : "stack traces formatted by V8 (--plain-stacks; --source-maps maps them as ts-node does)";
    if (options.json) {
        process.stdout.write(JSON.stringify({ machine: machine(), loadAverage: [loadBefore, loadAfter], setting, rows, growth: ratios, targets, minutes }, null, 2) + "\n");
    } else {
        const out: string[] = [];
        out.push(`Machine: ${machine()}; load average ${loadBefore.toFixed(2)} at start, ${loadAfter.toFixed(2)} at end.`);
        out.push(`Setting: ${setting}. Each figure from a fresh process; program and flat after a warm-up on 10 tenants, best of 5 runs for N <= 100; policies and scope model the fastest of repeated runs (at least 3, until a second is spent).`);
        out.push("CPU time: user + system of the whole process, GC threads included. Wall time also counts waiting for a CPU when the machine is shared.");
        out.push("");
        out.push(...table(rows));
        out.push("");
        out.push("Growth T(10N)/T(N), CPU time unless marked (linear = 10; \"vs flat\" divides by the baseline's growth, 1 = no growth of its own):");
        out.push("| N -> 10N | program | flat baseline | program vs flat | program outside GC pauses (wall) | parse+plan (wall) | policies | scope model (wall) | program wall | flat wall |");
        out.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (const g of ratios) {
            out.push(`| ${g.from} -> ${g.to} | ${[g.program, g.flat, g.program / g.flat, g.programOutsideGc, g.plan, g.policies, g.model, g.programWall, g.flatWall].map(fmtRatio).join(" | ")} |`);
        }
        out.push("");
        out.push("Targets:");
        for (const t of targets) out.push(`  ${t.met ? "met   " : "MISSED"} ${t.name}: ${t.detail}`);
        out.push(`Total ${minutes.toFixed(1)} min.`);
        process.stdout.write(out.join("\n") + "\n");
    }
    return failures.length === 0 ? 0 : 1;
}

process.exitCode = main();
