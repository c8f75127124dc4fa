import { dataplaneOf, INJECT_LABEL } from "../semantics/injection";
import { DATAPLANE_MODE_LABEL, INJECTION_LABEL, REVISION_LABEL } from "../semantics/labels";
import type { Inventory } from "../semantics/inventory";
import { meshView } from "../semantics/reachability";
import { describeWorkload, hypotheticalWorkload } from "../semantics/workloads";
import type { Finding, Rule } from "../lib/rule";

export const injectionLabel: Rule = {
    id: "MT001",
    name: "revision-label-without-injection-label",
    description: "A namespace with istio.io/rev has no istio-injection label, no namespace asks for ambient mode beside sidecar injection, and no pod asks for a revision other than the one its namespace injects.",
    why: "istio-injection takes precedence over istio.io/rev: `enabled` injects the default revision instead of the usergroup's, and `disabled` silently turns injection off; the injector never reads istio.io/dataplane-mode and istio-cni leaves pods with a sidecar out of ambient mode, so a namespace labelled for both gets whichever the injection labels give, not what its mode label says; a pod's own istio.io/rev is ignored where its namespace names a revision, so the pod does not join the control plane it asks for.",
    defaultEnforcement: "mandatory",
    fix: "Delete the `istio-injection` label from the namespace (`kubectl label ns <ns> istio-injection-`); in a pod template, drop `istio.io/rev` or set it to the namespace's revision; keep either `istio.io/dataplane-mode=ambient` or the injection label on a namespace, not both.",
    atAdmission: "yes: a pod or pod template whose `istio.io/rev` is not its namespace's revision; also Istio config labelled with another revision (its own istiod would ignore it). The namespace label `istio-injection` is MT-A2's",
    codes: {
        MT0101: "a namespace carries both istio.io/rev and istio-injection",
        MT0102: "a pod asks for a revision its namespace overrides",
        MT0103: "a namespace asks for ambient mode and for sidecar injection",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        const view = meshView(inventory);
        for (const ns of inventory.meshedNamespaces()) {
            const injection = ns.labels[INJECTION_LABEL];
            if (injection !== undefined) {
                findings.push({
                    code: "MT0101",
                    subject: ns.subject,
                    message: `namespace has ${REVISION_LABEL}=${ns.labels[REVISION_LABEL]} and ${INJECTION_LABEL}=${injection}; remove ${INJECTION_LABEL}${injection === "disabled" ? " (with it, injection is silently off)" : ""}`,
                });
            }
        }
        for (const ns of inventory.namespaces.values()) {
            if (ns.labels[DATAPLANE_MODE_LABEL] !== "ambient") continue;
            const asks = [INJECTION_LABEL, REVISION_LABEL].filter((l) => ns.labels[l] !== undefined && (l !== INJECTION_LABEL || ns.labels[l] === "enabled"));
            if (asks.length === 0) continue;
            const asked = asks.map((l) => `${l}=${ns.labels[l]}`).join(" and ");
            const pods = dataplaneOf(inventory, hypotheticalWorkload(ns.name, ns.subject));
            const effect = pods.mode === "sidecar" ? `its pods get sidecars (${pods.reason}) and istio-cni leaves pods with a sidecar out of ambient mode` : `no injector answers ${asked}, so its pods join ambient mode`;
            findings.push({ code: "MT0103", subject: ns.subject, message: `namespace has ${DATAPLANE_MODE_LABEL}=ambient and ${asked}: ${effect}; keep one data-plane mode` });
        }
        for (const w of inventory.workloads()) {
            const podRev = w.labels[REVISION_LABEL];
            if (podRev === undefined || w.labels[INJECT_LABEL] === "false") continue;
            const v = view.view(w);
            if (!v.injection.meshed || v.revision === undefined) continue;
            const asked = inventory.resolveRevision(podRev);
            if (asked !== v.revision) {
                findings.push({ code: "MT0102", subject: w.subject, message: `pods of ${describeWorkload(w)} have ${REVISION_LABEL}=${podRev}, which their namespace's labels override: revision ${v.revision.name} injects them (webhook ${v.injection.matched[0]?.name ?? "?"})` });
            }
        }
        return findings;
    },
};
