/**
 * istiod under a steady stream of changes with a fleet of connected proxies (`npm run bench:istiod -- --churn [options] [N...]`,
 * default N 100): the estate and setups a, b, c of bench/istiod.ts, each with P proxies (default 1000, `--proxies`) spread
 * over the tenant namespaces (round robin; labels `app` api/web/db in turn, their ServiceAccount the same), connected
 * through `xds-probe fleet` at a bounded rate per istiod (`--rate`, default 20/s: istiod admits
 * PILOT_MAX_REQUESTS_PER_SECOND new streams, 25/s on two cores). Once every proxy has its config and istiod is settled,
 * one change every `--interval` seconds (default 2) for `--window` seconds (default 60), in turn:
 *
 *   endpoints+      the tenant's `api` Service gains an endpoint (an EndpointSlice of ours, as a controller writes them)
 *   service-add     a Service `churn-<k>` added to the tenant (annotated with the tenant's exportTo in c, like its others)
 *   sidecar         in c, the tenant's own Sidecar edited (a redundant egress host toggled: what it imports stays);
 *                   a and b have no Sidecars, so there a Sidecar `churn` of the tenant that selects no proxy is edited
 *   endpoints-      the tenant's `api` loses an endpoint
 *   service-remove  the last `churn-<k>` Service removed
 *
 * on tenants that other tenants import, taken in turn, then a drain of at least `--drain` seconds (default 20) that lasts
 * until istiod's CPU is flat again. Per setup: istiod CPU seconds over window and drain, and RSS sampled every
 * second (summed over the setup's istiods; from /proc), the pushes and bytes the fleet received, how long each change took
 * to reach the last proxy it pushed to, the proxies pushed a change they do not need, and istiod's own pilot_* metrics
 * (monitoring port, deltas over window and drain). Memory per istiod: its resident set and Go heap settled before the
 * fleet connects and again with the fleet, beside the namespaces and Services it discovers; with an istiod that discovers
 * nothing (started once per N), that gives the start, per-namespace and per-proxy memory a setup's istiods need.
 *
 * Attribution is by timing window and by version. A full push (CDS, LDS, RDS) carries the version of the push context
 * istiod built for it, the same for every proxy it goes to: each such push is
 * caused by the last change before that version's first arrival at any proxy, however long istiod takes to reach the
 * last proxy. A response to a proxy's own resubscription (the fleet marks it `requested`: EDS after a CDS named other
 * clusters, RDS after an LDS named other routes) goes with the push that made the proxy resubscribe, whatever version
 * istiod gives it (the version of its newest push context, which a later change may have made). An incremental EDS push
 * carries the version of the last full push, so it is charged to the last change before its own arrival (the interval
 * is kept well above istiod's debounce, PILOT_DEBOUNCE_AFTER 100 ms).
 * "overlapping" counts pushes that arrived after the next change had started (istiod behind by more than an interval:
 * EDS pushes among them may be charged to a later change). A change's time is when its kubectl call started; the median
 * kubectl call is printed beside it.
 *
 * What a proxy needs is the program's semantics, the same in every setup: the report's visibility model
 * (report/visibility.ts over policy/semantics) of setup c's objects says which Services each proxy sees (by its Sidecar:
 * the hosts its egress imports, intersected with exportTo); a Service the churn adds is judged by the same egress-host
 * functions of policy/semantics (egressHostsByNamespace, egressImportsService). A proxy needs a
 * change of Service `ns/x` (its endpoints, or a Service added or removed in `ns` with `ns/api`'s exportTo) when it sees
 * `ns/api` and an egress host of its Sidecar covers `x.ns.svc.cluster.local`, and an edit of a Sidecar when that Sidecar
 * scopes it (c: the namespace's own Sidecar, its proxies; a and b: none, the Sidecar selects nobody). In a and b, pushes
 * to proxies that c's scoping would not give the Service are counted as unneeded: what scoping saves.
 *
 * Every tenant that changes has an `api` EndpointSlice of two endpoints before the fleet connects, so that endpoints+
 * and endpoints- change a Service that has endpoints (0 to 1 and back would be a new and a removed shard for istiod).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import * as YAML from "yaml";
import type { TenancyPlan } from "../plan";
import { serviceHost } from "../policy/semantics/hosts";
import { SERVICE_EXPORT_TO_ANNOTATION } from "../policy/semantics/labels";
import type { KubeObject } from "../policy/semantics/objects";
import { selects } from "../policy/semantics/selectors";
import { egressHostsByNamespace, egressImportsService } from "../policy/semantics/sidecarScope";
import { visibilityModel } from "../report/visibility";
import { expectExit, run } from "../test/e2e/harness";
import { binary, Istiod, residentMb, rssMb, sleep } from "../test/e2e/istio";
import { cpuSeconds, importersOf, ISTIO_VERSION, kubectlApply, services, SERVICES_PER_NAMESPACE, settle, Setup, startIstiod, withSetups } from "./istiod";

const PREFIX = "bench-istiod-churn";
const log = (message: string) => process.stderr.write(`${PREFIX}: ${message}\n`);
/** Everything the churn creates carries this label, so that a setup's leftovers can be removed before the next. */
const CHURN_LABEL = "mesh-tenancy.io/bench";
const APPS = ["api", "web", "db"] as const;
const KINDS = ["endpoints+", "service-add", "sidecar", "endpoints-", "service-remove"] as const;
type ChangeKind = (typeof KINDS)[number];

