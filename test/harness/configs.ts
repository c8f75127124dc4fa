import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { MeshTenancyConfig, parseConfig } from "../../model/config";
import { ConfigError } from "../../model/issues";
import { configFromStack } from "../../model/stack";

export const ROOT = path.resolve(__dirname, "..", "..");
export const STACKS = ["dev", "uat", "prod"] as const;
/** Every stack file, including `local` (the throwaway cluster of the end-to-end suite). */
export const ALL_STACKS = [...STACKS, "local"] as const;

/** The stack file's `config:` map as the engine hands it to the program (values serialized). */
export function stackConfigValues(stack: string): Record<string, string> {
    return configFileValues(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`));
}

/** Any stack-shaped file's `config:` map as the engine hands it to the program (values serialized). */
export function configFileValues(file: string): Record<string, string> {
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** The documented upgrade, one stack config per step (docs/upgrading.md; test/fixtures/upgrade). */
export const UPGRADE_STEPS = ["0-before", "1-add-canary-revision", "2-canary-one-tenant", "3-move-stable", "4-remove-old-revision"] as const;

/** One upgrade step's validated config, as the program reads it. */
export function upgradeStepConfig(step: string): MeshTenancyConfig {
    return configFromStack(configFileValues(path.join(ROOT, "test", "fixtures", "upgrade", `${step}.yaml`)), "mesh-tenancy", ROOT);
}

/** A stack's validated config; `mutate` edits the raw values first (e.g. to add a tenant). */
export function loadStack(stack: string, mutate?: (raw: Record<string, any>) => void): MeshTenancyConfig {
    const values = stackConfigValues(stack);
    if (mutate === undefined) return configFromStack(values, "mesh-tenancy");
    const own = Object.entries(values).filter(([k]) => k.startsWith("mesh-tenancy:"));
    const raw = Object.fromEntries(own.map(([k, v]) => [k.replace(/^mesh-tenancy:/, ""), decode(v)]));
    mutate(raw);
    return configFromStack(Object.fromEntries(Object.entries(raw).map(([k, v]) => [`mesh-tenancy:${k}`, JSON.stringify(v)])), "mesh-tenancy");
}

/** Values arrive as the engine serializes them: structured ones as JSON, plain strings (`enforce`) as themselves. */
function decode(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/** A small valid raw config covering both isolation modes, shared namespaces, peers, gateways and workload Sidecars. */
export function validRaw(): any {
    return {
        istio: { version: "1.31.0" },
        platformOperators: { groups: ["mesh-tenancy-deployers"] },
        usergroups: [
            {
                name: "usergroup-1",
                sharedNamespaces: ["common-services"],
                tenants: [
                    {
                        name: "app-ns-1",
                        gateway: { hosts: ["app1.example.com"] },
                        egress: ["logmonkey/logcatcher.logmonkey.svc.cluster.local"],
                        workloadSidecars: [
                            {
                                name: "permit-logs",
                                selector: { "app.kubernetes.io/name": "batman-app" },
                                egress: ["logmonkey/logcatcher.logmonkey.svc.cluster.local"],
                            },
                        ],
                        owners: [{ kind: "Group", name: "team-app-1" }],
                    },
                    { name: "logmonkey" },
                ],
            },
            { name: "usergroup-2", tenantIsolation: "usergroup", tenants: [{ name: "app-ns-2" }, { name: "app-ns-3" }] },
        ],
    };
}

export function validConfig(mutate?: (raw: any) => void): MeshTenancyConfig {
    const raw = validRaw();
    mutate?.(raw);
    return parseConfig(raw);
}

/** The problems validation reports for a raw config, or none when it passes. */
export function configIssues(raw: Record<string, unknown>): { path: string; message: string }[] {
    try {
        parseConfig(raw);
    } catch (err) {
        if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${err}`);
        return [...err.issues];
    }
    return [];
}
