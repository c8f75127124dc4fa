import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { isRecord, KubeObject, Subject } from "../semantics/objects";

/** A file that cannot be read as Kubernetes YAML; the message names the file and, where known, the line. */
export class ManifestError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ManifestError";
    }
}

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Files under the given paths: files as given, directories searched recursively for YAML and JSON, sorted. */
export function manifestFiles(paths: ReadonlyArray<string>): string[] {
    const files: string[] = [];
    const walk = (p: string, explicit: boolean) => {
        let stat: fs.Stats;
        try {
            stat = fs.statSync(p);
        } catch {
            throw new ManifestError(`${p}: no such file or directory`);
        }
        if (stat.isDirectory()) {
            for (const entry of fs.readdirSync(p).sort()) walk(path.join(p, entry), false);
        } else if (explicit || EXTENSIONS.has(path.extname(p))) {
            files.push(p);
        }
    };
    for (const p of paths) walk(p, true);
    return files;
}

/** Parses multi-document YAML into objects, each with its file and 1-based line; `List` kinds are unpacked. */
export function parseManifests(text: string, file: string): Subject[] {
    const lineCounter = new YAML.LineCounter();
    const docs = YAML.parseAllDocuments(text, { lineCounter, prettyErrors: false });
    const subjects: Subject[] = [];
    const list = Array.isArray(docs) ? docs : [docs];
    for (const doc of list) {
        const line = (offset: number) => lineCounter.linePos(offset).line;
        if (doc.errors.length > 0) {
            const err = doc.errors[0];
            throw new ManifestError(`${file}:${line(err.pos[0])}: invalid YAML: ${err.message.split("\n")[0]}`);
        }
        const value = doc.toJS();
        if (value === null || value === undefined) continue;
        const at = line(doc.range[0]);
        const items = isRecord(value) && value.kind === "List" && Array.isArray(value.items) ? value.items : [value];
        for (const item of items) {
            if (!isRecord(item) || typeof item.apiVersion !== "string" || typeof item.kind !== "string" || !isRecord(item.metadata) || typeof item.metadata.name !== "string") {
                throw new ManifestError(`${file}:${at}: not a Kubernetes object (needs apiVersion, kind and metadata.name)`);
            }
            subjects.push({ object: item as KubeObject, origin: { file, line: at } });
        }
    }
    return subjects;
}

export function readManifests(paths: ReadonlyArray<string>): { files: string[]; subjects: Subject[] } {
    const files = manifestFiles(paths);
    const subjects: Subject[] = [];
    for (const file of files) {
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (err) {
            throw new ManifestError(`${file}: cannot read: ${(err as Error).message}`);
        }
        subjects.push(...parseManifests(text, file));
    }
    return { files, subjects };
}