interface Options {
    proxies: number;
    windowSeconds: number;
    intervalSeconds: number;
    drainSeconds: number;
    rate: number;
    setups: string[];
    sizes: number[];
}

interface FleetProxy {
    addr: string;
    namespace: string;
    pod: string;
    ip: string;
    labels: Record<string, string>;
    serviceAccount: string;
}

interface Change {
    index: number;
    kind: ChangeKind;
    namespace: string;
    /** `ns/name` of the Service changed, or of the Sidecar edited. */
    target: string;
    /** Unix ms when its kubectl call started and returned. */
    at: number;
    done: number;
    /** Whether a proxy needs it. */
    needs: (proxy: FleetProxy) => boolean;
}

interface Sample {
    t: number;
    rssMb: number;
    cpuSeconds: number;
    fleetRssMb: number;
    fleetCpuSeconds: number;
}

type Metrics = Map<string, { labels: Record<string, string>; value: number }[]>;

/** MB: resident set, its anonymous part (from /proc; the rest is the binary's pages) and Go heap in use (go_memstats_heap_inuse_bytes). */
interface Memory {
    rssMb: number;
    anonMb: number;
    heapMb: number;
}

interface IstiodMemory {
    revision: string;
    /** Namespaces of the estate the istiod discovers, and their Services (three each, as bench/istiod.ts writes them). */
    namespaces: number;
    services: number;
    proxies: number;
    /** Settled without proxies, then with them. */
    idle: Memory;
    fleet: Memory;
}

interface ChurnResult {
    mode: string;
    istiods: number;
    proxies: number;
    connected: number;
    ready: number;
    restarts: number;
    connectSeconds: number;
    cpuSeconds: number;
    rss: { start: number; peak: number; end: number };
    /** Per istiod: what it discovers, and its memory settled before the fleet connects and again with the fleet. */
    memory: IstiodMemory[];
    fleetRssPeak: number;
    /** CPU seconds the fleet process used over the window (it shares the machine with istiod). */
    fleetCpuSeconds: number;
    changes: number;
    /** Seconds from the end of the window until istiod was done pushing (at least --drain). */
    drainSeconds: number;
    kubectlMedianSeconds: number;
    pushes: Record<string, number>;
    bytes: Record<string, number>;
    /** Pushes charged to a change that arrived after the next change had started. */
    late: number;
    /** Per change: seconds to the last proxy pushed; p50 and p99 over the changes that pushed anyone. */
    lastProxy: { p50: number; p99: number; max: number; changesPushed: number };
    /** Per (change, proxy pushed): seconds to that proxy's last push for it. */
    perProxy: { p50: number; p99: number; pairs: number };
    /** (change, proxy) pairs pushed without need, and the distinct proxies concerned. */
    unneeded: { pairs: number; proxies: number };
    /** (change, proxy) pairs that needed it and received nothing in its window. */
    missed: number;
    byKind: Record<string, { changes: number; pushedPairs: number; unneededPairs: number; lastProxyP50: number }>;
    metrics: Record<string, string>;
}

function parseOptions(argv: string[]): Options {
    const o: Options = { proxies: 1000, windowSeconds: 60, intervalSeconds: 2, drainSeconds: 20, rate: 20, setups: ["a", "b", "c"], sizes: [] };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined) throw new Error(`${arg} needs a value`);
            return v;
        };
        const positive = (v: string) => {
            const n = Number(v);
            if (!(n > 0)) throw new Error(`${arg}: ${v} is not a positive number`);
            return n;
        };
        if (arg === "--proxies") o.proxies = Math.floor(positive(value()));
        else if (arg === "--window") o.windowSeconds = positive(value());
        else if (arg === "--interval") o.intervalSeconds = positive(value());
        else if (arg === "--drain") o.drainSeconds = positive(value());
        else if (arg === "--rate") o.rate = positive(value());
        else if (arg === "--setups") o.setups = value().split(",");
        else if (/^\d+$/.test(arg)) o.sizes.push(Number(arg));
        else throw new Error(`unknown argument ${arg} (--proxies P --window S --interval S --drain S --rate R --setups a,b,c N...)`);
    }
    if (o.sizes.length === 0) o.sizes = [100];
    for (const n of o.sizes) if (n < 8) throw new Error(`N must be at least 8, got ${n}`);
    if (o.setups.some((s) => !["a", "b", "c"].includes(s))) throw new Error(`--setups: ${o.setups.join(",")} is not a subset of a,b,c`);
    return o;
}

/**
 * The Services a proxy of each namespace sees under the program's scoping (setup c's objects): the report's visibility
 * model over the plan's objects, the mesh config each revision's istiod runs with (as its mesh ConfigMap), and the
 * Services as services(plan, true) writes them.
 */
