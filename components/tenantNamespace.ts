import * as pulumi from "@pulumi/pulumi";
import type { NamespacePlan } from "../plan";
import { contentsOptions, delegatedTransforms } from "./lifecycle";
import { registerObject } from "./objects";
import { SmokeWorkloads } from "./smokeWorkloads";
import { TenantGateway } from "./tenantGateway";

export interface TenantNamespaceArgs {
    /** The namespace, its scoping and isolation objects, and its optional gateway. */
    plan: NamespacePlan;
    /** The usergroup's istiod releases and tag injectors: Istio objects are validated and gateways injected by them. */
    controlPlane: pulumi.Resource[];
    /** A throwaway local control plane with no nodes: no readiness waits, deletes in the background. */
    localCluster: boolean;
}

/**
 * A tenant or shared namespace of one usergroup, scoped and isolated. In a protected stack everything in it is
 * protected with the namespace; a retiring tenant's contents are unprotected and retained, so that the namespace
 * deletion, not the engine, removes them. The objects registered here carry those options themselves; only the gateway
 * and smoke-workload components, whose objects the chart and kubernetesx create, get them by transform.
 */
export class TenantNamespace extends pulumi.ComponentResource {
    /** The Namespace object. */
    readonly namespace: pulumi.CustomResource;

    constructor(name: string, args: TenantNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = args.plan;
        const contents = { protect: plan.protect && !plan.retire, retain: plan.retire };
        super("mesh-tenancy:index:TenantNamespace", name, {}, { ...opts, protect: contents.protect });
        const local = args.localCluster;
        // Never retained: deleting the namespace is how a retired tenant's contents leave the cluster.
        const namespace = registerObject(plan.namespace, { parent: this, protect: plan.protect, retainOnDelete: false }, local);
        this.namespace = namespace;
        const after = [namespace, ...args.controlPlane];
        for (const object of plan.objects) {
            // Istio's objects wait for the usergroup's istiod (its validating webhook must answer them); Kubernetes' own
            // (NetworkPolicies, RoleBindings, quotas) only for the namespace, so they neither wait for the charts to be
            // rendered on every run nor leave the namespace unisolated longer than needed on the first.
            const dependsOn = object.object.apiVersion.includes("istio.io/") ? after : [namespace];
            registerObject(object, { parent: this, dependsOn, ...contentsOptions(contents) }, local);
        }
        const delegated = { parent: this, protect: contents.protect, transforms: delegatedTransforms(contents, local) };
        if (plan.gateway !== undefined) {
            new TenantGateway(`${name}-gateway`, { plan: plan.gateway, skipAwait: local, dependsOn: after }, delegated);
        }
        if (plan.smokeWorkloads !== undefined) {
            new SmokeWorkloads(`${name}-smoke`, { objects: plan.smokeWorkloads }, { ...delegated, dependsOn: after });
        }
        this.registerOutputs({});
    }
}
