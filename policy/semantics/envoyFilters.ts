import { DEPLOYED_GATEWAY_PODS, GATEWAY_CHART_PODS, GATEWAY_NAME_LABEL, isIstioGateway, podsOfGateway } from "./gateways";
import type { Inventory, RevisionInfo } from "./inventory";
import { arrayOf, describeObject, isRecord, stringRecord, Subject } from "./objects";
import { meshView } from "./reachability";
import { labelledFor, readBy } from "./revisions";
import type { Workload } from "./workloads";

/**
 * EnvoyFilters (networking.istio.io, API reference "EnvoyFilter"; pilot `model/envoyfilter.go`, `push_context.go`
 * `initEnvoyFilters`/`EnvoyFilters`): which proxies each patches, and what the patches touch.
 *
 * Reach: a proxy takes the EnvoyFilters of its own namespace and of its revision's root namespace whose
 * `workloadSelector` labels match its pod (no selector: every proxy there), or whose `targetRefs` name its Gateway
 * (Gateway API, same namespace). Config the revision does not read (another revision's `istio.io/rev`, a namespace it
 * does not discover) reaches nothing.
 *
 * Effect: each `configPatches[]` entry has a `match.context` (SIDECAR_INBOUND, SIDECAR_OUTBOUND, GATEWAY, ANY),
 * an `applyTo` (LISTENER, FILTER_CHAIN, NETWORK_FILTER, HTTP_FILTER, ROUTE_CONFIGURATION, VIRTUAL_HOST, HTTP_ROUTE,
 * CLUSTER, ...) and a `patch.operation` (MERGE, ADD, REMOVE, INSERT_BEFORE, INSERT_AFTER, INSERT_FIRST, REPLACE).
 * Istio enforces AuthorizationPolicies with Envoy's RBAC and ext_authz filters (HTTP ones in the HTTP connection
 * manager, network ones for TCP) on inbound (and gateway) filter chains, and mutual TLS with the transport sockets of
 * those filter chains and of outbound clusters. A patch that removes, replaces or merges into those filters, replaces
 * the connection manager's filter list or a whole filter chain or listener, or adds an inbound listener or filter chain
 * (which carries none of Istio's filters), can switch authorization off; one that sets a transport socket or TLS
 * context, or matches filter chains by transport protocol, changes mTLS; one on route configurations, virtual hosts,
 * routes or clusters changes where traffic goes, to somewhere the patch alone does not say.
 */

const AUTHORIZATION_FILTERS: ReadonlyArray<string> = ["envoy.filters.http.rbac", "envoy.filters.network.rbac", "envoy.filters.http.ext_authz", "envoy.filters.network.ext_authz"];
const HCM = "envoy.filters.network.http_connection_manager";
const CHANGES = new Set(["REMOVE", "REPLACE", "MERGE"]);
const TLS_KEYS = ["transport_socket", "transportSocket", "tls_context", "tlsContext", "common_tls_context", "commonTlsContext", "transport_socket_matches", "transportSocketMatches"];
const ROUTING_TARGETS = new Set(["ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE", "CLUSTER"]);

export type Touch = "authorization" | "mtls" | "routing";

export interface PatchEffect {
    /** Index in `configPatches`. */
    index: number;
    context: string;
    applyTo: string;
    operation: string;
    touches: Touch[];
    /** What in the patch touches it. */
    detail: string;
}

function mentions(value: unknown, keys: ReadonlyArray<string>): boolean {
    if (Array.isArray(value)) return value.some((v) => mentions(v, keys));
    if (!isRecord(value)) return false;
    return Object.entries(value).some(([k, v]) => keys.includes(k) || mentions(v, keys));
}

function namesAuthorization(value: unknown): boolean {
    if (typeof value === "string") return AUTHORIZATION_FILTERS.includes(value) || /type\.googleapis\.com\/envoy\.extensions\.filters\.(http|network)\.(rbac|ext_authz)\./.test(value);
    if (Array.isArray(value)) return value.some(namesAuthorization);
    return isRecord(value) && Object.values(value).some(namesAuthorization);
}

