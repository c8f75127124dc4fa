import { effectiveExportTo, exportedTo } from "./exportTo";
import { GATEWAY_API_GROUP, isGatewayApiGateway, isIstioGateway, podsOfGateway } from "./gateways";
import { hostsOverlap, SERVICE_DOMAIN, serviceHost } from "./hosts";
import type { Inventory, RevisionInfo } from "./inventory";
import { arrayOf, describeObject, isRecord, Subject } from "./objects";
import { meshView } from "./reachability";
import { readBy } from "./revisions";
import type { LabelSelector } from "./selectors";
import { SourceSet } from "./sources";

/**
 * Where traffic is sent, and whose routes may steer it.
 *
 * Istio VirtualService (networking.istio.io, API reference "VirtualService"; pilot `model/virtualservice.go`,
 * `push_context.go`):
 * - `hosts` and destination hosts that are short names are read as `<name>.<namespace of the VirtualService>.svc.cluster.local`;
 *   other names are taken literally.
 * - `gateways` lists `mesh` (the sidecars) and Gateways as `<namespace>/<name>`, a bare name meaning the VirtualService's
 *   own namespace; no `gateways` means `mesh` only.
 * - A route sends to `http[].route[].destination`, `tcp[].route[]`, `tls[].route[]`; `http[].mirror` and
 *   `http[].mirrors[].destination` copy the requests there too.
 * - `http[].delegate` names a VirtualService (namespace defaulting to the root's) that has no `hosts`: its HTTP routes
 *   replace that route, only when it is exported to the root's namespace, and only through the root's own binding (a
 *   delegate is never applied alone). One level only: a delegate's own delegates are not followed. A delegate route
 *   without a mirror keeps the root route's.
 * - Sidecars apply a `mesh` VirtualService when it is exported to their namespace (and their Sidecar imports its
 *   namespace); a gateway's pods apply one bound to their Gateway when it is exported to the pods' namespace and a
 *   server of the Gateway lets its namespace in: server `hosts` are `<namespace>/<host>`, where `*` or no namespace
 *   admits every namespace's VirtualServices and `.` only the Gateway's own.
 *
 * Gateway API (gateway.networking.k8s.io, spec "Route attachment", "ReferenceGrant"):
 * - HTTPRoute, GRPCRoute, TLSRoute and TCPRoute attach through `parentRefs` (group and kind default to a Gateway of
 *   this API, namespace to the route's, `sectionName` picks a listener) to listeners whose `allowedRoutes.namespaces`
 *   (`Same` by default, `All`, or a `Selector` on namespace labels) admit the route's namespace and whose
 *   `allowedRoutes.kinds` (by default the kinds the listener's protocol carries) include the route's kind.
 * - A `backendRef` to another namespace (a Service unless group/kind say otherwise) counts only when a ReferenceGrant in
 *   the target namespace lists the route's kind and namespace in `from` and the backend's kind (and name, if it gives
 *   one) in `to`.
 * - Istio's gateway controller runs a Gateway's pods in the Gateway's namespace: the traffic is that namespace's.
 */

const VS_GROUP = "networking.istio.io";

export type TargetKind = "route" | "mirror";

/** One place a route sends traffic of `source` (a namespace whose proxies apply the route). */
export interface RouteTarget {
    source: string;
    /** Namespace the traffic goes to. */
    destination: string;
    host: string;
    kind: TargetKind;
    /** The object that names the destination: what to fix. */
    subject: Subject;
    /** The objects on the way, from the proxies to the destination. */
    path: string[];
    /** The delegate VirtualService that chose this destination, when a root handed its route to one. */
    delegate?: Subject;
}

/** A short host read in a namespace: `reviews` in `app-a` is `reviews.app-a.svc.cluster.local`. */
export function resolveHost(host: string, namespace: string): string {
    return host.includes(".") || host === "*" || host.startsWith("*") ? host : serviceHost(host, namespace);
}

