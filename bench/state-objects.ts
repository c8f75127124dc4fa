/**
 * The Kubernetes objects a stack holds, as the program sent them (each resource's inputs), read from
 * `pulumi stack export` on stdin and written as one multi-document YAML on stdout: what `kubectl apply --server-side`
 * gets in `npm run bench:engine`, to compare the engine with applying the very same objects directly. Namespaces come
 * first, then ConfigMaps (the guardrails' parameters, which the admission policies need before anything else in a
 * namespace), then everything else, then the admission policies themselves.
 */
import * as fs from "fs";
import * as YAML from "yaml";

const state = JSON.parse(fs.readFileSync(0, "utf8"));
const rank = (kind: string) => (kind === "Namespace" ? 0 : kind === "ConfigMap" ? 1 : kind.startsWith("ValidatingAdmissionPolicy") ? 3 : 2);
const objects = (state.deployment?.resources ?? [])
    .filter((r: any) => typeof r.type === "string" && r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:") && r.custom)
    .map((r: any) => Object.fromEntries(Object.entries(r.inputs ?? {}).filter(([k]) => !k.startsWith("__"))) as Record<string, any>)
    .filter((o: Record<string, any>) => typeof o.kind === "string" && typeof o.apiVersion === "string")
    .sort((a: Record<string, any>, b: Record<string, any>) => rank(a.kind) - rank(b.kind));
process.stdout.write(objects.map((o: unknown) => `---\n${YAML.stringify(o)}`).join(""));
process.stderr.write(`state-objects: ${objects.length} objects\n`);
