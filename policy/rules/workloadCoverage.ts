import type { Inventory } from "../semantics/inventory";
import { meshView } from "../semantics/reachability";
import { describeWorkload, inboundBypass } from "../semantics/workloads";
import { managedNamespaces } from "./support";
import type { Finding, Rule } from "../lib/rule";

export const workloadCoverage: Rule = {
    id: "MT017",
    name: "workloads-meshed-and-authorized",
    description: "Every workload in a tenant or shared namespace (and the namespace's default for new pods) is injected with a sidecar, by its usergroup's revision, keeps inbound traffic on the sidecar, and is covered by an enforced ALLOW AuthorizationPolicy.",
    why: "Isolation through the mesh holds only for pods that have a sidecar of their own usergroup's control plane: a pod without one accepts any caller that reaches it, a pod of another revision trusts another control plane, a pod with inbound ports excluded skips authorization on them (a proxyless gRPC pod, whose injection template captures no traffic, on every port its own gRPC server does not take from xDS), and a pod no enforced ALLOW policy covers accepts every caller.",
    defaultEnforcement: "mandatory",
    fix: "Label the namespace `istio.io/rev=<usergroup revision>` without `istio-injection`, drop `sidecar.istio.io/inject: \"false\"`, `traffic.sidecar.istio.io/exclude*`/`includeInboundPorts: \"\"` and proxyless `inject.istio.io/templates` (`grpc-agent`, `grpc-simple`) from tenant pods, or keep a proxyless pod's other ports closed with NetworkPolicies, and keep an enforced (not dry-run, not AUDIT) ALLOW policy over every pod.",
    atAdmission: "partly: pods and pod templates may not set `sidecar.istio.io/inject: \"false\"` (label or annotation) or any `traffic.sidecar.istio.io/*` capture setting",
    previewOnly: "whether an enforced ALLOW policy covers each workload (needs the policies), the namespace default for new pods",
    codes: {
        MT1701: "a workload gets no sidecar",
        MT1702: "a workload is injected by another usergroup's revision",
        MT1703: "no enforced ALLOW AuthorizationPolicy covers a workload",
        MT1704: "a workload sends inbound traffic around its sidecar",
    },
    check(inventory: Inventory): Finding[] {
        const view = meshView(inventory);
        const findings: Finding[] = [];
        for (const { name: ns, usergroup } of managedNamespaces(inventory)) {
            for (const w of view.workloadsOf(ns)) {
                const v = view.view(w);
                const what = describeWorkload(w);
                if (!v.injection.meshed) {
                    findings.push({ code: "MT1701", subject: w.subject, message: `${what} gets no sidecar: ${v.injection.reason}` });
                    continue;
                }
                const owner = v.revision === undefined ? undefined : inventory.usergroupOf(v.revision.namespace);
                if (v.revision !== undefined && owner !== usergroup) {
                    findings.push({ code: "MT1702", subject: w.subject, message: `${what} is injected by revision ${v.revision.name} (usergroup ${owner ?? "none"}), not by usergroup ${usergroup}'s: ${v.injection.reason}` });
                }
                const bypass = inboundBypass(w);
                if (bypass.all || bypass.ports.length > 0) {
                    findings.push({ code: "MT1704", subject: w.subject, message: `${what} sends inbound ${bypass.all ? "traffic on every port" : `ports ${bypass.ports.join(", ")}`} around its sidecar, so no AuthorizationPolicy sees it${bypass.why !== undefined ? ` (${bypass.why})` : ""}` });
                }
                const allows = v.mesh?.policies.filter((p) => p.action === "ALLOW") ?? [];
                if (!allows.some((p) => p.enforced)) {
                    const ignored = allows.map((p) => `${p.subject.object.metadata.namespace}/${p.subject.object.metadata.name} (${p.notEnforced})`);
                    findings.push({ code: "MT1703", subject: w.subject, message: `no enforced ALLOW AuthorizationPolicy covers ${what}, so it accepts every mesh caller${ignored.length > 0 ? `; not enforced: ${ignored.join(", ")}` : ""}` });
                }
            }
        }
        return findings;
    },
};
