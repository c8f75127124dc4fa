import { z } from "zod";
import { CaConfig, caSchema, checkCa } from "./ca";
import { ConfigError, ConfigIssue, formatPath } from "./issues";
import { checkConsistency } from "./consistency";
import { salvage, schemaAt } from "./salvage";
import { DEFAULT_TAG, revisionName } from "./revisions";
import { parseStackPart, StackPart } from "./stackPart";

/** The official Istio chart repository, used when neither chart source is given. */
export const DEFAULT_CHART_REPOSITORY = "https://istio-release.storage.googleapis.com/charts";

const nonEmpty = z.string().min(1, { error: "must not be empty" });
const stringMap = z.record(z.string(), z.string());
const quantity = z.union([z.string(), z.number()]).transform(String);

const resourcesSchema = z.strictObject({
    requests: z.record(z.string(), quantity).optional(),
    limits: z.record(z.string(), quantity).optional(),
});

const istioSchema = z.strictObject({
    /** Exact chart version of base, istiod and gateway, e.g. `1.31.0`. */
    version: z.string({ error: (i) => (i.input === undefined ? "is required: the exact Istio chart version, e.g. 1.31.0" : "must be a string such as 1.31.0") }),
    chartRepository: z.string().optional(),
    chartDirectory: z.string().optional(),
    defaultRevision: z.string().default(""),
    trustDomain: nonEmpty.default("cluster.local"),
    /**
     * Who installs Istio's CRDs: `chart` (the base chart, as Istio's own install does) or `external` (the cluster's
     * CRDs are managed apart, e.g. applied from `istioctl manifest generate`; the base chart renders none).
     */
    crds: z.enum(["chart", "external"]).default("chart"),
    /** Whose certificates the sidecars trust: per-usergroup roots (default) or one shared root (model/ca.ts). */
    ca: caSchema,
    /**
     * Full references of the images the charts name, for clusters that get them from their own registry (or, like
     * the local node, from images built on the machine): istiod's (`pilot.image`) and the proxy's that istiod injects
     * into sidecars, gateways and proxyless pods (`global.proxy.image`). Without them, the charts' own.
     */
    images: z
        .strictObject({
            pilot: nonEmpty.optional(),
            proxy: nonEmpty.optional(),
        })
        .default({}),
});

/**
 * The smoke workloads: `true` for a curl client and an HTTP echo server with sidecars; `proxyless` for a client and
 * Istio's echo server on Istio's proxyless gRPC data plane (pilot-agent, no Envoy), from one image holding
 * `/usr/local/bin/istio-echo` and `/usr/local/bin/mesh-caller` (scripts/node.sh builds one for the local node).
 */
const smokeWorkloadsObject = z.strictObject({
    proxyless: z.strictObject({ image: nonEmpty }),
});
// Not a z.union: a union reports one "Invalid input" for the whole value; this names the bad key inside the object.
const smokeWorkloadsSchema = z.custom<boolean | z.infer<typeof smokeWorkloadsObject>>().superRefine((value, ctx) => {
    if (typeof value === "boolean") return;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        ctx.addIssue({ code: "custom", message: "must be true, false or { proxyless: { image } }" });
        return;
    }
    const parsed = smokeWorkloadsObject.safeParse(value);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue(issue as any);
});

const gatewaySchema = z.strictObject({
    hosts: z.array(z.string()).min(1, { error: "must list at least one host" }),
    serviceType: z.enum(["LoadBalancer", "NodePort", "ClusterIP"]).default("LoadBalancer"),
    replicas: z.number().int().min(1).default(1),
    /** Kubernetes Secret in the tenant namespace holding the certificate; adds an HTTPS server on 443. */
    tlsCredentialName: z.string().optional(),
    /**
     * `istio`: Istio's gateway chart and an Istio `Gateway`; `gateway-api`: a Kubernetes Gateway API `Gateway` of class
     * `istio`, which the namespace's istiod deploys. Without it, the stack's `ingress.kind`.
     */
    kind: z.enum(["istio", "gateway-api"]).optional(),
});

const ingressSchema = z.strictObject({
    /** The tenants' gateway kind unless a tenant's `gateway.kind` says otherwise. */
    kind: z.enum(["istio", "gateway-api"]).default("istio"),
    /**
     * The Gateway API CRDs: `external` (the cluster has them), or `{ directory }` holding the standard channel's CRD
     * manifests, installed by the stack and kept when it is destroyed (`scripts/build-toolchain.sh gateway-api-crds`
     * writes those of the version Istio's module requires).
     */
    gatewayApiCrds: z.union([z.literal("external"), z.strictObject({ directory: z.string() })]).default("external"),
});

