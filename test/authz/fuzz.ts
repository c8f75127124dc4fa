import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import type { ControlPlanePlan, KubeObject } from "../../plan";
import type { Subject } from "../../policy/semantics/objects";
import { expectExit, kubectlJson, run, tempFile } from "../e2e/harness";
import { istioOperatorFor, renderOfficial, sleep, startIstiod } from "../e2e/istio";
import { compareAdmission } from "./istiodAuthz";

/**
 * Differential fuzzing of mesh admission: random estates of AuthorizationPolicies and PeerAuthentications (random
 * selectors, sources and their `not…` forms, `to` and `when`, ALLOW, DENY and AUDIT, the dry-run annotation; no
 * CUSTOM, which needs an external authorizer) applied to the local cluster one after another, each judged by a real
 * istiod's compiled RBAC and by the model, on a usergroup of its own (`fz`) whose workloads never change.
 *
 * Estates come from fast-check with a seed (the same seed gives the same estates); the run stops after `runs` estates
 * or `seconds`, whichever comes first. Every disagreement is reported with the estate that produced it.
 */

export const FUZZ_REVISION = "fz";
const SYSTEM = "fz-system";
const MESHED = ["fz-a", "fz-b", "fz-c"];
/** A namespace outside the usergroup: a caller only. */
const OUTSIDE = "fz-out";
const POLICY_NAMESPACES = ["fz-a", "fz-b", SYSTEM];

const usergroupLabels = { usergroup: FUZZ_REVISION, "istio.io/rev": FUZZ_REVISION };

function deployment(namespace: string, name: string, labels: Record<string, string>, ports: number[]): KubeObject {
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, namespace },
        spec: {
            selector: { matchLabels: labels },
            template: { metadata: { labels }, spec: { serviceAccountName: name, containers: [{ name, image: "fuzz.invalid/none", ports: ports.map((p) => ({ containerPort: p })) }] } },
        },
    };
}

function service(namespace: string, name: string, selector: Record<string, string>, ports: { name: string; port: number; targetPort: number }[]): KubeObject {
    return { apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { selector, ports } };
}

