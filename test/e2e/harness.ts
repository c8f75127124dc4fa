import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "../harness/configs";

export interface Run {
    code: number;
    stdout: string;
    stderr: string;
    seconds: number;
}

/** Runs a command to completion; the e2e script has put pulumi, kubectl and the cluster's KUBECONFIG in the env. */
export function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Run {
    const start = process.hrtime.bigint();
    const result = spawnSync(command, args, {
        cwd: options.cwd ?? ROOT,
        env: { ...process.env, ...options.env },
        encoding: "utf8",
        input: options.input,
        maxBuffer: 256 * 1024 * 1024,
        timeout: 15 * 60 * 1000,
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (result.error) throw result.error;
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, seconds };
}

/** Fails with the command's own output when it did not exit as expected. */
export function expectExit(r: Run, code: number, what: string): Run {
    if (r.code !== code) {
        throw new Error(`${what}: exit ${r.code}, expected ${code}\n--- stdout ---\n${r.stdout.slice(-8000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`);
    }
    return r;
}

export function pulumi(args: string[], options: { cwd?: string } = {}): Run {
    return run("pulumi", [...args, "--non-interactive", "--color", "never"], options);
}

/** `pulumi` through scripts/pulumi-run.sh, as the scripts and workflows run it; `log` receives the whole output. */
export function pulumiFolded(args: string[], log: string): Run {
    return run(path.join(ROOT, "scripts", "pulumi-run.sh"), [...args, "--non-interactive", "--color", "never"], { env: { MESH_TENANCY_PULUMI_LOG: log } });
}

export function tempFile(name: string): string {
    return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mesh-tenancy-e2e-")), name);
}

export function kubectlJson(args: string[]): any {
    return JSON.parse(expectExit(run("kubectl", [...args, "-o", "json"]), 0, `kubectl ${args.join(" ")}`).stdout);
}

/** A copy of a stack file with `mutate` applied to its `mesh-tenancy:usergroups`, for `--config-file`. */
export function stackFileVariant(stack: string, mutate: (usergroups: any[]) => void): string {
    return stackConfigVariant(stack, (config) => mutate(config["mesh-tenancy:usergroups"]));
}

/** A copy of a stack file with `mutate` applied to its whole `config:` map, for `--config-file`. */
export function stackConfigVariant(stack: string, mutate: (config: Record<string, any>) => void): string {
    const file = path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`);
    const doc = YAML.parse(fs.readFileSync(file, "utf8"));
    mutate(doc.config);
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mesh-tenancy-e2e-")), `Pulumi.${stack}.yaml`);
    fs.writeFileSync(out, YAML.stringify(doc));
    return out;
}

/** A timer that records, under `what`, the seconds (to a tenth) that `f` took, into `timings`. */
export function clockInto(timings: Record<string, number>): <T>(what: string, f: () => Promise<T> | T) => Promise<T> {
    return async <T>(what: string, f: () => Promise<T> | T): Promise<T> => {
        const start = process.hrtime.bigint();
        try {
            return await f();
        } finally {
            timings[what] = Math.round(Number(process.hrtime.bigint() - start) / 1e8) / 10;
        }
    };
}

/**
 * Waits until every namespace has its `default` ServiceAccount: with a node, the API server's ServiceAccount admission
 * refuses pods in a namespace whose account the controller has not made yet.
 */
export function waitForDefaultServiceAccounts(namespaces: ReadonlyArray<string>, seconds = 60): void {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const have = new Set(JSON.parse(expectExit(run("kubectl", ["get", "serviceaccounts", "-A", "--field-selector", "metadata.name=default", "-o", "json"]), 0, "list default ServiceAccounts").stdout).items.map((s: any) => s.metadata.namespace));
        const missing = namespaces.filter((n) => !have.has(n));
        if (missing.length === 0) return;
        if (Date.now() > deadline) throw new Error(`no default ServiceAccount after ${seconds}s in ${missing.join(", ")}`);
        spawnSync("sleep", ["0.2"]);
    }
}

/** Applies objects as one List, server-side, as `fieldManager` (taking over fields others hold). */
export function applyList(objects: unknown[], fieldManager: string, what = "kubectl apply"): void {
    expectExit(run("kubectl", ["apply", "--server-side", "--force-conflicts", "--field-manager", fieldManager, "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) }), 0, what);
}

/** The images scripts/node.sh builds and imports on the node (pods never pull). */
export const NODE_IMAGES = { echoprobe: "mesh-tenancy.local/echoprobe:local", pilot: "mesh-tenancy.local/pilot:local", proxyless: "mesh-tenancy.local/proxyless:local" } as const;