/** What one patch touches. */
function effectOf(patch: any, index: number): PatchEffect {
    const context = String(patch?.match?.context ?? "ANY");
    const applyTo = String(patch?.applyTo ?? "");
    const operation = String(patch?.patch?.operation ?? "");
    const value = patch?.patch?.value;
    const chain = patch?.match?.listener?.filterChain ?? {};
    const filter = chain.filter?.name;
    const subFilter = chain.filter?.subFilter?.name;
    const inbound = context === "SIDECAR_INBOUND" || context === "GATEWAY" || context === "ANY";
    const touches = new Set<Touch>();
    const details: string[] = [];
    if (applyTo === "HTTP_FILTER" && AUTHORIZATION_FILTERS.includes(subFilter) && CHANGES.has(operation)) {
        touches.add("authorization");
        details.push(`${operation} of ${subFilter}`);
    }
    if (applyTo === "NETWORK_FILTER" && AUTHORIZATION_FILTERS.includes(filter) && CHANGES.has(operation)) {
        touches.add("authorization");
        details.push(`${operation} of ${filter}`);
    }
    if (applyTo === "NETWORK_FILTER" && (filter === HCM || filter === undefined) && (operation === "REPLACE" || operation === "REMOVE" || (operation === "MERGE" && mentions(value, ["http_filters", "httpFilters"])))) {
        if (inbound) {
            touches.add("authorization");
            details.push(`${operation} of the ${filter ?? "matched network filter"}${operation === "MERGE" ? "'s http_filters" : ""}`);
        }
    }
    if ((applyTo === "FILTER_CHAIN" || applyTo === "LISTENER") && inbound && (CHANGES.has(operation) || operation === "ADD")) {
        touches.add("authorization");
        details.push(operation === "ADD" ? `ADD of a ${applyTo.toLowerCase().replace("_", " ")} Istio's filters are not in` : `${operation} of ${applyTo.toLowerCase().replace("_", " ")}s`);
        if (operation !== "MERGE" || mentions(value, TLS_KEYS)) touches.add("mtls");
    }
    if (namesAuthorization(value) && (operation === "MERGE" || operation === "REPLACE")) {
        touches.add("authorization");
        details.push(`${operation} of an authorization filter's config`);
    }
    if (mentions(value, TLS_KEYS)) {
        touches.add("mtls");
        details.push(`sets ${TLS_KEYS.filter((k) => mentions(value, [k])).join(", ")}`);
    }
    if (typeof chain.transportProtocol === "string" && CHANGES.has(operation)) {
        touches.add("mtls");
        details.push(`matches filter chains by transport protocol ${chain.transportProtocol}`);
    }
    // A merge that only sets a cluster's TLS changes mTLS, not where the cluster sends.
    const clusterTlsOnly = applyTo === "CLUSTER" && operation === "MERGE" && isRecord(value) && Object.keys(value).every((k) => TLS_KEYS.includes(k));
    if ((ROUTING_TARGETS.has(applyTo) && !clusterTlsOnly) || (applyTo === "NETWORK_FILTER" && filter === "envoy.filters.network.tcp_proxy" && CHANGES.has(operation))) {
        touches.add("routing");
        details.push(`${operation} on ${applyTo}`);
    }
    return { index, context, applyTo, operation, touches: [...touches], detail: [...new Set(details)].join(", ") };
}

/** What each patch of an EnvoyFilter touches. */
export function patchEffects(filter: Subject): PatchEffect[] {
    return arrayOf((filter.object.spec as any)?.configPatches).map(effectOf);
}

/**
 * The labels by which proxy config picks its proxies: an EnvoyFilter's `workloadSelector.labels`, a WasmPlugin's
 * `selector.matchLabels`; undefined when it has none.
 */
function envoyFilterSelector(filter: Subject): Record<string, string> | undefined {
    const spec = (filter.object.spec ?? {}) as any;
    const labels = stringRecord(filter.object.kind === "WasmPlugin" ? spec.selector?.matchLabels : spec.workloadSelector?.labels);
    return Object.keys(labels).length > 0 ? labels : undefined;
}

/** Whether proxy config (EnvoyFilter, WasmPlugin) names its proxies at all: by selector or by targetRef(s). */
export function picksProxies(config: Subject): boolean {
    const spec = (config.object.spec ?? {}) as any;
    return envoyFilterSelector(config) !== undefined || spec.targetRef !== undefined || arrayOf(spec.targetRefs).length > 0;
}

