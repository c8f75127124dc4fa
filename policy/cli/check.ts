import * as fs from "fs";
import * as path from "path";
import { DEFAULT_MAX_DOCUMENT_SIZE, ManifestError, readManifests } from "../adapters/manifests";
import { evaluate, PackConfig, Violation } from "../lib/engine";
import { describeObject } from "../semantics/objects";
import { RULES } from "../rules";
import { toSarif } from "./sarif";

const USAGE = `usage: check [--config FILE] [--json] [--format text|json|sarif] [--namespace NS] [--max-document-size SIZE] <file-or-dir>...
Judges Kubernetes manifests (multi-document YAML; directories are searched recursively) with the mesh-tenancy rules.
  --format FORMAT           text (default), json (--json) or sarif (SARIF 2.1.0, for code scanning)
  --namespace NS, -n NS     namespace of namespaced objects that name none, as kubectl's (default: default)
  --max-document-size SIZE  largest YAML document read, in characters, with an optional K, M or G (binary) suffix
                            (default: ${DEFAULT_MAX_DOCUMENT_SIZE / 1024 / 1024}M)
Exit status: 0 no mandatory finding, 1 mandatory findings, 2 unreadable input, no objects or bad usage.`;

type Format = "text" | "json" | "sarif";
const FORMATS: ReadonlySet<string> = new Set<Format>(["text", "json", "sarif"]);

interface Options {
    config?: string;
    format: Format;
    namespace: string;
    maxDocumentSize: number;
    paths: string[];
}

class UsageError extends Error {}

/** A DNS-1123 label: what the API server accepts as a namespace name. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function parseSize(text: string): number {
    const m = /^(\d+)([KMG]i?)?$/i.exec(text);
    if (m === null) throw new UsageError(`--max-document-size: not a size: ${JSON.stringify(text)} (e.g. 64M)`);
    const unit = (m[2] ?? "").charAt(0).toUpperCase();
    const size = Number(m[1]) * (unit === "K" ? 1024 : unit === "M" ? 1024 ** 2 : unit === "G" ? 1024 ** 3 : 1);
    if (!Number.isSafeInteger(size) || size <= 0) throw new UsageError(`--max-document-size: must be positive, got ${text}`);
    return size;
}

function parseArgs(argv: string[]): Options {
    const options: Options = { format: "text", namespace: "default", maxDocumentSize: DEFAULT_MAX_DOCUMENT_SIZE, paths: [] };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
        const name = eq < 0 ? arg : arg.slice(0, eq);
        const value = (what: string): string => {
            const v = eq < 0 ? argv[++i] : arg.slice(eq + 1);
            if (v === undefined) throw new UsageError(`${name} needs ${what}`);
            return v;
        };
        if (arg === "--json") options.format = "json";
        else if (name === "--config") options.config = value("a file");
        else if (name === "--format") {
            const format = value("a format (text, json or sarif)");
            if (!FORMATS.has(format)) throw new UsageError(`--format: unknown format ${JSON.stringify(format)} (text, json or sarif)`);
            options.format = format as Format;
        } else if (name === "--namespace" || name === "-n") {
            options.namespace = value("a namespace");
            if (!NAMESPACE_NAME.test(options.namespace)) throw new UsageError(`--namespace: not a namespace name: ${JSON.stringify(options.namespace)}`);
        } else if (name === "--max-document-size") options.maxDocumentSize = parseSize(value("a size"));
        else if (arg === "--help" || arg === "-h") throw new UsageError("");
        else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
        else options.paths.push(arg);
    }
    if (options.paths.length === 0) throw new UsageError("no files or directories given");
    return options;
}

function packVersion(): string {
    try {
        const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
        return typeof pkg.version === "string" ? pkg.version : "0.0.0";
    } catch {
        return "0.0.0";
    }
}

function readConfig(file: string | undefined): PackConfig {
    if (file === undefined) return {};
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as PackConfig;
    } catch (err) {
        throw new ManifestError(`${file}: cannot read policy config: ${(err as Error).message}`);
    }
}

export function formatViolation(v: Violation): string {
    return `${v.code} ${v.level} ${v.subject.object.kind} ${describeObject(v.subject.object)}: ${v.message}`;
}

function noObjects(paths: ReadonlyArray<string>, files: ReadonlyArray<string>): string {
    const where = paths.join(", ");
    if (files.length === 0) return `no Kubernetes objects in ${where}: no .yaml, .yml or .json files`;
    return `no Kubernetes objects in ${where}: ${files.length === 1 ? "the file holds none" : `none of the ${files.length} files holds any`} (nothing to check)`;
}

/** Runs the checker; returns the exit status. */
export function main(
    argv: string[],
    out: (line: string) => void = console.log,
    err: (line: string) => void = console.error,
    env: NodeJS.ProcessEnv = process.env,
): number {
    let options: Options;
    try {
        options = parseArgs(argv);
    } catch (e) {
        if (e instanceof UsageError) {
            if (e.message) err(`check: ${e.message}`);
            err(USAGE);
            return 2;
        }
        throw e;
    }
    let violations: Violation[];
    let files: string[];
    let objects: number;
    try {
        const config = readConfig(options.config);
        const read = readManifests(options.paths, { namespace: options.namespace, maxDocumentSize: options.maxDocumentSize });
        files = read.files;
        objects = read.subjects.length;
        if (objects === 0) throw new ManifestError(noObjects(options.paths, files));
        violations = evaluate(RULES, read.subjects, config);
    } catch (e) {
        err(`check: ${(e as Error).message}`);
        return 2;
    }
    let mandatory = 0;
    for (const v of violations) if (v.level === "mandatory") mandatory++;
    const advisory = violations.length - mandatory;
    if (options.format === "json") {
        out(
            JSON.stringify(
                {
                    findings: violations.map((v) => ({
                        id: v.rule.id,
                        code: v.code,
                        rule: v.rule.name,
                        level: v.level,
                        kind: v.subject.object.kind,
                        namespace: v.subject.object.metadata.namespace ?? null,
                        name: v.subject.object.metadata.name,
                        file: v.subject.origin.file,
                        line: v.subject.origin.line,
                        message: v.message,
                    })),
                    summary: { files: files.length, objects, mandatory, advisory },
                },
                null,
                2,
            ),
        );
    } else if (options.format === "sarif") {
        out(JSON.stringify(toSarif({ rules: RULES, violations, root: process.cwd(), version: packVersion(), env }), null, 2));
    } else {
        for (const v of violations) out(formatViolation(v));
        out(`${mandatory} mandatory, ${advisory} advisory finding${violations.length === 1 ? "" : "s"} in ${objects} objects from ${files.length} file${files.length === 1 ? "" : "s"}`);
    }
    return mandatory > 0 ? 1 : 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
