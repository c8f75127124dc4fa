import { hostsOverlap, serviceHost } from "./hosts";
import type { Inventory, RevisionInfo } from "./inventory";
import { arrayOf, describeObject, isRecord, stringRecord, Subject } from "./objects";
import { configIn } from "./revisions";
import type { Workload } from "./workloads";

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

/**
 * The host part of each egress host a Sidecar imports, by the namespace it names, for a proxy in `self`: `.` is `self`,
 * `~` imports nothing, and hosts of namespace `*` are kept under `*`. A Sidecar without egress listeners imports every host of every namespace.
 * Istio imports from a namespace only the services whose hosts an egress host of that namespace (or of `*`) matches:
 * `payments/api.payments.svc.cluster.local` imports the Service `api` of `payments` and no other.
 */
export function egressHostsByNamespace(sidecar: Subject, self: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    if (arrayOf((sidecar.object.spec as any)?.egress).length === 0) return new Map([["*", ["*"]]]);
    for (const host of egressHosts(sidecar)) {
        let ns = hostNamespace(host);
        if (ns === "~") continue;
        if (ns === ".") ns = self;
        const slash = host.indexOf("/");
        const part = slash < 0 ? host : host.slice(slash + 1);
        out.set(ns, [...(out.get(ns) ?? []), part]);
    }
    return out;
}

/** The hosts a Service or ServiceEntry is known by in the mesh: the Service's name in its namespace, an entry's `spec.hosts`. */
export function serviceHosts(subject: Subject): string[] {
    const { kind, metadata, spec } = subject.object as { kind: string; metadata: { name: string; namespace?: string }; spec?: any };
    if (kind === "Service") return [serviceHost(metadata.name, metadata.namespace ?? "default")];
    return arrayOf(spec?.hosts).filter((h): h is string => typeof h === "string");
}

/**
 * Whether egress host parts import a service known by `hosts`: a `*` part imports every service, a part imports a
 * service when the two overlap (`*.example.com` and `api.example.com`, either way round).
 */
export function egressImportsService(parts: readonly string[], hosts: readonly string[]): boolean {
    return parts.some((p) => p === "*" || hosts.some((h) => hostsOverlap(p, h)));
}

/**
 * Which Sidecar scopes a workload's proxy, as istiod picks it: a Sidecar of the workload's namespace whose
 * workloadSelector matches the pod labels (the oldest, where several do: an ambiguity Istio resolves silently), else the
 * namespace's Sidecar without selector, else the selector-less Sidecar of the revision's root namespace, else none.
 * Only Sidecars the revision reads count (discovered namespace, `istio.io/rev` for this revision or none).
 */
export interface SidecarChoice {
    how: "workload" | "namespace" | "root" | "none";
    sidecar?: Subject;
    /** Other Sidecars that match the same pods at the same level: Istio applies one of them. */
    competing: Subject[];
}

/** Whether a Sidecar's workloadSelector selects the workload's pods (never, for a Sidecar without one). */
export function selectsWorkload(sidecar: Subject, w: Workload): boolean {
    const selector = workloadSelectorOf(sidecar);
    return selector !== undefined && Object.entries(selector).every(([k, v]) => w.labels[k] === v);
}

export function sidecarFor(inventory: Inventory, w: Workload, rev: RevisionInfo): SidecarChoice {
    const own = configIn(inventory, rev, w.namespace, "Sidecar");
    const selecting = own.filter((s) => selectsWorkload(s, w));
    if (selecting.length > 0) return { how: "workload", sidecar: selecting[0], competing: selecting.slice(1) };
    const defaults = own.filter((s) => workloadSelectorOf(s) === undefined);
    if (defaults.length > 0) return { how: "namespace", sidecar: defaults[0], competing: defaults.slice(1) };
    if (rev.rootNamespace !== w.namespace) {
        const roots = configIn(inventory, rev, rev.rootNamespace, "Sidecar").filter((s) => workloadSelectorOf(s) === undefined);
        if (roots.length > 0) return { how: "root", sidecar: roots[0], competing: roots.slice(1) };
    }
    return { how: "none", competing: [] };
}

export interface Imports {
    choice: SidecarChoice;
    /** The proxy imports every namespace its revision discovers. */
    everything: boolean;
    /** Namespaces imported (all discovered ones when `everything`). */
    namespaces: ReadonlySet<string>;
    /** Why it imports what it does. */
    reason: string;
}

/**
 * The namespaces a workload's proxy imports config and services from: those its Sidecar's egress hosts name (`.` its
 * own namespace, `*` every one, `~` none), among the namespaces its revision discovers. No Sidecar, or a Sidecar
 * without egress listeners, imports everything the revision discovers (a Sidecar without egress does not fall back to
 * the root Sidecar).
 */
export function importsOf(inventory: Inventory, w: Workload, rev: RevisionInfo): Imports {
    const choice = sidecarFor(inventory, w, rev);
    const discovered = inventory.discoveredBy(rev);
    if (choice.sidecar === undefined) {
        return { choice, everything: true, namespaces: discovered, reason: `no Sidecar applies, so it imports all ${discovered.size} namespaces revision ${rev.name} discovers` };
    }
    const name = `Sidecar ${describeObject(choice.sidecar.object)}`;
    const imports = sidecarImports(choice.sidecar, w.namespace);
    if (imports.everything) {
        const why = arrayOf((choice.sidecar.object.spec as any)?.egress).length === 0 ? "has no egress, so it imports" : "imports every namespace (`*/…`):";
        return { choice, everything: true, namespaces: discovered, reason: `${name} ${why} all ${discovered.size} namespaces revision ${rev.name} discovers` };
    }
    const namespaces = new Set([...imports.named].filter((ns) => discovered.has(ns) || !inventory.namespaces.has(ns)));
    return { choice, everything: false, namespaces, reason: `${name} imports ${[...namespaces].sort().join(", ") || "nothing"}` };
}
