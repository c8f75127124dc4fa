/**
 * Facts about Istio releases, in one table. Each entry says where it comes from; the program's validation and the
 * policy rules read them from here and nowhere else.
 */

/**
 * Largest difference in minor version between two control-plane revisions that a revision-based (canary) upgrade may
 * jump: Istio's "Canary Upgrades" guide supports jumping two minors at once (1.8 to 1.10), where an in-place upgrade
 * must pass every minor in between.
 */
export const MAX_CANARY_MINOR_SKEW = 2;
