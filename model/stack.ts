import { MeshTenancyConfig, parseConfig } from "./config";

/**
 * Reads the program's keys out of a stack's whole config (`project:key` → serialized value, as the engine hands it
 * over) and validates them. Keys of other namespaces (`kubernetes:context`, …) are not ours and are left alone.
 */
export function configFromStack(all: Readonly<Record<string, string>>, project: string): MeshTenancyConfig {
    const prefix = `${project}:`;
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = decode(value);
    }
    return parseConfig(raw);
}

/** Structured values arrive as JSON text, plain strings as themselves. */
function decode(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}