/** The Service namespace of a Kubernetes Service host name, undefined for other hosts. */
function serviceNamespace(host: string): string | undefined {
    if (!host.endsWith(`.${SERVICE_DOMAIN}`)) return undefined;
    return /^[^.]+\.([^.]+)$/.exec(host.slice(0, -SERVICE_DOMAIN.length - 1))?.[1];
}

/**
 * The namespaces a destination host lives in, as a proxy of `viewer` resolves it: a Kubernetes Service name gives its
 * namespace (whether or not the set holds the Service, unless the set holds it and does not export it to the viewer);
 * other hosts, the namespaces of ServiceEntries declaring them and exported to the viewer.
 */
function destinationNamespaces(inventory: Inventory, host: string, viewer: string, rev: RevisionInfo | undefined): string[] {
    const ns = serviceNamespace(host);
    if (ns !== undefined) {
        const name = host.slice(0, host.indexOf("."));
        const service = inventory.inNamespace(ns, "Service").find((s) => s.object.metadata.name === name);
        if (service !== undefined && !exportedTo(effectiveExportTo(service, rev), ns, viewer)) return [];
        return [ns];
    }
    const out = new Set<string>();
    for (const se of inventory.ofKind("ServiceEntry")) {
        const owner = se.object.metadata.namespace;
        if (owner === undefined || !exportedTo(effectiveExportTo(se, rev), owner, viewer)) continue;
        if (arrayOf((se.object.spec as any)?.hosts).some((h) => typeof h === "string" && hostsOverlap(h, host))) out.add(owner);
    }
    return [...out];
}

/** The Gateways a VirtualService binds to, as `namespace/name`, and whether it binds to the sidecars (`mesh`). */
export function virtualServiceBinding(vs: Subject): { mesh: boolean; gateways: string[] } {
    const own = vs.object.metadata.namespace ?? "default";
    const names = arrayOf((vs.object.spec as any)?.gateways).filter((g): g is string => typeof g === "string");
    if (names.length === 0) return { mesh: true, gateways: [] };
    const gateways: string[] = [];
    let mesh = false;
    for (const g of names) {
        if (g === "mesh") mesh = true;
        else if (g.includes("/")) gateways.push(g);
        else if (g.includes(".")) gateways.push(`${g.split(".")[1]}/${g.split(".")[0]}`);
        else gateways.push(`${own}/${g}`);
    }
    return { mesh, gateways };
}

/** Namespaces whose VirtualServices an Istio Gateway's servers accept (by the namespace part of their hosts). */
export function gatewayRouteNamespaces(gateway: Subject): SourceSet {
    const own = gateway.object.metadata.namespace ?? "default";
    const what = `Gateway ${describeObject(gateway.object)}`;
    let out = SourceSet.none();
    for (const server of arrayOf((gateway.object.spec as any)?.servers)) {
        for (const host of arrayOf(server?.hosts)) {
            if (typeof host !== "string") continue;
            const slash = host.indexOf("/");
            const ns = slash < 0 ? "*" : host.slice(0, slash);
            const reason = `${what} server host ${host}`;
            if (ns === "*") out = out.union(SourceSet.any(`${reason}${slash < 0 ? " (no namespace: any)" : ""}`));
            else out = out.union(SourceSet.of([ns === "." ? own : ns], reason));
        }
    }
    return out;
}

/** Whether a Gateway's servers take a VirtualService of `namespace` with these hosts. */
function gatewayAccepts(gateway: Subject, namespace: string, hosts: string[]): boolean {
    const own = gateway.object.metadata.namespace ?? "default";
    return arrayOf((gateway.object.spec as any)?.servers).some((server) =>
        arrayOf(server?.hosts).some((raw) => {
            if (typeof raw !== "string") return false;
            const slash = raw.indexOf("/");
            const ns = slash < 0 ? "*" : raw.slice(0, slash);
            const host = slash < 0 ? raw : raw.slice(slash + 1);
            if (!(ns === "*" || ns === namespace || (ns === "." && own === namespace))) return false;
            return hosts.some((h) => hostsOverlap(h, host));
        }),
    );
}

