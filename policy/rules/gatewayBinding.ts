import { isGatewayApiGateway, isIstioGateway } from "../semantics/gateways";
import type { Inventory } from "../semantics/inventory";
import { describeObject } from "../semantics/objects";
import { attachedRoutes, boundVirtualServices, gatewayRouteNamespaces, grantedNamespaces, listenerRouteNamespaces, mayCall } from "../semantics/routing";
import type { Finding, Rule } from "../lib/rule";
import { inTenancy } from "./support";

export const gatewayBinding: Rule = {
    id: "MT025",
    name: "gateway-routes-from-own-tenant",
    description: "Only a tenant's own namespace, and namespaces the tenant may call, can bind routes to its gateway: Istio Gateway server hosts name them (never `*/` or a host without namespace), Gateway API listeners of a tenant admit no other namespace of its usergroup it may not call, and a tenant's ReferenceGrants admit only namespaces that may call it.",
    why: "A route bound to a gateway decides where the gateway's traffic goes and which hosts it answers for: a VirtualService of another namespace bound through a `*/host` server, or an HTTPRoute attached through a listener that selects other namespaces, takes over the tenant's ingress. A ReferenceGrant lets another namespace's routes send their gateway's traffic to the tenant's Services, around the tenant's own choice of who calls it.",
    defaultEnforcement: "mandatory",
    fix: "Write server hosts as `./host` (what the program writes); give Gateway API listeners `from: Same`, or a selector that matches only namespaces the tenant calls; grant references only to namespaces that may call the tenant.",
    judges: "Gateways in tenant namespaces. Istio Gateway server hosts are `namespace/host`: `*` or no namespace admits every namespace's VirtualServices, `.` the Gateway's own (`gatewayRouteNamespaces`); the bound VirtualServices are those naming the Gateway, in a namespace a server admits, with a host a server's host covers, exported to the gateway pods' namespace. Gateway API listeners admit `Same` (default), `All` or a `Selector`'s namespaces; listeners accepting routes from every namespace or from other usergroups are MT1004's. A route attaches through a `parentRef` (namespace defaulting to the route's, `sectionName`, `port`) to a listener that admits its namespace and kind.",
    atAdmission: "yes, stricter: a Gateway API listener must leave `allowedRoutes.namespaces.from` at `Same` (a Selector's labels can change later); an Istio Gateway's server hosts must name `.`, the namespace itself or a namespace the plan lets it import; a ReferenceGrant's `from` may name only namespaces that may call it",
    previewOnly: "which routes attach to a Gateway, and which VirtualServices its pods apply (needs the routes)",
    codes: {
        MT2501: "a tenant's Istio Gateway lets VirtualServices of namespaces the tenant may not call bind to it",
        MT2502: "a VirtualService of a namespace the tenant may not call is bound to the tenant's Istio Gateway",
        MT2503: "a tenant's Gateway API listeners accept routes from namespaces of its usergroup that the tenant may not call",
        MT2504: "a route of a namespace the tenant may not call is attached to the tenant's Gateway API Gateway",
        MT2505: "a tenant's ReferenceGrant lets routes of namespaces that may not call it reference its objects",
    },
    check(inventory: Inventory): Finding[] {
        const tenant = (ns: string | undefined): ns is string => inTenancy(inventory, ns);
        const gateways = inventory.ofKind("Gateway").filter((g) => tenant(g.object.metadata.namespace));
        const grants = inventory.ofKind("ReferenceGrant").filter((g) => tenant(g.object.metadata.namespace));
        if (gateways.length === 0 && grants.length === 0) return [];
        const findings: Finding[] = [];
        for (const gw of gateways) {
            const ns = gw.object.metadata.namespace!;
            const what = `Gateway ${describeObject(gw.object)}`;
            if (isIstioGateway(gw)) {
                const accepted = gatewayRouteNamespaces(gw);
                if (accepted.cofinite) {
                    findings.push({ code: "MT2501", subject: gw, message: `${what} takes VirtualServices of ${accepted.describe()}: ${accepted.whyOthers().join("; ")}` });
                } else {
                    const extra = [...accepted.names].filter((n) => !mayCall(inventory, ns, n)).sort();
                    if (extra.length > 0) findings.push({ code: "MT2501", subject: gw, message: `${what} takes VirtualServices of ${extra.join(", ")}, which ${ns} may not call: ${[...new Set(extra.flatMap((n) => accepted.why(n)))].join("; ")}` });
                }
                for (const vs of boundVirtualServices(inventory, gw)) {
                    const owner = vs.object.metadata.namespace ?? "default";
                    if (mayCall(inventory, ns, owner)) continue;
                    findings.push({ code: "MT2502", subject: vs, message: `VirtualService ${describeObject(vs.object)} is bound to ${what} of tenant ${ns}, which may not call ${owner}: its routes steer ${ns}'s ingress` });
                }
            } else if (isGatewayApiGateway(gw)) {
                const usergroup = inventory.usergroupOf(ns);
                const accepted = listenerRouteNamespaces(inventory, gw);
                // Every namespace, or namespaces of other usergroups: MT1004 reports those.
                if (!accepted.cofinite) {
                    const extra = [...accepted.names].filter((n) => inventory.usergroupOf(n) === usergroup && !mayCall(inventory, ns, n)).sort();
                    if (extra.length > 0) findings.push({ code: "MT2503", subject: gw, message: `${what} accepts routes from ${extra.join(", ")}, which ${ns} may not call: ${[...new Set(extra.flatMap((n) => accepted.why(n)))].join("; ")}` });
                }
                for (const route of attachedRoutes(inventory, gw)) {
                    const owner = route.object.metadata.namespace ?? "default";
                    if (mayCall(inventory, ns, owner)) continue;
                    findings.push({ code: "MT2504", subject: route, message: `${route.object.kind} ${describeObject(route.object)} is attached to ${what} of tenant ${ns}, which may not call ${owner}: its rules steer ${ns}'s ingress` });
                }
            }
        }
        for (const grant of grants) {
            const ns = grant.object.metadata.namespace!;
            const extra = grantedNamespaces(grant).filter((n) => !mayCall(inventory, n, ns)).sort();
            if (extra.length > 0) findings.push({ code: "MT2505", subject: grant, message: `ReferenceGrant ${describeObject(grant.object)} lets routes of ${extra.join(", ")} send their gateways' traffic to ${ns}, which ${extra.length > 1 ? "they" : "it"} may not call` });
        }
        return findings;
    },
};
