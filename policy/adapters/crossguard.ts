import { SdkExport } from "../lib/sdkExport";
import { createRequire } from "module";
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
 * The inventory of one stack analysis, shared by every rule. The analyzer calls each stack policy in turn with its own
 * array of resources, but (with {@link shareDeserializedStack} in place) their properties are the same deserialized
 * objects for every policy of one call and fresh ones for the next call (a preview and the update that follows it are
 * two calls): an inventory is reused only while the first and last resources' properties are the very objects it was
 * built from, so it never outlives the analysis it belongs to.
 */
export function stackInventories(): (resources: ReadonlyArray<ResourceLike>) => Inventory {
    const target = (props: unknown) => (isRecord(props) && props[proxy.getSpecialProxyTarget] !== undefined ? props[proxy.getSpecialProxyTarget] : props);
    let last: { first: unknown; last: unknown; count: number; inventory: Inventory } | undefined;
    return (resources) => {
        const first = target(resources[0]?.props);
        const final = target(resources[resources.length - 1]?.props);
        if (last !== undefined && resources.length > 0 && last.count === resources.length && last.first === first && last.last === final) return last.inventory;
        const inventory = new Inventory(resources.map(subjectFromResource).filter((s): s is Subject => s !== undefined));
        last = { first, last: final, count: resources.length, inventory };
        return inventory;
    };
}

/**
 * @pulumi/policy deserializes the whole stack once per stack policy (22 times per analysis here), which was most of the
 * pack's CPU at scale. The request's property structs are the same objects for every policy of one analysis, so each
 * is deserialized once and the result shared; the rules only read what they are given (subjects are deep copies). The
 * cache is keyed by the struct objects and goes with the request. Returns false (and changes nothing) if the library
 * no longer has the function this relies on, so the pack still works, only slower.
 */
export function shareDeserializedStack(): boolean {
    const cache = [new WeakMap<object, unknown>(), new WeakMap<object, unknown>()];
    return deserializeProperties.replace(
        (original) => (struct, proxySecrets) => {
            const byStruct = cache[proxySecrets ? 1 : 0];
            if (!byStruct.has(struct)) byStruct.set(struct, original(struct, proxySecrets));
            return byStruct.get(struct);
        },
        (m) => (typeof m.deserializeProperties === "function" ? undefined : "deserializeProperties is not a function"),
    );
}

const deserializeProperties = new SdkExport<(struct: object, proxySecrets: boolean) => unknown>("share-deserialized-stack", "@pulumi/policy/deserialize", "deserializeProperties", { from: __filename });

/**
 * The engine sends every resource to every analyzer twice before it steps it, Remediate and then Analyze, and waits for
 * both answers: in a no-op update the pack and the proxy that forwards its calls were about a quarter of the CPU
 * (BENCHMARKS.md). A pack made only of stack
 * policies (this one) has nothing to say to either: @pulumi/policy's handlers decode the request, skip every policy and
 * answer with an empty response. Here the pack's server answers both calls with that same empty response without
 * decoding the request, so the engine's wait is the transport alone. Stack analysis and every other call are the
 * library's own. In effect only if no policy validates or remediates single resources (a policy's enforcement level,
 * changed by configuration, never makes a stack policy a resource policy); returns false and changes nothing
 * otherwise, or if the library's server or gRPC no longer look as this expects. Takes effect for the next Analyzer
 * service added to a gRPC server (the one `new PolicyPack` starts), and only that one.
 */
export function answerResourceCallsUnread(policies: ReadonlyArray<object>): boolean {
    if (policies.some((p) => "validateResource" in p || "remediateResource" in p)) return false;
    let service: any;
    const unary = (m: any) => typeof m?.requestDeserialize === "function" && typeof m.responseType === "function" && !m.requestStream && !m.responseStream;
    return addService.replace(
        (original) =>
            function (this: unknown, added: any, implementation: any) {
                if (added !== service) return original.call(this, added, implementation);
                addService.restore();
                const unread = (m: any) => ({ ...m, requestDeserialize: (bytes: Uint8Array) => bytes });
                const empty = (m: any) => (_call: unknown, callback: (err: null, response: unknown) => void) => callback(null, new m.responseType());
                return original.call(
                    this,
                    { ...added, analyze: unread(added.analyze), remediate: unread(added.remediate) },
                    { ...implementation, analyze: empty(added.analyze), remediate: empty(added.remediate) },
                );
            },
        () => {
            // The Analyzer service as the library's server sees it (its own copy of the SDK).
            service = createRequire(require.resolve("@pulumi/policy/server"))("@pulumi/pulumi/proto/analyzer_grpc_pb").AnalyzerService;
            return unary(service?.analyze) && unary(service?.remediate) ? undefined : "the Analyzer service's analyze and remediate are not plain unary calls";
        },
    );
}

/** gRPC's `Server.prototype.addService`, as @pulumi/policy's server loads it; replaced until the Analyzer service is added. */
const addService = new SdkExport<(this: unknown, service: any, implementation: any) => unknown>("answer-resource-calls-unread", "@grpc/grpc-js", "addService", {
    from: () => require.resolve("@pulumi/policy/server"),
    target: (m) => m.Server?.prototype,
});

/**
 * One CrossGuard stack policy per rule, so each rule keeps its own name, enforcement level and options. All of them
 * judge one inventory per analysis ({@link stackInventories}).
 */
export function crossGuardPolicies(rules: ReadonlyArray<Rule>): StackValidationPolicy[] {
    const inventoryOf = stackInventories();
    return rules.map((rule) => ({
        name: rule.name,
        description: `[${rule.id}] ${rule.description}`,
        enforcementLevel: rule.defaultEnforcement,
        configSchema: { properties: { ...(rule.configSchema ?? {}), suppress: { type: "string", description: "Comma-separated finding codes of this rule not to report." } } as PolicyConfigSchema["properties"] },
        validateStack(args: StackValidationArgs, reportViolation: (message: string, urn?: string) => void) {
            const config = { enforcementLevel: rule.defaultEnforcement, ...(args.getConfig<Record<string, unknown>>() ?? {}) };
            const suppress = suppressedCodes(config);
            for (const f of rule.check(inventoryOf(args.resources), config)) {
                if (suppress.has(f.code ?? rule.id)) continue;
                reportViolation(`[${f.code ?? rule.id}] ${f.subject.object.kind} ${describeObject(f.subject.object)}: ${f.message}`, f.subject.origin.urn);
            }
        },
    }));
}
