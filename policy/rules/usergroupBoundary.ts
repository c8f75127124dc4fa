import type { Inventory } from "../semantics/inventory";
import { CA_TOPOLOGIES, CaTopology } from "../semantics/mtls";
import { meshView } from "../semantics/reachability";
import { describeWorkload } from "../semantics/workloads";
import { gatewayWorkload, managedNamespaces } from "./support";
import type { Finding, Rule, RuleConfig } from "../lib/rule";

/** The CA topology a config gives (validated by the engine against the schema's `enum`). */
export function caTopologyOf(config: RuleConfig | undefined): CaTopology {
    const value = (config as unknown as Record<string, unknown> | undefined)?.caTopology;
    return typeof value === "string" && (CA_TOPOLOGIES as ReadonlyArray<string>).includes(value) ? (value as CaTopology) : "shared-root";
}

export const usergroupBoundary: Rule = {
    id: "MT015",
    name: "nothing-crosses-usergroups",
    description: "No workload of a usergroup's tenant or shared namespaces admits a source from outside the usergroup (through its sidecar and its NetworkPolicies together), and no proxy of it imports a namespace outside it.",
    why: "A usergroup is a tenancy boundary: its own control plane, its own namespaces. One AuthorizationPolicy rule with an address block, one NetworkPolicy rule without `from`, one Sidecar host in a foreign namespace, and the boundary is gone whatever the other objects say.",
    defaultEnforcement: "mandatory",
    fix: "Name sources by principal (`<trust domain>/ns/<namespace>/sa/<account>`) or namespace of the same usergroup, give every NetworkPolicy rule a `from` that names namespaces of the usergroup, and keep Sidecar hosts inside the usergroup.",
    atAdmission: "partly: Sidecar hosts (MT007), exportTo (MT008) and ALLOW sources (MT016) stay inside the namespace's own sets, which lie inside the usergroup",
    previewOnly: "NetworkPolicy rules, and the union of sidecar and L3 admission per workload",
    codes: {
        MT1501: "a workload admits sources outside its usergroup, through its sidecar and at L3",
        MT1502: "a proxy imports a namespace outside its usergroup",
        MT1503: "a workload's AuthorizationPolicies admit sources outside its usergroup that only separate CA roots refuse, at the TLS handshake (reported instead of `MT1501` when the config says `caTopology: per-usergroup` and the workload accepts no plaintext)",
    },
    configSchema: {
        caTopology: {
            type: "string",
            enum: [...CA_TOPOLOGIES],
            description: "Whose certificates sidecars trust: shared-root (one root for every istiod, the default: assumed when not told, since it never hides an opening) or per-usergroup (each usergroup's istiod namespace has its own root, Istio's default for separate istiods). With per-usergroup roots a sidecar that accepts no plaintext refuses other usergroups' sidecars at the TLS handshake: what its policies admit of them is reported as MT1503 instead of MT1501.",
        },
    },
    check(inventory: Inventory, config?: RuleConfig): Finding[] {
        const findings: Finding[] = [];
        const view = meshView(inventory, caTopologyOf(config));
        for (const { name: ns, usergroup } of managedNamespaces(inventory)) {
            const outside = (n: string) => inventory.usergroupOf(n) !== usergroup;
            for (const w of view.workloadsOf(ns)) {
                if (gatewayWorkload(inventory, w)) continue;
                const v = view.view(w);
                const foreign = v.admitted.cofinite ? [] : [...v.admitted.names].filter(outside);
                if (v.admitted.cofinite) {
                    findings.push({ code: "MT1501", subject: w.subject, message: `${describeWorkload(w)} admits ${v.admitted.describe()}: ${v.admitted.whyOthers().join("; ")}` });
                } else if (foreign.length > 0) {
                    const paths = foreign.sort().map((n) => `${n} (usergroup ${inventory.usergroupOf(n) ?? "none"}: ${v.admitted.why(n).join("; ")})`);
                    findings.push({ code: "MT1501", subject: w.subject, message: `${describeWorkload(w)} admits namespaces outside usergroup ${usergroup}: ${paths.join(", ")}` });
                }
                const latent = v.refusedAtHandshake.cofinite ? [] : [...v.refusedAtHandshake.names].filter(outside);
                if (latent.length > 0) {
                    const paths = latent.sort().map((n) => `${n} (usergroup ${inventory.usergroupOf(n) ?? "none"}: ${(v.mesh?.sources.why(n) ?? []).join("; ")})`);
                    findings.push({ code: "MT1503", subject: w.subject, message: `${describeWorkload(w)} has AuthorizationPolicies admitting namespaces outside usergroup ${usergroup}, refused today only because their CA roots differ (${v.refusedAtHandshake.why(latent[0]).join("; ")}): ${paths.join(", ")}` });
                }
                const imported = v.imports === undefined ? [] : [...v.imports.namespaces].filter(outside);
                if (imported.length > 0) {
                    findings.push({ code: "MT1502", subject: v.imports!.choice.sidecar ?? w.subject, message: `proxies of ${describeWorkload(w)} import ${imported.sort().join(", ")}, outside usergroup ${usergroup}: ${v.imports!.reason}` });
                }
            }
        }
        return findings;
    },
};
