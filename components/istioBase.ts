import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
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
        super("mesh-tenancy:index:IstioBase", name, {}, clusterWideOptions(args.protect, opts));
        this.chart = installChart(args.release, args.skipAwait, { parent: this, transforms: [retainCustomResourceDefinitions] });
        this.registerOutputs({});
    }
}

export interface GatewayApiCrdsArgs {
    /** A directory of the Gateway API's CRD manifests (`scripts/build-toolchain.sh gateway-api-crds`). */
    directory: string;
    protect: boolean;
}

/** The Kubernetes Gateway API's CRDs, from a directory of their manifests; kept when the stack is destroyed, as Istio's. */
export class GatewayApiCrds extends pulumi.ComponentResource {
    readonly group: pulumi.Resource;

    constructor(name: string, args: GatewayApiCrdsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mesh-tenancy:index:GatewayApiCrds", name, {}, clusterWideOptions(args.protect, opts));
        // index.ts has checked the directory (model/stack.ts checkLocalFiles).
        const files = fs.readdirSync(args.directory).filter((f) => f.endsWith(".yaml")).sort();
        this.group = new k8s.yaml.v2.ConfigGroup(`${name}-manifests`, { files: files.map((f) => path.join(args.directory, f)) }, { parent: this, transforms: [retainCustomResourceDefinitions] });
        this.registerOutputs({});
    }
}

/** A cluster-wide component's options: protected with the namespaces, and so is everything in it. */
function clusterWideOptions(protect: boolean, opts?: pulumi.ComponentResourceOptions): pulumi.ComponentResourceOptions {
    return { ...opts, protect, transforms: [...(opts?.transforms ?? []), contentsLifecycle({ protect, retain: false })] };
}

function retainCustomResourceDefinitions(args: pulumi.ResourceTransformArgs): pulumi.ResourceTransformResult | undefined {
    if (args.type !== "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition") return undefined;
    return { props: args.props, opts: { ...args.opts, retainOnDelete: true } };
}
