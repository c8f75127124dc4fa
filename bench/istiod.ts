/**
 * What scoping saves istiod and its proxies (`npm run bench:istiod -- [N...]`, default 100 500 1000), measured on the
 * real istiod (pilot-discovery 1.31 of the toolchain) against a fresh local control plane, for the N-tenant,
 * four-usergroup estate of `npm run bench:engine` with three Services in every tenant and shared namespace:
 *
 *   a  no scoping: one istiod discovers every namespace; no Sidecars; every Service exported everywhere
 *   b  discovery selectors only: one istiod per usergroup discovering its usergroup's namespaces (the program's revisions)
 *   c  the program's full scoping: (b) plus the planned mesh config (exportTo defaults), Sidecars, PeerAuthentication,
 *      AuthorizationPolicies and Gateways, and the Services annotated with the exportTo the plan computes
 *
 * For each: clusters and CDS+LDS+RDS bytes a proxy receives (mean of sample namespaces, through xds-probe), istiod's
 * CPU seconds and resident memory once settled with 50 proxies connected (summed over the istiods of the mode), and
 * how long a change of one Service (a port added) takes to reach the connected proxies that receive it. Prints one line
 * per mode and the ratios c/a. Objects istiod does not read (NetworkPolicies, RoleBindings, quotas, admission
 * policies) are not applied. Needs the toolchain; run through bench/istiod.sh (PATH, MESH_TENANCY_BIN). The same
 * estate under a steady stream of changes, with a fleet of a thousand proxies: bench/istiodChurn.ts (`--churn`).
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as readline from "readline";
import * as YAML from "yaml";
import { parseConfig } from "../model/config";
import { planTenancy, plannedObjects, TenancyPlan } from "../plan";
import { SERVICE_EXPORT_TO_ANNOTATION } from "../policy/semantics/labels";
import type { KubeObject } from "../policy/semantics/objects";
import { expectExit, run } from "../test/e2e/harness";
import { binary, Istiod, launchIstiod, probe, rssMb, sleep } from "../test/e2e/istio";
import { engineBenchConfig } from "./generate";

const ROOT = path.resolve(__dirname, "..");
const WATCHERS = 50;
const SAMPLES = 10;
export const ISTIO_VERSION = "1.31.0";
/** The Kinds istiod reads among what the plan writes. */
export const ISTIO_READS = new Set(["Sidecar", "PeerAuthentication", "AuthorizationPolicy", "Gateway"]);

interface ModeResult {
    mode: string;
    istiods: number;
    clusters: number;
    bytes: number;
    cpuSeconds: number;
    rssMb: number;
    watchers: number;
    /** Connected proxies that received any push after the change. */
    pushed: number;
    /** Connected proxies whose clusters changed with it, and the time until the last of them had it. */
    changed: number;
    pushSeconds: number;
}

export function kubectlApply(objects: KubeObject[], file: string): void {
    fs.writeFileSync(file, objects.map((o) => `---\n${YAML.stringify(o)}`).join(""));
    expectExit(run("kubectl", ["apply", "--server-side", "--force-conflicts", "--field-manager", "bench-istiod", "-f", file]), 0, `kubectl apply ${file}`);
}

const SERVICE_PORTS: [string, number][] = [
    ["api", 8080],
    ["web", 80],
    ["db", 5432],
];
export const SERVICES_PER_NAMESPACE = SERVICE_PORTS.length;

/** Three Services per namespace, as app teams write them; with `exportTo`, annotated as the plan says. */
export function services(plan: TenancyPlan, exportTo: boolean): KubeObject[] {
    return plan.namespaces.flatMap((ns) =>
        SERVICE_PORTS.map(([name, port]) => ({
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: String(name), namespace: ns.name, ...(exportTo ? { annotations: { [SERVICE_EXPORT_TO_ANNOTATION]: ns.serviceExportTo.join(",") } } : {}) },
            spec: { selector: { app: String(name) }, ports: [{ name: `http-${name}`, port: Number(port), targetPort: Number(port) }] },
        })),
    );
}

