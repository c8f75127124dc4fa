import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlannedObject } from "../plan";

/**
 * Registers one planned Kubernetes object. Core kinds get their typed resource (so previews and policies see
 * `kubernetes:core/v1:Namespace`, not a generic type); Istio kinds are CustomResources.
 */
export function registerObject(planned: PlannedObject, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
    const { resourceName: name, object } = planned;
    const args = object as Record<string, any>;
    switch (`${object.apiVersion}/${object.kind}`) {
        case "v1/Namespace":
            return new k8s.core.v1.Namespace(name, args, opts);
        case "v1/ResourceQuota":
            return new k8s.core.v1.ResourceQuota(name, args, opts);
        case "networking.k8s.io/v1/NetworkPolicy":
            return new k8s.networking.v1.NetworkPolicy(name, args, opts);
        case "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration":
            return new k8s.admissionregistration.v1.MutatingWebhookConfiguration(name, args as k8s.admissionregistration.v1.MutatingWebhookConfigurationArgs, opts);
        case "rbac.authorization.k8s.io/v1/RoleBinding":
            return new k8s.rbac.v1.RoleBinding(name, args as k8s.rbac.v1.RoleBindingArgs, opts);
        default:
            return new k8s.apiextensions.CustomResource(name, args as k8s.apiextensions.CustomResourceArgs, opts);
    }
}
