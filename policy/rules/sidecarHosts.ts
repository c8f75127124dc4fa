import type { Inventory } from "../semantics/inventory";
import { egressHosts, hostNamespace } from "../semantics/sidecarScope";
import type { Finding, Rule } from "../lib/rule";

export const sidecarHosts: Rule = {
    id: "MT007",
    name: "sidecar-hosts-within-usergroup",
    description: "Sidecar egress hosts never use `*/…`, and every namespace they name belongs to the Sidecar's usergroup.",
    why: "`*/…` imports every namespace's services into the proxy, undoing the scoping; a host in another usergroup's namespace reaches across the tenancy boundary (and that revision does not even discover it).",
    defaultEnforcement: "mandatory",
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const sc of inventory.ofKind("Sidecar")) {
            const ns = sc.object.metadata.namespace;
            if (ns === undefined) continue;
            const usergroup = inventory.usergroupOf(ns);
            for (const host of egressHosts(sc)) {
                const target = hostNamespace(host);
                if (target === "*") {
                    findings.push({ subject: sc, message: `egress host "${host}" imports from every namespace; name the namespace` });
                } else if (target !== "." && target !== "~" && usergroup !== undefined) {
                    const owner = inventory.usergroupOf(target);
                    if (owner !== usergroup) {
                        findings.push({
                            subject: sc,
                            message: owner === undefined ? `egress host "${host}" names namespace ${target}, which is not part of usergroup ${usergroup}` : `egress host "${host}" reaches into usergroup ${owner}; this Sidecar belongs to usergroup ${usergroup}`,
                        });
                    }
                }
            }
        }
        return findings;
    },
};
