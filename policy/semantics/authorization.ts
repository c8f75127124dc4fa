import type { Inventory, RevisionInfo } from "./inventory";
import { acceptsPlaintext, MtlsMode, peerAuthenticationOf, PeerAuthenticationView } from "./mtls";
import { arrayOf, describeObject, isRecord, stringRecord, Subject } from "./objects";
import { inboundPortProtocol, needsHttp } from "./protocols";
import { configIn } from "./revisions";
import { SourceSet } from "./sources";
import { describeWorkload, Workload } from "./workloads";

/**
 * Mesh admission: which source namespaces can get a request through a workload's sidecar, following Istio's
 * AuthorizationPolicy evaluation.
 *
 * - Policies that apply: those the workload's revision reads in the workload's namespace and in the revision's root
 *   namespace, whose `selector` matches the pod labels (no selector: every workload there). A policy with `targetRef(s)`
 *   ignores `selector` and binds to what it targets: for a sidecar that is only a Gateway API `Gateway` whose pods these
 *   are (Service targets bind waypoints, not sidecars).
 * - Not enforced: `action: AUDIT`, and any policy annotated `istio.io/dry-run: "true"`.
 * - Order: CUSTOM (delegated to an external authorizer, which can only narrow), then DENY, then ALLOW. A request any
 *   DENY rule matches is refused; with no ALLOW policy the rest is admitted; with ALLOW policies, only what an ALLOW
 *   rule matches. An ALLOW policy without rules matches nothing, so it admits nothing.
 * - A rule matches when its `from`, `to` and `when` all match; `from` entries are alternatives; within a source the
 *   fields must all match, each by any of its values, and `not…` fields by none of theirs. Source namespaces are judged
 *   from `principals` (`<trust domain>/ns/<namespace>/sa/<account>`, with `*` as prefix or suffix wildcard, only for
 *   the revision's trust domain and its aliases), `namespaces`, and `when` conditions on `source.namespace` and
 *   `source.principal`, all on one peer identity: a namespace counts when one of its principals satisfies them together
 *   (`principals: [X]` with `notPrincipals: [X]` matches nobody), tried over every account the patterns can name and one
 *   they do not. `ipBlocks`, `remoteIpBlocks` and `requestPrincipals` do not tie a request to a namespace (pod addresses
 *   and tokens can come from anywhere), but a field whose `not…` form excludes all it admits matches nothing (both
 *   measured on istiod 1.31: test/fixtures/authz).
 * - An ALLOW rule that needs HTTP attributes (methods, paths, hosts, request principals, `request.*` keys) and names only
 *   ports its Services declare TCP admits nothing: istiod leaves it out of TCP chains (`protocols.ts`).
 *
 * For ALLOW the question is whether some request from a namespace can match (so a rule narrowed by `to` still admits
 * the namespace); for DENY whether every request from it matches (a DENY narrowed by `to` or `when` still lets the
 * namespace through on other requests).
 *
 * - Plaintext: where the workload's PeerAuthentication is not STRICT on some port (Istio's default is PERMISSIVE), a
 *   request can come without a peer certificate, from any namespace. istiod compiles `principals`, `namespaces` and
 *   `when` on `source.principal`/`source.namespace` to matchers on the certificate's URI SAN, so for such a request the
 *   positive forms never match and the `not…` forms always do: a DENY on namespaces refuses none of it, and an ALLOW
 *   that only excludes namespaces admits it. When it gets through, every namespace does. Ports count: a rule whose
 *   `to` names only ports that take plaintext only (DISABLE) never sees an identity, one that names only STRICT ports
 *   never sees plaintext (both measured on istiod 1.31 by the authz e2e and its fuzz: test/fixtures/authz).
 */

export const DRY_RUN_ANNOTATION = "istio.io/dry-run";

type Mode = "possible" | "certain";

export interface PolicyRef {
    subject: Subject;
    action: string;
    enforced: boolean;
    /** Why it is not enforced, when it is not. */
    notEnforced?: string;
}

export interface MeshAdmission {
    /** Source namespaces that can get a request through. */
    sources: SourceSet;
    /** Policies that apply to the workload, enforced or not. */
    policies: PolicyRef[];
    /** One line on how the answer came about. */
    summary: string;
}

interface Context {
    namespaces: ReadonlyArray<string>;
    trustDomains: ReadonlySet<string>;
}

