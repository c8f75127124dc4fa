/**
 * The manifest checker over large inputs: `npm run bench:checker -- [--objects 25000,250000] [--dir DIR] [--json]`.
 *
 * For each size, writes one multi-document YAML file of exactly that many objects (bench/manifests.ts), then runs in
 * fresh processes, one after another:
 *
 * - `cli`: the checker as `npm run check -- FILE` runs it (`main()` of policy/cli/check.ts, text output), timed from
 *   the call to its return (wall and CPU), with the process's peak RSS (`process.resourceUsage().maxRSS`, the
 *   kernel's high-water mark, ts-node and the compiled sources included) and its output checked: exit 0, the
 *   summary line naming every object;
 * - `phases`: the same work split: reading (streaming parse, namespace defaulting) and evaluating the rules, with the
 *   heap in use once every object is read, which is what the objects themselves take.
 *
 * The ratio of the largest size's time to the smallest's is printed beside the ratio of sizes. `--read-only` runs only
 * the reading (a `read` run: the `phases` run without the rules).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeCheckerInput } from "./manifests";

const ROOT = path.resolve(__dirname, "..");

interface CliResult {
    mode: "cli";
    status: number;
    summary: string;
    wallMs: number;
    cpuMs: number;
    /** Since the process started: node, ts-node and the compiled sources, then the check. */
    processMs: number;
    maxRssMb: number;
}

interface PhasesResult {
    mode: "phases";
    objects: number;
    readMs: number;
    readCpuMs: number;
    evaluateMs: number;
    evaluateCpuMs: number;
    findings: number;
    /** Heap in use with every object read and nothing else left to collect. */
    heapWithObjectsMb: number;
    maxRssMb: number;
}

const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
};
const rssMb = () => process.resourceUsage().maxRSS / 1024;

function child(mode: string, file: string): void {
    if (mode === "cli") {
        // Required here, not at the top, so that the parent process does not load the pack.
        const { main } = require("../policy/cli/check") as typeof import("../policy/cli/check");
        const lines: string[] = [];
        const t0 = performance.now();
        const c0 = cpuMs();
        const status = main([file], (l) => lines.push(l), (l) => lines.push(l));
        const result: CliResult = {
            mode: "cli",
            status,
            summary: lines.at(-1) ?? "",
            wallMs: performance.now() - t0,
            cpuMs: cpuMs() - c0,
            processMs: performance.now(),
            maxRssMb: rssMb(),
        };
        console.log(JSON.stringify(result));
        return;
    }
    const { readManifests } = require("../policy/adapters/manifests") as typeof import("../policy/adapters/manifests");
    const { evaluate } = require("../policy/lib/engine") as typeof import("../policy/lib/engine");
    const { RULES } = require("../policy/rules") as typeof import("../policy/rules");
    const t0 = performance.now();
    const c0 = cpuMs();
    const { subjects } = readManifests([file]);
    const t1 = performance.now();
    const c1 = cpuMs();
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) throw new Error("phases mode needs --expose-gc");
    gc();
    const heapWithObjectsMb = process.memoryUsage().heapUsed / 1024 / 1024;
    const t2 = performance.now();
    const c2 = cpuMs();
    const violations = mode === "read" ? [] : evaluate(RULES, subjects, {});
    const result: PhasesResult = {
        mode: "phases",
        objects: subjects.length,
        readMs: t1 - t0,
        readCpuMs: c1 - c0,
        evaluateMs: performance.now() - t2,
        evaluateCpuMs: cpuMs() - c2,
        findings: violations.length,
        heapWithObjectsMb,
        maxRssMb: rssMb(),
    };
    console.log(JSON.stringify(result));
}

function run<T>(mode: string, file: string): T {
    const argv = ["--expose-gc", "-r", "ts-node/register/transpile-only", __filename, "--child", mode, file];
    const res = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: "utf8", timeout: 30 * 60_000, maxBuffer: 64 * 1024 * 1024 });
    if (res.status !== 0) throw new Error(`${mode} run failed (${res.status ?? res.signal}):\n${res.stderr}${res.stdout}`);
    return JSON.parse(res.stdout.trim().split("\n").at(-1)!) as T;
}

const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

