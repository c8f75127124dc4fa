/**
 * Runs Istio's analyzer test data through the checker and prints a markdown table of what istioctl's analyzers expect
 * next to what the checker says.
 *
 *   npm run -s analyzer:compare -- <istio checkout> [--out FILE] [--work DIR] [--cases REGEX] [--checker CMD]
 *
 * The Istio checkout is read at run time and never copied into this repository: the test grid
 * (`pkg/config/analysis/analyzers/analyzers_test.go`), the message codes (`pkg/config/analysis/msg/messages.yaml`) and
 * the input files under `pkg/config/analysis/analyzers/testdata/`. Each selected case runs three ways:
 *
 *   raw       the input files as they are;
 *   tenancy   the input files with tenancy labels added (see `withTenancy`) and a clean tenancy around them;
 *   tenancy+ns the same, with `metadata.namespace: default` written into namespaced objects that have none, as
 *             kubectl and `istioctl analyze` (without `-n`) do.
 *
 * The explanation of every difference lives in `explanations.json` beside this file, keyed by case and object; a
 * difference without one is marked UNEXPLAINED, and an explanation written when the checker did (or did not) report
 * the object is marked CHANGED once that no longer holds, so the table can be re-run after the checker changes. Exit
 * status 1 while any difference is unexplained or any row CHANGED.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

const ANALYZERS_DIR = "pkg/config/analysis/analyzers";
const TEST_GRID = `${ANALYZERS_DIR}/analyzers_test.go`;
const MESSAGES = "pkg/config/analysis/msg/messages.yaml";

/** Analyzers whose cases are compared by default: Sidecar selectors, injection, gateways, webhooks, authorization. */
const DEFAULT_ANALYZERS = [
    "sidecar.SelectorAnalyzer",
    "injection.Analyzer",
    "injection.ImageAnalyzer",
    "gateway.ConflictingGatewayAnalyzer",
    "webhook.Analyzer",
    "authz.AuthorizationPoliciesAnalyzer",
    "k8sgateway.SelectorAnalyzer",
];

/** Analyzers whose subject is the injection labels themselves: the overlay must not add `istio.io/rev` for them. */
const LABEL_SENSITIVE = new Set(["injection.Analyzer", "injection.ImageAnalyzer", "webhook.Analyzer"]);

/** Namespaces whose objects istioctl drops before analysis (`inject.IgnoredNamespaces`). */
const IGNORED_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", "local-path-storage"]);

const CLUSTER_SCOPED = new Set([
    "Namespace", "Node", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "CustomResourceDefinition",
    "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass", "PriorityClass", "GatewayClass", "MeshConfig",
]);

/** The tenancy wrapped around each case: one usergroup whose istiod runs in the test data's istio namespace. */
const UG = "ug1";
const SYSTEM_NS = "istio-system";
const OVERLAY_LABEL = "mesh-tenancy.io/analyzer-overlay";

export interface IstioMessage {
    type: string;
    code: string;
    kind: string;
    namespace?: string;
    name: string;
}

export interface GridCase {
    name: string;
    analyzer: string;
    inputFiles: string[];
    meshConfigFile?: string;
    expected: IstioMessage[];
}

interface KObject {
    apiVersion?: string;
    kind?: string;
    metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
    [k: string]: unknown;
}

export interface CheckerFinding {
    /** The rule, `MT0nn`. */
    id: string;
    /** The finding's own code, `MTnnxx` (rule nn, variant xx), where the rule gives one. */
    code?: string;
    kind: string;
    namespace: string | null;
    name: string;
    message: string;
}

interface CheckerRun {
    findings: CheckerFinding[];
    error?: string;
}

