import type { CaTopology } from "../policy/semantics/mtls";
import { Inventory, RevisionInfo } from "../policy/semantics/inventory";
import { push } from "../policy/semantics/collections";
import { INJECTION_LABEL, NamespaceRole, REVISION_LABEL, ROLE_LABEL, USERGROUP_LABEL } from "../policy/semantics/labels";
import type { Subject } from "../policy/semantics/objects";
import { egressHosts, egressHostsByNamespace, egressImportsService, hostNamespace, serviceHosts, SidecarChoice, sidecarImports, workloadSelectorOf } from "../policy/semantics/sidecarScope";
import { effectiveExportTo, exportedTo } from "../policy/semantics/exportTo";
import { Call, meshView, WorkloadView } from "../policy/semantics/reachability";
import { configIn } from "../policy/semantics/revisions";
import { deployedGatewayPods, isGatewayApiGateway, isIstioGateway, podsOfGateway } from "../policy/semantics/gateways";
import { attachedRoutes, boundVirtualServices, gatewayRouteNamespaces, listenerRouteNamespaces } from "../policy/semantics/routing";

/**
 * Which namespaces the proxies of each meshed namespace import, at namespace granularity. Every Istio question (which
 * revision injects the namespace's pods, which Sidecar scopes them, what that Sidecar imports among the namespaces the
 * revision discovers, what each Service is exported to) is answered by the semantics model in policy/semantics; this
 * module only arranges the answers per namespace and usergroup and compares them with the minimum a namespace needs.
 * A service is visible to a proxy when an egress host of its Sidecar imports it (its namespace, and a host part that
 * matches the service's hosts: `payments/api.payments.svc.cluster.local` imports `api` of payments and no other) and it
 * is exported to the proxy's namespace.
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
    /** The services the pods it selects see (when the set holds Services). */
    services?: ServiceVisibility;
}

export interface ServiceVisibility {
    /** `namespace/name` of every Service and ServiceEntry the namespace's proxies see. */
    visible: string[];
    /** Namespaces with at least one visible service. */
    namespaces: string[];
    /** `namespace/name` of services in imported namespaces that are not exported to this namespace. */
    notExported: string[];
    /** `namespace/name` of services in imported namespaces that no egress host of the namespace's Sidecars names. */
    notImported: string[];
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
    /** The services the pods no workload Sidecar selects see. */
    defaultServices?: ServiceVisibility;
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
    /** Who can call whom: source namespace, destination namespace, and the workload-level reasons. */
    calls: Call[];
    /** The CA topology the calls were judged under. */
    caTopology: CaTopology;
    /** Every ingress gateway of the object set: Istio Gateways and Gateway API Gateways, with what binds to them. */
    gateways: GatewayEntry[];
}

export interface GatewayEntry {
    namespace: string;
    name: string;
    /** `istio`: an Istio Gateway on pods its selector picks; `gateway-api`: a Gateway API Gateway (class istio: istiod deploys its pods). */
    kind: "istio" | "gateway-api";
    gatewayClass?: string;
    /** The hosts its servers or listeners answer for. */
    hosts: string[];
    /** Namespaces whose routes may bind to it (server host namespaces; listeners' allowedRoutes). */
    routesFrom: string;
    /** `namespace/name` of the routes bound to it: VirtualServices applied by its pods, or attached Gateway API routes. */
    routes: string[];
    /** `namespace/name` of the pods' workloads: those its selector picks, or what istiod deploys (`<name>-istio`). */
    pods: string[];
}

