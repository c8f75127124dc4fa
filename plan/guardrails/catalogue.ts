import type { GuardrailMode } from "../../model/config";
import type { GuardrailsPlan } from "./plan";

/** Whether a guardrail mirrors a policy-pack rule (same id) or exists only at admission. */
export interface GuardrailInfo {
    /** `MT0NN`: the pack rule it mirrors; `MT-AN`: admission only (who makes a change, which a preview cannot see), in a form no rule id or finding code (`MT0NN`, `MT0NNN`) can take. */
    id: string;
    name: string;
    /** What it refuses, in one line. */
    refuses: string;
    /** Namespaces it applies to. */
    scope: GuardrailScope;
}

/** A guardrail id: a pack rule's (`MT001`) or an admission-only one (`MT-A1`). */
export const GUARDRAIL_ID = /^(MT\d{3}|MT-A\d)$/;

/** The id a guardrail's refusal message starts with, `[MT007] …` or `[MT-A1] …`. */
export function guardrailIdOf(message: string): string | undefined {
    return /^'?\[(MT\d{3}|MT-A\d)\] /.exec(message)?.[1];
}

/** `tenant`: tenant and shared namespaces (with parameters); `system`: system namespaces; `managed`: all three; `cluster`: Namespace objects. */
export type GuardrailScope = "tenant" | "system" | "managed" | "cluster";

/**
 * Every guardrail, in id order. The `MT0NN` ids are the pack's; the `MT-AN` ones have no preview rule because what they guard
 * is who makes a change (a stack only holds the platform's own changes).
 */
export const GUARDRAILS: ReadonlyArray<GuardrailInfo> = [
    { id: "MT001", name: "revision-label-without-injection-label", scope: "tenant", refuses: "a pod, pod template or Istio config object labelled istio.io/rev with another revision than its namespace's" },
    { id: "MT005", name: "one-default-sidecar-per-namespace", scope: "tenant", refuses: "a Sidecar without workloadSelector other than the namespace's `default` one" },
    { id: "MT007", name: "sidecar-hosts-within-usergroup", scope: "tenant", refuses: "Sidecar egress hosts outside the namespace's allowed imports, and Sidecars without egress (they import everything)" },
    { id: "MT008", name: "export-within-usergroup", scope: "tenant", refuses: "exportTo (VirtualService, DestinationRule, ServiceEntry, Service annotation) naming `*` or a namespace that is not a peer" },
    { id: "MT009", name: "strict-mtls", scope: "tenant", refuses: "PeerAuthentication PERMISSIVE or DISABLE, DestinationRule TLS mode DISABLE" },
    { id: "MT016", name: "admission-follows-imports", scope: "tenant", refuses: "an ALLOW AuthorizationPolicy whose rules admit sources outside the namespace's admitted namespaces (itself, its importers, its system namespace)" },
    { id: "MT017", name: "workloads-meshed-and-authorized", scope: "tenant", refuses: "pods and pod templates with sidecar.istio.io/inject \"false\" or traffic.sidecar.istio.io/* capture settings" },
    { id: "MT025", name: "gateway-routes-from-own-tenant", scope: "tenant", refuses: "Gateway API listeners admitting routes of other namespaces, Istio Gateway server hosts of namespaces the tenant may not call, and ReferenceGrants from namespaces that may not call it" },
    { id: "MT-A1", name: "managed-objects-platform-only", scope: "managed", refuses: "creating, changing or deleting objects labelled `app.kubernetes.io/managed-by: mesh-tenancy` (the plan's Sidecars, AuthorizationPolicies, NetworkPolicies, RoleBindings, quotas); deletes while the namespace itself is being deleted go through" },
    { id: "MT-A2", name: "tenancy-labels-platform-only", scope: "cluster", refuses: "setting or changing `usergroup`, `istio.io/rev`, `istio-injection` or `mesh-tenancy.io/role` on any namespace, including creating a namespace that joins a usergroup, and setting, changing or removing its `guardrails.mesh-tenancy.io/*` annotations (the guardrails' parameters)" },
    { id: "MT-A3", name: "no-proxy-patches-from-tenants", scope: "tenant", refuses: "EnvoyFilter and WasmPlugin in tenant and shared namespaces" },
    { id: "MT-A4", name: "system-namespaces-platform-only", scope: "system", refuses: "any Istio config created, changed or deleted in a system namespace (config there reaches every namespace of the usergroup, see MT019)" },
    { id: "MT-A5", name: "parameters-present", scope: "tenant", refuses: "every guarded change in a tenant or shared namespace that lacks its `guardrails.mesh-tenancy.io/*` annotations (fail closed: the other guardrails would have nothing to compare against)" },
];

/** The guardrail ids that hold in a namespace of the given role; none when the guardrails are off. */
export function guardrailsFor(mode: GuardrailMode, role: "tenant" | "shared" | "system"): GuardrailInfo[] {
    if (mode === "off") return [];
    return GUARDRAILS.filter((g) => g.scope === "cluster" || g.scope === "managed" || (g.scope === "system" ? role === "system" : role !== "system"));
}

/** Per managed namespace (tenant, shared, system), the ids of the guardrails that hold in it. */
export function guardrailsByNamespace(plan: { guardrails: GuardrailsPlan; namespaces: { name: string; role: "tenant" | "shared" }[]; controlPlanes: { systemNamespace: string }[] }): Map<string, string[]> {
    const ids = (role: "tenant" | "shared" | "system") => guardrailsFor(plan.guardrails.mode, role).map((g) => g.id);
    return new Map([
        ...plan.controlPlanes.map((cp) => [cp.systemNamespace, ids("system")] as const),
        ...plan.namespaces.map((ns) => [ns.name, ids(ns.role)] as const),
    ]);
}
