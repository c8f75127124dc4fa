import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { promisify } from "node:util";
import * as YAML from "yaml";
import { planTenancy, plannedObjects, KubeObject } from "../../plan";
import { describeWorkload, INJECT_TEMPLATES_ANNOTATION, readWorkload, Workload } from "../../policy/semantics/workloads";
import { Inventory } from "../../policy/semantics/inventory";
import { acceptsPlaintext, sharesRoot } from "../../policy/semantics/mtls";
import { l3Admission } from "../../policy/semantics/networkPolicy";
import type { Subject } from "../../policy/semantics/objects";
import { meshView, MeshView } from "../../policy/semantics/reachability";
import { REVISION_LABEL, SERVICE_EXPORT_TO_ANNOTATION } from "../../policy/semantics/labels";
import { injectionOf } from "../../policy/semantics/injection";
import { compareAdmission } from "../authz/istiodAuthz";
import { ROOT, loadStack } from "../harness/configs";
import { applyList, expectExit, kubectlJson, NODE_IMAGES, run, waitForDefaultServiceAccounts } from "./harness";
import { installIstiodPods, istioBuild, liveSubjects as reportSubjects, sleep, until } from "./istio";

/**
 * Authorization enforced by Istio's own data plane, on real calls. Envoy cannot run here, but Istio's proxyless gRPC
 * can: pods injected with the `grpc-agent` template get pilot-agent (no Envoy), and grpc-go's xDS client and server take
 * the listeners, routes, clusters, mTLS settings and RBAC filters istiod sends them. In every tenant, shared and
 * system namespace of the local stack (and the rogue team's), a `grpc-server` runs Istio's echo server behind a Service,
 * and a `grpc-caller` calls every server (mesh-caller, run with kubectl exec). Each call's outcome is judged against the
 * model layer by layer: the caller's proxy imports the service (Sidecar egress, exportTo, discovery), the server's
 * NetworkPolicies admit the caller (kube-router enforces them), the two sidecars complete mutual TLS (each usergroup's
 * istiod signs with its own root), and the server's AuthorizationPolicies admit the caller's identity. A call the model
 * admits must come back from the server's own pod; one it refuses at RBAC must be refused with PermissionDenied (grpc-go
 * evaluated the RBAC filter istiod compiled); one it refuses earlier must not get through. Then, for every server, the
 * callers grpc-go admitted or refused at RBAC are held to the verdicts of the RBAC istiod compiles for an Envoy sidecar
 * of the same workload (test/authz/istiodAuthz.ts, read through the xDS probe).
 *
 * Every server also answers plain HTTP on 8080, which no proxy sees: nothing captures a proxyless pod's traffic, so
 * only the ports its gRPC server takes from xDS check identities. Those calls are held to the model as it reads such a
 * pod (`inboundBypass`: every port around the mesh, so only NetworkPolicies decide), and the gRPC calls to the model's
 * verdict for the same pod with an Envoy sidecar (what istiod compiled and grpc-go enforced on that port).
 *
 * Proxyless specifics the suite provides, as a proxyless deployment must: no automatic mTLS for gRPC clients, so each
 * caller namespace has a DestinationRule `ISTIO_MUTUAL` for each server that has a proxy, visible to itself only.
 * Names resolve through the node's CoreDNS (scripts/node.sh).
 */

const LABEL = "mesh-tenancy.io/e2e-grpc";
const PORT = 7070;
/** The echo server's plain HTTP port, outside xDS. */
const HTTP_PORT = 8080;
const SERVER = "grpc-server";
const INTRUDER = "grpc-intruder";
const CALLER = "grpc-caller";
/**
 * A call's deadline. kube-router rejects what NetworkPolicies refuse, but the kernel rate-limits the ICMP replies, so a
 * refused connection may first see its SYN dropped; the retries (1 s, 3 s) are rejected well within this. A call with
 * no route waits for a listener istiod never sends until this deadline.
 */
const CALL_TIMEOUT = "5s";
/** How long a round of calls may keep disagreeing while istiod pushes and kube-router syncs. */
const SETTLE_SECONDS = 120;

