import { dataplaneOf } from "../semantics/injection";
import type { Inventory } from "../semantics/inventory";
import { REVISION_LABEL } from "../semantics/labels";
import type { Subject } from "../semantics/objects";
import { selectorRelation } from "../semantics/selectors";
import { selectsWorkload, workloadSelectorOf } from "../semantics/sidecarScope";
import { meshView } from "../semantics/reachability";
import { describeWorkload, hypotheticalWorkload, Workload } from "../semantics/workloads";
import type { Finding, Rule } from "../lib/rule";

export const defaultSidecar: Rule = {
    id: "MT005",
    name: "one-default-sidecar-per-namespace",
    description: "Each meshed namespace has exactly one Sidecar without workloadSelector (or none at all, relying on the root default), its workload Sidecars never select the same pods, and no Sidecar applies to pods in ambient mode.",
    why: "A namespace whose Sidecars all have selectors leaves every other pod unscoped: it receives the config of every namespace. Two selector-less Sidecars, or two that select the same pods, make Istio pick one arbitrarily. Pods in ambient mode have no proxy of their own: ztunnel, shared by the node, receives every workload its istiod discovers and reads no Sidecar, so a Sidecar written for them scopes nothing.",
    defaultEnforcement: "mandatory",
    fix: "Add one Sidecar without `workloadSelector` to the namespace (the program's `default` Sidecar); merge or narrow workload Sidecars so that no pod matches two. For pods in ambient mode, scope with the namespace's sidecar injection instead (a tenant namespace of this tenancy runs sidecars), or delete the Sidecar and isolate by AuthorizationPolicy and NetworkPolicy alone.",
    atAdmission: "partly: a Sidecar without `workloadSelector` is admitted only under the plan's name `default`, so a namespace keeps one",
    previewOnly: "two workload Sidecars selecting the same pods (needs the other Sidecars)",
    codes: {
        MT0501: "a meshed namespace has Sidecars but none without workloadSelector",
        MT0502: "a namespace has two Sidecars without workloadSelector",
        MT0503: "the pods of a workload match two Sidecars' workloadSelectors",
        MT0504: "two Sidecars' workloadSelectors are equal or nested, so some pods would match both",
        MT0505: "a Sidecar applies to pods in ambient mode, which no Sidecar scopes",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const ns of inventory.meshedNamespaces()) {
            const sidecars = inventory.inNamespace(ns.name, "Sidecar");
            if (sidecars.length === 0) continue;
            const defaults = sidecars.filter((s) => workloadSelectorOf(s) === undefined);
            if (defaults.length === 0) {
                const root = inventory.resolveRevision(ns.labels[REVISION_LABEL])?.rootNamespace;
                const fallback = root !== undefined && inventory.inNamespace(root, "Sidecar").some((s) => workloadSelectorOf(s) === undefined) ? `fall back to the root Sidecar in ${root}` : "are unscoped (they import every namespace)";
                findings.push({ code: "MT0501", subject: ns.subject, message: `every Sidecar here has a workloadSelector (${sidecars.map((s) => s.object.metadata.name).join(", ")}), so all other pods ${fallback}; add one Sidecar without workloadSelector for this namespace` });
            } else if (defaults.length > 1) {
                for (const extra of defaults.slice(1)) {
                    findings.push({ code: "MT0502", subject: extra, message: `second Sidecar without workloadSelector in ${ns.name} (also ${defaults[0].object.metadata.name}); Istio applies only one` });
                }
            }
            const selected = sidecars.map((s) => [s, workloadSelectorOf(s)] as const).filter((p): p is readonly [Subject, Record<string, string>] => p[1] !== undefined);
            for (let i = 0; i < selected.length; i++) {
                for (let j = 0; j < i; j++) {
                    const relation = selectorRelation(selected[i][1], selected[j][1]);
                    if (relation !== "disjoint-or-partial") {
                        findings.push({ code: "MT0504", subject: selected[i][0], message: `workloadSelector ${relation === "equal" ? "equals" : "overlaps"} that of Sidecar ${selected[j][0].object.metadata.name}: some pods match both` });
                    }
                }
            }
        }
        for (const sidecar of inventory.ofKind("Sidecar")) {
            const namespace = sidecar.object.metadata.namespace;
            if (namespace === undefined) continue;
            // A Sidecar without workloadSelector applies to the namespace's pods, judged by a pod with no labels.
            const applies: Array<[string, Workload]> =
                workloadSelectorOf(sidecar) === undefined
                    ? [["the namespace's pods", hypotheticalWorkload(namespace, sidecar)]]
                    : inventory
                          .workloadsIn(namespace)
                          .filter((w) => selectsWorkload(sidecar, w))
                          .map((w) => [`the pods of ${describeWorkload(w)}`, w]);
            const ambient = applies.map(([what, w]) => [what, dataplaneOf(inventory, w)] as const).filter(([, d]) => d.mode === "ambient").map(([what, d]) => `${what} (${d.reason})`);
            if (ambient.length > 0) {
                findings.push({ code: "MT0505", subject: sidecar, message: `scopes nothing for ${ambient.join(", ")}: pods in ambient mode have no proxy of their own, and ztunnel reads no Sidecar (it receives every workload its istiod discovers)` });
            }
        }
        const view = meshView(inventory);
        for (const w of inventory.workloads()) {
            const choice = view.view(w).imports?.choice;
            if (choice === undefined || choice.how !== "workload" || choice.competing.length === 0) continue;
            const names = [choice.sidecar!, ...choice.competing].map((s) => s.object.metadata.name).join(", ");
            findings.push({ code: "MT0503", subject: w.subject, message: `pods of ${describeWorkload(w)} match the workloadSelector of ${choice.competing.length + 1} Sidecars (${names}); Istio applies only one of them` });
        }
        return findings;
    },
};
