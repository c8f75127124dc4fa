import * as k8s from "@pulumi/kubernetes";
import type { ChartRelease, PlannedObject, TenancyPlan } from "../plan";

/** One resource of the flat baseline: a Kubernetes object or a chart release, with its resource name and protect. */
export type FlatResource = { object: PlannedObject; protect: boolean } | { chart: ChartRelease };

/**
 * The resources the program registers, as a flat list, so that the baseline registers the same types, names and
 * inputs. Computed before the baseline's clock starts: the baseline has no config, no plan and no validation.
 */
export function flatResources(plan: TenancyPlan): FlatResource[] {
    const out: FlatResource[] = [{ chart: plan.base }];
    for (const cp of plan.controlPlanes) {
        out.push(
            { object: cp.namespace, protect: cp.protect },
            ...cp.revisions.map((r) => ({ chart: r.istiod })),
            ...[...cp.objects, ...cp.tags.map((t) => t.webhook)].map((object) => ({ object, protect: false })),
        );
    }
    for (const ns of plan.namespaces) {
        out.push({ object: ns.namespace, protect: ns.protect }, ...ns.objects.map((object) => ({ object, protect: false })));
        if (ns.gateway !== undefined) out.push(...(ns.gateway.release !== undefined ? [{ chart: ns.gateway.release }] : []), ...ns.gateway.objects.map((object) => ({ object, protect: false })));
    }
    return out;
}

/** A program without components, plan or validation: each resource registered directly, unparented, no dependsOn. */
export function flatProgram(resources: ReadonlyArray<FlatResource>): void {
    for (const r of resources) {
        if ("chart" in r) {
            const c = r.chart;
            new k8s.helm.v4.Chart(c.resourceName, {
                chart: c.chart,
                version: c.version,
                repositoryOpts: c.repository !== undefined ? { repo: c.repository } : undefined,
                name: c.releaseName,
                namespace: c.namespace,
                values: c.values,
                skipAwait: false,
            });
            continue;
        }
        const { resourceName: name, object } = r.object;
        const args = object as Record<string, any>;
        const opts = { protect: r.protect };
        switch (`${object.apiVersion}/${object.kind}`) {
            case "v1/Namespace":
                new k8s.core.v1.Namespace(name, args, opts);
                break;
            case "v1/ResourceQuota":
                new k8s.core.v1.ResourceQuota(name, args, opts);
                break;
            case "networking.k8s.io/v1/NetworkPolicy":
                new k8s.networking.v1.NetworkPolicy(name, args, opts);
                break;
            case "rbac.authorization.k8s.io/v1/RoleBinding":
                new k8s.rbac.v1.RoleBinding(name, args as k8s.rbac.v1.RoleBindingArgs, opts);
                break;
            default:
                new k8s.apiextensions.CustomResource(name, args as k8s.apiextensions.CustomResourceArgs, opts);
        }
    }
}
