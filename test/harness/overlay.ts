/**
 * Fixtures as a baseline plus a change. A fixture file whose header says `# base: <file>` holds only what its case
 * changes in that baseline (a path relative to the fixture's directory; the baseline may be an overlay itself):
 *
 *   - a whole object adds it, or replaces the baseline's object of the same apiVersion, kind, namespace and name;
 *   - `$remove: <key>` removes the baseline's object with that key;
 *   - `$patch: <key>` with `merge: {…}` applies a JSON merge patch (RFC 7386: objects merge, `null` deletes a field,
 *     anything else replaces) to the baseline's object with that key, in place.
 *
 * A baseline may also be what the program plans: `# base: plan:<config.yaml>` (a path relative to the fixture's
 * directory; the file is a mesh-tenancy config as a stack sets it, without the `mesh-tenancy:` prefix) stands for
 * everything the program would register for that config, planned at test time (`planTenancy`, then `planSubjects`:
 * the planned objects and each chart release as the HelmRelease subject the pack judges). A change to what the plan
 * writes reaches every case built on it.
 *
 * A key is `<apiVersion> <kind> <namespace>/<name>`, or `<apiVersion> <kind> <name>` for a cluster-scoped object. The
 * composed set keeps the baseline's order, with additions at the end in the overlay's order. Every consumer (the
 * checker, both adapters, the analyzer cases) reads the composed files that `composeTree` writes, with the overlay's own
 * header (its description and `# expect:` lines) on top, so a test sees what a hand-written whole manifest would be.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { parseConfig } from "../../model/config";
import { planTenancy } from "../../plan";
import { planSubjects } from "../../report/stack";

type Obj = Record<string, any>;

const PLAN_BASE = /^plan:(.+)$/;

/** What the program registers for the config in `file`, as the objects a fixture composes over. */
export function plannedBase(file: string): Obj[] {
    if (!fs.existsSync(file)) throw new Error(`plan base ${file}: no such file`);
    try {
        const config = YAML.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
        return planSubjects(planTenancy(parseConfig(config))).map((s) => structuredClone(s.object) as Obj);
    } catch (err) {
        throw new Error(`plan base ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
}

export const BASE_HEADER = /^# base: (\S+)$/m;

/** JSON with object keys sorted: equal for objects that differ only in key order. */
export function canonical(value: unknown): string {
    return JSON.stringify(value, (_k, v) => (v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
}

export function objectKey(o: Obj): string {
    const md = o?.metadata ?? {};
    return `${o?.apiVersion} ${o?.kind} ${md.namespace !== undefined ? `${md.namespace}/` : ""}${md.name}`;
}

/** The comment lines before the first document: a fixture's description and expectations. */
export function headerOf(text: string): string {
    const lines: string[] = [];
    for (const line of text.split("\n")) {
        if (!line.startsWith("#")) break;
        lines.push(line);
    }
    return lines.join("\n");
}

function documents(file: string, text: string): Obj[] {
    const out: Obj[] = [];
    for (const doc of YAML.parseAllDocuments(text)) {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
        const value = doc.toJS();
        if (value !== null && value !== undefined) out.push(value);
    }
    return out;
}

export function mergePatch(target: any, patch: any): any {
    if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return structuredClone(patch);
    const out: Obj = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
    for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete out[k];
        else out[k] = mergePatch(out[k], v);
    }
    return out;
}

/** The objects a fixture stands for: its own documents, or its baseline's changed by them. */
export function composedObjects(file: string, seen: ReadonlySet<string> = new Set()): Obj[] {
    const text = fs.readFileSync(file, "utf8");
    const docs = documents(file, text);
    const base = BASE_HEADER.exec(headerOf(text))?.[1];
    if (base === undefined) return docs;
    const planned = PLAN_BASE.exec(base)?.[1];
    const baseFile = path.resolve(path.dirname(file), planned ?? base);
    if (seen.has(baseFile)) throw new Error(`${file}: its base ${base} leads back to itself`);
    if (!fs.existsSync(baseFile)) throw new Error(`${file}: base ${base}: no such file`);
    const objects = planned !== undefined ? plannedBase(baseFile) : composedObjects(baseFile, new Set([...seen, file]));
    const index = () => new Map(objects.map((o, i) => [objectKey(o), i]));
    for (const doc of docs) {
        if ("$remove" in doc) {
            const i = index().get(doc.$remove);
            if (i === undefined) throw new Error(`${file}: $remove ${doc.$remove}: base ${base} has no such object`);
            objects.splice(i, 1);
        } else if ("$patch" in doc) {
            const i = index().get(doc.$patch);
            if (i === undefined) throw new Error(`${file}: $patch ${doc.$patch}: base ${base} has no such object`);
            objects[i] = mergePatch(objects[i], doc.merge ?? {});
        } else {
            const i = index().get(objectKey(doc));
            if (i === undefined) objects.push(doc);
            else objects[i] = doc;
        }
    }
    return objects;
}

/** A fixture's text as a whole manifest: its header, then every composed object. */
export function composedText(file: string): string {
    const text = fs.readFileSync(file, "utf8");
    if (!BASE_HEADER.test(headerOf(text))) return text;
    const header = headerOf(text).replace(/^# base: .*\n?/m, "").replace(/\n+$/, "");
    return `${header}\n${composedObjects(file)
        .map((o) => `---\n${YAML.stringify(o, { lineWidth: 0 })}`)
        .join("")}`;
}

/**
 * Writes the composed form of every file under `source` to the same path under `out` (other files copied as they
 * are), rewriting only what changed, and removes what no longer has a source. Returns `out`.
 */
export function composeTree(source: string, out: string): string {
    const wanted = new Set<string>();
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(source, rel), { withFileTypes: true })) {
            const r = path.join(rel, entry.name);
            if (entry.isDirectory()) {
                fs.mkdirSync(path.join(out, r), { recursive: true });
                walk(r);
                continue;
            }
            wanted.add(r);
            const from = path.join(source, r);
            const content = /\.ya?ml$/.test(entry.name) ? composedText(from) : fs.readFileSync(from, "utf8");
            const to = path.join(out, r);
            if (!fs.existsSync(to) || fs.readFileSync(to, "utf8") !== content) fs.writeFileSync(to, content);
        }
    };
    fs.mkdirSync(out, { recursive: true });
    walk("");
    const prune = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(out, rel), { withFileTypes: true })) {
            const r = path.join(rel, entry.name);
            if (entry.isDirectory()) {
                if (!fs.existsSync(path.join(source, r))) fs.rmSync(path.join(out, r), { recursive: true });
                else prune(r);
            } else if (!wanted.has(r)) fs.rmSync(path.join(out, r));
        }
    };
    prune("");
    return out;
}

/**
 * The overlay that turns `base` into `target` (both object lists): removals, then for each changed object whichever is
 * shorter of a merge patch and the whole object, then additions. Used to write a new case from a whole manifest.
 */
export function overlayOf(base: ReadonlyArray<Obj>, target: ReadonlyArray<Obj>): Obj[] {
    const baseByKey = new Map(base.map((o) => [objectKey(o), o]));
    const targetKeys = new Set(target.map(objectKey));
    const out: Obj[] = [];
    for (const o of base) if (!targetKeys.has(objectKey(o))) out.push({ $remove: objectKey(o) });
    for (const o of target) {
        const b = baseByKey.get(objectKey(o));
        if (b === undefined) out.push(o);
        else if (canonical(b) !== canonical(o)) {
            const patch = diffPatch(b, o);
            const asPatch = { $patch: objectKey(o), merge: patch };
            out.push(patch !== undefined && YAML.stringify(asPatch).length < YAML.stringify(o).length && canonical(mergePatch(b, patch)) === canonical(o) ? asPatch : o);
        }
    }
    return out;
}

/** A merge patch from `a` to `b`, or undefined where none can say it (an explicit null in `b`). */
function diffPatch(a: any, b: any): any {
    if (b === null) return undefined;
    if (a === null || typeof a !== "object" || Array.isArray(a) || typeof b !== "object" || Array.isArray(b)) return structuredClone(b);
    const out: Obj = {};
    for (const k of Object.keys(a)) if (!(k in b)) out[k] = null;
    for (const [k, v] of Object.entries(b)) {
        if (canonical(a[k]) === canonical(v)) continue;
        const d = diffPatch(a[k], v);
        if (d === undefined) return undefined;
        out[k] = d;
    }
    return out;
}

/** `test/fixtures/<name>` composed into whole manifests under `test/.composed/<name>` (gitignored): its path. */
export function composedFixtures(name: string): string {
    const tests = path.resolve(__dirname, "..");
    return composeTree(path.join(tests, "fixtures", name), path.join(tests, ".composed", name));
}

/**
 * Every fixture directory (but the plan configs) composed under `test/.composed/`: its path, for readers that walk all
 * cases, so they see each case's whole objects, the planned baseline's included.
 */
export function allComposedFixtures(): string {
    const tests = path.resolve(__dirname, "..");
    for (const entry of fs.readdirSync(path.join(tests, "fixtures"), { withFileTypes: true })) {
        if (entry.isDirectory() && entry.name !== "plans") composedFixtures(entry.name);
    }
    return path.join(tests, ".composed");
}

/**
 * `npx ts-node --transpile-only test/harness/overlay.ts <whole.yaml> <base.yaml | plan:config.yaml>`: prints the overlay
 * of a whole manifest on a baseline (a path relative to the manifest's directory goes in its `# base:` line), to write a
 * new case as the change it is.
 */
if (require.main === module) {
    const [whole, base] = process.argv.slice(2);
    if (whole === undefined || base === undefined) {
        process.stderr.write("usage: overlay.ts <whole.yaml> <base.yaml | plan:config.yaml>\n");
        process.exit(2);
    }
    const header = headerOf(fs.readFileSync(whole, "utf8")).replace(/^# base: .*\n?/m, "").replace(/\n+$/, "");
    const planned = PLAN_BASE.exec(base)?.[1];
    const docs = overlayOf(planned !== undefined ? plannedBase(planned) : composedObjects(base), composedObjects(whole));
    const baseLine = planned !== undefined ? `plan:${path.relative(path.dirname(whole), planned)}` : path.relative(path.dirname(whole), base);
    process.stdout.write(`${header}\n# base: ${baseLine}\n${docs.map((d) => `---\n${YAML.stringify(d, { lineWidth: 0 })}`).join("")}`);
}
