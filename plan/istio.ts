import { IstioVersion, parseIstioVersion } from "../model/version";

/**
 * Facts about Istio releases that decide chart values and API versions. Each function takes the exact chart version
 * the stack pins.
 */

function versionOf(version: string): IstioVersion {
    const v = parseIstioVersion(version);
    if (v === undefined) throw new Error(`not an Istio version: ${version}`);
    return v;
}

function atLeast(v: IstioVersion, minor: number): boolean {
    return v.major > 1 || (v.major === 1 && v.minor >= minor);
}

/**
 * istiod environment for the given release. `ENABLE_ENHANCED_RESOURCE_SCOPING` makes istiod apply discoverySelectors to
 * Istio config (not only to Services); it exists from 1.20, defaults on from 1.22 and is gone in 1.25, so it is set on
 * exactly 1.20–1.24 (explicitly even where the default is on, so a changed default cannot undo it).
 * `PILOT_SCOPE_GATEWAY_TO_NAMESPACE` makes a gateway deployment accept only Gateway objects of its own namespace, so a
 * tenant cannot bind another tenant's gateway pods by copying their selector labels.
 */
export function istiodEnv(version: string): Record<string, string> {
    const v = versionOf(version);
    const env: Record<string, string> = { PILOT_SCOPE_GATEWAY_TO_NAMESPACE: "true" };
    if (hasEnhancedResourceScopingFlag(v)) {
        env.ENABLE_ENHANCED_RESOURCE_SCOPING = "true";
    }
    return env;
}

function hasEnhancedResourceScopingFlag(v: IstioVersion): boolean {
    return v.major === 1 && v.minor >= 20 && v.minor <= 24;
}

/** The `v1` APIs of networking.istio.io and security.istio.io are served from Istio 1.22. */
export function istioApiVersions(version: string): { networking: string; security: string } {
    const v1 = atLeast(versionOf(version), 22);
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
