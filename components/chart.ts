import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ChartRelease } from "../plan";

/** A Helm release rendered by the Kubernetes provider, so its objects show in previews and reach the policy pack. */
export function installChart(release: ChartRelease, skipAwait: boolean, opts: pulumi.ComponentResourceOptions): k8s.helm.v4.Chart {
    return new k8s.helm.v4.Chart(
        release.resourceName,
        {
            chart: release.chart,
            version: release.version,
            repositoryOpts: release.repository !== undefined ? { repo: release.repository } : undefined,
            name: release.releaseName,
            namespace: release.namespace,
            values: release.values,
            skipAwait,
        },
        opts,
    );
}
