import { istioMinor, parseIstioVersion, supportEnds } from "../policy/semantics/versions";

/**
 * The Istio minors whose chart values (base, istiod, gateway) the plan writes, each checked against that release's
 * charts: 1.29 and 1.30 against `release-1.29`/`release-1.30`, 1.31 against `release-1.31`, 1.32 against master as it
 * stood before the 1.32 branch (no `release-1.32` branch was available to read).
 */
export const CHART_MINORS = { oldest: 29, newest: 32 } as const;

/** Why `version` cannot be installed by the program, or undefined when it can. */
export function istioVersionProblem(version: string): string | undefined {
    if (parseIstioVersion(version) === undefined) {
        return `"${version}" is not an exact chart version such as 1.31.0`;
    }
    const minor = istioMinor(version);
    const range = `1.${CHART_MINORS.oldest} to 1.${CHART_MINORS.newest}`;
    if (minor === undefined || minor < CHART_MINORS.oldest) {
        const ended = minor === undefined ? undefined : supportEnds(minor);
        const support = ended !== undefined ? `; Istio 1.${minor} went out of support on ${ended}` : "";
        return `"${version}" is not supported: the program writes chart values for Istio ${range}${support}`;
    }
    if (minor > CHART_MINORS.newest) {
        return `"${version}" is newer than the charts the program was checked against (Istio ${range}); its chart values are unverified`;
    }
    return undefined;
}
