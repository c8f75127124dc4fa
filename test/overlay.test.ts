import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { canonical, composedObjects, composeTree, mergePatch, overlayOf } from "./harness/overlay";

describe("fixtures as a baseline plus a change (test/harness/overlay.ts)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "overlay-"));
    const write = (name: string, text: string) => {
        fs.writeFileSync(path.join(dir, name), text);
        return path.join(dir, name);
    };
    const ns = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
    const sc = (namespace: string, hosts: string[]) => ({ apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "default", namespace }, spec: { egress: [{ hosts }] } });
    const manifest = (objects: object[], header = "# a case") => `${header}\n${objects.map((o) => `---\n${YAML.stringify(o)}`).join("")}`;
    const base = write("clean.yaml", manifest([ns("a", { usergroup: "blue" }), ns("b", { usergroup: "blue" }), sc("a", ["./*"])]));

    it("adds, replaces, removes and merge-patches the baseline's objects, keeping its order", () => {
        const file = write(
            "case.yaml",
            [
                "# case\n# base: clean.yaml",
                "---\n" + YAML.stringify({ $remove: "v1 Namespace b" }),
                "---\n" + YAML.stringify({ $patch: "v1 Namespace a", merge: { metadata: { labels: { usergroup: null, team: "x" } } } }),
                "---\n" + YAML.stringify(sc("a", ["*/*"])),
                "---\n" + YAML.stringify(ns("c")),
            ].join("\n"),
        );
        assert.deepEqual(composedObjects(file), [ns("a", { team: "x" }), sc("a", ["*/*"]), ns("c")]);
    });

    it("composes over what the program plans for a config (`# base: plan:`), and names a config the plan refuses", () => {
        write("estate.yaml", YAML.stringify({ istio: { version: "1.31.0" }, admissionGuardrails: "off", usergroups: [{ name: "blue", systemNamespace: "istio-blue", tenants: [{ name: "app-a" }] }] }));
        const planned = composedObjects(write("planned.yaml", "# planned\n# base: plan:estate.yaml\n"));
        const keys = planned.map((o) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`);
        for (const k of ["Namespace /app-a", "Sidecar app-a/default", "AuthorizationPolicy app-a/allow-permitted-namespaces", "NetworkPolicy app-a/default-deny-ingress", "HelmRelease istio-blue/istiod-blue"]) {
            assert.ok(keys.includes(k), `the plan's ${k} is in the baseline (got ${keys.join(", ")})`);
        }
        const changed = composedObjects(
            write("planned-case.yaml", `# case\n# base: plan:estate.yaml\n---\n${YAML.stringify({ $patch: "v1 Namespace app-a", merge: { metadata: { labels: { usergroup: "green" } } } })}`),
        );
        assert.equal(changed.find((o) => o.kind === "Namespace" && o.metadata.name === "app-a")!.metadata.labels.usergroup, "green");
        write("bad-estate.yaml", YAML.stringify({ istio: { version: "1.31.0" }, usergroups: [{ name: "blue", tenants: [{ name: "app-a", bogus: 1 }] }] }));
        assert.throws(() => composedObjects(write("bad.yaml", "# bad\n# base: plan:bad-estate.yaml\n")), /bad-estate\.yaml: .*bogus/s);
        assert.throws(() => composedObjects(write("missing.yaml", "# missing\n# base: plan:nowhere.yaml\n")), /base plan:nowhere\.yaml: no such file/);
    });

    it("follows a baseline that is an overlay itself, and refuses a cycle or a key the baseline lacks, naming them", () => {
        const mid = write("mid.yaml", `# mid\n# base: clean.yaml\n---\n${YAML.stringify(ns("d"))}`);
        const top = write("top.yaml", `# top\n# base: mid.yaml\n---\n${YAML.stringify({ $remove: "v1 Namespace d" })}`);
        assert.equal(composedObjects(top).length, 3);
        assert.ok(composedObjects(mid).some((o) => o.metadata.name === "d"));
        write("loop-a.yaml", "# a\n# base: loop-b.yaml\n");
        write("loop-b.yaml", "# b\n# base: loop-a.yaml\n");
        assert.throws(() => composedObjects(path.join(dir, "loop-a.yaml")), /leads back to itself/);
        const bad = write("bad.yaml", `# bad\n# base: clean.yaml\n---\n${YAML.stringify({ $patch: "v1 Namespace zz", merge: {} })}`);
        assert.throws(() => composedObjects(bad), /bad\.yaml: \$patch v1 Namespace zz: base clean\.yaml has no such object/);
    });

    it("writes the overlay of a whole manifest that composes back to it, and mergePatch follows RFC 7386", () => {
        const target = [ns("a", { usergroup: "blue", extra: "1" }), sc("a", ["./*", "istio-blue/*"]), ns("e")];
        const overlay = overlayOf(composedObjects(base), target);
        const file = write("round.yaml", `# round\n# base: clean.yaml\n${overlay.map((d) => `---\n${YAML.stringify(d)}`).join("")}`);
        assert.deepEqual(composedObjects(file).map(canonical).sort(), target.map(canonical).sort());
        assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: [1] } }, { b: { c: null, d: [2] }, e: "x" }), { a: 1, b: { d: [2] }, e: "x" });
    });

    it("composes a tree into whole manifests, headers kept and the base line dropped, and prunes what lost its source", () => {
        const src = fs.mkdtempSync(path.join(os.tmpdir(), "overlay-src-"));
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "overlay-out-"));
        fs.copyFileSync(base, path.join(src, "clean.yaml"));
        fs.writeFileSync(path.join(src, "v.yaml"), `# v\n# expect: MT0101 Namespace a\n# base: clean.yaml\n---\n${YAML.stringify(ns("f"))}`);
        fs.writeFileSync(path.join(out, "stale.yaml"), "x");
        composeTree(src, out);
        const text = fs.readFileSync(path.join(out, "v.yaml"), "utf8");
        assert.match(text, /^# v\n# expect: MT0101 Namespace a\n---\n/);
        assert.doesNotMatch(text, /# base:/);
        assert.equal(YAML.parseAllDocuments(text).length, 4);
        assert.ok(!fs.existsSync(path.join(out, "stale.yaml")));
    });
});
