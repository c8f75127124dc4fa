import { supports } from "../policy/semantics/versions";

/**
 * Chart values and API versions that depend on the Istio release. Each function takes the exact chart version the
 * stack pins; which release has what comes from the version table (`policy/semantics/versions.ts`).
 */

/**
 * istiod environment for the given release. `ENABLE_ENHANCED_RESOURCE_SCOPING` makes istiod apply discoverySelectors to
 * Istio config (not only to Services); it is set wherever the flag exists (explicitly even where the default is on, so
 * a changed default cannot undo it). `PILOT_SCOPE_GATEWAY_TO_NAMESPACE` makes a gateway deployment accept only Gateway
 * objects of its own namespace, so a tenant cannot bind another tenant's gateway pods by copying their selector labels.
 */
export function istiodEnv(version: string): Record<string, string> {
    const env: Record<string, string> = { PILOT_SCOPE_GATEWAY_TO_NAMESPACE: "true" };
    if (supports("enhancedResourceScopingFlag", version)) {
        env.ENABLE_ENHANCED_RESOURCE_SCOPING = "true";
    }
    return env;
}

/**
 * `global` values shared by the istiod and gateway releases. Where the charts can render their own NetworkPolicies
 * (`global.networkPolicy.enabled`), they are turned off explicitly: theirs admit istiod's xDS, debug and monitoring
 * ports and the gateways' metrics ports from every pod, and NetworkPolicies add up, so either would undo the
 * program's own.
 */
export function chartGlobals(version: string, istioNamespace?: string): Record<string, unknown> {
    const globals: Record<string, unknown> = {};
    if (istioNamespace !== undefined) globals.istioNamespace = istioNamespace;
    if (supports("istiodChartNetworkPolicy", version)) globals.networkPolicy = { enabled: false };
    return globals;
}

/**
 * Values of the istiod chart's `base` section. The chart renders the revision's validating webhook with
 * `failurePolicy: Ignore` and istiod itself switches it to `Fail` once its webhook answers; a stack that rendered
 * `Ignore` would see that as drift and put `Ignore` back on every `up --refresh`. Where the chart reads
 * `base.validationFailurePolicy`, it is set to `Fail`, the state istiod converges to, so the stack and istiod agree.
 * The webhook only judges objects labelled with the revision (its objectSelector), and the program labels none of its
 * own config that way, so a not-yet-ready istiod blocks no write of the program. The CA bundles istiod patches into its
 * webhooks are never rendered (no `caBundle` value is set), so they are istiod's alone.
 */
export function istiodBaseValues(version: string): Record<string, unknown> | undefined {
    return supports("validationFailurePolicy", version) ? { validationFailurePolicy: "Fail" } : undefined;
}

/** The `v1` APIs of networking.istio.io and security.istio.io, where the release serves them, else `v1beta1`. */
export function istioApiVersions(version: string): { networking: string; security: string } {
    const v1 = supports("v1Apis", version);
    return {
        networking: v1 ? "networking.istio.io/v1" : "networking.istio.io/v1beta1",
        security: v1 ? "security.istio.io/v1" : "security.istio.io/v1beta1",
    };
}

/**
 * Every CustomResourceDefinition the official base chart renders (1.30 and 1.31 ship these 15; older releases a subset,
 * and a name the chart does not render is harmless in `base.excludedCRDs`).
 */
export const ISTIO_CRD_NAMES: readonly string[] = [
    "authorizationpolicies.security.istio.io",
    "destinationrules.networking.istio.io",
    "envoyfilters.networking.istio.io",
    "gateways.networking.istio.io",
    "peerauthentications.security.istio.io",
    "proxyconfigs.networking.istio.io",
    "requestauthentications.security.istio.io",
    "serviceentries.networking.istio.io",
    "sidecars.networking.istio.io",
    "telemetries.telemetry.istio.io",
    "trafficextensions.extensions.istio.io",
    "virtualservices.networking.istio.io",
    "wasmplugins.extensions.istio.io",
    "workloadentries.networking.istio.io",
    "workloadgroups.networking.istio.io",
];