interface Explanation {
    /** gap: Istio reports, the checker should too; out-of-scope: not a tenancy question; tenancy-only: the checker's
     *  own finding, correct; false-alarm: the checker is wrong; agree: both report. */
    class: "gap" | "out-of-scope" | "tenancy-only" | "false-alarm" | "agree" | "granularity" | "overlay";
    /** The codes the checker gave (tenancy run) when this was written, compared on every run (rule ids: by rule). */
    checkerSaid: string[];
    text: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading Istio's test grid

/** Parses the `testGrid` literal of analyzers_test.go into cases; message codes come from messages.yaml. */
export function parseTestGrid(source: string, codes: Map<string, string>): GridCase[] {
    const start = source.indexOf("testGrid = []testCase{");
    if (start < 0) throw new Error(`${TEST_GRID}: no testGrid literal found`);
    const cases: GridCase[] = [];
    // Each case starts with a line holding only "{" one tab deep and ends with "}," at the same depth.
    const body = source.slice(start);
    const end = body.search(/\n}\n/);
    const grid = end < 0 ? body : body.slice(0, end);
    const entries = grid.split(/\n\t\{\n/).slice(1);
    for (const entry of entries) {
        const name = /\bname:\s*"((?:[^"\\]|\\.)*)"/.exec(entry)?.[1];
        const analyzer = /\banalyzer:\s*&?([\w]+\.[\w]+)\s*\{/.exec(entry)?.[1] ?? /\banalyzer:\s*([\w.]+\([^)]*\))/.exec(entry)?.[1];
        const files = /\binputFiles:\s*\[\]string\{([^}]*)\}/.exec(entry)?.[1];
        if (name === undefined || analyzer === undefined || files === undefined) continue;
        const inputFiles = [...files.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
        const meshConfigFile = /\bmeshConfigFile:\s*"([^"]+)"/.exec(entry)?.[1];
        const expectedAt = entry.indexOf("expected:");
        const expected: IstioMessage[] = [];
        if (expectedAt >= 0) {
            for (const m of entry.slice(expectedAt).matchAll(/\{msg\.(\w+),\s*"([^"]*)"\}/g)) {
                const [kind, ref] = m[2].split(" ");
                const slash = ref.indexOf("/");
                expected.push({
                    type: m[1],
                    code: codes.get(m[1]) ?? "?",
                    kind,
                    namespace: slash < 0 ? undefined : ref.slice(0, slash),
                    name: slash < 0 ? ref : ref.slice(slash + 1),
                });
            }
        }
        cases.push({ name, analyzer, inputFiles, meshConfigFile, expected });
    }
    return cases;
}

export function parseMessageCodes(text: string): Map<string, string> {
    const doc = YAML.parse(text) as { messages?: Array<{ name?: string; code?: string }> };
    const codes = new Map<string, string>();
    for (const m of doc?.messages ?? []) if (m.name && m.code) codes.set(m.name, m.code);
    return codes;
}

// ---------------------------------------------------------------------------------------------------------------
// Building the inputs

function readObjects(file: string): KObject[] {
    const out: KObject[] = [];
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
        const value = doc.toJS() as KObject | null;
        if (value === null || typeof value !== "object") continue;
        if (value.kind === "List" && Array.isArray(value.items)) out.push(...(value.items as KObject[]));
        else out.push(value);
    }
    return out;
}

function isNamespaced(o: KObject): boolean {
    return !CLUSTER_SCOPED.has(String(o.kind));
}

/** Namespace an object lands in when applied without `-n`: its own, else `default`. */
function effectiveNamespace(o: KObject): string | undefined {
    if (!isNamespaced(o)) return undefined;
    return o.metadata?.namespace || "default";
}

const INJECTION_KEYS = ["istio-injection", "istio.io/rev", "istio.io/dataplane-mode"];

/**
 * The case's objects inside a clean tenancy of one usergroup (`ug1`, istiod in `istio-system`, which Istio's test
 * data uses as its istio namespace):
 * - every namespace the objects use (a namespace-less object uses `default`) gets `usergroup: ug1`, on its Namespace
 *   object or on one added for it; for analyzers not about injection labels, a namespace with no injection label
 *   also gets `istio.io/rev: ug1`. Labels already present are never changed.
 * - the revision: istiod's mesh ConfigMap `istio-ug1` with discoverySelectors and private exportTo defaults, and a
 *   STRICT PeerAuthentication in the root namespace;
 * - per tenant namespace: a default-deny ingress NetworkPolicy; an AuthorizationPolicy admitting its own namespace
 *   where the case has none there; a Sidecar without workloadSelector where the case has none there; where the case
 *   has Istio Gateways there, a gateway Deployment whose pods carry every label those Gateways select;
 * - istioctl's own default resources for file analysis: an ingress gateway pod and Service in `istio-system`.
 * Added objects carry the label `mesh-tenancy.io/analyzer-overlay`, so findings on them are shown apart.
 */
