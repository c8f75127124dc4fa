import { Inventory, RevisionInfo } from "../policy/semantics/inventory";
import { push } from "../policy/semantics/collections";
import { INJECTION_LABEL, NamespaceRole, REVISION_LABEL, ROLE_LABEL, USERGROUP_LABEL } from "../policy/semantics/labels";
import { arrayOf, Subject } from "../policy/semantics/objects";
import { egressHosts, hostNamespace, sidecarImports, workloadSelectorOf } from "../policy/semantics/sidecarScope";
import { declaredExportTo } from "../policy/semantics/exportTo";

/**
 * Which namespaces the proxies of each meshed namespace import, at namespace granularity, following Istio:
 *
 * - istiod only sees namespaces its revision's `discoverySelectors` select (none: every namespace);
 * - a sidecar proxy imports what its Sidecar's egress hosts name (`ns/…`; `./…` for its own namespace; a `*` namespace
 *   for everything; `~/…` for nothing), among the namespaces its revision discovers;
 * - its Sidecar is the first workload Sidecar of its namespace that selects it, else the namespace's selector-less
 *   Sidecar, else the selector-less Sidecar of the revision's root namespace (with `./` read as the proxy's own
 *   namespace), else none: the proxy imports everything its revision discovers. Istio's `doGetSidecarScope`
 *   (pilot/pkg/model/push_context.go) falls back to the root Sidecar for pods that no workload Sidecar selects even
 *   when their namespace has workload Sidecars; without a root Sidecar those pods are unscoped;
 * - a service is visible to a proxy when its namespace is imported and the service is exported to the proxy's
 *   namespace: its `networking.istio.io/exportTo` annotation (ServiceEntry: `spec.exportTo`), else the revision's
 *   `meshConfig.defaultServiceExportTo`, else Istio's default `*`.
 *
 * Everything is computed from indexes built once; the work is linear in the objects plus the size of the answer.
 */

/** How the pods of a namespace that no workload Sidecar selects are scoped. */
export type Scoping =
    /** By the namespace's own selector-less Sidecar. */
    | "namespace-sidecar"
    /** By the selector-less Sidecar in the revision's root namespace. */
    | "root-sidecar"
    /** By nothing: they import every namespace their revision discovers. */
    | "unscoped";

export interface WorkloadScope {
    /** Sidecar name. */
    sidecar: string;
    selector: Record<string, string>;
    imports: string[];
}

export interface ServiceVisibility {
    /** `namespace/name` of every Service and ServiceEntry the namespace's proxies see. */
    visible: string[];
    /** Namespaces with at least one visible service. */
    namespaces: string[];
    /** `namespace/name` of services in imported namespaces that are not exported to this namespace. */
    notExported: string[];
}

export interface NamespaceScope {
    namespace: string;
    usergroup?: string;
    role?: NamespaceRole;
    /** The revision that injects the namespace's pods (`istio.io/rev`, or `default` for `istio-injection=enabled`). */
    revision: string;
    /** Whether the object set installs that revision; without it no pod is injected and nothing is imported. */
    revisionInstalled: boolean;
    /** Namespace istiod of the revision runs in. */
    systemNamespace?: string;
    scoping: Scoping;
    /** `namespace/name` of the Sidecar that scopes the pods no workload Sidecar selects. */
    scopedBy?: string;
    /** Namespaces the revision discovers, in object order. */
    discovered: string[];
    /** Namespaces any proxy of this namespace imports (the default proxies and every workload Sidecar's). */
    imports: string[];
    /** Namespaces the pods no workload Sidecar selects import. */
    defaultImports: string[];
    workloadSidecars: WorkloadScope[];
    /** Own namespace, the namespaces its Sidecars name, its usergroup's shared namespaces and its system namespace. */
    minimum: string[];
    /** Imported but not in the minimum. */
    excess: string[];
    /** In the minimum but not imported (for instance a peer its revision does not discover). */
    missing: string[];
    /** Only when the object set holds Services or ServiceEntries. */
    services?: ServiceVisibility;
    /** Things a reader must know: an uninstalled revision, an ambiguous Sidecar, an undiscovered own namespace. */
    notes: string[];
}

