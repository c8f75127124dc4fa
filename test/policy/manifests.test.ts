import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { checkerObjects } from "../../bench/manifests";
import { DEFAULT_MAX_DOCUMENT_SIZE, ManifestError, readManifests, ReadOptions } from "../../policy/adapters/manifests";
import { evaluate } from "../../policy/lib/engine";
import type { Subject } from "../../policy/semantics/objects";
import { RULES } from "../../policy/rules";

let dir: string;
before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-tenancy-manifests-"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let count = 0;
function write(text: string, name = `m${count++}.yaml`): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
}

const read = (text: string, options: ReadOptions = {}) => readManifests([write(text)], options).subjects;
const namespaceOf = (subjects: Subject[], kind: string) => subjects.find((s) => s.object.kind === kind)!.object.metadata.namespace;

function refused(fn: () => unknown): string {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ManifestError, `expected a ManifestError, got ${String(e)}`);
        return e.message;
    }
    assert.fail("expected the input to be refused");
}

const doc = (apiVersion: string, kind: string, extra = "") => `---\napiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: x\n${extra}`;

describe("reading manifests: namespaces", () => {
    it("puts namespaced objects that name no namespace into `default`, or into the namespace given", () => {
        const text = [doc("apps/v1", "Deployment"), doc("security.istio.io/v1", "AuthorizationPolicy"), doc("v1", "ConfigMap")].join("");
        for (const s of read(text)) assert.equal(s.object.metadata.namespace, "default", s.object.kind);
        for (const s of read(text, { namespace: "app-a" })) assert.equal(s.object.metadata.namespace, "app-a", s.object.kind);
    });

    it("keeps a namespace an object names; an empty one counts as none", () => {
        const subjects = read(doc("v1", "Service", "  namespace: app-b\n") + doc("v1", "ConfigMap", "  namespace: ''\n"), { namespace: "app-a" });
        assert.equal(namespaceOf(subjects, "Service"), "app-b");
        assert.equal(namespaceOf(subjects, "ConfigMap"), "app-a");
    });

    it("leaves cluster-scoped kinds without a namespace", () => {
        const clusterScoped: [string, string][] = [
            ["v1", "Namespace"],
            ["v1", "PersistentVolume"],
            ["v1", "Node"],
            ["rbac.authorization.k8s.io/v1", "ClusterRole"],
            ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding"],
            ["apiextensions.k8s.io/v1", "CustomResourceDefinition"],
            ["admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"],
            ["admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"],
            ["admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"],
            ["admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"],
            ["scheduling.k8s.io/v1", "PriorityClass"],
            ["storage.k8s.io/v1", "StorageClass"],
            ["networking.k8s.io/v1", "IngressClass"],
            ["gateway.networking.k8s.io/v1", "GatewayClass"],
            ["apiregistration.k8s.io/v1", "APIService"],
        ];
        const subjects = read(clusterScoped.map(([v, k]) => doc(v, k)).join(""), { namespace: "app-a" });
        assert.equal(subjects.length, clusterScoped.length);
        for (const s of subjects) assert.equal(s.object.metadata.namespace, undefined, `${s.object.apiVersion} ${s.object.kind}`);
    });

    it("gives the namespace to namespaced kinds whose names resemble cluster-scoped ones", () => {
        const subjects = read(
            [doc("networking.istio.io/v1", "Gateway"), doc("gateway.networking.k8s.io/v1", "Gateway"), doc("rbac.authorization.k8s.io/v1", "RoleBinding"), doc("rbac.authorization.k8s.io/v1", "Role")].join(""),
        );
        for (const s of subjects) assert.equal(s.object.metadata.namespace, "default", `${s.object.apiVersion} ${s.object.kind}`);
    });

    it("counts unknown custom kinds as namespaced, unless a CRD in the input declares them cluster-scoped", () => {
        const crd = (kind: string, scope: string) =>
            doc("apiextensions.k8s.io/v1", "CustomResourceDefinition", `spec:\n  group: example.com\n  scope: ${scope}\n  names:\n    kind: ${kind}\n`);
        const subjects = read(
            [crd("Tenant", "Cluster"), crd("Quota", "Namespaced"), doc("example.com/v1", "Tenant"), doc("example.com/v1", "Quota"), doc("other.io/v1", "Tenant"), doc("example.com/v1", "Widget")].join(""),
            { namespace: "app-a" },
        );
        const ns = Object.fromEntries(subjects.filter((s) => s.object.kind !== "CustomResourceDefinition").map((s) => [`${s.object.apiVersion} ${s.object.kind}`, s.object.metadata.namespace]));
        assert.deepEqual(ns, { "example.com/v1 Tenant": undefined, "example.com/v1 Quota": "app-a", "other.io/v1 Tenant": "app-a", "example.com/v1 Widget": "app-a" });
    });

    it("fills in List items; leaves the pack's HelmRelease alone; `namespace: null` changes nothing", () => {
        const list = "---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: b\n";
        const text = list + doc("mesh-tenancy.io/v1", "HelmRelease", "spec:\n  chart: istiod\n");
        const subjects = read(text, { namespace: "app-a" });
        assert.deepEqual(
            subjects.map((s) => [s.object.kind, s.object.metadata.namespace]),
            [
                ["Service", "app-a"],
                ["Namespace", undefined],
                ["HelmRelease", undefined],
            ],
        );
        assert.equal(namespaceOf(read(text, { namespace: null }), "Service"), undefined);
    });
});

