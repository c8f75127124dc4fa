import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "./harness/configs";
import { commentMarker, GITHUB_COMMENT_LIMIT, previewComment } from "../ops/comment";
import { OutputFolder } from "../ops/fold";

const CLOSING = "error: grpc: the client connection is closing";

/** The shape of a failed update: knock-on errors of every chart, around the one error that caused them. */
const failedUpdate = [
    "Updating (prod):",
    "    + kubernetes:core/v1:Namespace shop-ns creating",
    `    ~ kubernetes:helm.sh/v4:Chart a-gateway updating failed ${CLOSING}`,
    "    + kubernetes:core/v1:Namespace shop-ns created",
    "Diagnostics:",
    "  kubernetes:helm.sh/v4:Chart (a-gateway):",
    `    ${CLOSING}`,
    "",
    "  kubernetes:networking.istio.io/v1:Sidecar (shop-default):",
    '    error: resource "urn:pulumi:prod::mesh-tenancy::x" was not successfully created: admission webhook denied the request',
    "",
    "  kubernetes:helm.sh/v4:Chart (b-gateway):",
    `    ${CLOSING}`,
    "",
    "  pulumi:pulumi:Stack (mesh-tenancy-prod):",
    "    error: failed to run policy/remediation: context canceled",
    "    error: update failed",
    "",
    "Resources:",
    "    + 1 created",
    "",
].join("\n");

