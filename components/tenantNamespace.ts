import * as pulumi from "@pulumi/pulumi";
import type { NamespacePlan } from "../plan";
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

/** A tenant or shared namespace of one usergroup, scoped and isolated. */
export class TenantNamespace extends pulumi.ComponentResource {
    constructor(name: string, args: TenantNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mesh-tenancy:index:TenantNamespace", name, {}, opts);
        const plan = args.plan;
        const namespace = registerObject(plan.namespace, { parent: this, protect: plan.protect });
        const after = [namespace, ...args.controlPlane];
        for (const object of plan.objects) {
            registerObject(object, { parent: this, dependsOn: after });
        }
        if (plan.gateway !== undefined) {
            new TenantGateway(`${name}-gateway`, { plan: plan.gateway, skipAwait: args.skipAwait, dependsOn: after }, { parent: this });
        }
        if (plan.smokeWorkloads) {
            new SmokeWorkloads(`${name}-smoke`, { namespace: plan.name, exportTo: plan.serviceExportTo }, { parent: this, dependsOn: after });
        }
        this.registerOutputs({});
    }
}
