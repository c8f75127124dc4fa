import type { KubeObject } from "../policy/semantics/objects";

export type { KubeObject } from "../policy/semantics/objects";

/** An object the program registers, with the Pulumi resource name it is registered under. */
export interface PlannedObject {
    /** Pulumi resource name: derived from stable keys (namespace and role), never from list positions. */
    resourceName: string;
    object: KubeObject;
}