function findIstioGateway(inventory: Inventory, ref: string): Subject | undefined {
    const [ns, name] = ref.split("/");
    return inventory.inNamespace(ns, "Gateway").find((g) => isIstioGateway(g) && g.object.metadata.name === name);
}

function isVirtualService(s: Subject): boolean {
    return s.object.kind === "VirtualService" && s.object.apiVersion.split("/")[0] === VS_GROUP;
}

/** A VirtualService's hosts, short names resolved in its namespace. */
function virtualServiceHosts(vs: Subject): string[] {
    const ns = vs.object.metadata.namespace ?? "default";
    return arrayOf((vs.object.spec as any)?.hosts).filter((h): h is string => typeof h === "string").map((h) => resolveHost(h, ns));
}

/** A destination a VirtualService names, with where it is named. */
interface NamedDestination {
    host: string;
    kind: TargetKind;
    /** The VirtualService whose namespace the host is read in (the delegate's, for its routes). */
    subject: Subject;
    path: string[];
    delegate?: Subject;
}

/** The hosts a VirtualService sends to and mirrors to, delegates followed one level. */
function namedDestinations(inventory: Inventory, vs: Subject): NamedDestination[] {
    const out: NamedDestination[] = [];
    const spec: Record<string, any> = isRecord(vs.object.spec) ? vs.object.spec : {};
    const own = vs.object.metadata.namespace ?? "default";
    const self = `VirtualService ${describeObject(vs.object)}`;
    const fromRoute = (owner: Subject, route: any, where: string, path: string[], inheritedMirror?: any) => {
        const ns = owner.object.metadata.namespace ?? "default";
        const delegate = owner === vs ? undefined : owner;
        for (const r of arrayOf(route?.route)) {
            if (typeof r?.destination?.host === "string") out.push({ host: resolveHost(r.destination.host, ns), kind: "route", subject: owner, delegate, path: [...path, `${where} route to ${r.destination.host}`] });
        }
        const mirror = route?.mirror ?? inheritedMirror;
        if (typeof mirror?.host === "string") out.push({ host: resolveHost(mirror.host, route?.mirror !== undefined ? ns : own), kind: "mirror", subject: route?.mirror !== undefined ? owner : vs, delegate, path: [...path, `${where} mirror to ${mirror.host}`] });
        for (const m of arrayOf(route?.mirrors)) {
            if (typeof m?.destination?.host === "string") out.push({ host: resolveHost(m.destination.host, ns), kind: "mirror", subject: owner, delegate, path: [...path, `${where} mirrors to ${m.destination.host}`] });
        }
    };
    arrayOf(spec.http).forEach((route, i) => {
        if (isRecord(route?.delegate)) {
            const delegate = delegateOf(inventory, vs, route.delegate);
            if (delegate === undefined) return;
            const via = [`${self} http[${i}] delegates to VirtualService ${describeObject(delegate.object)}`];
            arrayOf((delegate.object.spec as any)?.http).forEach((sub, j) => fromRoute(delegate, sub, `http[${j}]`, via, route.mirror));
            return;
        }
        fromRoute(vs, route, `${self} http[${i}]`, []);
    });
    for (const section of ["tcp", "tls"]) arrayOf(spec[section]).forEach((route, i) => fromRoute(vs, route, `${self} ${section}[${i}]`, []));
    return out;
}

/**
 * The VirtualService a root's `delegate` names, when Istio would merge it: it exists, has no hosts, and is exported to
 * the root's namespace.
 */
export function delegateOf(inventory: Inventory, root: Subject, ref: Record<string, any>): Subject | undefined {
    const own = root.object.metadata.namespace ?? "default";
    const ns = typeof ref.namespace === "string" && ref.namespace !== "" ? ref.namespace : own;
    const delegate = inventory.inNamespace(ns, "VirtualService").find((s) => s.object.metadata.name === ref.name && isVirtualService(s));
    if (delegate === undefined || arrayOf((delegate.object.spec as any)?.hosts).length > 0) return undefined;
    const rev = meshView(inventory).defaultView(own)?.revision;
    return exportedTo(effectiveExportTo(delegate, rev), ns, own) ? delegate : undefined;
}