export function trustDomainsOf(rev: RevisionInfo | undefined): Set<string> {
    const td = typeof rev?.mesh?.trustDomain === "string" && rev.mesh.trustDomain !== "" ? rev.mesh.trustDomain : "cluster.local";
    const aliases = arrayOf(rev?.mesh?.trustDomainAliases).filter((a): a is string => typeof a === "string");
    return new Set([td, ...aliases]);
}

/** `*`, `prefix*`, `*suffix` or an exact value, as Istio matches strings in authorization policies. */
function globMatches(pattern: string, value: string): boolean {
    if (pattern === "*") return true;
    if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
    if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
    return pattern === value;
}

const strings = (v: unknown): string[] => arrayOf(v).filter((x): x is string => typeof x === "string");

/** Source fields that narrow requests by address or token, which any namespace can present. */
const REQUEST_FIELDS = [
    ["ipBlocks", "notIpBlocks"],
    ["remoteIpBlocks", "notRemoteIpBlocks"],
    ["requestPrincipals", "notRequestPrincipals"],
] as const;

/** An IPv4 block as address and prefix length; undefined for anything else (IPv6 is compared as written). */
function ipv4Block(cidr: string): { net: number; bits: number } | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(cidr.trim());
    if (m === null) return undefined;
    const octets = m.slice(1, 5).map(Number);
    const bits = m[5] === undefined ? 32 : Number(m[5]);
    if (octets.some((o) => o > 255) || bits > 32) return undefined;
    const addr = octets.reduce((a, o) => a * 256 + o, 0);
    const size = 2 ** (32 - bits);
    return { net: addr - (addr % size), bits };
}

/** Whether every value `positive` admits is excluded by `negative` (blocks by containment, strings by Istio's globs). */
function excludedEntirely(field: string, positive: ReadonlyArray<string>, negative: ReadonlyArray<string>): boolean {
    if (field === "requestPrincipals") return positive.every((p) => !p.includes("*") && negative.some((n) => globMatches(n, p))) || negative.includes("*");
    return positive.every((p) => {
        const a = ipv4Block(p);
        return negative.some((n) => {
            if (n === p) return true;
            const b = ipv4Block(n);
            return a !== undefined && b !== undefined && b.bits <= a.bits && a.net - (a.net % 2 ** (32 - b.bits)) === b.net;
        });
    });
}

/**
 * What a `source` entry asks of the request beyond its identity: whether some request can satisfy its address and token
 * fields (a field and its `not…` form can exclude each other: istiod compiles both, and the rule then matches nothing),
 * and whether every request does (only when it has none).
 */
function requestFieldsOf(src: Record<string, any>, why: string[]): { satisfiable: boolean; unconditional: boolean } {
    let satisfiable = true;
    let unconditional = true;
    for (const [field, notField] of REQUEST_FIELDS) {
        const pos = src[field] === undefined ? undefined : strings(src[field]);
        const neg = src[notField] === undefined ? undefined : strings(src[notField]);
        if (pos === undefined && neg === undefined) continue;
        unconditional = false;
        if ((pos !== undefined && pos.length === 0) || (pos !== undefined && neg !== undefined && excludedEntirely(field, pos, neg))) satisfiable = false;
        else why.push([pos !== undefined ? `${field} ${pos.join(", ")}` : "", neg !== undefined ? `${notField} ${neg.join(", ")}` : ""].filter((x) => x !== "").join(" "));
    }
    return { satisfiable, unconditional };
}

/** A request's peer identity: the namespace and the principal of its certificate (`<td>/ns/<ns>/sa/<account>`). */
interface PeerIdentity {
    namespace: string;
    principal: string;
}

/** One condition a rule puts on the peer identity: a field (or `when` key), its values, and whether it is a `not…` form. */
interface IdentityCondition {
    on: "principal" | "namespace";
    patterns: string[];
    negated: boolean;
    /** The patterns indexed for matching: exact values, prefixes (by the namespace they pin, for principals), suffixes. */
    index: PatternIndex;
}

interface PatternIndex {
    any: boolean;
    exact: Set<string>;
    /** Principal prefixes `<td>/ns/<ns>/…` by that namespace; every other prefix under "". */
    prefixes: Map<string, string[]>;
    suffixes: string[];
}

/** The namespace a principal (or principal prefix) `<td>/ns/<ns>/…` names, or "" when it names none in full. */
function principalNamespaceOf(value: string, td: string): string {
    const head = `${td}/ns/`;
    if (!value.startsWith(head)) return "";
    const end = value.indexOf("/", head.length);
    return end < 0 ? "" : value.slice(head.length, end);
}

