import { OutputFolder } from "./fold";

/** GitHub refuses issue and pull-request comments longer than this many characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;

export interface PreviewCommentArgs {
    stack: string;
    /** The whole output of `pulumi preview --diff` (stdout and stderr). */
    log: string;
    /** The preview's exit status. */
    exitCode: number;
    /** Where a reviewer finds the whole output (the workflow run). */
    logUrl: string;
    /** Characters the comment may use; GitHub's limit unless a test asks for less. */
    limit?: number;
}

/** The marker that lets a later run of the same stack edit its own comment instead of adding another. */
export function commentMarker(stack: string): string {
    return `<!-- mesh-tenancy-preview:${stack} -->`;
}

interface Sections {
    /** What `scripts/pulumi-run.sh`'s fold says happened and the one next step (its `mesh-tenancy:` lines). */
    nextSteps: string[];
    diff: string[];
    policies: string[];
    diagnostics: string[];
    resources: string[];
}

/**
 * Splits preview output into its sections by their unindented headings. The outputs are left out: they are the same
 * in every preview of a stack and are not what a reviewer is asked to judge.
 */
function sections(log: string): Sections {
    const out: Sections = { nextSteps: [], diff: [], policies: [], diagnostics: [], resources: [] };
    let current: keyof Sections | undefined = undefined;
    for (const line of log.split("\n")) {
        // Progress lines ("@ previewing update....") interrupt a section without ending it.
        if (/^@ /.test(line)) continue;
        if (/^\S/.test(line)) {
            // The fold's word on the cause, and an error the CLI prints before any section (a held lock), with the lines
            // indented under them.
            if (/^mesh-tenancy: /.test(line) || /^error: /.test(line)) {
                current = line.startsWith("error: ") ? "diagnostics" : "nextSteps";
                out[current].push(line);
                continue;
            }
            if (/^Previewing /.test(line)) current = "diff";
            // `Policies:` lists results; with `--diff` and nothing to report, `Policy Packs run:` lists the packs.
            else if (/^Polic(ies|y Violations|y Packs run):/.test(line)) current = "policies";
            else if (/^Diagnostics:/.test(line)) current = "diagnostics";
            else if (/^Resources:/.test(line)) current = "resources";
            else current = undefined;
            continue;
        }
        if (current !== undefined) out[current].push(line);
    }
    for (const key of Object.keys(out) as (keyof Sections)[]) {
        while (out[key].length > 0 && out[key][out[key].length - 1].trim() === "") out[key].pop();
    }
    return out;
}

/** Moves the step marker of a diff line to the first column, where GitHub colours `+` and `-`. */
function asDiff(line: string): string {
    const m = /^(\s*)([-+~]) (.*)$/.exec(line);
    return m === null ? ` ${line}` : `${m[2]}${m[1]}${m[3]}`;
}

/** Whole lines of `lines` that fit in `budget` characters, and a note of what was left out. */
function fit(lines: string[], budget: number, logUrl: string): string[] {
    const out: string[] = [];
    let used = 0;
    for (let i = 0; i < lines.length; i++) {
        const note = `... ${lines.length - i} more lines in the full log: ${logUrl}`;
        if (used + lines[i].length + 1 + note.length + 1 > budget) {
            out.push(note);
            return out;
        }
        out.push(lines[i]);
        used += lines[i].length + 1;
    }
    return out;
}

function fenced(lang: string, lines: string[]): string {
    return ["```" + lang, ...lines, "```"].join("\n");
}

/**
 * The pull-request comment for one stack's preview: the resource counts, what happened and the next step when the
 * fold recognised the cause of a failure, the policy results, the errors (knock-on errors folded), then the diff, cut so that the whole comment stays within GitHub's limit, and always a link to the
 * full log.
 */
export function previewComment(args: PreviewCommentArgs): string {
    const limit = args.limit ?? GITHUB_COMMENT_LIMIT;
    const folded = OutputFolder.fold(args.log).trimEnd().split("\n");
    const foldNote = folded[folded.length - 1].startsWith("(folded:") ? folded.pop() : undefined;
    const s = sections(folded.join("\n"));
    const status = args.exitCode === 0 ? "passed" : `failed (exit ${args.exitCode})`;
    const head = [commentMarker(args.stack), `### \`pulumi preview\` of stack \`${args.stack}\`: ${status}`];
    const counts = s.resources.map((l) => l.trim()).filter((l) => l !== "");
    if (counts.length > 0) head.push(counts.join(", "));
    const tail = `Full log: ${args.logUrl}`;

    const parts: string[] = [];
    // A few lines per recognised cause, never cut.
    if (s.nextSteps.length > 0) parts.push("**What happened, and the next step**", fenced("text", s.nextSteps));
    const errors = foldNote !== undefined ? [...s.diagnostics, foldNote] : s.diagnostics;
    // Policies and errors come before the diff and get their share first; the diff takes what is left.
    let budget = limit - head.join("\n\n").length - tail.length - parts.join("\n\n").length - 200;
    const policyBlock = fenced("text", fit(s.policies.length > 0 ? s.policies : ["(no policy results in the output)"], Math.floor(budget / 3), args.logUrl));
    parts.push("**Policies**", policyBlock);
    budget -= policyBlock.length + 20;
    if (errors.length > 0) {
        const errorBlock = fenced("text", fit(errors, Math.floor(budget / 2), args.logUrl));
        parts.push("**Errors**", errorBlock);
        budget -= errorBlock.length + 20;
    }
    const diff = s.diff.filter((l) => l.trim() !== "").map(asDiff);
    if (diff.length > 0) parts.push("**Changes**", fenced("diff", fit(diff, budget - 20, args.logUrl)));
    return [...head, ...parts, tail].join("\n\n") + "\n";
}
