import { MANAGED_BY, MANAGED_BY_LABEL, NamespaceRole, ROLE_LABEL, USERGROUP_LABEL } from "../policy/semantics/labels";
import type { KubeObject } from "../policy/semantics/objects";

export type { KubeObject } from "../policy/semantics/objects";

/** An object the program registers, with the Pulumi resource name it is registered under. */
export interface PlannedObject {
    /** Pulumi resource name: derived from stable keys (namespace and role), never from list positions. */
    resourceName: string;
    object: KubeObject;
}

/**
 * The kinds whose objects make a namespace's isolation real: what it imports (Sidecar), mTLS (PeerAuthentication), who
 * may call in (AuthorizationPolicy) and which packets arrive (NetworkPolicy). Whatever lets something run or write in a
 * namespace (its owners' RoleBindings, its gateway, its workloads) is created after them and removed before them.
 */
export const ISOLATION_KINDS: ReadonlySet<string> = new Set(["Sidecar", "PeerAuthentication", "AuthorizationPolicy", "NetworkPolicy"]);

/** Whether the object grants someone rights in a namespace (a RoleBinding): it waits for the namespace's isolation. */
export function isGrant(o: KubeObject): boolean {
    return o.kind === "RoleBinding";
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
