import * as pulumi from "@pulumi/pulumi";
import type { NamespacePlan } from "../plan";
import { contentsLifecycle } from "./lifecycle";
import { registerObject } from "./objects";
import { SmokeWorkloads } from "./smokeWorkloads";
import { TenantGateway } from "./tenantGateway";

export interface TenantNamespaceArgs {
    /** The namespace, its scoping and isolation objects, and its optional gateway. */
    plan: NamespacePlan;
    /** The usergroup's istiod releases and tag injectors: Istio objects are validated and gateways injected by them. */
    controlPlane: pulumi.Resource[];
    /** Do not wait for workloads to become ready (clusters with no nodes). */
    skipAwait: boolean;
}

/**
 * A tenant or shared namespace of one usergroup, scoped and isolated. In a protected stack everything in it is
 * protected with the namespace; a retiring tenant's contents are unprotected and retained, so that the namespace
 * deletion, not the engine, removes them.
 */
export class TenantNamespace extends pulumi.ComponentResource {
    /** The Namespace object. */
    readonly namespace: pulumi.CustomResource;

    constructor(name: string, args: TenantNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = args.plan;
        const contents = { protect: plan.protect && !plan.retire, retain: plan.retire };
        super("mesh-tenancy:index:TenantNamespace", name, {}, {
            ...opts,
            protect: contents.protect,
            transforms: [...(opts?.transforms ?? []), contentsLifecycle(contents)],
        });
        // Never retained: deleting the namespace is how a retired tenant's contents leave the cluster.
        const namespace = registerObject(plan.namespace, { parent: this, protect: plan.protect, retainOnDelete: false });
        this.namespace = namespace;
        const after = [namespace, ...args.controlPlane];
        for (const object of plan.objects) {
            registerObject(object, { parent: this, dependsOn: after });
        }
        if (plan.gateway !== undefined) {
            new TenantGateway(`${name}-gateway`, { plan: plan.gateway, skipAwait: args.skipAwait, dependsOn: after }, { parent: this });
        }
        if (plan.smokeWorkloads !== undefined) {
            new SmokeWorkloads(`${name}-smoke`, { objects: plan.smokeWorkloads }, { parent: this, dependsOn: after });
        }
        this.registerOutputs({});
    }
}
