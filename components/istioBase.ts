import * as pulumi from "@pulumi/pulumi";
import type { ChartRelease } from "../plan";
import { installChart } from "./chart";

export interface IstioBaseArgs {
    /** The base chart release: Istio's CRDs and, with a default revision, the cluster-wide validator. */
    release: ChartRelease;
    /** Do not wait for rendered workloads to become ready (clusters with no nodes). */
    skipAwait: boolean;
}

/** Istio's cluster-wide pieces. CRDs are kept when the stack is destroyed: deleting one deletes every object of its kind. */
export class IstioBase extends pulumi.ComponentResource {
    readonly chart: pulumi.Resource;

    constructor(name: string, args: IstioBaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mesh-tenancy:index:IstioBase", name, {}, opts);
        this.chart = installChart(args.release, args.skipAwait, { parent: this, transforms: [retainCustomResourceDefinitions] });
        this.registerOutputs({});
    }
}

function retainCustomResourceDefinitions(args: pulumi.ResourceTransformArgs): pulumi.ResourceTransformResult | undefined {
    if (args.type !== "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition") return undefined;
    return { props: args.props, opts: { ...args.opts, retainOnDelete: true } };
}
