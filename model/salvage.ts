import { z } from "zod";

export type Path = ReadonlyArray<PropertyKey>;

/** What could be read of an input that failed its schema: the valid rest, and how to name its parts in the input. */
export interface Salvaged<T> {
    data: T;
    /** The input's path of a part of `data` (array indices shift where elements were left out). */
    origin: (path: Path) => Path;
    /** Input paths that were left out. */
    cuts: ReadonlyArray<Path>;
}

/**
 * Leaves out the smallest parts of `raw` that `schema` refuses (an optional key, an array element or a map entry) until
 * the rest parses, so that checks across the whole input can still run on everything that was written correctly.
 * Returns undefined when a problem cannot be cut out (it sits on a required key all the way up to the root).
 */
export function salvage<S extends z.ZodType>(schema: S, raw: unknown): Salvaged<z.infer<S>> | undefined {
    const cuts: Path[] = [];
    const seen = new Set<string>();
    for (;;) {
        const { value, origin } = prune(raw, seen);
        const result = schema.safeParse(value);
        if (result.success) return { data: result.data, origin, cuts };
        let progressed = false;
        for (const issue of result.error.issues) {
            for (const target of problemPaths(issue)) {
                const cut = cutPoint(schema, origin(target));
                if (cut === undefined) return undefined;
                const k = pathKey(cut);
                if (!seen.has(k)) {
                    seen.add(k);
                    cuts.push(cut);
                    progressed = true;
                }
            }
        }
        if (!progressed) return undefined;
    }
}

/** The paths an issue is about: an unknown key is its own path, every other issue the value at its path. */
function problemPaths(issue: z.core.$ZodIssue): Path[] {
    return issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
}

/** The nearest enclosing part of the input at `path` that the schema lets go missing. */
function cutPoint(schema: z.ZodType, path: Path): Path | undefined {
    for (let k = path.length; k >= 1; k--) {
        const parent = schemaAt(schema, path.slice(0, k - 1));
        if (parent instanceof z.ZodArray || parent instanceof z.ZodRecord) return path.slice(0, k);
        if (parent instanceof z.ZodObject) {
            const field = (parent.shape as Record<string, z.ZodType | undefined>)[String(path[k - 1])];
            if (field === undefined || field.safeParse(undefined).success) return path.slice(0, k);
        }
    }
    return undefined;
}

/** The schema of the value at `path`, past optional and default wrappers; undefined off the schema's shape. */
export function schemaAt(schema: z.ZodType, path: Path): z.ZodType | undefined {
    let s: z.ZodType | undefined = unwrap(schema);
    for (const part of path) {
        if (s instanceof z.ZodObject) {
            s = (s.shape as Record<string, z.ZodType | undefined>)[String(part)];
        } else if (s instanceof z.ZodArray) {
            s = s.element as z.ZodType;
        } else if (s instanceof z.ZodRecord) {
            s = s.valueType as z.ZodType;
        } else {
            return undefined;
        }
        if (s === undefined) return undefined;
        s = unwrap(s);
    }
    return s;
}

function unwrap(schema: z.ZodType): z.ZodType {
    let s = schema;
    while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) {
        s = s.unwrap() as z.ZodType;
    }
    return s;
}

function pathKey(path: Path): string {
    return JSON.stringify(path.map((p) => (typeof p === "number" ? p : String(p))));
}

/** A copy of `raw` without the parts at `cut` (input paths); arrays close up, and `origin` maps back. */
function prune(raw: unknown, cut: ReadonlySet<string>): { value: unknown; origin: (path: Path) => Path } {
    const kept = new Map<string, number[]>();
    const copy = (v: unknown, at: PropertyKey[]): unknown => {
        if (Array.isArray(v)) {
            const indices: number[] = [];
            const out: unknown[] = [];
            v.forEach((element, i) => {
                const p = [...at, i];
                if (cut.has(pathKey(p))) return;
                indices.push(i);
                out.push(copy(element, p));
            });
            kept.set(pathKey(at), indices);
            return out;
        }
        if (v !== null && typeof v === "object") {
            const out: Record<string, unknown> = {};
            for (const [k, element] of Object.entries(v)) {
                const p = [...at, k];
                if (!cut.has(pathKey(p))) out[k] = copy(element, p);
            }
            return out;
        }
        return v;
    };
    const value = copy(raw, []);
    const origin = (path: Path): Path => {
        const out: PropertyKey[] = [];
        for (const part of path) {
            const indices = typeof part === "number" ? kept.get(pathKey(out)) : undefined;
            out.push(indices !== undefined && typeof part === "number" ? indices[part] : part);
        }
        return out;
    };
    return { value, origin };
}
