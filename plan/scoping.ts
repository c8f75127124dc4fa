import type { UsergroupConfig } from "../model/config";
import { parseEgressHost } from "../model/egress";

/** What one namespace of a usergroup imports, and who may call it. */
export interface NamespaceScope {
    /** Egress hosts of the namespace's selector-less Sidecar, in a stable order (own, system, the rest sorted). */
    defaultHosts: string[];
    /** Egress hosts per workload Sidecar name: the default hosts plus the workload's own. */
    workloadHosts: Map<string, string[]>;
    /** Namespaces any of the namespace's Sidecars import, the namespace itself included; sorted. */
    imports: string[];
    /** Namespaces whose workloads may call this namespace: itself and every namespace that imports it; sorted. */
    allowedSources: string[];
}

/**
 * Computes the Sidecar hosts and the permitted callers of every tenant and shared namespace of a usergroup. Callers are
 * the inverse of imports, so the Sidecars (what a proxy may address), the AuthorizationPolicies and the NetworkPolicies
 * (who may connect) can never disagree. Linear in the number of imports.
 */
export function scopeUsergroup(ug: UsergroupConfig): Map<string, NamespaceScope> {
    const tenants = ug.tenants.map((t) => t.name);
    const shared = ug.sharedNamespaces;
    const wholeGroup = ug.tenantIsolation === "usergroup";
    const scopes = new Map<string, NamespaceScope>();

    const base = (self: string): string[] => {
        const visible = [...shared, ...(wholeGroup ? tenants : [])];
        return visible.filter((ns) => ns !== self).map((ns) => `${ns}/*`);
    };

    const add = (self: string, egress: string[], workloads: { name: string; egress: string[] }[]) => {
        const defaultHosts = normaliseHosts(self, ug.systemNamespace, [...base(self), ...egress]);
        const workloadHosts = new Map(workloads.map((w) => [w.name, normaliseHosts(self, ug.systemNamespace, [...defaultHosts, ...w.egress])]));
        const imports = new Set<string>([self]);
        for (const hosts of [defaultHosts, ...workloadHosts.values()]) {
            for (const h of hosts) {
                const ns = h.slice(0, h.indexOf("/"));
                if (ns !== "." && ns !== ug.systemNamespace) imports.add(ns);
            }
        }
        scopes.set(self, { defaultHosts, workloadHosts, imports: [...imports].sort(), allowedSources: [self] });
    };

    for (const ns of shared) add(ns, [], []);
    for (const t of ug.tenants) add(t.name, t.egress, t.workloadSidecars);

    for (const [source, scope] of scopes) {
        for (const target of scope.imports) {
            if (target !== source) scopes.get(target)?.allowedSources.push(source);
        }
    }
    for (const scope of scopes.values()) scope.allowedSources.sort();
    return scopes;
}

/**
 * Egress hosts in canonical form: `./*` first, then the system namespace (unless it is the own one), then the rest
 * sorted; the own namespace written as `.`, duplicates and hosts covered by a `namespace/*` entry dropped.
 */
export function normaliseHosts(self: string, systemNamespace: string, entries: string[]): string[] {
    const wholeNamespaces = new Set<string>([".", systemNamespace]);
    const specific = new Set<string>();
    for (const entry of entries) {
        const parsed = parseEgressHost(entry);
        if ("problem" in parsed) throw new Error(`unvalidated egress host reached the plan: ${parsed.problem}`);
        const ns = parsed.namespace === self ? "." : parsed.namespace;
        if (parsed.host === "*") wholeNamespaces.add(ns);
        else specific.add(`${ns}/${parsed.host}`);
    }
    const rest = [...wholeNamespaces]
        .filter((ns) => ns !== "." && ns !== systemNamespace)
        .map((ns) => `${ns}/*`);
    for (const host of specific) {
        if (!wholeNamespaces.has(host.slice(0, host.indexOf("/")))) rest.push(host);
    }
    // In the system namespace itself (the root Sidecar) `./*` is that namespace: naming it twice is what Istio's
    // validation warns about (IST0133 "duplicated egress host").
    return self === systemNamespace ? ["./*", ...rest.sort()] : ["./*", `${systemNamespace}/*`, ...rest.sort()];
}
