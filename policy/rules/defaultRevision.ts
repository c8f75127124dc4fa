import type { Inventory } from "../semantics/inventory";
import type { Finding, Rule } from "../lib/rule";

export const defaultRevision: Rule = {
    id: "MT011",
    name: "default-revision-exists",
    description: "The base chart's defaultRevision (or a rendered istiod-default-validator) is empty or names a revision installed in the namespace it points at.",
    why: "The default validator is cluster-wide: pointed at a revision or namespace that does not exist, it either rejects every Istio object (failurePolicy Fail) or validates nothing.",
    defaultEnforcement: "mandatory",
    fix: "Set the base chart's `defaultRevision` to `\"\"`, or to a usergroup whose istiod runs in the namespace the validator calls (`istio.defaultRevision` in the stack config).",
    atAdmission: "no",
    previewOnly: "the base chart's default revision",
    codes: {
        MT1101: "the default revision names no installed revision",
        MT1102: "the default validator calls an istiod in another namespace than the default revision's",
    },
    check(inventory: Inventory): Finding[] {
        const findings: Finding[] = [];
        for (const d of inventory.defaultRevisions) {
            if (d.revision === "") continue;
            const rev = inventory.revisions.get(d.revision);
            if (rev === undefined) {
                findings.push({ code: "MT1101", subject: d.subject, message: `defaultRevision "${d.revision}" names no installed revision (installed: ${[...inventory.revisions.keys()].join(", ") || "none"}); set it to "" or to a revision` });
            } else if (rev.namespace !== d.namespace) {
                findings.push({ code: "MT1102", subject: d.subject, message: `default validator calls istiod-${d.revision} in ${d.namespace}, but revision ${d.revision} runs in ${rev.namespace}` });
            }
        }
        return findings;
    },
};