export function withTenancy(objects: KObject[], analyzer: string, fillNamespace: boolean): KObject[] {
    const labelRevision = !LABEL_SENSITIVE.has(analyzer);
    const out: KObject[] = objects.map((o) => structuredClone(o));
    if (fillNamespace) {
        for (const o of out) if (isNamespaced(o) && o.metadata && !o.metadata.namespace) o.metadata.namespace = "default";
    }
    const used = new Set<string>();
    for (const o of out) {
        const ns = effectiveNamespace(o);
        if (ns !== undefined) used.add(ns);
        if (o.kind === "Namespace" && o.metadata?.name) used.add(o.metadata.name);
    }
    used.add(SYSTEM_NS);
    const nsObjects = new Map(out.filter((o) => o.kind === "Namespace" && o.metadata?.name).map((o) => [o.metadata!.name!, o]));
    const overlay = (o: KObject): KObject => {
        o.metadata = { ...(o.metadata ?? {}), labels: { ...(o.metadata?.labels ?? {}), [OVERLAY_LABEL]: "true" } };
        return o;
    };
    const added: KObject[] = [];
    const tenants: string[] = [];
    for (const ns of [...used].sort()) {
        if (IGNORED_NAMESPACES.has(ns)) continue;
        let nsObject = nsObjects.get(ns);
        if (nsObject === undefined) {
            nsObject = overlay({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
            added.push(nsObject);
        }
        const labels = { ...(nsObject.metadata!.labels ?? {}) };
        if (labels.usergroup === undefined) labels.usergroup = UG;
        if (ns === SYSTEM_NS) {
            if (labels["mesh-tenancy.io/role"] === undefined) labels["mesh-tenancy.io/role"] = "system";
        } else {
            if (labelRevision && !INJECTION_KEYS.some((k) => labels[k] !== undefined)) labels["istio.io/rev"] = UG;
            tenants.push(ns);
        }
        nsObject.metadata!.labels = labels;
    }
    added.push(
        overlay({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: `istio-${UG}`, namespace: SYSTEM_NS, labels: { "istio.io/rev": UG } },
            data: {
                mesh: YAML.stringify({
                    rootNamespace: SYSTEM_NS,
                    trustDomain: "cluster.local",
                    discoverySelectors: [{ matchLabels: { usergroup: UG } }],
                    defaultServiceExportTo: ["."],
                    defaultVirtualServiceExportTo: ["."],
                    defaultDestinationRuleExportTo: ["."],
                }),
            },
        }),
    );
    if (!out.some((o) => o.kind === "PeerAuthentication" && effectiveNamespace(o) === SYSTEM_NS)) {
        added.push(overlay({ apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name: "tenancy-strict", namespace: SYSTEM_NS }, spec: { mtls: { mode: "STRICT" } } }));
    }
    for (const ns of tenants) {
        const inNs = (kind: string) => out.filter((o) => o.kind === kind && effectiveNamespace(o) === ns);
        added.push(overlay({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "tenancy-default-deny", namespace: ns }, spec: { podSelector: {}, policyTypes: ["Ingress"] } }));
        if (inNs("AuthorizationPolicy").length === 0) {
            added.push(overlay({
                apiVersion: "security.istio.io/v1",
                kind: "AuthorizationPolicy",
                metadata: { name: "tenancy-allow-own", namespace: ns },
                spec: { action: "ALLOW", rules: [{ from: [{ source: { principals: [`cluster.local/ns/${ns}/sa/*`] } }] }] },
            }));
        }
        // A tenant's own gateway pods, carrying every label its Gateways select, as the program deploys them.
        const gatewayLabels = Object.assign({}, ...inNs("Gateway").filter((g) => g.apiVersion?.startsWith("networking.istio.io/")).map((g) => ((g.spec as any)?.selector ?? {}) as Record<string, string>));
        if (Object.keys(gatewayLabels).length > 0) {
            added.push(overlay({
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: "tenancy-gateway", namespace: ns },
                spec: { selector: { matchLabels: gatewayLabels }, template: { metadata: { labels: gatewayLabels }, spec: { containers: [{ name: "istio-proxy", image: "auto" }] } } },
            }));
        }
        const hasDefaultSidecar = inNs("Sidecar").some((s) => Object.keys(((s.spec as any)?.workloadSelector?.labels ?? {}) as object).length === 0);
        if (!hasDefaultSidecar) {
            added.push(overlay({ apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "tenancy-default", namespace: ns }, spec: { egress: [{ hosts: ["./*", `${SYSTEM_NS}/*`] }] } }));
        }
    }
    // What istioctl adds for file analysis when the mesh's ingress controller mode is not OFF (the default).
    added.push(overlay({ apiVersion: "v1", kind: "Pod", metadata: { name: "istio-ingressgateway-dummypod", namespace: SYSTEM_NS, labels: { istio: "ingressgateway" } }, spec: { containers: [{ name: "istio-proxy" }] } }));
    added.push(overlay({ apiVersion: "v1", kind: "Service", metadata: { name: "istio-ingressgateway", namespace: SYSTEM_NS }, spec: { selector: { istio: "ingressgateway" }, ports: [{ name: "http2", port: 80 }, { name: "https", port: 443 }] } }));
    return [...out, ...added];
}

