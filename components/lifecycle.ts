import * as pulumi from "@pulumi/pulumi";
import { localClusterTransform } from "./localCluster";

export interface ContentsLifecycle {
    /** Refuse to delete anything in the namespace. */
    protect: boolean;
    /**
     * Leave everything in the namespace in the cluster when it leaves the stack: the namespace deletion takes it.
     * When false, what a resource says for itself (the base chart's retained CRDs) stands.
     */
    retain: boolean;
}

/**
 * A transform for a namespace's (or the base chart's) component that applies to everything registered under it, including the objects
 * Helm charts render inside the provider, which no option set in the program reaches. The namespace object itself
 * is registered with its own options and left alone.
 *
 * Protecting only the namespace is not enough: a `destroy --skip-preview`, or an update that drops a tenant, deletes
 * the objects inside first (they depend on the namespace) and stops at the namespace, which is left meshed with no
 * Sidecar, AuthorizationPolicy or NetworkPolicy at all.
 */
export function contentsLifecycle(lifecycle: ContentsLifecycle): pulumi.ResourceTransform {
    return (args) => {
        // The engine applies a resource's transforms to the resource itself too, and children inherit its retainOnDelete:
        // the component and the namespace keep their own options, or a retiring namespace would be retained, not deleted.
        if (!args.custom || args.type === "kubernetes:core/v1:Namespace") return undefined;
        return { props: args.props, opts: { ...args.opts, protect: lifecycle.protect, ...(lifecycle.retain ? { retainOnDelete: true } : {}) } };
    };
}

/** The options of an object the program registers itself inside a namespace (not the namespace): what the transform would set. */
export function contentsOptions(lifecycle: ContentsLifecycle): pulumi.CustomResourceOptions {
    return { protect: lifecycle.protect, ...(lifecycle.retain ? { retainOnDelete: true } : {}) };
}

/**
 * The transforms of a child component whose objects the program does not register itself (a Helm chart's, rendered in
 * the provider; kubernetesx's workloads). Only there: the engine calls back into the program for every resource under
 * a component with transforms, which at thousands of objects costs more than registering them.
 */
export function delegatedTransforms(lifecycle: ContentsLifecycle, localCluster: boolean): pulumi.ResourceTransform[] {
    return [contentsLifecycle(lifecycle), ...(localCluster ? [localClusterTransform] : [])];
}