/**
 * admitted: the server's pod answered; denied: its RBAC refused (PermissionDenied); refused: the connection or the
 * handshake failed (kube-router rejects what NetworkPolicies refuse); unrouted: the caller's proxy has no route to it
 * (istiod sent no listener for the service: not imported, not exported to it, or not discovered).
 */
type Outcome = "admitted" | "denied" | "refused" | "unrouted";

interface Seen {
    code: string;
    hostname?: string;
    error?: string;
}

interface Cell {
    caller: string;
    server: string;
    /** gRPC through istiod's config (7070), or plain HTTP (8080). */
    via: "grpc" | "http";
    seen: Seen;
    observed: Outcome;
    expected: Outcome;
    why: string;
}

describe("a node with Istio's proxyless gRPC data plane: real calls admitted and refused as the model says, layer by layer", function () {
    this.timeout(20 * 60 * 1000);
    const plan = planTenancy(loadStack("local"));
    const build = istioBuild(plan.base.version);
    const rogue = YAML.parseAllDocuments(fs.readFileSync(path.join(ROOT, "test", "e2e", "rogue-team", "manifests.yaml"), "utf8")).map((d) => d.toJS() as KubeObject);
    const systemNamespaces = plan.controlPlanes.map((cp) => cp.systemNamespace);
    const namespaces = [...systemNamespaces, ...plan.namespaces.map((n) => n.name), ...rogue.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name as string)];
    const timings: Record<string, number> = {};
    let clusterScoped: any[] = [];
    let applied = false;
    /** Namespaces whose pods istiod injects. */
    let meshed = new Set<string>();

    before(async function () {
        if (kubectlJson(["get", "nodes"]).items.length === 0) {
            console.log("      no node in the cluster (start it with MESH_TENANCY_NODE=1, see scripts/README.md): skipped");
            this.skip();
        }
        const start = Date.now();
        applied = true;
        // What decides a call: namespaces, injector webhooks, Istio's config and the NetworkPolicies. Not the gateways'
        // Deployments (Envoy) nor the admission guardrails (this suite writes as the platform).
        const planned = plannedObjects(plan).filter((o) => o.kind === "Namespace" || o.kind === "MutatingWebhookConfiguration" || o.kind === "NetworkPolicy" || /\.istio\.io\//.test(o.apiVersion));
        apply([...planned.filter((o) => o.kind === "Namespace"), ...rogue.filter((o) => o.kind === "Namespace")]);
        waitForDefaultServiceAccounts(namespaces);
        apply([...planned.filter((o) => o.kind !== "Namespace"), ...rogue.filter((o) => o.kind !== "Namespace")]);
        clusterScoped = await installIstiodPods(plan, apply);
        timings["istiods ready"] = (Date.now() - start) / 1000;
        const revisionOf = (ns: string) => plan.controlPlanes.find((cp) => cp.systemNamespace === ns)?.revisions[0].name;
        await untilInjectorsAnswer(plan.controlPlanes.map((cp) => [cp.systemNamespace, cp.revisions[0].name]));
        // Which namespaces' pods the API server has an istiod inject (a dry run asks it): those run the proxyless data
        // plane; elsewhere the server is a plain gRPC server and there is no caller (it could not speak xDS).
        meshed = new Set(namespaces.filter((ns) => injected(dryRunCreate(serverPod(ns, revisionOf(ns), true)))));
        const pods = namespaces.flatMap((ns) => (meshed.has(ns) ? [serverPod(ns, revisionOf(ns), true), callerPod(ns, revisionOf(ns))] : [serverPod(ns, revisionOf(ns), false)]));
        apply([...namespaces.filter((ns) => meshed.has(ns)).flatMap((ns) => mtlsForCallers(ns, [...meshed])), ...namespaces.map((ns) => serverService(ns, plan.namespaces.find((n) => n.name === ns)?.serviceExportTo))]);
        apply(pods);
        for (const ns of namespaces) {
            expectExit(run("kubectl", ["wait", "--for=condition=Ready", "pod", "-l", LABEL, "-n", ns, "--timeout=240s"]), 0, `pods of ${ns} Ready`);
        }
        timings["pods ready"] = (Date.now() - start) / 1000;
        await untilServing(namespaces.filter((ns) => meshed.has(ns)));
        timings["servers serving"] = (Date.now() - start) / 1000;
    });

    after(() => {
        if (!applied) return;
        if (process.env.MESH_TENANCY_E2E_KEEP === "1") return console.log("      MESH_TENANCY_E2E_KEEP=1: the suite's objects are left in the cluster");
        for (const o of clusterScoped) run("kubectl", ["delete", o.kind, o.metadata.name, "--ignore-not-found"]);
        run("kubectl", ["delete", "namespace", "--wait=true", "--timeout=180s", "--ignore-not-found", ...namespaces]);
        console.log(`      grpc e2e timings (s): ${JSON.stringify(timings)}`);
    });

    it("1. every pod the model says is injected runs Istio's proxyless data plane (pilot-agent, no Envoy), and only those", () => {
        const inventory = new Inventory(liveSubjects());
        for (const ns of namespaces) {
            for (const p of kubectlJson(["get", "pods", "-n", ns, "-l", LABEL]).items) {
                const model = injectionOf(inventory, readWorkload({ object: p, origin: {} })!);
                assert.equal(injected(p), model.meshed, `${ns}/${p.metadata.name}: injected as the model says (${model.reason})`);
                if (!model.meshed) continue;
                const names = p.spec.containers.map((c: any) => c.name);
                assert.ok(names.includes("istio-proxy"), `${ns}/${p.metadata.name} has the istio-proxy container`);
                const proxy = p.spec.containers.find((c: any) => c.name === "istio-proxy");
                assert.equal(proxy.image, NODE_IMAGES.proxyless, `${ns}/${p.metadata.name}'s proxy image`);
                assert.ok(!(p.spec.initContainers ?? []).some((c: any) => c.name === "istio-init"), `${ns}/${p.metadata.name} has no traffic capture`);
                const app = p.spec.containers.find((c: any) => c.name === "app");
                assert.ok(app.env.some((e: any) => e.name === "GRPC_XDS_BOOTSTRAP"), `${ns}/${p.metadata.name}'s app reads pilot-agent's xDS bootstrap`);
            }
        }
    });

    let last: Cell[] = [];

    /** Rounds of calls until they agree with the model (istiod pushes and kube-router syncs within seconds) or time runs out. */
    async function settle(): Promise<number> {
        const deadline = Date.now() + SETTLE_SECONDS * 1000;
        for (let rounds = 1; ; rounds++) {
            last = await round(namespaces, meshed);
            if (mismatches(last).length === 0 || Date.now() > deadline) return rounds;
            await sleep(3000);
        }
    }

    /** Settles the calls, prints the matrices and the summary, and asserts every call is as the model says. */
    async function settleAndReport(timing: string): Promise<void> {
        const start = Date.now();
        const rounds = await settle();
        timings[timing] = (Date.now() - start) / 1000;
        printMatrix(namespaces, last);
        summarize(last, rounds);
        assert.deepEqual(mismatches(last), []);
    }

    it("2. every caller's call to every server: admitted, refused at RBAC, or stopped earlier, as the model says", async () => {
        await settleAndReport("calls settled");
        const grpc = last.filter((c) => c.via === "grpc");
        for (const o of ["admitted", "refused", "unrouted"] as Outcome[]) assert.ok(count(grpc, o) > 0, `some gRPC calls ${o}`);
    });

    it("3. a tenant opens one layer or tightens another: the next layer holds, and the calls change as the model says", async () => {
        // An injected namespace nobody planned, whose Sidecar imports everything; ledger opens its NetworkPolicies and
        // exports its service to every namespace (its AuthorizationPolicies still admit only its own and shop);
        // payments refuses shop with a DENY policy of its own.
        const intruder = INTRUDER;
        const [ug] = plan.controlPlanes;
        apply([{ apiVersion: "v1", kind: "Namespace", metadata: { name: intruder, labels: { usergroup: ug.usergroup, [REVISION_LABEL]: ug.revisions[0].name } } }]);
        namespaces.push(intruder);
        waitForDefaultServiceAccounts([intruder]);
        meshed.add(intruder);
        apply([
            { apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "default", namespace: intruder }, spec: { egress: [{ hosts: ["*/*"] }] } },
            { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "open-to-all", namespace: "ledger" }, spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }], policyTypes: ["Ingress"] } },
            serverService("ledger", ["*"]),
            { apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", metadata: { name: "refuse-shop", namespace: "payments" }, spec: { action: "DENY", rules: [{ from: [{ source: { namespaces: ["shop"] } }] }] } },
            ...mtlsForCallers(intruder, [...meshed]),
            ...[...meshed].filter((ns) => ns !== intruder).flatMap((ns) => mtlsForCallers(ns, [intruder])),
            serverService(intruder, undefined),
            serverPod(intruder, undefined, true),
            callerPod(intruder, undefined),
        ]);
        expectExit(run("kubectl", ["wait", "--for=condition=Ready", "pod", "-l", LABEL, "-n", intruder, "--timeout=240s"]), 0, `pods of ${intruder} Ready`);
        await untilServing([intruder]);
        await settleAndReport("calls settled after the changes");
        const cell = (caller: string, server: string, via: "grpc" | "http" = "grpc") => last.find((c) => c.caller === caller && c.server === server && c.via === via)!.observed;
        assert.equal(cell("shop", "payments"), "denied", "payments' DENY policy refuses shop at RBAC");
        assert.equal(cell(intruder, "ledger"), "denied", "ledger's NetworkPolicies and exportTo let the intruder through; its AuthorizationPolicies do not");
        assert.equal(cell(intruder, "ledger", "http"), "admitted", "nothing checks identities on the proxyless pod's plain HTTP port");
    });

    it("4. where grpc-go's RBAC decided a call, istiod's compiled RBAC for an Envoy sidecar of the same workload and the model give the same verdict, side by side", () => {
        const subjects = liveSubjects();
        const accounts = kubectlJson(["get", "serviceaccounts", "-A"]).items.map((object: any) => ({ object, origin: {} }));
        const addrs = new Map(
            plan.controlPlanes.map((cp) => {
                const svc = kubectlJson(["get", "service", `istiod-${cp.revisions[0].name}`, "-n", cp.systemNamespace]);
                return [cp.revisions[0].name, `${svc.spec.clusterIP}:15010`] as const;
            }),
        );
        const { rows } = compareAdmission(subjects, accounts, addrs, build.version, namespaces.filter((ns) => meshed.has(ns)));
        const disagreements: string[] = [];
        let compared = 0;
        const inventory = new Inventory(subjects);
        const view = meshView(inventory, "per-usergroup");
        const server = (ns: string) => view.view(asEnvoySidecar(inventory.workloadsIn(ns).find((w) => w.name === SERVER)!));
        const list = (xs: string[]) => (xs.length === 0 ? "-" : xs.join(","));
        console.log(`      per server: callers whose calls reached its RBAC, and whom grpc-go, istiod's compiled RBAC and the model admit among them`);
        for (const ns of namespaces.filter((n) => meshed.has(n))) {
            const row = rows.find((r) => r.workload === `Pod ${ns}/${SERVER}`);
            assert.ok(row !== undefined, `istiod's compiled RBAC for ${ns}/${SERVER} was read`);
            const decided = last.filter((x) => x.via === "grpc" && x.server === ns && (x.observed === "admitted" || x.observed === "denied"));
            const real = decided.filter((c) => c.observed === "admitted").map((c) => c.caller);
            const compiled = decided.filter((c) => row.istiod.includes(c.caller)).map((c) => c.caller);
            const model = decided.filter((c) => server(ns).mesh!.sources.has(c.caller)).map((c) => c.caller);
            console.log(`      ${ns.padEnd(14)} reached ${list(decided.map((c) => c.caller)).padEnd(28)} real calls ${list(real).padEnd(24)} istiod ${list(compiled).padEnd(24)} model ${list(model)}`);
            for (const c of decided) {
                compared++;
                const byIstiod = row.istiod.includes(c.caller);
                const byModel = server(ns).mesh!.sources.has(c.caller);
                if (byIstiod !== (c.observed === "admitted") || byModel !== byIstiod) disagreements.push(`${c.caller} → ${ns}: grpc-go ${c.observed}, istiod's compiled RBAC ${byIstiod ? "admits" : "refuses"}, model ${byModel ? "admits" : "refuses"}`);
            }
        }
        console.log(`      ${compared} calls decided by grpc-go's RBAC, each held to istiod's compiled RBAC and the model: ${disagreements.length} disagreements`);
        for (const d of disagreements) console.log(`      DISAGREE ${d}`);
        assert.deepEqual(disagreements, []);
        assert.ok(compared > 0);
    });
});