/** The fixed part: namespaces, workloads (Deployments: no pod ever runs) and Services that give them inbound ports. */
export function fuzzBase(): KubeObject[] {
    const ns = (name: string, labels: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
    return [
        ns(SYSTEM, { usergroup: FUZZ_REVISION }),
        ...MESHED.map((n) => ns(n, usergroupLabels)),
        ns(OUTSIDE, {}),
        deployment("fz-a", "api", { app: "api", tier: "back" }, [8080, 9000]),
        service("fz-a", "api", { app: "api" }, [
            { name: "http", port: 80, targetPort: 8080 },
            { name: "tcp-db", port: 9000, targetPort: 9000 },
        ]),
        deployment("fz-a", "web", { app: "web" }, [8080]),
        deployment("fz-b", "client", { app: "client" }, [8080]),
        service("fz-b", "client", { app: "client" }, [{ name: "http", port: 8080, targetPort: 8080 }]),
    ];
}

/** The istiod chart values of the fuzz usergroup's revision, as the program would pass them. */
export function fuzzIstiodValues(): Record<string, any> {
    return {
        revision: FUZZ_REVISION,
        global: { istioNamespace: SYSTEM },
        meshConfig: { rootNamespace: SYSTEM, trustDomain: "cluster.local", discoverySelectors: [{ matchLabels: { usergroup: FUZZ_REVISION } }] },
    };
}

const PRINCIPALS = [
    "cluster.local/ns/fz-a/sa/api",
    "cluster.local/ns/fz-b/sa/client",
    "cluster.local/ns/fz-b/sa/*",
    "cluster.local/ns/fz-c/sa/ghost",
    "cluster.local/ns/fz-*",
    "cluster.local/*",
    "*/ns/fz-b/sa/client",
    "*/sa/api",
    "foreign.example/ns/fz-b/sa/client",
    "*",
];
const NAMESPACES = ["fz-a", "fz-b", "fz-c", OUTSIDE, SYSTEM, "fz-*", "*-b", "*"];
const IP_BLOCKS = ["10.0.0.0/8", "192.168.7.0/24", "203.0.113.9"];
const REQUEST_PRINCIPALS = ["*", "issuer.example/user-1"];
const SELECTORS: (Record<string, string> | undefined)[] = [undefined, { app: "api" }, { app: "web" }, { tier: "back" }, { app: "client" }, { app: "nothing" }];

const some = <T>(xs: readonly T[]) => fc.uniqueArray(fc.constantFrom(...xs), { minLength: 1, maxLength: 2 });

const sourceArb = fc
    .record(
        {
            principals: some(PRINCIPALS),
            notPrincipals: some(PRINCIPALS),
            namespaces: some(NAMESPACES),
            notNamespaces: some(NAMESPACES),
            ipBlocks: some(IP_BLOCKS),
            notIpBlocks: some(IP_BLOCKS),
            requestPrincipals: some(REQUEST_PRINCIPALS),
        },
        { requiredKeys: [] },
    )
    .filter((s) => Object.keys(s).length <= 3);

const operationArb = fc.oneof(
    fc.constant({ ports: ["8080"] }),
    fc.constant({ ports: ["9000"] }),
    fc.constant({ paths: ["/admin*"] }),
    fc.constant({ notPaths: ["/public"] }),
    fc.constant({ methods: ["GET"] }),
);

const conditionArb = fc.oneof(
    some(NAMESPACES).map((values) => ({ key: "source.namespace", values })),
    some(NAMESPACES).map((notValues) => ({ key: "source.namespace", notValues })),
    some(PRINCIPALS).map((values) => ({ key: "source.principal", values })),
    fc.constant({ key: "request.headers[x-team]", values: ["blue"] }),
);

const ruleArb = fc.record(
    {
        from: fc.array(sourceArb.map((source) => ({ source })), { minLength: 1, maxLength: 2 }),
        to: fc.array(operationArb.map((operation) => ({ operation })), { minLength: 1, maxLength: 1 }),
        when: fc.array(conditionArb, { minLength: 1, maxLength: 1 }),
    },
    { requiredKeys: [] },
);

const authorizationPolicyArb = fc.record({
    namespace: fc.constantFrom(...POLICY_NAMESPACES),
    action: fc.constantFrom(undefined, "ALLOW", "DENY", "AUDIT"),
    selector: fc.constantFrom(...SELECTORS),
    rules: fc.option(fc.array(ruleArb, { minLength: 0, maxLength: 2 }), { nil: undefined }),
    dryRun: fc.boolean(),
});

const modeArb = fc.constantFrom("STRICT", "PERMISSIVE", "DISABLE", "UNSET");
const peerAuthenticationArb = fc.record({
    namespace: fc.constantFrom(...POLICY_NAMESPACES),
    selector: fc.constantFrom(undefined, { app: "api" }, { app: "web" }),
    mode: modeArb,
    portLevel: fc.option(fc.record({ port: fc.constantFrom(8080, 9000), mode: modeArb }), { nil: undefined }),
});

export const estateArb = fc.record({
    policies: fc.array(authorizationPolicyArb, { minLength: 1, maxLength: 4 }),
    peerAuthentications: fc.array(peerAuthenticationArb, { minLength: 0, maxLength: 2 }),
});

/** The objects of an estate, named by position so that each estate replaces the previous one's. */
export function estateObjects(estate: { policies: any[]; peerAuthentications: any[] }): KubeObject[] {
    const out: KubeObject[] = [];
    estate.policies.forEach((p, i) => {
        const spec: Record<string, unknown> = {};
        if (p.action !== undefined) spec.action = p.action;
        if (p.selector !== undefined) spec.selector = { matchLabels: p.selector };
        if (p.rules !== undefined) spec.rules = p.rules;
        out.push({
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: { name: `ap-${i}`, namespace: p.namespace, labels: { [ESTATE_LABEL]: "true" }, ...(p.dryRun ? { annotations: { "istio.io/dry-run": "true" } } : {}) },
            spec,
        });
    });
    estate.peerAuthentications.forEach((p, i) => {
        // A selector-less PeerAuthentication per namespace at most (Istio takes the oldest); the root one is mesh-wide.
        const spec: Record<string, unknown> = { mtls: { mode: p.mode } };
        if (p.selector !== undefined) spec.selector = { matchLabels: p.selector };
        if (p.portLevel !== undefined && p.selector !== undefined) spec.portLevelMtls = { [p.portLevel.port]: { mode: p.portLevel.mode } };
        out.push({ apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name: `pa-${i}`, namespace: p.namespace, labels: { [ESTATE_LABEL]: "true" } }, spec });
    });
    return out;
}

