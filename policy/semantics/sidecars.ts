import { arrayOf, isRecord, stringRecord, Subject } from "./objects";

/**
 * How a Sidecar's egress hosts read, shared by the rules and the config-scope report so that they cannot disagree.
 * Hosts are `namespace/dnsName`: `.` is the proxy's own namespace, `*` every namespace, `~` none.
 */

/** The Sidecar's `workloadSelector` labels, or undefined for a namespace-wide (selector-less) Sidecar. */
export function workloadSelectorOf(sidecar: Subject): Record<string, string> | undefined {
    const ws = (sidecar.object.spec as any)?.workloadSelector;
    if (!isRecord(ws)) return undefined;
    const labels = stringRecord(ws.labels);
    return Object.keys(labels).length > 0 ? labels : undefined;
}

/** Every egress host of the Sidecar, across its listeners. */
export function egressHosts(sidecar: Subject): string[] {
    return arrayOf((sidecar.object.spec as any)?.egress).flatMap((listener) => arrayOf(listener?.hosts).filter((h): h is string => typeof h === "string"));
}

/** The namespace part of an egress host; a host without one is read as `*`, the widest reading. */
export function hostNamespace(host: string): string {
    const slash = host.indexOf("/");
    return slash < 0 ? "*" : host.slice(0, slash);
}

/** What the Sidecar imports for a proxy in `self`: everything (Istio's default, or a `*` host), or the named namespaces. */
export function sidecarImports(sidecar: Subject, self: string): { everything: boolean; named: Set<string> } {
    // A Sidecar without egress listeners keeps Istio's default egress: `*/*`.
    if (arrayOf((sidecar.object.spec as any)?.egress).length === 0) return { everything: true, named: new Set() };
    const named = new Set<string>();
    let everything = false;
    for (const host of egressHosts(sidecar)) {
        const ns = hostNamespace(host);
        if (ns === "*") everything = true;
        else if (ns === ".") named.add(self);
        else if (ns !== "~") named.add(ns);
    }
    return { everything, named };
}
