import * as assert from "node:assert/strict";
import type { MeshTenancyConfig } from "../../model/config";
import { planTenancy, plannedObjects } from "../../plan";
import { loadStack } from "../harness/configs";
import { injectionOf, INJECT_LABEL } from "../../policy/semantics/injection";
import { Inventory } from "../../policy/semantics/inventory";
import type { Subject } from "../../policy/semantics/objects";
import { INJECTION_LABEL, REVISION_LABEL } from "../../policy/semantics/labels";
import { readWorkload } from "../../policy/semantics/workloads";
import { applyList, expectExit, kubectlJson, NODE_IMAGES, run, waitForDefaultServiceAccounts } from "./harness";
import { installIstiodPods, until, webhooksWithoutCa } from "./istio";

/**
 * istiod in the cluster (scripts/node.sh builds its image from the toolchain's pilot-discovery): each usergroup's
 * istiod runs as a pod of the official istiod chart (rendered by the toolchain's istioctl from the Istio module's
 * charts, with the values the program passes to Helm and the image set to the local one), with its Service and its
 * webhooks. Then pods of every kind the model tells apart are created in every namespace, with a server-side dry run:
 * the API server calls the webhooks whose selectors match, and the istiod behind the Service answers, so what comes
 * back is the pod spec as it would be stored, and nothing is left to run (an injected proxy could not: there is no
 * Envoy here). Which pods came back injected, and by which revision, must equal the model's `injectionOf`.
 */

const LABEL = "mesh-tenancy.io/e2e-injection";
/** Namespaces of this suite, beside the plan's: each labelled as somebody might label a namespace. */
function extraNamespaces(revisions: string[]): Record<string, Record<string, string>> {
    const [a, b] = revisions;
    return {
        "inj-unlabelled": {},
        "inj-legacy": { [INJECTION_LABEL]: "enabled" },
        "inj-legacy-off": { [INJECTION_LABEL]: "disabled", [REVISION_LABEL]: a },
        "inj-legacy-and-rev": { [INJECTION_LABEL]: "enabled", [REVISION_LABEL]: b },
        // Once a default tag names the other revision, which label wins.
        "inj-legacy-and-rev-a": { [INJECTION_LABEL]: "enabled", [REVISION_LABEL]: a },
        "inj-rev-default": { [REVISION_LABEL]: "default" },
        "inj-rev-unknown": { [REVISION_LABEL]: "no-such-revision" },
        // A namespace claiming one usergroup and naming the other's revision: the label decides who injects.
        "inj-claims-a-names-b": { usergroup: "team-a", [REVISION_LABEL]: b },
    };
}

/** The pods the model tells apart, by labels, annotations and host network. */
function podVariants(revisions: string[]): { name: string; labels: Record<string, string>; annotations: Record<string, string>; hostNetwork?: boolean }[] {
    return [
        { name: "plain", labels: {}, annotations: {} },
        { name: "label-off", labels: { [INJECT_LABEL]: "false" }, annotations: {} },
        { name: "label-on", labels: { [INJECT_LABEL]: "true" }, annotations: {} },
        { name: "annotation-off", labels: {}, annotations: { [INJECT_LABEL]: "false" } },
        { name: "host-network", labels: {}, annotations: {}, hostNetwork: true },
        { name: "rev-default", labels: { [REVISION_LABEL]: "default" }, annotations: {} },
        ...revisions.map((r) => ({ name: `rev-${r}`, labels: { [REVISION_LABEL]: r }, annotations: {} })),
        ...revisions.map((r) => ({ name: `rev-${r}-label-off`, labels: { [REVISION_LABEL]: r, [INJECT_LABEL]: "false" }, annotations: {} })),
    ];
}

interface Row {
    namespace: string;
    pod: string;
    model: string;
    server: string;
    reason: string;
}

/**
 * Stack `local`, and the same with team-a on a named revision with `stable` and `canary` tags (shop following canary):
 * the tags' injectors are the program's own MutatingWebhookConfigurations (plan/controlPlane.ts, `planTag`), so the
 * API server and istiod judge those too.
 */
const STACKS: { title: string; config: () => MeshTenancyConfig }[] = [
    { title: "stack local", config: () => loadStack("local") },
    {
        title: "stack local with revision tags",
        config: () =>
            loadStack("local", (raw) => {
                const a = raw.usergroups.find((ug: any) => ug.name === "team-a");
                a.revisions = [{ version: "1.31.0" }];
                a.tags = { stable: "team-a-1-31", canary: "team-a-1-31" };
                a.tenants.find((t: any) => t.name === "shop").tag = "canary";
            }),
    },
];

