import { deployedGatewayPods, GATEWAY_NAME_LABEL, podsOfGateway, isIstioGateway } from "../semantics/gateways";
import type { Inventory } from "../semantics/inventory";
import type { Subject } from "../semantics/objects";
import type { Workload } from "../semantics/workloads";

/** Whether a namespace is a tenant's or a shared one, as its contents decide (a role label exempts from nothing). */
export function inTenancy(inventory: Inventory, namespace: string | undefined): namespace is string {
    if (namespace === undefined) return false;
    const role = inventory.roleOf(namespace);
    return role === "tenant" || role === "shared";
}

/** Tenant and shared namespaces with their usergroup: what the tenancy rules judge. */
export function managedNamespaces(inventory: Inventory): Array<{ name: string; usergroup: string; role: "tenant" | "shared" }> {
    const out: Array<{ name: string; usergroup: string; role: "tenant" | "shared" }> = [];
    for (const ns of inventory.namespaces.keys()) {
        const usergroup = inventory.usergroupOf(ns);
        if (inTenancy(inventory, ns) && usergroup !== undefined) out.push({ name: ns, usergroup, role: inventory.roleOf(ns) as "tenant" | "shared" });
    }
    return out;
}

const gatewayCache = new WeakMap<Inventory, Set<Subject>>();

/** Whether a workload's pods are an ingress gateway configured by an Istio Gateway of their own namespace. */
export function gatewayWorkload(inventory: Inventory, w: Workload): boolean {
    let pods = gatewayCache.get(inventory);
    if (pods === undefined) {
        pods = new Set();
        for (const gw of inventory.ofKind("Gateway").filter(isIstioGateway)) {
            for (const b of podsOfGateway(inventory, gw)) if (b.effective && b.namespace === gw.object.metadata.namespace) pods.add(b.subject);
        }
        // A Gateway API Gateway istiod deploys stands for its own pods (inventory.workloads()) until they exist; then
        // they are the workloads of its namespace named after it, as istiod labels them.
        for (const gw of inventory.ofKind("Gateway")) {
            if (deployedGatewayPods(gw) === undefined) continue;
            pods.add(gw);
            for (const w of inventory.workloadsIn(gw.object.metadata.namespace ?? "default")) if (w.labels[GATEWAY_NAME_LABEL] === gw.object.metadata.name) pods.add(w.subject);
        }
        gatewayCache.set(inventory, pods);
    }
    return pods.has(w.subject);
}