/** The ingress gateways of an object set, each answered by the semantics model (gateways.ts, routing.ts). */
export function gatewayEntries(inventory: Inventory): GatewayEntry[] {
    const out: GatewayEntry[] = [];
    const ref = (s: Subject) => `${s.object.metadata.namespace ?? "default"}/${s.object.metadata.name}`;
    for (const gw of inventory.ofKind("Gateway")) {
        const spec = (gw.object.spec ?? {}) as any;
        const base = { namespace: gw.object.metadata.namespace ?? "default", name: gw.object.metadata.name };
        if (isIstioGateway(gw)) {
            const hosts = [...new Set<string>((spec.servers ?? []).flatMap((s: any) => (Array.isArray(s?.hosts) ? s.hosts : [])).map(String))];
            const pods = podsOfGateway(inventory, gw).filter((p) => p.effective).map((p) => `${p.namespace}/${p.subject.object.metadata.name}`);
            out.push({ ...base, kind: "istio", hosts, routesFrom: gatewayRouteNamespaces(gw).describe(), routes: boundVirtualServices(inventory, gw).map(ref), pods });
        } else if (isGatewayApiGateway(gw)) {
            const hosts = [...new Set<string>((spec.listeners ?? []).map((l: any) => String(l?.hostname ?? "*")))];
            const deployed = deployedGatewayPods(gw);
            out.push({
                ...base,
                kind: "gateway-api",
                gatewayClass: String(spec.gatewayClassName ?? ""),
                hosts,
                routesFrom: listenerRouteNamespaces(inventory, gw).describe(),
                routes: attachedRoutes(inventory, gw).map(ref),
                pods: deployed !== undefined ? [`${base.namespace}/${deployed.serviceAccount}`] : [],
            });
        }
    }
    return out.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

/** `(total - imported) / total`: the share of the default config scope a namespace does not import. */
export function reduction(imported: number, total: number): number {
    return total === 0 ? 0 : (total - imported) / total;
}

const SERVICE_KINDS = ["Service", "ServiceEntry"];

/** The group of namespaces that carry no usergroup (and cannot be attributed to a revision). */
export const NO_USERGROUP = "(none)";

export function visibilityModel(subjects: ReadonlyArray<Subject>, caTopology: CaTopology = "shared-root"): VisibilityModel {
    return visibilityFromInventory(new Inventory(subjects), caTopology);
}

export function visibilityFromInventory(inventory: Inventory, caTopology: CaTopology = "shared-root"): VisibilityModel {
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
    };
    const scopes: NamespaceScope[] = [];
    const view = meshView(inventory, caTopology);
    for (const ns of inventory.namespaces.values()) {
        const standIn = view.defaultView(ns.name)!;
        if (standIn.injection.meshed && standIn.revision !== undefined) scopes.push(scopeOf(context, ns.name, standIn));
        else {
            // istio-injection takes precedence over istio.io/rev, as the injector webhooks' selectors do.
            const injection = ns.labels[INJECTION_LABEL];
            const asked = injection === "enabled" ? "default" : injection === undefined ? ns.labels[REVISION_LABEL] : undefined;
            if (asked !== undefined) scopes.push(uninstalledScope(context, ns.name, asked));
        }
    }
    const namespaceInfo: VisibilityModel["namespaceInfo"] = {};
    for (const name of namespaces) {
        const usergroup = inventory.usergroupOf(name);
        const role = inventory.roleOf(name);
        namespaceInfo[name] = { ...(usergroup !== undefined ? { usergroup } : {}), ...(role !== undefined ? { role } : {}) };
    }
    return { namespaces, namespaceInfo, scopes, usergroups: summarise(inventory, namespaces, scopes), hasServices: context.services !== undefined, calls: view.calls(), caTopology, gateways: gatewayEntries(inventory) };
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
}

/** Namespaces a Sidecar's hosts name explicitly (the declared peers), without `.`, `*` and `~`. */
function namedNamespaces(sidecar: Subject): string[] {
    return egressHosts(sidecar).map(hostNamespace).filter((ns) => ns !== "." && ns !== "*" && ns !== "~");
}

/** The minimum a namespace's proxies need: itself, the namespaces its Sidecars name, its shared namespaces, its system namespace. */
function minimumOf(context: Context, self: string, systemNamespace: string | undefined): Set<string> {
    const minimum = new Set<string>([self]);
    for (const s of context.inventory.inNamespace(self, "Sidecar")) for (const ns of namedNamespaces(s)) minimum.add(ns);
    const usergroup = context.inventory.usergroupOf(self);
    for (const ns of usergroup !== undefined ? (context.sharedByUsergroup.get(usergroup) ?? []) : []) minimum.add(ns);
    if (systemNamespace !== undefined) minimum.add(systemNamespace);
    return minimum;
}

/** A namespace that asks for a revision the object set does not install: no pod there gets a proxy. */
function uninstalledScope(context: Context, self: string, revisionName: string): NamespaceScope {
    const min = [...minimumOf(context, self, undefined)];
    return {
        namespace: self,
        usergroup: context.inventory.usergroupOf(self),
        role: context.inventory.roleOf(self),
        revision: revisionName,
        revisionInstalled: false,
        scoping: "unscoped",
        discovered: [],
        imports: [],
        defaultImports: [],
        workloadSidecars: [],
        minimum: min,
        excess: [],
        missing: min,
        notes: [`revision ${revisionName} is not installed in this object set: no pod here gets a proxy`],
    };
}

const SCOPING: Record<SidecarChoice["how"], Scoping> = { workload: "namespace-sidecar", namespace: "namespace-sidecar", root: "root-sidecar", none: "unscoped" };

