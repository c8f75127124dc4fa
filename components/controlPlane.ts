import * as pulumi from "@pulumi/pulumi";
import type { ControlPlanePlan } from "../plan";
import { installChart } from "./chart";
import { contentsLifecycle } from "./lifecycle";
import { registerObject } from "./objects";

export interface ControlPlaneArgs {
    /** The usergroup's control plane: system namespace, an istiod release per revision, tags, STRICT mTLS and root Sidecar. */
    plan: ControlPlanePlan;
    /** Do not wait for istiod to become ready (clusters with no nodes). */
    skipAwait: boolean;
    /** Resources istiod needs first: the base chart with the CRDs. */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * A usergroup's control plane in its own system namespace: one istiod revision, or two during an upgrade. When the
 * namespace is protected, so is istiod and everything else in it: tenants left meshed to a revision whose istiod was
 * deleted get no proxies for new pods.
 */
export class ControlPlane extends pulumi.ComponentResource {
    /** The istiod releases and tag injectors; Istio objects and gateways of this usergroup wait for them. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
        const contents = { protect: args.plan.protect, retain: false };
        super("mesh-tenancy:index:ControlPlane", name, {}, {
            ...opts,
            protect: contents.protect,
            transforms: [...(opts?.transforms ?? []), contentsLifecycle(contents)],
        });
        const namespace = registerObject(args.plan.namespace, { parent: this, protect: args.plan.protect });
        // An istiod that starts before its plugged-in CA exists makes a root of its own and keeps it.
        const ca = args.plan.caSecret === undefined ? [] : [registerObject(args.plan.caSecret, { parent: this, dependsOn: [namespace] })];
        const istiods = args.plan.revisions.map((r) => installChart(r.istiod, args.skipAwait, { parent: this, dependsOn: [namespace, ...ca, ...args.dependsOn] }));
        for (const object of args.plan.objects) {
            registerObject(object, { parent: this, dependsOn: istiods });
        }
        const tags = args.plan.tags.map((t) => registerObject(t.webhook, { parent: this, dependsOn: istiods }));
        this.ready = [...istiods, ...tags];
        this.registerOutputs({});
    }
}
