import { contextOf, meshAdmission, MeshAdmission } from "./authorization";
import { effectiveExportTo, exportedTo } from "./exportTo";
import { Injection, injectionOf } from "./injection";
import type { Inventory, RevisionInfo } from "./inventory";
import { acceptsPlaintext, CaTopology, peerAuthenticationOf, PeerAuthenticationView, sharesRoot } from "./mtls";
import { l3Admission, L3Admission } from "./networkPolicy";
import type { Subject } from "./objects";
import { configIn } from "./revisions";
import { Imports, importsOf, workloadSelectorOf } from "./sidecarScope";
import { SourceSet } from "./sources";
import { describeWorkload, hypotheticalWorkload, inboundBypass, Workload } from "./workloads";

/**
 * Effective reachability: for each workload, the control plane that owns it, what its proxy imports, and who can reach
 * it through the mesh and at L3; and from that, a namespace × namespace matrix of who can call whom. A namespace with
 * no workload is judged by a stand-in pod with no labels (what its next deployment would get).
 */

export interface WorkloadView {
    workload: Workload;
    injection: Injection;
    revision?: RevisionInfo;
    /** What its proxy imports; undefined when it has no proxy. */
    imports?: Imports;
    /** Who gets through its sidecar; undefined when it has no proxy (then nothing checks identities). */
    mesh?: MeshAdmission;
    /** The mTLS its sidecar enforces inbound; undefined when it has no proxy. */
    mtls?: PeerAuthenticationView;
    /**
     * Source namespaces its AuthorizationPolicies admit whose sidecars cannot complete mutual TLS with it: their
     * certificates chain to another root (per-usergroup CA roots) and it accepts no plaintext. Not in `admitted`.
     */
    refusedAtHandshake: SourceSet;
    l3: L3Admission;
    /** Sources both layers admit. */
    admitted: SourceSet;
}

export interface Call {
    source: string;
    destination: string;
    /** Workload-level reasons: which workload admits the source, and through which objects. */
    reasons: string[];
}

const cache = new WeakMap<Inventory, Map<CaTopology, MeshView>>();

/**
 * The view of an object set under a CA topology (`shared-root` unless told otherwise: it never hides an opening, since
 * with one root every identity an AuthorizationPolicy names can present its certificate).
 */
export function meshView(inventory: Inventory, caTopology: CaTopology = "shared-root"): MeshView {
    let byTopology = cache.get(inventory);
    if (byTopology === undefined) cache.set(inventory, (byTopology = new Map()));
    let view = byTopology.get(caTopology);
    if (view === undefined) byTopology.set(caTopology, (view = new MeshView(inventory, caTopology)));
    return view;
}

export class MeshView {
    private readonly views = new Map<Workload, WorkloadView>();
    private readonly stand = new Map<string, Workload>();
    private readonly cas = new Map<string, string | undefined>();

    constructor(
        readonly inventory: Inventory,
        readonly caTopology: CaTopology = "shared-root",
    ) {}

    /**
     * The istiod namespace whose CA signs the certificates of a namespace's sidecars (undefined: its pods get none, or
     * their control plane is not in the set).
     */
    caOf(namespace: string): string | undefined {
        if (!this.cas.has(namespace)) {
            const subject = this.inventory.namespaces.get(namespace)?.subject;
            const injection = subject === undefined ? undefined : injectionOf(this.inventory, hypotheticalWorkload(namespace, subject));
            this.cas.set(namespace, injection?.meshed ? injection.revision?.namespace : undefined);
        }
        return this.cas.get(namespace);
    }

    view(w: Workload): WorkloadView {
        let v = this.views.get(w);
        if (v !== undefined) return v;
        const injection = injectionOf(this.inventory, w);
        const revision = injection.revision;
        const l3 = l3Admission(this.inventory, w);
        let mesh: MeshAdmission | undefined;
        let mtls: PeerAuthenticationView | undefined;
        let imports: Imports | undefined;
        let admitted = l3.sources;
        let refusedAtHandshake = SourceSet.none();
        if (injection.meshed) {
            // With its control plane not in the object set, the proxy's imports are unknown; its admission is still
            // its namespace's AuthorizationPolicies.
            if (revision !== undefined) imports = importsOf(this.inventory, w, revision);
            mesh = meshAdmission(this.inventory, w, revision, contextOf(this.inventory, revision));
            const bypass = inboundBypass(w);
            mtls = peerAuthenticationOf(this.inventory, w, revision);
            let meshSources = mesh.sources;
            if (this.caTopology !== "shared-root" && !acceptsPlaintext(mtls)) {
                const ca = revision?.namespace;
                const candidates = meshSources.cofinite ? [...this.inventory.namespaces.keys()] : [...meshSources.names];
                const foreign = candidates.filter((n) => meshSources.has(n)).filter((n) => {
                    const callerCa = n === w.namespace ? ca : this.caOf(n);
                    return callerCa !== undefined && !sharesRoot(this.caTopology, callerCa, ca);
                });
                if (foreign.length > 0) {
                    refusedAtHandshake = SourceSet.of(foreign, `their sidecars' certificates chain to another root (${this.caTopology} CA) and ${describeWorkload(w)} is ${mtls.reason}`);
                    meshSources = meshSources.minus(refusedAtHandshake);
                }
            }
            if (bypass.all || bypass.ports.length > 0) meshSources = meshSources.union(SourceSet.any(`${describeWorkload(w)} sends inbound ${bypass.all ? "traffic" : `ports ${bypass.ports.join(", ")}`} around its sidecar${bypass.why !== undefined ? ` (${bypass.why})` : ""}`));
            admitted = meshSources.intersect(l3.sources);
        } else {
            admitted = l3.sources.because(`${describeWorkload(w)} has no sidecar (${injection.reason})`);
        }
        v = { workload: w, injection, revision, imports, mesh, mtls, l3, admitted, refusedAtHandshake };
        this.views.set(w, v);
        return v;
    }

