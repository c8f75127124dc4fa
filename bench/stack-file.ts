/**
 * Writes a benchmark config as a stack file for the local control plane (stand-in charts, Istio's CRDs applied by
 * scripts/istio.sh, no nodes, unprotected, the guardrails' operator being the local admin, like
 * stacks/Pulumi.local.yaml), for measuring real `pulumi preview` and `up` runs:
 *
 *   ts-node --transpile-only bench/stack-file.ts N FILE [--shape program|engine] [--usergroup-size S] [--change] [--part PART]
 *   pulumi up --stack bench-N --config-file FILE ...
 *   ts-node --transpile-only bench/stack-file.ts N - --shape engine --parts   # JSON: the parts in deploy order, and
 *                                                                            # the part the one-tenant change is in
 *
 * The usergroups are written to FILE.usergroups.yaml (`usergroupsFile`). `--shape engine` is the estate of `npm run bench:engine` (four usergroups, or as many of at most S tenants as
 * `--usergroup-size S` asks); `--change` gives the first tenant that has
 * no quota one, a one-tenant change.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { parseConfig } from "../model/config";
import { planTenancy } from "../plan";
import { benchConfig, engineBenchConfig } from "./generate";

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
const [n, out] = [Number(args[0]), args[1]];
const shape = option("--shape") ?? "program";
if (!Number.isInteger(n) || n < 1 || out === undefined || (shape !== "program" && shape !== "engine")) {
    process.stderr.write("usage: stack-file.ts N FILE [--shape program|engine] [--usergroup-size S] [--change] [--part PART] [--parts]\n");
    process.exit(2);
}
const part = option("--part");
const localFile = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "stacks", "Pulumi.local.yaml"), "utf8"));
const local = localFile.config;
const usergroupSize = option("--usergroup-size");
if (usergroupSize !== undefined && !(Number.isInteger(Number(usergroupSize)) && Number(usergroupSize) > 0)) {
    process.stderr.write(`stack-file.ts: --usergroup-size must be a positive integer, got ${usergroupSize}\n`);
    process.exit(2);
}
const raw = shape === "engine" ? engineBenchConfig(n, usergroupSize === undefined ? undefined : Number(usergroupSize)) : benchConfig(n);
const changed = (raw.usergroups as any[]).flatMap((ug) => ug.tenants.map((t: any) => ({ ug: ug.name as string, t }))).find((x) => x.t.quota === undefined)!;
if (flag("--change")) changed.t.quota = { pods: 10 };
if (flag("--parts")) {
    // The part holding Istio's base chart (its CRDs) goes first, then the platform's guardrails, then the others.
    const plan = planTenancy(parseConfig(raw));
    const home = plan.controlPlanes.find((cp) => cp.systemNamespace === plan.base.namespace)!.usergroup;
    const usergroups = plan.controlPlanes.map((cp) => cp.usergroup);
    const order = [`usergroup:${home}`, "platform", ...usergroups.filter((u) => u !== home).map((u) => `usergroup:${u}`)];
    process.stdout.write(`${JSON.stringify({ order, changed: `usergroup:${changed.ug}` })}\n`);
    process.exit(0);
}
const config: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(raw).map(([k, v]) => [`mesh-tenancy:${k}`, v])),
    "mesh-tenancy:istio": { ...(raw.istio as object), chartDirectory: local["mesh-tenancy:istio"].chartDirectory, crds: local["mesh-tenancy:istio"].crds },
    "mesh-tenancy:localCluster": "true",
    "mesh-tenancy:protectNamespaces": "false",
    "mesh-tenancy:platformOperators": local["mesh-tenancy:platformOperators"],
    "kubernetes:enableConfigMapMutable": local["kubernetes:enableConfigMapMutable"],
    ...(part !== undefined ? { "mesh-tenancy:stackPart": part } : {}),
};
// The usergroups go to a file of their own (`usergroupsFile`): at 1,000 tenants the stack config passes the 128 KiB the
// engine can hand over in one environment variable.
const usergroupsFile = `${out}.usergroups.yaml`;
fs.writeFileSync(usergroupsFile, YAML.stringify(config["mesh-tenancy:usergroups"]));
delete config["mesh-tenancy:usergroups"];
config["mesh-tenancy:usergroupsFile"] = path.resolve(usergroupsFile);
fs.writeFileSync(out, YAML.stringify({ config, encryptionsalt: localFile.encryptionsalt }));
