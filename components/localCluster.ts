import * as pulumi from "@pulumi/pulumi";

/** Kinds whose readiness the Kubernetes provider waits for; with no nodes and no controllers they never become ready. */
const AWAITED_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "Pod", "Service", "ReplicaSet", "ResourceQuota"]);

/**
 * A stack transform for throwaway control planes with no nodes and no controllers beyond the API server: skip
 * readiness waits, and delete in the background so deletes do not wait for a garbage collector. Never for real
 * clusters, where both waits are what make `pulumi up` trustworthy.
 */
export function localClusterTransform(args: pulumi.ResourceTransformArgs): pulumi.ResourceTransformResult | undefined {
    if (!args.type.startsWith("kubernetes:") || args.type.startsWith("kubernetes:helm.sh/") || args.type === "pulumi:providers:kubernetes") {
        return undefined;
    }
    const kind = args.type.slice(args.type.lastIndexOf(":") + 1);
    const metadata = { ...(args.props.metadata ?? {}) };
    const annotations: Record<string, string> = { ...(metadata.annotations ?? {}), "pulumi.com/deletionPropagationPolicy": "background" };
    if (AWAITED_KINDS.has(kind)) annotations["pulumi.com/skipAwait"] = "true";
    metadata.annotations = annotations;
    return { props: { ...args.props, metadata }, opts: args.opts };
}
