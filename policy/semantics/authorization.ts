import type { Inventory, RevisionInfo } from "./inventory";
import { acceptsPlaintext, MtlsMode, peerAuthenticationOf, PeerAuthenticationView } from "./mtls";
import { arrayOf, describeObject, isRecord, stringRecord, Subject } from "./objects";
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
 *   `source.principal`. `ipBlocks`, `remoteIpBlocks` and `requestPrincipals` do not tie a request to a namespace: pod
 *   addresses and tokens can come from anywhere.
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

/**
 * Namespaces whose workloads have a principal a pattern matches (possible), or all of whose principals it matches
 * (certain). A principal is `<td>/ns/<ns>/sa/<account>`, the account any name without `/`.
 */
function principalNamespaces(pattern: string, ctx: Context, mode: Mode): SourceSet {
    if (pattern === "*") return SourceSet.any();
    const pinned = pinnedNamespace(pattern, ctx);
    if (pinned !== undefined) {
        // `<td>/ns/<ns>/sa/<account>` names one namespace; `…/sa/*` covers all of its principals.
        if (pinned === null) return SourceSet.none();
        return mode === "possible" || pattern.endsWith("/sa/*") ? SourceSet.of([pinned]) : SourceSet.none();
    }
    const forNamespace = (ns: string): boolean => {
        return [...ctx.trustDomains].some((td) => {
            const stem = `${td}/ns/${ns}/sa/`;
            if (pattern.endsWith("*") && !pattern.startsWith("*")) {
                const prefix = pattern.slice(0, -1);
                return mode === "possible" ? stem.startsWith(prefix) || prefix.startsWith(stem) : stem.startsWith(prefix);
            }
            if (pattern.startsWith("*") && !pattern.endsWith("*")) {
                const suffix = pattern.slice(1);
                const cut = suffix.lastIndexOf("/");
                if (mode === "certain") return cut < 0 ? suffix === "" : false;
                return cut < 0 ? true : stem.endsWith(suffix.slice(0, cut + 1));
            }
            return mode === "possible" && pattern.startsWith(stem) && !pattern.slice(stem.length).includes("/");
        });
    };
    if (anyUnknownNamespaceMatches(pattern, ctx)) {
        return SourceSet.allExcept(ctx.namespaces.filter((ns) => !forNamespace(ns)));
    }
    return SourceSet.of(ctx.namespaces.filter(forNamespace));
}

/**
 * The one namespace a principal pattern can match when it spells out the trust domain and namespace
 * (`<td>/ns/<ns>/sa/<account or prefix*>`); null when its trust domain is not the revision's; undefined when the
 * pattern does not pin a namespace this way.
 */
