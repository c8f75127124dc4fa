import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import type { ControlPlanePlan, TenancyPlan } from "../../plan";
import { visibilityModel } from "../../report/visibility";
import type { Subject } from "../../policy/semantics/objects";
import { expectExit, kubectlJson, NODE_IMAGES, run } from "./harness";

/**
 * Real Istio components next to the local control plane: istiod (pilot-discovery) out of cluster per revision, the
 * xDS probe, istioctl. Binaries come from the toolchain (`MESH_TENANCY_BIN`, set by scripts/e2e.sh).
 */

export function binary(name: string): string {
    const dir = process.env.MESH_TENANCY_BIN;
    if (dir === undefined) throw new Error("MESH_TENANCY_BIN is not set: run the suite through scripts/e2e.sh");
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run scripts/build-toolchain.sh ${name}`);
    return file;
}

/** The Istio build matching the stack's version where the toolchain has one (1.30 is built only on request), else 1.31. */
export function istioBuild(version: string): { suffix: string; version: string } {
    const minor = /^1\.(\d+)\./.exec(version)?.[1];
    if (minor === "30" && fs.existsSync(path.join(process.env.MESH_TENANCY_BIN ?? "", "pilot-discovery-1.30"))) return { suffix: "-1.30", version: "1.30.4" };
    return { suffix: "", version: "1.31.0" };
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

export interface Istiod {
    revision: string;
    namespace: string;
    /** Plaintext xDS (15010 in a cluster). */
    grpc: string;
    /** HTTP (8080 in a cluster): `/ready`, `/debug/*`. */
    http: string;
    /** Monitoring (15014 in a cluster): `/metrics`. */
    monitoring: string;
    dir: string;
    process: ChildProcess;
    /** Seconds from start to `/ready`. */
    readySeconds: number;
    stop(): Promise<void>;
}

/**
 * A kubeconfig for the chart's istiod ServiceAccount: the cluster's server and CA, with a token from
 * `kubectl create token`, so istiod runs with exactly the permissions the cluster grants that account.
 */
function serviceAccountKubeconfig(namespace: string, account: string, file: string): void {
    const token = expectExit(run("kubectl", ["create", "token", account, "-n", namespace, "--duration", "2h"]), 0, `token for ${namespace}/${account}`).stdout.trim();
    const admin = YAML.parse(fs.readFileSync(process.env.KUBECONFIG!, "utf8"));
    const cluster = admin.clusters[0].cluster;
    fs.writeFileSync(
        file,
        YAML.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "local", cluster }],
            users: [{ name: account, user: { token } }],
            contexts: [{ name: "local", context: { cluster: "local", user: account } }],
            "current-context": "local",
        }),
    );
}

/**
 * Starts pilot-discovery for a revision as istiod-<rev>, with the mesh config from the deployed `istio-<rev>` ConfigMap
 * and the env of the deployed `istiod-<rev>` Deployment, plus what running out of cluster needs: no injection, every
 * listener on a free loopback port, and no webhook patching unless asked for. Resolves once `/ready` answers. The
 * usergroup's first revision unless `revision` names another (during an upgrade both run).
 */
export async function startIstiod(cp: ControlPlanePlan, suffix = "", options: { patchWebhooks?: boolean; revision?: string } = {}): Promise<Istiod> {
    const revision = options.revision ?? cp.revisions[0].name;
    if (!cp.revisions.some((r) => r.name === revision)) throw new Error(`${cp.usergroup} runs no revision ${revision} (runs ${cp.revisions.map((r) => r.name).join(", ")})`);
    const namespace = cp.systemNamespace;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `istiod-${revision}-`));
    const kubeconfig = path.join(dir, "kubeconfig");
    serviceAccountKubeconfig(namespace, `istiod-${revision}`, kubeconfig);
    const configMap = kubectlJson(["get", "configmap", `istio-${revision}`, "-n", namespace]);
    fs.writeFileSync(path.join(dir, "mesh.yaml"), configMap.data.mesh);
    const deployment = kubectlJson(["get", "deployment", `istiod-${revision}`, "-n", namespace]);
    const deployedEnv: Record<string, string> = {};
    for (const e of deployment.spec.template.spec.containers[0].env ?? []) {
        if (typeof e.value === "string") deployedEnv[e.name] = e.value;
    }
    return launchIstiod({
        revision,
        namespace,
        dir,
        kubeconfig,
        suffix,
        env: {
            ...deployedEnv,
            // Any non-empty name turns on istiod's patching of the webhooks labelled with its revision (CA bundles, and the
            // validator's failurePolicy once its webhook answers), as in a cluster; these are the chart's names.
            INJECTION_WEBHOOK_CONFIG_NAME: options.patchWebhooks ? `istio-sidecar-injector-${revision}-${namespace}` : "",
            VALIDATION_WEBHOOK_CONFIG_NAME: options.patchWebhooks ? `istio-validator-${revision}-${namespace}` : "",
            // Injection (from the chart's injector ConfigMap) comes with the patching; no pod ever asks for it here.
            ...(options.patchWebhooks ? {} : { INJECT_ENABLED: "false" }),
        },
    });
}

