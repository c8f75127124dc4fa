import { injectorWebhooks, sharedProbe } from "../semantics/injection";
import type { Inventory } from "../semantics/inventory";
import { meshView } from "../semantics/reachability";
import { describeWorkload } from "../semantics/workloads";
import type { Finding, Rule } from "../lib/rule";

const labelled = (what: string, labels: Record<string, string>) => (Object.keys(labels).length === 0 ? `any ${what}` : `${what}s labelled ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(", ")}`);

export const injectorOverlap: Rule = {
    id: "MT018",
    name: "one-injector-per-pod",
    description: "No namespace and no workload is matched by the injector webhooks of two revisions, and no two injector webhook configurations accept the same namespace and pod labels.",
    why: "The API server calls every mutating webhook that matches; the first to run injects its revision's proxy and the other skips the already injected pod. Which control plane a pod joins then depends on webhook order, across usergroups. Two configurations that accept the same labels make every such pod wait on both, even of one revision, and one whose istiod does not answer refuses the pod (failurePolicy Fail), whichever namespace gets those labels next.",
    defaultEnforcement: "mandatory",
    fix: "Give each revision's (and tag's) injector webhook selectors that match only its usergroup's `istio.io/rev` values; remove stray injector configurations of removed revisions (an MT1802 finding names the Service each webhook calls).",
    atAdmission: "no (webhooks are cluster-scoped, the platform's)",
    previewOnly: "injector webhook overlap",
    codes: {
        MT1801: "injector webhooks of two revisions match the same pods",
        MT1802: "two injector webhook configurations accept the same namespace and pod labels",
    },
    check(inventory: Inventory): Finding[] {
        const view = meshView(inventory);
        const findings: Finding[] = [];
        for (const ns of inventory.namespaces.keys()) {
            const candidates = [view.defaultView(ns)!.workload, ...inventory.workloadsIn(ns)];
            for (const w of candidates) {
                const matched = view.view(w).injection.matched;
                const revisions = [...new Set(matched.map((i) => i.revision.name))];
                if (revisions.length < 2) continue;
                const hooks = matched.map((i) => `${i.name} (revision ${i.revision.name}${i.via !== i.revision.name ? ` via ${i.via}` : ""})`);
                findings.push({ code: "MT1801", subject: w.subject, message: `${describeWorkload(w)} is matched by injectors of revisions ${revisions.join(", ")}: ${hooks.join(", ")}` });
            }
        }
        // The configurations in the set, probed with the labels each pair of their webhooks requires, whether or not a
        // namespace carries them yet.
        const registered = injectorWebhooks(inventory);
        const calls = (w: (typeof registered)[number]) => (w.revision !== undefined ? `revision ${w.revision.name}` : `calling ${w.calls}, which no istiod of the set serves`);
        const reported = new Set<string>();
        for (let x = 0; x < registered.length; x++) {
            for (let y = 0; y < x; y++) {
                const [a, b] = [registered[x], registered[y]];
                if (a.subject === b.subject) continue;
                const probe = sharedProbe(a, b);
                if (probe === undefined) continue;
                for (const [self, other] of [[a, b], [b, a]] as const) {
                    const key = `${self.subject.object.metadata.name}\u0000${other.subject.object.metadata.name}`;
                    if (reported.has(key)) continue;
                    reported.add(key);
                    findings.push({
                        code: "MT1802",
                        subject: self.subject,
                        message: `its webhook ${self.name} (${calls(self)}) and ${other.name} of MutatingWebhookConfiguration ${other.subject.object.metadata.name} (${calls(other)}) both accept ${labelled("pod", probe.pod)} in ${labelled("namespace", probe.namespace)}: the API server calls both for such pods`,
                    });
                }
            }
        }
        return findings;
    },
};
