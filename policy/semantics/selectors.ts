/** Kubernetes label selector semantics (metav1.LabelSelector), shared by the rules, the program and the report. */

export type Labels = Readonly<Record<string, string>>;

export interface LabelSelectorRequirement {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | string;
    values?: ReadonlyArray<string>;
}

export interface LabelSelector {
    matchLabels?: Labels;
    matchExpressions?: ReadonlyArray<LabelSelectorRequirement>;
}

/**
 * Whether `selector` selects an object with `labels`. An empty selector selects everything; an unknown operator selects
 * nothing (the API server would have refused it).
 */
export function selects(selector: LabelSelector, labels: Labels): boolean {
    for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
        if (labels[key] !== value) return false;
    }
    for (const req of selector.matchExpressions ?? []) {
        const has = Object.prototype.hasOwnProperty.call(labels, req.key);
        const values = req.values ?? [];
        switch (req.operator) {
            case "In":
                if (!has || !values.includes(labels[req.key])) return false;
                break;
            case "NotIn":
                if (has && values.includes(labels[req.key])) return false;
                break;
            case "Exists":
                if (!has) return false;
                break;
            case "DoesNotExist":
                if (has) return false;
                break;
            default:
                return false;
        }
    }
    return true;
}

/** Istio's discoverySelectors: a namespace is discovered when any selector matches; none at all discovers everything. */
export function anySelects(selectors: ReadonlyArray<LabelSelector> | undefined, labels: Labels): boolean {
    if (selectors === undefined || selectors.length === 0) return true;
    return selectors.some((s) => selects(s, labels));
}

/**
 * How two equality-based workload selectors relate: `equal`, `subset` (every label of `a` is in `b`, so all of `b`'s
 * pods are selected by `a` too), `superset`, or `disjoint-or-partial` (neither contains the other).
 */
export function selectorRelation(a: Labels, b: Labels): "equal" | "subset" | "superset" | "disjoint-or-partial" {
    const aInB = Object.entries(a).every(([k, v]) => b[k] === v);
    const bInA = Object.entries(b).every(([k, v]) => a[k] === v);
    if (aInB && bInA) return "equal";
    if (aInB) return "subset";
    if (bInA) return "superset";
    return "disjoint-or-partial";
}
