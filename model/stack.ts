import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { MeshTenancyConfig, parseConfig } from "./config";
import { ConfigError } from "./issues";

/**
 * Reads the program's keys out of a stack's whole config (`project:key` → serialized value, as the engine hands it
 * over) and validates them. Keys of other namespaces (`kubernetes:context`, …) are not ours and are left alone.
 *
 * `usergroupsFile` names a YAML file (relative to `baseDir`, the project directory where Pulumi runs the program) that
 * holds the `usergroups` list, for estates whose config would not fit in the stack file: the engine hands a program and
 * a policy pack the whole stack config in one environment variable, and a single variable cannot exceed 128 KiB on
 * Linux (about 900 tenants), past which the policy pack never starts.
 */
export function configFromStack(all: Readonly<Record<string, string>>, project: string, baseDir: string = process.cwd()): MeshTenancyConfig {
    const prefix = `${project}:`;
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = decode(value);
    }
    if (raw.usergroupsFile !== undefined) {
        raw.usergroups = readUsergroupsFile(raw, baseDir);
        delete raw.usergroupsFile;
    }
    return parseConfig(raw);
}

/**
 * What the program reads from disk besides the stack config, checked before anything is registered: the Gateway API
 * CRD directory (`ingress.gatewayApiCrds.directory`) must hold manifests. Relative paths are the project directory's.
 */
export function checkLocalFiles(config: MeshTenancyConfig, baseDir: string = process.cwd()): void {
    const crds = config.ingress.gatewayApiCrds;
    if (crds === "external") return;
    const resolved = path.resolve(baseDir, crds.directory);
    let files: string[];
    try {
        files = fs.readdirSync(resolved).filter((f) => f.endsWith(".yaml"));
    } catch (err) {
        throw new ConfigError([{ path: "ingress.gatewayApiCrds.directory", message: `cannot read "${crds.directory}" (${resolved}): ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
    }
    if (files.length === 0) throw new ConfigError([{ path: "ingress.gatewayApiCrds.directory", message: `"${crds.directory}" holds no CRD manifests (*.yaml); scripts/build-toolchain.sh gateway-api-crds writes them` }]);
}

function readUsergroupsFile(raw: Record<string, unknown>, baseDir: string): unknown {
    const file = raw.usergroupsFile;
    const fail = (message: string): never => {
        throw new ConfigError([{ path: "usergroupsFile", message }]);
    };
    if (typeof file !== "string" || file.trim() === "") return fail("must be the path of a YAML file holding the usergroups list");
    if (raw.usergroups !== undefined) return fail("give either usergroups or usergroupsFile, not both");
    const resolved = path.resolve(baseDir, file);
    let text: string;
    try {
        text = fs.readFileSync(resolved, "utf8");
    } catch (err) {
        return fail(`cannot read "${file}" (${resolved}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    let parsed: unknown;
    try {
        parsed = YAML.parse(text, { maxAliasCount: 100 });
    } catch (err) {
        return fail(`"${file}" is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
    }
    const list = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) && "usergroups" in parsed ? (parsed as { usergroups: unknown }).usergroups : parsed;
    if (!Array.isArray(list)) return fail(`"${file}" must hold a list of usergroups (or a map with the key usergroups)`);
    return list;
}

/** Structured values arrive as JSON text, plain strings as themselves. */
function decode(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}