function apply(objects: unknown[]): void {
    applyList(objects, "e2e-grpc");
}

/** Pods in a system namespace are not injected by their namespace's labels: they name their revision themselves. */
function podLabels(revision: string | undefined, app: string): Record<string, string> {
    return { app, [LABEL]: "true", ...(revision !== undefined ? { [REVISION_LABEL]: revision } : {}) };
}

const PROXYLESS_ANNOTATIONS: Record<string, string> = {
    "inject.istio.io/templates": "grpc-agent",
    "sidecar.istio.io/proxyImage": NODE_IMAGES.proxyless,
    // The app starts once pilot-agent is ready (the injector puts it first, with a postStart wait).
    "proxy.istio.io/config": JSON.stringify({ holdApplicationUntilProxyStarts: true }),
    // A two-core node holds twenty of these beside two istiods.
    "sidecar.istio.io/proxyCPU": "10m",
    "sidecar.istio.io/proxyMemory": "40Mi",
};

function basePod(namespace: string, name: string, revision: string | undefined, app: any): any {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace, labels: podLabels(revision, name), annotations: PROXYLESS_ANNOTATIONS },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "app", image: NODE_IMAGES.proxyless, imagePullPolicy: "Never", ...app }] },
    };
}

/** Istio's echo server; with `xds`, its gRPC port takes its listener (mTLS, RBAC) from istiod through pilot-agent. */
function serverPod(namespace: string, revision: string | undefined, xds: boolean): any {
    return basePod(namespace, SERVER, revision, {
        command: ["/usr/local/bin/istio-echo", `--grpc=${PORT}`, ...(xds ? [`--xds-grpc-server=${PORT}`] : []), `--port=${HTTP_PORT}`, "--tcp=9090"],
        ports: [
            { containerPort: PORT, name: "grpc" },
            { containerPort: HTTP_PORT, name: "http" },
        ],
    });
}

