import type { Inventory } from "../semantics/inventory";
import { meshView } from "../semantics/reachability";
import { arrayOf, Subject } from "../semantics/objects";
import type { Finding, Rule } from "../lib/rule";

const HTTP_PORT_NAME = /^(http|http2|grpc|grpc-web)(-|$)/;

/** Distinct TCP ports that Istio cannot tell apart by HTTP routing (not named or declared http/http2/grpc). */
function tcpPorts(svc: Subject): number[] {
    const ports = arrayOf((svc.object.spec as any)?.ports)
        .filter((p) => (p?.protocol ?? "TCP") === "TCP")
        .filter((p) => !(typeof p?.name === "string" && HTTP_PORT_NAME.test(p.name)) && !(typeof p?.appProtocol === "string" && /^(http|http2|grpc)/.test(p.appProtocol)))
        .map((p) => Number(p?.port))
        .filter(Number.isFinite);
    return [...new Set(ports)];
}

/** Namespaces the default proxies of `ns` import (its own only, when it has no proxy). */
function visibleNamespaces(inventory: Inventory, ns: string): ReadonlySet<string> {
    return meshView(inventory).defaultView(ns)?.imports?.namespaces ?? new Set([ns]);
}

export const headlessPorts: Rule = {
    id: "MT014",
    name: "headless-service-port-clash",
    description: "Advisory: no two headless Services without HTTP-named ports share a port in namespaces one proxy can see.",
    why: "For headless TCP services Envoy builds a listener per port that matches on destination only; two such services on one port in a proxy's view collide, and one of them silently gets the other's traffic policy.",
    defaultEnforcement: "advisory",
    fix: "Name the ports `http-…`/`grpc-…` when they carry HTTP, give the services distinct ports, or keep them out of one proxy's Sidecar imports.",
    atAdmission: "no",
    previewOnly: "needs every Service a proxy sees",
    check(inventory: Inventory): Finding[] {
        const headless = new Map<string, { svc: Subject; ports: number[] }[]>();
        for (const svc of inventory.ofKind("Service")) {
            const ns = svc.object.metadata.namespace;
            if (ns === undefined || (svc.object.spec as any)?.clusterIP !== "None") continue;
            const ports = tcpPorts(svc);
            if (ports.length === 0) continue;
            let list = headless.get(ns);
            if (list === undefined) headless.set(ns, (list = []));
            list.push({ svc, ports });
        }
        if (headless.size === 0) return [];
        const reported = new Set<Subject>();
        const findings: Finding[] = [];
        for (const viewer of inventory.meshedNamespaces()) {
            const visible = visibleNamespaces(inventory, viewer.name);
            // Walk the smaller side: usually the few namespaces that hold headless services.
            const seen = visible.size < headless.size ? [...visible].filter((ns) => headless.has(ns)) : [...headless.keys()].filter((ns) => visible.has(ns));
            const byPort = new Map<number, Subject[]>();
            for (const ns of seen) {
                for (const { svc, ports } of headless.get(ns)!) for (const port of ports) byPort.set(port, [...(byPort.get(port) ?? []), svc]);
            }
            for (const [port, services] of byPort) {
                if (services.length < 2) continue;
                for (const svc of services) {
                    if (reported.has(svc)) continue;
                    reported.add(svc);
                    const others = services.filter((s) => s !== svc).map((s) => `${s.object.metadata.namespace}/${s.object.metadata.name}`);
                    findings.push({ subject: svc, message: `headless TCP port ${port} collides with ${others.join(", ")} in the view of proxies in ${viewer.name}; name the port http-… or use distinct ports` });
                }
            }
        }
        return findings;
    },
};
