import { isGatewayApiGateway, isIstioGateway, podsOfGateway, shareGatewayPods } from "../semantics/gateways";
import { listenerRouteNamespaces } from "../semantics/routing";
import type { Inventory } from "../semantics/inventory";
import { HostClaims } from "../semantics/hosts";
import { arrayOf, describeObject, stringRecord, Subject } from "../semantics/objects";
import type { Finding, Rule } from "../lib/rule";

/** Gateway server host without its `namespace/` prefix. */
function bareHost(host: string): string {
    const slash = host.indexOf("/");
    return slash < 0 ? host : host.slice(slash + 1);
}

/** A shared namespace's Gateway is judged as a tenant's: its role label says who imports it, not that it may bind others' pods. */
const tenantOrShared = (role: string | undefined) => role === "tenant" || role === "shared";

interface Claim {
    namespace: string;
    subject: Subject;
}

export const gatewaySelection: Rule = {
    id: "MT010",
    name: "gateway-selects-own-workload",
    description: "A Gateway in a tenant or shared namespace selects the pods of a gateway deployment in that namespace (and no other tenant's, unless gateways are scoped to their namespace), and no two tenants' Gateways bind the same host on the same port.",
    why: "Gateway selectors match gateway pods in every namespace: a tenant could bind another tenant's ingress pods by copying their labels, or claim another tenant's host on a shared port.",
    defaultEnforcement: "mandatory",
    fix: "Select the tenant's own gateway pods (`mesh-tenancy.io/gateway: <tenant>`); give each host to one tenant only.",
    atAdmission: "no (tenants get no Gateway rights)",
    previewOnly: "which pods a Gateway selects, hosts claimed twice",
    codes: {
        MT1001: "a tenant's Istio Gateway configures none of its own gateway pods",
        MT1002: "a tenant's Istio Gateway configures gateway pods of other namespaces",
        MT1003: "two Gateways bind the same host on the same port (of two namespaces, or of one on common gateway pods)",
        MT1004: "a tenant's Gateway API Gateway accepts routes from outside its usergroup",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        const claims = new Map<number, HostClaims<Claim>>();
        const toldFirst = new Set<string>();
        for (const gw of inventory.ofKind("Gateway").filter(isGatewayApiGateway)) {
            const ns = gw.object.metadata.namespace;
            if (ns === undefined || !tenantOrShared(inventory.roleOf(ns))) continue;
            const usergroup = inventory.usergroupOf(ns);
            const routes = listenerRouteNamespaces(inventory, gw);
            const foreign = routes.cofinite ? [] : [...routes.names].filter((n) => inventory.usergroupOf(n) !== usergroup);
            if (routes.cofinite || foreign.length > 0) {
                findings.push({ code: "MT1004", subject: gw, message: `Gateway API listeners accept routes from ${routes.cofinite ? "every namespace (allowedRoutes from: All)" : foreign.join(", ")}, outside usergroup ${usergroup}` });
            }
        }
        for (const gw of inventory.ofKind("Gateway").filter(isIstioGateway)) {
            const ns = gw.object.metadata.namespace;
            if (ns === undefined) continue;
            const spec = (gw.object.spec ?? {}) as any;
            if (tenantOrShared(inventory.roleOf(ns))) {
                const selector = stringRecord(spec.selector);
                const bound = podsOfGateway(inventory, gw).filter((b) => b.effective);
                if (!bound.some((b) => b.namespace === ns)) {
                    findings.push({ code: "MT1001", subject: gw, message: `selector ${JSON.stringify(selector)} matches no gateway pods in ${ns}; select this tenant's own gateway pods` });
                }
                const foreign = [...new Set(bound.filter((b) => b.namespace !== ns).map((b) => b.namespace))];
                if (foreign.length > 0) {
                    findings.push({ code: "MT1002", subject: gw, message: `selector ${JSON.stringify(selector)} also configures gateway pods in ${foreign.join(", ")}, whose revision does not set PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true` });
                }
            }
            for (const server of arrayOf(spec.servers)) {
                const port = Number(server?.port?.number);
                if (!Number.isFinite(port)) continue;
                let onPort = claims.get(port);
                if (onPort === undefined) claims.set(port, (onPort = new HostClaims<Claim>()));
                for (const raw of arrayOf(server?.hosts)) {
                    if (typeof raw !== "string") continue;
                    const host = bareHost(raw);
                    // Across namespaces any clash counts; within one, only Gateways that configure the same pods.
                    const clash = onPort.find(host, (c) => c.subject !== gw && (c.namespace !== ns || shareGatewayPods(inventory, c.subject, gw)))?.claim;
                    if (clash !== undefined) {
                        // Both Gateways are told: istiod keeps one of the two servers, and which one is not theirs to choose.
                        findings.push({ code: "MT1003", subject: gw, message: `host ${host} on port ${port} is already bound by Gateway ${clash.namespace}/${clash.subject.object.metadata.name}` });
                        const key = `${port} ${host} ${describeObject(clash.subject.object)}`;
                        if (!toldFirst.has(key)) {
                            toldFirst.add(key);
                            findings.push({ code: "MT1003", subject: clash.subject, message: `host ${host} on port ${port} is also bound by Gateway ${ns}/${gw.object.metadata.name}` });
                        }
                    }
                    onPort.add(host, { namespace: ns, subject: gw });
                }
            }
        }
        return findings;
    },
};