for (const stack of STACKS) describe(`a node with istiod in it (${stack.title}): the pods the API server has istiod inject are the ones the model's injectionOf names`, function () {
    this.timeout(20 * 60 * 1000);
    const plan = planTenancy(stack.config());
    const revisions = plan.controlPlanes.map((cp) => cp.revisions[0].name);
    /** `istio.io/rev` values of the plan's tags, which pods may name too. */
    const tagLabels = plan.controlPlanes.flatMap((cp) => cp.tags.map((t) => t.label));
    const extra = extraNamespaces(revisions);
    const namespaces = [...plannedObjects(plan).filter((o) => o.kind === "Namespace").map((o) => o.metadata.name as string), ...Object.keys(extra)];
    const timings: Record<string, number> = {};
    let applied: string[] = [];
    /** The cluster-scoped objects of the charts and tags this suite applied (webhooks, cluster roles and bindings). */
    const clusterScoped: any[] = [];

    before(async function () {
        if (kubectlJson(["get", "nodes"]).items.length === 0) {
            console.log("      no node in the cluster (start it with MESH_TENANCY_NODE=1, see scripts/README.md): skipped");
            this.skip();
        }
        const start = Date.now();
        const planned = plannedObjects(plan).filter((o) => o.kind === "Namespace" || o.kind === "MutatingWebhookConfiguration");
        apply([...planned, ...Object.entries(extra).map(([name, labels]) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { ...labels, [LABEL]: "true" } } }))]);
        applied = namespaces;
        waitForDefaultServiceAccounts(namespaces);
        clusterScoped.push(...(await installIstiodPods(plan, apply)));
        timings["istiods ready, webhooks patched"] = (Date.now() - start) / 1000;
        await webhooksAnswer([...revisions, ...tagLabels]);
        timings["webhooks answer"] = (Date.now() - start) / 1000;
    });

    // Everything goes, istiod with its namespaces: the other node suite runs on the same cluster and its own stand-ins
    // there must be the only pods behind their Services.
    after(() => {
        for (const o of clusterScoped) run("kubectl", ["delete", o.kind, o.metadata.name, "--ignore-not-found"]);
        if (applied.length > 0) run("kubectl", ["delete", "namespace", "--wait=true", "--timeout=180s", "--ignore-not-found", ...applied]);
        console.log(`      injection e2e timings (s): ${JSON.stringify(timings)}`);
    });

    it("1. istiod runs as a pod: Running and Ready, from the local image, in each usergroup's system namespace", () => {
        for (const cp of plan.controlPlanes) {
            const pods = kubectlJson(["get", "pods", "-n", cp.systemNamespace, "-l", `app=istiod,${REVISION_LABEL}=${cp.revisions[0].name}`]).items;
            assert.equal(pods.length, 1, `one istiod pod in ${cp.systemNamespace}`);
            const p = pods[0];
            assert.equal(p.status.phase, "Running");
            assert.equal(p.spec.containers[0].image, NODE_IMAGES.pilot);
            assert.ok(p.status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"), `${p.metadata.name} Ready`);
            console.log(`      ${cp.systemNamespace}/${p.metadata.name} Running on ${p.spec.nodeName} at ${p.status.podIP}`);
        }
    });

    it("2. in every namespace, every kind of pod is injected by the revision the model names, or left alone where it says so", () => {
        const start = Date.now();
        const rows = compare();
        timings["matrix (chart webhooks)"] = (Date.now() - start) / 1000;
        report(rows);
        assert.deepEqual(mismatches(rows), []);
        // Both answers occur, and both istiods inject somebody.
        assert.ok(rows.some((r) => r.server === "-") && rows.some((r) => r.server !== "-"));
        for (const rev of revisions) assert.ok(rows.some((r) => r.server === rev), `revision ${rev} injects some pod`);
        for (const t of plan.controlPlanes.flatMap((cp) => cp.tags)) {
            assert.ok(rows.some((r) => r.pod === `rev-${t.label}` && r.server === t.revision), `tag ${t.label}'s injector (the program's own webhook) injects by ${t.revision}`);
        }
    });

    it("3. with istioctl's `default` tag pointing at the second usergroup's revision, the legacy labels move to it, as the model says", async () => {
        const [, b] = plan.controlPlanes;
        const out = expectExit(run("istioctl", ["tag", "generate", "default", "--revision", b.revisions[0].name, "--istioNamespace", b.systemNamespace]), 0, "istioctl tag generate default").stdout;
        const defaultTag = (await import("yaml")).parseAllDocuments(out).map((d) => d.toJS()).filter((o) => o?.kind === "MutatingWebhookConfiguration");
        assert.ok(defaultTag.length > 0, "istioctl rendered the default tag's webhooks");
        clusterScoped.push(...defaultTag);
        apply(defaultTag);
        await until(() => webhooksWithoutCa().length === 0, 120, () => `webhooks without a CA bundle: ${webhooksWithoutCa().join(", ")}`);
        await webhooksAnswer(["default"]);
        const start = Date.now();
        const rows = compare();
        timings["matrix (default tag)"] = (Date.now() - start) / 1000;
        report(rows);
        assert.deepEqual(mismatches(rows), []);
        assert.ok(rows.some((r) => r.namespace === "inj-legacy" && r.server === b.revisions[0].name), "istio-injection=enabled is injected by the default tag's revision");
        assert.ok(rows.some((r) => r.namespace === "inj-legacy-and-rev-a" && r.pod === "plain" && r.server === b.revisions[0].name), "istio-injection=enabled outranks the namespace's istio.io/rev");
    });

    /** Dry-run creates every variant in every namespace; the API server's answers beside the model's. */
    function compare(): Row[] {
        const variants = podVariants([...revisions, ...tagLabels]);
        const pods = namespaces.flatMap((ns) => variants.map((v) => pod(ns, v)));
        const answered = dryRunCreate(pods);
        const inventory = liveInventory();
        return pods.map((p, i) => {
            const w = readWorkload({ object: p, origin: {} })!;
            const m = injectionOf(inventory, w);
            return {
                namespace: p.metadata.namespace,
                pod: p.metadata.name,
                model: m.meshed ? (m.revision?.name ?? "?") : "-",
                server: injectedBy(answered[i]),
                reason: m.reason,
            };
        });
    }

    function mismatches(rows: Row[]): string[] {
        return rows.filter((r) => r.model !== r.server).map((r) => `${r.namespace}/${r.pod}: model ${r.model} (${r.reason}), API server + istiod ${r.server}`);
    }

    function report(rows: Row[]): void {
        const variants = [...new Set(rows.map((r) => r.pod))];
        const width = Math.max(...namespaces.map((n) => n.length));
        console.log(`      revision that injected each pod (- none); ! where the model disagrees. Columns: ${variants.map((v, i) => `[${i + 1}] ${v}`).join(", ")}`);
        for (const ns of namespaces) {
            const cells = variants.map((v) => {
                const r = rows.find((x) => x.namespace === ns && x.pod === v)!;
                return `${r.server}${r.model === r.server ? "" : "!"}`.padEnd(8);
            });
            console.log(`      ${ns.padEnd(width)}  ${cells.join("")}`);
        }
        console.log(`      ${rows.length} pods: ${rows.filter((r) => r.server !== "-").length} injected, ${rows.filter((r) => r.model !== r.server).length} disagreements`);
    }
});