function scopeOf(context: Context, self: string, standIn: WorkloadView): NamespaceScope {
    const { inventory, discovery, services } = context;
    const inOrder = (items: Iterable<string>) => [...items].sort((a, b) => context.position.get(a)! - context.position.get(b)!);
    const rev = standIn.revision!;
    const choice = standIn.imports!.choice;
    const notes: string[] = [];
    const sidecars = configIn(inventory, rev, self, "Sidecar");
    const workloads = sidecars.filter((s) => workloadSelectorOf(s) !== undefined);
    const minimum = minimumOf(context, self, rev.namespace);
    const scopedBy = choice.sidecar;
    if (choice.competing.length > 0) {
        notes.push(`${choice.competing.length + 1} Sidecars apply to the same pods (${[scopedBy!, ...choice.competing].map((s) => s.object.metadata.name).join(", ")}); Istio applies one of them, this report assumes ${scopedBy!.object.metadata.name}`);
    }
    if (choice.how === "none") {
        notes.push(
            workloads.length > 0
                ? `every Sidecar here has a workloadSelector (${workloads.map((s) => s.object.metadata.name).join(", ")}) and the root namespace has no default Sidecar: all other pods import everything their revision discovers`
                : "no Sidecar here and no default Sidecar in the root namespace: its proxies import everything their revision discovers",
        );
    }
    const discovered = discovery(rev);
    if (!discovered.set.has(self)) notes.push(`revision ${rev.name} does not discover ${self}: its proxies get no config for their own namespace`);
    const defaultImports = inOrder(standIn.imports!.namespaces);
    const imported = new Set(defaultImports);
    // The host parts each imported namespace is imported with: per Sidecar, and over all of the namespace's proxies.
    const union = new Map<string, Set<string>>();
    const partsOf = (sidecar: Subject | undefined, namespaces: Iterable<string>) => {
        const byNamespace = sidecar === undefined ? undefined : egressHostsByNamespace(sidecar, self);
        const out = new Map<string, Set<string>>();
        for (const ns of namespaces) {
            const parts = byNamespace === undefined ? ["*"] : [...(byNamespace.get(ns) ?? []), ...(byNamespace.get("*") ?? [])];
            out.set(ns, new Set(parts));
            const all = union.get(ns) ?? new Set<string>();
            for (const part of parts) all.add(part);
            union.set(ns, all);
        }
        return out;
    };
    const defaultParts = partsOf(choice.sidecar, defaultImports);
    const workloadParts: Map<string, Set<string>>[] = [];
    const workloadSidecars: WorkloadScope[] = workloads.map((s) => {
        const own = sidecarImports(s, self);
        const imports = own.everything ? discovered.list : inOrder([...own.named].filter((ns) => discovered.set.has(ns)));
        for (const ns of imports) imported.add(ns);
        workloadParts.push(partsOf(s, imports));
        return { sidecar: s.object.metadata.name, selector: workloadSelectorOf(s)!, imports };
    });
    if (services !== undefined) workloadSidecars.forEach((w, i) => (w.services = serviceVisibility(self, w.imports, workloadParts[i], services, rev)));
    const imports = imported.size === defaultImports.length ? defaultImports : inOrder(imported);
    const min = [...minimum];
    return {
        namespace: self,
        usergroup: inventory.usergroupOf(self),
        role: inventory.roleOf(self),
        revision: rev.name,
        revisionInstalled: true,
        systemNamespace: rev.namespace,
        scoping: SCOPING[choice.how],
        ...(scopedBy !== undefined ? { scopedBy: describe(scopedBy) } : {}),
        discovered: discovered.list,
        imports,
        defaultImports,
        workloadSidecars,
        minimum: min,
        excess: imports.filter((ns) => !minimum.has(ns)),
        missing: min.filter((ns) => !imported.has(ns)),
        ...(services !== undefined ? { services: serviceVisibility(self, imports, union, services, rev), defaultServices: serviceVisibility(self, defaultImports, defaultParts, services, rev) } : {}),
        notes,
    };
}

interface ServiceEntryInfo {
    name: string;
    subject: Subject;
}

function servicesByNamespace(inventory: Inventory): Map<string, ServiceEntryInfo[]> | undefined {
    const out = new Map<string, ServiceEntryInfo[]>();
    let any = false;
    for (const kind of SERVICE_KINDS) {
        for (const s of inventory.ofKind(kind)) {
            const ns = s.object.metadata.namespace;
            if (ns === undefined) continue;
            any = true;
            push(out, ns, { name: s.object.metadata.name, subject: s });
        }
    }
    return any ? out : undefined;
}

function serviceVisibility(self: string, imports: string[], hostParts: ReadonlyMap<string, ReadonlySet<string>>, services: Map<string, ServiceEntryInfo[]>, rev: RevisionInfo): ServiceVisibility {
    const visible: string[] = [];
    const notExported: string[] = [];
    const notImported: string[] = [];
    const namespaces: string[] = [];
    for (const ns of imports) {
        let seen = false;
        const parts = [...(hostParts.get(ns) ?? ["*"])];
        for (const svc of services.get(ns) ?? []) {
            const id = `${ns}/${svc.name}`;
            if (!egressImportsService(parts, serviceHosts(svc.subject))) {
                notImported.push(id);
            } else if (exportedTo(effectiveExportTo(svc.subject, rev), ns, self)) {
                visible.push(id);
                seen = true;
            } else {
                notExported.push(id);
            }
        }
        if (seen) namespaces.push(ns);
    }
    return { visible, namespaces, notExported, notImported };
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
