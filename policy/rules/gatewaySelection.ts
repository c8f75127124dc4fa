import type { GatewayWorkload, Inventory } from "../semantics/inventory";
import { push } from "../semantics/collections";
import { HostClaims } from "../semantics/hosts";
import { REVISION_LABEL } from "../semantics/labels";
import { arrayOf, stringRecord, Subject } from "../semantics/objects";
import type { Finding, Rule } from "../lib/rule";

/** Gateway server host without its `namespace/` prefix. */
function bareHost(host: string): string {
    const slash = host.indexOf("/");
    return slash < 0 ? host : host.slice(slash + 1);
}

/** Whether the gateway pods' own revision ignores Gateway objects of other namespaces. */
function scopedToNamespace(inventory: Inventory, w: GatewayWorkload): boolean {
    const rev = w.labels[REVISION_LABEL] ?? inventory.namespaces.get(w.namespace)?.labels[REVISION_LABEL];
    return rev !== undefined && inventory.resolveRevision(rev)?.env?.PILOT_SCOPE_GATEWAY_TO_NAMESPACE === "true";
}

interface Claim {
    namespace: string;
    subject: Subject;
}

export const gatewaySelection: Rule = {
    id: "MT010",
    name: "gateway-selects-own-workload",
    description: "A Gateway in a tenant namespace selects the pods of a gateway deployment in that namespace (and no other tenant's, unless gateways are scoped to their namespace), and no two tenants' Gateways bind the same host on the same port.",
    why: "Gateway selectors match gateway pods in every namespace: a tenant could bind another tenant's ingress pods by copying their labels, or claim another tenant's host on a shared port.",
    defaultEnforcement: "mandatory",
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        const claims = new Map<number, HostClaims<Claim>>();
        const byLabel = new Map<string, GatewayWorkload[]>();
        for (const list of inventory.gatewayWorkloads.values()) {
            for (const w of list) for (const [k, v] of Object.entries(w.labels)) push(byLabel, `${k}=${v}`, w);
        }
        for (const gw of inventory.ofKind("Gateway")) {
            const ns = gw.object.metadata.namespace;
            if (ns === undefined) continue;
            const spec = (gw.object.spec ?? {}) as any;
            if (inventory.roleOf(ns) === "tenant") {
                const selector = stringRecord(spec.selector);
                const own = inventory.gatewayWorkloads.get(ns) ?? [];
                const matches = Object.keys(selector).length > 0 && own.some((w) => Object.entries(selector).every(([k, v]) => w.labels[k] === v));
                if (!matches) {
                    findings.push({ subject: gw, message: `selector ${JSON.stringify(selector)} matches no gateway deployment in ${ns}; select this tenant's own gateway pods` });
                }
                const [first] = Object.entries(selector);
                const foreign = first === undefined ? [] : (byLabel.get(`${first[0]}=${first[1]}`) ?? []).filter(
                    (w) => w.namespace !== ns && Object.entries(selector).every(([k, v]) => w.labels[k] === v) && !scopedToNamespace(inventory, w),
                );
                if (foreign.length > 0) {
                    findings.push({ subject: gw, message: `selector ${JSON.stringify(selector)} also selects gateway pods in ${[...new Set(foreign.map((w) => w.namespace))].join(", ")}, whose revision does not set PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true` });
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
                    const clash = onPort.find(host, (c) => c.namespace !== ns)?.claim;
                    if (clash !== undefined) {
                        findings.push({ subject: gw, message: `host ${host} on port ${port} is already bound by Gateway ${clash.namespace}/${clash.subject.object.metadata.name}` });
                    }
                    onPort.add(host, { namespace: ns, subject: gw });
                }
            }
        }
        return findings;
    },
};
