/**
 * Writes the benchmark's N-tenant config as a stack file for the local control plane (stand-in charts, no nodes,
 * unprotected, like stacks/Pulumi.local.yaml), for measuring real `pulumi preview` and `up` runs:
 *
 *   ts-node --transpile-only bench/stack-file.ts N FILE
 *   pulumi up --stack bench-N --config-file FILE ...
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { benchConfig } from "./generate";

const [n, out] = [Number(process.argv[2]), process.argv[3]];
if (!Number.isInteger(n) || n < 1 || out === undefined) {
    process.stderr.write("usage: stack-file.ts N FILE\n");
    process.exit(2);
}
const local = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "stacks", "Pulumi.local.yaml"), "utf8"));
const raw = benchConfig(n);
const config = {
    ...Object.fromEntries(Object.entries(raw).map(([k, v]) => [`mesh-tenancy:${k}`, v])),
    "mesh-tenancy:istio": { ...(raw.istio as object), chartDirectory: local.config["mesh-tenancy:istio"].chartDirectory },
    "mesh-tenancy:localCluster": "true",
    "mesh-tenancy:protectNamespaces": "false",
};
fs.writeFileSync(out, YAML.stringify({ config, encryptionsalt: local.encryptionsalt }));
