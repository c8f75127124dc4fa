import type { Inventory, RevisionInfo } from "../semantics/inventory";
import { l3Admission } from "../semantics/networkPolicy";
import { discovers, ISTIOD_CHART_PODS, ISTIOD_PORTS, istiodWorkloads } from "../semantics/revisions";
import type { SourceSet } from "../semantics/sources";
import { describeWorkload, Workload } from "../semantics/workloads";
import type { Finding, Rule, RuleConfig } from "../lib/rule";

/** The source namespaces of a set that `allowed` refuses, with the objects that admit them. */
interface Outsiders {
    /** Namespaces of the object set. */
    names: string[];
    /** Whether namespaces the object set does not hold are admitted too (a cofinite set). */
    others: boolean;
    reasons: string[];
}

function outsiders(inventory: Inventory, sources: SourceSet, allowed: (namespace: string) => boolean): Outsiders {
    const candidates = sources.cofinite ? [...inventory.namespaces.keys()].filter((n) => sources.has(n)) : [...sources.names];
    const names = candidates.filter((n) => !allowed(n)).sort();
    const others = sources.cofinite;
    const reasons = [...new Set([...names.flatMap((n) => sources.why(n)), ...(others ? sources.whyOthers() : [])])];
    return { names, others, reasons };
}

/** Namespaces named in a message before the rest are counted. */
const NAMED = 10;

function describeOutsiders(o: Outsiders): string {
    const others = o.others ? "every namespace the object set does not hold" : "";
    if (o.names.length === 0) return others;
    const names = o.names.length > NAMED ? `${o.names.slice(0, NAMED).join(", ")} and ${o.names.length - NAMED} more` : o.names.join(", ");
    return `${names}${others === "" ? "" : `${o.names.length > NAMED ? ", and" : " and"} ${others}`}`;
}

function describeIstiod(rev: RevisionInfo, w: Workload): string {
    const pods = w.kind === ISTIOD_CHART_PODS ? `the chart's pods app=istiod, istio.io/rev=${rev.name} in ${w.namespace}` : describeWorkload(w);
    return `istiod of revision ${rev.name} (${pods})`;
}

/** The path, or why there is none: no NetworkPolicy at all, or the rules that let the outsiders in. */
function path(o: Outsiders, isolated: boolean, namespace: string): string {
    return isolated ? o.reasons.join("; ") : `no NetworkPolicy in ${namespace} selects istiod's pods for ingress`;
}

function monitoringNamespacesOf(config: RuleConfig): string[] {
    const list = (config as unknown as Record<string, unknown>).monitoringNamespaces;
    return Array.isArray(list) ? list.filter((n): n is string => typeof n === "string") : [];
}

