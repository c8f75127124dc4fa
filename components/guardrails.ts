import * as pulumi from "@pulumi/pulumi";
import type { GuardrailsPlan } from "../plan/guardrails";
import { contentsLifecycle } from "./lifecycle";
import { registerObject } from "./objects";

export interface GuardrailsArgs {
    /** The tenant owners' Istio role, the ValidatingAdmissionPolicies and their bindings, from `planGuardrails`. */
    plan: GuardrailsPlan;
}

/** Admission guardrails: the plan's isolation rules enforced by the API server for everyone but the platform operators. */
export class Guardrails extends pulumi.ComponentResource {
    constructor(name: string, args: GuardrailsArgs, opts?: pulumi.ComponentResourceOptions) {
        const contents = { protect: args.plan.protect, retain: false };
        super("mesh-tenancy:index:Guardrails", name, {}, {
            ...opts,
            protect: contents.protect,
            transforms: [...(opts?.transforms ?? []), contentsLifecycle(contents)],
        });
        const { tenantRole, policies, bindings } = args.plan;
        if (tenantRole !== undefined) registerObject(tenantRole, { parent: this });
        const policyResources = policies.map((p) => registerObject(p, { parent: this }));
        for (const binding of bindings) registerObject(binding, { parent: this, dependsOn: policyResources });
        this.registerOutputs({});
    }
}
