import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { planTenancy, plannedObjects } from "../../plan";
import { loadStack } from "../harness/configs";
import { Inventory } from "../../policy/semantics/inventory";
import { l3Admission } from "../../policy/semantics/networkPolicy";
import type { Subject } from "../../policy/semantics/objects";
import { ISTIOD_PORTS } from "../../policy/semantics/revisions";
import { readWorkload } from "../../policy/semantics/workloads";
import { applyList, expectExit, kubectlJson, NODE_IMAGES, run, waitForDefaultServiceAccounts } from "./harness";

/**
 * Real packets on the local node (scripts/node.sh, MESH_TENANCY_NODE=1): kube-router enforces the NetworkPolicies the
 * program writes, and every connection a probe pod opens must come out as the semantics model's L3 admission says.
 *
 * Self-contained: it applies the stack's namespaces and NetworkPolicies itself (kubectl, from `plannedObjects`, so
 * without Pulumi, istiod or the charts) and deletes them at the end; scripts/e2e.sh runs it on a fresh cluster with a
 * node after the other suites, scripts/node-e2e.sh alone. Every pod runs the node's one image (echoprobe, built by scripts/node.sh) opted out of injection, since no
 * Envoy can run here: each namespace has a `probe` pod that both answers and probes, and each system namespace also an
 * `istiod` stand-in (the labels istiod's NetworkPolicy selects); each pod has a Service of its own, and every port is
 * tried at the pod's address and at the Service's ClusterIP. The node itself probes too: Kubernetes admits traffic
 * from a pod's own node whatever the policies say.
 */

/** Every pod answers on istiod's ports and on the port the smoke workloads serve (8080, istiod's debug port too). */
const PORTS = [ISTIOD_PORTS.xds, ISTIOD_PORTS.secureXdsAndCa, ISTIOD_PORTS.monitoring, ISTIOD_PORTS.webhook, ISTIOD_PORTS.http];
const OUTSIDE = "outside-probe";
const NODE_SOURCE = "(node)";
/** The node probes with the very binary in the pods' image (scripts/node.sh keeps the image's root there). */
const NODE_PROBE = path.join(process.env.MESH_TENANCY_CLUSTER_DIR ?? "/tmp/mesh-tenancy-cluster", "node", "images", "rootfs", "echoprobe");
/** How long the enforcer gets to catch up with a change (kube-router syncs on watch events; 2–6 s seen here). */
const SETTLE_SECONDS = 90;

interface Target {
    namespace: string;
    pod: string;
    /** The pod's own address, or its Service's ClusterIP (kube-proxy's rules, then the same pod). */
    via: "pod" | "Service";
    ip: string;
    port: number;
}

interface Outcome {
    target: string;
    outcome: "admitted" | "refused" | "timeout" | "error";
    reply?: string;
    error?: string;
}

/** source → "ip:port" → what the probe saw. */
type Seen = Map<string, Map<string, Outcome>>;

const key = (t: Target) => `${t.ip}:${t.port}`;
const describeTarget = (t: Target) => `${t.namespace}/${t.pod}${t.via === "Service" ? " Service" : ""}`;

