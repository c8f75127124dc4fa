import * as pulumi from "@pulumi/pulumi";
import type { PlannedObject } from "../plan";
import { registerObject } from "./objects";

export interface SmokeWorkloadsArgs {
    /** The planned client and echo Deployments and the echo Service (`NamespacePlan.smokeWorkloads`). */
    objects: PlannedObject[];
}

/** A tenant's smoke workloads, exactly as planned. */
export class SmokeWorkloads extends pulumi.ComponentResource {
    constructor(name: string, args: SmokeWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mesh-tenancy:index:SmokeWorkloads", name, {}, opts);
        for (const object of args.objects) {
            registerObject(object, { parent: this });
        }
        this.registerOutputs({});
    }
}