/** The namespaces whose proxies apply a VirtualService, each with how. */
function applyingNamespaces(inventory: Inventory, vs: Subject): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const own = vs.object.metadata.namespace ?? "default";
    const binding = virtualServiceBinding(vs);
    const hosts = virtualServiceHosts(vs);
    const view = meshView(inventory);
    const self = `VirtualService ${describeObject(vs.object)}`;
    if (binding.mesh) {
        // Only the namespaces it is exported to can apply it: under a `.` default that is its own, not every namespace.
        const exportTo = effectiveExportTo(vs, view.defaultView(own)?.revision);
        const candidates = exportTo.includes("*") ? inventory.namespaces.keys() : exportTo.map((t) => (t === "." ? own : t)).filter((t) => inventory.namespaces.has(t));
        for (const ns of candidates) {
            const v = view.defaultView(ns);
            if (v?.imports === undefined) continue;
            if (v.revision !== undefined && !readBy(inventory, vs, v.revision)) continue;
            if (!exportedTo(effectiveExportTo(vs, v.revision), own, ns) || !v.imports.namespaces.has(own)) continue;
            out.set(ns, [`${self} (mesh) applies to the sidecars of ${ns}`]);
        }
    }
    for (const ref of binding.gateways) {
        const gateway = findIstioGateway(inventory, ref);
        if (gateway === undefined || !gatewayAccepts(gateway, own, hosts)) continue;
        for (const pods of podsOfGateway(inventory, gateway)) {
            if (!pods.effective || out.has(pods.namespace)) continue;
            const rev = view.defaultView(pods.namespace)?.revision;
            if (rev !== undefined && !readBy(inventory, vs, rev)) continue;
            if (!exportedTo(effectiveExportTo(vs, rev), own, pods.namespace)) continue;
            out.set(pods.namespace, [`${self} is bound to Gateway ${ref}, whose pods run in ${pods.namespace}`]);
        }
    }
    return out;
}

const GATEWAY_API_ROUTE_KINDS = ["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute"];

/** The route kinds a listener takes by default, by its protocol (Gateway API `ListenerStatus.supportedKinds`). */
function defaultKinds(protocol: string): string[] {
    if (protocol === "HTTP" || protocol === "HTTPS") return ["HTTPRoute", "GRPCRoute"];
    if (protocol === "TLS") return ["TLSRoute"];
    if (protocol === "TCP") return ["TCPRoute"];
    return [];
}

/** Namespaces whose routes one Gateway API listener admits, with the setting that admits them. */
function listenerNamespaces(inventory: Inventory, gateway: Subject, listener: any): SourceSet {
    const own = gateway.object.metadata.namespace ?? "default";
    const from = listener?.allowedRoutes?.namespaces?.from ?? "Same";
    const name = `Gateway ${describeObject(gateway.object)} listener ${listener?.name ?? "?"}`;
    if (from === "All") return SourceSet.any(`${name} allowedRoutes from All`);
    if (from === "Selector") {
        const selector: LabelSelector = isRecord(listener.allowedRoutes.namespaces.selector) ? listener.allowedRoutes.namespaces.selector : {};
        return SourceSet.of(inventory.namespacesSelectedBy(selector), `${name} allowedRoutes selector ${JSON.stringify(selector)}`);
    }
    return SourceSet.of([own], `${name} allowedRoutes from Same`);
}

/** Whether a Gateway API listener accepts routes of this kind from this namespace. */
function listenerAccepts(inventory: Inventory, gateway: Subject, listener: any, kind: string, namespace: string): boolean {
    if (!listenerNamespaces(inventory, gateway, listener).has(namespace)) return false;
    const kinds = arrayOf(listener?.allowedRoutes?.kinds);
    if (kinds.length === 0) return defaultKinds(String(listener?.protocol ?? "")).includes(kind);
    return kinds.some((k) => k?.kind === kind && (k.group === undefined || k.group === GATEWAY_API_GROUP));
}