const workloadSidecarSchema = z.strictObject({
    name: z.string(),
    selector: stringMap.optional(),
    egress: z.array(z.string()).default([]),
});

const ownerSchema = z.strictObject({
    kind: z.enum(["Group", "User", "ServiceAccount"]),
    name: nonEmpty,
    /** Only for ServiceAccount subjects; defaults to the tenant namespace. */
    namespace: z.string().optional(),
});

const tenantSchema = z.strictObject({
    name: z.string(),
    gateway: gatewaySchema.optional(),
    egress: z.array(z.string()).default([]),
    workloadSidecars: z.array(workloadSidecarSchema).default([]),
    owners: z.array(ownerSchema).default([]),
    /** `spec.hard` of a ResourceQuota for the namespace. */
    quota: z.record(z.string(), quantity).optional(),
    /** Extra namespace labels (never `usergroup`, `istio.io/rev` or `istio-injection`). */
    labels: stringMap.default({}),
    /**
     * First step of retiring the tenant on purpose: its objects lose their protection and are left for the namespace
     * deletion to take, so that its isolation goes only with its namespace (docs/operating.md, "Protected namespaces and retiring a tenant").
     */
    retire: z.boolean().default(false),
    /** The usergroup's revision tag this tenant's namespace follows; only for usergroups that list `revisions`. */
    tag: z.string().optional(),
});

const revisionSchema = z.strictObject({
    /** Exact istiod chart version of this revision, e.g. `1.31.0`. */
    version: z.string({ error: (i) => (i.input === undefined ? "is required: the exact istiod chart version, e.g. 1.31.0" : "must be a string such as 1.31.0") }),
    /** Revision name; by default `<usergroup>-<major>-<minor>`. Set it to keep a revision installed under another name. */
    name: z.string().optional(),
});

const usergroupSchema = z.strictObject({
    name: z.string(),
    systemNamespace: z.string().optional(),
    tenantIsolation: z.enum(["namespace", "usergroup"]).default("namespace"),
    sharedNamespaces: z.array(z.string()).default([]),
    istiod: z
        .strictObject({
            replicas: z.number().int().min(1).default(1),
            resources: resourcesSchema.optional(),
        })
        .default({ replicas: 1 }),
    tenants: z.array(tenantSchema).default([]),
    /** The istiod revisions this usergroup runs: one, or two during an upgrade. Without it: one revision named after the usergroup. */
    revisions: z.array(revisionSchema).min(1, { error: "must list at least one revision" }).optional(),
    /** Revision tags: tag name → revision name. `stable` is required; tenants follow `stable` unless they name another. */
    tags: z.record(z.string(), z.string()).optional(),
});

/**
 * Who may change what the guardrails protect: the identities `pulumi up` runs as. Users are Kubernetes user names
 * (`system:serviceaccount:<ns>:<name>` for a ServiceAccount), groups are group names, as the API server authenticates them.
 */
const platformOperatorsSchema = z.strictObject({
    users: z.array(nonEmpty).default([]),
    groups: z.array(nonEmpty).default([]),
});

const configSchema = z.strictObject({
    istio: istioSchema,
    /**
     * ValidatingAdmissionPolicies that hold tenants to the plan in the API server: `enforce` refuses (Deny), `warn`
     * admits with a warning and an audit annotation (Warn, Audit), `off` installs none.
     */
    admissionGuardrails: z.enum(["enforce", "warn", "off"]).default("enforce"),
    platformOperators: platformOperatorsSchema.optional(),
    protectNamespaces: z.boolean().default(false),
    /** A throwaway control plane with no nodes: skip readiness waits and delete in the background. */
    localCluster: z.boolean().default(false),
    /** A client and an echo server in every tenant namespace, to verify isolation by hand. */
    smokeWorkloads: smokeWorkloadsSchema.default(false),
    /** The tenants' ingress: which gateway kind by default, and where the Gateway API CRDs come from. */
    ingress: ingressSchema.default({ kind: "istio", gatewayApiCrds: "external" }),
    /** Every namespace's scoping and the expected connectivity as stack outputs, besides the summary. */
    detailedOutputs: z.boolean().default(false),
    controlPlaneAccess: z
        .strictObject({
            /** Namespace whose pods may scrape istiod's monitoring port 15014; without it no pod may. */
            monitoringNamespace: z.string().optional(),
            /** CIDRs the API server calls istiod's webhook port 15017 from; without them every source may reach that port. */
            apiServerCidrs: z.array(z.string()).min(1, { error: "must list at least one CIDR; omit it to admit every source" }).optional(),
        })
        .default({}),
    usergroups: z.array(usergroupSchema).min(1, { error: "must list at least one usergroup" }),
    /**
     * What this stack deploys of the environment: `all` (default), or, for a large environment split into stacks that
     * all read the same usergroups, `platform` (the admission guardrails and the tenant owners' Istio role) or
     * `usergroup:<name>` (that usergroup's control plane and namespaces; the usergroup hosting Istio's base chart deploys
     * it too, so its stack goes first). Every part plans the whole environment, so each deploys exactly its share of `all`.
     */
    stackPart: z.string().default("all"),
});

