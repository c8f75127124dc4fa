import type { PolicyConfigSchema, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { suppressedCodes } from "../lib/engine";
import { describeObject, HELM_RELEASE_API_VERSION, HELM_RELEASE_KIND, inNamespaceByDefault, isRecord, KubeObject, Subject } from "../semantics/objects";
import { Inventory } from "../semantics/inventory";
import type { Rule } from "../lib/rule";

/** The sentinels @pulumi/policy puts where a preview value is not yet known. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy = require("@pulumi/policy/proxy");
const UNKNOWN = new Set<unknown>([
    proxy.unknownBooleanValue,
    proxy.unknownNumberValue,
    proxy.unknownStringValue,
    proxy.unknownArrayValue,
    proxy.unknownAssetValue,
    proxy.unknownArchiveValue,
    proxy.unknownObjectValue,
]);

/** A deep copy with unknown preview values left out, so rules see "absent" instead of tripping over a sentinel. */
export function withoutUnknowns(value: unknown): unknown {
    const raw = isRecord(value) && value[proxy.getSpecialProxyTarget] !== undefined ? value[proxy.getSpecialProxyTarget] : value;
    if (UNKNOWN.has(raw)) return undefined;
    if (Array.isArray(raw)) return raw.map(withoutUnknowns).filter((v) => v !== undefined);
    if (isRecord(raw)) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(raw)) {
            const copy = withoutUnknowns(v);
            if (copy !== undefined) out[k] = copy;
        }
        return out;
    }
    return raw;
}

/** The parts of a Pulumi resource the adapter reads; matches @pulumi/policy's PolicyResource. */
export interface ResourceLike {
    type: string;
    name: string;
    urn: string;
    props: Record<string, any>;
    opts?: { protect?: boolean };
}

const CHART_TYPES = new Set(["kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v3:Release"]);

/**
 * Turns a Pulumi resource into the object a rule judges: Kubernetes resources (`kubernetes:<group>/<version>:<Kind>`)
 * become their manifest; Helm charts become a HelmRelease carrying chart, version and values. Other resources are not
 * Kubernetes objects and are left out.
 */
export function subjectFromResource(resource: ResourceLike): Subject | undefined {
    const m = /^kubernetes:([^:]+):([^:]+)$/.exec(resource.type);
    if (m === null) return undefined;
    const props = (withoutUnknowns(resource.props) ?? {}) as Record<string, any>;
    const origin = { urn: resource.urn, protect: resource.opts?.protect ?? false };
    if (CHART_TYPES.has(resource.type)) {
        const object: KubeObject = {
            apiVersion: HELM_RELEASE_API_VERSION,
            kind: HELM_RELEASE_KIND,
            metadata: { name: typeof props.name === "string" ? props.name : resource.name, ...(typeof props.namespace === "string" ? { namespace: props.namespace } : {}) },
            spec: { chart: String(props.chart ?? ""), version: props.version, values: isRecord(props.values) ? props.values : {} },
        };
        return { object, origin };
    }
    const [group, version] = m[1].split("/");
    // Component resources of the provider (yaml/v2 ConfigGroup, kustomize/v2 Directory, helm.sh charts) are not
    // Kubernetes objects; their children are judged one by one.
    if (version === undefined || ["helm.sh", "yaml", "kustomize"].includes(group)) return undefined;
    const metadata = isRecord(props.metadata) ? props.metadata : {};
    const object = {
        ...props,
        apiVersion: typeof props.apiVersion === "string" ? props.apiVersion : group === "core" ? version : `${group}/${version}`,
        kind: typeof props.kind === "string" ? props.kind : m[2],
        metadata: { ...metadata, name: typeof metadata.name === "string" ? metadata.name : resource.name },
    } as KubeObject;
    // The provider puts namespaced objects without a namespace into its default namespace.
    return { object: inNamespaceByDefault(object, "default"), origin };
}

/**
 * One CrossGuard stack policy per rule. The analyzer hands every policy its own freshly deserialized copy of the
 * stack, so each policy converts and indexes it anew: linear work, the same order as the analyzer's own.
 */
export function crossGuardPolicies(rules: ReadonlyArray<Rule>): StackValidationPolicy[] {
    const inventoryOf = (args: StackValidationArgs) =>
        new Inventory(args.resources.map(subjectFromResource).filter((s): s is Subject => s !== undefined));
    return rules.map((rule) => ({
        name: rule.name,
        description: `[${rule.id}] ${rule.description}`,
        enforcementLevel: rule.defaultEnforcement,
        configSchema: { properties: { ...(rule.configSchema ?? {}), suppress: { type: "string", description: "Comma-separated finding codes of this rule not to report." } } as PolicyConfigSchema["properties"] },
        validateStack(args: StackValidationArgs, reportViolation: (message: string, urn?: string) => void) {
            const config = { enforcementLevel: rule.defaultEnforcement, ...(args.getConfig<Record<string, unknown>>() ?? {}) };
            const suppress = suppressedCodes(config);
            for (const f of rule.check(inventoryOf(args), config)) {
                if (suppress.has(f.code ?? rule.id)) continue;
                reportViolation(`[${f.code ?? rule.id}] ${f.subject.object.kind} ${describeObject(f.subject.object)}: ${f.message}`, f.subject.origin.urn);
            }
        },
    }));
}

