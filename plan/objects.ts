import { MANAGED_BY, MANAGED_BY_LABEL, NamespaceRole, ROLE_LABEL, USERGROUP_LABEL } from "../policy/semantics/labels";
import type { KubeObject } from "../policy/semantics/objects";

export type { KubeObject } from "../policy/semantics/objects";

/** An object the program registers, with the Pulumi resource name it is registered under. */
export interface PlannedObject {
    /** Pulumi resource name: derived from stable keys (namespace and role), never from list positions. */
    resourceName: string;
    object: KubeObject;
}

/** The label that marks an object as the platform's (the admission guardrails judge changes to objects carrying it). */
export function managedLabels(): Record<string, string> {
    return { [MANAGED_BY_LABEL]: MANAGED_BY };
}

/** A Namespace with its usergroup, its role and the platform's label, beside any labels and annotations of its own. */
export function namespaceObject(name: string, role: NamespaceRole, usergroup: string, extra: Record<string, string>, annotations: Record<string, string>): PlannedObject {
    return {
        resourceName: `${name}-ns`,
        object: {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name, labels: { ...extra, [USERGROUP_LABEL]: usergroup, [ROLE_LABEL]: role, ...managedLabels() }, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
        },
    };
}
