import type { Inventory } from "../semantics/inventory";
import { egressHosts, hostNamespace } from "../semantics/sidecarScope";
import type { Finding, Rule } from "../lib/rule";

export const sidecarHosts: Rule = {
    id: "MT007",
    name: "sidecar-hosts-within-usergroup",
    description: "Sidecar egress hosts never use `*/…`, and every namespace they name belongs to the Sidecar's usergroup.",
    why: "`*/…` imports every namespace's services into the proxy, undoing the scoping; a host in another usergroup's namespace reaches across the tenancy boundary (and that revision does not even discover it).",
    defaultEnforcement: "mandatory",
    fix: "Replace `*/host` with `<namespace>/host`; import only namespaces of the same usergroup (tenants, shared namespaces, the system namespace). Cross-usergroup traffic needs the two tenants in one usergroup.",
    atAdmission: "yes, stricter: egress hosts must name namespaces the plan lets *this* namespace import; a Sidecar without egress is refused (it imports everything)",
    codes: {
        MT0701: "a Sidecar egress host imports from every namespace (`*/`)",
        MT0702: "a Sidecar egress host names a namespace outside the Sidecar's usergroup",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const sc of inventory.ofKind("Sidecar")) {
            const ns = sc.object.metadata.namespace;
            if (ns === undefined) continue;
            const usergroup = inventory.usergroupOf(ns);
            for (const host of egressHosts(sc)) {
                const target = hostNamespace(host);
                if (target === "*") {
                    findings.push({ code: "MT0701", subject: sc, message: `egress host "${host}" imports from every namespace; name the namespace` });
                } else if (target !== "." && target !== "~" && usergroup !== undefined) {
                    const owner = inventory.usergroupOf(target);
                    if (owner !== usergroup) {
                        findings.push({
                            code: "MT0702",
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