describe("a node: the NetworkPolicies enforced by kube-router admit exactly what the model's L3 admission says", function () {
    this.timeout(20 * 60 * 1000);
    const plan = planTenancy(loadStack("local"));
    const systemNamespaces = plan.controlPlanes.map((cp) => cp.systemNamespace);
    const planned = plannedObjects(plan).filter((o) => o.kind === "Namespace" || o.kind === "NetworkPolicy");
    const namespaces = [...systemNamespaces, ...plan.namespaces.map((n) => n.name), OUTSIDE];
    const timings: Record<string, number> = {};
    let targets: Target[] = [];
    let applied = false;

    before(async function () {
        const nodes = kubectlJson(["get", "nodes"]).items;
        if (nodes.length === 0) {
            console.log("      no node in the cluster (start it with MESH_TENANCY_NODE=1, see scripts/README.md): skipped");
            this.skip();
        }
        const start = Date.now();
        applied = true;
        apply([...planned, { apiVersion: "v1", kind: "Namespace", metadata: { name: OUTSIDE } }]);
        waitForDefaultServiceAccounts(namespaces);
        const pods = namespaces.flatMap((ns) => [pod(ns, "probe", { app: "probe" }), ...(systemNamespaces.includes(ns) ? [pod(ns, "istiod", { app: "istiod" })] : [])]);
        apply(pods);
        apply(pods.map(service));
        for (const ns of namespaces) {
            expectExit(run("kubectl", ["wait", "--for=condition=Ready", "pod", "--all", "-n", ns, "--timeout=180s"]), 0, `pods of ${ns} Ready`);
        }
        timings["pods ready"] = (Date.now() - start) / 1000;
        const clusterIps = new Map<string, string>(kubectlJson(["get", "services", "-A", "-l", "mesh-tenancy.io/e2e-node"]).items.map((s: any) => [`${s.metadata.namespace}/${s.metadata.name}`, s.spec.clusterIP as string] as const));
        targets = kubectlJson(["get", "pods", "-A", "-l", "mesh-tenancy.io/e2e-node"]).items.flatMap((p: any) => {
            const [namespace, pod] = [p.metadata.namespace, p.metadata.name];
            return [
                ...PORTS.map((port): Target => ({ namespace, pod, via: "pod", ip: p.status.podIP, port })),
                ...PORTS.map((port): Target => ({ namespace, pod, via: "Service", ip: clusterIps.get(`${namespace}/${pod}`)!, port })),
            ];
        });
        assert.equal(targets.filter((t) => t.ip !== undefined && t.ip !== "").length, pods.length * PORTS.length * 2, "every pod and Service has an address");
    });

    after(() => {
        if (!applied) return;
        run("kubectl", ["delete", "namespace", "--wait=true", "--timeout=180s", ...namespaces]);
        console.log(`      node e2e timings (s): ${JSON.stringify(timings)}`);
    });

    it("1. every probe's connections, pair by pair and port by port, are what the model admits", async () => {
        const start = Date.now();
        const { seen, expected, mismatches } = await settle(namespaces, targets, () => modelAdmits(liveInventory()));
        timings["matrix settled"] = (Date.now() - start) / 1000;
        printMatrix(namespaces, targets, seen, expected);
        assert.deepEqual(mismatches, []);
        const admitted = [...seen.values()].flatMap((m) => [...m.values()]).filter((o) => o.outcome === "admitted").length;
        const total = [...seen.values()].reduce((n, m) => n + m.size, 0);
        console.log(`      ${total} connections: ${admitted} admitted, ${total - admitted} refused or timed out, all as the model says`);
        // The matrix means something only if both answers occur and tenants are not all open or all closed.
        assert.ok(admitted > 0 && admitted < total, "some connections admitted and some refused");
    });

    it("2. a NetworkPolicy that opens a tenant to every namespace: the model and the connections both see it, and both see it go", async () => {
        const tenant = plan.namespaces.find((n) => n.role === "tenant")!;
        const outsiders = namespaces.filter((ns) => !plan.namespaces.some((n) => n.name === ns && n.usergroup === tenant.usergroup) && ns !== systemNamespaceOf(tenant.usergroup));
        const broken = {
            apiVersion: "networking.k8s.io/v1",
            kind: "NetworkPolicy",
            metadata: { name: "e2e-broken-allow-all", namespace: tenant.name },
            spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: {} }] }] },
        };
        const into = targets.filter((t) => t.namespace === tenant.name);
        const before = modelAdmits(liveInventory());
        assert.deepEqual(outsiders.filter((ns) => into.some((t) => before(ns, t))), [], `before: no namespace outside ${tenant.usergroup} reaches ${tenant.name}`);

        apply([broken]);
        const start = Date.now();
        const opened = await settle(namespaces, into, () => modelAdmits(liveInventory()));
        timings["broken policy seen"] = (Date.now() - start) / 1000;
        printMatrix(namespaces, into, opened.seen, opened.expected);
        assert.deepEqual(opened.mismatches, []);
        for (const ns of outsiders) {
            for (const t of into) {
                assert.ok(opened.expected(ns, t), `the model sees ${ns} reach ${describeTarget(t)}:${t.port}`);
                assert.equal(opened.seen.get(ns)!.get(key(t))!.outcome, "admitted", `${ns} connects to ${describeTarget(t)}:${t.port}`);
            }
        }

        expectExit(run("kubectl", ["delete", "networkpolicy", "-n", tenant.name, broken.metadata.name]), 0, "remove the broken policy");
        const restart = Date.now();
        const closed = await settle(namespaces, into, () => modelAdmits(liveInventory()));
        timings["broken policy gone"] = (Date.now() - restart) / 1000;
        assert.deepEqual(closed.mismatches, []);
        for (const ns of outsiders) {
            for (const t of into) assert.notEqual(closed.seen.get(ns)!.get(key(t))!.outcome, "admitted", `${ns} to ${describeTarget(t)}:${t.port} once removed`);
        }
    });

    function systemNamespaceOf(usergroup: string): string {
        return plan.controlPlanes.find((cp) => cp.usergroup === usergroup)!.systemNamespace;
    }
});

