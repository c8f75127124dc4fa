/**
 * Istio release facts: which minors exist and when they came out, how long each is supported, and which flags,
 * fields and chart values exist from which release. The one place the program (model, plan) and the policy pack ask
 * a version question. Pure data and functions, no dependencies, so a published pack stays self-contained.
 *
 * Sources are named per fact. "tag date" is the commit date of the `1.x.0` tag in istio/istio; "api `v1.x.y`" is the
 * istio.io/api module at that tag (as the Go module proxy serves it); "chart `release-1.x`" is
 * `manifests/charts/<chart>` on that branch of istio/istio.
 */

export interface IstioVersion {
    major: number;
    minor: number;
    patch: number;
}

/** Parses an exact chart or image version such as `1.31.2` or `1.32.0-beta.1`; undefined for anything else. */
export function parseIstioVersion(version: string): IstioVersion | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/.exec(version);
    return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

/**
 * The minor of a 1.x version, read from its leading `1.<minor>`: `1.31.2`, a bare `1.31` and image tags such as
 * `1.31.2-distroless` all give 31. Undefined when the text does not start with a 1.x version.
 */
export function istioMinor(version: string): number | undefined {
    const m = /^1\.(\d+)(?!\d)/.exec(version);
    return m === null ? undefined : Number(m[1]);
}

/**
 * Release date (UTC day) of each minor's `.0`. Source: tag date in istio/istio, except 1.31.0, whose tag the sources
 * read did not hold: 2026-08-20, the date of the release announcement and of the last commit on `release-1.31`
 * before it. 1.32 is absent: istio.io/api `v1.32.0` is published, but no istio/istio `1.32.0` release was found.
 */
const RELEASED: Readonly<Record<number, string>> = {
    20: "2023-11-13",
    21: "2024-03-12",
    22: "2024-05-10",
    23: "2024-08-11",
    24: "2024-11-05",
    25: "2025-02-25",
    26: "2025-05-06",
    27: "2025-08-08",
    28: "2025-10-30",
    29: "2026-02-10",
    30: "2026-05-15",
    31: "2026-08-20",
};

/** Release date of `1.<minor>.0`, when known. */
export function releaseDate(minor: number): string | undefined {
    return RELEASED[minor];
}

/**
 * Last day of support of a minor: six weeks after the release two minors later (istio.io "Supported Releases": a minor
 * is supported until 6 weeks after the N+2 minor release). Undefined while that release has not come out.
 */
export function supportEnds(minor: number): string | undefined {
    const later = RELEASED[minor + 2];
    if (later === undefined) return undefined;
    const end = new Date(`${later}T00:00:00Z`);
    end.setUTCDate(end.getUTCDate() + 42);
    return end.toISOString().slice(0, 10);
}

/** Whether a minor is released and still supported on `day` (`YYYY-MM-DD`). */
export function isSupported(minor: number, day: string): boolean {
    const released = RELEASED[minor];
    if (released === undefined || released > day) return false;
    const end = supportEnds(minor);
    return end === undefined || day <= end;
}

/** Things that exist in some Istio releases and not in others. */
export type IstioFeature =
    | "discoverySelectors"
    | "enhancedResourceScopingFlag"
    | "enhancedResourceScopingOnByDefault"
    | "v1Apis"
    | "istiodChartNetworkPolicy"
    | "validationFailurePolicy"
    | "authorizationTrustDomains"
    | "sidecarEgressExclusions"
    | "serviceEntryVisibility";

interface FeatureFact {
    /** First minor that has it. */
    since: number;
    /** First minor that no longer has it. */
    removedIn?: number;
}

