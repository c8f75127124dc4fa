/**
 * A large manifest file for the checker: the objects the program plans for the benchmark's generated tenancy
 * (namespaces, Sidecars, AuthorizationPolicies, NetworkPolicies, RoleBindings, quotas, gateways, chart releases),
 * plus a Deployment and a Service in every tenant namespace, as app teams write them, padded to an exact object count
 * with ConfigMaps that name no namespace (the checker puts them in `default`, as kubectl would). Every object is its
 * own block-style YAML document. The tenancy passes every rule, so the whole of each rule's path is exercised.
 */
import * as fs from "fs";
import { configFromStack } from "../model/stack";
import { planTenancy } from "../plan";
import type { KubeObject } from "../policy/semantics/objects";
import { planSubjects } from "../report/stack";
import { benchConfig, stackValues } from "./generate";

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;

/**
 * Block-style YAML of plain JSON data: mappings and sequences indented, every string double-quoted (JSON string
 * syntax is a YAML double-quoted scalar), keys bare where they are safe. yaml's own stringify takes about 0.6 ms per
 * planned object, too slow for a quarter of a million; this writes the same data in a few microseconds.
 */
export function blockYaml(value: unknown, indent = ""): string {
    if (Array.isArray(value)) {
        if (value.length === 0) return "[]";
        let s = "";
        for (const item of value) s += `\n${indent}- ${blockYaml(item, indent + "  ").replace(/^\n\s*/, "")}`;
        return s;
    }
    if (typeof value === "object" && value !== null) {
        const entries = Object.entries(value).filter(([, v]) => v !== undefined);
        if (entries.length === 0) return "{}";
        let s = "";
        for (const [k, v] of entries) {
            const key = PLAIN_KEY.test(k) ? k : JSON.stringify(k);
            const nested = typeof v === "object" && v !== null && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
            s += `\n${indent}${key}:${nested ? "" : " "}${blockYaml(v, indent + "  ")}`;
        }
        return s;
    }
    if (typeof value === "string") return JSON.stringify(value);
    return value === undefined ? "null" : JSON.stringify(value);
}

export function document(object: unknown): string {
    return `---${blockYaml(object)}\n`;
}

/** Tenants whose planned objects, with two workload objects each, come closest to `objects` without passing it. */
function tenantsFor(objects: number): { objects: KubeObject[]; tenantNamespaces: string[] } {
    let n = Math.max(1, Math.floor(objects / 9));
    for (;;) {
        const plan = planTenancy(configFromStack(stackValues(benchConfig(n)), "mesh-tenancy"));
        const planned = planSubjects(plan).map((s) => s.object);
        const tenantNamespaces = planned
            .filter((o) => o.kind === "Namespace" && o.metadata.labels?.["mesh-tenancy.io/role"] === "tenant")
            .map((o) => o.metadata.name);
        if (planned.length + 2 * tenantNamespaces.length <= objects || n === 1) return { objects: planned, tenantNamespaces };
        n = Math.max(1, Math.floor(n * 0.98));
    }
}

function workload(namespace: string): KubeObject[] {
    const labels = { app: "api", "app.kubernetes.io/name": "api" };
    return [
        {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "api", namespace, labels },
            spec: {
                replicas: 2,
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels },
                    spec: {
                        serviceAccountName: "api",
                        containers: [{ name: "api", image: "registry.example.com/api:1.4.2", ports: [{ name: "http", containerPort: 8080 }] }],
                    },
                },
            },
        },
        {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "api", namespace, labels },
            spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
        },
    ];
}

/** Exactly `objects` objects: the planned tenancy, a workload per tenant namespace, ConfigMaps without a namespace. */
export function* checkerObjects(objects: number): Generator<KubeObject> {
    const { objects: planned, tenantNamespaces } = tenantsFor(objects);
    yield* planned;
    for (const ns of tenantNamespaces) yield* workload(ns);
    const pad = objects - planned.length - 2 * tenantNamespaces.length;
    for (let i = 0; i < pad; i++) {
        yield { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `settings-${i}` }, data: { "log-level": "info", region: "eu-west-1" } };
    }
}

/** Writes exactly `objects` objects to `file`, one document each; returns how many of each kind. */
export function writeCheckerInput(file: string, objects: number): Map<string, number> {
    const counts = new Map<string, number>();
    const fd = fs.openSync(file, "w");
    let pending = "";
    try {
        for (const object of checkerObjects(objects)) {
            counts.set(object.kind, (counts.get(object.kind) ?? 0) + 1);
            pending += document(object);
            if (pending.length > 1 << 20) {
                fs.writeSync(fd, pending);
                pending = "";
            }
        }
        fs.writeSync(fd, pending);
    } finally {
        fs.closeSync(fd);
    }
    return counts;
}