function visibilityOfProgram(plan: TenancyPlan, objects: KubeObject[]): Visibility {
    const meshConfigMaps: KubeObject[] = plan.controlPlanes.map((cp) => {
        const rev = cp.revisions[0];
        return {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: `istio-${rev.name}`, namespace: cp.systemNamespace, labels: { "istio.io/rev": rev.name } },
            data: { mesh: YAML.stringify((rev.istiod.values as { meshConfig: unknown }).meshConfig) },
        } as KubeObject;
    });
    const model = visibilityModel([...objects, ...meshConfigMaps, ...services(plan, true)].map((object) => ({ object, origin: {} })));
    const scopes = new Map(model.scopes.map((scope) => [scope.namespace, scope]));
    const sidecarSubjects = new Map(objects.filter((o) => o.kind === "Sidecar").map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, { object: o, origin: {} }]));
    // The proxy's scope as the model gives it: the workload Sidecar whose selector matches its labels, else the
    // namespace's default scope; each with the services its proxies see and the Sidecar's egress hosts.
    const scopeOf = (proxy: FleetProxy) => {
        const scope = scopes.get(proxy.namespace);
        const workload = scope?.workloadSidecars.find((w) => selects({ matchLabels: w.selector }, proxy.labels));
        const sidecar = workload !== undefined ? `${proxy.namespace}/${workload.sidecar}` : scope?.scopedBy;
        return { visible: new Set((workload !== undefined ? workload.services : scope?.defaultServices)?.visible ?? []), sidecar: sidecar === undefined ? undefined : sidecarSubjects.get(sidecar), byWorkload: workload !== undefined };
    };
    return {
        scopedByNamespaceSidecar: (proxy) => !scopeOf(proxy).byWorkload,
        sees: (proxy, namespace, name) => {
            const scope = scopeOf(proxy);
            // A Service the model holds: its answer. A Service added by the churn: exported as the namespace's api is
            // (the churn annotates it so), and imported when an egress host of the proxy's Sidecar names it.
            if (APPS.includes(name as (typeof APPS)[number])) return scope.visible.has(`${namespace}/${name}`);
            if (!scope.visible.has(`${namespace}/api`)) return false;
            if (scope.sidecar === undefined) return true;
            const byNamespace = egressHostsByNamespace(scope.sidecar, proxy.namespace);
            return egressImportsService([...(byNamespace.get(namespace) ?? []), ...(byNamespace.get("*") ?? [])], [serviceHost(name, namespace)]);
        },
    };
}

/** Whether a proxy of `proxyNamespace` receives Service `namespace/name` under the program's scoping (which gives it `namespace/api`'s exportTo). */
interface Visibility {
    sees(proxy: FleetProxy, namespace: string, name: string): boolean;
    /** Whether the proxy's Sidecar is its namespace's selector-less one. */
    scopedByNamespaceSidecar(proxy: FleetProxy): boolean;
}

function fleetProxies(setup: Setup, count: number): FleetProxy[] {
    const tenants = setup.plan.namespaces.filter((ns) => ns.role === "tenant").map((ns) => ns.name);
    return Array.from({ length: count }, (_, i) => {
        const namespace = tenants[i % tenants.length];
        const app = APPS[Math.floor(i / tenants.length) % APPS.length];
        return {
            addr: setup.istiodOf(namespace).grpc,
            namespace,
            pod: `${app}-${i}`,
            ip: `10.2.${Math.floor(i / 250)}.${(i % 250) + 1}`,
            labels: { app, version: "v1" },
            serviceAccount: app,
        };
    });
}

interface Fleet {
    process: ChildProcess;
    out: string;
    ready: Promise<string>;
    exited: Promise<void>;
}

function startFleet(file: string, out: string, rate: number, readyTimeoutSeconds: number): Fleet {
    const child = spawn(binary("xds-probe"), ["fleet", "-file", file, "-out", out, "-rate", String(rate), "-ready-timeout", `${readyTimeoutSeconds}s`], { stdio: ["ignore", "ignore", "pipe"] });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const ready = new Promise<string>((resolve, reject) => {
        child.once("exit", (code, signal) => reject(new Error(`xds-probe fleet exited (${code ?? signal}) before it was ready`)));
        let lastProgress = Date.now();
        readline.createInterface({ input: child.stderr! }).on("line", (line) => {
            if (line.includes("fleet: ready")) resolve(line);
            else if (Date.now() - lastProgress > 15_000 || !line.startsWith("xds-probe fleet:")) {
                lastProgress = Date.now();
                log(line);
            }
        });
    });
    return { process: child, out, ready, exited };
}

async function scrape(istiods: Istiod[]): Promise<Metrics> {
    const metrics: Metrics = new Map();
    for (const istiod of istiods) {
        const text = await (await fetch(`${istiod.monitoring}/metrics`)).text();
        for (const line of text.split("\n")) {
            if (line.startsWith("#") || line.trim() === "") continue;
            const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
            if (m === null) continue;
            const labels: Record<string, string> = {};
            for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
            const name = m[1].replace(/_total$/, "");
            if (!metrics.has(name)) metrics.set(name, []);
            metrics.get(name)!.push({ labels, value: Number(m[3]) });
        }
    }
    return metrics;
}

