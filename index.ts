import * as pulumi from "@pulumi/pulumi";
import { localClusterTransform, MeshTenancy } from "./components";
import { ConfigError } from "./model/issues";
import { configFromStack } from "./model/stack";
import { planTenancy } from "./plan";
import { programOutputs } from "./plan/outputs";

function loadPlan() {
    try {
        return planTenancy(configFromStack(pulumi.runtime.allConfig(), pulumi.getProject()));
    } catch (err) {
        // A config error is the user's to fix, not a crash: print it alone, without a stack trace.
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}

const plan = loadPlan();
if (plan.localCluster) {
    pulumi.runtime.registerResourceTransform(localClusterTransform);
}
new MeshTenancy("mesh", { plan });

// A summary by default: every preview and update prints the outputs, and a per-namespace listing drowns the diff.
export = programOutputs(plan, pulumi.getStack());