function callerPod(namespace: string, revision: string | undefined): any {
    return basePod(namespace, CALLER, revision, { command: ["/usr/local/bin/mesh-caller", "-wait"] });
}

/** The server's Service, exported where the plan exports its namespace's services (`exportTo`: istiod's default elsewhere). */
function serverService(namespace: string, exportTo: string[] | undefined): any {
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: SERVER, namespace, labels: { [LABEL]: "true" }, ...(exportTo !== undefined ? { annotations: { [SERVICE_EXPORT_TO_ANNOTATION]: exportTo.join(",") } } : {}) },
        spec: {
            selector: { app: SERVER },
            ports: [
                { name: "grpc", port: PORT, targetPort: PORT, appProtocol: "grpc" },
                { name: "http", port: HTTP_PORT, targetPort: HTTP_PORT },
            ],
        },
    };
}

/**
 * Proxyless clients have no automatic mTLS. As a sidecar's auto mTLS would, this namespace's callers use ISTIO_MUTUAL
 * towards the servers that have a proxy, and plaintext towards the others; visible to this namespace only.
 */
function mtlsForCallers(namespace: string, meshedServers: ReadonlyArray<string>): any[] {
    return meshedServers.map((server) => ({
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        metadata: { name: `mtls-to-${server}`, namespace, labels: { [LABEL]: "true" } },
        spec: { host: `${SERVER}.${server}.svc.cluster.local`, exportTo: ["."], trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
    }));
}

/**
 * Whether a gRPC server listens in serving mode: grpc-go's xDS server closes every connection until it has its
 * listener from istiod, and once it has it holds a connection open for the TLS handshake (a plain gRPC server for the
 * HTTP/2 preface). Asked from the node, which every NetworkPolicy admits, so no policy of the suite decides it.
 */
function serving(ip: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: ip, port });
        const done = (open: boolean) => {
            clearTimeout(timer);
            socket.destroy();
            resolve(open);
        };
        const timer = setTimeout(() => done(true), 1500);
        socket.on("close", () => done(false));
        socket.on("error", () => done(false));
    });
}