const FEATURES: Readonly<Record<IstioFeature, FeatureFact>> = {
    /**
     * `meshConfig.discoverySelectors` (api mesh config field 59), which revisions per usergroup rely on; present in
     * every release this table covers.
     */
    discoverySelectors: { since: 10 },
    /**
     * istiod's `ENABLE_ENHANCED_RESOURCE_SCOPING` env var: discoverySelectors also scope Istio config, not only
     * Services. Registered in `pilot/pkg/features` on `release-1.20` (default false) to `release-1.24`; gone on
     * `release-1.25`, where the behaviour is always on.
     */
    enhancedResourceScopingFlag: { since: 20, removedIn: 25 },
    /** The same flag defaults to true from `release-1.22` (`pilot/pkg/features/experimental.go`). */
    enhancedResourceScopingOnByDefault: { since: 22 },
    /**
     * `networking.istio.io/v1` and `security.istio.io/v1` are served: the base chart's CRDs list version `v1` from tag
     * 1.22.0 (not at 1.21.0).
     */
    v1Apis: { since: 22 },
    /**
     * The istiod and gateway charts' `global.networkPolicy.enabled` (default false) renders a NetworkPolicy that admits
     * xDS (15010, 15012), debug (8080) and monitoring (15014) from every pod. Added to the istiod chart in istio/istio
     * #56878 (2025-07-15); present on `release-1.28` through master, absent on `release-1.24`.
     */
    istiodChartNetworkPolicy: { since: 28 },
    /**
     * `base.validationFailurePolicy`: the failurePolicy the istiod and base charts render into the validating webhook,
     * instead of Ignore for istiod to patch. In the chart templates from `release-1.28`, not on `release-1.27`.
     */
    validationFailurePolicy: { since: 28 },
    /**
     * AuthorizationPolicy `source.trustDomains` / `notTrustDomains` (fields 13 and 14 of `Source`): in api `1.30.0`,
     * not in `1.29.0`; istiod matches them from `release-1.30` (`pilot/pkg/security/authz/model`).
     */
    authorizationTrustDomains: { since: 30 },
    /**
     * Sidecar egress hosts prefixed with `~` exclude hosts (`~ns/host`, `~ns/*`): in api `v1.31.0` and `v1.32.0`,
     * not in `v1.30.8`; istiod reads them on `release-1.31` (`pilot/pkg/model/sidecar.go`). Before 1.31 such an entry
     * names no namespace and is ignored, so the import it was meant to narrow stays whole.
     */
    sidecarEgressExclusions: { since: 31 },
    /**
     * `meshConfig.serviceEntryVisibility` (field 72): in api `v1.31.0` and `v1.32.0`, not in `v1.30.8`; compiled by
     * istiod on `release-1.31` (`pilot/pkg/model/serviceentry_visibility.go`). Applies to sidecars only with
     * `applyToSidecars: true`.
     */
    serviceEntryVisibility: { since: 31 },
};

/**
 * The Kubernetes Gateway API release (`sigs.k8s.io/gateway-api`) each Istio minor's module requires: the CRDs of that
 * release (standard channel) are what its istiod reads Gateways, routes and grants from. Source: the `require` of the
 * Istio module the toolchain pins per minor (scripts/toolchain/istio*, go.mod; test/versions.test.ts holds the table to
 * them).
 */
const GATEWAY_API: Readonly<Record<number, string>> = {
    30: "v1.5.1",
    31: "v1.6.0",
};

/** The Gateway API release Istio `version` is built against, where known. */
export function gatewayApiVersion(version: string): string | undefined {
    const minor = istioMinor(version);
    return minor === undefined ? undefined : GATEWAY_API[minor];
}

/** Whether the 1.x release `version` (exact, bare minor or image tag) has `feature`; false for versions it cannot read. */
export function supports(feature: IstioFeature, version: string): boolean {
    const minor = istioMinor(version);
    if (minor === undefined) return false;
    const fact = FEATURES[feature];
    return minor >= fact.since && (fact.removedIn === undefined || minor < fact.removedIn);
}

/** First minor that has `feature`. */
export function supportedSince(feature: IstioFeature): number {
    return FEATURES[feature].since;
}

/**
 * How istiod of `version` treats `ENABLE_ENHANCED_RESOURCE_SCOPING` when nothing sets it: `absent` where the flag
 * does not exist (before 1.20 the behaviour is missing, from 1.25 and in any later major always on), else its default.
 * `unknown` when the version cannot be read.
 */
export function enhancedResourceScoping(version: string | undefined): "absent" | "default-off" | "default-on" | "unknown" {
    if (version === undefined) return "unknown";
    if (istioMinor(version) === undefined) return /^([2-9]|\d{2,})\.\d/.test(version) ? "absent" : "unknown";
    if (!supports("enhancedResourceScopingFlag", version)) return "absent";
    return supports("enhancedResourceScopingOnByDefault", version) ? "default-on" : "default-off";
}

/**
 * Largest difference in minor version between two control-plane revisions that a revision-based (canary) upgrade may
 * jump: Istio's "Canary Upgrades" guide supports jumping two minors at once (1.8 to 1.10), where an in-place upgrade
 * must pass every minor in between.
 */
export const MAX_CANARY_MINOR_SKEW = 2;