/**
 * Runs pilot-discovery (`pilot-discovery<suffix>` of the toolchain) out of cluster as istiod-<revision> of `namespace`,
 * with the mesh config in `dir`/mesh.yaml, the given kubeconfig and env, and every listener on a free loopback port.
 * Resolves once `/ready` answers, within 60 s.
 */
export async function launchIstiod(options: { revision: string; namespace: string; dir: string; kubeconfig: string; env: Record<string, string>; suffix?: string }): Promise<Istiod> {
    const { revision, namespace, dir } = options;
    const [http, grpc, secureGrpc, monitoring, https] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const env: Record<string, string> = { ...options.env, POD_NAMESPACE: namespace, POD_NAME: `istiod-${revision}-e2e`, REVISION: revision };
    const args = [
        "discovery",
        "--kubeconfig", options.kubeconfig,
        "--meshConfig", path.join(dir, "mesh.yaml"),
        "--networksConfig", path.join(dir, "does-not-exist"),
        "--httpAddr", `127.0.0.1:${http}`,
        "--grpcAddr", `127.0.0.1:${grpc}`,
        "--secureGRPCAddr", `127.0.0.1:${secureGrpc}`,
        "--monitoringAddr", `127.0.0.1:${monitoring}`,
        "--httpsAddr", `127.0.0.1:${https}`,
        "--ctrlz_address", "127.0.0.1",
        "--ctrlz_port", String(await freePort()),
    ];
    const log = fs.openSync(path.join(dir, "istiod.log"), "a");
    const start = process.hrtime.bigint();
    const child = spawn(binary(`pilot-discovery${options.suffix ?? ""}`), args, { cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: dir, ...env }, stdio: ["ignore", log, log] });
    let exited: string | undefined;
    child.on("exit", (code, signal) => (exited = `exited (${code ?? signal})`));
    const base = `http://127.0.0.1:${http}`;
    for (;;) {
        if (exited !== undefined) throw new Error(`istiod ${revision} ${exited} before it was ready; log: ${tail(path.join(dir, "istiod.log"))}`);
        if (Number(process.hrtime.bigint() - start) / 1e9 > 60) {
            child.kill("SIGKILL");
            throw new Error(`istiod ${revision} not ready after 60s; log: ${tail(path.join(dir, "istiod.log"))}`);
        }
        try {
            const r = await fetch(`${base}/ready`);
            if (r.ok) break;
        } catch {
            // not listening yet
        }
        await sleep(100);
    }
    const readySeconds = Number(process.hrtime.bigint() - start) / 1e9;
    return {
        revision,
        namespace,
        grpc: `127.0.0.1:${grpc}`,
        http: base,
        monitoring: `http://127.0.0.1:${monitoring}`,
        dir,
        process: child,
        readySeconds,
        stop: () =>
            new Promise((resolve) => {
                if (exited !== undefined) return resolve();
                child.once("exit", () => resolve());
                child.kill("SIGTERM");
                setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
            }),
    };
}

function tail(file: string): string {
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    return text.slice(-4000);
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Resident memory of a process in MB, from /proc. */
export function rssMb(pid: number): number {
    return residentMb(pid).rss;
}

/**
 * A process's resident memory in MB, and its parts: anonymous (its own heap and stacks) and file-backed (the pages of
 * its executable and libraries, which processes of the same binary share).
 */
export function residentMb(pid: number): { rss: number; anon: number; file: number } {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const mb = (field: string) => Math.round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024);
    return { rss: mb("VmRSS"), anon: mb("RssAnon"), file: mb("RssFile") };
}