export async function startIstiod(dir: string, revision: string, namespace: string, mesh: Record<string, unknown>, env: Record<string, string>): Promise<Istiod> {
    const home = fs.mkdtempSync(path.join(dir, `istiod-${revision}-`));
    fs.writeFileSync(path.join(home, "mesh.yaml"), YAML.stringify(mesh));
    // Cluster-admin credentials: what istiod may read is not what this measures. No webhook patching, no injection.
    return launchIstiod({ revision, namespace, dir: home, kubeconfig: process.env.KUBECONFIG!, env: { INJECTION_WEBHOOK_CONFIG_NAME: "", VALIDATION_WEBHOOK_CONFIG_NAME: "", INJECT_ENABLED: "false", ...env } });
}

export const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** utime + stime of a process, in seconds (fields 14 and 15 of /proc/PID/stat). */
export function cpuSeconds(pid: number): number {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Waits until the istiods' CPU stays flat (under 0.1 s over 3 s), at most 180 s; returns their CPU seconds. */
export async function settle(istiods: Istiod[]): Promise<number> {
    const total = () => istiods.reduce((sum, i) => sum + cpuSeconds(i.process.pid!), 0);
    const started = Date.now();
    let last = total();
    for (;;) {
        await sleep(3000);
        const now = total();
        if (now - last < 0.1 || Date.now() - started > 180_000) return now;
        last = now;
    }
}

interface Watcher {
    namespace: string;
    process: ChildProcess;
    /** Each CDS response: when, and how many clusters. */
    pushes: { at: number; clusters: number }[];
    ready: Promise<void>;
}

function watch(addr: string, namespace: string, index: number): Watcher {
    const child = spawn(binary("xds-probe"), ["-addr", addr, "-namespace", namespace, "-pod", `watcher-${index}`, "-ip", `10.2.${Math.floor(index / 250)}.${(index % 250) + 1}`, "-istio-version", ISTIO_VERSION, "-timeout", "60s", "-watch", "600s"], { stdio: ["ignore", "pipe", "inherit"] });
    const pushes: Watcher["pushes"] = [];
    let first: () => void;
    const ready = new Promise<void>((resolve, reject) => {
        first = resolve;
        child.on("exit", (code) => reject(new Error(`xds-probe for ${namespace} exited (${code}) before its first push`)));
    });
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
        const push = JSON.parse(line);
        pushes.push({ at: Date.parse(push.time), clusters: push.clusters });
        if (pushes.length === 1) first();
    });
    return { namespace, process: child, pushes, ready };
}

/** The other namespaces whose proxies import `namespace`, as the plan scopes them. */
export function importersOf(plan: TenancyPlan, namespace: string): string[] {
    return plan.namespaces.filter((n) => n.name !== namespace && n.imports.includes(namespace)).map((n) => n.name);
}