function parent(argv: string[]): void {
    const arg = (name: string) => {
        const i = argv.indexOf(name);
        return i < 0 ? undefined : argv[i + 1];
    };
    const sizes = (arg("--objects") ?? "25000,250000").split(",").map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error("--objects takes positive integers, comma-separated");
    const dir = arg("--dir") ?? fs.mkdtempSync(path.join(os.tmpdir(), "mesh-tenancy-bench-checker-"));
    const keep = arg("--dir") !== undefined;
    const json = argv.includes("--json");
    /** Only the reader (streaming parse, namespace defaulting): `read` runs, no rules. */
    const readOnly = argv.includes("--read-only");
    const rows: Record<string, unknown>[] = [];
    const load0 = os.loadavg()[0];
    try {
        for (const n of sizes) {
            const file = path.join(dir, `objects-${n}.yaml`);
            const g0 = performance.now();
            const kinds = writeCheckerInput(file, n);
            const generateMs = performance.now() - g0;
            const bytes = fs.statSync(file).size;
            if (readOnly) {
                const phases = run<PhasesResult>("read", file);
                if (phases.objects !== n) throw new Error(`read ${phases.objects} of ${n} objects`);
                rows.push({ objects: n, bytes, kinds: Object.fromEntries(kinds), generateMs, phases });
                if (!json) {
                    console.log(
                        `${n} objects (${(bytes / 1024 / 1024).toFixed(1)} MiB): read ${fmtMs(phases.readMs)} (${fmtMs(phases.readCpuMs)} CPU), ` +
                            `heap with the objects ${Math.round(phases.heapWithObjectsMb)} MB, peak RSS ${Math.round(phases.maxRssMb)} MB`,
                    );
                }
                continue;
            }
            const cli = run<CliResult>("cli", file);
            const expected = new RegExp(`^0 mandatory, 0 advisory findings in ${n} objects from 1 file$`);
            if (cli.status !== 0 || !expected.test(cli.summary)) throw new Error(`checker over ${n} objects: exit ${cli.status}, ${cli.summary}`);
            const phases = run<PhasesResult>("phases", file);
            const row = { objects: n, bytes, kinds: Object.fromEntries(kinds), generateMs, cli, phases };
            rows.push(row);
            if (!json) {
                console.log(
                    `${n} objects (${(bytes / 1024 / 1024).toFixed(1)} MiB): check ${fmtMs(cli.wallMs)} wall, ${fmtMs(cli.cpuMs)} CPU ` +
                        `(process ${fmtMs(cli.processMs)}), peak RSS ${Math.round(cli.maxRssMb)} MB; read ${fmtMs(phases.readMs)} ` +
                        `(${fmtMs(phases.readCpuMs)} CPU), rules ${fmtMs(phases.evaluateMs)} (${fmtMs(phases.evaluateCpuMs)} CPU), ` +
                        `heap with the objects ${Math.round(phases.heapWithObjectsMb)} MB`,
                );
            }
        }
    } finally {
        if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    }
    const load1 = os.loadavg()[0];
    const first = rows[0] as any;
    const last = rows.at(-1) as any;
    const ratio = rows.length > 1 && !readOnly ? { objects: last.objects / first.objects, cliWall: last.cli.wallMs / first.cli.wallMs, cliCpu: last.cli.cpuMs / first.cli.cpuMs, rulesCpu: last.phases.evaluateCpuMs / first.phases.evaluateCpuMs } : undefined;
    const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadBefore: load0, loadAfter: load1 };
    if (json) console.log(JSON.stringify({ machine, rows, ratio }, null, 2));
    else {
        if (readOnly && rows.length > 1) {
            console.log(`growth x${last.objects / first.objects}: read wall ${(last.phases.readMs / first.phases.readMs).toFixed(2)}, CPU ${(last.phases.readCpuMs / first.phases.readCpuMs).toFixed(2)}`);
        }
        if (ratio !== undefined) {
            console.log(
                `growth x${ratio.objects}: check wall ${ratio.cliWall.toFixed(2)}, CPU ${ratio.cliCpu.toFixed(2)}, rules CPU ${ratio.rulesCpu.toFixed(2)}`,
            );
        }
        console.log(`machine: ${machine.cpus} CPUs (${machine.cpu}), ${machine.memGiB} GiB, node ${machine.node}, load ${load0.toFixed(2)} -> ${load1.toFixed(2)}`);
    }
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) child(process.argv[childAt + 1], process.argv[childAt + 2]);
else parent(process.argv.slice(2));
