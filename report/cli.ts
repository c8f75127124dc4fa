import { CA_TOPOLOGIES, CaTopology } from "../policy/semantics/mtls";
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../model/issues";
import { planTenancy } from "../plan";
import { guardrailsByNamespace } from "../plan/guardrails";
import { ManifestError, readManifests } from "../policy/adapters/manifests";
import { renderHtml } from "./html";
import { buildReport, plannedExportTo, renderText, ScopeReport } from "./report";
import { loadStackConfig, planSubjects, StackNotFoundError } from "./stack";
import { visibilityModel } from "./visibility";

const USAGE = `usage: report (--stack NAME | --manifests PATH...) [--json] [--html FILE]
Shows, per usergroup and meshed namespace, which namespaces its proxies import (config scope), how many of all
namespaces that is, the reduction against Istio's default (no scoping: everything) and the excess over the minimum
(own namespace, declared peers, shared namespaces, system namespace).
  --stack NAME      the stack's config (stacks/Pulumi.NAME.yaml), planned as the program would; no cluster needed
  --manifests PATH  Kubernetes YAML or JSON files; directories are searched recursively (repeatable)
  --json            print the report as JSON instead of text
  --html FILE       also write a self-contained HTML page with a namespace x namespace matrix
  --ca-topology T   with --manifests: shared-root (default: assumed when not told) or per-usergroup; a stack's own
                    comes from its istio.ca setting
Exit status: 0 report printed, 2 bad usage, bad config or unreadable input.`;

interface Options {
    caTopology?: CaTopology;
    stack?: string;
    manifests: string[];
    json: boolean;
    html?: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
    const options: Options = { manifests: [], json: false };
    const value = (i: number, flag: string) => {
        const v = argv[i];
        if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
        return v;
    };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const eq = arg.indexOf("=");
        const [flag, inline] = arg.startsWith("--") && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
        switch (flag) {
            case "--json":
                options.json = true;
                break;
            case "--ca-topology": {
                const topology = inline ?? value(++i, flag);
                if (!(CA_TOPOLOGIES as ReadonlyArray<string>).includes(topology)) throw new UsageError(`--ca-topology: must be one of ${CA_TOPOLOGIES.join(", ")}, got ${JSON.stringify(topology)}`);
                options.caTopology = topology as CaTopology;
                break;
            }
            case "--stack":
                if (options.stack !== undefined) throw new UsageError("--stack given twice");
                options.stack = inline ?? value(++i, flag);
                break;
            case "--manifests":
                options.manifests.push(inline ?? value(++i, flag));
                // Further plain arguments are more manifest paths: `--manifests a.yaml b/`.
                while (argv[i + 1] !== undefined && !argv[i + 1].startsWith("--")) options.manifests.push(argv[++i]);
                break;
            case "--html":
                options.html = inline ?? value(++i, flag);
                break;
            case "--help":
            case "-h":
                throw new UsageError("");
            default:
                throw new UsageError(arg.startsWith("-") ? `unknown option ${arg}` : `unexpected argument ${arg}`);
        }
    }
    if ((options.stack === undefined) === (options.manifests.length === 0)) throw new UsageError("give either --stack NAME or --manifests PATH");
    if (options.stack !== undefined && options.caTopology !== undefined) throw new UsageError("--ca-topology is for --manifests; a stack's comes from its istio.ca setting");
    return options;
}

/** Builds the report the options ask for; throws ConfigError, ManifestError or StackNotFoundError on bad input. */
export function reportFor(options: { stack?: string; manifests?: string[]; caTopology?: CaTopology }): ScopeReport {
    if (options.stack !== undefined) {
        const { file, config } = loadStackConfig(options.stack);
        const plan = planTenancy(config);
        const rel = path.relative(process.cwd(), file) || file;
        const guardrails = { mode: plan.guardrails.mode, byNamespace: Object.fromEntries(guardrailsByNamespace(plan)) };
        return buildReport(visibilityModel(planSubjects(plan, { file: rel }), config.istio.ca.topology), { kind: "stack", name: options.stack, files: [rel] }, plannedExportTo(plan), guardrails);
    }
    const paths = options.manifests ?? [];
    const { files, subjects } = readManifests(paths);
    return buildReport(visibilityModel(subjects, options.caTopology), { kind: "manifests", name: paths.join(" "), files });
}

/** Runs the report; returns the exit status. */
export function main(argv: string[], out: (text: string) => void = (t) => process.stdout.write(t), err: (line: string) => void = console.error): number {
    let options: Options;
    try {
        options = parseArgs(argv);
    } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        if (e.message) err(`report: ${e.message}`);
        err(USAGE);
        return 2;
    }
    let report: ScopeReport;
    try {
        report = reportFor(options);
    } catch (e) {
        if (e instanceof ConfigError || e instanceof ManifestError || e instanceof StackNotFoundError) {
            err(`report: ${e.message}`);
            return 2;
        }
        throw e;
    }
    if (options.html !== undefined) {
        try {
            fs.writeFileSync(options.html, renderHtml(report));
        } catch (e) {
            err(`report: cannot write ${options.html}: ${(e as Error).message}`);
            return 2;
        }
    }
    out(options.json ? JSON.stringify(report, null, 2) + "\n" : renderText(report));
    if (options.html !== undefined) err(`report: wrote ${options.html}`);
    return 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