function indexPatterns(patterns: ReadonlyArray<string>, on: IdentityCondition["on"], td: string): PatternIndex {
    const index: PatternIndex = { any: false, exact: new Set(), prefixes: new Map(), suffixes: [] };
    for (const p of patterns) {
        if (p === "*") index.any = true;
        else if (p.endsWith("*")) {
            const prefix = p.slice(0, -1);
            const key = on === "principal" ? principalNamespaceOf(prefix, td) : "";
            index.prefixes.set(key, [...(index.prefixes.get(key) ?? []), prefix]);
        } else if (p.startsWith("*")) index.suffixes.push(p.slice(1));
        else index.exact.add(p);
    }
    return index;
}

function indexMatches(index: PatternIndex, value: string, namespace: string): boolean {
    if (index.any || index.exact.has(value)) return true;
    if (index.suffixes.some((x) => value.endsWith(x))) return true;
    const pinned = namespace === "" ? undefined : index.prefixes.get(namespace);
    if (pinned !== undefined && pinned.some((x) => value.startsWith(x))) return true;
    return (index.prefixes.get("") ?? []).some((x) => value.startsWith(x));
}

/**
 * A principal pattern as istiod matches it: one that spells out a trust domain of the revision (the trust domain or an
 * alias) matches that principal under every one of them, so it is written here with the trust domain itself, the one
 * every identity the mesh issues carries.
 */
function canonicalPrincipal(pattern: string, ctx: Context): string {
    const [td] = ctx.trustDomains;
    const slash = pattern.indexOf("/");
    if (slash <= 0 || pattern.startsWith("*")) return pattern;
    const domain = pattern.slice(0, slash);
    return ctx.trustDomains.has(domain) ? `${td}${pattern.slice(slash)}` : pattern;
}

function conditionHolds(c: IdentityCondition, id: PeerIdentity): boolean {
    const any = c.on === "principal" ? indexMatches(c.index, id.principal, id.namespace) : indexMatches(c.index, id.namespace, "");
    return c.negated ? !any : any;
}

/** The conditions a `source` entry and the rule's `when` keys put on the peer identity. */
function identityConditions(src: Record<string, any>, rule: Record<string, any>, ctx: Context): IdentityCondition[] {
    const out: IdentityCondition[] = [];
    const [td] = ctx.trustDomains;
    const add = (on: IdentityCondition["on"], value: unknown, negated: boolean) => {
        if (value === undefined) return;
        const patterns = strings(value).map((p) => (on === "principal" ? canonicalPrincipal(p, ctx) : p));
        out.push({ on, patterns, negated, index: indexPatterns(patterns, on, td) });
    };
    add("principal", src.principals, false);
    add("principal", src.notPrincipals, true);
    add("namespace", src.namespaces, false);
    add("namespace", src.notNamespaces, true);
    for (const cond of arrayOf(rule.when)) {
        const on = cond?.key === "source.principal" ? "principal" : cond?.key === "source.namespace" ? "namespace" : undefined;
        if (on === undefined) continue;
        add(on, cond.values, false);
        add(on, cond.notValues, true);
    }
    return out;
}

const UNKNOWN = "\u0000unknown";

/**
 * Namespaces the set does not hold worth trying: those the patterns single out (a prefix or suffix of a namespace, or of
 * a principal's namespace part), and one nothing names.
 */
function candidateNamespaces(conditions: ReadonlyArray<IdentityCondition>, ctx: Context): string[] {
    const unknown = new Set([UNKNOWN]);
    const [td] = ctx.trustDomains;
    for (const c of conditions) {
        for (const p of c.patterns) {
            if (c.on === "namespace") {
                if (p.endsWith("*") && p !== "*") unknown.add(`${p.slice(0, -1)}${UNKNOWN}`);
                else if (p.startsWith("*") && p !== "*") unknown.add(`${UNKNOWN}${p.slice(1)}`);
            } else {
                // `<td>/ns/<prefix>*`: namespaces not in the set under that prefix match too.
                const head = `${td}/ns/`;
                if (p.startsWith(head) && p.endsWith("*") && !p.slice(head.length, -1).includes("/") && !p.slice(head.length, -1).includes("*")) unknown.add(`${p.slice(head.length, -1)}${UNKNOWN}`);
            }
        }
    }
    return [...unknown];
}

