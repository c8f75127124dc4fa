import * as fs from "fs";
import * as path from "path";
import { StringDecoder } from "string_decoder";
import * as YAML from "yaml";
import { inNamespaceByDefault, isRecord, KubeObject, Subject } from "../semantics/objects";

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

// ---------------------------------------------------------------------------------------------------------------------
// Limits

/**
 * Largest document read by default, in characters of YAML text (bytes, for ASCII). The API server refuses a request
 * body over 3 MiB and etcd an object over 1.5 MiB, so no single object comes near this; only a `List` document (what
 * `kubectl get -o yaml` prints) can legitimately be larger, and its reader raises the cap. Past it, a document is
 * refused before it is composed: composing YAML costs many times the text in memory.
 */
export const DEFAULT_MAX_DOCUMENT_SIZE = 32 * 1024 * 1024;

/**
 * Aliases a document may resolve, as yaml's `maxAliasCount`. Kubernetes manifests rarely use anchors at all; a
 * "billion laughs" document, whose aliases each expand to several more, is refused with its file and line instead of
 * expanding exponentially.
 */
export const DEFAULT_MAX_ALIAS_COUNT = 100;

export interface ReadOptions {
    /**
     * Namespace given to namespaced objects that have none, as `kubectl apply` and `istioctl analyze` do with
     * `--namespace` (default `default`). `null` leaves such objects as written.
     */
    namespace?: string | null;
    /** Cap on one document's size, in characters; see DEFAULT_MAX_DOCUMENT_SIZE. */
    maxDocumentSize?: number;
    maxAliasCount?: number;
    /** Bytes read at a time (default 1 MiB); tests read with tiny chunks to cross every boundary a document can. */
    chunkSize?: number;
}

/** Bytes read from a file at a time: a large file is parsed document by document, never held whole. */
const CHUNK_BYTES = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------------------
// Scope of kinds

function groupOf(apiVersion: string): string {
    const slash = apiVersion.indexOf("/");
    return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** Custom kinds the input's own CustomResourceDefinitions declare cluster-scoped, as `group/Kind`. */
function clusterScopedCustomKinds(subjects: ReadonlyArray<Subject>): Set<string> {
    const found = new Set<string>();
    for (const { object } of subjects) {
        if (object.kind !== "CustomResourceDefinition" || groupOf(object.apiVersion) !== "apiextensions.k8s.io") continue;
        const spec = object.spec;
        if (isRecord(spec) && spec.scope === "Cluster" && typeof spec.group === "string" && isRecord(spec.names) && typeof spec.names.kind === "string") {
            found.add(`${spec.group}/${spec.names.kind}`);
        }
    }
    return found;
}

/**
 * Puts namespaced objects without a namespace into `namespace`, as kubectl does. kubectl learns a kind's scope from
 * the API server's discovery; a file checker has none, so the scope comes from the semantics model's one table of
 * cluster-scoped kinds (`inNamespaceByDefault`), and from the input itself: a CustomResourceDefinition in it that
 * declares `scope: Cluster` keeps its kind out of namespaces. Any other kind counts as namespaced, as kubectl would put
 * a namespaced custom resource into `--namespace`; Istio's kinds and the Gateway API's routes all are.
 */
export function defaultNamespaces(subjects: Subject[], namespace: string): void {
    const customClusterScoped = clusterScopedCustomKinds(subjects);
    for (const subject of subjects) {
        const { object } = subject;
        if (object.metadata.namespace !== undefined && object.metadata.namespace !== "") continue;
        if (customClusterScoped.has(`${groupOf(object.apiVersion)}/${object.kind}`)) continue;
        subject.object = inNamespaceByDefault(object, namespace);
    }
}

// ---------------------------------------------------------------------------------------------------------------------
// Streaming parse

/**
 * Line numbers of offsets, for a stream read front to back: remembers line starts only from the oldest offset still
 * asked about, so that a file of millions of lines costs the lines of one document, not of the whole file.
 */
class LineIndex {
    private starts: number[] = [];
    private head = 0;
    private dropped = 0;

    readonly add = (offset: number): void => {
        this.starts.push(offset);
    };

    /** 1-based line of an offset at or after the last `forget` point. */
    line(offset: number): number {
        let lo = this.head;
        let hi = this.starts.length - 1;
        while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (this.starts[mid] <= offset) lo = mid;
            else hi = mid - 1;
        }
        return this.dropped + (lo - this.head) + 1;
    }

    /** No offset before `offset` is asked about again. */
    forget(offset: number): void {
        while (this.head + 1 < this.starts.length && this.starts[this.head + 1] <= offset) {
            this.head++;
            this.dropped++;
        }
        if (this.head > 4096 && this.head * 2 > this.starts.length) {
            this.starts = this.starts.slice(this.head);
            this.head = 0;
        }
    }
}

/**
 * Reads a multi-document YAML (or JSON) file chunk by chunk and hands each document's value to `onDocument` with the
 * document's 1-based line, composing one document at a time. Throws ManifestError, with file and line, on invalid
 * YAML, on a document over the size cap (as soon as the cap is passed, before the rest is read) and on a document
 * whose aliases expand past the alias cap.
 */
