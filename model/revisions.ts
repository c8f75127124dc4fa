import { parseIstioVersion } from "../policy/semantics/versions";

/** The tag every namespace follows unless its tenant names another. */
export const DEFAULT_TAG = "stable";

/**
 * The name a revision gets when the stack does not give one: usergroup and minor version, `team-a-1-31`. It depends on
 * nothing but the usergroup and the version, so reordering revisions never renames one, and a new minor version is a
 * new revision beside the old one (a patch release of the same minor upgrades that revision in place).
 */
export function derivedRevisionName(usergroup: string, version: string): string | undefined {
    const v = parseIstioVersion(version);
    return v === undefined ? undefined : `${usergroup}-${v.major}-${v.minor}`;
}

/** A configured revision's name: the one given, else the derived one. */
export function revisionName(usergroup: string, revision: { name?: string; version: string }): string {
    return revision.name ?? derivedRevisionName(usergroup, revision.version) ?? `${usergroup}-${revision.version}`;
}

/**
 * The `istio.io/rev` value of a usergroup's tag. Tags are cluster-wide (every tag injector matches every namespace
 * carrying its value), so a usergroup's `stable` is `<usergroup>-stable`, never a bare `stable` another usergroup could
 * also claim.
 */
export function tagLabel(usergroup: string, tag: string): string {
    return `${usergroup}-${tag}`;
}