export const controlPlaneReach: Rule = {
    id: "MT021",
    name: "control-plane-reach",
    description:
        "Each istiod is reached at L3 only by its own usergroup: xDS (15010), secure xDS with the CA (15012) and HTTP (8080) only from namespaces its revision discovers and its own, monitoring (15014) besides those only from the configured monitoring namespaces, and, once NetworkPolicies isolate it, its webhook port (15017) from somewhere.",
    why: "istiod answers plaintext xDS on 15010 to whoever connects: a pod of another usergroup that reaches it receives this usergroup's whole service view, and on 15012 it can ask this control plane's CA and xDS server for its own identity. The control plane is a tenancy boundary like the tenant namespaces, but nothing isolates a namespace that holds no NetworkPolicy. An isolated istiod whose webhook port admits nobody breaks sidecar injection and config validation instead.",
    defaultEnforcement: "mandatory",
    fix: "Keep the program's `default-deny-ingress` and `istiod-access` NetworkPolicies in each system namespace: 15010 and 15012 from `namespaceSelector` on the usergroup's `usergroup` label (the label the revision's discoverySelectors match), 15017 from `controlPlaneAccess.apiServerCidrs` (or from every source when the API server's addresses are not known), 15014 from `controlPlaneAccess.monitoringNamespace` only, listed in the rule's `monitoringNamespaces`, 8080 from no pod (kubelet probes come from the node, which NetworkPolicies always admit). Give every rule that admits wider sources a `ports` list that leaves out 15010, 15012, 15014 and 8080.",
    judges: "every revision whose namespace holds some object of the set (a revision known only from a webhook is not judged): its istiod Deployment or pods when present, else the pods the istiod chart will run there (`app: istiod`, `istio.io/rev: <revision>`). Who reaches a port is the semantics model's port-aware L3 admission: a rule counts for a port when its `ports` are empty or one entry matches the protocol (TCP by default) and the number, a `port`–`endPort` range, or a named container port of istiod's pods; a named port that cannot be resolved (the chart's pods, whose ports the set does not show) counts as matching. \"Every namespace\" (no NetworkPolicy, a rule without `from`, `namespaceSelector: {}`, an `ipBlock`) is always a finding, since it includes namespaces of other usergroups the set does not show. The finding names the NetworkPolicy rules on the path.",
    atAdmission: "by MT-A1: the plan's `default-deny-ingress` and `istiod-access` NetworkPolicies in each system namespace are managed objects",
    previewOnly: "who reaches istiod (needs every NetworkPolicy of the system namespace, istiod's pods and the namespaces' labels)",
    codes: {
        MT2101: "istiod's plaintext xDS port 15010 admits namespaces its revision does not discover",
        MT2102: "istiod's secure xDS and CA port 15012 admits namespaces its revision does not discover",
        MT2103: "istiod's monitoring port 15014 admits namespaces outside its usergroup other than the configured monitoring namespaces",
        MT2104: "istiod is isolated for ingress but its webhook port 15017 admits nobody",
        MT2105: "istiod's HTTP port 8080 (debug endpoints; plaintext xDS where --grpcAddr is cleared) admits namespaces its revision does not discover",
    },
    configSchema: {
        monitoringNamespaces: {
            type: "array",
            items: { type: "string" },
            description: "Namespaces that may reach istiod's monitoring port 15014 besides the usergroup's own (the stack's controlPlaneAccess.monitoringNamespace).",
        },
    },
    check(inventory: Inventory, config: RuleConfig): Finding[] {
        const findings: Finding[] = [];
        const monitoring = new Set(monitoringNamespacesOf(config));
        for (const rev of inventory.revisions.values()) {
            const own = (ns: string) => ns === rev.namespace || discovers(inventory, rev, ns);
            for (const w of istiodWorkloads(inventory, rev)) {
                const who = describeIstiod(rev, w);
                const xds = [
                    { code: "MT2101", port: ISTIOD_PORTS.xds, what: "plaintext xDS", harm: `a pod there that connects receives the whole service view of revision ${rev.name}` },
                    { code: "MT2102", port: ISTIOD_PORTS.secureXdsAndCa, what: "secure xDS and CA", harm: `a pod there can ask this control plane's CA for a certificate of its own identity and its xDS server for config` },
                    { code: "MT2105", port: ISTIOD_PORTS.http, what: "HTTP", harm: `a pod there reaches its debug endpoints, and plaintext xDS where --grpcAddr is cleared` },
                ];
                for (const { code, port, what, harm } of xds) {
                    const l3 = l3Admission(inventory, w, { port });
                    const o = outsiders(inventory, l3.sources, own);
                    if (o.names.length === 0 && !o.others) continue;
                    findings.push({ code, subject: w.subject, message: `${who} accepts ${what} on ${port} from ${describeOutsiders(o)}, outside what revision ${rev.name} discovers: ${harm} (${path(o, l3.policies.length > 0, w.namespace)})` });
                }
                const metrics = l3Admission(inventory, w, { port: ISTIOD_PORTS.monitoring });
                const m = outsiders(inventory, metrics.sources, (ns) => own(ns) || monitoring.has(ns));
                if (m.names.length > 0 || m.others) {
                    const allowed = monitoring.size === 0 ? "no monitoring namespace is configured" : `the monitoring namespaces are ${[...monitoring].sort().join(", ")}`;
                    findings.push({ code: "MT2103", subject: w.subject, message: `${who} serves metrics and debug endpoints on ${ISTIOD_PORTS.monitoring} to ${describeOutsiders(m)}, outside its usergroup; ${allowed} (${path(m, metrics.policies.length > 0, w.namespace)})` });
                }
                const webhook = l3Admission(inventory, w, { port: ISTIOD_PORTS.webhook });
                if (webhook.policies.length > 0 && webhook.sources.isEmpty) {
                    const by = webhook.policies.map((p) => `NetworkPolicy ${p.object.metadata.namespace}/${p.object.metadata.name}`).join(", ");
                    findings.push({ code: "MT2104", subject: w.subject, message: `${who} is isolated for ingress (${by}) but no rule admits its webhook port ${ISTIOD_PORTS.webhook}: the API server cannot call the sidecar injector or the config validator; admit ${ISTIOD_PORTS.webhook} from the API server's addresses (the stack's controlPlaneAccess.apiServerCidrs) or from every source` });
                }
            }
        }
        return findings;
    },
};