/**
 * The principals worth trying, by namespace: every account a pattern can name there (its exact account, the stem of a
 * prefix, the tail of a suffix), each also lengthened, and an account no pattern names. Any principal of the namespace
 * agrees with one of them on every pattern. Accounts pinned to one namespace are indexed by it; suffixes count
 * everywhere.
 */
function principalCandidates(conditions: ReadonlyArray<IdentityCondition>, ctx: Context): (namespace: string) => string[] {
    const [td] = ctx.trustDomains;
    const pinned = new Map<string, Set<string>>();
    const everywhere = new Set(["\u0000other"]);
    for (const c of conditions) {
        if (c.on !== "principal") continue;
        for (const p of c.patterns) {
            if (p.startsWith("*")) {
                const tail = p.slice(1);
                const cut = tail.lastIndexOf("/sa/");
                everywhere.add(cut >= 0 ? tail.slice(cut + 4) : tail.includes("/") ? tail.slice(tail.lastIndexOf("/") + 1) : tail);
                continue;
            }
            const ns = principalNamespaceOf(p, td);
            const stem = `${td}/ns/${ns}/sa/`;
            if (ns === "" || !p.startsWith(stem)) continue;
            const account = p.endsWith("*") ? p.slice(stem.length, -1) : p.slice(stem.length);
            if (!pinned.has(ns)) pinned.set(ns, new Set());
            pinned.get(ns)!.add(account);
        }
    }
    return (namespace) => {
        const stem = `${td}/ns/${namespace}/sa/`;
        const accounts = [...everywhere, ...(pinned.get(namespace) ?? [])].filter((a) => !a.includes("/"));
        return accounts.flatMap((a) => [`${stem}${a}`, `${stem}${a}\u0000x`, `${stem}\u0000x${a}`]);
    };
}

const knownSets = new WeakMap<ReadonlyArray<string>, ReadonlySet<string>>();

/**
 * The namespaces of the set that some pattern tells apart from one nobody names: those a namespace pattern other than
 * `*` matches, and those some of whose principals a principal pattern matches and not every other namespace's (an
 * account-only suffix such as `*sa/client` matches in every namespace alike). Exact patterns name theirs directly;
 * only wildcards over namespaces are matched against every namespace of the set.
 */
