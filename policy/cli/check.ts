import * as fs from "fs";
import { ManifestError, readManifests } from "../adapters/manifests";
import { evaluate, PackConfig, Violation } from "../lib/engine";
import { describeObject } from "../semantics/objects";
import { RULES } from "../rules";

const USAGE = `usage: check [--config FILE] [--json] <file-or-dir>...
Judges Kubernetes manifests (multi-document YAML; directories are searched recursively) with the mesh-tenancy rules.
Exit status: 0 no mandatory finding, 1 mandatory findings, 2 unreadable input or bad usage.`;

interface Options {
    config?: string;
    json: boolean;
    paths: string[];
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
    const options: Options = { json: false, paths: [] };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--json") options.json = true;
        else if (arg === "--config") {
            options.config = argv[++i];
            if (options.config === undefined) throw new UsageError("--config needs a file");
        } else if (arg.startsWith("--config=")) options.config = arg.slice("--config=".length);
        else if (arg === "--help" || arg === "-h") throw new UsageError("");
        else if (arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
        else options.paths.push(arg);
    }
    if (options.paths.length === 0) throw new UsageError("no files or directories given");
    return options;
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

/** Runs the checker; returns the exit status. */
export function main(argv: string[], out: (line: string) => void = console.log, err: (line: string) => void = console.error): number {
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
        const read = readManifests(options.paths);
        files = read.files;
        objects = read.subjects.length;
        violations = evaluate(RULES, read.subjects, config);
    } catch (e) {
        err(`check: ${(e as Error).message}`);
        return 2;
    }
    const mandatory = violations.filter((v) => v.level === "mandatory").length;
    const advisory = violations.length - mandatory;
    if (options.json) {
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
    } else {
        for (const v of violations) out(formatViolation(v));
        out(`${mandatory} mandatory, ${advisory} advisory finding${violations.length === 1 ? "" : "s"} in ${objects} objects from ${files.length} file${files.length === 1 ? "" : "s"}`);
    }
    return mandatory > 0 ? 1 : 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