export interface ProbeResult {
    node: string;
    namespace: string;
    clusters: string[];
    listeners: string[];
    routes: string[];
    virtualHosts: Record<string, string[]>;
    /** Per route configuration, the clusters its routes send requests to or mirror them to. */
    routeClusters: Record<string, string[]>;
    bytes: { cds: number; lds: number; rds: number };
    seconds: number;
}

/**
 * What a proxy in `namespace` (with pod `labels`; a sidecar, or a gateway with `type: "router"`) receives from the istiod
 * at `addr`, over a fresh connection.
 */
export function probe(addr: string, namespace: string, options: { labels?: Record<string, string>; istioVersion?: string; type?: "sidecar" | "router"; serviceAccount?: string } = {}): ProbeResult {
    const labels = Object.entries(options.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
    const args = ["-addr", addr, "-namespace", namespace, "-timeout", "30s"];
    if (labels !== "") args.push("-labels", labels);
    if (options.istioVersion !== undefined) args.push("-istio-version", options.istioVersion);
    if (options.type !== undefined) args.push("-type", options.type);
    if (options.serviceAccount !== undefined) args.push("-service-account", options.serviceAccount);
    return JSON.parse(expectExit(run(binary("xds-probe"), args), 0, `xds-probe ${namespace} at ${addr}`).stdout);
}

/** Istio's built-in clusters, present in every sidecar's CDS whatever its scope. */
export const BUILTIN_CLUSTERS = ["BlackHoleCluster", "InboundPassthroughCluster", "PassthroughCluster"];

/**
 * The Services behind a proxy's outbound clusters, as `namespace/name` (cluster names are `outbound|<port>|<subset>|<host>`,
 * hosts `<name>.<namespace>.svc.<domain>`), and the clusters that are neither outbound to a Service nor built in.
 */
export function receivedServices(result: ProbeResult): { services: string[]; other: string[] } {
    const services = new Set<string>();
    const other: string[] = [];
    for (const name of result.clusters) {
        const parts = name.split("|");
        const host = parts[3];
        const m = parts[0] === "outbound" && host !== undefined ? /^([^.]+)\.([^.]+)\.svc\./.exec(host) : null;
        if (m !== null) services.add(`${m[2]}/${m[1]}`);
        else if (!BUILTIN_CLUSTERS.includes(name) && parts[0] !== "inbound") other.push(name);
    }
    return { services: [...services].sort(), other };
}

/**
 * The IstioOperator that asks `istioctl manifest generate` for the official istiod chart with the values the plan
 * passes to the istiod chart (`revision` and `meshConfig` are IstioOperator fields; the rest are chart values), without
 * the base component.
 */
export function istioOperatorFor(values: Record<string, any>): Record<string, unknown> {
    const { revision, meshConfig, ...rest } = values;
    // istioctl's IstioOperator schema has no `base.validationFailurePolicy` (the Helm chart reads it): left out here.
    const { validationFailurePolicy: _helmOnly, ...base } = (rest.base ?? {}) as Record<string, unknown>;
    const chartValues = { ...rest, ...(rest.base !== undefined ? { base } : {}) };
    if (Object.keys(base).length === 0) delete chartValues.base;
    return {
        apiVersion: "install.istio.io/v1alpha1",
        kind: "IstioOperator",
        spec: {
            profile: "minimal",
            revision,
            meshConfig,
            components: { base: { enabled: false } },
            values: chartValues,
        },
    };
}

/** Objects `istioctl manifest generate` renders for an IstioOperator, from the charts compiled into istioctl. */
export function renderOfficial(iop: Record<string, unknown>, suffix = ""): any[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iop-"));
    const file = path.join(dir, "iop.yaml");
    fs.writeFileSync(file, YAML.stringify(iop));
    const out = expectExit(run(binary(`istioctl${suffix}`), ["manifest", "generate", "-f", file]), 0, "istioctl manifest generate").stdout;
    return YAML.parseAllDocuments(out).map((d) => d.toJS()).filter((o) => o !== null && typeof o === "object" && typeof o.kind === "string");
}

const RBAC_KINDS = ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];
export const OFFICIAL_RBAC_PREFIX = "e2e-official-";