export interface UsergroupScope {
    usergroup: string;
    /** Revisions of its namespaces. */
    revisions: string[];
    systemNamespaces: string[];
    /** Namespaces of the object set carrying this usergroup, in object order. */
    namespaces: string[];
    /** Its meshed namespaces. */
    meshed: string[];
    /** Sum over its meshed namespaces of the namespaces each imports. */
    imports: number;
    /** The same sum without scoping: every meshed namespace importing every namespace. */
    defaultImports: number;
    minimumImports: number;
    excess: number;
    unscoped: number;
}

export interface VisibilityModel {
    /** Every namespace of the object set, in object order: what each proxy imports without scoping. */
    namespaces: string[];
    /** Usergroup and role of every namespace, where known. */
    namespaceInfo: Record<string, { usergroup?: string; role?: NamespaceRole }>;
    scopes: NamespaceScope[];
    usergroups: UsergroupScope[];
    /** Whether the object set holds Services or ServiceEntries, so that service visibility was computed. */
    hasServices: boolean;
}

/** `(total - imported) / total`: the share of the default config scope a namespace does not import. */
export function reduction(imported: number, total: number): number {
    return total === 0 ? 0 : (total - imported) / total;
}

const SERVICE_KINDS = ["Service", "ServiceEntry"];

/** The group of namespaces that carry no usergroup (and cannot be attributed to a revision). */
export const NO_USERGROUP = "(none)";

export function visibilityModel(subjects: ReadonlyArray<Subject>): VisibilityModel {
    return visibilityFromInventory(new Inventory(subjects));
}

export function visibilityFromInventory(inventory: Inventory): VisibilityModel {
    const namespaces = [...inventory.namespaces.keys()];
    const position = new Map(namespaces.map((n, i) => [n, i]));
    const discoveredLists = new Map<RevisionInfo, { list: string[]; set: ReadonlySet<string> }>();
    const discovery = (rev: RevisionInfo) => {
        let found = discoveredLists.get(rev);
        if (found === undefined) {
            const set = inventory.discoveredBy(rev);
            found = { list: [...set].sort((a, b) => position.get(a)! - position.get(b)!), set };
            discoveredLists.set(rev, found);
        }
        return found;
    };
    const sharedByUsergroup = new Map<string, string[]>();
    for (const ns of inventory.namespaces.values()) {
        const ug = ns.labels[USERGROUP_LABEL];
        if (ug !== undefined && ns.labels[ROLE_LABEL] === "shared") push(sharedByUsergroup, ug, ns.name);
    }
    const context: Context = {
        inventory,
        discovery,
        sharedByUsergroup,
        services: servicesByNamespace(inventory),
        position,
        rootSidecars: new Map(),
    };
    const scopes: NamespaceScope[] = [];
    for (const ns of inventory.namespaces.values()) {
        const revision = injectingRevision(ns.labels);
        if (revision !== undefined) scopes.push(scopeOf(context, ns.name, revision));
    }
    const namespaceInfo: VisibilityModel["namespaceInfo"] = {};
    for (const name of namespaces) {
        const usergroup = inventory.usergroupOf(name);
        const role = inventory.roleOf(name);
        namespaceInfo[name] = { ...(usergroup !== undefined ? { usergroup } : {}), ...(role !== undefined ? { role } : {}) };
    }
    return { namespaces, namespaceInfo, scopes, usergroups: summarise(inventory, namespaces, scopes), hasServices: context.services !== undefined };
}

interface Context {
    inventory: Inventory;
    /** Namespaces a revision discovers, in object order. */
    discovery: (rev: RevisionInfo) => { list: string[]; set: ReadonlySet<string> };
    sharedByUsergroup: Map<string, string[]>;
    /** Services and ServiceEntries by namespace; undefined when the object set has none. */
    services: Map<string, ServiceEntryInfo[]> | undefined;
    /** Position of each namespace in object order, to list namespaces in that order without rescanning it. */
    position: Map<string, number>;
    rootSidecars: Map<string, Subject | undefined>;
}

/** The revision whose injector handles the namespace's pods; `istio-injection` takes precedence over `istio.io/rev`. */
export function injectingRevision(labels: Readonly<Record<string, string>>): string | undefined {
    const injection = labels[INJECTION_LABEL];
    if (injection === "disabled") return undefined;
    if (injection === "enabled") return "default";
    return labels[REVISION_LABEL];
}