/**
 * Namespaces whose routes a Gateway API Gateway's listeners accept (`Same` by default, `All`, or a `Selector` on
 * namespace labels), with the listener that admits each: `All` is every namespace, `Selector` the namespaces of the
 * set it selects (others may get the labels later).
 */
export function listenerRouteNamespaces(inventory: Inventory, gateway: Subject): SourceSet {
    return arrayOf((gateway.object.spec as any)?.listeners).reduce((out: SourceSet, listener) => out.union(listenerNamespaces(inventory, gateway, listener)), SourceSet.none());
}

/** The Gateway API Gateways (with a listener that takes it) a route attaches to. */
export function attachedGateways(inventory: Inventory, route: Subject): Subject[] {
    const ns = route.object.metadata.namespace ?? "default";
    const out: Subject[] = [];
    for (const ref of arrayOf((route.object.spec as any)?.parentRefs)) {
        if ((ref?.group ?? GATEWAY_API_GROUP) !== GATEWAY_API_GROUP || (ref?.kind ?? "Gateway") !== "Gateway") continue;
        const gwNs = typeof ref.namespace === "string" ? ref.namespace : ns;
        const gateway = inventory.inNamespace(gwNs, "Gateway").find((g) => isGatewayApiGateway(g) && g.object.metadata.name === ref.name);
        if (gateway === undefined || out.includes(gateway)) continue;
        const listeners = arrayOf((gateway.object.spec as any)?.listeners).filter((l) => (ref.sectionName === undefined || l?.name === ref.sectionName) && (ref.port === undefined || l?.port === ref.port));
        if (listeners.some((l) => listenerAccepts(inventory, gateway, l, route.object.kind, ns))) out.push(gateway);
    }
    return out;
}

/** The ReferenceGrant in `target` that lets a route of `kind` in `from` reference a backend, if any. */
export function referenceGrant(inventory: Inventory, kind: string, from: string, target: string, backendGroup: string, backendKind: string, backendName: string): Subject | undefined {
    return inventory.inNamespace(target, "ReferenceGrant").find((g) => {
        const spec = (g.object.spec ?? {}) as any;
        const fromOk = arrayOf(spec.from).some((f) => f?.group === GATEWAY_API_GROUP && f?.kind === kind && f?.namespace === from);
        const toOk = arrayOf(spec.to).some((t) => (t?.group ?? "") === backendGroup && t?.kind === backendKind && (t?.name === undefined || t.name === backendName));
        return fromOk && toOk;
    });
}

/** Namespaces whose routes a ReferenceGrant lets reference objects of its own namespace. */
export function grantedNamespaces(grant: Subject): string[] {
    return [...new Set(arrayOf((grant.object.spec as any)?.from).filter((f) => f?.group === GATEWAY_API_GROUP && typeof f?.namespace === "string").map((f) => f.namespace as string))];
}

function gatewayApiTargets(inventory: Inventory, route: Subject): RouteTarget[] {
    const ns = route.object.metadata.namespace ?? "default";
    const kind = route.object.kind;
    const self = `${kind} ${describeObject(route.object)}`;
    const out: RouteTarget[] = [];
    const gateways = attachedGateways(inventory, route);
    if (gateways.length === 0) return out;
    arrayOf((route.object.spec as any)?.rules).forEach((rule, i) => {
        const refs = [...arrayOf(rule?.backendRefs).map((b) => ({ b, kind: "route" as TargetKind, where: "backendRef" })), ...arrayOf(rule?.filters).filter((f) => f?.type === "RequestMirror").map((f) => ({ b: f.requestMirror?.backendRef, kind: "mirror" as TargetKind, where: "RequestMirror filter" }))];
        for (const { b, kind: targetKind, where } of refs) {
            if (!isRecord(b) || typeof b.name !== "string") continue;
            const group = typeof b.group === "string" ? b.group : "";
            const backendKind = typeof b.kind === "string" ? b.kind : "Service";
            const target = typeof b.namespace === "string" ? b.namespace : ns;
            const path = [`${self} rules[${i}] ${where} ${backendKind} ${target}/${b.name}`];
            if (target !== ns) {
                const grant = referenceGrant(inventory, kind, ns, target, group, backendKind, b.name);
                if (grant === undefined) continue;
                path.push(`allowed by ReferenceGrant ${describeObject(grant.object)}`);
            }
            for (const gateway of gateways) {
                const source = gateway.object.metadata.namespace ?? "default";
                out.push({ source, destination: target, host: serviceHost(b.name, target), kind: targetKind, subject: route, path: [`${self} is attached to Gateway ${describeObject(gateway.object)}, whose pods run in ${source}`, ...path] });
            }
        }
    });
    return out;
}