function singledOut(conditions: ReadonlyArray<IdentityCondition>, ctx: Context): Set<string> {
    const [td] = ctx.trustDomains;
    const out = new Set<string>();
    let known = knownSets.get(ctx.namespaces);
    if (known === undefined) knownSets.set(ctx.namespaces, (known = new Set(ctx.namespaces)));
    const scan = (test: (namespace: string) => boolean) => {
        for (const n of ctx.namespaces) if (test(n)) out.add(n);
    };
    const head = `${td}/ns/`;
    for (const c of conditions) {
        for (const p of c.patterns) {
            if (p === "*") continue;
            if (c.on === "namespace") {
                if (p.includes("*")) scan((n) => globMatches(p, n));
                else if (known.has(p)) out.add(p);
                continue;
            }
            if (p.startsWith(head)) {
                const rest = p.slice(head.length);
                const slash = rest.indexOf("/");
                if (slash >= 0 && !rest.slice(0, slash).includes("*")) {
                    if (known.has(rest.slice(0, slash))) out.add(rest.slice(0, slash));
                } else if (rest.endsWith("*")) {
                    const prefix = rest.slice(0, -1);
                    scan((n) => n.startsWith(prefix) || `${n}/`.startsWith(prefix));
                }
            } else if (p.startsWith("*")) {
                const tail = p.slice(1);
                const cut = tail.lastIndexOf("/");
                const before = cut >= 0 ? tail.slice(0, cut + 1) : "";
                const whole = /^\/ns\/([^/*]+)\/sa\/$/.exec(before);
                // `*/ns/<ns>/sa/<account>` names its namespace in full; a shorter tail may end several.
                if (whole !== null) {
                    if (known.has(whole[1])) out.add(whole[1]);
                } else if (cut >= 0 && !`${head}${UNKNOWN}/sa/`.endsWith(before)) {
                    // (A tail every namespace's stem ends with, such as `/sa/`, tells none apart.)
                    scan((n) => `${head}${n}/sa/`.endsWith(before));
                }
            }
            // Any other principal pattern (a prefix of the trust domain's stem, another trust domain) treats every
            // namespace alike.
        }
    }
    return out;
}

/**
 * Source namespaces a rule matches (possible: some request; certain: every request). A request matches a rule when one
 * `from` entry and every `when` condition hold for it, so the identity fields of an entry and the `when` keys on
 * `source.principal` and `source.namespace` are judged together, on one peer identity: `principals: [X]` beside
 * `notPrincipals: [X]` matches nobody. `to` and the other `when` keys narrow requests, never namespaces.
 */
export function ruleSources(rule: Record<string, any>, ctx: Context, mode: Mode): { sources: SourceSet; detail: string[] } {
    // A rule object is judged once per context and mode: every workload a policy selects asks the same question.
    let byRule = judged.get(ctx);
    if (byRule === undefined) judged.set(ctx, (byRule = new WeakMap()));
    let cached = byRule.get(rule);
    if (cached === undefined) byRule.set(rule, (cached = {}));
    return (cached[mode] ??= judgeRule(rule, ctx, mode));
}

const judged = new WeakMap<Context, WeakMap<object, Partial<Record<Mode, { sources: SourceSet; detail: string[] }>>>>();

function judgeRule(rule: Record<string, any>, ctx: Context, mode: Mode): { sources: SourceSet; detail: string[] } {
    const detail: string[] = [];
    const from = arrayOf(rule.from);
    const noFrom = rule.from === undefined || from.length === 0;
    if (noFrom) detail.push("no `from`");
    const entries = (noFrom ? [{}] : from.map((f) => (isRecord(f?.source) ? f.source : {}))).map((src: Record<string, any>) => {
        if (!noFrom && Object.keys(src).length === 0) detail.push("a `from` entry without source");
        return { conditions: identityConditions(src, rule, ctx), request: requestFieldsOf(src, detail) };
    });
    const requestBound = arrayOf(rule.to).length > 0 || arrayOf(rule.when).some((c) => c?.key !== "source.principal" && c?.key !== "source.namespace");
    const usable = entries.filter((e) => (mode === "possible" ? e.request.satisfiable : e.request.unconditional));
    const allConditions = entries.flatMap((e) => e.conditions);
    const candidates = principalCandidates(allConditions, ctx);
    const judge = (namespace: string): boolean => {
        if (usable.length === 0 || (mode === "certain" && requestBound)) return false;
        const ids = candidates(namespace).map((principal) => ({ namespace, principal }));
        const matches = (id: PeerIdentity) => usable.some((e) => e.conditions.every((c) => conditionHolds(c, id)));
        return mode === "possible" ? ids.some(matches) : ids.every(matches);
    };
    const unknown = candidateNamespaces(allConditions, ctx);
    // A namespace of the set that no pattern singles out is judged as one it does not hold, once for all of them.
    const singled = singledOut(allConditions, ctx);
    const verdicts = new Map([...singled].map((n) => [n, judge(n)] as const));
    const asUnknown = judge(UNKNOWN);
    // Namespaces the set does not hold: all of them count as one, in the set (cofinite) when some may match (possible)
    // or all do (certain).
    const others = mode === "possible" ? unknown.some(judge) : unknown.every(judge);
    let sources: SourceSet;
    if (others) sources = SourceSet.allExcept([...verdicts].filter(([, v]) => !v).map(([n]) => n).concat(asUnknown ? [] : ctx.namespaces.filter((n) => !singled.has(n))));
    else sources = SourceSet.of([...verdicts].filter(([, v]) => v).map(([n]) => n).concat(asUnknown ? ctx.namespaces.filter((n) => !singled.has(n)) : []));
    return { sources, detail };
}

function selectorMatches(spec: Record<string, any>, labels: Record<string, string>): boolean {
    const selector = stringRecord(spec.selector?.matchLabels);
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Whether a policy's `targetRef`/`targetRefs` bind this workload: only a Gateway API Gateway's own pods. */
function targetsWorkload(spec: Record<string, any>, policyNs: string, w: Workload): boolean {
    const refs = [...(isRecord(spec.targetRef) ? [spec.targetRef] : []), ...arrayOf(spec.targetRefs)];
    return refs.some((r) => r?.kind === "Gateway" && (r?.group ?? "") === "gateway.networking.k8s.io" && (r?.namespace ?? policyNs) === w.namespace && w.labels["gateway.networking.k8s.io/gateway-name"] === r?.name);
}

/** Whether a policy applies to the workload (given that its revision reads it). */
export function appliesTo(policy: Subject, w: Workload, rootNamespace: string): boolean {
    const ns = policy.object.metadata.namespace;
    if (ns !== w.namespace && ns !== rootNamespace) return false;
    const spec: Record<string, any> = isRecord(policy.object.spec) ? policy.object.spec : {};
    if (spec.targetRef !== undefined || spec.targetRefs !== undefined) return targetsWorkload(spec, ns ?? w.namespace, w);
    return selectorMatches(spec, w.labels);
}

export function policyRef(policy: Subject): PolicyRef {
    const spec: Record<string, any> = isRecord(policy.object.spec) ? policy.object.spec : {};
    const action = typeof spec.action === "string" ? spec.action : "ALLOW";
    if (stringRecord(policy.object.metadata.annotations)[DRY_RUN_ANNOTATION] === "true") return { subject: policy, action, enforced: false, notEnforced: `annotated ${DRY_RUN_ANNOTATION}: "true"` };
    if (action === "AUDIT") return { subject: policy, action, enforced: false, notEnforced: "action AUDIT only logs" };
    return { subject: policy, action, enforced: true };
}

/**
 * The AuthorizationPolicies that apply to a workload's proxy: its namespace's and its revision's root namespace's, as
 * that revision reads them. With no revision known (the pod has a sidecar, its control plane is not in the object set),
 * its own namespace's, whichever istiod serves it.
 */
export function policiesFor(inventory: Inventory, w: Workload, rev: RevisionInfo | undefined): PolicyRef[] {
    if (rev === undefined) return inventory.inNamespace(w.namespace, "AuthorizationPolicy").filter((p) => appliesTo(p, w, w.namespace)).map(policyRef);
    const own = configIn(inventory, rev, w.namespace, "AuthorizationPolicy");
    const candidates = rev.rootNamespace === w.namespace ? own : own.concat(configIn(inventory, rev, rev.rootNamespace, "AuthorizationPolicy"));
    return candidates.filter((p) => appliesTo(p, w, rev.rootNamespace)).map(policyRef);
}

const contexts = new WeakMap<Inventory, Map<RevisionInfo | undefined, Context>>();

/** What matching needs to know: the object set's namespaces (to enumerate wildcards) and the revision's trust domains. */
export function contextOf(inventory: Inventory, rev: RevisionInfo | undefined): Context {
    let byRevision = contexts.get(inventory);
    if (byRevision === undefined) contexts.set(inventory, (byRevision = new Map()));
    let ctx = byRevision.get(rev);
    if (ctx === undefined) byRevision.set(rev, (ctx = { namespaces: [...inventory.namespaces.keys()], trustDomains: trustDomainsOf(rev) }));
    return ctx;
}

/** Who can get a request through the workload's sidecar. */
export function meshAdmission(inventory: Inventory, w: Workload, rev: RevisionInfo | undefined, ctx: Context = contextOf(inventory, rev)): MeshAdmission {
    const policies = policiesFor(inventory, w, rev);
    const peer = peerAuthenticationOf(inventory, w, rev);
    const enforced = policies.filter((p) => p.enforced);
    let denied = SourceSet.none();
    for (const p of enforced.filter((x) => x.action === "DENY")) {
        arrayOf((p.subject.object.spec as any)?.rules).forEach((rule) => {
            denied = denied.union(ruleSources(isRecord(rule) ? rule : {}, ctx, "certain").sources);
        });
    }
    const allows = enforced.filter((p) => p.action === "ALLOW");
    let admitted: SourceSet;
    let summary: string;
    if (allows.length === 0) {
        const ignored = policies.filter((p) => !p.enforced && p.action === "ALLOW").map((p) => `AuthorizationPolicy ${describeObject(p.subject.object)} (${p.notEnforced})`);
        const reason = ignored.length > 0 ? `no enforced ALLOW policy applies (not enforced: ${ignored.join(", ")})` : "no ALLOW policy applies";
        admitted = SourceSet.any(reason);
        summary = reason;
    } else {
        admitted = SourceSet.none();
        for (const p of allows) {
            arrayOf((p.subject.object.spec as any)?.rules).forEach((r, i) => {
                const rule = isRecord(r) ? r : {};
                // A rule whose ports take plaintext only sees no identity: what it admits, it admits in plaintext (below).
                if (!reachable(rule, peer, (m) => m !== "DISABLE") || droppedOnTcp(inventory, w, rule)) return;
                const { sources, detail } = ruleSources(rule, ctx, "possible");
                const name = `AuthorizationPolicy ${describeObject(p.subject.object)} rule ${i + 1}${detail.length > 0 ? ` ${detail.join(", ")}` : ""}`;
                admitted = admitted.union(sources.because(name));
            });
        }
        summary = `${allows.length} ALLOW ${allows.length === 1 ? "policy admits" : "policies admit"} ${admitted.describe()}`;
    }
    let sources = admitted.minus(denied);
    if (!denied.isEmpty) summary += `; DENY refuses ${denied.describe()}`;
    if (acceptsPlaintext(peer)) {
        const rulesOf = (p: PolicyRef) => arrayOf((p.subject.object.spec as any)?.rules).map((r) => (isRecord(r) ? r : {}));
        const refusedBy = enforced.filter((p) => p.action === "DENY").find((p) => rulesOf(p).some((r) => matchesWithoutIdentity(r, "certain")));
        const admittedBy = allows.length === 0 ? undefined : allows.find((p) => rulesOf(p).some((r) => matchesWithoutIdentity(r, "possible") && reachable(r, peer, (m) => m !== "STRICT") && !droppedOnTcp(inventory, w, r)));
        if (refusedBy === undefined && (allows.length === 0 || admittedBy !== undefined)) {
            const by = admittedBy === undefined ? "no ALLOW policy applies" : `AuthorizationPolicy ${describeObject(admittedBy.subject.object)} admits it`;
            const reason = `plaintext: ${describeWorkload(w)} accepts it (${peer.reason}) and ${by}`;
            sources = sources.union(SourceSet.any(reason));
            summary += `; ${reason}`;
        }
    }
    return { sources, policies, summary };
}

/** The ports a rule is limited to (`operation.ports` in every `to` entry); undefined when it reaches any port. */
function namedPorts(rule: Record<string, any>): string[] | undefined {
    const to = arrayOf(rule.to);
    return to.length > 0 && to.every((t) => arrayOf(t?.operation?.ports).length > 0) ? to.flatMap((t) => strings(t.operation.ports)) : undefined;
}

/**
 * Whether istiod leaves an ALLOW rule out of every chain it could admit through: the rule needs HTTP attributes and
 * names only ports that Services declare TCP (with no port named, undeclared ports are detected, HTTP included).
 */
function droppedOnTcp(inventory: Inventory, w: Workload, rule: Record<string, any>): boolean {
    if (!needsHttp(rule)) return false;
    const ports = namedPorts(rule);
    return ports !== undefined && ports.every((p) => inboundPortProtocol(inventory, w, p) === "tcp");
}

/**
 * Whether a request a rule's `to` allows can arrive in the given transport: the ports it names (`operation.ports` in
 * every `to` entry), or else any port of the workload, under the modes its PeerAuthentication sets.
 */
function reachable(rule: Record<string, any>, peer: PeerAuthenticationView, ok: (mode: MtlsMode) => boolean): boolean {
    const named = namedPorts(rule);
    if (named === undefined) return ok(peer.mode) || [...peer.ports.values()].some(ok);
    return named.some((port) => ok(peer.ports.get(port) ?? peer.mode));
}

/**
 * Whether a rule matches requests without a peer identity: some of them (possible) or all (certain). Identity fields
 * (principals, namespaces, their `when` keys) never match such a request and their `not…` forms always do; address and
 * token fields, `to` and other `when` keys match some requests and not others.
 */
function matchesWithoutIdentity(rule: Record<string, any>, mode: Mode): boolean {
    const from = arrayOf(rule.from);
    const sourceMatches = (src: Record<string, any>): boolean => {
        if (src.principals !== undefined || src.namespaces !== undefined) return false;
        const request = requestFieldsOf(src, []);
        return mode === "possible" ? request.satisfiable : request.unconditional;
    };
    if (rule.from !== undefined && from.length > 0 && !from.some((f) => sourceMatches(isRecord(f?.source) ? f.source : {}))) return false;
    for (const cond of arrayOf(rule.when)) {
        if (cond?.key === "source.namespace" || cond?.key === "source.principal") {
            if (cond.values !== undefined) return false;
        } else if (mode === "certain") return false;
    }
    return mode === "possible" || arrayOf(rule.to).length === 0;
}
