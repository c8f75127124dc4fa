import type { Inventory } from "../semantics/inventory";
import { arrayOf, isRecord, stringRecord, Subject } from "../semantics/objects";
import type { Finding, Rule } from "../lib/rule";

/** A NetworkPolicy selecting every pod, for Ingress, with no ingress rule: nothing gets in unless allowed elsewhere. */
function isDefaultDenyIngress(np: Subject): boolean {
    const spec = (np.object.spec ?? {}) as any;
    const selectsAll = isRecord(spec.podSelector) && Object.keys(stringRecord(spec.podSelector.matchLabels)).length === 0 && arrayOf(spec.podSelector.matchExpressions).length === 0;
    const forIngress = arrayOf(spec.policyTypes).includes("Ingress") || spec.policyTypes === undefined;
    return selectsAll && forIngress && arrayOf(spec.ingress).length === 0;
}

/** Whether a source-less rule is narrowed to named hosts (never `*`), as an ingress gateway's must be. */
function limitedToHosts(rule: any): boolean {
    const ops = arrayOf(rule?.to).map((t) => t?.operation);
    return ops.length > 0 && ops.every((op) => arrayOf(op?.hosts).length > 0 && !arrayOf(op?.hosts).includes("*"));
}

/** A principal pattern that pins one namespace: `<trust domain>/ns/<namespace>/sa/<account or *>`. */
const PINNED_PRINCIPAL = /^[^*]*\/ns\/[^/*]+\/sa\/[^*]*\*?$|^\*\/ns\/[^/*]+\/sa\/[^*]+$/;
const EVERYWHERE = new Set(["0.0.0.0/0", "::/0"]);

/** Why an ALLOW rule admits any caller, or undefined when it names its sources. */
function admitsAnySource(rule: any): string | undefined {
    const from = arrayOf(rule?.from);
    if (from.length === 0) return "a rule without `from` admits every source";
    for (const f of from) {
        const src = f?.source;
        if (!isRecord(src) || Object.keys(src).length === 0) return "a `from` entry without source admits every source";
        const wide = arrayOf(src.principals).find((p) => typeof p === "string" && p.includes("*") && !PINNED_PRINCIPAL.test(p));
        if (wide !== undefined) return wide === "*" ? 'principals "*" admits every authenticated source' : `principals "${wide}" admits workloads of every namespace`;
        const wideNs = arrayOf(src.namespaces).find((n) => typeof n === "string" && n.includes("*"));
        if (wideNs !== undefined) return `namespaces "${wideNs}" admits more than named namespaces`;
        for (const negative of ["notPrincipals", "notNamespaces", "notIpBlocks", "notRemoteIpBlocks"]) {
            if (arrayOf(src[negative]).length > 0 && arrayOf(src.principals).length === 0 && arrayOf(src.namespaces).length === 0) {
                return `${negative} alone admits every source but the listed ones`;
            }
        }
        const open = [...arrayOf(src.ipBlocks), ...arrayOf(src.remoteIpBlocks)].find((b) => EVERYWHERE.has(b));
        if (open !== undefined && arrayOf(src.principals).length === 0 && arrayOf(src.namespaces).length === 0) return `ipBlocks "${open}" admits every address`;
    }
    return undefined;
}

export const tenantIsolation: Rule = {
    id: "MT012",
    name: "tenant-isolation-policies",
    description: "Each tenant namespace has an AuthorizationPolicy and a default-deny ingress NetworkPolicy, and no ALLOW policy in it admits any source (except a gateway's, narrowed to its hosts).",
    why: "Sidecar scoping only limits what a proxy sees, not who may connect: without an AuthorizationPolicy any mesh workload can call the tenant, and without a NetworkPolicy anything in the cluster can reach its pods directly.",
    defaultEnforcement: "mandatory",
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const ns of inventory.namespaces.values()) {
            if (inventory.roleOf(ns.name) !== "tenant") continue;
            const policies = inventory.inNamespace(ns.name, "AuthorizationPolicy");
            if (policies.length === 0) findings.push({ subject: ns.subject, message: "tenant namespace has no AuthorizationPolicy: any mesh workload may call it" });
            if (!inventory.inNamespace(ns.name, "NetworkPolicy").some(isDefaultDenyIngress)) {
                findings.push({ subject: ns.subject, message: "tenant namespace has no default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no ingress rules)" });
            }
            const gateways = inventory.gatewayWorkloads.get(ns.name) ?? [];
            for (const ap of policies) {
                const spec = (ap.object.spec ?? {}) as any;
                if ((spec.action ?? "ALLOW") !== "ALLOW") continue;
                const selector = stringRecord(spec.selector?.matchLabels);
                const forGateway = Object.keys(selector).length > 0 && gateways.some((g) => Object.entries(selector).every(([k, v]) => g.labels[k] === v));
                for (const rule of arrayOf(spec.rules)) {
                    const why = admitsAnySource(rule);
                    if (why === undefined) continue;
                    if (forGateway && arrayOf(rule?.from).length === 0 && limitedToHosts(rule)) continue;
                    findings.push({ subject: ap, message: `ALLOW policy admits any source: ${why}` });
                }
            }
        }
        return findings;
    },
};
