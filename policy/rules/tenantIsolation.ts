import { contextOf, ruleSources } from "../semantics/authorization";
import type { Inventory } from "../semantics/inventory";
import { arrayOf, isRecord } from "../semantics/objects";
import { meshView, WorkloadView } from "../semantics/reachability";
import { describeWorkload } from "../semantics/workloads";
import { gatewayWorkload } from "./support";
import type { Finding, Rule } from "../lib/rule";

/** Whether a rule is narrowed to named hosts (never `*`), as an ingress gateway's must be. */
function limitedToHosts(rule: any): boolean {
    const ops = arrayOf(rule?.to).map((t) => t?.operation);
    return ops.length > 0 && ops.every((op) => arrayOf(op?.hosts).length > 0 && !arrayOf(op?.hosts).includes("*"));
}

/** For gateway pods: every ALLOW rule that admits any source is narrowed to the gateway's hosts. */
function openOnlyForHosts(inventory: Inventory, v: WorkloadView): boolean {
    const ctx = contextOf(inventory, v.revision);
    return (v.mesh?.policies ?? [])
        .filter((p) => p.enforced && p.action === "ALLOW")
        .every((p) => arrayOf((p.subject.object.spec as any)?.rules).every((rule) => !ruleSources(isRecord(rule) ? rule : {}, ctx, "possible").sources.cofinite || limitedToHosts(rule)));
}

export const tenantIsolation: Rule = {
    id: "MT012",
    name: "tenant-isolation-policies",
    description: "In each tenant and shared namespace, NetworkPolicies isolate every pod for ingress, and no workload admits every source through its sidecar or at L3 (an ingress gateway only for its own hosts).",
    why: "Sidecar scoping only limits what a proxy sees, not who may connect: without an isolating NetworkPolicy anything in the cluster reaches the pods directly, and an ALLOW rule that matches any source (no `from`, an address block, a wildcard principal) lets every mesh workload in.",
    defaultEnforcement: "mandatory",
    fix: "Keep the program's `allow-permitted-namespaces` AuthorizationPolicy and `default-deny-ingress` NetworkPolicy; write ALLOW rules with explicit `principals` or `namespaces`.",
    atAdmission: "partly: an ALLOW rule admitting any source is refused (MT016); the plan's policies cannot be deleted (MT-A1)",
    previewOnly: "that every pod is isolated by NetworkPolicies (needs all of them); NetworkPolicies tenants write themselves are not judged at admission",
    codes: {
        MT1201: "a tenant or shared namespace's pods are not isolated for ingress by any NetworkPolicy",
        MT1202: "a workload admits every source through its sidecar",
        MT1203: "a workload admits every source at L3",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        const view = meshView(inventory);
        for (const ns of inventory.namespaces.values()) {
            // A shared namespace is judged as a tenant: its label says who imports it, not that it may admit everyone.
            const role = inventory.roleOf(ns.name);
            if (role !== "tenant" && role !== "shared") continue;
            const standIn = view.defaultView(ns.name)!;
            if (standIn.l3.policies.length === 0) {
                findings.push({ code: "MT1201", subject: ns.subject, message: "no NetworkPolicy selects the namespace's pods for ingress: anything in the cluster can reach them (add one with podSelector {} and policyTypes [Ingress])" });
            }
            for (const w of view.workloadsOf(ns.name)) {
                const v = view.view(w);
                const gateway = gatewayWorkload(inventory, w);
                if (v.mesh?.sources.cofinite && v.mesh.policies.some((p) => p.enforced && p.action === "ALLOW") && !(gateway && openOnlyForHosts(inventory, v))) {
                    findings.push({ code: "MT1202", subject: w.subject, message: `${describeWorkload(w)} admits ${v.mesh.sources.describe()} through its sidecar: ${v.mesh.sources.whyOthers().join("; ") || v.mesh.summary}` });
                }
                if (v.l3.sources.cofinite && v.l3.policies.length > 0 && !gateway) {
                    findings.push({ code: "MT1203", subject: w.subject, message: `${describeWorkload(w)} admits ${v.l3.sources.describe()} at L3: ${v.l3.sources.whyOthers().join("; ")}` });
                }
            }
        }
        return findings;
    },
};