/** What the reader must produce: every object with the line of its document, as yaml reads the whole text at once. */
function wholeText(text: string): { object: unknown; line: number }[] {
    const lineCounter = new YAML.LineCounter();
    const out: { object: unknown; line: number }[] = [];
    for (const d of YAML.parseAllDocuments(text, { lineCounter }) as YAML.Document.Parsed[]) {
        assert.deepEqual(d.errors, []);
        const value = d.toJS();
        if (value == null) continue;
        for (const object of value.kind === "List" ? value.items : [value]) out.push({ object, line: lineCounter.linePos(d.range[0]).line });
    }
    return out;
}

describe("reading manifests: document by document", () => {
    const MIXED = [
        "# leading comment\n",
        doc("v1", "ConfigMap", "  namespace: a\ndata:\n  script: |\n    line one\n    line two\n\n    after a blank line\n  folded: >\n    folded\n    text\n"),
        "# between documents\n\n",
        doc("v1", "ConfigMap", "  namespace: a\n  annotations:\n    note: \"é ✓ 𝄞 multi-byte\"\ndata:\n  k: 'single ''quoted'''\n"),
        "...\n",
        "---\n# a document of comments only\n",
        "---\n{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"flow\", \"namespace\": \"a\"}}\n",
        "--- \napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s1\n    namespace: a\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s2\n    namespace: a\n",
        doc("v1", "Service", "  namespace: a\r\n  labels:\r\n    crlf: 'yes'\r\n"),
        "---\n",
    ].join("");

    it("gives the same objects and lines as reading the whole text, whatever the chunk size", () => {
        const file = write(MIXED);
        const expected = wholeText(MIXED);
        assert.equal(expected.length, 6);
        for (const chunkSize of [1, 2, 3, 5, 7, 16, 61, 4096, undefined]) {
            const { subjects } = readManifests([file], { chunkSize, namespace: null });
            assert.deepEqual(
                subjects.map((s) => ({ object: s.object, line: s.origin.line })),
                expected,
                `chunk size ${chunkSize}`,
            );
            assert.ok(subjects.every((s) => s.origin.file === file));
        }
    });

    it("keeps lines right across a thousand chunks: the 5,000th document and an error after it", () => {
        let text = "";
        let line = 1;
        const lines: number[] = [];
        for (let i = 0; i < 5_000; i++) {
            lines.push(line);
            const d = `---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${i}\n  namespace: a\n${i % 3 === 0 ? "data:\n  x: |\n    one\n    two\n" : ""}`;
            text += d;
            line += d.split("\n").length - 1;
        }
        const file = write(text);
        const { subjects } = readManifests([file], { chunkSize: 512 });
        assert.equal(subjects.length, 5_000);
        assert.deepEqual(
            subjects.map((s) => s.origin.line),
            lines,
        );
        assert.equal(subjects[4_999].object.metadata.name, "c4999");
        const total = text.split("\n").length;
        const broken = write(`${text}---\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n`);
        assert.equal(refused(() => readManifests([broken], { chunkSize: 512 })), `${broken}:${total + 4}: invalid YAML: Map keys must be unique`);
    });

    it("reads nothing from an empty file, a file of comments, or a stream of empty documents", () => {
        for (const text of ["", "# nothing here\n# at all\n", "---\n---\n...\n", "\uFEFF"]) assert.deepEqual(read(text), [], JSON.stringify(text));
    });
});