export interface FuzzReport {
    seed: number;
    /** Measured cases measured again. */
    fixtures: number;
    estates: number;
    /** Estates the API server refused (Istio's CRD validation): not judged. */
    refused: number;
    probes: number;
    seconds: number;
    disagreements: string[];
    undecided: string[];
    /** Namespaces the run created (deleted at its end). */
    namespaces: string[];
}

function applyObjects(objects: KubeObject[], what: string): { code: number; stderr: string } {
    const file = tempFile("fuzz.yaml");
    fs.writeFileSync(file, objects.map((o) => YAML.stringify(o)).join("---\n"));
    const r = run("kubectl", ["apply", "--server-side", "--force-conflicts", "--field-manager", "authz-fuzz", "-f", file]);
    if (r.code !== 0 && what !== "") throw new Error(`${what}: ${r.stderr.slice(-2000)}`);
    return r;
}

const KINDS = "authorizationpolicies.security.istio.io,peerauthentications.security.istio.io";
/** On every estate object, so that one call removes an estate. */
const ESTATE_LABEL = "mesh-tenancy.io/fuzz-estate";

/** The estate's objects as the API server holds them (with the resourceVersions istiod must have seen). */
function readEstate(): Subject[] {
    return kubectlJson(["get", KINDS, "-A", "-l", ESTATE_LABEL]).items.map((object: any) => ({ object, origin: {} }));
}

/**
 * Waits until istiod's config store holds exactly the estate's policies at their resourceVersions (`/debug/configz`),
 * then for its debounced push: a fresh connection is then served the estate.
 */
async function awaitIstiod(http: string, estate: Subject[]): Promise<void> {
    const want = new Set(estate.map((s) => `${s.object.kind}/${s.object.metadata.namespace}/${s.object.metadata.name}@${(s.object.metadata as { resourceVersion?: string }).resourceVersion}`));
    const deadline = Date.now() + 30_000;
    for (;;) {
        const configs = (await (await fetch(`${http}/debug/configz`)).json()) as any[];
        const have = new Set(
            configs
                .filter((c) => ["AuthorizationPolicy", "PeerAuthentication"].includes(c.kind) && POLICY_NAMESPACES.includes(c.metadata?.namespace))
                .map((c) => `${c.kind}/${c.metadata.namespace}/${c.metadata.name}@${c.metadata.resourceVersion}`),
        );
        if (have.size === want.size && [...want].every((k) => have.has(k))) break;
        if (Date.now() > deadline) throw new Error(`istiod did not take the estate within 30 s: want ${[...want].join(", ")}; has ${[...have].join(", ")}`);
        await sleep(100);
    }
    await sleep(1500); // PILOT_DEBOUNCE_AFTER is 100 ms; a push after a burst of changes takes a little longer
}

/** The revision as a fixture states it (the model reads a HelmRelease's values as the chart's). */
function fixtureRevision(): KubeObject {
    return { apiVersion: "mesh-tenancy.io/v1", kind: "HelmRelease", metadata: { name: `istiod-${FUZZ_REVISION}`, namespace: SYSTEM }, spec: { chart: "istiod", version: "1.31.0", values: fuzzIstiodValues() } };
}

