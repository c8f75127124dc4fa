/**
 * Test harness for the policy pack: reads the fixtures under test/fixtures/policy, runs them through the manifest
 * adapter (what the `check` CLI does) and through the CrossGuard adapter with Pulumi-like resources (what
 * `pulumi preview --policy-pack policy` does), and normalises both adapters' findings so they can be compared.
 *
 * The Pulumi-like resources imitate what @pulumi/policy's analyzer server hands a stack policy: each resource has a
 * `kubernetes:<group>/<version>:<Kind>` type token, a URN, resource options and props wrapped in
 * `unknownCheckingProxy`, and every policy gets its own `resources` array and its own `getConfig()`.
 */
import * as fs from "fs";
import { createRequire } from "module";
import * as path from "path";
import * as YAML from "yaml";
import { crossGuardPolicies } from "../../policy/adapters/crossguard";
import { readManifests } from "../../policy/adapters/manifests";
import { evaluate, PackConfig } from "../../policy/lib/engine";
import { describeObject, HELM_RELEASE_KIND, isRecord, KubeObject } from "../../policy/semantics/objects";
import { RULES } from "../../policy/rules";
import { composedFixtures } from "../harness/overlay";

export const ROOT = path.resolve(__dirname, "..", "..");
/**
 * The rule fixtures as tests read them: each composed from its overlay (test/fixtures/policy, most cases a baseline plus
 * their change; test/harness/overlay.ts) into a whole manifest under test/.composed/policy.
 */
export const FIXTURES = composedFixtures("policy");

/** Fixture directories that are not named after a rule. */
export const HELM_TEMPLATE_DIR = path.join(FIXTURES, "istiod-helm-template-1.24.3");
export const CHECKER_DIR = path.join(FIXTURES, "checker");

// ---------------------------------------------------------------------------------------------------------------------
// @pulumi/policy
//
// The SDK is a dependency of the pack (policy/node_modules), not of the program, so it is loaded the way the pack's own
// modules resolve it. The adapter requires "@pulumi/policy/proxy" from policy/adapters; resolving from policy/ yields
// the same module instance, so the sentinels below are the very ones the adapter strips.

const packRequire = createRequire(path.join(ROOT, "policy", "package.json"));

interface PolicySdk {
    unknownCheckingProxy<T extends object>(value: T): T;
    UnknownValueError: new (...args: any[]) => Error;
}

/** The package index, as the pack's analyzer server uses it. */
export const policySdk: PolicySdk = packRequire("@pulumi/policy");

/** Sentinels @pulumi/policy puts where a value is unknown during preview. */
export const unknown: {
    unknownStringValue: string;
    unknownArrayValue: string;
    unknownObjectValue: string;
    unknownNumberValue: string;
    unknownBooleanValue: string;
} = packRequire("@pulumi/policy/proxy");

type StackPolicy = ReturnType<typeof crossGuardPolicies>[number];
type StackArgs = Parameters<StackPolicy["validateStack"]>[0];

// ---------------------------------------------------------------------------------------------------------------------
// Fixtures

export interface Fixture {
    /** Rule name = fixture directory. */
    rule: string;
    /** Path relative to FIXTURES, e.g. `strict-mtls/clean.yaml`. */
    rel: string;
    file: string;
    clean: boolean;
    /** `# expect:` lines: `<id> <Kind> <ns/name>`, one per finding subject, under the default config. */
    expected: string[];
    /** `# crossguard-production:` lines: what the CrossGuard adapter adds with `production: true` and protect false. */
    crossGuardProduction: string[];
}

export function headerLines(text: string, key: string): string[] {
    const out: string[] = [];
    for (const m of text.matchAll(new RegExp(`^# ${key}: (.*)$`, "gm"))) if (m[1].trim() !== "none") out.push(m[1].trim());
    return out.sort();
}

/** Every `<rule-name>/{clean,violating}*.yaml` fixture, sorted. */
export function ruleFixtures(): Fixture[] {
    const names = new Set(RULES.map((r) => r.name));
    const fixtures: Fixture[] = [];
    for (const dir of fs.readdirSync(FIXTURES).sort()) {
        if (!names.has(dir)) continue;
        for (const f of fs.readdirSync(path.join(FIXTURES, dir)).sort()) {
            if (!/^(clean|violating).*\.yaml$/.test(f)) continue;
            const file = path.join(FIXTURES, dir, f);
            const text = fs.readFileSync(file, "utf8");
            fixtures.push({
                rule: dir,
                rel: `${dir}/${f}`,
                file,
                clean: f.startsWith("clean"),
                expected: headerLines(text, "expect"),
                crossGuardProduction: headerLines(text, "crossguard-production"),
            });
        }
    }
    return fixtures;
}