async function measure(mode: string, plan: TenancyPlan, istiods: Istiod[], istiodOf: (ns: string) => Istiod, changed: string): Promise<ModeResult> {
    await settle(istiods);
    const tenants = plan.namespaces.map((n) => n.name);
    const spread = (count: number) => Array.from({ length: Math.min(count, tenants.length) }, (_, i) => tenants[Math.floor((i * tenants.length) / Math.min(count, tenants.length))]);
    const samples = spread(SAMPLES).map((ns) => probe(istiodOf(ns).grpc, ns, { istioVersion: ISTIO_VERSION }));
    const clusters = samples.reduce((s, r) => s + r.clusters.length, 0) / samples.length;
    const bytes = samples.reduce((s, r) => s + r.bytes.cds + r.bytes.lds + r.bytes.rds, 0) / samples.length;
    // The changed Service's importers are among the watchers, so that every mode has proxies that must get the change.
    const changedNamespace = changed.split("/")[0];
    const watched = [...new Set([changedNamespace, ...importersOf(plan, changedNamespace).slice(0, 4), ...spread(WATCHERS)])].slice(0, WATCHERS);
    // One at a time: istiod limits how fast new proxies may connect (PILOT_MAX_REQUESTS_PER_SECOND).
    const watchers: Watcher[] = [];
    try {
        for (const [i, ns] of watched.entries()) {
            watchers.push(watch(istiodOf(ns).grpc, ns, i));
            await watchers[watchers.length - 1].ready;
        }
        const cpu = await settle(istiods);
        const rss = istiods.reduce((sum, i) => sum + rssMb(i.process.pid!), 0);
        const [ns, name] = changed.split("/");
        const before = Date.now();
        expectExit(run("kubectl", ["patch", "service", name, "-n", ns, "--type", "json", "-p", `[{"op":"add","path":"/spec/ports/-","value":{"name":"http-extra-${mode}","port":${9000 + mode.charCodeAt(0)}}}]`]), 0, "change a Service");
        await sleep(15_000);
        // A proxy got the change when a push after it carries another number of clusters than its last one before it
        // (the added port is a new cluster); a push that changes nothing for the proxy is counted apart.
        const latencies: number[] = [];
        let pushedAtAll = 0;
        for (const w of watchers) {
            const last = [...w.pushes].reverse().find((p) => p.at < before);
            const after = w.pushes.filter((p) => p.at >= before);
            if (after.length > 0) pushedAtAll++;
            const got = after.find((p) => p.clusters !== last?.clusters);
            if (got !== undefined) latencies.push((got.at - before) / 1000);
        }
        return { mode, istiods: istiods.length, watchers: watchers.length, clusters, bytes, cpuSeconds: cpu, rssMb: rss, pushed: pushedAtAll, changed: latencies.length, pushSeconds: latencies.length > 0 ? Math.max(...latencies) : 0 };
    } finally {
        for (const w of watchers) w.process.kill("SIGKILL");
    }
}

async function stopAll(istiods: Istiod[]): Promise<void> {
    await Promise.all(istiods.map((i) => i.stop()));
}

/** One of the three setups, its istiods running, handed to a measurement. */
export interface Setup {
    n: number;
    mode: "a" | "b" | "c";
    plan: TenancyPlan;
    /** What the plan writes (the Namespaces are applied in every setup, the Kinds of ISTIO_READS in c only). */
    objects: KubeObject[];
    istiods: Istiod[];
    /** The istiod that serves a namespace's proxies. */
    istiodOf: (ns: string) => Istiod;
    /** The run's scratch directory (removed at the end unless MESH_TENANCY_BENCH_KEEP is set). */
    work: string;
}

/**
 * The N-tenant estate on a fresh local control plane, and each setup in turn (a, b, c; `only` picks some) with its
 * istiods started for `measure` and stopped after it. `prefix` names the bench in the log and the scratch directory.
 */