/**
 * Waits until every server in `namespaces` serves, or fails naming those that do not. The app starts after pilot-agent
 * is ready (PROXYLESS_ANNOTATIONS), so its first xDS stream finds the agent; one that started before (seen once in CI,
 * without the hold) kept failing to reach pilot-agent's socket, backed off, and stayed NOT_SERVING past the settling
 * time: every call to it timed out "waiting for connections to become ready". This tells that apart from the model.
 */
async function untilServing(namespaces: string[]): Promise<void> {
    let waiting = namespaces;
    await until(
        () => waiting.length === 0,
        120,
        () => `gRPC servers not serving (closing every connection: no listener from istiod yet): ${waiting.join(", ")}`,
        async () => {
            const states = await Promise.all(waiting.map((ns) => serving(kubectlJson(["get", "pod", SERVER, "-n", ns]).status.podIP, PORT)));
            waiting = waiting.filter((_, i) => !states[i]);
        },
    );
}

/** The injectors answer once each istiod's Service has endpoints in kube-proxy's rules (seconds after it is Ready). */
async function untilInjectorsAnswer(revisions: [string, string][]): Promise<void> {
    let lastError = "";
    await until(
        () =>
            revisions.every(([ns, rev]) => {
                const r = run("kubectl", ["create", "--dry-run=server", "-o", "name", "-f", "-"], { input: JSON.stringify(serverPod(ns, rev, true)) });
                if (r.code !== 0) lastError = r.stderr.trim();
                return r.code === 0;
            }),
        120,
        () => `an injector still fails: ${lastError}`,
    );
}

