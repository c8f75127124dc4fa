import { INJECT_LABEL } from "../semantics/injection";
import { REVISION_LABEL } from "../semantics/labels";
import type { Inventory } from "../semantics/inventory";
import type { Finding, Rule } from "../lib/rule";

export const revisionExists: Rule = {
    id: "MT002",
    name: "revision-exists",
    description: "Every istio.io/rev value on a namespace or pod template names an istiod revision (or revision tag) installed in the same stack or manifest set, and every tag injector points at an installed revision.",
    why: "A revision label that matches no injector leaves pods without sidecars (or, with a failing webhook, unschedulable), and no error says so; a tag left pointing at a removed revision calls an istiod that is gone for every namespace that follows it.",
    defaultEnforcement: "mandatory",
    fix: "Install the revision (add the usergroup to the stack) or relabel the namespace or workload with an installed revision. For a tag: point it at a running revision (in the stack config, `tags`) before removing the revision it points at.",
    atAdmission: "partly: a pod or config revision must be the namespace's own (MT001), and namespace revision labels are the platform's (MT-A2)",
    previewOnly: "whether a revision is installed (needs the istiod objects)",
    codes: { MT0201: "a namespace names no installed revision", MT0202: "a pod template names no installed revision", MT0203: "a tag injector points at a revision that is not installed" },
    check(inventory: Inventory): Finding[] {
        const known = [...inventory.revisions.keys(), ...[...inventory.tags.keys()].map((t) => `tag ${t}`)];
        const missing = (rev: string) => inventory.resolveRevision(rev) === undefined;
        const findings: Finding[] = [];
        for (const ns of inventory.meshedNamespaces()) {
            const rev = ns.labels[REVISION_LABEL];
            if (missing(rev)) findings.push({ code: "MT0201", subject: ns.subject, message: `${REVISION_LABEL}=${rev} names no installed revision (installed: ${known.join(", ") || "none"})` });
        }
        for (const w of inventory.workloads()) {
            const rev = w.labels[REVISION_LABEL];
            // istiod and gateways label their own pods with their revision and opt out of injection.
            if (rev === undefined || w.labels[INJECT_LABEL] === "false" || !missing(rev)) continue;
            findings.push({ code: "MT0202", subject: w.subject, message: `pod template ${REVISION_LABEL}=${rev} names no installed revision (installed: ${known.join(", ") || "none"})` });
        }
        for (const [tag, { revision, subject }] of inventory.danglingTags) {
            findings.push({ code: "MT0203", subject, message: `tag ${tag} points at revision ${revision || "(none)"}, which is not installed (installed: ${[...inventory.revisions.keys()].join(", ") || "none"}); move the tag before removing its revision` });
        }
        return findings;
    },
};