/** The fixture's objects, parsed independently of the adapter under test. */
export function fixtureObjects(...files: string[]): KubeObject[] {
    const objects: KubeObject[] = [];
    for (const file of files.flatMap(expandDir)) {
        for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
            if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
            const value = doc.toJS();
            if (value !== null && value !== undefined) objects.push(value as KubeObject);
        }
    }
    return objects;
}

function expandDir(p: string): string[] {
    if (!fs.statSync(p).isDirectory()) return [p];
    return fs
        .readdirSync(p)
        .sort()
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => path.join(p, f));
}

// ---------------------------------------------------------------------------------------------------------------------
// Pulumi-like resources

export const STACK = "test";
export const PROJECT = "mesh-tenancy";

/** `kubernetes:<group>/<version>:<Kind>`, with group `core` for the core API; a HelmRelease is a helm.sh/v4 Chart. */
export function pulumiType(object: KubeObject): string {
    if (object.kind === HELM_RELEASE_KIND) return "kubernetes:helm.sh/v4:Chart";
    const slash = object.apiVersion.indexOf("/");
    const group = slash < 0 ? "core" : object.apiVersion.slice(0, slash);
    const version = slash < 0 ? object.apiVersion : object.apiVersion.slice(slash + 1);
    return `kubernetes:${group}/${version}:${object.kind}`;
}

/** Pulumi resource name: unique per type within a fixture, derived from the object's namespace and name. */
export function resourceName(object: KubeObject): string {
    return object.metadata.namespace ? `${object.metadata.namespace}-${object.metadata.name}` : object.metadata.name;
}

export function urnOf(type: string, name: string): string {
    return `urn:pulumi:${STACK}::${PROJECT}::${type}::${name}`;
}

/** The props a resource of this object would carry: the manifest itself, or a Chart's inputs for a HelmRelease. */
export function resourceProps(object: KubeObject): Record<string, any> {
    const copy = structuredClone(object) as KubeObject;
    if (copy.kind !== HELM_RELEASE_KIND) return copy;
    const spec: Record<string, any> = isRecord(copy.spec) ? copy.spec : {};
    const props: Record<string, any> = { chart: spec.chart, values: spec.values ?? {}, name: copy.metadata.name };
    if (spec.version !== undefined) props.version = spec.version;
    if (copy.metadata.namespace !== undefined) props.namespace = copy.metadata.namespace;
    return props;
}

/** What @pulumi/policy's PolicyResource carries; `props` is wrapped in unknownCheckingProxy like the real server does. */
export interface PulumiResource {
    type: string;
    name: string;
    urn: string;
    props: Record<string, any>;
    opts: {
        protect: boolean;
        ignoreChanges: string[];
        aliases: string[];
        customTimeouts: { createSeconds: number; updateSeconds: number; deleteSeconds: number };
        additionalSecretOutputs: string[];
    };
    dependencies: PulumiResource[];
    propertyDependencies: Record<string, PulumiResource[]>;
    isType(resourceClass: unknown): boolean;
    asType(resourceClass: unknown): undefined;
    /** The object the resource was built from (test bookkeeping; the adapter never reads it). */
    source: KubeObject;
}

export interface ResourceOptions {
    /** Pulumi's `protect` option; the real server reports false when unset. */
    protect?: boolean;
    /** Edits the raw props before they are wrapped, e.g. to plant unknown-value sentinels. */
    editProps?: (props: Record<string, any>) => void;
}

export function toResource(object: KubeObject, options: ResourceOptions = {}): PulumiResource {
    const type = pulumiType(object);
    const name = resourceName(object);
    const raw = resourceProps(object);
    options.editProps?.(raw);
    return {
        type,
        name,
        urn: urnOf(type, name),
        props: policySdk.unknownCheckingProxy(raw),
        opts: {
            protect: options.protect ?? false,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
        },
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
        source: object,
    };
}

