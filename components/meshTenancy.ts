import * as pulumi from "@pulumi/pulumi";
import type { TenancyPlan } from "../plan";
import { ControlPlane } from "./controlPlane";
import { Guardrails } from "./guardrails";
import { GatewayApiCrds, IstioBase } from "./istioBase";
import { localClusterTransform } from "./localCluster";
import { TenantNamespace } from "./tenantNamespace";

export interface MeshTenancyArgs {
    /** The desired tenancy, from `planTenancy`. */
    plan: TenancyPlan;
}

/**
 * The multi-tenant mesh: base, one control plane per usergroup, every tenant and shared namespace, and the guardrails;
 * or the share of them the stack's part names (`plan.part`), the rest being deployed by the environment's other stacks.
 */
export class MeshTenancy extends pulumi.ComponentResource {
    /** Every tenant and shared namespace's component this stack registers, by namespace name. */
    readonly namespaces = new Map<string, TenantNamespace>();

    constructor(name: string, args: MeshTenancyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mesh-tenancy:index:MeshTenancy", name, {}, opts);
        const plan = args.plan;
        const part = plan.part;
        const localCluster = plan.localCluster;
        const skipAwait = localCluster;
        // The cluster-wide pieces and control planes are few objects, most of them rendered by charts: one transform
        // each covers them; the namespaces (thousands of objects) register theirs ready-made.
        const few = { parent: this, transforms: localCluster ? [localClusterTransform] : [] };
        // In a usergroup part without it, the base chart (and its CRDs) is the first part's: already deployed.
        const base = part.base ? [new IstioBase("istio-base", { release: plan.base, skipAwait, protect: plan.protectBase }, few).chart] : [];
        if (part.base && plan.gatewayApiCrds !== undefined) base.push(new GatewayApiCrds("gateway-api-crds", { directory: plan.gatewayApiCrds.directory, protect: plan.protectBase }, few).group);
        const readyByUsergroup = new Map<string, pulumi.Resource[]>();
        for (const cp of plan.controlPlanes.filter((c) => part.usergroups.includes(c.usergroup))) {
            const controlPlane = new ControlPlane(cp.usergroup, { plan: cp, skipAwait, dependsOn: base }, few);
            readyByUsergroup.set(cp.usergroup, controlPlane.ready);
        }
        for (const ns of plan.namespaces.filter((n) => part.usergroups.includes(n.usergroup))) {
            this.namespaces.set(ns.name, new TenantNamespace(ns.name, { plan: ns, controlPlane: readyByUsergroup.get(ns.usergroup)!, localCluster }, { parent: this }));
        }
        if (part.guardrails) new Guardrails("guardrails", { plan: plan.guardrails }, few);
        this.registerOutputs({});
    }
}
