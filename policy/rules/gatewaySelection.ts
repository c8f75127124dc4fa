import type { GatewayWorkload, Inventory } from "../lib/inventory";
import { REVISION_LABEL } from "../lib/labels";
import { arrayOf, stringRecord, Subject } from "../lib/objects";
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

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
    const list = map.get(key);
    if (list === undefined) map.set(key, [value]);
    else list.push(value);
}

interface Claim {
    namespace: string;
    subject: Subject;
}

/** Hosts bound on one port: exact hosts by name, wildcards in a (short) list; a lookup is not a scan of every host. */
class PortClaims {
    private readonly exact = new Map<string, Claim>();
    private readonly wildcards: { suffix: string; claim: Claim }[] = [];

    /** The claim of another namespace that `host` collides with, if any. */
    clash(host: string, namespace: string): Claim | undefined {
        const foreign = (c: Claim | undefined) => (c !== undefined && c.namespace !== namespace ? c : undefined);
        if (host === "*") return [...this.exact.values(), ...this.wildcards.map((w) => w.claim)].find((c) => c.namespace !== namespace);
        const exact = foreign(this.exact.get(host));
        if (exact !== undefined) return exact;
        const wild = this.wildcards.find((w) => w.claim.namespace !== namespace && (w.suffix === "" || host.endsWith(w.suffix) || (host.startsWith("*.") && (host.slice(1).endsWith(w.suffix) || w.suffix.endsWith(host.slice(1))))));
        if (wild !== undefined) return wild.claim;
        if (host.startsWith("*.")) {
            const suffix = host.slice(1);
            for (const [h, c] of this.exact) if (c.namespace !== namespace && h.endsWith(suffix)) return c;
        }
        return undefined;
    }

    add(host: string, namespace: string, subject: Subject): void {
        if (host === "*" || host.startsWith("*.")) this.wildcards.push({ suffix: host === "*" ? "" : host.slice(1), claim: { namespace, subject } });
        else if (!this.exact.has(host)) this.exact.set(host, { namespace, subject });
    }
}

export const gatewaySelection: Rule = {
    id: "MT010",
    name: "gateway-selects-own-workload",
    description: "A Gateway in a tenant namespace selects the pods of a gateway deployment in that namespace (and no other tenant's, unless gateways are scoped to their namespace), and no two tenants' Gateways bind the same host on the same port.",
    why: "Gateway selectors match gateway pods in every namespace: a tenant could bind another tenant's ingress pods by copying their labels, or claim another tenant's host on a shared port.",
    defaultEnforcement: "mandatory",
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        const claims = new Map<number, PortClaims>();
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
                if (onPort === undefined) claims.set(port, (onPort = new PortClaims()));
                for (const raw of arrayOf(server?.hosts)) {
                    if (typeof raw !== "string") continue;
                    const host = bareHost(raw);
                    const clash = onPort.clash(host, ns);
                    if (clash !== undefined) {
                        findings.push({ subject: gw, message: `host ${host} on port ${port} is already bound by Gateway ${clash.namespace}/${clash.subject.object.metadata.name}` });
                    }
                    onPort.add(host, ns, gw);
                }
            }
        }
        return findings;
    },
};
