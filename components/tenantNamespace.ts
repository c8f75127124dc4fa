import * as pulumi from "@pulumi/pulumi";
import { ISOLATION_KINDS, isGrant } from "../plan";
import type { NamespacePlan, PlannedObject } from "../plan";
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
        // The namespace's isolation first; what lets anyone run or write in it (its owners' RoleBindings, its gateway,
        // its smoke workloads) only once all of it exists, so that an update stopped part-way never leaves a namespace
        // with a grant or a workload and without its isolation, and a delete takes the grants away first.
        const isolation: pulumi.Resource[] = [];
        for (const object of plan.objects.filter((o) => ISOLATION_KINDS.has(o.object.kind))) {
            isolation.push(registerObject(object, { parent: this, dependsOn: this.waitsFor(object, after, namespace), ...contentsOptions(contents) }, local));
        }
        for (const object of plan.objects.filter((o) => !ISOLATION_KINDS.has(o.object.kind))) {
            const dependsOn = isGrant(object.object) ? [...this.waitsFor(object, after, namespace), ...isolation] : this.waitsFor(object, after, namespace);
            registerObject(object, { parent: this, dependsOn, ...contentsOptions(contents) }, local);
        }
        const delegated = { parent: this, protect: contents.protect, transforms: delegatedTransforms(contents, local) };
        if (plan.gateway !== undefined) {
            new TenantGateway(`${name}-gateway`, { plan: plan.gateway, skipAwait: local, dependsOn: [...after, ...isolation] }, delegated);
        }
        if (plan.smokeWorkloads !== undefined) {
            new SmokeWorkloads(`${name}-smoke`, { objects: plan.smokeWorkloads }, { ...delegated, dependsOn: [...after, ...isolation] });
        }
        this.registerOutputs({});
    }

    /**
     * Istio's objects wait for the usergroup's istiod (its validating webhook must answer them); Kubernetes' own
     * (NetworkPolicies, RoleBindings, quotas) only for the namespace, so they neither wait for the charts to be rendered
     * on every run nor leave the namespace unisolated longer than needed on the first.
     */
    private waitsFor(object: PlannedObject, after: pulumi.Resource[], namespace: pulumi.Resource): pulumi.Resource[] {
        return object.object.apiVersion.includes("istio.io/") ? after : [namespace];
    }
}
