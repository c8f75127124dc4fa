/**
 * The guardrails' per-namespace parameters: what a tenant or shared namespace's policies compare against, computed from
 * the plan and written as annotations of the Namespace itself, which CEL reads as `namespaceObject`.
 */

/** Prefix of the Namespace annotations that carry its guardrail parameters; only the platform operators may set them (MT-A2). */
export const GUARDRAIL_ANNOTATION_PREFIX = "guardrails.mesh-tenancy.io/";

/** The annotation of each parameter. */
export const GUARDRAIL_PARAM_ANNOTATIONS: Readonly<Record<keyof GuardrailParams, string>> = {
    revisions: `${GUARDRAIL_ANNOTATION_PREFIX}revisions`,
    importableNamespaces: `${GUARDRAIL_ANNOTATION_PREFIX}importable-namespaces`,
    exportPeers: `${GUARDRAIL_ANNOTATION_PREFIX}export-peers`,
    admittedNamespaces: `${GUARDRAIL_ANNOTATION_PREFIX}admitted-namespaces`,
    trustDomain: `${GUARDRAIL_ANNOTATION_PREFIX}trust-domain`,
};

/** What one tenant or shared namespace's guardrails compare against; the values of its annotations. */
export interface GuardrailParams {
    /** The namespace's revision and the tags pointing at it: the only `istio.io/rev` values allowed in it. */
    revisions: string[];
    /** Namespaces a Sidecar here may import: itself, its system namespace, what the plan lets it import. */
    importableNamespaces: string[];
    /** Namespaces exportTo may name besides `.` and `~`: the peers that import it or that it imports. */
    exportPeers: string[];
    /** Namespaces whose workloads an ALLOW policy here may admit: itself, the namespaces importing it, its system namespace. */
    admittedNamespaces: string[];
    /** For principals: `<trustDomain>/ns/<namespace>/sa/...`. */
    trustDomain: string;
}

/** The plan facts one namespace's parameters come from. */
export interface NamespaceFacts {
    name: string;
    /** The `istio.io/rev` values that select the namespace's revision: its name and the tags pointing at it. */
    revisions: string[];
    systemNamespace: string;
    imports: string[];
    allowedSources: string[];
}

export function guardrailParams(ns: NamespaceFacts, trustDomain: string): GuardrailParams {
    const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
    return {
        // A pod may name any of them and is still injected by the namespace's control plane (what MT001 allows too).
        revisions: sorted(ns.revisions),
        importableNamespaces: sorted([ns.name, ns.systemNamespace, ...ns.imports]),
        exportPeers: sorted([...ns.imports, ...ns.allowedSources].filter((n) => n !== ns.name)),
        // The plan's NetworkPolicies admit the system namespace too (gateways and istiod live there), as the pack's MT016 does.
        admittedNamespaces: sorted([...ns.allowedSources, ns.systemNamespace]),
        trustDomain,
    };
}

/** Annotation values are strings: lists are comma-separated, which CEL splits back. */
export function guardrailAnnotations(params: GuardrailParams): Record<string, string> {
    const value = (v: string | string[]) => (typeof v === "string" ? v : v.join(","));
    return Object.fromEntries(Object.entries(GUARDRAIL_PARAM_ANNOTATIONS).map(([field, key]) => [key, value(params[field as keyof GuardrailParams])]));
}