    /** The namespace's workloads, or its stand-in pod when it has none. */
    workloadsOf(namespace: string): Workload[] {
        const real = this.inventory.workloadsIn(namespace);
        if (real.length > 0) return [...real];
        let w = this.stand.get(namespace);
        if (w === undefined) {
            const subject = this.inventory.namespaces.get(namespace)?.subject;
            if (subject === undefined) return [];
            this.stand.set(namespace, (w = hypotheticalWorkload(namespace, subject)));
        }
        return [w];
    }

    /** The namespace's default proxy: its stand-in pod, whatever workloads it has. */
    defaultView(namespace: string): WorkloadView | undefined {
        const subject = this.inventory.namespaces.get(namespace)?.subject;
        if (subject === undefined) return undefined;
        let w = this.stand.get(`default:${namespace}`);
        if (w === undefined) this.stand.set(`default:${namespace}`, (w = hypotheticalWorkload(namespace, subject)));
        return this.view(w);
    }

    /**
     * The proxies a namespace can run: its default (a pod no workload Sidecar selects), its workloads, and for each
     * workload Sidecar a pod it selects, deployed or not.
     */
    callers(namespace: string): WorkloadView[] {
        const standIn = this.defaultView(namespace);
        if (standIn?.revision === undefined || standIn.imports === undefined) return [];
        const out = [standIn, ...this.inventory.workloadsIn(namespace).map((w) => this.view(w))];
        for (const sc of configIn(this.inventory, standIn.revision, namespace, "Sidecar")) {
            const selector = workloadSelectorOf(sc);
            if (selector === undefined) continue;
            const key = `selected:${namespace}/${sc.object.metadata.name}`;
            let w = this.stand.get(key);
            if (w === undefined) this.stand.set(key, (w = { ...hypotheticalWorkload(namespace, sc), labels: { ...selector }, name: `(pods of Sidecar ${sc.object.metadata.name})` }));
            out.push(this.view(w));
        }
        return out.filter((v) => v.imports !== undefined);
    }

    /** Whether a proxy can resolve something in `destination`: it imports it, and a service there is exported to it. */
    canResolve(caller: WorkloadView, destination: string): boolean {
        if (caller.imports === undefined || !caller.imports.namespaces.has(destination)) return false;
        const source = caller.workload.namespace;
        const services = [...this.inventory.inNamespace(destination, "Service"), ...this.inventory.inNamespace(destination, "ServiceEntry")];
        if (services.length === 0) return true;
        return services.some((s: Subject) => exportedTo(effectiveExportTo(s, caller.revision), destination, source));
    }

    /**
     * Who can call whom: `source` calls `destination` when one of the source's proxies imports a service of the
     * destination exported to it, and some workload there admits the source through its sidecar and its NetworkPolicies.
     */
    calls(): Call[] {
        const out: Call[] = [];
        for (const source of this.inventory.namespaces.keys()) {
            const destinations = new Map<string, string>();
            for (const caller of this.callers(source)) {
                for (const d of caller.imports!.namespaces) if (!destinations.has(d) && this.canResolve(caller, d)) destinations.set(d, describeWorkload(caller.workload));
            }
            for (const [destination, via] of destinations) {
                const reasons: string[] = [];
                for (const w of this.workloadsOf(destination)) {
                    const v = this.view(w);
                    if (v.admitted.has(source)) reasons.push(`${via} resolves it; ${describeWorkload(w)} admits ${source}: ${v.admitted.why(source).join("; ") || "no policy narrows it"}`);
                }
                if (reasons.length > 0) out.push({ source, destination, reasons });
            }
        }
        return out;
    }
}