function pod(namespace: string, name: string, labels: Record<string, string>): Record<string, unknown> {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace, labels: { ...labels, "mesh-tenancy.io/e2e-node": "true", "sidecar.istio.io/inject": "false" } },
        spec: {
            terminationGracePeriodSeconds: 1,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            containers: [
                {
                    name: "echoprobe",
                    image: NODE_IMAGES.echoprobe,
                    imagePullPolicy: "Never",
                    args: ["serve", ...PORTS.map(String)],
                    ports: PORTS.map((containerPort) => ({ containerPort })),
                    env: [
                        { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                    ],
                    // From the node, which every NetworkPolicy admits.
                    readinessProbe: { tcpSocket: { port: PORTS[0] }, periodSeconds: 1 },
                },
            ],
        },
    };
}

/** A Service named after the pod, selecting it alone, on the same ports. */
function service(p: any): Record<string, unknown> {
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: p.metadata.name, namespace: p.metadata.namespace, labels: { "mesh-tenancy.io/e2e-node": "true" } },
        spec: { selector: { app: p.metadata.labels.app }, ports: PORTS.map((port) => ({ name: `tcp-${port}`, port, targetPort: port })) },
    };
}

function apply(objects: unknown[]): void {
    applyList(objects, "e2e-node");
}

/**
 * What L3 admission reads, as the API server holds it: the namespaces (their labels), the NetworkPolicies and the
 * pods. Nothing of Istio is needed, so the suite runs on a cluster without Istio's CRDs (scripts/node-e2e.sh).
 */
function liveInventory(): Inventory {
    const read = (...args: string[]): Subject[] => kubectlJson(["get", ...args]).items.map((object: any) => ({ object, origin: {} }));
    return new Inventory([...read("namespaces"), ...read("networkpolicies.networking.k8s.io", "-A"), ...read("pods", "-A", "-l", "mesh-tenancy.io/e2e-node")]);
}

/**
 * What the model says of one connection: the target pod, read as a workload, admits the source namespace on the port.
 * Two connections are not the model's to judge, as NetworkPolicies cannot refuse them: the node's to its own pods, and
 * a pod's to itself (its own address is local to it, so the packets never leave it).
 */
function modelAdmits(inventory: Inventory): (source: string, t: Target) => boolean {
    const byPod = new Map(inventory.ofKind("Pod").map((s) => [`${s.object.metadata.namespace}/${s.object.metadata.name}`, readWorkload(s)!] as const));
    return (source, t) => {
        if (source === NODE_SOURCE || (source === t.namespace && t.pod === "probe")) return true;
        const w = byPod.get(`${t.namespace}/${t.pod}`);
        assert.ok(w !== undefined, `pod ${t.namespace}/${t.pod} in the inventory`);
        return l3Admission(inventory, w, { port: t.port }).sources.has(source);
    };
}

