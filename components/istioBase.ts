import * as pulumi from "@pulumi/pulumi";
import type { ChartRelease } from "../plan";
import { installChart } from "./chart";
import { contentsLifecycle } from "./lifecycle";

export interface IstioBaseArgs {
    /** The base chart release: Istio's CRDs and, with a default revision, the cluster-wide validator. */
    release: ChartRelease;
    /** Do not wait for rendered workloads to become ready (clusters with no nodes). */
    skipAwait: boolean;
    /** Protect everything the chart renders, in a stack whose namespaces are protected. */
    protect: boolean;
}

/** Istio's cluster-wide pieces. CRDs are kept when the stack is destroyed: deleting one deletes every object of its kind. */
export class IstioBase extends pulumi.ComponentResource {
    readonly chart: pulumi.Resource;

    constructor(name: string, args: IstioBaseArgs, opts?: pulumi.ComponentResourceOptions) {
        const contents = { protect: args.protect, retain: false };
        super("mesh-tenancy:index:IstioBase", name, {}, {
            ...opts,
            protect: contents.protect,
            transforms: [...(opts?.transforms ?? []), contentsLifecycle(contents)],
        });
        this.chart = installChart(args.release, args.skipAwait, { parent: this, transforms: [retainCustomResourceDefinitions] });
        this.registerOutputs({});
    }
}

function retainCustomResourceDefinitions(args: pulumi.ResourceTransformArgs): pulumi.ResourceTransformResult | undefined {
    if (args.type !== "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition") return undefined;
    return { props: args.props, opts: { ...args.opts, retainOnDelete: true } };
}
