/**
 * Writes a benchmark config as a stack file for the local control plane (stand-in charts, Istio's CRDs applied by
 * scripts/istio.sh, no nodes, unprotected, the guardrails' operator being the local admin, like
 * stacks/Pulumi.local.yaml), for measuring real `pulumi preview` and `up` runs:
 *
 *   ts-node --transpile-only bench/stack-file.ts N FILE [--shape program|engine] [--change]
 *   pulumi up --stack bench-N --config-file FILE ...
 *
 * The usergroups are written to FILE.usergroups.yaml (`usergroupsFile`). `--shape engine` is the four-usergroup estate of `npm run bench:engine`; `--change` gives the first tenant that has
 * no quota one, a one-tenant change.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { benchConfig, engineBenchConfig } from "./generate";

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
const [n, out] = [Number(args[0]), args[1]];
const shape = option("--shape") ?? "program";
if (!Number.isInteger(n) || n < 1 || out === undefined || (shape !== "program" && shape !== "engine")) {
    process.stderr.write("usage: stack-file.ts N FILE [--shape program|engine] [--change]\n");
    process.exit(2);
}
const localFile = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "stacks", "Pulumi.local.yaml"), "utf8"));
const local = localFile.config;
const raw = shape === "engine" ? engineBenchConfig(n) : benchConfig(n);
if (flag("--change")) {
    const tenant = (raw.usergroups as any[]).flatMap((ug) => ug.tenants).find((t) => t.quota === undefined);
    tenant.quota = { pods: 10 };
}
const config: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(raw).map(([k, v]) => [`mesh-tenancy:${k}`, v])),
    "mesh-tenancy:istio": { ...(raw.istio as object), chartDirectory: local["mesh-tenancy:istio"].chartDirectory, crds: local["mesh-tenancy:istio"].crds },
    "mesh-tenancy:localCluster": "true",
    "mesh-tenancy:protectNamespaces": "false",
    "mesh-tenancy:platformOperators": local["mesh-tenancy:platformOperators"],
    "kubernetes:enableConfigMapMutable": local["kubernetes:enableConfigMapMutable"],
};
// The usergroups go to a file of their own (`usergroupsFile`): at 1,000 tenants the stack config passes the 128 KiB the
// engine can hand over in one environment variable.
const usergroupsFile = `${out}.usergroups.yaml`;
fs.writeFileSync(usergroupsFile, YAML.stringify(config["mesh-tenancy:usergroups"]));
delete config["mesh-tenancy:usergroups"];
config["mesh-tenancy:usergroupsFile"] = path.resolve(usergroupsFile);
fs.writeFileSync(out, YAML.stringify({ config, encryptionsalt: localFile.encryptionsalt }));
