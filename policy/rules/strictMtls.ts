import type { Inventory, RevisionInfo } from "../semantics/inventory";
import type { Subject } from "../semantics/objects";
import { acceptsPlaintext, clientTlsModes, isWorkloadLevel, peerAuthenticationOf } from "../semantics/mtls";
import { meshView } from "../semantics/reachability";
import { configIn, readBy } from "../semantics/revisions";
import { describeWorkload } from "../semantics/workloads";
import type { Finding, Rule } from "../lib/rule";

const WEAK = new Set(["PERMISSIVE", "DISABLE"]);

/** The weak modes a PeerAuthentication writes where istiod honours them (port-level only with a selector). */
function weakSettings(pa: Subject): string[] {
    const spec = (pa.object.spec ?? {}) as any;
    const out: string[] = [];
    if (WEAK.has(spec.mtls?.mode)) out.push(`mtls mode ${spec.mtls.mode}`);
    if (isWorkloadLevel(pa)) {
        for (const [port, setting] of Object.entries<any>(spec.portLevelMtls ?? {})) if (WEAK.has(setting?.mode)) out.push(`port ${port} mtls mode ${setting.mode}`);
    }
    return out;
}

function hasStrictMeshPolicy(inventory: Inventory, rev: RevisionInfo): boolean {
    return configIn(inventory, rev, rev.rootNamespace, "PeerAuthentication").some((pa) => !isWorkloadLevel(pa) && (pa.object.spec as any)?.mtls?.mode === "STRICT");
}

export const strictMtls: Rule = {
    id: "MT009",
    name: "strict-mtls",
    description: "Each revision's root namespace has a STRICT PeerAuthentication without selector that the revision reads; no PeerAuthentication a revision reads lets a meshed workload accept plaintext; no DestinationRule disables TLS.",
    why: "Identity-based AuthorizationPolicies only hold when every connection is mutual TLS; PERMISSIVE or DISABLE accepts plaintext from anything that can reach the pod, including other tenants.",
    defaultEnforcement: "mandatory",
    fix: "Keep the program's `default` STRICT PeerAuthentication in each system namespace; delete PERMISSIVE/DISABLE overrides; use `ISTIO_MUTUAL` (or nothing) in DestinationRules.",
    judges: "Judged by effect (`semantics/mtls.ts`): the workload-level policy over the namespace's over the root namespace's, `UNSET` inheriting, port-level modes only on policies with a selector, and only policies the revision reads (discovery and `istio.io/rev`).",
    atAdmission: "yes for objects in tenant and shared namespaces: PeerAuthentication PERMISSIVE/DISABLE, DestinationRule TLS DISABLE",
    previewOnly: "that the root STRICT policy exists (MT-A1 and MT-A4 keep anyone else from removing it)",
    codes: {
        MT0901: "a revision reads no STRICT PeerAuthentication without selector in its root namespace (none there, one labelled for another revision, or a root namespace the revision does not discover)",
        MT0902: "a PeerAuthentication a revision reads makes meshed workloads (or the pods it selects) accept plaintext; the message names the workloads and the policies that decide their mode",
        MT0903: "a DestinationRule makes callers send plaintext (TLS mode DISABLE at the top level, on a port or in a subset)",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const rev of inventory.revisions.values()) {
            if (!hasStrictMeshPolicy(inventory, rev)) {
                findings.push({ code: "MT0901", subject: rev.subjects[0], message: `revision ${rev.name} reads no STRICT PeerAuthentication without selector in its root namespace ${rev.rootNamespace}` });
            }
        }
        // Which workloads each weak policy decides, judged per workload as its sidecar would.
        const view = meshView(inventory);
        const opened = new Map<Subject, string[]>();
        const judged = new Set([...inventory.meshedNamespaces().map((n) => n.name), ...[...inventory.revisions.values()].map((r) => r.rootNamespace)]);
        for (const ns of judged) {
            for (const w of view.workloadsOf(ns)) {
                const v = view.view(w);
                if (!v.injection.meshed) continue;
                const pa = peerAuthenticationOf(inventory, w, v.revision);
                if (!acceptsPlaintext(pa)) continue;
                for (const p of pa.deciding) if (weakSettings(p).length > 0) opened.set(p, [...(opened.get(p) ?? []), `${describeWorkload(w)} (${pa.reason})`]);
            }
        }
        // A weak policy read by a revision but deciding no workload of the set still opens the next pod it selects.
        const readers = [...inventory.revisions.values()];
        for (const pa of inventory.ofKind("PeerAuthentication")) {
            const weak = weakSettings(pa);
            if (weak.length === 0) continue;
            const ns = pa.object.metadata.namespace;
            if (ns === undefined || !judged.has(ns)) continue;
            if (readers.length > 0 && !readers.some((rev) => readBy(inventory, pa, rev))) continue;
            const workloads = opened.get(pa);
            const effect = workloads !== undefined ? `accepted by ${workloads.join(", ")}` : "no workload of the set takes it now; the pods it applies to will accept plaintext";
            findings.push({ code: "MT0902", subject: pa, message: `${weak.join(", ")} accepts plaintext: ${effect}; use STRICT or leave it unset` });
        }
        for (const dr of inventory.ofKind("DestinationRule")) {
            const disabled = clientTlsModes(dr).filter((m) => m.mode === "DISABLE");
            if (disabled.length > 0) findings.push({ code: "MT0903", subject: dr, message: `TLS mode DISABLE (${disabled.map((m) => m.where).join(", ")}) sends plaintext; use ISTIO_MUTUAL or leave it unset` });
        }
        return findings;
    },
};
