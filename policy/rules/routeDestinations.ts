import type { Inventory } from "../semantics/inventory";
import { mayCall, routeTargets, RouteTarget } from "../semantics/routing";
import { managedNamespaces } from "./support";
import type { Finding, Rule } from "../lib/rule";

const CODE: Record<RouteTarget["kind"], "MT2401" | "MT2402"> = { route: "MT2401", mirror: "MT2402" };

export const routeDestinations: Rule = {
    id: "MT024",
    name: "routes-stay-within-callable-namespaces",
    description: "No VirtualService route, mirror or delegate, and no Gateway API route, sends a tenant's traffic (its sidecars' or its gateway's) to a namespace the tenant may not call.",
    why: "A route is applied by the proxy that sends: a VirtualService a tenant's proxies import, or one bound to its gateway, can send or copy that tenant's requests to any Service exported to it, beyond what its Sidecar imports; a delegate hands the choice of destination to the namespace that owns the delegate. The namespaces a tenant may call are those its proxies import and whose workloads admit it (the same answer as the report's who-can-call-whom matrix).",
    defaultEnforcement: "mandatory",
    fix: "Route only to the tenant's own Services or to namespaces it imports and that admit it; keep delegates in the tenant's namespace, or export them only where the owner of the root may call them; do not give ReferenceGrants to routes of namespaces that may not call you.",
    judges: "the semantics model's `routeTargets` (`semantics/routing.ts`): for each VirtualService with hosts, the namespaces whose proxies apply it (`mesh`: sidecars of namespaces it is exported to and whose Sidecar imports its namespace, read by their revision; a Gateway: the pods of a Gateway whose server hosts let its namespace in, when it is exported to the pods' namespace), and the namespaces of its `route`, `mirror` and `mirrors` destinations (short names read in the VirtualService's namespace, a delegate's in the delegate's; a Kubernetes Service name gives its namespace unless the set holds that Service unexported to the sender; other hosts, the namespaces of ServiceEntries declaring them). Delegates are followed one level, when they have no hosts and are exported to the root's namespace. Gateway API routes count when attached to a listener that admits them, from the Gateway's namespace to their `backendRefs` and `RequestMirror` backends, across namespaces only with a ReferenceGrant. \"May call\" is the report's who-can-call-whom answer (`MeshView.calls`: the source imports a Service of the destination exported to it and the destination's workloads admit it), plus the tenant's own namespace.",
    atAdmission: "no",
    previewOnly: "where a route sends or mirrors traffic (needs the Services and their `exportTo`)",
    codes: {
        MT2401: "a route sends a tenant's traffic to a namespace it may not call",
        MT2402: "a mirror copies a tenant's traffic to a namespace it may not call",
        MT2403: "a route hands a tenant's traffic to a delegate VirtualService of a namespace the tenant may not call",
    },
    check(inventory: Inventory): Finding[] {
        const targets = routeTargets(inventory).filter((t) => t.source !== t.destination);
        if (targets.length === 0) return [];
        const tenants = new Map(managedNamespaces(inventory).map((n) => [n.name, n]));
        const findings: Finding[] = [];
        const seen = new Set<string>();
        for (const t of targets) {
            if (!tenants.has(t.source) || mayCall(inventory, t.source, t.destination)) continue;
            // A destination chosen by a delegate the tenant may not call is that delegate's doing.
            const owner = t.delegate?.object.metadata.namespace;
            const code = owner !== undefined && !mayCall(inventory, t.source, owner) ? "MT2403" : CODE[t.kind];
            const key = `${code}\u0000${t.source}\u0000${t.destination}\u0000${t.host}\u0000${t.path.join("|")}`;
            if (seen.has(key)) continue;
            seen.add(key);
            const verb = t.kind === "mirror" ? "copies" : "sends";
            findings.push({ code, subject: t.subject, message: `${verb} traffic of ${t.source} to ${t.host} in ${t.destination}, which ${t.source} may not call: ${t.path.join("; ")}` });
        }
        return findings;
    },
};