/** Each caller calls every server once, all callers at once. */
async function round(namespaces: string[], meshed: ReadonlySet<string>): Promise<Cell[]> {
    const callers = namespaces.filter((ns) => meshed.has(ns));
    const inventory = new Inventory(liveSubjects());
    const view = meshView(inventory, "per-usergroup");
    const byPod = new Map(inventory.ofKind("Pod").map((s) => [`${s.object.metadata.namespace}/${s.object.metadata.name}`, readWorkload(s)!] as const));
    const targets = namespaces.flatMap((ns) => [`${ns}=xds:///${SERVER}.${ns}.svc.cluster.local:${PORT}`, `${ns}/http=http://${SERVER}.${ns}.svc.cluster.local:${HTTP_PORT}/`]);
    const outputs = await Promise.all(
        callers.map((ns) =>
            promisify(execFile)("kubectl", ["exec", "-n", ns, CALLER, "-c", "app", "--", "/usr/local/bin/mesh-caller", "-timeout", CALL_TIMEOUT, ...targets], { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 }).then(
                (r) => r.stdout,
                (err) => {
                    throw new Error(`mesh-caller in ${ns} failed: ${err.stderr ?? err.message}`);
                },
            ),
        ),
    );
    const cells: Cell[] = [];
    callers.forEach((caller, i) => {
        const seen = new Map<string, Seen>(outputs[i].trim().split("\n").map((line) => JSON.parse(line)).map((o: any) => [o.target, o] as const));
        for (const server of namespaces) {
            const callerW = byPod.get(`${caller}/${CALLER}`);
            const serverW = byPod.get(`${server}/${SERVER}`);
            assert.ok(callerW !== undefined && serverW !== undefined, `pods of ${caller} and ${server} in the inventory`);
            for (const via of ["grpc", "http"] as const) {
                const s = seen.get(via === "grpc" ? server : `${server}/http`) ?? { code: "missing" };
                const observed = observedOutcome(s);
                const { outcome, why } = via === "grpc" ? expectedOutcome(view, inventory, callerW, serverW) : expectedPlain(view, inventory, callerW, serverW);
                // Admitted means the server's own pod answered.
                const wrongPod = s.code === "OK" && s.hostname !== SERVER;
                cells.push({ caller, server, via, seen: s, observed: wrongPod ? "refused" : observed, expected: outcome, why });
            }
        }
    });
    return cells;
}