/** Runs echoprobe in each namespace's probe pod (kubectl exec) and on the node, against every target, all at once. */
async function probeAll(namespaces: string[], targets: Target[]): Promise<Seen> {
    const args = ["probe", "-timeout", "3s", ...targets.map(key)];
    const parse = (out: string) => new Map(out.trim().split("\n").map((line) => JSON.parse(line) as Outcome).map((o) => [o.target, o] as const));
    const runs: [string, string, string[]][] = [
        ...namespaces.map((ns): [string, string, string[]] => [ns, "kubectl", ["exec", "-n", ns, "probe", "--", "/echoprobe", ...args]]),
        [NODE_SOURCE, NODE_PROBE, args],
    ];
    const outputs = await Promise.all(runs.map(([, command, a]) => promisify(execFile)(command, a, { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 })));
    return new Map(runs.map(([source], i) => [source, parse(outputs[i].stdout)]));
}

/**
 * Probes until the connections agree with the model (the enforcer lags a change by seconds) or SETTLE_SECONDS pass;
 * returns the last round. A connection that opened must carry the target's own echo reply, and one the model refuses
 * must be refused or time out: an error of any other kind is a mismatch whatever the model says.
 */
async function settle(namespaces: string[], targets: Target[], model: () => (source: string, t: Target) => boolean) {
    const deadline = Date.now() + SETTLE_SECONDS * 1000;
    for (;;) {
        const expected = model();
        const seen = await probeAll(namespaces, targets);
        const mismatches: string[] = [];
        for (const [source, outcomes] of seen) {
            for (const t of targets) {
                const o = outcomes.get(key(t));
                const want = expected(source, t);
                const reached = o?.outcome === "admitted" && o.reply === `echoprobe namespace=${t.namespace} pod=${t.pod} port=${t.port}`;
                const blocked = o?.outcome === "refused" || o?.outcome === "timeout";
                if (want ? !reached : !blocked) mismatches.push(`${source} -> ${describeTarget(t)}:${t.port}: model ${want ? "admits" : "refuses"}, connection ${o?.outcome ?? "missing"}${o?.error ? ` (${o.error})` : ""}${o?.reply ? ` (${o.reply})` : ""}`);
            }
        }
        if (mismatches.length === 0 || Date.now() > deadline) return { seen, expected, mismatches };
        await sleep(3000);
    }
}

/** One row per source; per target pod, one cell per port: A admitted, r refused, t timed out, e error; ! where the model disagrees. */
function printMatrix(namespaces: string[], targets: Target[], seen: Seen, expected: (source: string, t: Target) => boolean): void {
    const pods = [...new Set(targets.map(describeTarget))];
    const width = Math.max(...[...namespaces, NODE_SOURCE].map((s) => s.length));
    const cells = PORTS.length * 2;
    console.log(`      ports per cell: ${PORTS.join(", ")}; A admitted, r refused, t timed out, e error, ! the model disagrees`);
    pods.forEach((p, i) => console.log(`      [${i + 1}] ${p}`));
    console.log(`      ${" ".repeat(width)}  ${pods.map((_, i) => `[${i + 1}]`.padEnd(cells)).join("")}`);
    for (const source of [...namespaces, NODE_SOURCE]) {
        const row = pods.map((p) =>
            targets
                .filter((t) => describeTarget(t) === p)
                .map((t) => {
                    const o = seen.get(source)?.get(key(t));
                    const mark = { admitted: "A", refused: "r", timeout: "t", error: "e" }[o?.outcome ?? "error"];
                    return mark + ((o?.outcome === "admitted") === expected(source, t) && o?.outcome !== "error" ? " " : "!");
                })
                .join(""),
        );
        console.log(`      ${source.padEnd(width)}  ${row.join("")}`);
    }
}
