/**
 * The one cluster fixture of the engine's feature suites (install.e2e.ts, isolation.e2e.ts, guardrails.e2e.ts,
 * operations.e2e.ts): stack `local` on the local control plane scripts/e2e.sh starts, the real istiod of each usergroup,
 * and what the suites check with. Each suite asks for the state it needs (`ensureUp`, `ensureIstiods`), so each runs
 * alone (`npm run test:e2e -- --grep isolation`) or after the others in one process, which then share one `up` and one
 * set of istiods.
 */
import * as assert from "node:assert/strict";
import * as os from "os";
import { planTenancy, KubeObject } from "../../plan";
import { loadStack } from "../harness/configs";
import { SERVICE_EXPORT_TO_ANNOTATION } from "../../policy/semantics/labels";
import { clockInto, expectExit, kubectlJson, pulumi, run, Run } from "./harness";
import { binary, grantOfficialRbac, Istiod, istioBuild, startIstiod, sleep } from "./istio";

export const STACK = "local";
export const POLICY = ["--policy-pack", "policy", "--policy-pack-config", "policy/config/dev.json"];
export const timings: Record<string, number> = {};
export const timed = (what: string, r: Run) => ((timings[what] = Math.round(r.seconds * 10) / 10), r);
export const clock = clockInto(timings);
/** Where the measured views are written, for the notes: the cluster's state dir (kept on failure). */
export const OUT_DIR = process.env.MESH_TENANCY_CLUSTER_DIR ?? os.tmpdir();
export const plan = planTenancy(loadStack(STACK));
export const tenantNamespaces = plan.namespaces.map((n) => n.name);

/** The plural resource name kubectl takes for each kind the plan creates. */
export const RESOURCE: Record<string, string> = {
    Namespace: "namespaces",
    Sidecar: "sidecars.networking.istio.io",
    Gateway: "gateways.networking.istio.io",
    PeerAuthentication: "peerauthentications.security.istio.io",
    AuthorizationPolicy: "authorizationpolicies.security.istio.io",
    NetworkPolicy: "networkpolicies.networking.k8s.io",
    RoleBinding: "rolebindings.rbac.authorization.k8s.io",
    ResourceQuota: "resourcequotas",
    ConfigMap: "configmaps",
    ClusterRole: "clusterroles.rbac.authorization.k8s.io",
    ValidatingAdmissionPolicy: "validatingadmissionpolicies.admissionregistration.k8s.io",
    ValidatingAdmissionPolicyBinding: "validatingadmissionpolicybindings.admissionregistration.k8s.io",
};

/** The running istiod of each usergroup, once a suite has asked for them. */
export const istiods = new Map<string, Istiod>();

// A root hook: whichever suites ran, their istiods stop and the timings are printed, once.
after(async () => {
    for (const istiod of istiods.values()) await istiod.stop();
    if (Object.keys(timings).length > 0) console.log(`      e2e timings (s): ${JSON.stringify(timings)}`);
});

let stackSelected = false;
/** `pulumi stack select --create local`, once per process. */
export function selectStack(): void {
    if (stackSelected) return;
    expectExit(pulumi(["stack", "select", "--create", STACK]), 0, "select stack");
    stackSelected = true;
}

let up = false;
/** Records whether the stack is up as the plan says: a suite's own `up` made it so, or its destroy undid it. */
export function markUp(isUp: boolean): void {
    up = isUp;
}

/** An empty stack, as a first install finds it: what an earlier suite left up is destroyed. */
export function freshStack(): void {
    selectStack();
    const resources = JSON.parse(expectExit(pulumi(["stack", "export", "--stack", STACK]), 0, "stack export").stdout).deployment?.resources?.length ?? 0;
    if (resources > 0) timed("destroy before install", expectExit(pulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK]), 0, "destroy what an earlier suite left"));
    up = false;
}

/** Stack `local` up with the policy pack: once per process, unless a suite destroyed it since. */
export function ensureUp(): void {
    selectStack();
    if (up) return;
    timed("up (fixture)", expectExit(pulumi(["up", "--yes", "--skip-preview", "--stack", STACK, ...POLICY]), 0, "up"));
    up = true;
}

/**
 * The real istiod of each usergroup, started out of cluster as its chart's ServiceAccount on the deployed mesh config,
 * with a Service in each shared namespace and a second one in each tenant, annotated as the stack outputs say app teams
 * must (tenants also have the program's echo Service; system namespaces hold the istiod Service). Started once per
 * process.
 */
export async function ensureIstiods(): Promise<Map<string, Istiod>> {
    ensureUp();
    if (istiods.size === plan.controlPlanes.length) return istiods;
    const build = istioBuild(plan.base.version);
    // And a second Service in each tenant, exported like its smoke echo: a Sidecar that names one Service of a peer by
    // host (shop's audit Sidecar: ledger/smoke-echo.ledger.svc.cluster.local) imports that one and not this, and the
    // model's prediction and istiod's view must agree on it.
    const extra = (ns: (typeof plan.namespaces)[number], name: string) => ({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, namespace: ns.name, annotations: { [SERVICE_EXPORT_TO_ANNOTATION]: ns.serviceExportTo.join(",") } },
        spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    });
    for (const ns of plan.namespaces) {
        const name = ns.role === "shared" ? "shared-echo" : "second-echo";
        expectExit(run("kubectl", ["apply", "-f", "-"], { input: JSON.stringify(extra(ns, name)) }), 0, `Service ${ns.name}/${name}`);
    }
    await clock("istiods ready", async () => {
        for (const cp of plan.controlPlanes) {
            if (istiods.has(cp.usergroup)) continue;
            grantOfficialRbac(cp.revisions[0].istiod.values as Record<string, any>, build.suffix);
            istiods.set(cp.usergroup, await startIstiod(cp, build.suffix));
        }
    });
    await sleep(3000); // let each istiod push what it discovered
    return istiods;
}

