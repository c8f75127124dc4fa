import type { Inventory } from "./inventory";
import { arrayOf, isRecord, stringRecord } from "./objects";
import type { Workload } from "./workloads";

/**
 * Which protocol a workload's inbound port speaks, as istiod builds the sidecar's inbound filter chains: a port a
 * Service declares gets that Service port's protocol (its `appProtocol`, else the name's prefix before the first `-`:
 * `http-web` is HTTP, `tcp-db` TCP); a port no Service declares, or one whose name says nothing Istio knows, is detected
 * per connection (HTTP and TCP chains both). Only HTTP chains carry HTTP authorization: an ALLOW rule that needs HTTP
 * attributes is left out of a TCP chain (Istio's "Authorization on TCP traffic"; measured on istiod 1.31 by the authz
 * fuzz, test/fixtures/authz).
 */
export type PortProtocol = "http" | "tcp" | "detected";

const HTTP = new Set(["http", "http2", "grpc", "grpc-web", "h2c", "kubernetes.io/h2c", "kubernetes.io/ws"]);
const TCP = new Set(["tcp", "tls", "https", "mongo", "mysql", "redis", "kubernetes.io/wss"]);

/** The protocol of one Service port. */
export function servicePortProtocol(port: { name?: unknown; appProtocol?: unknown }): PortProtocol {
    const declared = typeof port.appProtocol === "string" && port.appProtocol !== "" ? port.appProtocol.toLowerCase() : typeof port.name === "string" ? port.name.toLowerCase().split("-")[0] : "";
    if (HTTP.has(declared)) return "http";
    if (TCP.has(declared)) return "tcp";
    return "detected";
}

/**
 * The protocol of the workload's inbound `port` (a container port number): TCP only when every Service of its namespace
 * that selects its pods and targets that port declares TCP; HTTP when they all declare HTTP; detected otherwise.
 */
export function inboundPortProtocol(inventory: Inventory, w: Workload, port: string): PortProtocol {
    const found = new Set<PortProtocol>();
    for (const svc of inventory.inNamespace(w.namespace, "Service")) {
        const spec: Record<string, any> = isRecord(svc.object.spec) ? svc.object.spec : {};
        const selector = stringRecord(spec.selector);
        if (Object.keys(selector).length === 0 || !Object.entries(selector).every(([k, v]) => w.labels[k] === v)) continue;
        for (const p of arrayOf(spec.ports).filter(isRecord)) {
            const target = p.targetPort ?? p.port;
            const named = typeof target === "string" && !/^\d+$/.test(target) ? w.containerPorts?.find((c) => c.name === target)?.containerPort : undefined;
            const number = named ?? Number(target);
            if (String(number) === port) found.add(servicePortProtocol(p));
        }
    }
    if (found.size === 1) return [...found][0];
    return "detected";
}

/** Whether an AuthorizationPolicy rule needs HTTP attributes: methods, paths, hosts, request principals, request.* keys. */
export function needsHttp(rule: Record<string, any>): boolean {
    const op = (t: any) => (isRecord(t?.operation) ? t.operation : {});
    if (arrayOf(rule.to).some((t) => ["hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"].some((k) => op(t)[k] !== undefined))) return true;
    if (arrayOf(rule.from).some((f) => isRecord(f?.source) && (f.source.requestPrincipals !== undefined || f.source.notRequestPrincipals !== undefined))) return true;
    return arrayOf(rule.when).some((c) => typeof c?.key === "string" && (c.key.startsWith("request.") || c.key.startsWith("experimental.envoy.filters.")));
}