type Parsed = z.infer<typeof configSchema>;
export type Resources = z.infer<typeof resourcesSchema>;
export type GatewayConfig = z.infer<typeof gatewaySchema>;
export type IngressConfig = z.infer<typeof ingressSchema>;
export type GatewayKind = IngressConfig["kind"];
export type WorkloadSidecarConfig = Omit<z.infer<typeof workloadSidecarSchema>, "selector"> & { selector: Record<string, string> };
export type OwnerConfig = z.infer<typeof ownerSchema>;
export type TenantConfig = Omit<z.infer<typeof tenantSchema>, "workloadSidecars" | "tag"> & {
    workloadSidecars: WorkloadSidecarConfig[];
    /** The tag the tenant follows; undefined for usergroups without `revisions` (their namespaces name the revision). */
    tag?: string;
};
export type TenantIsolation = "namespace" | "usergroup";
export type GuardrailMode = "enforce" | "warn" | "off";
export type { StackPart } from "./stackPart";
export type PlatformOperators = z.infer<typeof platformOperatorsSchema>;

export interface ChartSource {
    /** Helm repository URL; set when charts come from a repository. */
    repository?: string;
    /** Local directory holding `base/`, `istiod/` and `gateway/`; set for air-gapped clusters. */
    directory?: string;
}

export interface IstioConfig {
    version: string;
    chartSource: ChartSource;
    images: { pilot?: string; proxy?: string };
    defaultRevision: string;
    trustDomain: string;
    crds: "chart" | "external";
    ca: CaConfig;
}

/** Who besides a usergroup's own namespaces may reach its istiod (see the system NetworkPolicies in the plan). */
export interface ControlPlaneAccess {
    monitoringNamespace?: string;
    apiServerCidrs?: string[];
}

/** One istiod revision of a usergroup. */
export interface RevisionConfig {
    /** Revision name: the `revision` chart value, `istio.io/rev` of its own objects. */
    name: string;
    /** Exact istiod chart version. */
    version: string;
}

export interface UsergroupConfig extends Omit<Parsed["usergroups"][number], "systemNamespace" | "tenants" | "revisions" | "tags"> {
    systemNamespace: string;
    tenants: TenantConfig[];
    /** One or two revisions, all in the system namespace. */
    revisions: RevisionConfig[];
    /**
     * Tag name → revision name; empty for a usergroup without `revisions` (its one revision is named after the usergroup
     * and its namespaces carry that name, as before revisions could be configured).
     */
    tags: Record<string, string>;
}

export type SmokeWorkloadsConfig = { dataPlane: "sidecar" } | { dataPlane: "proxyless"; image: string };

/** The validated stack config: every default filled in, every cross-reference checked. */
export interface MeshTenancyConfig {
    istio: IstioConfig;
    admissionGuardrails: GuardrailMode;
    /** Exempt from the guardrails; empty lists when the guardrails are off. */
    platformOperators: PlatformOperators;
    protectNamespaces: boolean;
    localCluster: boolean;
    /** Off, or which data plane the smoke workloads run on. */
    smokeWorkloads: false | SmokeWorkloadsConfig;
    ingress: IngressConfig;
    detailedOutputs: boolean;
    controlPlaneAccess: ControlPlaneAccess;
    usergroups: UsergroupConfig[];
    stackPart: StackPart;
}


