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

/**
 * Items that each carry one label selector per part (for example a webhook's namespace and object selectors), indexed
 * so that finding the items whose every selector selects given labels does not test every item. An item is filed under
 * the first label it requires (a `matchLabels` pair, or each value of an `In` requirement) in any part; only items that
 * require no label at all are tested for every lookup. Results keep the items' order.
 */
export class SelectorIndex<T> {
    private readonly filed = new Map<string, number[]>();
    /** Per part, the keys items are filed under. */
    private readonly keys: Set<string>[];
    private readonly unfiled: number[] = [];
    private readonly selectors: ReadonlyArray<LabelSelector>[];

    constructor(
        private readonly items: ReadonlyArray<T>,
        selectorsOf: (item: T) => ReadonlyArray<LabelSelector>,
    ) {
        this.selectors = items.map(selectorsOf);
        const parts = Math.max(0, ...this.selectors.map((s) => s.length));
        this.keys = Array.from({ length: parts }, () => new Set<string>());
        this.selectors.forEach((selectors, i) => {
            for (const [part, selector] of selectors.entries()) {
                const required = requiredLabel(selector);
                if (required === undefined) continue;
                this.keys[part].add(required.key);
                for (const value of required.values) {
                    const slot = `${part}\0${required.key}\0${value}`;
                    const list = this.filed.get(slot);
                    if (list === undefined) this.filed.set(slot, [i]);
                    else if (list[list.length - 1] !== i) list.push(i);
                }
                return;
            }
            this.unfiled.push(i);
        });
    }

    /** The items whose selector for each part selects that part's labels, in the items' order. */
    selecting(labels: ReadonlyArray<Labels>): T[] {
        const candidates = new Set<number>(this.unfiled);
        for (const [part, keys] of this.keys.entries()) {
            for (const key of keys) {
                const value = labels[part]?.[key];
                if (value === undefined) continue;
                for (const i of this.filed.get(`${part}\0${key}\0${value}`) ?? []) candidates.add(i);
            }
        }
        return [...candidates]
            .sort((a, b) => a - b)
            .filter((i) => this.selectors[i].every((selector, part) => selects(selector, labels[part] ?? {})))
            .map((i) => this.items[i]);
    }
}

/** A label every object the selector selects carries, with the values it may have; none for selectors requiring none. */
function requiredLabel(selector: LabelSelector): { key: string; values: ReadonlyArray<string> } | undefined {
    const [pair] = Object.entries(selector.matchLabels ?? {});
    if (pair !== undefined) return { key: pair[0], values: [pair[1]] };
    for (const req of selector.matchExpressions ?? []) if (req.operator === "In") return { key: req.key, values: req.values ?? [] };
    return undefined;
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
