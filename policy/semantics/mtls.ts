import type { Inventory, RevisionInfo } from "./inventory";
import { arrayOf, describeObject, isRecord, stringRecord, Subject } from "./objects";
import { configIn } from "./revisions";
import type { Workload } from "./workloads";

/**
 * Mutual TLS, server side and client side.
 *
 * Server side (PeerAuthentication, `security.istio.io`): which mode a sidecar's inbound listener enforces, per port.
 * - Three levels, the most specific wins: a policy with a `selector` in the workload's own namespace, else the
 *   namespace's policy without selector, else the revision's root namespace policy without selector. A policy with a
 *   selector in the root namespace is workload-level for the root namespace's own pods only.
 * - Several policies at one level: Istio takes the oldest; the object set has no reliable creation order, so the first
 *   in input order is taken and the others are reported as competing.
 * - `UNSET` (or no `mtls`) inherits the level above; with nothing above, a sidecar accepts both (`PERMISSIVE`).
 * - `portLevelMtls` is honoured only on a policy with a selector (on the others istiod ignores it); a port there is the
 *   workload's port, and `UNSET` on a port inherits the workload's mode.
 * - Only the policies the workload's revision reads count (`configIn`: discovery and `istio.io/rev` filtering).
 *
 * Client side (DestinationRule `trafficPolicy.tls`): the TLS mode a caller's sidecar uses toward a host, at the top
 * level, per port and per subset.
 */

export type MtlsMode = "STRICT" | "PERMISSIVE" | "DISABLE";

/** Where each part of a workload's mode comes from: one line per deciding object, for messages. */
export interface PeerAuthenticationView {
    /** The mode on every port without a port-level setting. */
    mode: MtlsMode;
    /** Port-level modes (workload ports), where the deciding workload policy sets them. */
    ports: ReadonlyMap<string, MtlsMode>;
    /** The policies that decide, most specific first; empty when none applies (Istio's default, PERMISSIVE). */
    deciding: Subject[];
    /** Policies at the deciding levels that lose to an older (here: earlier) one. */
    competing: Subject[];
    /** How the answer came about, naming the objects. */
    reason: string;
}

const MODES: ReadonlySet<string> = new Set(["STRICT", "PERMISSIVE", "DISABLE"]);

/** A mode as written: one of the three, or undefined for `UNSET`, an unknown value or none. */
function declaredMode(setting: unknown): MtlsMode | undefined {
    const mode = isRecord(setting) ? setting.mode : undefined;
    return typeof mode === "string" && MODES.has(mode) ? (mode as MtlsMode) : undefined;
}

function selectorOf(pa: Subject): Record<string, string> | undefined {
    const labels = (pa.object.spec as any)?.selector?.matchLabels;
    const record = stringRecord(labels);
    return Object.keys(record).length > 0 ? record : undefined;
}

/** Whether a PeerAuthentication has a workload selector (then it is workload-level). */
export function isWorkloadLevel(pa: Subject): boolean {
    return selectorOf(pa) !== undefined;
}

function selects(pa: Subject, w: Workload): boolean {
    const selector = selectorOf(pa);
    return selector !== undefined && Object.entries(selector).every(([k, v]) => w.labels[k] === v);
}

/** The PeerAuthentications that apply to a workload, by level, as its revision reads them. */
function levels(inventory: Inventory, w: Workload, rev: RevisionInfo | undefined): { workload: Subject[]; namespace: Subject[]; mesh: Subject[] } {
    const own = rev === undefined ? inventory.inNamespace(w.namespace, "PeerAuthentication") : configIn(inventory, rev, w.namespace, "PeerAuthentication");
    const root = rev === undefined || rev.rootNamespace === w.namespace ? [] : configIn(inventory, rev, rev.rootNamespace, "PeerAuthentication");
    const isRoot = rev !== undefined && rev.rootNamespace === w.namespace;
    return {
        workload: own.filter((pa) => selects(pa, w)),
        namespace: isRoot ? [] : own.filter((pa) => !isWorkloadLevel(pa)),
        mesh: (isRoot ? own : root).filter((pa) => !isWorkloadLevel(pa)),
    };
}