function zodIssueMessage(issue: z.core.$ZodIssue): ConfigIssue[] {
    const path = issue.path;
    switch (issue.code) {
        case "unrecognized_keys":
            return issue.keys.map((key) => ({
                path: formatPath([...path, key]),
                message: `unknown key "${key}"${suggest(key, path)}`,
            }));
        case "invalid_type":
            if (issue.message.endsWith("received undefined")) {
                return [{ path: formatPath(path), message: "is required" }];
            }
            return [{ path: formatPath(path), message: issue.message.replace(/^Invalid input: /, "") }];
        case "invalid_value":
            return [{ path: formatPath(path), message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}` }];
        default:
            return [{ path: formatPath(path), message: issue.message.replace(/^Invalid input: /, "") }];
    }
}

/** A hint for a misspelt key, naming the closest known key at the same place. */
function suggest(key: string, path: ReadonlyArray<PropertyKey>): string {
    const known = knownKeysAt(path);
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const candidate of known) {
        const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
        if (d < bestDistance) {
            bestDistance = d;
            best = candidate;
        }
    }
    return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? ` (did you mean "${best}"?)` : "";
}

function knownKeysAt(path: ReadonlyArray<PropertyKey>): string[] {
    const schema = schemaAt(configSchema, path);
    return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const tmp = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = tmp;
        }
    }
    return row[b.length];
}

function normalise(parsed: Parsed): MeshTenancyConfig {
    const { chartRepository, chartDirectory, ...istio } = parsed.istio;
    const chartSource: ChartSource =
        chartDirectory !== undefined ? { directory: chartDirectory } : { repository: chartRepository ?? DEFAULT_CHART_REPOSITORY };
    return {
        ...parsed,
        smokeWorkloads: parsed.smokeWorkloads === false ? false : parsed.smokeWorkloads === true ? { dataPlane: "sidecar" } : { dataPlane: "proxyless", image: parsed.smokeWorkloads.proxyless.image },
        platformOperators: parsed.platformOperators ?? { users: [], groups: [] },
        stackPart: parseStackPart(parsed.stackPart)!,
        istio: {
            version: istio.version,
            defaultRevision: istio.defaultRevision,
            trustDomain: istio.trustDomain,
            crds: istio.crds,
            chartSource,
            images: istio.images,
            // Already checked with the rest (checkConsistency): nothing is left to report here.
            ca: checkCa(istio.ca, parsed.usergroups.map((u) => u.name), () => undefined),
        },
        usergroups: parsed.usergroups.map(({ revisions, tags, ...ug }) => ({
            ...ug,
            systemNamespace: ug.systemNamespace ?? ug.name,
            revisions: revisions === undefined ? [{ name: ug.name, version: istio.version }] : revisions.map((r) => ({ name: revisionName(ug.name, r), version: r.version })),
            tags: revisions === undefined ? {} : (tags ?? { [DEFAULT_TAG]: revisionName(ug.name, revisions[0]) }),
            tenants: ug.tenants.map(({ tag, ...t }) => ({
                ...t,
                ...(revisions === undefined ? {} : { tag: tag ?? DEFAULT_TAG }),
                workloadSidecars: t.workloadSidecars.map((w) => ({ ...w, selector: w.selector ?? {} })),
            })),
        })),
    };
}

/**
 * The schema with its two required sections optional, so that a broken `istio` or `usergroups` section can be left out
 * and the checks across the rest still run.
 */
const salvageSchema = configSchema.partial({ istio: true, usergroups: true });

/**
 * Validates the raw stack config (the values under `mesh-tenancy:`, keyed without the prefix) and returns it with
 * defaults filled in. Every problem is reported at once in one ConfigError, each naming its key path: when the shape
 * is wrong somewhere, the parts that are wrong are left out and the cross-reference checks run on everything else.
 */
export function parseConfig(raw: Record<string, unknown>): MeshTenancyConfig {
    const result = configSchema.safeParse(raw);
    if (result.success) {
        const issues = checkConsistency(result.data);
        if (issues.length > 0) throw new ConfigError(issues);
        return normalise(result.data);
    }
    const schemaIssues = result.error.issues.flatMap(zodIssueMessage);
    const rest = salvage(salvageSchema, raw);
    if (rest === undefined) throw new ConfigError(schemaIssues);
    // A check on a value that was left out would only repeat its schema problem in other words.
    const cut = rest.cuts.map(formatPath);
    const within = (path: string) => cut.some((c) => path === c || path.startsWith(`${c}.`) || path.startsWith(`${c}[`));
    const crossIssues = checkConsistency(rest.data, rest.origin).filter((i) => !within(i.path));
    throw new ConfigError([...schemaIssues, ...crossIssues]);
}

export type ParsedConfig = Parsed;