/** A candidate for test/fixtures/authz: the estate, the workload and what istiod admitted, over the fuzz namespaces. */
function writeFixture(dir: string, name: string, measured: string, row: { workload: string; istiod: string[] }, estate: KubeObject[]): string {
    const known = [...MESHED, SYSTEM, OUTSIDE];
    const file = path.join(dir, `${name}-${row.workload.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.yaml`);
    const strip = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, labels: Object.fromEntries(Object.entries(o.metadata.labels ?? {}).filter(([k]) => k !== ESTATE_LABEL)) } });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, YAML.stringify({ measured, workload: row.workload, admitted: known.filter((n) => row.istiod.includes(n)), refused: known.filter((n) => !row.istiod.includes(n)), objects: [fixtureRevision(), ...fuzzBase(), ...estate.map(strip)] }));
    return file;
}

/**
 * `replay`: a directory of measured cases (test/fixtures/authz), each applied and measured again before the random
 * estates. `fixturesDir`: where to write a candidate case for each disagreeing workload.
 */
export async function runFuzz(options: { seed: number; runs: number; seconds: number; suffix: string; istioVersion: string; log: (line: string) => void; fixturesDir?: string; replay?: string }): Promise<FuzzReport> {
    const start = Date.now();
    const base = fuzzBase();
    const official = renderOfficial(istioOperatorFor(fuzzIstiodValues()), options.suffix).filter((o) => o.kind !== "CustomResourceDefinition");
    const baseFile = tempFile("fuzz-base.yaml");
    fs.writeFileSync(baseFile, [...base, ...official].map((o) => YAML.stringify(o)).join("---\n"));
    expectExit(run("kubectl", ["apply", "--server-side", "--force-conflicts", "--field-manager", "authz-fuzz", "-f", baseFile]), 0, "apply the fuzz usergroup");
    const report: FuzzReport = { seed: options.seed, fixtures: 0, estates: 0, refused: 0, probes: 0, seconds: 0, disagreements: [], undecided: [], namespaces: base.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name) };
    const cp = { usergroup: FUZZ_REVISION, systemNamespace: SYSTEM, revisions: [{ name: FUZZ_REVISION }] } as unknown as ControlPlanePlan;
    const istiod = await startIstiod(cp, options.suffix);
    try {
        const estates = fc.sample(estateArb, { seed: options.seed, numRuns: options.runs });
        const fixed = [
            ...base.map((object): Subject => ({ object, origin: {} })),
            ...official.map((object): Subject => ({ object, origin: {} })),
        ];
        // Applies an estate and judges it; undefined when the API server refuses it.
        const judge = async (objects: KubeObject[]) => {
            expectExit(run("kubectl", ["delete", KINDS, "-A", "-l", ESTATE_LABEL, "--wait=false"]), 0, "remove the previous estate");
            if (applyObjects(objects, "").code !== 0) return undefined;
            const held = readEstate();
            await awaitIstiod(istiod.http, held);
            const live: Subject[] = kubectlJson(["get", "namespaces,serviceaccounts", "-A"]).items.map((object: any): Subject => ({ object, origin: {} }));
            const accounts = live.filter((s) => s.object.kind === "ServiceAccount");
            const namespaces = live.filter((s) => s.object.kind === "Namespace");
            const subjects = [...namespaces, ...fixed.filter((s) => s.object.kind !== "Namespace"), ...held];
            const result = compareAdmission(subjects, accounts, new Map([[FUZZ_REVISION, istiod.grpc]]), options.istioVersion, MESHED);
            report.probes += result.rows.length;
            return result;
        };
        // Each measured case is measured again first: istiod must still give the answer it records.
        const replay = options.replay;
        for (const file of replay === undefined ? [] : fs.readdirSync(replay).filter((f) => f.endsWith(".yaml")).sort()) {
            const c = YAML.parse(fs.readFileSync(path.join(replay!, file), "utf8"));
            const objects: KubeObject[] = c.objects.filter((o: KubeObject) => o.kind === "AuthorizationPolicy" || o.kind === "PeerAuthentication").map((o: KubeObject) => ({ ...o, metadata: { ...o.metadata, labels: { ...(o.metadata.labels ?? {}), [ESTATE_LABEL]: "true" } } }));
            const result = await judge(objects);
            const row = result?.rows.find((r) => r.workload === c.workload);
            const wrong = row === undefined ? ["not judged"] : [...c.admitted.filter((n: string) => !row.istiod.includes(n)).map((n: string) => `${n} refused`), ...c.refused.filter((n: string) => row.istiod.includes(n)).map((n: string) => `${n} admitted`)];
            if (wrong.length > 0) report.disagreements.push(`fixture ${file}: istiod's answer for ${c.workload} changed: ${wrong.join(", ")}`);
            report.disagreements.push(...(result?.disagreements ?? []).map((d) => `fixture ${file}: ${d}`));
            report.fixtures++;
        }
        for (const [i, estate] of estates.entries()) {
            if ((Date.now() - start) / 1000 > options.seconds) break;
            const objects = estateObjects(estate);
            const result = await judge(objects);
            if (result === undefined) {
                report.refused++;
                continue;
            }
            report.estates++;
            const label = `seed ${options.seed} estate ${i}`;
            for (const d of result.disagreements) report.disagreements.push(`${label}: ${d}\n${YAML.stringify(objects)}`);
            for (const u of result.undecided) report.undecided.push(`${label}: ${u}`);
            if (result.disagreements.length > 0) options.log(`${label}: ${result.disagreements.length} disagreements`);
            if (options.fixturesDir !== undefined) {
                for (const row of result.rows.filter((r) => r.disagreements.length > 0)) {
                    const file = writeFixture(options.fixturesDir, `seed-${options.seed}-estate-${i}`, `istiod ${options.istioVersion} (pilot-discovery), xds-probe -inbound -callers; npm run fuzz:authz -- --seed ${options.seed}, estate ${i}`, row, objects);
                    options.log(`  fixture candidate: ${file}`);
                }
            }
        }
    } finally {
        await istiod.stop();
        run("kubectl", ["delete", "--ignore-not-found", "--wait=false", "-f", baseFile]);
    }
    report.seconds = Math.round((Date.now() - start) / 100) / 10;
    options.log(`authz fuzz: ${report.fixtures} measured cases again, seed ${report.seed}, ${report.estates} estates judged (${report.refused} refused by the API server), ${report.probes} proxies probed, ${report.disagreements.length} disagreements, ${report.undecided.length} undecided, ${report.seconds}s`);
    return report;
}