/** The mTLS mode a workload's sidecar enforces inbound, per port, with the objects that decide it. */
export function peerAuthenticationOf(inventory: Inventory, w: Workload, rev: RevisionInfo | undefined): PeerAuthenticationView {
    const { workload, namespace, mesh } = levels(inventory, w, rev);
    const chosen = [workload[0], namespace[0], mesh[0]].filter((s): s is Subject => s !== undefined);
    const competing = [...workload.slice(1), ...namespace.slice(1), ...mesh.slice(1)];
    let mode: MtlsMode = "PERMISSIVE";
    const deciding: Subject[] = [];
    // From the least specific up: each level that declares a mode overrides the one below it.
    for (const pa of [...chosen].reverse()) {
        const declared = declaredMode((pa.object.spec as any)?.mtls);
        if (declared !== undefined) {
            mode = declared;
            deciding.unshift(pa);
        }
    }
    const ports = new Map<string, MtlsMode>();
    const workloadPolicy = workload[0];
    if (workloadPolicy !== undefined) {
        const portLevel = (workloadPolicy.object.spec as any)?.portLevelMtls;
        for (const [port, setting] of Object.entries<unknown>(isRecord(portLevel) ? portLevel : {})) {
            const declared = declaredMode(setting);
            if (declared !== undefined && declared !== mode) ports.set(port, declared);
        }
        if (ports.size > 0 && !deciding.includes(workloadPolicy)) deciding.unshift(workloadPolicy);
    }
    const named = deciding.map((pa) => `PeerAuthentication ${describeObject(pa.object)}`);
    const portText = [...ports].map(([p, m]) => `port ${p} ${m}`).join(", ");
    const reason = named.length === 0 ? "no PeerAuthentication applies (Istio's default: PERMISSIVE)" : `${mode} from ${named.join(" over ")}${portText === "" ? "" : `; ${portText}`}`;
    return { mode, ports, deciding, competing, reason };
}

/** Whether a plaintext caller gets through the sidecar on some port (or on the one given). */
export function acceptsPlaintext(view: PeerAuthenticationView, port?: string): boolean {
    if (port !== undefined) return (view.ports.get(port) ?? view.mode) !== "STRICT";
    return view.mode !== "STRICT" || [...view.ports.values()].some((m) => m !== "STRICT");
}

/**
 * The port-level settings a PeerAuthentication writes but istiod ignores (it has no selector): they read as if they
 * weakened or hardened a port, and do neither.
 */
export function ignoredPortLevelMtls(pa: Subject): string[] {
    const portLevel = (pa.object.spec as any)?.portLevelMtls;
    if (isWorkloadLevel(pa) || !isRecord(portLevel)) return [];
    return Object.keys(portLevel);
}

/** Every TLS mode a DestinationRule sets for its callers: traffic policy, its port-level settings, and each subset's. */
export function clientTlsModes(dr: Subject): { mode: string; where: string }[] {
    const spec = (dr.object.spec ?? {}) as any;
    const out: { mode: string; where: string }[] = [];
    const read = (policy: any, where: string) => {
        if (!isRecord(policy)) return;
        if (typeof policy.tls?.mode === "string") out.push({ mode: policy.tls.mode, where });
        for (const p of arrayOf(policy.portLevelSettings)) {
            if (typeof p?.tls?.mode === "string") out.push({ mode: p.tls.mode, where: `${where} port ${p?.port?.number ?? "?"}` });
        }
    };
    read(spec.trafficPolicy, "trafficPolicy");
    for (const s of arrayOf(spec.subsets)) read(s?.trafficPolicy, `subset ${s?.name ?? "?"}`);
    return out;
}

/**
 * Whose certificates a sidecar trusts. Each istiod signs workload certificates with its CA: the `cacerts` Secret of its
 * namespace when one is plugged in, else a root it generates for itself there. Revisions in one namespace therefore
 * share a root; separate istiod namespaces share one only when their plugged-in CAs chain to one root. Which one a
 * cluster has is a fact of the installation that objects rarely show (the Secrets are usually not in the set), so it is
 * an input: `shared-root` unless told otherwise, which never hides an opening.
 */
export type CaTopology = "shared-root" | "per-usergroup";

export const CA_TOPOLOGIES: ReadonlyArray<CaTopology> = ["shared-root", "per-usergroup"];

/**
 * Whether a caller whose sidecar's certificate comes from `callerCa` (an istiod namespace) completes mutual TLS with a
 * sidecar whose istiod runs in `serverCa`.
 */
export function sharesRoot(topology: CaTopology, callerCa: string | undefined, serverCa: string | undefined): boolean {
    if (topology === "shared-root") return true;
    return callerCa !== undefined && callerCa === serverCa;
}
