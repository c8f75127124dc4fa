import type { Inventory } from "../semantics/inventory";
import { arrayOf, isRecord, Subject } from "../semantics/objects";
import type { Finding, Rule } from "../lib/rule";

const WEAK = new Set(["PERMISSIVE", "DISABLE"]);

function hasSelector(pa: Subject): boolean {
    const labels = (pa.object.spec as any)?.selector?.matchLabels;
    return isRecord(labels) && Object.keys(labels).length > 0;
}

/** Every TLS mode a DestinationRule sets: traffic policy, its port-level settings, and each subset's. */
function tlsModes(dr: Subject): string[] {
    const spec = (dr.object.spec ?? {}) as any;
    const policies = [spec.trafficPolicy, ...arrayOf(spec.subsets).map((s) => s?.trafficPolicy)].filter(isRecord);
    const modes: string[] = [];
    for (const p of policies) {
        modes.push(p.tls?.mode);
        for (const port of arrayOf(p.portLevelSettings)) modes.push(port?.tls?.mode);
    }
    return modes.filter((m): m is string => typeof m === "string");
}

export const strictMtls: Rule = {
    id: "MT009",
    name: "strict-mtls",
    description: "Each revision's root namespace has a STRICT PeerAuthentication without selector; no PeerAuthentication in a meshed namespace weakens it; no DestinationRule disables TLS.",
    why: "Identity-based AuthorizationPolicies only hold when every connection is mutual TLS; PERMISSIVE or DISABLE accepts plaintext from anything that can reach the pod, including other tenants.",
    defaultEnforcement: "mandatory",
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const rev of inventory.revisions.values()) {
            const strict = inventory.inNamespace(rev.rootNamespace, "PeerAuthentication").some((pa) => !hasSelector(pa) && (pa.object.spec as any)?.mtls?.mode === "STRICT");
            if (!strict) {
                findings.push({ subject: rev.subjects[0], message: `revision ${rev.name} has no STRICT PeerAuthentication without selector in its root namespace ${rev.rootNamespace}` });
            }
        }
        const meshed = new Set(inventory.meshedNamespaces().map((n) => n.name));
        for (const pa of inventory.ofKind("PeerAuthentication")) {
            const ns = pa.object.metadata.namespace;
            if (ns === undefined || !(meshed.has(ns) || inventory.revisionRootedIn(ns) !== undefined)) continue;
            const spec = (pa.object.spec ?? {}) as any;
            if (WEAK.has(spec.mtls?.mode)) findings.push({ subject: pa, message: `mtls mode ${spec.mtls.mode} accepts plaintext; use STRICT or leave it unset` });
            for (const [port, setting] of Object.entries<any>(isRecord(spec.portLevelMtls) ? spec.portLevelMtls : {})) {
                if (WEAK.has(setting?.mode)) findings.push({ subject: pa, message: `port ${port} mtls mode ${setting.mode} accepts plaintext` });
            }
        }
        for (const dr of inventory.ofKind("DestinationRule")) {
            if (tlsModes(dr).includes("DISABLE")) findings.push({ subject: dr, message: `TLS mode DISABLE sends plaintext; use ISTIO_MUTUAL or leave it unset` });
        }
        return findings;
    },
};