export interface ProxyReach {
    /** The proxies it patches (a namespace's stand-in pod stands for new ones). */
    proxies: Workload[];
    /** Those of them that are gateways (they take GATEWAY patches, sidecars take SIDECAR_INBOUND and SIDECAR_OUTBOUND ones). */
    gateways: ReadonlySet<Workload>;
    /** Namespaces of those proxies. */
    namespaces: string[];
    /** How it reaches them. */
    how: string;
}


/**
 * The proxies an EnvoyFilter patches: those of its namespace (or, in a revision's root namespace, of every namespace
 * the revision serves) whose revision reads it and whose labels its selector matches, or whose Gateway its targetRefs
 * name.
 */
export function envoyFilterReach(inventory: Inventory, filter: Subject): ProxyReach {
    const own = filter.object.metadata.namespace ?? "default";
    const view = meshView(inventory);
    const selector = envoyFilterSelector(filter);
    const refs = arrayOf((filter.object.spec as any)?.targetRefs);
    const roots = [...inventory.revisions.values()].filter((r) => r.rootNamespace === own && labelledFor(inventory, filter, r));
    const namespaces = roots.length > 0 ? [...inventory.namespaces.keys()] : [own];
    const proxies: Workload[] = [];
    const gateways = new Set<Workload>();
    const takes = (w: Workload, rev: RevisionInfo | undefined) => {
        if (rev !== undefined && !readBy(inventory, filter, rev)) return false;
        if (roots.length > 0 && (rev === undefined || !roots.includes(rev)) && w.namespace !== own) return false;
        if (refs.length > 0) return w.namespace === own && refs.some((r) => r?.kind === "Gateway" && w.labels[GATEWAY_NAME_LABEL] === r.name);
        return selector === undefined || Object.entries(selector).every(([k, v]) => w.labels[k] === v);
    };
    for (const ns of namespaces) {
        for (const w of view.workloadsOf(ns)) {
            const v = view.view(w);
            if (!v.injection.meshed && !isGatewayPod(w)) continue;
            if (!takes(w, v.revision ?? inventory.resolveRevision(w.labels["istio.io/rev"] ?? ""))) continue;
            proxies.push(w);
            if (isGatewayPod(w) || istioGatewayPods(inventory).has(w.subject)) gateways.add(w);
        }
    }
    const how = refs.length > 0 ? `its targetRefs ${refs.map((r) => `${r?.kind}/${r?.name}`).join(", ")}` : selector === undefined ? (roots.length > 0 ? `no workloadSelector in root namespace ${own} of revision ${roots.map((r) => r.name).join(", ")}` : `no workloadSelector in ${own}`) : `workloadSelector ${JSON.stringify(selector)}${roots.length > 0 ? ` in root namespace ${own}` : ""}`;
    return { proxies, gateways, namespaces: [...new Set(proxies.map((w) => w.namespace))].sort(), how };
}

/** The namespaces whose proxies a patch applies to, by its context: GATEWAY for gateways, SIDECAR_* for sidecars. */
export function patchNamespaces(reach: ProxyReach, e: PatchEffect): string[] {
    const applies = (w: Workload) => e.context === "ANY" || (e.context === "GATEWAY") === reach.gateways.has(w);
    return [...new Set(reach.proxies.filter(applies).map((w) => w.namespace))].sort();
}

const gatewayPodCache = new WeakMap<Inventory, Set<Subject>>();

/** The workloads some Istio Gateway configures (its selector matches them and their revision lets it). */
function istioGatewayPods(inventory: Inventory): Set<Subject> {
    let pods = gatewayPodCache.get(inventory);
    if (pods === undefined) {
        pods = new Set();
        for (const gw of inventory.ofKind("Gateway").filter(isIstioGateway)) for (const b of podsOfGateway(inventory, gw)) if (b.effective) pods.add(b.subject);
        gatewayPodCache.set(inventory, pods);
    }
    return pods;
}

/** Gateway pods run a proxy of their own, injected or not (the gateway chart's, a Gateway API deployment's). */
function isGatewayPod(w: Workload): boolean {
    return w.kind === GATEWAY_CHART_PODS || w.kind === DEPLOYED_GATEWAY_PODS || w.labels[GATEWAY_NAME_LABEL] !== undefined;
}

/** `EnvoyFilter ns/name configPatches[i] (context, applyTo, operation)`. */
export function describePatch(filter: Subject, e: PatchEffect): string {
    return `EnvoyFilter ${describeObject(filter.object)} configPatches[${e.index}] (${e.context} ${e.applyTo} ${e.operation}: ${e.detail})`;
}