describe("output folding", () => {
    it("puts the first real error first and folds the knock-on errors into one counted line", () => {
        const out = OutputFolder.fold(failedUpdate, "/tmp/up.log");
        const lines = out.split("\n");
        const firstError = lines.findIndex((l) => /\berror\b/.test(l));
        assert.match(lines[firstError], /admission webhook denied the request/);
        assert.doesNotMatch(out, /client connection is closing"?\n/);
        assert.doesNotMatch(out, /a-gateway|b-gateway/, "a resource whose only errors were knock-on goes with them");
        assert.match(out, /error: update failed/);
        assert.match(out, /\(folded: 4 knock-on error lines \("grpc: the client connection is closing" x3, "context canceled" x1\); full output in \/tmp\/up\.log\)/);
    });

    it("keeps knock-on errors when no real error came: they were the real ones", () => {
        const interrupted = ["Updating (prod):", "Diagnostics:", "  pulumi:pulumi:Stack (p):", "    error: context canceled", ""].join("\n");
        const out = OutputFolder.fold(interrupted);
        assert.match(out, /error: context canceled/);
        assert.doesNotMatch(out, /folded/);
    });

    it("folds the managedFields of a refreshed object to one line and keeps the drift beside it", () => {
        const refresh = [
            "    ~ kubernetes:security.istio.io/v1:AuthorizationPolicy shop-authz refresh",
            "        ~ metadata: {",
            "            ~ managedFields: [",
            "                  [0]: {",
            '                      manager: "pulumi-kubernetes"',
            "                  }",
            "              ]",
            "          }",
            "        ~ spec: {",
            '            ~ principals: "*"',
            "          }",
        ].join("\n");
        const out = OutputFolder.fold(refresh);
        assert.doesNotMatch(out, /manager:/);
        assert.match(out, /~ managedFields: \(5 lines folded\)/);
        assert.match(out, /principals: "\*"/);
        assert.match(out, /\(folded: 5 managedFields lines\)/);
    });

    it("says how to retire a tenant when the engine refuses to delete inside a protected namespace", () => {
        const refused = [
            "Diagnostics:",
            "  kubernetes:networking.istio.io/v1:Sidecar (reports-sidecar):",
            '    error: unable to delete resource "urn:pulumi:prod::mesh-tenancy::mesh-tenancy:index:MeshTenancy$mesh-tenancy:index:TenantNamespace$kubernetes:networking.istio.io/v1:Sidecar::reports-sidecar"',
            "    as it is currently marked for protection.",
            "",
        ].join("\n");
        const out = OutputFolder.fold(refused);
        assert.match(out, /marked for protection\.\nmesh-tenancy: nothing in a protected namespace was deleted\. To retire a tenant on purpose: set `retire: true`/);
        assert.doesNotMatch(OutputFolder.fold(refused.replace("TenantNamespace", "Other")), /retire/);
        // The same refusal as CLI 3.274 words it.
        const current = [
            "Diagnostics:",
            "  kubernetes:networking.k8s.io/v1:NetworkPolicy (reports-deny-ingress):",
            '    error: resource "urn:pulumi:local::mesh-tenancy::mesh-tenancy:index:MeshTenancy$mesh-tenancy:index:TenantNamespace$kubernetes:networking.k8s.io/v1:NetworkPolicy::reports-deny-ingress" cannot be deleted',
            "    because it is protected. To unprotect the resource, either remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`, or use the command:",
            "",
        ].join("\n");
        assert.match(OutputFolder.fold(current), /nothing in a protected namespace was deleted\. To retire a tenant on purpose: set `retire: true`/);
        assert.doesNotMatch(OutputFolder.fold(current.replace("TenantNamespace", "Other")), /retire/);
    });

    it("an API server outage under a tenant's component gets the outage's next step, never the retire hint", () => {
        // As a create fails when the API server stops half-way through an up (CLI 3.274, provider 4.25).
        const outage = [
            "Diagnostics:",
            "  kubernetes:networking.k8s.io/v1:NetworkPolicy (payments-deny-ingress):",
            '    error: resource "urn:pulumi:local::mesh-tenancy::mesh-tenancy:index:MeshTenancy$mesh-tenancy:index:TenantNamespace$kubernetes:networking.k8s.io/v1:NetworkPolicy::payments-deny-ingress" was not successfully created by the Kubernetes API server: Post "https://127.0.0.1:36277/apis/networking.k8s.io/v1/namespaces/payments/networkpolicies": dial tcp 127.0.0.1:36277: connect: connection refused',
            "",
        ].join("\n");
        const out = OutputFolder.fold(outage);
        assert.doesNotMatch(out, /retire/);
        assert.match(out, /the Kubernetes API server did not answer \(or the connection to it broke\), so the update stopped part-way; nothing was refused or deleted/);
        assert.doesNotMatch(OutputFolder.fold(outage.replace(/dial tcp.*$/m, "admission webhook denied the request")), /did not answer/);
    });

    describe("recorded output of each fault the fault suite injects (test/e2e/faults.e2e.ts), each with its own cause and next step", () => {
        const recorded = (name: string) => fs.readFileSync(path.join(ROOT, "test", "fixtures", "ops", "faults", `${name}.out`), "utf8");
        const HINTS: Record<string, RegExp> = {
            outage: /^mesh-tenancy: the Kubernetes API server did not answer/m,
            lock: /^mesh-tenancy: another update of this stack holds its lock/m,
            plugin: /^mesh-tenancy: the Kubernetes provider process ended in the middle of the run/m,
            pending: /^mesh-tenancy: the last update was interrupted while \d+ operations? (was|were) in flight/m,
            retire: /retire/,
        };
        const cases: Array<[string, string | undefined]> = [
            ["api-server-stopped", "outage"],
            ["lock-held", "lock"],
            ["provider-killed", "plugin"],
            // The up after a kill with the state written at every step: it goes through, and warns of what was in flight.
            ["pending-operations", "pending"],
            // A proxy adding latency and cutting every third connection: a patch's connection broke (`write: broken pipe`).
            ["api-server-slow", "outage"],
            // etcd away for 8 s: the API server held the requests and the run went through.
            ["etcd-stopped", undefined],
        ];
        for (const [name, hint] of cases) {
            it(`${name}: ${hint ?? "no hint"}${hint !== undefined ? ", and no other" : ""}`, () => {
                const out = OutputFolder.fold(recorded(name));
                for (const [k, re] of Object.entries(HINTS)) {
                    if (k === hint) assert.match(out, re, `${name} says ${k}`);
                    else assert.doesNotMatch(out, re, `${name} does not say ${k}`);
                }
            });
        }

        it("the held lock's hint names the holder and the stack to cancel, from the lock line", () => {
            const out = OutputFolder.fold(recorded("lock-held"));
            assert.match(out, /holds its lock \(root@vm, pid \d+, since 2026-12-04T\S+\); this run changed nothing/);
            assert.match(out, /`pulumi cancel --yes --stack local`/);
        });

        it("pending operations get a recovery that works without a terminal, for the stack their URNs name", () => {
            const out = OutputFolder.fold(recorded("pending-operations"));
            assert.match(out, /`pulumi refresh --clear-pending-creates --yes --stack local`/);
        });

        it("a provider that ended is not blamed as a bug: the hint says killed or out of memory, and to run again", () => {
            const out = OutputFolder.fold(recorded("provider-killed"));
            assert.match(out, /exited prematurely/, "the engine's own line stays");
            assert.match(out, /\(killed, or out of memory[\s\S]*Run the same `pulumi up` again/);
        });

        it("the PR comment carries the cause and the next step, and a lock error printed before any section", () => {
            const lock = previewComment({ stack: "local", log: recorded("lock-held"), exitCode: 255, logUrl: "u" });
            assert.match(lock, /\*\*What happened, and the next step\*\*\n\n```text\nmesh-tenancy: another update of this stack holds its lock/);
            assert.match(lock, /\*\*Errors\*\*\n\n```text\nerror: the stack is currently locked/);
            const outage = previewComment({ stack: "local", log: recorded("api-server-stopped"), exitCode: 255, logUrl: "u" });
            assert.match(outage, /mesh-tenancy: the Kubernetes API server did not answer[\s\S]*"When the API server goes away during an update"/);
            assert.doesNotMatch(outage, /retire/);
            assert.doesNotMatch(previewComment({ stack: "local", log: recorded("etcd-stopped"), exitCode: 0, logUrl: "u" }), /What happened/);
        });
    });

    it("passes output without errors or managedFields through unchanged", () => {
        const text = "Previewing update (dev):\n    + kubernetes:core/v1:Namespace a create\nResources:\n    + 1 to create\n";
        assert.equal(OutputFolder.fold(text), text);
    });
});

describe("pull-request comment", () => {
    const preview = (resources: number) =>
        [
            "Previewing update (prod):",
            ...Array.from({ length: resources }, (_, i) => `    + kubernetes:networking.istio.io/v1:Sidecar tenant-${i}-default create`),
            "Policies:",
            "    ✅ mesh-tenancy-isolation@v0.1.0 (local: policy)",
            "Outputs:",
            ...Array.from({ length: resources }, (_, i) => `    tenant-${i}: { revision: "ug" }`),
            "Resources:",
            `    + ${resources} to create`,
            "",
        ].join("\n");

    it("holds the counts, the policy results and the diff, not the outputs, and links the full log", () => {
        const text = previewComment({ stack: "prod", log: preview(3), exitCode: 0, logUrl: "https://ci.example/run/1" });
        assert.ok(text.startsWith(commentMarker("prod")));
        assert.match(text, /\+ 3 to create/);
        assert.match(text, /mesh-tenancy-isolation@v0\.1\.0/);
        assert.match(text, /\n\+    kubernetes:networking\.istio\.io\/v1:Sidecar tenant-2-default create/);
        assert.doesNotMatch(text, /revision: "ug"/);
        assert.match(text, /Full log: https:\/\/ci\.example\/run\/1/);
    });

    it("cuts a diff too long for GitHub, keeping whole lines, the policy results and the link", () => {
        const text = previewComment({ stack: "prod", log: preview(5000), exitCode: 0, logUrl: "https://ci.example/run/1" });
        assert.ok(text.length <= GITHUB_COMMENT_LIMIT, `${text.length}`);
        assert.ok(text.length > GITHUB_COMMENT_LIMIT - 2000, "uses the room it has");
        assert.match(text, /\.\.\. \d+ more lines in the full log: https:\/\/ci\.example\/run\/1/);
        assert.match(text, /mesh-tenancy-isolation/);
        assert.match(text, /Full log: https:\/\/ci\.example\/run\/1\n$/);
        assert.doesNotMatch(text, /default creat\n/, "no line is cut in the middle");
    });

    it("reads `preview --diff` as the 3.274 CLI writes it: progress lines inside the diff, the packs under `Policy Packs run:`", () => {
        const log = [
            "Previewing update (local):",
            "  pulumi:pulumi:Stack: (same)",
            "@ previewing update....",
            "    + kubernetes:core/v1:Namespace: (create)",
            "        [urn=urn:pulumi:local::mesh-tenancy::kubernetes:core/v1:Namespace::extra-0-ns]",
            "@ previewing update....",
            "    + kubernetes:networking.istio.io/v1:Sidecar: (create)",
            "Resources:",
            "    + 2 to create",
            "",
            "Policy Packs run:",
            "    Name                       Version",
            "    mesh-tenancy|local|policy  0.1.0",
            "",
        ].join("\n");
        const text = previewComment({ stack: "local", log, exitCode: 0, logUrl: "u" });
        assert.match(text, /extra-0-ns/);
        assert.match(text, /Sidecar: \(create\)/);
        assert.doesNotMatch(text, /previewing update/);
        assert.match(text, /\*\*Policies\*\*\n\n```text\n[^`]*mesh-tenancy\|local\|policy {2}0\.1\.0/);
    });

    it("shows a failed preview's errors with knock-on errors folded", () => {
        const text = previewComment({ stack: "prod", log: failedUpdate.replace("Updating", "Previewing update"), exitCode: 255, logUrl: "u" });
        assert.match(text, /failed \(exit 255\)/);
        assert.match(text, /\*\*Errors\*\*\n\n```text\n {2}kubernetes:networking\.istio\.io\/v1:Sidecar \(shop-default\):\n {4}error: resource/);
        assert.doesNotMatch(text, /client connection is closing\n/);
    });
});

describe("program runs", () => {
    it("transpile only, and only because `npm test` type-checks the same sources", () => {
        const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        const runConfig = JSON.parse(fs.readFileSync(path.join(ROOT, project.runtime.options.tsconfig), "utf8"));
        // The SDK reads noCheck from this file itself, not through `extends`.
        assert.equal(runConfig.compilerOptions.noCheck, true);
        assert.equal(runConfig.extends, "./tsconfig.json");
        const checked = JSON.parse(fs.readFileSync(path.join(ROOT, "tsconfig.json"), "utf8"));
        assert.equal(checked.compilerOptions.noCheck, undefined);
        assert.ok(checked.include.includes("index.ts"));
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.match(pkg.scripts.build, /tsc --noEmit -p \./);
        assert.match(pkg.scripts["test:unit"], /npm run build/);
    });
});

describe("scripts/pulumi-run.sh", () => {
    /** Runs the script with a stand-in `pulumi` first on PATH that prints what it was given and exits with `status`. */
    function runWith(env: Record<string, string>, status: number, args = ["up", "--yes"]) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-run-"));
        try {
            fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\necho "args=$* GOGC=$GOGC PULUMI_PARALLEL_DIFF=$PULUMI_PARALLEL_DIFF NODE_COMPILE_CACHE=$NODE_COMPILE_CACHE"\nexit ${status}\n`, { mode: 0o755 });
            const log = path.join(dir, "whole.log");
            const { GOGC: _g, NODE_COMPILE_CACHE: _n, PULUMI_PARALLEL_DIFF: _p, ...inherited } = process.env;
            const run = spawnSync(path.join(ROOT, "scripts", "pulumi-run.sh"), args, {
                cwd: ROOT,
                env: { ...inherited, HOME: dir, XDG_CACHE_HOME: "", PATH: `${dir}:${process.env.PATH}`, MESH_TENANCY_PULUMI_LOG: log, ...env },
                encoding: "utf8",
            });
            return { status: run.status, stdout: run.stdout, log: fs.readFileSync(log, "utf8"), home: dir };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    it("runs Pulumi with Go's collector at GOGC=400, parallel diffs and Node's compile cache, unless the caller set them, passing its status and keeping the whole output", () => {
        const plain = runWith({}, 3);
        assert.equal(plain.status, 3);
        assert.match(plain.log, new RegExp(`^args=up --yes GOGC=400 PULUMI_PARALLEL_DIFF=true NODE_COMPILE_CACHE=${plain.home}/.cache/mesh-tenancy/node-compile-cache$`, "m"));
        assert.match(plain.stdout, /args=up --yes GOGC=400/);
        const chosen = runWith({ GOGC: "100", PULUMI_PARALLEL_DIFF: "false", NODE_COMPILE_CACHE: "/elsewhere" }, 0);
        assert.equal(chosen.status, 0);
        assert.match(chosen.log, /GOGC=100 PULUMI_PARALLEL_DIFF=false NODE_COMPILE_CACHE=\/elsewhere$/m);
    });

    it("starts this project's policy pack as the binary analyzer beside it, however its directory is named, and leaves other packs and other arguments alone", () => {
        const analyzer = path.join(fs.realpathSync(ROOT), "policy", "analyzer");
        const argsOf = (args: string[], env: Record<string, string> = {}) => runWith(env, 0, args).log.match(/^args=(.*) GOGC=/m)![1];
        assert.equal(argsOf(["preview", "--policy-pack", "policy", "--policy-pack-config", "policy/config/dev.json"]), `preview --policy-pack ${analyzer} --policy-pack-config policy/config/dev.json`);
        assert.equal(argsOf(["preview", "--policy-pack", path.join(ROOT, "policy") + "/"]), `preview --policy-pack ${analyzer}`);
        assert.equal(argsOf(["preview", "--policy-pack=./policy"]), `preview --policy-pack=${analyzer}`);
        assert.equal(argsOf(["preview", "--policy-pack", "test", "--message", "policy"]), "preview --policy-pack test --message policy", "another pack, and a value that is not a pack");
        assert.equal(argsOf(["preview", "--policy-pack", "policy"], { MESH_TENANCY_PACK_LAUNCH: "language-host" }), "preview --policy-pack policy");
    });

    it("policy/analyzer says what it needs when started by hand", () => {
        const r = spawnSync(path.join(ROOT, "policy", "analyzer"), [], { encoding: "utf8" });
        assert.equal(r.status, 2);
        assert.match(r.stderr, /expects the engine's address as its one argument/);
    });
});
