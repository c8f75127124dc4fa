import { describePatch, envoyFilterReach, patchEffects, patchNamespaces, Touch } from "../semantics/envoyFilters";
import type { Inventory } from "../semantics/inventory";
import { managedNamespaces } from "./support";
import type { Finding, Rule } from "../lib/rule";

const CODE: Record<Touch, "MT2601" | "MT2602" | "MT2603"> = { authorization: "MT2601", mtls: "MT2602", routing: "MT2603" };
const WHAT: Record<Touch, string> = {
    authorization: "can switch off the authorization (Envoy RBAC, ext_authz) that AuthorizationPolicies compile to",
    mtls: "changes the mutual TLS that identities rest on",
    routing: "rewrites where their traffic goes, to destinations the patch alone does not show (the rendered Envoy config would settle it)",
};

export const envoyFilterEffects: Rule = {
    id: "MT026",
    name: "envoy-filters-keep-isolation",
    description: "No EnvoyFilter that reaches the proxies of tenant or shared namespaces removes, replaces or bypasses their authorization filters, changes their mTLS, or (from outside the tenant's own namespace) rewrites their routes and clusters.",
    why: "An EnvoyFilter patches the Envoy config istiod generates, after AuthorizationPolicies, PeerAuthentications and routes have been compiled into it: one patch can drop the RBAC filter, replace a filter chain with one that has no TLS, or point a cluster elsewhere, and no other object shows it. A filter in a revision's root namespace does this to every matching proxy of every namespace the revision serves.",
    defaultEnforcement: "mandatory",
    fix: "Keep EnvoyFilters out of tenant namespaces (the program's admission guardrail MT-A3 refuses them) and give root-namespace ones patches that leave RBAC, ext_authz and transport sockets alone.",
    judges: "`semantics/envoyFilters.ts`. Reach: proxies (workloads with a sidecar, gateway pods, a namespace's stand-in for new pods) of the filter's namespace, or of every namespace when it is in a revision's root namespace (then only that revision's proxies), that its revision reads (`istio.io/rev`, discoverySelectors), matched by `workloadSelector` labels or named by `targetRefs` (Gateway API Gateways). Effect per `configPatches` entry: authorization when an HTTP or network filter patch REMOVEs, REPLACEs or MERGEs `envoy.filters.http.rbac`, `envoy.filters.network.rbac` or ext_authz, when the connection manager is replaced or its `http_filters` merged on an inbound or gateway listener, or when a listener or filter chain there is added, replaced, removed or merged; mTLS when a value sets a transport socket or TLS context, a filter chain matched by transport protocol is changed, or an inbound listener or filter chain is added or replaced; routing for route configurations, virtual hosts, routes, clusters (not a merge that only sets TLS) and tcp_proxy filters. Where the rerouted destination goes is not read from the patch: the message says the rendered Envoy config would settle it.",
    atAdmission: "by MT-A3 (no EnvoyFilter or WasmPlugin in tenant and shared namespaces) and MT-A4 (no Istio config in system namespaces but the platform's)",
    previewOnly: "what the platform's own filters patch, and which proxies they reach",
    codes: {
        MT2601: "an EnvoyFilter can switch off authorization on a tenant's proxies",
        MT2602: "an EnvoyFilter changes mTLS on a tenant's proxies",
        MT2603: "an EnvoyFilter from outside a tenant's namespace rewrites routes or clusters of its proxies",
    },
    check(inventory: Inventory): Finding[] {
        const filters = inventory.ofKind("EnvoyFilter");
        if (filters.length === 0) return [];
        const managed = new Set(managedNamespaces(inventory).map((n) => n.name));
        const findings: Finding[] = [];
        for (const ef of filters) {
            const effects = patchEffects(ef).filter((e) => e.touches.length > 0);
            if (effects.length === 0) continue;
            const own = ef.object.metadata.namespace ?? "default";
            const reach = envoyFilterReach(inventory, ef);
            if (!reach.namespaces.some((n) => managed.has(n))) continue;
            for (const touch of ["authorization", "mtls", "routing"] as const) {
                const patches = effects.filter((e) => e.touches.includes(touch));
                // Routing of a tenant's own proxies by its own filter is its own traffic; others' is not.
                const reached = [...new Set(patches.flatMap((e) => patchNamespaces(reach, e)))].filter((n) => managed.has(n) && (touch !== "routing" || n !== own)).sort();
                if (reached.length === 0) continue;
                findings.push({ code: CODE[touch], subject: ef, message: `reaches the proxies of ${reached.join(", ")} (${reach.how}) and ${WHAT[touch]}: ${patches.map((e) => describePatch(ef, e)).join("; ")}` });
            }
        }
        return findings;
    },
};
