import { injectorWebhooks, InjectorWebhook, istiodServiceName } from "../semantics/injection";
import type { Inventory } from "../semantics/inventory";
import type { Finding, Rule } from "../lib/rule";

/** What the API server does with a pod when the call fails, by failurePolicy. */
function onFailure(w: InjectorWebhook): string {
    return w.target.failurePolicy === "Ignore"
        ? "failurePolicy Ignore: every pod it matches starts without a sidecar, outside mTLS and authorization, and nothing says so"
        : "failurePolicy Fail: the API server refuses every pod it matches";
}

export const injectorTargets: Rule = {
    id: "MT027",
    name: "injector-calls-own-istiod",
    description: "Every sidecar injector webhook calls the istiod Service of the revision its labels name, in that revision's namespace: not another revision's istiod, not a Service that is no istiod's, not a URL, and not a Service that does not exist.",
    why: "The API server sends each matching pod to whatever the webhook's clientConfig names, and that answer decides which control plane the pod trusts and takes its config, certificates and policies from. Labels on the webhook configuration are only a claim: a webhook labelled for one usergroup that calls another's istiod (or anything else) puts that usergroup's pods under a foreign control plane, and one calling a missing Service either blocks every pod it matches or lets them start unmeshed.",
    defaultEnforcement: "mandatory",
    fix: "Render injectors with the istiod chart of the revision they serve (or `istioctl tag`), and remove configurations left behind by a removed revision.",
    judges: "every `*.sidecar-injector.istio.io` webhook of the set (`injectorWebhooks`, `webhookTargetOf` in `semantics/injection.ts`). A Service object of the set reaches the istiod whose pods its selector matches (`app: istiod` and the revision's `istio.io/rev`, or the only revision running there); without one, the istiod chart of a revision in that namespace renders `istiod` (default revision) or `istiod-<revision>`. The injection model follows the Service, not the labels, so the pods of a relabelled webhook show as injected by the istiod it really calls (MT1702). A Service in a namespace the set does not hold is not judged (the checker may be given one team's objects); the message of MT2704 says what `failurePolicy` then does and what would settle it.",
    atAdmission: "no (webhooks are cluster-scoped, the platform's)",
    previewOnly: "which istiod each injector webhook calls (needs the webhooks, their Services and the istiod pods)",
    codes: {
        MT2701: "an injector webhook calls the istiod of another revision than the one its labels name",
        MT2702: "an injector webhook calls a Service that reaches no istiod",
        MT2703: "an injector webhook calls a URL, outside the cluster's Services",
        MT2704: "an injector webhook calls a Service the object set does not hold, in a namespace it holds",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        const ugOf = (ns: string) => inventory.usergroupOf(ns) ?? "none";
        for (const w of injectorWebhooks(inventory)) {
            const t = w.target;
            const hook = `webhook ${w.name}`;
            if (t.url !== undefined) {
                findings.push({ code: "MT2703", subject: w.subject, message: `${hook} calls ${t.url}, not an istiod Service: whatever answers there mutates the pods it matches` });
                continue;
            }
            if (t.service === undefined) continue;
            const svc = `Service ${t.service.namespace}/${t.service.name}`;
            if (t.servedBy !== undefined) {
                if (w.claimed !== undefined && w.claimed !== t.servedBy) {
                    findings.push({ code: "MT2701", subject: w.subject, message: `${hook} is labelled for revision ${w.claimed.name} (usergroup ${ugOf(w.claimed.namespace)}) but calls ${svc}, istiod of revision ${t.servedBy.name} (usergroup ${ugOf(t.servedBy.namespace)}): the pods it matches join revision ${t.servedBy.name}` });
                }
                continue;
            }
            if (t.serviceInSet) {
                const selector = (t.serviceObject?.object.spec as any)?.selector;
                const reaches = selector === undefined || Object.keys(selector).length === 0 ? "has no selector (its endpoints are written by hand, outside the set) and is no istiod Service the set renders" : `selects ${JSON.stringify(selector)}, no istiod of the set`;
                findings.push({ code: "MT2702", subject: w.subject, message: `${hook} calls ${svc}, which ${reaches}${ugOf(t.service.namespace) !== "none" ? ` (namespace ${t.service.namespace} is usergroup ${ugOf(t.service.namespace)}'s)` : ""}: whatever it selects mutates the pods it matches` });
                continue;
            }
            // A namespace the set does not hold is not the set's to judge: the checker may be given one team's objects.
            if (!inventory.namespaces.has(t.service.namespace)) continue;
            const claimed = w.claimed !== undefined ? ` (its labels name revision ${w.claimed.name}, whose istiod Service is ${istiodServiceName(w.claimed)} in ${w.claimed.namespace})` : "";
            findings.push({ code: "MT2704", subject: w.subject, message: `${hook} calls ${svc}, which the object set does not hold although it holds namespace ${t.service.namespace}${claimed}; if the cluster has no such Service, ${onFailure(w)}. A Service ${t.service.namespace}/${t.service.name} selecting istiod's pods, or the istiod chart that renders it, in the set would settle it` });
        }
        return findings;
    },
};
