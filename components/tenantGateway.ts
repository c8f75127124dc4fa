import * as pulumi from "@pulumi/pulumi";
import type { GatewayPlan } from "../plan";
import { installChart } from "./chart";
import { registerObject } from "./objects";

export interface TenantGatewayArgs {
    /** The tenant's gateway release and its `Gateway`, AuthorizationPolicy and NetworkPolicy. */
    plan: GatewayPlan;
    /** Do not wait for the gateway pods to become ready (clusters with no nodes). */
    skipAwait: boolean;
    /** The tenant namespace and the usergroup's istiod, whose injector must exist before gateway pods start. */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * A per-tenant ingress gateway: its own pods, selected only by its own `Gateway`: the gateway chart's with an Istio
 * Gateway, or those istiod deploys for a Gateway API Gateway.
 */
export class TenantGateway extends pulumi.ComponentResource {
    constructor(name: string, args: TenantGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mesh-tenancy:index:TenantGateway", name, {}, opts);
        // A Gateway API Gateway has no chart: the namespace's istiod deploys its pods once the Gateway exists.
        const chart = args.plan.release !== undefined ? [installChart(args.plan.release, args.skipAwait, { parent: this, dependsOn: args.dependsOn })] : [];
        for (const object of args.plan.objects) {
            registerObject(object, { parent: this, dependsOn: [...chart, ...args.dependsOn] });
        }
        this.registerOutputs({});
    }
}