// ---------------------------------------------------------------------------------------------------------------
// Running the checker

function runChecker(checker: string[], files: string[], repo: string): CheckerRun {
    const r = spawnSync(checker[0], [...checker.slice(1), "--json", ...files], { cwd: repo, encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.error) return { findings: [], error: r.error.message };
    const stdout = r.stdout ?? "";
    const jsonStart = stdout.indexOf("{");
    if (jsonStart < 0) return { findings: [], error: `exit ${r.status}: ${(r.stderr || stdout).trim().split("\n")[0]}` };
    try {
        const parsed = JSON.parse(stdout.slice(jsonStart));
        return { findings: (parsed.findings ?? []) as CheckerFinding[] };
    } catch (e) {
        return { findings: [], error: `exit ${r.status}: unreadable JSON (${(e as Error).message})` };
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Comparing

interface Row {
    object: string;
    istio: string[];
    raw: string[];
    tenancy: string[];
    tenancyNs: string[];
    overlay: boolean;
}

/** Object key as `Kind ns/name`, or `Kind name` for cluster-scoped and namespace-less objects. */
function key(kind: string, namespace: string | null | undefined, name: string): string {
    return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

/**
 * Istio's expected messages name a namespace-less object without a namespace; the checker may put it in `default`.
 * Both forms are folded onto the object's key as written in the case's files.
 */
function rowsFor(c: GridCase, runs: { raw: CheckerRun; tenancy: CheckerRun; tenancyNs: CheckerRun }, namespaceLess: Set<string>, overlayKeys: Set<string>): Row[] {
    const rows = new Map<string, Row>();
    const fold = (kind: string, ns: string | null | undefined, name: string): string => {
        const bare = key(kind, undefined, name);
        if (ns === "default" && namespaceLess.has(bare)) return bare;
        return key(kind, ns, name);
    };
    const row = (k: string): Row => {
        let r = rows.get(k);
        if (r === undefined) rows.set(k, (r = { object: k, istio: [], raw: [], tenancy: [], tenancyNs: [], overlay: overlayKeys.has(k) }));
        return r;
    };
    for (const m of c.expected) row(fold(m.kind, m.namespace, m.name)).istio.push(m.code);
    for (const [field, run] of [["raw", runs.raw], ["tenancy", runs.tenancy], ["tenancyNs", runs.tenancyNs]] as const) {
        for (const f of run.findings) row(fold(f.kind, f.namespace, f.name))[field].push(f.code ?? f.id);
    }
    for (const r of rows.values()) for (const list of [r.istio, r.raw, r.tenancy, r.tenancyNs]) list.sort();
    return [...rows.values()].sort((a, b) => Number(a.overlay) - Number(b.overlay) || a.object.localeCompare(b.object));
}

function cell(ids: string[]): string {
    if (ids.length === 0) return "–";
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    return [...counts].map(([id, n]) => (n > 1 ? `${id}×${n}` : id)).join(", ");
}

/** The rule of a finding code (`MT1003` is rule MT010's) or of a rule id (itself). */
export function ruleOf(codeOrId: string): string {
    const m = /^MT(\d\d)(\d\d)$/.exec(codeOrId);
    return m === null ? codeOrId : `MT0${m[1]}`;
}

/** The rules among codes or rule ids, each once, sorted: what an explanation is held to. */
function rules(ids: string[]): string[] {
    return [...new Set(ids.map(ruleOf))].sort();
}

// ---------------------------------------------------------------------------------------------------------------

interface Options {
    istio: string;
    out?: string;
    work?: string;
    cases?: RegExp;
    analyzers: string[];
    checker: string[];
}

function parseArgs(argv: string[]): Options {
    const o: Partial<Options> & { analyzers: string[]; checker: string[] } = { analyzers: DEFAULT_ANALYZERS, checker: ["npm", "run", "-s", "check", "--"] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined) throw new Error(`${a} needs a value`);
            return v;
        };
        if (a === "--out") o.out = value();
        else if (a === "--work") o.work = value();
        else if (a === "--cases") o.cases = new RegExp(value());
        else if (a === "--analyzers") o.analyzers = value().split(",");
        else if (a === "--checker") o.checker = value().split(" ").filter(Boolean);
        else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
        else if (o.istio === undefined) o.istio = a;
        else throw new Error(`unexpected argument ${a}`);
    }
    if (o.istio === undefined) throw new Error("usage: compare.ts <istio checkout> [--out FILE] [--work DIR] [--cases REGEX] [--analyzers A,B] [--checker CMD]");
    return o as Options;
}

function gitHead(dir: string): string | undefined {
    const r = spawnSync("git", ["-C", dir, "rev-parse", "HEAD"], { encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim() : undefined;
}

export function main(argv: string[]): number {
    const opts = parseArgs(argv);
    const repo = path.resolve(__dirname, "..", "..");
    const istio = path.resolve(opts.istio);
    for (const f of [TEST_GRID, MESSAGES]) if (!fs.existsSync(path.join(istio, f))) throw new Error(`${istio}: no ${f} (give the root of an istio/istio checkout)`);
    const codes = parseMessageCodes(fs.readFileSync(path.join(istio, MESSAGES), "utf8"));
    const grid = parseTestGrid(fs.readFileSync(path.join(istio, TEST_GRID), "utf8"), codes);
    const selected = grid.filter((c) => opts.analyzers.includes(c.analyzer) && (opts.cases === undefined || opts.cases.test(c.name)));
    if (selected.length === 0) throw new Error("no test case selected");
    const explanationsFile = path.join(__dirname, "explanations.json");
    const explanations: Record<string, Record<string, Explanation>> = fs.existsSync(explanationsFile) ? JSON.parse(fs.readFileSync(explanationsFile, "utf8")) : {};
    const work = opts.work ?? fs.mkdtempSync(path.join(os.tmpdir(), "analyzer-compare-"));
    fs.mkdirSync(work, { recursive: true });
    const istioRef = gitHead(istio) ?? (fs.existsSync(path.join(istio, "ISTIO_COMMIT")) ? fs.readFileSync(path.join(istio, "ISTIO_COMMIT"), "utf8").trim() : "unknown");
    const lines: string[] = [];
    lines.push(`# Istio analyzer test data through the checker`, "");
    lines.push(`Istio ${istioRef}; checker \`${opts.checker.join(" ")}\` run in this repository at ${gitHead(repo) ?? "unknown"}; produced by \`npm run -s analyzer:compare -- <istio checkout>\`.`, "");
    lines.push(
        "Columns: **istioctl** = the messages Istio's analyzer tests expect for the object (codes from messages.yaml); " +
            "**raw** = the checker on the files as they are; **tenancy** = with tenancy labels and a clean tenancy around them; " +
            "**+ns** = the same with `metadata.namespace: default` filled in where the file has none. " +
            "`–` = nothing. Class: gap (Istio reports, a tenancy checker should too), out-of-scope, tenancy-only (checker finding, correct), " +
            "false-alarm (checker finding, wrong), agree (both report the object), granularity (both see the problem, reported on different objects), overlay (on objects the comparison added).",
        "",
    );
    const summary = { rows: 0, differences: 0, explained: 0, unexplained: 0, changed: 0, renamed: 0 };
    const byClass = new Map<string, number>();
    let caseIndex = 0;
    for (const c of selected) {
        caseIndex++;
        process.stderr.write(`[${caseIndex}/${selected.length}] ${c.name}\n`);
        const files = c.inputFiles.map((f) => path.join(istio, ANALYZERS_DIR, f));
        const objects = files.flatMap(readObjects);
        const namespaceLess = new Set(objects.filter((o) => isNamespaced(o) && !o.metadata?.namespace).map((o) => key(String(o.kind), undefined, String(o.metadata?.name))));
        const dir = path.join(work, c.name.replace(/[^A-Za-z0-9]+/g, "-"));
        fs.mkdirSync(dir, { recursive: true });
        const write = (name: string, objs: KObject[]) => {
            const file = path.join(dir, name);
            fs.writeFileSync(file, objs.map((o) => YAML.stringify(o)).join("---\n"));
            return file;
        };
        const tenancyObjects = withTenancy(objects, c.analyzer, false);
        const tenancyNsObjects = withTenancy(objects, c.analyzer, true);
        const overlayKeys = new Set(tenancyNsObjects.filter((o) => o.metadata?.labels?.[OVERLAY_LABEL] === "true").map((o) => key(String(o.kind), o.metadata?.namespace, String(o.metadata?.name))));
        const runs = {
            raw: runChecker(opts.checker, files, repo),
            tenancy: runChecker(opts.checker, [write("tenancy.yaml", tenancyObjects)], repo),
            tenancyNs: runChecker(opts.checker, [write("tenancy-ns.yaml", tenancyNsObjects)], repo),
        };
        lines.push(`## ${c.name}`, "");
        lines.push(`Analyzer \`${c.analyzer}\`; files: ${c.inputFiles.map((f) => `\`${f}\``).join(", ")}${c.meshConfigFile ? `; mesh config \`${c.meshConfigFile}\`` : ""}.`, "");
        for (const [label, run] of Object.entries(runs)) if (run.error) lines.push(`Checker error (${label}): \`${run.error}\``, "");
        lines.push("| object | istioctl | raw | tenancy | +ns | class | explanation |", "|---|---|---|---|---|---|---|");
        const caseExplanations = explanations[c.name] ?? {};
        for (const r of rowsFor(c, runs, namespaceLess, overlayKeys)) {
            summary.rows++;
            // Every run counts: a finding only the raw files get (no tenancy around them) differs from Istio too.
            const differs = r.overlay
                ? r.tenancy.length > 0 || r.tenancyNs.length > 0
                : [r.raw, r.tenancy, r.tenancyNs].some((run) => (r.istio.length > 0) !== (run.length > 0));
            const e = caseExplanations[r.object];
            let cls: string = e?.class ?? (differs ? "" : r.istio.length > 0 ? "agree" : "");
            let text = e?.text ?? "";
            // An explanation holds while the checker still does (or still does not) report the object; other rule ids
            // for the same answer (rules renamed or split) are shown but keep the explanation.
            const presenceChanged = e !== undefined && (e.checkerSaid.length > 0) !== (r.tenancy.length > 0);
            // Per code where the explanation recorded codes; per rule where it recorded rule ids only.
            const byCode = e !== undefined && e.checkerSaid.every((x) => ruleOf(x) !== x);
            const said = (ids: string[]) => (byCode ? [...ids].sort() : rules(ids));
            const idsChanged = e !== undefined && JSON.stringify(said(e.checkerSaid)) !== JSON.stringify(said(r.tenancy));
            if (presenceChanged) {
                summary.changed++;
                text = `CHANGED (explained for checker ${cell(e!.checkerSaid)}): ${text}`;
            } else if (idsChanged) {
                summary.renamed++;
                text = `${text} (written for checker ${cell(e!.checkerSaid)})`;
            }
            if (differs) {
                summary.differences++;
                if (e === undefined) {
                    summary.unexplained++;
                    cls = "UNEXPLAINED";
                } else if (!presenceChanged) summary.explained++;
            }
            if (cls) byClass.set(cls, (byClass.get(cls) ?? 0) + 1);
            lines.push(`| ${r.overlay ? "(added) " : ""}${r.object} | ${cell(r.istio)} | ${cell(r.raw)} | ${cell(r.tenancy)} | ${cell(r.tenancyNs)} | ${cls} | ${text.replace(/\|/g, "\\|")} |`);
        }
        lines.push("");
        const msgs = runs.tenancyNs.findings.map((f) => `- ${f.id} ${key(f.kind, f.namespace, f.name)}: ${f.message}`);
        if (msgs.length > 0) lines.push("<details><summary>checker messages (+ns run)</summary>", "", ...msgs, "", "</details>", "");
    }
    lines.push("## Summary", "");
    lines.push(`${selected.length} cases, ${summary.rows} objects, ${summary.differences} differences: ${summary.explained} explained, ${summary.unexplained} unexplained; ${summary.changed} rows where the checker's answer changed since the explanation was written (CHANGED), ${summary.renamed} where only its codes did.`, "");
    lines.push(`By class: ${[...byClass].sort().map(([k, n]) => `${k} ${n}`).join(", ")}.`, "");
    lines.push(`Inputs written under \`${work}\`.`);
    const text = lines.join("\n") + "\n";
    if (opts.out) fs.writeFileSync(opts.out, text);
    else process.stdout.write(text);
    return summary.unexplained > 0 || summary.changed > 0 ? 1 : 0;
}

if (require.main === module) {
    try {
        process.exitCode = main(process.argv.slice(2));
    } catch (e) {
        console.error(`analyzer-compare: ${(e as Error).message}`);
        process.exitCode = 2;
    }
}