/** Namespaces a Sidecar's hosts name explicitly (the declared peers), without `.`, `*` and `~`. */
function namedNamespaces(sidecar: Subject): string[] {
    return egressHosts(sidecar).map(hostNamespace).filter((ns) => ns !== "." && ns !== "*" && ns !== "~");
}

/** The selector-less Sidecar of a root namespace, looked up once per root namespace. */
function rootSidecar(context: Context, root: string): Subject | undefined {
    if (!context.rootSidecars.has(root)) {
        context.rootSidecars.set(root, context.inventory.inNamespace(root, "Sidecar").find((s) => workloadSelectorOf(s) === undefined));
    }
    return context.rootSidecars.get(root);
}

/** The discovered namespaces a Sidecar imports, in object order. */
function restrict(imported: { everything: boolean; named: Set<string> }, discovered: { list: string[]; set: ReadonlySet<string> }, inOrder: (items: string[]) => string[]): string[] {
    if (imported.everything) return discovered.list;
    return inOrder([...imported.named].filter((ns) => discovered.set.has(ns)));
}

function scopeOf(context: Context, self: string, revisionName: string): NamespaceScope {
    const { inventory, discovery, sharedByUsergroup, services } = context;
    const inOrder = (items: string[]) => items.sort((a, b) => context.position.get(a)! - context.position.get(b)!);
    const usergroup = inventory.usergroupOf(self);
    const role = inventory.roleOf(self);
    const rev = inventory.revisions.get(revisionName);
    const notes: string[] = [];
    const sidecars = inventory.inNamespace(self, "Sidecar");
    const defaults = sidecars.filter((s) => workloadSelectorOf(s) === undefined);
    const workloads = sidecars.filter((s) => workloadSelectorOf(s) !== undefined);

    const minimum = new Set<string>([self]);
    for (const s of sidecars) for (const ns of namedNamespaces(s)) minimum.add(ns);
    for (const ns of usergroup !== undefined ? (sharedByUsergroup.get(usergroup) ?? []) : []) minimum.add(ns);
    if (rev !== undefined) minimum.add(rev.namespace);

    let scoping: Scoping = "unscoped";
    let scopedBy: Subject | undefined;
    if (defaults.length > 0) {
        scoping = "namespace-sidecar";
        scopedBy = defaults[0];
        if (defaults.length > 1) notes.push(`${defaults.length} Sidecars without workloadSelector (${defaults.map((s) => s.object.metadata.name).join(", ")}); Istio applies one of them, this report assumes ${scopedBy.object.metadata.name}`);
    } else if (rev !== undefined) {
        scopedBy = rootSidecar(context, rev.rootNamespace);
        if (scopedBy !== undefined) scoping = "root-sidecar";
    }
    if (scoping === "unscoped" && rev !== undefined) {
        notes.push(
            workloads.length > 0
                ? `every Sidecar here has a workloadSelector (${workloads.map((s) => s.object.metadata.name).join(", ")}) and the root namespace has no default Sidecar: all other pods import everything their revision discovers`
                : "no Sidecar here and no default Sidecar in the root namespace: its proxies import everything their revision discovers",
        );
    }

    if (rev === undefined) {
        notes.push(`revision ${revisionName} is not installed in this object set: no pod here gets a proxy`);
        const min = [...minimum];
        return {
            namespace: self,
            usergroup,
            role,
            revision: revisionName,
            revisionInstalled: false,
            scoping,
            ...(scopedBy !== undefined ? { scopedBy: describe(scopedBy) } : {}),
            discovered: [],
            imports: [],
            defaultImports: [],
            workloadSidecars: [],
            minimum: min,
            excess: [],
            missing: min,
            notes,
        };
    }

    const discovered = discovery(rev);
    if (!discovered.set.has(self)) notes.push(`revision ${rev.name} does not discover ${self}: its proxies get no config for their own namespace`);
    const defaultImports = scopedBy === undefined ? discovered.list : restrict(sidecarImports(scopedBy, self), discovered, inOrder);
    const imported = new Set(defaultImports);
    const workloadSidecars = workloads.map((s) => {
        const imports = restrict(sidecarImports(s, self), discovered, inOrder);
        for (const ns of imports) imported.add(ns);
        return { sidecar: s.object.metadata.name, selector: workloadSelectorOf(s)!, imports };
    });
    const imports = imported.size === defaultImports.length ? defaultImports : inOrder([...imported]);
    const min = [...minimum];
    return {
        namespace: self,
        usergroup,
        role,
        revision: rev.name,
        revisionInstalled: true,
        systemNamespace: rev.namespace,
        scoping,
        ...(scopedBy !== undefined ? { scopedBy: describe(scopedBy) } : {}),
        discovered: discovered.list,
        imports,
        defaultImports,
        workloadSidecars,
        minimum: min,
        excess: imports.filter((ns) => !minimum.has(ns)),
        missing: min.filter((ns) => !imported.has(ns)),
        ...(services !== undefined ? { services: serviceVisibility(self, imports, services, rev) } : {}),
        notes,
    };
}