export function streamDocuments(file: string, onDocument: (value: unknown, line: number) => void, options: ReadOptions = {}): void {
    const maxSize = options.maxDocumentSize ?? DEFAULT_MAX_DOCUMENT_SIZE;
    const maxAliasCount = options.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT;
    const lines = new LineIndex();
    const parser = new YAML.Parser(lines.add);
    const composer = new YAML.Composer({ prettyErrors: false });
    /** Offset where the document being read began: the end of the last complete one. */
    let openSince = 0;
    let read = 0;

    const tooLarge = (start: number, size: string) =>
        new ManifestError(
            `${file}:${lines.line(start)}: document ${size} exceeds the ${maxSize}-character limit per document (raise it with --max-document-size)`,
        );
    const handle = (doc: YAML.Document.Parsed) => {
        const start = doc.range[0];
        const at = lines.line(start);
        if (doc.errors.length > 0) {
            const err = doc.errors[0];
            throw new ManifestError(`${file}:${lines.line(err.pos[0])}: invalid YAML: ${err.message.split("\n")[0]}`);
        }
        if (doc.range[2] - start > maxSize) throw tooLarge(start, `of ${doc.range[2] - start} characters`);
        let value: unknown;
        try {
            value = doc.toJS({ maxAliasCount });
        } catch (e) {
            if (e instanceof ReferenceError && /alias/i.test(e.message)) {
                throw new ManifestError(`${file}:${at}: document expands aliases past the limit of ${maxAliasCount} (a "billion laughs" document?)`);
            }
            throw new ManifestError(`${file}:${at}: ${(e as Error).message}`);
        }
        lines.forget(doc.range[2]);
        onDocument(value, at);
    };
    const feed = function* (chunk: string, incomplete: boolean): Generator<YAML.Document.Parsed> {
        for (const token of parser.parse(chunk, incomplete)) {
            yield* composer.next(token) as Generator<YAML.Document.Parsed>;
            // A complete document token: what follows belongs to the next document.
            if (token.type === "document") openSince = parser.offset;
        }
        if (!incomplete) yield* composer.end() as Generator<YAML.Document.Parsed>;
    };

    let fd: number;
    try {
        fd = fs.openSync(file, "r");
    } catch (err) {
        throw new ManifestError(`${file}: cannot read: ${(err as Error).message}`);
    }
    try {
        const decoder = new StringDecoder("utf8");
        const buffer = Buffer.allocUnsafe(options.chunkSize ?? CHUNK_BYTES);
        // The parser is fed whole lines only: yaml's lexer, given part of a line as incomplete input, takes the
        // indentation read so far as the whole of it (a chunk ending in "\n    " and the next starting "  port: 80"
        // reads as a nested mapping in a compact one). The rest of the line waits for the next chunk.
        let partial = "";
        for (;;) {
            let n: number;
            try {
                n = fs.readSync(fd, buffer, 0, buffer.length, null);
            } catch (err) {
                throw new ManifestError(`${file}: cannot read: ${(err as Error).message}`);
            }
            const text = n === 0 ? decoder.end() : decoder.write(buffer.subarray(0, n));
            read += text.length;
            let chunk: string;
            if (n === 0) {
                chunk = partial + text;
                partial = "";
            } else {
                const cut = text.lastIndexOf("\n") + 1;
                chunk = cut === 0 ? "" : partial + text.slice(0, cut);
                partial = cut === 0 ? partial + text : text.slice(cut);
            }
            if (chunk !== "" || n === 0) for (const doc of feed(chunk, n !== 0)) handle(doc);
            if (n === 0) break;
            if (read - openSince > maxSize) throw tooLarge(openSince, "starting here");
        }
    } finally {
        fs.closeSync(fd);
    }
}

/** Checks a document's value and appends its objects; a `List` document is unpacked into its items. */
function collect(value: unknown, file: string, line: number, subjects: Subject[]): void {
    if (value === null || value === undefined) return;
    const items = isRecord(value) && value.kind === "List" && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
        if (!isRecord(item) || typeof item.apiVersion !== "string" || typeof item.kind !== "string" || !isRecord(item.metadata) || typeof item.metadata.name !== "string") {
            throw new ManifestError(`${file}:${line}: not a Kubernetes object (needs apiVersion, kind and metadata.name)`);
        }
        subjects.push({ object: item as KubeObject, origin: { file, line } });
    }
}

/**
 * Reads the manifests under the given paths into subjects, each with its file and the 1-based line of its document,
 * and gives namespaced objects without a namespace `options.namespace` (default `default`).
 */
export function readManifests(paths: ReadonlyArray<string>, options: ReadOptions = {}): { files: string[]; subjects: Subject[] } {
    const files = manifestFiles(paths);
    const subjects: Subject[] = [];
    for (const file of files) streamDocuments(file, (value, line) => collect(value, file, line, subjects), options);
    const namespace = options.namespace === undefined ? "default" : options.namespace;
    if (namespace !== null) defaultNamespaces(subjects, namespace);
    return { files, subjects };
}