function observedOutcome(s: Seen): Outcome {
    if (s.code === "OK") return "admitted";
    if (s.code === "PermissionDenied") return "denied";
    // grpc-go waits for a listener istiod never sends until the call's deadline (or says it was removed).
    if (s.code === "DeadlineExceeded" && /^http|Client.Timeout/.test(s.error ?? "")) return "refused";
    if (s.code === "DeadlineExceeded" || /resource .* (has been removed|does not exist)/.test(s.error ?? "")) return "unrouted";
    return "refused";
}

/**
 * The model's account of one call, layer by layer, each answered by the semantics code: what the caller's proxy
 * imports, what the server's NetworkPolicies admit on the port, whether the two sidecars share a root, and what the
 * server's AuthorizationPolicies admit.
 */
function expectedOutcome(view: MeshView, inventory: Inventory, caller: Workload, server: Workload): { outcome: Outcome; why: string } {
    const c = view.view(caller);
    const s = view.view(asEnvoySidecar(server));
    if (!view.canResolve(c, server.namespace)) return { outcome: "unrouted", why: `${describeWorkload(caller)} does not import a service of ${server.namespace} exported to it` };
    const l3 = l3Admission(inventory, server, { port: PORT });
    if (!l3.sources.has(caller.namespace)) return { outcome: "refused", why: `NetworkPolicies refuse: ${l3.sources.why(caller.namespace).join("; ")}` };
    // No sidecar: nothing checks identities (the caller sends plaintext, as auto mTLS would to a pod without one).
    if (!s.injection.meshed) return { outcome: "admitted", why: `${describeWorkload(server)} has no sidecar (${s.injection.reason})` };
    if (!acceptsPlaintext(s.mtls!) && !sharesRoot(view.caTopology, c.revision?.namespace, s.revision?.namespace)) return { outcome: "refused", why: `certificates of ${c.revision?.namespace} and ${s.revision?.namespace} chain to different roots` };
    if (!s.mesh!.sources.has(caller.namespace)) return { outcome: "denied", why: `AuthorizationPolicies refuse ${caller.namespace}` };
    return { outcome: "admitted", why: s.mesh!.sources.why(caller.namespace).join("; ") || "no policy narrows it" };
}

/**
 * The pod as if injected with the `sidecar` template: on the port its gRPC server takes from xDS, grpc-go enforces the
 * listener istiod compiles, mTLS and RBAC as an Envoy sidecar would. (The model reads the pod as it is for everything
 * else: `inboundBypass` finds no capture.) Kept per pod, so the view caches it.
 */
const envoyTwins = new WeakMap<Workload, Workload>();
function asEnvoySidecar(w: Workload): Workload {
    let twin = envoyTwins.get(w);
    if (twin === undefined) {
        const { [INJECT_TEMPLATES_ANNOTATION]: _template, ...annotations } = w.annotations;
        envoyTwins.set(w, (twin = { ...w, annotations }));
    }
    return twin;
}

