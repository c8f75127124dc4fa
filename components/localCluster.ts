import * as pulumi from "@pulumi/pulumi";

/** Kinds whose readiness the Kubernetes provider waits for; with no nodes and no controllers they never become ready. */
const AWAITED_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "Pod", "Service", "ReplicaSet", "ResourceQuota"]);

/**
 * An object as it is applied to a throwaway control plane with no nodes and no controllers beyond the API server: the
 * provider skips readiness waits and deletes in the background, so deletes do not wait for a garbage collector. Never
 * for real clusters, where both waits are what make `pulumi up` trustworthy.
 */
export function forLocalCluster<T extends { metadata?: { annotations?: Record<string, string> } }>(kind: string, object: T): T {
    const metadata = { ...(object.metadata ?? {}) };
    const annotations: Record<string, string> = { ...(metadata.annotations ?? {}), "pulumi.com/deletionPropagationPolicy": "background" };
    if (AWAITED_KINDS.has(kind)) annotations["pulumi.com/skipAwait"] = "true";
    metadata.annotations = annotations;
    return { ...object, metadata };
}

/**
 * {@link forLocalCluster} for what a component's children register without the program (objects a Helm chart renders
 * in the provider, kubernetesx's workloads). Objects the program registers itself get it in `registerObject`: a
 * transform costs the engine a call back into the program for every resource under the component.
 */
export function localClusterTransform(args: pulumi.ResourceTransformArgs): pulumi.ResourceTransformResult | undefined {
    if (!args.type.startsWith("kubernetes:") || args.type.startsWith("kubernetes:helm.sh/") || args.type === "pulumi:providers:kubernetes") {
        return undefined;
    }
    return { props: forLocalCluster(args.type.slice(args.type.lastIndexOf(":") + 1), args.props), opts: args.opts };
}
