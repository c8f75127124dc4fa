import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import type { MeshTenancyConfig } from "../model/config";
import { configFromStack } from "../model/stack";
import { ChartRelease, plannedObjects, TenancyPlan } from "../plan";
import { HELM_RELEASE_API_VERSION, HELM_RELEASE_KIND, Origin, Subject } from "../policy/semantics/objects";

export const ROOT = path.resolve(__dirname, "..");

/** A stack name that has no stack file; the message lists the stacks there are. */
export class StackNotFoundError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackNotFoundError";
    }
}

interface ProjectFile {
    name: string;
    stackConfigDir: string;
}

/** The project's name and stack config directory, from Pulumi.yaml. */
function project(root: string): ProjectFile {
    const doc = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) ?? {};
    return { name: String(doc.name), stackConfigDir: typeof doc.stackConfigDir === "string" ? doc.stackConfigDir : "." };
}

/**
 * The stack file of a stack, as Pulumi finds it: `<stackConfigDir>/Pulumi.<stack>.yaml`. A value that is a path (it
 * holds a `/` or ends in `.yaml`) names a stack file directly, for configs not yet in the project.
 */
export function stackFile(stack: string, root = ROOT): string {
    if (stack.includes("/") || /\.ya?ml$/.test(stack)) {
        if (!fs.existsSync(stack) || !fs.statSync(stack).isFile()) throw new StackNotFoundError(`no stack file ${stack}`);
        return stack;
    }
    const dir = path.join(root, project(root).stackConfigDir);
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!/^[A-Za-z0-9_.-]+$/.test(stack) || !fs.existsSync(file)) {
        const known = fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => s !== undefined) : [];
        throw new StackNotFoundError(`no stack "${stack}": ${path.relative(process.cwd(), file) || file} does not exist (stacks: ${known.sort().join(", ") || "none"})`);
    }
    return file;
}

/**
 * Reads and validates a stack's config the way the program does: the stack file's `config:` map, values serialized as
 * the engine hands them over, then `configFromStack`. Throws ConfigError on a bad config.
 */
export function loadStackConfig(stack: string, root = ROOT): { file: string; config: MeshTenancyConfig } {
    const file = stackFile(stack, root);
    const doc = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const values = Object.fromEntries(Object.entries(doc.config ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
    return { file, config: configFromStack(values, project(root).name) };
}

/** A chart release as the object the policy inventory learns revisions from (what the CrossGuard adapter builds). */
export function releaseSubject(release: ChartRelease, origin: Origin = {}): Subject {
    return {
        object: {
            apiVersion: HELM_RELEASE_API_VERSION,
            kind: HELM_RELEASE_KIND,
            metadata: { name: release.releaseName, namespace: release.namespace },
            spec: { chart: release.chart, version: release.version, values: release.values },
        },
        origin,
    };
}

/** Every chart release of a plan: base, each revision's istiod, each tenant gateway. */
export function chartReleases(plan: TenancyPlan): ChartRelease[] {
    return [plan.base, ...plan.controlPlanes.flatMap((cp) => cp.revisions.map((r) => r.istiod)), ...plan.namespaces.flatMap((ns) => (ns.gateway?.release !== undefined ? [ns.gateway.release] : []))];
}

/** What the program would register, as objects: the planned objects and the chart releases, without a cluster. */
export function planSubjects(plan: TenancyPlan, origin: Origin = {}): Subject[] {
    return [...plannedObjects(plan).map((object) => ({ object, origin })), ...chartReleases(plan).map((r) => releaseSubject(r, origin))];
}