/**
 * Grants a revision's istiod ServiceAccount the RBAC the official istiod chart renders for the same values, under
 * prefixed names so nothing the program deployed is touched. The stand-in chart renders only a reduced, read-only
 * ClusterRole (test/charts/README.md): a real istiod cannot create its CA secret or the root-cert ConfigMaps with it.
 */
export function grantOfficialRbac(values: Record<string, any>, suffix = ""): string[] {
    const rename = (name: string) => `${OFFICIAL_RBAC_PREFIX}${name}`;
    const rbac = renderOfficial(istioOperatorFor(values), suffix)
        .filter((o) => RBAC_KINDS.includes(o.kind))
        .map((o) => {
            const labels = { ...(o.metadata.labels ?? {}), "mesh-tenancy.io/e2e": "official-rbac" };
            const out = { ...o, metadata: { ...o.metadata, name: rename(o.metadata.name), labels } };
            if (o.roleRef !== undefined) out.roleRef = { ...o.roleRef, name: rename(o.roleRef.name) };
            return out;
        });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rbac-")), "rbac.yaml");
    fs.writeFileSync(file, rbac.map((o) => YAML.stringify(o)).join("---\n"));
    expectExit(run("kubectl", ["apply", "--server-side", "-f", file]), 0, "apply the official istiod RBAC");
    return rbac.map((o) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`);
}

/**
 * The live objects the report needs to predict what proxies receive (namespaces, Services, Sidecars, mesh ConfigMaps)
 * and, for who can call whom, what admits them (AuthorizationPolicies, NetworkPolicies, workloads, injector webhooks).
 */
export function liveSubjects(): Subject[] {
    return [
        "namespaces",
        "services",
        "sidecars.networking.istio.io",
        "serviceentries.networking.istio.io",
        "configmaps",
        "authorizationpolicies.security.istio.io",
        "networkpolicies.networking.k8s.io",
        "deployments.apps",
        "statefulsets.apps",
        "daemonsets.apps",
        "mutatingwebhookconfigurations.admissionregistration.k8s.io",
    ]
        .flatMap((r) => kubectlJson(["get", r, "-A"]).items)
        .map((object: any) => ({ object, origin: {} }));
}

export interface ViewRow {
    namespace: string;
    /** `default` for the pods no workload Sidecar selects, else `Sidecar <name>`. */
    proxy: string;
    /** Namespaces the report says this proxy's Sidecar imports. */
    sidecarImports: string[];
    reportServices: string[];
    istiodServices: string[];
    reportNamespaces: string[];
    istiodNamespaces: string[];
    clusters: number;
    otherClusters: string[];
    bytes: ProbeResult["bytes"];
}

const namespaceOf = (id: string) => id.slice(0, id.indexOf("/"));
const namespacesOf = (ids: string[]) => [...new Set(ids.map(namespaceOf))].sort();

/**
 * For every meshed namespace the report knows, and every workload Sidecar in it: the Services the report predicts its
 * proxies receive (the report's visible Services, within what that proxy's Sidecar imports) beside what its usergroup's
 * istiod really sends a probe claiming that namespace and the Sidecar's selector labels.
 */
export function compareViews(subjects: Subject[], istiods: ReadonlyMap<string, Istiod>, istioVersion: string): { rows: ViewRow[]; mismatches: string[] } {
    const model = visibilityModel(subjects);
    const rows: ViewRow[] = [];
    const mismatches: string[] = [];
    for (const scope of model.scopes) {
        const istiod = scope.usergroup !== undefined ? istiods.get(scope.usergroup) : undefined;
        if (istiod === undefined || scope.services === undefined) {
            mismatches.push(`${scope.namespace}: ${istiod === undefined ? "no istiod runs for its usergroup" : "the report computed no Services"}`);
            continue;
        }
        // Each proxy's own prediction: the namespace's default scope, and each workload Sidecar's (hosts included).
        const proxies = [
            { proxy: "default", labels: {} as Record<string, string>, imports: scope.defaultImports, visible: scope.defaultServices?.visible ?? [] },
            ...scope.workloadSidecars.map((w) => ({ proxy: `Sidecar ${w.sidecar}`, labels: w.selector, imports: w.imports, visible: w.services?.visible ?? [] })),
        ];
        for (const p of proxies) {
            const predicted = [...p.visible].sort();
            const result = probe(istiod.grpc, scope.namespace, { labels: p.labels, istioVersion });
            const got = receivedServices(result);
            rows.push({
                namespace: scope.namespace,
                proxy: p.proxy,
                sidecarImports: p.imports,
                reportServices: predicted,
                istiodServices: got.services,
                reportNamespaces: namespacesOf(predicted),
                istiodNamespaces: namespacesOf(got.services),
                clusters: result.clusters.length,
                otherClusters: got.other,
                bytes: result.bytes,
            });
            if (JSON.stringify(predicted) !== JSON.stringify(got.services)) {
                mismatches.push(`${scope.namespace} (${p.proxy}): report ${JSON.stringify(predicted)}, istiod ${JSON.stringify(got.services)}`);
            }
        }
    }
    return { rows, mismatches };
}

/** One line per probed proxy: the report's prediction and istiod's view side by side. */
export function viewTable(rows: ViewRow[]): string[] {
    return rows.map(
        (r) =>
            `${r.namespace.padEnd(12)} ${r.proxy.padEnd(14)} imports ${r.sidecarImports.join(",")} | report ${r.reportServices.join(",") || "-"} | istiod ${r.istiodServices.join(",") || "-"} | ${r.clusters} clusters, CDS/LDS/RDS ${r.bytes.cds}/${r.bytes.lds}/${r.bytes.rds} B`,
    );
}

/**
 * Each usergroup's istiod as a pod on the node (scripts/node.sh builds its image from the toolchain's pilot-discovery):
 * the official istiod chart rendered by the toolchain's istioctl with the values the plan passes to Helm, the image set
 * to the local one. Waits until every istiod has rolled out and written its CA into its webhooks. Returns the
 * cluster-scoped objects it applied (webhooks, cluster roles and bindings), which the caller deletes.
 */
export async function installIstiodPods(plan: TenancyPlan, apply: (objects: any[]) => void): Promise<any[]> {
    const clusterScoped: any[] = [];
    for (const cp of plan.controlPlanes) {
        const values = cp.revisions[0].istiod.values as Record<string, any>;
        // The local image, and requests a two-core node can hold for two istiods beside the suites' pods.
        const pilot = { ...values.pilot, image: NODE_IMAGES.pilot, resources: { requests: { cpu: "50m", memory: "128Mi" } } };
        const objects = renderOfficial(istioOperatorFor({ ...values, pilot })).filter((o) => o.kind !== "CustomResourceDefinition");
        clusterScoped.push(...objects.filter((o) => o.metadata.namespace === undefined));
        apply(objects);
    }
    for (const cp of plan.controlPlanes) {
        const deployment = `istiod-${cp.revisions[0].name}`;
        expectExit(run("kubectl", ["rollout", "status", "deployment", deployment, "-n", cp.systemNamespace, "--timeout=300s"]), 0, `${cp.systemNamespace}/${deployment} rolled out`);
    }
    // istiod writes its CA into the caBundle of the webhooks labelled with its revision once it serves them.
    await until(() => webhooksWithoutCa().length === 0, 120, () => `webhooks without a CA bundle: ${webhooksWithoutCa().join(", ")}`);
    return clusterScoped;
}

export function webhooksWithoutCa(): string[] {
    return kubectlJson(["get", "mutatingwebhookconfigurations"])
        .items.flatMap((c: any) => (c.webhooks ?? []).filter((w: any) => w.clientConfig?.service !== undefined && !w.clientConfig.caBundle).map((w: any) => `${c.metadata.name}/${w.name}`));
}

/** Polls `done` each second (after `refresh`, if given) until it holds; after `seconds`, fails with `why()`. */
export async function until(done: () => boolean, seconds: number, why: () => string, refresh?: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        if (refresh !== undefined) await refresh();
        if (done()) return;
        if (Date.now() > deadline) throw new Error(`not after ${seconds}s: ${why()}`);
        await sleep(1000);
    }
}
