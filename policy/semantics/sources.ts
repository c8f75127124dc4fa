/**
 * Sets of source namespaces, as admission answers them: either a finite set of named namespaces, or every namespace
 * (including ones the object set does not hold) except a finite set. Each admitted namespace carries the reasons, so a
 * finding can name the objects on the path.
 */

/** Key under which the reasons for "every other namespace" are kept. */
export const ANY_OTHER = "*";

export class SourceSet {
    private constructor(
        /** true: every namespace except `names`; false: exactly `names`. */
        readonly cofinite: boolean,
        readonly names: ReadonlySet<string>,
        /** Why a namespace is in the set: by namespace, and under ANY_OTHER for the cofinite part. */
        readonly reasons: ReadonlyMap<string, ReadonlyArray<string>>,
    ) {}

    static none(): SourceSet {
        return new SourceSet(false, new Set(), new Map());
    }

    static any(reason?: string): SourceSet {
        return new SourceSet(true, new Set(), reason === undefined ? new Map() : new Map([[ANY_OTHER, [reason]]]));
    }

    static of(names: Iterable<string>, reason?: string): SourceSet {
        const set = new Set(names);
        const reasons = new Map<string, string[]>();
        if (reason !== undefined) for (const n of set) reasons.set(n, [reason]);
        return new SourceSet(false, set, reasons);
    }

    /** Every namespace except `names`. */
    static allExcept(names: Iterable<string>, reason?: string): SourceSet {
        return new SourceSet(true, new Set(names), reason === undefined ? new Map() : new Map([[ANY_OTHER, [reason]]]));
    }

    has(namespace: string): boolean {
        return this.cofinite ? !this.names.has(namespace) : this.names.has(namespace);
    }

    get isEmpty(): boolean {
        return !this.cofinite && this.names.size === 0;
    }

    /** Admits every namespace, even ones not in the object set. */
    get isAny(): boolean {
        return this.cofinite && this.names.size === 0;
    }

    /** Why `namespace` is in the set (empty when it is not). */
    why(namespace: string): ReadonlyArray<string> {
        if (!this.has(namespace)) return [];
        return [...(this.reasons.get(namespace) ?? []), ...(this.cofinite ? (this.reasons.get(ANY_OTHER) ?? []) : [])];
    }

    /** Why namespaces the object set does not name are in the set (empty when they are not). */
    whyOthers(): ReadonlyArray<string> {
        return this.cofinite ? (this.reasons.get(ANY_OTHER) ?? []) : [];
    }

    union(other: SourceSet): SourceSet {
        const reasons = mergeReasons(this.reasons, other.reasons);
        if (!this.cofinite && !other.cofinite) return new SourceSet(false, new Set([...this.names, ...other.names]), reasons);
        if (this.cofinite && other.cofinite) return new SourceSet(true, intersect(this.names, other.names), reasons);
        const [co, fin] = this.cofinite ? [this, other] : [other, this];
        return new SourceSet(true, difference(co.names, fin.names), reasons);
    }

    intersect(other: SourceSet): SourceSet {
        if (!this.cofinite && !other.cofinite) {
            const names = intersect(this.names, other.names);
            return new SourceSet(false, names, keepReasons(mergeReasons(this.reasons, other.reasons), names));
        }
        if (this.cofinite && other.cofinite) return new SourceSet(true, new Set([...this.names, ...other.names]), mergeReasons(this.reasons, other.reasons));
        const [co, fin] = this.cofinite ? [this, other] : [other, this];
        const names = difference(fin.names, co.names);
        const reasons = new Map<string, ReadonlyArray<string>>();
        for (const n of names) reasons.set(n, [...(fin.reasons.get(n) ?? []), ...(co.reasons.get(n) ?? []), ...(co.reasons.get(ANY_OTHER) ?? [])]);
        return new SourceSet(false, names, reasons);
    }

    /** The complement; reasons do not carry over (they explained membership, not absence). */
    complement(): SourceSet {
        return new SourceSet(!this.cofinite, this.names, new Map());
    }

    minus(other: SourceSet): SourceSet {
        return this.intersect(other.complement());
    }

    /** The same set with every member explained by `reason` too. */
    because(reason: string): SourceSet {
        const reasons = new Map<string, ReadonlyArray<string>>();
        if (this.cofinite) reasons.set(ANY_OTHER, [...(this.reasons.get(ANY_OTHER) ?? []), reason]);
        for (const n of this.cofinite ? [] : this.names) reasons.set(n, [...(this.reasons.get(n) ?? []), reason]);
        for (const [k, v] of this.reasons) if (!reasons.has(k)) reasons.set(k, v);
        return new SourceSet(this.cofinite, this.names, reasons);
    }

    /** `every namespace`, `every namespace except a, b`, or `a, b`. */
    describe(): string {
        const names = [...this.names].sort().join(", ");
        if (this.cofinite) return this.names.size === 0 ? "every namespace" : `every namespace except ${names}`;
        return this.names.size === 0 ? "no namespace" : names;
    }
}

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
    const [small, large] = a.size <= b.size ? [a, b] : [b, a];
    const out = new Set<string>();
    for (const n of small) if (large.has(n)) out.add(n);
    return out;
}

function difference(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
    const out = new Set<string>();
    for (const n of a) if (!b.has(n)) out.add(n);
    return out;
}

function mergeReasons(a: ReadonlyMap<string, ReadonlyArray<string>>, b: ReadonlyMap<string, ReadonlyArray<string>>): Map<string, ReadonlyArray<string>> {
    const out = new Map(a);
    for (const [k, v] of b) out.set(k, out.has(k) ? [...new Set([...out.get(k)!, ...v])] : v);
    return out;
}

function keepReasons(reasons: Map<string, ReadonlyArray<string>>, names: ReadonlySet<string>): Map<string, ReadonlyArray<string>> {
    for (const k of [...reasons.keys()]) if (!names.has(k)) reasons.delete(k);
    return reasons;
}