function pinnedNamespace(pattern: string, ctx: Context): string | null | undefined {
    if (pattern.startsWith("*")) return undefined;
    const m = /^([^/*]+)\/ns\/([^/*]+)\/sa\/([^/]*)$/.exec(pattern);
    if (m === null) return undefined;
    const account = m[3];
    if (account.includes("*") && !account.endsWith("*")) return undefined;
    if (account.slice(0, -1).includes("*")) return undefined;
    return ctx.trustDomains.has(m[1]) ? m[2] : null;
}

/** Whether a principal pattern can match namespaces the object set does not hold (it does not pin a namespace). */
function anyUnknownNamespaceMatches(pattern: string, ctx: Context): boolean {
    const probe = "\u0000unknown";
    return [...ctx.trustDomains].some((td) => {
        const stem = `${td}/ns/${probe}/sa/`;
        if (pattern.endsWith("*") && !pattern.startsWith("*")) {
            // `<td>/ns/app-*` pins no namespace: a namespace created later under that prefix matches too.
            const prefix = pattern.slice(0, -1);
            return stem.startsWith(prefix) || (prefix.startsWith(`${td}/ns/`) && !prefix.slice(td.length + 4).includes("/"));
        }
        if (pattern.startsWith("*") && !pattern.endsWith("*")) {
            const suffix = pattern.slice(1);
            const cut = suffix.lastIndexOf("/");
            return cut < 0 || !suffix.slice(0, cut + 1).includes("/ns/");
        }
        return false;
    });
}

function namespacePatterns(patterns: ReadonlyArray<string>, ctx: Context): SourceSet {
    let out = SourceSet.none();
    for (const p of patterns) {
        if (p === "*" || (p.startsWith("*") && p.length > 1 && !p.endsWith("*")) || (p.endsWith("*") && !p.startsWith("*"))) {
            // A wildcard pattern can match namespaces the object set does not hold.
            out = out.union(SourceSet.allExcept(ctx.namespaces.filter((ns) => !globMatches(p, ns))));
        } else {
            out = out.union(SourceSet.of([p]));
        }
    }
    return out;
}

function principalPatterns(patterns: ReadonlyArray<string>, ctx: Context, mode: Mode): SourceSet {
    let out = SourceSet.none();
    for (const p of patterns) out = out.union(principalNamespaces(p, ctx, mode));
    return out;
}

const strings = (v: unknown): string[] => arrayOf(v).filter((x): x is string => typeof x === "string");

/** The namespaces a `source` entry matches: some request from them (possible) or every request (certain). */
function sourceEntry(src: Record<string, any>, ctx: Context, mode: Mode, why: string[]): SourceSet {
    const other: Mode = mode === "possible" ? "certain" : "possible";
    let set = SourceSet.any();
    const narrow = (s: SourceSet) => (set = set.intersect(s));
    if (src.principals !== undefined) narrow(principalPatterns(strings(src.principals), ctx, mode));
    if (src.notPrincipals !== undefined) narrow(principalPatterns(strings(src.notPrincipals), ctx, other).complement());
    if (src.namespaces !== undefined) narrow(namespacePatterns(strings(src.namespaces), ctx));
    if (src.notNamespaces !== undefined) narrow(namespacePatterns(strings(src.notNamespaces), ctx).complement());
    for (const key of ["ipBlocks", "remoteIpBlocks", "requestPrincipals", "notIpBlocks", "notRemoteIpBlocks", "notRequestPrincipals"]) {
        if (src[key] === undefined) continue;
        // Addresses and tokens are not tied to a namespace: any namespace may match some of them, none matches surely.
        if (mode === "certain") narrow(SourceSet.none());
        else why.push(`${key} ${strings(src[key]).join(", ")}`);
    }
    return set;
}

/** `when` conditions: those on source.namespace and source.principal narrow the sources; others narrow requests. */
function whenConditions(rule: Record<string, any>, ctx: Context, mode: Mode): { sources: SourceSet; requestBound: boolean } {
    let sources = SourceSet.any();
    let requestBound = false;
    for (const cond of arrayOf(rule.when)) {
        const key = cond?.key;
        const values = cond?.values === undefined ? undefined : strings(cond.values);
        const notValues = cond?.notValues === undefined ? undefined : strings(cond.notValues);
        if (key === "source.namespace") {
            if (values !== undefined) sources = sources.intersect(namespacePatterns(values, ctx));
            if (notValues !== undefined) sources = sources.intersect(namespacePatterns(notValues, ctx).complement());
        } else if (key === "source.principal") {
            const other: Mode = mode === "possible" ? "certain" : "possible";
            if (values !== undefined) sources = sources.intersect(principalPatterns(values, ctx, mode));
            if (notValues !== undefined) sources = sources.intersect(principalPatterns(notValues, ctx, other).complement());
        } else {
            requestBound = true;
        }
    }
    return { sources, requestBound };
}

/** Source namespaces a rule matches (possible: some request; certain: every request). */
export function ruleSources(rule: Record<string, any>, ctx: Context, mode: Mode): { sources: SourceSet; detail: string[] } {
    const detail: string[] = [];
    const from = arrayOf(rule.from);
    let sources: SourceSet;
    if (rule.from === undefined || from.length === 0) {
        sources = SourceSet.any();
        detail.push("no `from`");
    } else {
        sources = SourceSet.none();
        for (const f of from) {
            const src = isRecord(f?.source) ? f.source : {};
            if (Object.keys(src).length === 0) detail.push("a `from` entry without source");
            sources = sources.union(sourceEntry(src, ctx, mode, detail));
        }
    }
    const when = whenConditions(rule, ctx, mode);
    sources = sources.intersect(when.sources);
    if (mode === "certain" && (arrayOf(rule.to).length > 0 || when.requestBound)) sources = SourceSet.none();
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
            arrayOf((p.subject.object.spec as any)?.rules).forEach((rule, i) => {
                // A rule whose ports take plaintext only sees no identity: what it admits, it admits in plaintext (below).
                if (!reachable(isRecord(rule) ? rule : {}, peer, (m) => m !== "DISABLE")) return;
                const { sources, detail } = ruleSources(isRecord(rule) ? rule : {}, ctx, "possible");
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
        const admittedBy = allows.length === 0 ? undefined : allows.find((p) => rulesOf(p).some((r) => matchesWithoutIdentity(r, "possible") && reachable(r, peer, (m) => m !== "STRICT")));
        if (refusedBy === undefined && (allows.length === 0 || admittedBy !== undefined)) {
            const by = admittedBy === undefined ? "no ALLOW policy applies" : `AuthorizationPolicy ${describeObject(admittedBy.subject.object)} admits it`;
            const reason = `plaintext: ${describeWorkload(w)} accepts it (${peer.reason}) and ${by}`;
            sources = sources.union(SourceSet.any(reason));
            summary += `; ${reason}`;
        }
    }
    return { sources, policies, summary };
}

/**
 * Whether a request a rule's `to` allows can arrive in the given transport: the ports it names (`operation.ports` in
 * every `to` entry), or else any port of the workload, under the modes its PeerAuthentication sets.
 */
function reachable(rule: Record<string, any>, peer: PeerAuthenticationView, ok: (mode: MtlsMode) => boolean): boolean {
    const to = arrayOf(rule.to);
    const named = to.length > 0 && to.every((t) => arrayOf(t?.operation?.ports).length > 0) ? to.flatMap((t) => strings(t.operation.ports)) : undefined;
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
        const requestBound = ["ipBlocks", "remoteIpBlocks", "requestPrincipals", "notIpBlocks", "notRemoteIpBlocks", "notRequestPrincipals"].some((k) => src[k] !== undefined);
        return mode === "possible" || !requestBound;
    };
    if (rule.from !== undefined && from.length > 0 && !from.some((f) => sourceMatches(isRecord(f?.source) ? f.source : {}))) return false;
    for (const cond of arrayOf(rule.when)) {
        if (cond?.key === "source.namespace" || cond?.key === "source.principal") {
            if (cond.values !== undefined) return false;
        } else if (mode === "certain") return false;
    }
    return mode === "possible" || arrayOf(rule.to).length === 0;
}