interface ServiceEntryInfo {
    name: string;
    /** Declared exportTo, or undefined for the mesh default. */
    exportTo: string[] | undefined;
}

function servicesByNamespace(inventory: Inventory): Map<string, ServiceEntryInfo[]> | undefined {
    const out = new Map<string, ServiceEntryInfo[]>();
    let any = false;
    for (const kind of SERVICE_KINDS) {
        for (const s of inventory.ofKind(kind)) {
            const ns = s.object.metadata.namespace;
            if (ns === undefined) continue;
            any = true;
            push(out, ns, { name: s.object.metadata.name, exportTo: declaredExportTo(s) });
        }
    }
    return any ? out : undefined;
}

function exportedTo(exportTo: ReadonlyArray<string>, owner: string, viewer: string): boolean {
    for (const target of exportTo) {
        if (target === "*") return true;
        if (target === "." && owner === viewer) return true;
        if (target === viewer) return true;
    }
    return false;
}

function serviceVisibility(self: string, imports: string[], services: Map<string, ServiceEntryInfo[]>, rev: RevisionInfo): ServiceVisibility {
    const meshDefault = arrayOf(rev.mesh?.defaultServiceExportTo).filter((v): v is string => typeof v === "string");
    const fallback = meshDefault.length > 0 ? meshDefault : ["*"];
    const visible: string[] = [];
    const notExported: string[] = [];
    const namespaces: string[] = [];
    for (const ns of imports) {
        let seen = false;
        for (const svc of services.get(ns) ?? []) {
            const id = `${ns}/${svc.name}`;
            if (exportedTo(svc.exportTo ?? fallback, ns, self)) {
                visible.push(id);
                seen = true;
            } else {
                notExported.push(id);
            }
        }
        if (seen) namespaces.push(ns);
    }
    return { visible, namespaces, notExported };
}

function summarise(inventory: Inventory, namespaces: string[], scopes: NamespaceScope[]): UsergroupScope[] {
    const groups = new Map<string, UsergroupScope>();
    const group = (name: string) => {
        let g = groups.get(name);
        if (g === undefined) {
            g = { usergroup: name, revisions: [], systemNamespaces: [], namespaces: [], meshed: [], imports: 0, defaultImports: 0, minimumImports: 0, excess: 0, unscoped: 0 };
            groups.set(name, g);
        }
        return g;
    };
    for (const name of namespaces) {
        const ug = inventory.usergroupOf(name);
        if (ug !== undefined) group(ug).namespaces.push(name);
    }
    for (const s of scopes) {
        const g = group(s.usergroup ?? NO_USERGROUP);
        g.meshed.push(s.namespace);
        if (!g.revisions.includes(s.revision)) g.revisions.push(s.revision);
        if (s.systemNamespace !== undefined && !g.systemNamespaces.includes(s.systemNamespace)) g.systemNamespaces.push(s.systemNamespace);
        g.imports += s.imports.length;
        g.defaultImports += namespaces.length;
        g.minimumImports += s.minimum.length;
        g.excess += s.excess.length;
        if (s.scoping === "unscoped" && s.revisionInstalled) g.unscoped++;
    }
    return [...groups.values()].filter((g) => g.meshed.length > 0);
}

function describe(s: Subject): string {
    return `${s.object.metadata.namespace}/${s.object.metadata.name}`;
}