/** Plain HTTP to the echo server's own port: no proxy on either side, so what the model admits to the pod as it is. */
function expectedPlain(view: MeshView, inventory: Inventory, caller: Workload, server: Workload): { outcome: Outcome; why: string } {
    const l3 = l3Admission(inventory, server, { port: HTTP_PORT });
    if (!l3.sources.has(caller.namespace)) return { outcome: "refused", why: `NetworkPolicies refuse: ${l3.sources.why(caller.namespace).join("; ")}` };
    const s = view.view(server);
    if (!s.admitted.has(caller.namespace)) return { outcome: "denied", why: `the model says the mesh refuses ${caller.namespace}` };
    return { outcome: "admitted", why: s.admitted.why(caller.namespace).join("; ") };
}

function mismatches(cells: Cell[]): string[] {
    return cells.filter((c) => c.observed !== c.expected).map((c) => `${c.caller} → ${c.server} (${c.via}): model ${c.expected} (${c.why}), real call ${c.seen.code}${c.seen.error ? ` (${c.seen.error})` : ""}`);
}

function summarize(all: Cell[], rounds: number): void {
    const cells = all.filter((c) => c.via === "grpc");
    const plain = all.filter((c) => c.via === "http");
    console.log(`      plain HTTP: ${plain.length} calls, ${count(plain, "admitted")} answered, ${plain.filter((c) => c.observed === "admitted" && cells.some((g) => g.caller === c.caller && g.server === c.server && g.observed !== "admitted")).length} of them from callers the gRPC port refused`);
    console.log(`      ${cells.length} gRPC calls in ${rounds} round(s): ${count(cells, "admitted")} admitted, ${count(cells, "denied")} refused by the server's RBAC (PermissionDenied), ${count(cells, "refused")} refused on the wire, ${count(cells, "unrouted")} without a route`);
    for (const m of mismatches(all)) console.log(`      DISAGREE ${m}`);
}

function count(cells: Cell[], o: Outcome): number {
    return cells.filter((c) => c.observed === o).length;
}

function printMatrix(namespaces: string[], all: Cell[]): void {
    for (const via of ["grpc", "http"] as const) {
        console.log(via === "grpc" ? `      gRPC on ${PORT}, through istiod's listeners, routes and RBAC:` : `      plain HTTP on ${HTTP_PORT}, which no proxy sees:`);
        printOne(namespaces, all.filter((c) => c.via === via));
    }
}

function printOne(namespaces: string[], cells: Cell[]): void {
    const width = Math.max(...namespaces.map((n) => n.length));
    const letter: Record<Outcome, string> = { admitted: "A", denied: "D", refused: "r", unrouted: "." };
    console.log(`      caller (row) → server (column): A admitted, D PermissionDenied by the server's RBAC, r connection or handshake refused, . no route; ! the model disagrees`);
    namespaces.forEach((n, i) => console.log(`      [${i + 1}] ${n}`));
    console.log(`      ${" ".repeat(width)}  ${namespaces.map((_, i) => `[${i + 1}]`.padEnd(5)).join("")}`);
    for (const caller of namespaces.filter((n) => cells.some((c) => c.caller === n))) {
        const row = namespaces.map((server) => {
            const c = cells.find((x) => x.caller === caller && x.server === server)!;
            return `${letter[c.observed]}${c.observed === c.expected ? "" : "!"}`.padEnd(5);
        });
        console.log(`      ${caller.padEnd(width)}  ${row.join("")}`);
    }
}

/** What the model reads for a call, as the API server holds it: what the report reads, and the pods and mTLS settings. */
function liveSubjects(): Subject[] {
    const more = ["pods", "destinationrules.networking.istio.io", "peerauthentications.security.istio.io"].flatMap((r) => kubectlJson(["get", r, "-A"]).items).map((object: any) => ({ object, origin: {} }));
    return [...reportSubjects(), ...more];
}

/** The pod as the API server would store it, after the injectors (a server-side dry run stores nothing). */
function dryRunCreate(pod: any): any {
    return JSON.parse(expectExit(run("kubectl", ["create", "--dry-run=server", "-o", "json", "-f", "-"], { input: JSON.stringify(pod) }), 0, `dry-run ${pod.metadata.namespace}/${pod.metadata.name}`).stdout);
}

function injected(pod: any): boolean {
    return (pod.spec.containers ?? []).some((c: any) => c.name === "istio-proxy");
}