/**
 * The fixtures' AuthorizationPolicies that a real istiod can be asked about: each distinct one (spec, annotations,
 * labels) in a namespace of its own in the given usergroup (namespace `labels`), with a workload its selector selects.
 * Policies of a root namespace there apply to that namespace only; principals and namespaces they name stay as written.
 */
export function fixtureCases(dir: string, labels: Record<string, string>): { namespace: string; objects: KubeObject[] }[] {
    const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith(".yaml") ? [path.join(d, e.name)] : []));
    const seen = new Map<string, KubeObject>();
    for (const file of walk(dir).sort()) {
        for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
            const o = doc.toJS();
            if (o?.kind !== "AuthorizationPolicy") continue;
            const key = JSON.stringify([o.spec ?? {}, o.metadata?.annotations ?? {}, o.metadata?.labels ?? {}]);
            if (!seen.has(key)) seen.set(key, o);
        }
    }
    return [...seen.values()].map((o, i) => {
        const namespace = `authz-case-${i}`;
        const selected: Record<string, string> = (o.spec as any)?.selector?.matchLabels ?? { app: "case" };
        return {
            namespace,
            objects: [
                { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { usergroup: labels.usergroup, "istio.io/rev": labels["istio.io/rev"] } } },
                deployment(namespace, "case", selected, [8080]),
                service(namespace, "case", selected, [{ name: "http", port: 80, targetPort: 8080 }]),
                { ...o, apiVersion: "security.istio.io/v1", metadata: { ...o.metadata, namespace } },
            ],
        };
    });
}