function pod(namespace: string, v: ReturnType<typeof podVariants>[number]): any {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: v.name, namespace, labels: { ...v.labels, [LABEL]: "true" }, annotations: v.annotations },
        spec: {
            ...(v.hostNetwork ? { hostNetwork: true } : {}),
            automountServiceAccountToken: false,
            containers: [{ name: "app", image: NODE_IMAGES.echoprobe, imagePullPolicy: "Never", ports: [{ containerPort: 8080 }] }],
        },
    };
}

/**
 * The pods as the API server would store them, after every mutating webhook: a server-side dry run calls the webhooks
 * (Istio's declare no side effects) and stores nothing. One kubectl per namespace, each object its own request.
 */
function dryRunCreate(pods: any[]): any[] {
    const out = expectExit(run("kubectl", ["create", "--dry-run=server", "-o", "json", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: pods }) }), 0, "kubectl create --dry-run=server").stdout;
    // One pretty-printed object per pod, one after another: each starts with a `{` line of its own.
    const items = out.split(/^(?=\{$)/m).filter((t) => t.trim() !== "").map((t) => JSON.parse(t));
    assert.equal(items.length, pods.length, "the API server answered for every pod");
    return items;
}

/** The revision whose istiod injected the pod (its `sidecar.istio.io/status` annotation), or "-". */
function injectedBy(p: any): string {
    const containers = [...(p.spec.containers ?? []), ...(p.spec.initContainers ?? [])];
    if (!containers.some((c: any) => c.name === "istio-proxy")) return "-";
    const status = p.metadata.annotations?.["sidecar.istio.io/status"];
    return status === undefined ? "?" : String(JSON.parse(status).revision ?? "?");
}

/**
 * Waits until the API server reaches the istiod behind each `istio.io/rev` value's injector: a pod naming it in the
 * unlabelled namespace is created (dry run) without a webhook error. istiod is Ready and has patched its webhooks
 * seconds before its Service's endpoints reach kube-proxy's rules; until then the call is refused.
 */
async function webhooksAnswer(revs: string[]): Promise<void> {
    let last = "";
    await until(
        () =>
            revs.every((rev) => {
                const r = run("kubectl", ["create", "--dry-run=server", "-o", "name", "-f", "-"], { input: JSON.stringify(pod("inj-unlabelled", { name: `probe-${rev}`, labels: { [REVISION_LABEL]: rev }, annotations: {} })) });
                if (r.code !== 0) last = r.stderr.trim();
                return r.code === 0;
            }),
        120,
        () => `an injector still fails: ${last}`,
    );
}

/** What injection reads: namespaces, the injector webhooks, and what shows the revisions (istiod's Deployments, ConfigMaps and Services). */
function liveInventory(): Inventory {
    const read = (...args: string[]): Subject[] => kubectlJson(["get", ...args]).items.map((object: any) => ({ object, origin: {} }));
    return new Inventory([
        ...read("namespaces"),
        ...read("mutatingwebhookconfigurations"),
        ...read("deployments.apps", "-A"),
        ...read("configmaps", "-A"),
        ...read("services", "-A"),
    ]);
}

function apply(objects: unknown[]): void {
    applyList(objects, "e2e-injection");
}
