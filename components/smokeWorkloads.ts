import * as kx from "@pulumi/kubernetesx";
import * as pulumi from "@pulumi/pulumi";
import type { PlannedObject } from "../plan";
import { registerObject } from "./objects";

export interface SmokeWorkloadsArgs {
    /** The planned client and echo Deployments and the echo Service (`NamespacePlan.smokeWorkloads`). */
    objects: PlannedObject[];
}

/**
 * A tenant's smoke workloads, exactly as planned. They stand for the tenant's own workloads, so they are materialised
 * the way a tenant's program writes them, with kubernetesx's Deployment and Service (which leave a complete spec as it
 * is); anything else goes through the platform's registration.
 */
export class SmokeWorkloads extends pulumi.ComponentResource {
    constructor(name: string, args: SmokeWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mesh-tenancy:index:SmokeWorkloads", name, {}, opts);
        for (const planned of args.objects) {
            const { resourceName, object } = planned;
            switch (`${object.apiVersion}/${object.kind}`) {
                case "apps/v1/Deployment":
                    new kx.Deployment(resourceName, object as unknown as kx.types.Deployment, { parent: this });
                    break;
                case "v1/Service":
                    new kx.Service(resourceName, object as unknown as kx.types.Service, { parent: this });
                    break;
                default:
                    registerObject(planned, { parent: this });
            }
        }
        this.registerOutputs({});
    }
}