export interface StackOptions {
    /** Which objects are registered with `protect: true` (default: none). */
    protect?: (object: KubeObject) => boolean;
    /** Per-object raw props edits, applied before wrapping. */
    editProps?: (object: KubeObject, props: Record<string, any>) => void;
}

export function toResources(objects: ReadonlyArray<KubeObject>, options: StackOptions = {}): PulumiResource[] {
    return objects.map((o) => toResource(o, { protect: options.protect?.(o) ?? false, editProps: options.editProps && ((p) => options.editProps!(o, p)) }));
}

// ---------------------------------------------------------------------------------------------------------------------
// Running the pack

/** One finding, from either adapter, in the CrossGuard message's terms. */
export interface Finding {
    id: string;
    kind: string;
    /** `namespace/name`, or `name` for cluster-scoped objects. */
    target: string;
    message: string;
    level: string;
    /** CrossGuard only: the URN passed to reportViolation. */
    urn?: string;
}

export function findingKey(f: Finding): string {
    return `${f.id} ${f.kind} ${f.target}: ${f.message}`;
}

/** `<id> <Kind> <target>` per subject, deduplicated and sorted: the fixtures' `# expect:` form. */
export function subjectKeys(findings: ReadonlyArray<Finding>): string[] {
    return [...new Set(findings.map((f) => `${f.id} ${f.kind} ${f.target}`))].sort();
}

export function ruleIds(findings: ReadonlyArray<Finding>): string[] {
    return [...new Set(findings.map((f) => f.id))].sort();
}

const MESSAGE = /^\[(MT\d{3,4})\] (\S+) (\S+): ([\s\S]*)$/;

export function parseCrossGuardMessage(message: string): Pick<Finding, "id" | "kind" | "target" | "message"> {
    const m = MESSAGE.exec(message);
    if (m === null) throw new Error(`unexpected CrossGuard message: ${message}`);
    return { id: m[1], kind: m[2], target: m[3], message: m[4] };
}

class NotApplicable extends Error {}

type PackEntry = string | ({ enforcementLevel?: string } & Record<string, unknown>) | undefined;

function levelOf(entry: PackEntry): string | undefined {
    return typeof entry === "string" ? entry : entry?.enforcementLevel;
}

/**
 * Runs every CrossGuard policy of the pack over the resources as the analyzer server does for a stack: the policy's
 * level comes from the pack config (its own entry, else `all`, else its default) and `disabled` skips it; `getConfig()`
 * returns the policy's config entry without `enforcementLevel`; each policy gets a fresh `resources` array.
 */
export async function runPack(resources: ReadonlyArray<PulumiResource>, packConfig: PackConfig = {}): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const policy of crossGuardPolicies(RULES)) {
        const entry = packConfig[policy.name] as PackEntry;
        const level = levelOf(entry) ?? levelOf(packConfig.all as PackEntry) ?? policy.enforcementLevel ?? "advisory";
        if (level === "disabled") continue;
        const { enforcementLevel: _ignored, ...properties } = typeof entry === "object" && entry !== null ? entry : ({} as Record<string, unknown>);
        const args = {
            resources: [...resources],
            stackTags: new Map<string, string>(),
            getConfig: () => ({ ...properties }),
            notApplicable: (reason?: string): never => {
                throw new NotApplicable(reason);
            },
        } as unknown as StackArgs;
        try {
            await Promise.resolve(
                policy.validateStack(args, (message: string, urn?: string) => {
                    findings.push({ ...parseCrossGuardMessage(message), level, urn });
                }),
            );
        } catch (e) {
            if (!(e instanceof NotApplicable)) throw e;
        }
    }
    return findings;
}

/** Findings of the manifest adapter (the checker's path): readManifests, then evaluate. */
export function manifestFindings(paths: ReadonlyArray<string>, packConfig: PackConfig = {}): Finding[] {
    const { subjects } = readManifests(paths);
    return evaluate(RULES, subjects, packConfig).map((v) => ({
        id: v.code,
        kind: v.subject.object.kind,
        target: describeObject(v.subject.object),
        message: v.message,
        level: v.level,
    }));
}

/** Findings of the CrossGuard adapter over the same files, registered as Pulumi-like resources. */
export async function crossGuardFindings(paths: ReadonlyArray<string>, packConfig: PackConfig = {}, options: StackOptions = {}): Promise<Finding[]> {
    return runPack(toResources(fixtureObjects(...paths), options), packConfig);
}
