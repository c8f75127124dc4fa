import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlannedObject } from "../plan";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../policy/semantics/labels";
import { forLocalCluster } from "./localCluster";
import { outputsUnread } from "../runtime/sdkOutputs";

/**
 * The Kubernetes provider's per-object switch for server-side apply conflicts: with it, an update takes back every
 * field the object declares from whichever manager changed it (`kubectl patch`, `kubectl edit`, a controller).
 */
export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

/**
 * Registers one planned Kubernetes object. Core kinds get their typed resource (so previews and policies see
 * `kubernetes:core/v1:Namespace`, not a generic type); Istio kinds are CustomResources.
 *
 * Objects the plan marks as the platform's (the managed-by label) carry the patch-force annotation, so that
 * `pulumi up --refresh` repairs drift in them instead of stopping at a field conflict: an isolation object that
 * someone widened by hand must not stay wide because the hand edit now owns the field. Forcing takes back only the
 * fields the plan declares; what others add beside them (labels, annotations) stays theirs. Tenants' own objects are
 * never registered here. On a throwaway local control plane (`localCluster`) the object is applied as
 * {@link forLocalCluster} says. The program never reads what the engine returns for the object (runtime/sdkOutputs.ts):
 * its output properties are the inputs it was given, its URN and ID are as always.
 */
export function registerObject(planned: PlannedObject, opts: pulumi.CustomResourceOptions, localCluster = false): pulumi.CustomResource {
    const resource = newObject(planned, opts, localCluster);
    outputsUnread(resource);
    return resource;
}

function newObject(planned: PlannedObject, opts: pulumi.CustomResourceOptions, localCluster: boolean): pulumi.CustomResource {
    const { resourceName: name } = planned;
    const managed = planned.object.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY ? withPatchForce(planned.object) : planned.object;
    const object = localCluster ? forLocalCluster(managed.kind, managed) : managed;
    const args = object as Record<string, any>;
    switch (`${object.apiVersion}/${object.kind}`) {
        case "v1/Namespace":
            return new k8s.core.v1.Namespace(name, args, opts);
        case "v1/Secret":
            // Key material: kept secret in the state and in every preview, whatever the plan's copy is.
            return new k8s.core.v1.Secret(name, { ...args, stringData: pulumi.secret(args.stringData) }, opts);
        case "v1/ConfigMap":
            return new k8s.core.v1.ConfigMap(name, args, opts);
        case "v1/ResourceQuota":
            return new k8s.core.v1.ResourceQuota(name, args, opts);
        case "networking.k8s.io/v1/NetworkPolicy":
            return new k8s.networking.v1.NetworkPolicy(name, args, opts);
        case "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration":
            return new k8s.admissionregistration.v1.MutatingWebhookConfiguration(name, args as k8s.admissionregistration.v1.MutatingWebhookConfigurationArgs, opts);
        case "rbac.authorization.k8s.io/v1/RoleBinding":
            return new k8s.rbac.v1.RoleBinding(name, args as k8s.rbac.v1.RoleBindingArgs, opts);
        case "rbac.authorization.k8s.io/v1/ClusterRole":
            return new k8s.rbac.v1.ClusterRole(name, args, opts);
        case "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy":
            return new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(name, args, opts);
        case "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding":
            return new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(name, args as k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingArgs, opts);
        default:
            return new k8s.apiextensions.CustomResource(name, args as k8s.apiextensions.CustomResourceArgs, opts);
    }
}

function withPatchForce(object: PlannedObject["object"]): PlannedObject["object"] {
    const metadata = object.metadata;
    return { ...object, metadata: { ...metadata, annotations: { ...(metadata.annotations ?? {}), [PATCH_FORCE_ANNOTATION]: "true" } } };
}
