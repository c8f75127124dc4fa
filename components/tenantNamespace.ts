import * as pulumi from "@pulumi/pulumi";
import type { NamespacePlan } from "../plan";
import { registerObject } from "./objects";
import { SmokeWorkloads } from "./smokeWorkloads";
import { TenantGateway } from "./tenantGateway";

export interface TenantNamespaceArgs {
    /** The namespace, its scoping and isolation objects, and its optional gateway. */
    plan: NamespacePlan;
    /** The usergroup's istiod release: Istio objects are validated by it and gateways are injected by it. */
    istiod: pulumi.Input<pulumi.Resource>;
    /** Do not wait for workloads to become ready (clusters with no nodes). */
    skipAwait: boolean;
}

/** A tenant or shared namespace of one usergroup, scoped and isolated. */
export class TenantNamespace extends pulumi.ComponentResource {
    constructor(name: string, args: TenantNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mesh-tenancy:index:TenantNamespace", name, {}, opts);
        const plan = args.plan;
        const namespace = registerObject(plan.namespace, { parent: this, protect: plan.protect });
        // The guardrail bindings refuse objects in a tenant namespace without its parameters, the platform's own too.
        const params = plan.guardrailParams !== undefined ? [registerObject(plan.guardrailParams, { parent: this, dependsOn: [namespace] })] : [];
        const after = [namespace, args.istiod, ...params];
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
