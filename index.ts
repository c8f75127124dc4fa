import "./runtime/compileCache";
import * as pulumi from "@pulumi/pulumi";
import { MeshTenancy } from "./components";
import { installSdkHooks } from "./runtime";
import { ConfigError } from "./model/issues";
import { checkLocalFiles, configFromStack } from "./model/stack";
import { planTenancy } from "./plan";
import { programOutputs } from "./plan/outputs";

// Cut SDK work the program never uses (runtime/index.ts); a hook this SDK cannot take warns and is skipped.
installSdkHooks();

function loadPlan() {
    try {
        const config = configFromStack(pulumi.runtime.allConfig(), pulumi.getProject());
        checkLocalFiles(config);
        return planTenancy(config);
    } catch (err) {
        // A config error is the user's to fix, not a crash: print it alone, without a stack trace.
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}

const plan = loadPlan();
const mesh = new MeshTenancy("mesh", { plan });

/** For each retiring tenant whose namespace is protected: the command that lifts that protection (second step). */
function retiring(): { retiring?: Record<string, pulumi.Output<string>> } {
    const namespaces = plan.namespaces.filter((ns) => ns.retire && ns.protect && mesh.namespaces.has(ns.name));
    if (namespaces.length === 0) return {};
    const unprotect = (name: string) => pulumi.interpolate`pulumi state unprotect --yes '${mesh.namespaces.get(name)!.namespace.urn}'`;
    return { retiring: Object.fromEntries(namespaces.map((ns) => [ns.name, unprotect(ns.name)])) };
}

// A summary by default: every preview and update prints the outputs, and a per-namespace listing drowns the diff.
export = { ...programOutputs(plan, pulumi.getStack()), ...retiring() };