/** Each istiod's resident set and Go heap in use, MB. */
async function memoryOf(istiods: Istiod[]): Promise<Memory[]> {
    const out: Memory[] = [];
    for (const istiod of istiods) {
        const heap = [...sumBy(await scrape([istiod]), "go_memstats_heap_inuse_bytes").values()][0];
        const resident = residentMb(istiod.process.pid!);
        out.push({ rssMb: resident.rss, anonMb: resident.anon, heapMb: heap === undefined ? NaN : Math.round(heap / 2 ** 20) });
    }
    return out;
}

/**
 * What an istiod holds before it discovers anything: one started beside the estate with discovery selectors no
 * namespace matches, settled, measured and stopped.
 */
async function emptyIstiodMemory(setup: Setup): Promise<Memory> {
    const istiod = await startIstiod(setup.work, "empty", "istio-system", { rootNamespace: "istio-system", discoverySelectors: [{ matchLabels: { "mesh-tenancy.io/bench-discovers-nothing": "true" } }] }, {});
    try {
        await settle([istiod]);
        return (await memoryOf([istiod]))[0];
    } finally {
        await istiod.stop();
    }
}

/** Sum of a metric over the series whose labels match `where`, grouped by one label (or all together). */
function sumBy(metrics: Metrics, name: string, by?: string, where: Record<string, string> = {}): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of metrics.get(name) ?? []) {
        if (!Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
        const key = by === undefined ? "" : (s.labels[by] ?? "");
        out.set(key, (out.get(key) ?? 0) + s.value);
    }
    return out;
}

function delta(after: Metrics, before: Metrics, name: string, by?: string): Map<string, number> {
    const a = sumBy(after, name, by);
    const b = sumBy(before, name, by);
    return new Map([...a].map(([k, v]) => [k, v - (b.get(k) ?? 0)]));
}

/** A quantile of a histogram's observations between two scrapes (its buckets summed over series), as the bucket bound. */
function histogramQuantile(after: Metrics, before: Metrics, name: string, q: number): number | undefined {
    const buckets = [...delta(after, before, `${name}_bucket`, "le")].map(([le, count]) => ({ le: le === "+Inf" ? Infinity : Number(le), count })).sort((x, y) => x.le - y.le);
    const total = buckets.at(-1)?.count ?? 0;
    if (total <= 0) return undefined;
    return buckets.find((b) => b.count >= q * total)?.le;
}