export async function withSetups<T>(n: number, measure: (setup: Setup) => Promise<T>, options: { prefix?: string; only?: string[] } = {}): Promise<T[]> {
    const prefix = options.prefix ?? "bench-istiod";
    const wanted = (mode: string) => options.only === undefined || options.only.includes(mode);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `mesh-tenancy-${prefix}.${n}.`));
    const log = (message: string) => process.stderr.write(`${prefix}: ${message}\n`);
    // Three Services per namespace need more ClusterIPs than the e2e cluster's /24.
    const clusterEnv = { ...process.env, MESH_TENANCY_CLUSTER_DIR: path.join(work, "cluster"), MESH_TENANCY_SERVICE_CIDR: "10.96.0.0/16" };
    expectExit(run(path.join(ROOT, "scripts", "cluster.sh"), ["start"], { env: clusterEnv as Record<string, string> }), 0, "cluster start");
    process.env.KUBECONFIG = path.join(work, "cluster", "kubeconfig");
    const results: T[] = [];
    try {
        expectExit(run(path.join(ROOT, "scripts", "istio.sh"), ["crds"]), 0, "Istio CRDs");
        const plan = planTenancy(parseConfig(engineBenchConfig(n)));
        const objects = plannedObjects(plan);
        const rootNamespace: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } };
        log(`n=${n}: ${plan.namespaces.length} tenant and shared namespaces, ${plan.namespaces.length * 3} Services`);
        kubectlApply([rootNamespace, ...objects.filter((o) => o.kind === "Namespace"), ...services(plan, false)], path.join(work, "base.yaml"));

        const each = async (mode: Setup["mode"], istiods: Istiod[], istiodOf: Setup["istiodOf"]) => {
            try {
                results.push(await measure({ n, mode, plan, objects, istiods, istiodOf, work }));
            } finally {
                await stopAll(istiods);
            }
        };
        if (wanted("a")) {
            log(`n=${n}: a, no scoping`);
            const istiods = [await startIstiod(work, "default", "istio-system", { rootNamespace: "istio-system" }, {})];
            await each("a", istiods, () => istiods[0]);
        }

        const byUsergroup = new Map(plan.namespaces.map((ns) => [ns.name, ns.usergroup]));
        const start = async (full: boolean) => {
            const list: Istiod[] = [];
            for (const cp of plan.controlPlanes) {
                const rev = cp.revisions[0];
                const values = rev.istiod.values as { meshConfig: Record<string, unknown>; pilot?: { env?: Record<string, string> } };
                const mesh = full ? values.meshConfig : { rootNamespace: cp.systemNamespace, discoverySelectors: values.meshConfig.discoverySelectors };
                list.push(await startIstiod(work, rev.name, cp.systemNamespace, mesh, full ? (values.pilot?.env ?? {}) : {}));
            }
            return list;
        };
        const route = (list: Istiod[]) => (ns: string) => list[plan.controlPlanes.findIndex((cp) => cp.usergroup === byUsergroup.get(ns))];

        if (wanted("b")) {
            log(`n=${n}: b, discovery selectors only`);
            const istiods = await start(false);
            await each("b", istiods, route(istiods));
        }

        if (wanted("c")) {
            log(`n=${n}: c, the program's scoping`);
            kubectlApply([...objects.filter((o) => ISTIO_READS.has(o.kind)), ...services(plan, true)], path.join(work, "scoping.yaml"));
            const istiods = await start(true);
            await each("c", istiods, route(istiods));
        }
        return results;
    } finally {
        run(path.join(ROOT, "scripts", "cluster.sh"), ["stop"], { env: clusterEnv as Record<string, string> });
        if (process.env.MESH_TENANCY_BENCH_KEEP === undefined) fs.rmSync(work, { recursive: true, force: true });
    }
}

async function bench(n: number): Promise<ModeResult[]> {
    return withSetups(n, (s) => {
        // The Service changed: `api` of a tenant that another tenant imports (a shared namespace is everyone's).
        const changed = `${s.plan.namespaces.find((ns) => ns.role === "tenant" && importersOf(s.plan, ns.name).length > 0)!.name}/api`;
        return measure(s.mode, s.plan, s.istiods, s.istiodOf, changed);
    });
}

async function main(): Promise<void> {
    const sizes = process.argv.slice(2).map(Number);
    for (const n of sizes.length > 0 ? sizes : [100, 500, 1000]) {
        if (!Number.isInteger(n) || n < 8) throw new Error(`N must be an integer of at least 8, got ${n}`);
        const results = await bench(n);
        for (const r of results) {
            console.log(`n=${n} ${r.mode} istiods=${r.istiods} clusters_per_proxy=${r.clusters.toFixed(0)} xds_bytes_per_proxy=${r.bytes.toFixed(0)} istiod_cpu_s=${r.cpuSeconds.toFixed(1)} istiod_rss_mb=${r.rssMb} change of one Service: reached ${r.changed} of ${r.watchers} connected proxies in ${r.pushSeconds.toFixed(2)} s, pushes to ${r.pushed}`);
        }
        const [a, , c] = results;
        const ratio = (x: number, y: number) => (y === 0 ? "-" : (x / y).toFixed(3));
        console.log(`n=${n} c/a: clusters ${ratio(c.clusters, a.clusters)} bytes ${ratio(c.bytes, a.bytes)} cpu ${ratio(c.cpuSeconds, a.cpuSeconds)} rss ${ratio(c.rssMb, a.rssMb)} proxies_reached ${ratio(c.changed, a.changed)} proxies_pushed ${ratio(c.pushed, a.pushed)}`);
    }
}

if (require.main === module) {
    main().catch((err) => {
        process.stderr.write(`bench-istiod: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
    });
}
