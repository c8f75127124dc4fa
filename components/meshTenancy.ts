import * as pulumi from "@pulumi/pulumi";
import type { TenancyPlan } from "../plan";
import { ControlPlane } from "./controlPlane";
import { Guardrails } from "./guardrails";
import { IstioBase } from "./istioBase";
import { TenantNamespace } from "./tenantNamespace";

export interface MeshTenancyArgs {
    /** The desired tenancy, from `planTenancy`. */
    plan: TenancyPlan;
}

/** The whole multi-tenant mesh: base, one control plane per usergroup, and every tenant and shared namespace. */
export class MeshTenancy extends pulumi.ComponentResource {
    /** Every tenant and shared namespace's component, by namespace name. */
    readonly namespaces = new Map<string, TenantNamespace>();

    constructor(name: string, args: MeshTenancyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mesh-tenancy:index:MeshTenancy", name, {}, opts);
        const plan = args.plan;
        const skipAwait = plan.localCluster;
        const base = new IstioBase("istio-base", { release: plan.base, skipAwait, protect: plan.protectBase }, { parent: this });
        const readyByUsergroup = new Map<string, pulumi.Resource[]>();
        for (const cp of plan.controlPlanes) {
            const controlPlane = new ControlPlane(cp.usergroup, { plan: cp, skipAwait, dependsOn: [base.chart] }, { parent: this });
            readyByUsergroup.set(cp.usergroup, controlPlane.ready);
        }
        for (const ns of plan.namespaces) {
            this.namespaces.set(ns.name, new TenantNamespace(ns.name, { plan: ns, controlPlane: readyByUsergroup.get(ns.usergroup)!, skipAwait }, { parent: this }));
        }
        new Guardrails("guardrails", { plan: plan.guardrails }, { parent: this });
        this.registerOutputs({});
    }
}
