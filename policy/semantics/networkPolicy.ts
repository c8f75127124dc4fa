import type { Inventory } from "./inventory";
import { arrayOf, describeObject, isRecord, Subject } from "./objects";
import { LabelSelector, selects } from "./selectors";
import { SourceSet } from "./sources";
import type { Workload } from "./workloads";

/**
 * L3 admission: which source namespaces can open a connection to a workload's pods, on any port or on one port,
 * following Kubernetes NetworkPolicy semantics.
 *
 * - A pod is isolated for ingress once any NetworkPolicy of its namespace selects it (`podSelector`, empty = every pod)
 *   and covers ingress (`policyTypes` contains Ingress; without `policyTypes`, Ingress is always covered). A pod no such
 *   policy selects accepts everything.
 * - What gets in is the union of the ingress rules of every policy that selects it. A rule without `from` (or with an
 *   empty one) admits every source; a peer with only `podSelector` admits pods of the policy's own namespace; a
 *   `namespaceSelector` admits the namespaces it selects (`{}`: all of them), narrowed to matching pods when a
 *   `podSelector` stands beside it; an `ipBlock` admits addresses, which pods of any namespace may hold.
 * - Asked about any port, a rule admits its sources whatever its `ports` say (a rule for one port still lets them open
 *   connections). Asked about one port (protocol TCP unless given), a rule admits its sources only when its `ports` is
 *   absent or empty, or one entry matches: the same protocol (TCP when unset), and a numeric `port` equal to it or with
 *   `endPort` a range holding it, no `port` at all (every port of the protocol), or a named `port` that is the name of
 *   one of the pod's container ports with this number. Where the pod's container ports are not known (a
 *   chart's pods, a stand-in pod), a named port is taken to match: the answer over-admits rather than misses a path.
 *
 * Namespace selectors are judged against the object set's namespaces; a selector that only requires labels to be
 * absent or different (`NotIn`, `DoesNotExist`, `{}`) also admits namespaces the set does not hold.
 */

/** A destination port of the workload's pods. */
export interface TargetPort {
    port: number;
    /** `TCP` when not given. */
    protocol?: string;
}

export interface L3Admission {
    sources: SourceSet;
    /** NetworkPolicies that select the pods for ingress. */
    policies: Subject[];
    summary: string;
}

function coversIngress(spec: Record<string, any>): boolean {
    const types = spec.policyTypes;
    return !Array.isArray(types) || types.includes("Ingress");
}

/** Whether a selector could also select namespaces the object set does not hold (it requires no label to be present). */
function opensToUnknown(selector: LabelSelector): boolean {
    if (Object.keys(selector.matchLabels ?? {}).length > 0) return false;
    return !(selector.matchExpressions ?? []).some((r) => r.operator === "In" || r.operator === "Exists");
}

function peerSources(inventory: Inventory, peer: Record<string, any>, ownNamespace: string, name: string): SourceSet {
    if (isRecord(peer.ipBlock)) return SourceSet.any(`${name} ipBlock ${peer.ipBlock.cidr ?? "?"}`);
    if (isRecord(peer.namespaceSelector)) {
        const selector = peer.namespaceSelector as LabelSelector;
        const label = `${name} namespaceSelector ${JSON.stringify(selector)}`;
        if (opensToUnknown(selector)) {
            const refused = [...inventory.namespaces.values()].filter((ns) => !selects(selector, ns.labels)).map((ns) => ns.name);
            return SourceSet.allExcept(refused, label);
        }
        return SourceSet.of(inventory.namespacesSelectedBy(selector), label);
    }
    if (isRecord(peer.podSelector)) return SourceSet.of([ownNamespace], `${name} podSelector`);
    return SourceSet.any(`${name} peer without selector`);
}

export function policySelects(np: Subject, w: Workload): boolean {
    const spec: Record<string, any> = isRecord(np.object.spec) ? np.object.spec : {};
    return coversIngress(spec) && selects(isRecord(spec.podSelector) ? (spec.podSelector as LabelSelector) : {}, w.labels);
}

/** Whether one `ports` entry of an ingress rule covers the target port of the workload's pods. */
function portEntryMatches(entry: Record<string, any>, target: TargetPort, w: Workload): boolean {
    const protocol = target.protocol ?? "TCP";
    if ((typeof entry.protocol === "string" ? entry.protocol : "TCP") !== protocol) return false;
    const port = entry.port;
    if (port === undefined || port === null) return true;
    if (typeof port === "number") return typeof entry.endPort === "number" ? target.port >= port && target.port <= entry.endPort : target.port === port;
    if (typeof port === "string" && /^\d+$/.test(port)) return target.port === Number(port);
    if (typeof port === "string") {
        if (w.containerPorts === undefined) return true;
        return w.containerPorts.some((c) => c.name === port && c.containerPort === target.port);
    }
    return true;
}

/** Whether an ingress rule's `ports` let it admit connections to the target port (any port when none is given). */
export function ruleCoversPort(rule: Record<string, any>, w: Workload, target?: TargetPort): boolean {
    if (target === undefined) return true;
    const ports = arrayOf(rule.ports);
    return ports.length === 0 || ports.some((entry) => portEntryMatches(isRecord(entry) ? entry : {}, target, w));
}

/**
 * Who can open a connection to the workload's pods: on some port, or, with `target`, on that port. Policies that
 * select the pods isolate them on every port, so `policies` is the same either way.
 */
export function l3Admission(inventory: Inventory, w: Workload, target?: TargetPort): L3Admission {
    const policies = inventory.inNamespace(w.namespace, "NetworkPolicy").filter((np) => policySelects(np, w));
    if (policies.length === 0) return { sources: SourceSet.any("no NetworkPolicy selects it"), policies, summary: "no NetworkPolicy selects it for ingress" };
    let sources = SourceSet.none();
    for (const np of policies) {
        arrayOf((np.object.spec as any)?.ingress).forEach((rule, i) => {
            if (!ruleCoversPort(isRecord(rule) ? rule : {}, w, target)) return;
            const name = `NetworkPolicy ${describeObject(np.object)} ingress rule ${i + 1}`;
            const from = arrayOf(rule?.from);
            if (from.length === 0) {
                sources = sources.union(SourceSet.any(`${name} has no \`from\``));
                return;
            }
            for (const peer of from) sources = sources.union(peerSources(inventory, isRecord(peer) ? peer : {}, w.namespace, name));
        });
    }
    const on = target === undefined ? "" : ` on ${target.protocol ?? "TCP"} ${target.port}`;
    return { sources, policies, summary: `${policies.length} NetworkPolicy${policies.length === 1 ? "" : "s"} admit ${sources.describe()}${on}` };
}