describe("reading manifests: limits", () => {
    it("refuses an alias bomb with its file and line, without expanding it", () => {
        const bomb = [
            doc("v1", "Namespace"),
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\n  namespace: a\ndata:\n",
            "  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
            ...["b", "c", "d", "e", "f", "g", "h", "i"].map((k, i) => `  ${k}: &${k} [${Array(9).fill(`*${"abcdefgh"[i]}`).join(", ")}]\n`),
        ].join("");
        const file = write(bomb);
        const started = performance.now();
        assert.equal(refused(() => readManifests([file])), `${file}:6: document expands aliases past the limit of 100 (a "billion laughs" document?)`);
        // Expanded, `i` alone would hold 9^9 (387 million) strings.
        assert.ok(performance.now() - started < 10_000);
    });

    it("reads a document with a few aliases", () => {
        const subjects = read(doc("v1", "ConfigMap", "  labels: &l\n    app: web\n  annotations: *l\n"));
        assert.deepEqual(subjects[0].object.metadata.annotations, { app: "web" });
    });

    it("refuses a document over the size cap as soon as the cap is passed, naming the line it starts on", () => {
        const big = `${doc("v1", "Namespace")}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n${"  k: 0123456789012345678901234567890123456789\n".repeat(200_000)}`;
        const file = write(big);
        // 9 MB in one document; with a 64 KiB cap the reader stops in its first megabyte, while it is still open.
        assert.equal(
            refused(() => readManifests([file], { maxDocumentSize: 64 * 1024 })),
            `${file}:6: document starting here exceeds the 65536-character limit per document (raise it with --max-document-size)`,
        );
    });

    it("refuses a complete document over the cap, and reads it once the cap is raised", () => {
        // A document followed by another is known complete before the end of the file; the last one only at the end.
        const first = doc("v1", "Namespace");
        const second = doc("v1", "ConfigMap", `data:\n  k: ${"x".repeat(5000)}\n`);
        const text = first + second + doc("v1", "Service");
        const file = write(text);
        const size = second.length;
        assert.equal(
            refused(() => readManifests([file], { maxDocumentSize: 4096 })),
            `${file}:6: document of ${size} characters exceeds the 4096-character limit per document (raise it with --max-document-size)`,
        );
        assert.equal(readManifests([file], { maxDocumentSize: size }).subjects.length, 3);
        assert.ok(size < DEFAULT_MAX_DOCUMENT_SIZE);
    });
});

describe("the rules over 250,000 objects", function () {
    // About 30 s alone on two shared cores; ten minutes leaves room for a machine busy with other suites.
    this.timeout(600_000);

    it("evaluate() and the inventory take a quarter of a million objects (no argument spreading, no quadratic step)", () => {
        const subjects: Subject[] = [];
        for (const object of checkerObjects(250_000)) subjects.push({ object, origin: { file: "generated.yaml", line: subjects.length + 1 } });
        for (const { object } of subjects) if (object.metadata.namespace === undefined && object.kind === "ConfigMap") object.metadata.namespace = "default";
        assert.equal(subjects.length, 250_000);
        const violations = evaluate(RULES, subjects, {});
        assert.deepEqual(
            violations.map((v) => `${v.rule.id} ${v.message}`),
            [],
        );
        // The same objects with every ALLOW policy of a tenant namespace opened to any source: one finding each.
        const tenants = new Set(subjects.filter((s) => s.object.kind === "Namespace" && s.object.metadata.labels?.["mesh-tenancy.io/role"] === "tenant").map((s) => s.object.metadata.name));
        let opened = 0;
        for (const { object } of subjects) {
            const spec = object.spec as any;
            if (object.kind === "AuthorizationPolicy" && tenants.has(object.metadata.namespace!) && (spec?.action ?? "ALLOW") === "ALLOW" && Array.isArray(spec?.rules) && spec.rules.length > 0) {
                spec.rules = [{}];
                opened++;
            }
        }
        assert.ok(opened > 20_000, `${opened} policies opened`);
        const found = evaluate(RULES, subjects, {}).filter((v) => v.rule.id === "MT012");
        assert.equal(found.length, opened);
    });
});