function formatMap(m: Map<string, number>): string {
    return [...m].filter(([, v]) => v !== 0).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${SHORT[k] ?? (k || "all")}:${Math.round(v)}`).join(",") || "-";
}

function pilotMetrics(after: Metrics, before: Metrics): Record<string, string> {
    const seconds = (v: number | undefined) => (v === undefined ? "-" : v === Infinity ? ">max" : `${v}s`);
    const pushTimeCount = [...delta(after, before, "pilot_xds_push_time_count").values()][0] ?? 0;
    const pushTimeSum = [...delta(after, before, "pilot_xds_push_time_sum").values()][0] ?? 0;
    return {
        pilot_xds_pushes: formatMap(delta(after, before, "pilot_xds_pushes", "type")),
        pilot_push_triggers: formatMap(delta(after, before, "pilot_push_triggers", "type")),
        pilot_xds_config_size_bytes: formatMap(delta(after, before, "pilot_xds_config_size_bytes_sum", "type")),
        pilot_xds_push_time: pushTimeCount > 0 ? `mean ${(pushTimeSum / pushTimeCount).toFixed(4)}s p99 ${seconds(histogramQuantile(after, before, "pilot_xds_push_time", 0.99))} n=${pushTimeCount}` : "-",
        pilot_proxy_convergence_time: `p50 ${seconds(histogramQuantile(after, before, "pilot_proxy_convergence_time", 0.5))} p99 ${seconds(histogramQuantile(after, before, "pilot_proxy_convergence_time", 0.99))}`,
        pilot_proxy_queue_time: `p99 ${seconds(histogramQuantile(after, before, "pilot_proxy_queue_time", 0.99))}`,
        pilot_debounce_time: `p99 ${seconds(histogramQuantile(after, before, "pilot_debounce_time", 0.99))}`,
        pilot_xds: formatMap(sumBy(after, "pilot_xds")),
    };
}

function quantile(sorted: number[], q: number): number {
    if (sorted.length === 0) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The churn's objects: what it applies for a change, and how to take it all away. */
class Churner {
    private endpoints = new Map<string, number>();
    private added: { namespace: string; name: string }[] = [];
    private sidecarToggled = new Map<string, boolean>();
    private kubectlSeconds: number[] = [];
    private serial = 0;

    constructor(
        private readonly setup: Setup,
        private readonly visible: Visibility,
        private readonly file: string,
    ) {}

    get medianKubectlSeconds(): number {
        return quantile([...this.kubectlSeconds].sort((a, b) => a - b), 0.5);
    }

    private apply(objects: KubeObject[]): void {
        const start = Date.now();
        kubectlApply(objects, this.file);
        this.kubectlSeconds.push((Date.now() - start) / 1000);
    }

    private kubectl(args: string[], what: string): void {
        const start = Date.now();
        expectExit(run("kubectl", args), 0, what);
        this.kubectlSeconds.push((Date.now() - start) / 1000);
    }

    private sees(namespace: string, name: string): (proxy: FleetProxy) => boolean {
        return (proxy) => this.visible.sees(proxy, namespace, name);
    }

    /** Two endpoints for the `api` of every namespace that will change, applied before the fleet connects. */
    prepare(namespaces: string[]): void {
        for (const ns of namespaces) this.endpoints.set(ns, 2);
        kubectlApply(namespaces.map((ns) => this.endpointSlice(ns, 2)), this.file);
    }

    private endpointSlice(namespace: string, count: number): KubeObject {
        return {
            apiVersion: "discovery.k8s.io/v1",
            kind: "EndpointSlice",
            metadata: { name: "api-churn", namespace, labels: { "kubernetes.io/service-name": "api", "endpointslice.kubernetes.io/managed-by": PREFIX, [CHURN_LABEL]: "churn" } },
            addressType: "IPv4",
            ports: [{ name: "http-api", port: 8080, protocol: "TCP" }],
            endpoints: Array.from({ length: count }, (_, i) => ({ addresses: [`10.3.${Math.floor(i / 250)}.${(i % 250) + 1}`], conditions: { ready: true } })),
        } as unknown as KubeObject;
    }

    private sidecar(namespace: string, toggled: boolean): KubeObject {
        if (this.setup.mode === "c") {
            const own = this.setup.objects.find((o) => o.kind === "Sidecar" && o.metadata.namespace === namespace && (o as any).spec?.workloadSelector === undefined);
            if (own === undefined) throw new Error(`the plan writes no Sidecar for ${namespace}`);
            const spec = structuredClone((own as any).spec);
            if (toggled) spec.egress[0].hosts.push(`./api.${namespace}.svc.cluster.local`);
            return { ...own, spec } as KubeObject;
        }
        return {
            apiVersion: "networking.istio.io/v1",
            kind: "Sidecar",
            metadata: { name: "churn", namespace, labels: { [CHURN_LABEL]: "churn" } },
            spec: { workloadSelector: { labels: { app: "churn-none" } }, egress: [{ hosts: ["./*", ...(toggled ? [`./api.${namespace}.svc.cluster.local`] : [])] }] },
        } as unknown as KubeObject;
    }

    /** Applies change `index` of `kind` on `namespace`; returns it with its times. */
    change(index: number, kind: ChangeKind, namespace: string): Change {
        const at = Date.now();
        let target: string;
        let needs: Change["needs"];
        let ns = namespace;
        switch (kind) {
            case "endpoints+":
            case "endpoints-": {
                const count = Math.max(0, (this.endpoints.get(ns) ?? 0) + (kind === "endpoints+" ? 1 : -1));
                this.endpoints.set(ns, count);
                this.apply([this.endpointSlice(ns, count)]);
                target = `${ns}/api`;
                needs = this.sees(ns, "api");
                break;
            }
            case "service-add": {
                const name = `churn-${this.serial++}`;
                const info = this.setup.plan.namespaces.find((n) => n.name === ns)!;
                const annotations = this.setup.mode === "c" ? { [SERVICE_EXPORT_TO_ANNOTATION]: info.serviceExportTo.join(",") } : undefined;
                this.apply([
                    {
                        apiVersion: "v1",
                        kind: "Service",
                        metadata: { name, namespace: ns, labels: { [CHURN_LABEL]: "churn" }, ...(annotations ? { annotations } : {}) },
                        spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
                    } as unknown as KubeObject,
                ]);
                this.added.push({ namespace: ns, name });
                target = `${ns}/${name}`;
                needs = this.sees(ns, name);
                break;
            }
            case "service-remove": {
                const last = this.added.pop();
                if (last === undefined) throw new Error("no churn Service to remove");
                ns = last.namespace;
                this.kubectl(["delete", "service", last.name, "-n", ns, "--wait=false"], `delete Service ${ns}/${last.name}`);
                target = `${ns}/${last.name}`;
                needs = this.sees(ns, last.name);
                break;
            }
            case "sidecar": {
                const toggled = !(this.sidecarToggled.get(ns) ?? false);
                this.sidecarToggled.set(ns, toggled);
                this.apply([this.sidecar(ns, toggled)]);
                target = `${ns}/Sidecar`;
                needs = this.setup.mode === "c" ? (proxy) => proxy.namespace === ns && this.visible.scopedByNamespaceSidecar(proxy) : () => false;
                break;
            }
        }
        return { index, kind, namespace: ns, target, at, done: Date.now(), needs };
    }

    /** Removes what the churn created and restores the Sidecars it edited. */
    cleanup(): void {
        run("kubectl", ["delete", "services,endpointslices.discovery.k8s.io,sidecars.networking.istio.io", "-A", "-l", `${CHURN_LABEL}=churn`, "--wait=false"]);
        for (const [ns, toggled] of this.sidecarToggled) if (toggled && this.setup.mode === "c") kubectlApply([this.sidecar(ns, false)], this.file);
    }
}

interface PushLine {
    kind: string;
    t: number;
    proxy: number;
    type: string;
    resources: number;
    bytes: number;
    version: string;
    requested: boolean;
}

const SHORT: Record<string, string> = {
    "type.googleapis.com/envoy.config.cluster.v3.Cluster": "cds",
    "type.googleapis.com/envoy.config.listener.v3.Listener": "lds",
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration": "rds",
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment": "eds",
};

async function analyse(
    out: string,
    proxies: FleetProxy[],
    changes: Change[],
    end: number,
): Promise<Pick<ChurnResult, "pushes" | "bytes" | "late" | "lastProxy" | "perProxy" | "unneeded" | "missed" | "byKind" | "connected" | "ready" | "restarts" | "connectSeconds">> {
    const pushes: Record<string, number> = {};
    const bytes: Record<string, number> = {};
    // Per change: per proxy, its last push in the change's window.
    const last = changes.map(() => new Map<number, number>());
    const starts = changes.map((c) => c.at);
    // The last change at or before a time.
    const changeAt = (t: number) => {
        let lo = 0;
        let hi = starts.length - 1;
        while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (starts[mid] <= t) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    };
    const records = async function* () {
        for await (const line of readline.createInterface({ input: fs.createReadStream(out) })) yield JSON.parse(line);
    };
    // First pass: each full push version's first arrival.
    const firstOfVersion = new Map<string, number>();
    for await (const rec of records()) {
        if (rec.kind !== "push" || rec.t < starts[0] || rec.t > end || SHORT[rec.type] === "eds") continue;
        if (!firstOfVersion.has(rec.version) || firstOfVersion.get(rec.version)! > rec.t) firstOfVersion.set(rec.version, rec.t);
    }
    // Per proxy, the change its last full push was charged to.
    const lastFull = new Map<number, number>();
    let late = 0;
    let fleet: any;
    let opened: number[] = [];
    let readyAt: number[] = [];
    for await (const rec of records()) {
        if (rec.kind === "fleet") fleet = rec;
        if (rec.kind === "stream") {
            if (rec.openedMs > 0) opened.push(rec.openedMs);
            if (rec.readyMs > 0) readyAt.push(rec.readyMs);
        }
        if (rec.kind !== "push") continue;
        const p = rec as PushLine;
        if (p.t < starts[0] || p.t > end) continue;
        const type = SHORT[p.type] ?? p.type;
        pushes[type] = (pushes[type] ?? 0) + 1;
        bytes[type] = (bytes[type] ?? 0) + p.bytes;
        // A response to the proxy's own resubscription goes with its last full push; a full push's version names its
        // change; an EDS push istiod made on its own (an endpoint change) is charged by its own arrival.
        let k: number;
        if (p.requested && lastFull.has(p.proxy)) k = lastFull.get(p.proxy)!;
        else if (type !== "eds") {
            k = changeAt(firstOfVersion.get(p.version) ?? p.t);
            lastFull.set(p.proxy, k);
        } else k = changeAt(p.t);
        if (k + 1 < starts.length && p.t >= starts[k + 1]) late++;
        const m = last[k];
        if ((m.get(p.proxy) ?? 0) < p.t) m.set(p.proxy, p.t);
    }
    const lastProxy: number[] = [];
    const perProxy: number[] = [];
    const unneededProxies = new Set<number>();
    let unneededPairs = 0;
    let missed = 0;
    const byKind: ChurnResult["byKind"] = {};
    const kindLatencies = new Map<string, number[]>();
    changes.forEach((c, i) => {
        const k = (byKind[c.kind] ??= { changes: 0, pushedPairs: 0, unneededPairs: 0, lastProxyP50: NaN });
        k.changes++;
        let max = -1;
        for (const [proxy, t] of last[i]) {
            const seconds = (t - c.at) / 1000;
            perProxy.push(seconds);
            max = Math.max(max, seconds);
            k.pushedPairs++;
            if (!c.needs(proxies[proxy])) {
                unneededPairs++;
                k.unneededPairs++;
                unneededProxies.add(proxy);
            }
        }
        proxies.forEach((p, proxy) => {
            if (c.needs(p) && !last[i].has(proxy)) missed++;
        });
        if (max >= 0) {
            lastProxy.push(max);
            if (!kindLatencies.has(c.kind)) kindLatencies.set(c.kind, []);
            kindLatencies.get(c.kind)!.push(max);
        }
    });
    for (const [kind, l] of kindLatencies) byKind[kind].lastProxyP50 = quantile(l.sort((a, b) => a - b), 0.5);
    lastProxy.sort((a, b) => a - b);
    perProxy.sort((a, b) => a - b);
    opened = opened.sort((a, b) => a - b);
    readyAt = readyAt.sort((a, b) => a - b);
    return {
        pushes,
        bytes,
        late,
        lastProxy: { p50: quantile(lastProxy, 0.5), p99: quantile(lastProxy, 0.99), max: lastProxy.at(-1) ?? NaN, changesPushed: lastProxy.length },
        perProxy: { p50: quantile(perProxy, 0.5), p99: quantile(perProxy, 0.99), pairs: perProxy.length },
        unneeded: { pairs: unneededPairs, proxies: unneededProxies.size },
        missed,
        byKind,
        connected: fleet?.connected ?? opened.length,
        ready: fleet?.ready ?? readyAt.length,
        restarts: fleet?.restarts ?? 0,
        connectSeconds: opened.length > 0 && readyAt.length > 0 ? (readyAt.at(-1)! - opened[0]) / 1000 : NaN,
    };
}

async function measureChurn(setup: Setup, options: Options, visible: Visibility): Promise<ChurnResult> {
    const dir = fs.mkdtempSync(path.join(setup.work, `churn-${setup.mode}-`));
    const proxies = fleetProxies(setup, options.proxies);
    const fleetFile = path.join(dir, "fleet.json");
    fs.writeFileSync(fleetFile, JSON.stringify({ istioVersion: ISTIO_VERSION, proxies }));
    const istiodCount = new Set(proxies.map((p) => p.addr)).size;
    const perIstiod = Math.ceil(options.proxies / Math.max(1, istiodCount));
    const tenants = setup.plan.namespaces.filter((ns) => ns.role === "tenant").map((ns) => ns.name);
    const imported = tenants.filter((ns) => importersOf(setup.plan, ns).length > 0);
    const targets = imported.length > 0 ? imported : tenants;
    const churner = new Churner(setup, visible, path.join(dir, "change.yaml"));
    churner.prepare(targets);
    await settle(setup.istiods);
    const idle = await memoryOf(setup.istiods);
    log(`n=${setup.n} ${setup.mode}: connecting ${options.proxies} proxies to ${setup.istiods.length} istiod(s) at ${options.rate}/s each`);
    const fleet = startFleet(fleetFile, path.join(dir, "pushes.jsonl"), options.rate, Math.ceil(perIstiod / options.rate) + 300);
    try {
        log(`n=${setup.n} ${setup.mode}: ${await fleet.ready}`);
        const total = () => setup.istiods.reduce((sum, i) => sum + cpuSeconds(i.process.pid!), 0);
        const rss = () => setup.istiods.reduce((sum, i) => sum + rssMb(i.process.pid!), 0);
        await settle(setup.istiods);
        const withFleet = await memoryOf(setup.istiods);
        const memory = setup.istiods.map((istiod, i): IstiodMemory => {
            const discovered = setup.plan.namespaces.filter((ns) => setup.istiodOf(ns.name) === istiod).length;
            return {
                revision: istiod.revision,
                namespaces: discovered,
                services: discovered * SERVICES_PER_NAMESPACE,
                proxies: proxies.filter((p) => p.addr === istiod.grpc).length,
                idle: idle[i],
                fleet: withFleet[i],
            };
        });
        const before = await scrape(setup.istiods);
        const samples: Sample[] = [];
        const sample = () => samples.push({ t: Date.now(), rssMb: rss(), cpuSeconds: total(), fleetRssMb: rssMb(fleet.process.pid!), fleetCpuSeconds: cpuSeconds(fleet.process.pid!) });
        sample();
        const sampler = setInterval(sample, 1000);
        const changes: Change[] = [];
        const count = Math.max(1, Math.floor(options.windowSeconds / options.intervalSeconds));
        const startedAt = Date.now();
        log(`n=${setup.n} ${setup.mode}: ${count} changes, one every ${options.intervalSeconds}s, on ${targets.length} tenants`);
        for (let k = 0; k < count; k++) {
            const due = startedAt + k * options.intervalSeconds * 1000;
            if (Date.now() < due) await sleep(due - Date.now());
            const kind = KINDS[k % KINDS.length];
            changes.push(churner.change(k, kind, targets[Math.floor(k / KINDS.length) % targets.length]));
        }
        // The drain: at least --drain seconds, and until istiod is done pushing (its CPU flat; at most 180 s more).
        await sleep(Math.max(0, startedAt + count * options.intervalSeconds * 1000 - Date.now()) + options.drainSeconds * 1000);
        await settle(setup.istiods);
        const end = Date.now();
        const drainSeconds = (end - (startedAt + count * options.intervalSeconds * 1000)) / 1000;
        clearInterval(sampler);
        sample();
        const after = await scrape(setup.istiods);
        fleet.process.kill("SIGTERM");
        await fleet.exited;
        const analysed = await analyse(fleet.out, proxies, changes, end);
        const window = samples.filter((s) => s.t >= startedAt);
        return {
            mode: setup.mode,
            istiods: setup.istiods.length,
            proxies: proxies.length,
            ...analysed,
            cpuSeconds: samples.at(-1)!.cpuSeconds - samples[0].cpuSeconds,
            rss: { start: samples[0].rssMb, peak: Math.max(...window.map((s) => s.rssMb)), end: samples.at(-1)!.rssMb },
            memory,
            fleetRssPeak: Math.max(...samples.map((s) => s.fleetRssMb)),
            fleetCpuSeconds: samples.at(-1)!.fleetCpuSeconds - samples[0].fleetCpuSeconds,
            changes: changes.length,
            drainSeconds,
            kubectlMedianSeconds: churner.medianKubectlSeconds,
            metrics: pilotMetrics(after, before),
        };
    } finally {
        if (fleet.process.exitCode === null) {
            fleet.process.kill("SIGKILL");
            await fleet.exited;
        }
        churner.cleanup();
    }
}

function print(n: number, r: ChurnResult): void {
    const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "-");
    const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
    const types = (m: Record<string, number>) => ["cds", "eds", "lds", "rds"].map((t) => `${t}:${m[t] ?? 0}`).join(",");
    console.log(
        `n=${n} ${r.mode} istiods=${r.istiods} proxies=${r.proxies} connected=${r.connected} ready=${r.ready} restarts=${r.restarts} connect_to_ready_s=${f(r.connectSeconds, 1)}` +
            ` changes=${r.changes} drain_s=${f(r.drainSeconds, 0)} kubectl_median_s=${f(r.kubectlMedianSeconds)} istiod_cpu_s=${f(r.cpuSeconds, 1)} istiod_rss_mb=${r.rss.start}/${r.rss.peak}/${r.rss.end} fleet_rss_peak_mb=${r.fleetRssPeak} fleet_cpu_s=${f(r.fleetCpuSeconds, 1)}` +
            ` pushes=${sum(r.pushes)} (${types(r.pushes)}) bytes=${sum(r.bytes)} (${types(r.bytes)}) overlapping_pushes=${r.late}` +
            ` change_to_last_proxy_s p50=${f(r.lastProxy.p50)} p99=${f(r.lastProxy.p99)} max=${f(r.lastProxy.max)} (${r.lastProxy.changesPushed} changes pushed)` +
            ` change_to_proxy_s p50=${f(r.perProxy.p50)} p99=${f(r.perProxy.p99)} (${r.perProxy.pairs} pairs)` +
            ` unneeded=${r.unneeded.pairs} pairs/${r.unneeded.proxies} proxies missed=${r.missed}`,
    );
    console.log(`n=${n} ${r.mode} by change: ${Object.entries(r.byKind).map(([k, v]) => `${k} x${v.changes}: pushed ${v.pushedPairs} unneeded ${v.unneededPairs} last_proxy_p50 ${f(v.lastProxyP50)}s`).join("; ")}`);
    console.log(`n=${n} ${r.mode} istiod metrics over the window: ${Object.entries(r.metrics).map(([k, v]) => `${k}=${v}`).join(" ")}`);
    for (const m of r.memory) {
        console.log(
            `n=${n} ${r.mode} memory of istiod ${m.revision}: discovers ${m.namespaces} namespaces, ${m.services} Services; settled rss_mb=${m.idle.rssMb} anon_mb=${m.idle.anonMb} heap_mb=${m.idle.heapMb};` +
                ` with ${m.proxies} proxies rss_mb=${m.fleet.rssMb} anon_mb=${m.fleet.anonMb} heap_mb=${m.fleet.heapMb}`,
        );
    }
}

/**
 * Memory per istiod as start + per discovered namespace (with its three Services) + per connected proxy: the start is
 * the istiod that discovers nothing, the rest the mean of each istiod's increments over it.
 */
function printMemoryModel(n: number, empty: Memory, results: ChurnResult[]): void {
    const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "-");
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`n=${n} memory of an istiod that discovers nothing: rss_mb=${empty.rssMb} anon_mb=${empty.anonMb} heap_mb=${empty.heapMb}`);
    for (const r of results) {
        const m = r.memory.filter((x) => x.namespaces > 0);
        const perNs = (k: keyof Memory) => mean(m.map((x) => (x.idle[k] - empty[k]) / x.namespaces));
        const perProxy = (k: keyof Memory) => mean(m.filter((x) => x.proxies > 0).map((x) => (x.fleet[k] - x.idle[k]) / x.proxies));
        const total = (k: keyof Memory, at: "idle" | "fleet") => r.memory.reduce((sum, x) => sum + x[at][k], 0);
        console.log(
            `n=${n} ${r.mode} memory model: per namespace rss_mb=${f(perNs("rssMb"))} anon_mb=${f(perNs("anonMb"))} heap_mb=${f(perNs("heapMb"))}; per proxy rss_mb=${f(perProxy("rssMb"))} anon_mb=${f(perProxy("anonMb"))} heap_mb=${f(perProxy("heapMb"))};` +
                ` ${r.memory.length} istiod(s) together settled rss_mb=${total("rssMb", "idle")} anon_mb=${total("anonMb", "idle")} with the fleet rss_mb=${total("rssMb", "fleet")} anon_mb=${total("anonMb", "fleet")}`,
        );
    }
}

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2));
    for (const n of options.sizes) {
        let visible: Visibility | undefined;
        let empty: Memory | undefined;
        const results = await withSetups(
            n,
            async (setup) => {
                visible ??= visibilityOfProgram(setup.plan, setup.objects);
                empty ??= await emptyIstiodMemory(setup);
                const r = await measureChurn(setup, options, visible);
                print(n, r);
                return r;
            },
            { prefix: PREFIX, only: options.setups },
        );
        if (empty !== undefined) printMemoryModel(n, empty, results);
        log(`n=${n}: ${results.length} setups measured`);
    }
}

main().catch((err) => {
    process.stderr.write(`${PREFIX}: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
});