const callable = new WeakMap<Inventory, Set<string>>();

/**
 * Whether `source` may call `destination`: its own namespace, or a pair of the report's who-can-call-whom answer
 * (`MeshView.calls`: a proxy of the source imports a Service of the destination exported to it, and a workload there
 * admits the source through its sidecar and NetworkPolicies). Computed once per object set, on the first question
 * across namespaces.
 */
export function mayCall(inventory: Inventory, source: string, destination: string): boolean {
    if (source === destination) return true;
    let pairs = callable.get(inventory);
    if (pairs === undefined) callable.set(inventory, (pairs = new Set(meshView(inventory).calls().map((c) => `${c.source}\u0000${c.destination}`))));
    return pairs.has(`${source}\u0000${destination}`);
}

const cache = new WeakMap<Inventory, RouteTarget[]>();

/**
 * Every place routes send (or mirror) traffic: per VirtualService, the namespaces whose proxies apply it and the
 * namespaces its destinations live in, as each of those proxies resolves them; per Gateway API route attached to a
 * Gateway, the Gateway's namespace and its backends'.
 */
export function routeTargets(inventory: Inventory): ReadonlyArray<RouteTarget> {
    let found = cache.get(inventory);
    if (found !== undefined) return found;
    found = [];
    const view = meshView(inventory);
    for (const vs of inventory.ofKind("VirtualService")) {
        if (!isVirtualService(vs) || arrayOf((vs.object.spec as any)?.hosts).length === 0) continue;
        const destinations = namedDestinations(inventory, vs);
        if (destinations.length === 0) continue;
        for (const [source, how] of applyingNamespaces(inventory, vs)) {
            const rev = view.defaultView(source)?.revision;
            for (const d of destinations) {
                for (const destination of destinationNamespaces(inventory, d.host, source, rev)) {
                    found.push({ source, destination, host: d.host, kind: d.kind, subject: d.subject, delegate: d.delegate, path: [...how, ...d.path] });
                }
            }
        }
    }
    for (const kind of GATEWAY_API_ROUTE_KINDS) for (const route of inventory.ofKind(kind)) found.push(...gatewayApiTargets(inventory, route));
    cache.set(inventory, found);
    return found;
}

/** The VirtualServices of other namespaces that a Gateway's pods apply, by the Gateway's server hosts. */
export function boundVirtualServices(inventory: Inventory, gateway: Subject): Subject[] {
    const ns = gateway.object.metadata.namespace ?? "default";
    const ref = `${ns}/${gateway.object.metadata.name}`;
    const out: Subject[] = [];
    for (const vs of inventory.ofKind("VirtualService")) {
        if (!isVirtualService(vs)) continue;
        const own = vs.object.metadata.namespace ?? "default";
        if (!virtualServiceBinding(vs).gateways.includes(ref) || !gatewayAccepts(gateway, own, virtualServiceHosts(vs))) continue;
        const visible = podsOfGateway(inventory, gateway).some((p) => p.effective && exportedTo(effectiveExportTo(vs, meshView(inventory).defaultView(p.namespace)?.revision), own, p.namespace));
        if (visible) out.push(vs);
    }
    return out;
}

/** Gateway API routes of any namespace attached to a Gateway. */
export function attachedRoutes(inventory: Inventory, gateway: Subject): Subject[] {
    const out: Subject[] = [];
    for (const kind of GATEWAY_API_ROUTE_KINDS) for (const route of inventory.ofKind(kind)) if (attachedGateways(inventory, route).includes(gateway)) out.push(route);
    return out;
}
