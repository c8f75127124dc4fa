export interface IstioVersion {
    major: number;
    minor: number;
    patch: number;
}

/** Oldest Istio the program installs: discovery selectors, revisions and the v1 scoping knobs it relies on. */
export const MIN_ISTIO_VERSION: IstioVersion = { major: 1, minor: 20, patch: 0 };

export function parseIstioVersion(version: string): IstioVersion | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/.exec(version);
    return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}
