import { push } from "../semantics/collections";
import type { Inventory } from "../semantics/inventory";
import { meshView } from "../semantics/reachability";
import { configIn } from "../semantics/revisions";
import { sidecarImports, workloadSelectorOf } from "../semantics/sidecarScope";
import { describeWorkload } from "../semantics/workloads";
import { gatewayWorkload, managedNamespaces } from "./support";
import type { Finding, Rule } from "../lib/rule";

export const admissionWithinImporters: Rule = {
    id: "MT016",
    name: "admission-follows-imports",
    description: "Within a usergroup, a namespace's workloads admit (through the mesh and at L3) only the namespaces whose proxies import it, the namespace itself and its usergroup's system namespace.",
    why: "Scoping says which tenants may call a namespace; admission is what enforces it. A tenant admitted without importing the namespace was never meant to call it: another tenant's compromised pod can then reach it directly by address.",
    defaultEnforcement: "mandatory",
    fix: "Admit exactly the namespaces that import this one: the program's `allow-permitted-namespaces` policies do; to let a new caller in, add the namespace to the caller's `egress` instead.",
    atAdmission: "yes for AuthorizationPolicies: an ALLOW rule must name its sources by principals pinned to `<trust domain>/ns/<ns>/sa/` or by exact namespaces, all among the namespace itself, the namespaces importing it and its system namespace",
    previewOnly: "L3 admission (NetworkPolicies) and selectors: which workloads a policy covers",
    codes: {
        MT1601: "a workload's sidecar admits a namespace of its usergroup that does not import it",
        MT1602: "a workload's NetworkPolicies admit a namespace of its usergroup that does not import it",
    },
    check(inventory: Inventory): Finding[] {
        const view = meshView(inventory);
        const importers = new Map<string, string[]>();
        for (const ns of inventory.namespaces.keys()) {
            const standIn = view.defaultView(ns);
            if (standIn?.imports === undefined || standIn.revision === undefined) continue;
            const imported = new Set(standIn.imports.namespaces);
            // Workload Sidecars import for the pods they select, deployed or not.
            for (const sc of configIn(inventory, standIn.revision, ns, "Sidecar")) {
                if (workloadSelectorOf(sc) === undefined) continue;
                const own = sidecarImports(sc, ns);
                const names = own.everything ? inventory.discoveredBy(standIn.revision) : own.named;
                for (const d of names) imported.add(d);
            }
            for (const d of imported) if (d !== ns) push(importers, d, ns);
        }
        const systemNamespaces = new Map<string, string[]>();
        for (const n of inventory.namespaces.keys()) {
            const ug = inventory.usergroupOf(n);
            if (ug !== undefined && inventory.roleOf(n) === "system") push(systemNamespaces, ug, n);
        }
        const findings: Finding[] = [];
        for (const { name: ns, usergroup } of managedNamespaces(inventory)) {
            const allowed = new Set([ns, ...(importers.get(ns) ?? []), ...(systemNamespaces.get(usergroup) ?? [])]);
            const sameGroup = (n: string) => inventory.usergroupOf(n) === usergroup;
            for (const w of view.workloadsOf(ns)) {
                if (gatewayWorkload(inventory, w)) continue;
                const v = view.view(w);
                const layers: Array<[string, "MT1601" | "MT1602", typeof v.l3.sources | undefined]> = [["sidecar", "MT1601", v.mesh?.sources], ["NetworkPolicies", "MT1602", v.l3.sources]];
                for (const [layer, code, sources] of layers) {
                    if (sources === undefined || sources.cofinite) continue; // every namespace: MT012/MT015 report it
                    const extra = [...sources.names].filter((n) => sameGroup(n) && !allowed.has(n)).sort();
                    if (extra.length === 0) continue;
                    findings.push({ code, subject: w.subject, message: `${describeWorkload(w)}'s ${layer} admit ${extra.join(", ")}, which do not import ${ns}: ${extra.map((n) => sources.why(n).join("; ")).join(" | ")}` });
                }
            }
        }
        return findings;
    },
};