export interface AnalyzerMessage {
    code: string;
    level: string;
    origin?: string;
    message?: string;
}

/**
 * `istioctl analyze -A` against the live cluster (every namespace; without -A only `default` is read), once per
 * revision of the stack: istioctl reads revision-labelled objects, the injector webhooks among them, only for the
 * revision it is given (`--revision`, default `default`), so a single run sees no injector of a revisioned control plane
 * and reports every gateway Deployment as IST0146. A message about an object in a namespace that another revision owns
 * is left to that revision's run.
 */
export function analyze(): AnalyzerMessage[] {
    const stack = planTenancy(loadStack(STACK));
    const owner = new Map(stack.namespaces.map((ns) => [ns.name, ns.revision]));
    const messages = new Map<string, AnalyzerMessage>();
    for (const revision of new Set(owner.values())) {
        const r = timed(`istioctl analyze -r ${revision}`, run(binary(`istioctl${istioBuild(loadStack(STACK).istio.version).suffix}`), ["analyze", "-A", "-r", revision, "-o", "json"]));
        // Exit 0: nothing found, 79: messages at or above the failure threshold (warning by default).
        if (r.code !== 0 && r.code !== 79) throw new Error(`istioctl analyze: exit ${r.code}\n${r.stderr.slice(-4000)}`);
        const text = r.stdout.trim();
        for (const m of text === "" ? [] : (JSON.parse(text) as AnalyzerMessage[])) {
            const ns = /^\S+ ([^/\s]+)\//.exec(m.origin ?? "")?.[1];
            if (ns !== undefined && owner.has(ns) && owner.get(ns) !== revision) continue;
            messages.set(describeMessage(m), m);
        }
    }
    return [...messages.values()];
}

export function describeMessage(m: AnalyzerMessage): string {
    return `${m.code} ${m.level} ${m.origin ?? ""}: ${m.message ?? ""}`;
}

export function summarise(messages: AnalyzerMessage[]): string {
    const counts = new Map<string, number>();
    for (const m of messages) counts.set(`${m.code} ${m.level}`, (counts.get(`${m.code} ${m.level}`) ?? 0) + 1);
    return [...counts].map(([k, n]) => `${k} ×${n}`).join(", ") || "none";
}

export function clockSync<T>(what: string, f: () => T): T {
    const start = process.hrtime.bigint();
    try {
        return f();
    } finally {
        timings[what] = Math.round(Number(process.hrtime.bigint() - start) / 1e8) / 10;
    }
}

/** Every object as the API server holds it contains what the plan says. */
export function assertPlannedLive(objects: KubeObject[]): void {
    for (const expected of objects) {
        const { kind, metadata } = expected;
        const live = kubectlJson(["get", RESOURCE[kind], metadata.name, ...(metadata.namespace ? ["-n", metadata.namespace] : [])]);
        assertContains(live, expected, `${kind} ${metadata.namespace ?? ""}/${metadata.name}`);
    }
}

export async function waitForAsync(done: () => boolean, seconds: number): Promise<boolean> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
        if (done()) return true;
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return done();
}

export function waitFor(done: () => boolean, seconds: number): boolean {
    for (let i = 0; i < seconds; i++) {
        if (done()) return true;
        run("sleep", ["1"]);
    }
    return done();
}

/**
 * Warnings the API server itself returns about its own bookkeeping, passed on by the provider: under load its ClusterIP
 * repair loop can run between a Service's IP allocation and the allocation's record, and says it repairs it.
 */
export const API_SERVER_HOUSEKEEPING = [/warning: ClusterIPNotAllocated: Cluster IP \[IPv[46]\]: \S+ is not allocated; repairing/];

/** The engine, the provider and the policy pack said nothing a user would read as something being wrong. */
export function assertNoWarning(r: Run): void {
    const lines = (r.stdout + r.stderr).split("\n").filter((l) => /warning/i.test(l) && !API_SERVER_HOUSEKEEPING.some((p) => p.test(l)));
    assert.deepEqual(lines, [], "warnings in the output");
}

/** Each planned object's content by resource name. */
export function resourcesByName(p: ReturnType<typeof planTenancy>): Map<string, string> {
    const objects = [
        ...p.controlPlanes.flatMap((cp) => [cp.namespace, ...cp.objects]),
        ...p.namespaces.flatMap((n) => [n.namespace, ...n.objects, ...(n.gateway?.objects ?? [])]),
    ];
    return new Map(objects.map((o) => [o.resourceName, JSON.stringify(o.object)]));
}

/** Every field the plan sets is on the live object with the same value (the server adds its own fields). */
export function assertContains(live: any, expected: KubeObject | any, where: string): void {
    const walk = (l: any, e: any, at: string) => {
        if (e !== null && typeof e === "object" && !Array.isArray(e)) {
            for (const [k, v] of Object.entries(e)) walk(l?.[k], v, `${at}.${k}`);
        } else {
            assert.deepEqual(normalise(l), normalise(e), `${where}: ${at}`);
        }
    };
    walk(live, expected, "");
}

/** The API server writes quantities back as strings. */
export function normalise(value: unknown): unknown {
    return typeof value === "number" ? String(value) : Array.isArray(value) ? value.map(normalise) : value;
}
