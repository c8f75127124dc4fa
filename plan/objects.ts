/** A Kubernetes object as the API server would hold it; the unit that plans, components and policy rules share. */
export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: {
        name: string;
        namespace?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
    };
    spec?: Record<string, unknown>;
    data?: Record<string, string>;
    [key: string]: unknown;
}

/** An object the program registers, with the Pulumi resource name it is registered under. */
export interface PlannedObject {
    /** Pulumi resource name: derived from stable keys (namespace and role), never from list positions. */
    resourceName: string;
    object: KubeObject;
}
