import type { Inventory } from "../semantics/inventory";
import { ROLE_LABEL } from "../semantics/labels";
import { roleEvidence } from "../semantics/namespaceRoles";
import { describeWorkload } from "../semantics/workloads";
import type { Finding, Rule } from "../lib/rule";

const revisionList = (revs: ReadonlyArray<{ name: string }>) => revs.map((r) => r.name).join(", ");

export const namespaceRoleClaims: Rule = {
    id: "MT023",
    name: "namespace-role-is-a-claim",
    description:
        "A namespace's mesh-tenancy.io/role matches what the set shows: `system` only where a revision's istiod runs or its mesh is rooted, and then nothing but Istio's control plane and gateways runs there; no namespace labelled `tenant` or `shared` is a revision's istiod home or root namespace.",
    why: "The role label is only a label: the rules judge a namespace by what runs there and what it holds, so a claim that does not match is either a namespace that escapes the tenant rules it looks exempt from, or a control plane whose config reaches every namespace of its revision while it is labelled as one tenant among others. A workload beside istiod shares its namespace's NetworkPolicies, root-namespace policies and RBAC, and is judged by none of the tenant rules.",
    defaultEnforcement: "mandatory",
    fix: "Label `system` only the namespaces the program creates for a usergroup's control plane; run monitoring, CI and other tools in namespaces of their own (labelled as tenants or outside the tenancy); point `meshConfig.rootNamespace` at the control plane's namespace, never at a tenant's.",
    judges: "`semantics/namespaceRoles.ts`: a revision runs where its chart release, mesh ConfigMap, istiod Deployment or injector says; Istio's own workloads are those whose every container runs one of Istio's images (`pilot`, `proxyv2`, `install-cni`, `ztunnel`), the gateway chart's Deployments (image `auto` with the injector's `gateway` template) and the chart stand-ins; a workload whose images the set does not show (the pod `istioctl analyze` makes up for file analysis) cannot be told and is not reported. The tenant rules follow the role by effect (`Inventory.roleOf`), so a false claim never exempts; this rule says where label and effect differ.",
    atAdmission: "partly: a namespace's role label is the platform's to set (MT-A2)",
    previewOnly: "what runs in a system namespace (needs its workloads)",
    codes: {
        MT2301: "a namespace labelled system runs no istiod and roots no revision (it is judged as a tenant)",
        MT2302: "a system namespace runs a workload that is not Istio's control plane or a gateway",
        MT2303: "a namespace labelled tenant or shared is a revision's istiod home or root namespace",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const ns of inventory.namespaces.values()) {
            const e = roleEvidence(inventory, ns.name);
            const controlPlane = e.runs.length > 0 || e.roots.length > 0;
            if (e.claimed === "system" && !controlPlane) {
                findings.push({ code: "MT2301", subject: ns.subject, message: `labelled ${ROLE_LABEL}=system, but no revision's istiod runs here and no revision's mesh is rooted here; it is judged as a tenant` });
            }
            if ((e.claimed === "tenant" || e.claimed === "shared") && controlPlane) {
                const what = [e.runs.length > 0 ? `istiod of revision ${revisionList(e.runs)} runs here` : "", e.roots.length > 0 ? `it is the root namespace of revision ${revisionList(e.roots)}, so its Sidecar, AuthorizationPolicies and EnvoyFilters apply to every namespace the revision serves` : ""].filter((x) => x !== "");
                findings.push({ code: "MT2303", subject: ns.subject, message: `labelled ${ROLE_LABEL}=${e.claimed}, but ${what.join("; ")}; it is judged as a system namespace` });
            }
            if (!controlPlane) continue;
            for (const w of e.ordinaryWorkloads) {
                findings.push({
                    code: "MT2302",
                    subject: w.subject,
                    message: `${describeWorkload(w)} runs in the control plane namespace of revision ${revisionList(e.runs.length > 0 ? e.runs : e.roots)} but is not Istio's (images ${(w.images ?? []).join(", ")}): it shares istiod's NetworkPolicies and RBAC and no tenant rule judges it; run it in a tenant or shared namespace`,
                });
            }
        }
        return findings;
    },
};
