import type { ChartSource } from "../model/config";

/** A Helm chart release: which chart, from where, into which namespace, with which values. */
export interface ChartRelease {
    /** Pulumi resource name of the release. */
    resourceName: string;
    /** Helm release name (drives names and labels inside the chart). */
    releaseName: string;
    namespace: string;
    /** Chart reference as Helm takes it: a name in `repository`, an `oci://` reference, or a local directory. */
    chart: string;
    /** Helm repository URL, when the chart is a name in a repository. */
    repository?: string;
    version: string;
    values: Record<string, unknown>;
}

type ChartName = "base" | "istiod" | "gateway";

/** Where Helm finds one of the Istio charts, for each kind of chart source. */
export function chartLocation(source: ChartSource, name: ChartName): { chart: string; repository?: string } {
    if (source.directory !== undefined) return { chart: `${source.directory.replace(/\/+$/, "")}/${name}` };
    const repository = source.repository!;
    if (repository.startsWith("oci://")) return { chart: `${repository.replace(/\/+$/, "")}/${name}` };
    return { chart: name, repository };
}
