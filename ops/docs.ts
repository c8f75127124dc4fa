/**
 * `npm run docs`: writes the generated parts of the documentation from the catalogues they describe, so they cannot
 * drift from the code: in policy/README.md the rule sections (from each rule module's metadata), the table of what each
 * rule's guardrail holds at admission, and the table of the admission-only guardrails (plan/guardrails/catalogue.ts).
 * `npm run docs -- --check` changes nothing and fails when a file differs from what would be written (`npm test` runs
 * the same comparison).
 *
 * A generated part sits between `<!-- generated: <name> (npm run docs) -->` and `<!-- end generated: <name> -->`;
 * everything outside the markers is written by hand.
 */
import * as fs from "fs";
import * as path from "path";
import { GUARDRAILS } from "../plan/guardrails/catalogue";
import { kindsOf } from "../policy/lib/catalogue";
import type { Rule } from "../policy/lib/rule";
import { RULES } from "../policy/rules";
import { ruleHeading } from "../policy/cli/sarif";

const ROOT = path.resolve(__dirname, "..");

/** The rule module that defines each rule id, relative to policy/: the catalogue's source column. */
export function ruleSources(root: string = ROOT): Map<string, string> {
    const dir = path.join(root, "policy", "rules");
    const out = new Map<string, string>();
    for (const f of fs.readdirSync(dir).sort()) {
        const m = /^ {4}id: "(MT\d{3})",$/m.exec(fs.readFileSync(path.join(dir, f), "utf8"));
        if (m !== null) out.set(m[1], `rules/${f}`);
    }
    return out;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function ruleSections(rules: ReadonlyArray<Rule>, sources: Map<string, string>): string {
    return rules
        .map((rule) => {
            const parts = [`### ${ruleHeading(rule)}`, `**Checks:** ${rule.description}`, `**Why:** ${rule.why}`];
            const kinds = kindsOf(rule);
            if (rule.codes === undefined) parts.push(`**Codes:** \`${rule.id}\` (one kind of finding).`);
            else parts.push(`**Codes:**\n\n${kinds.map(([code, summary]) => `- \`${code}\`: ${summary}`).join("\n")}`);
            if (rule.judges !== undefined) parts.push(`**Judges:** ${rule.judges}`);
            const options = Object.entries(rule.configSchema ?? {});
            if (options.length > 0) parts.push(`**Options:**\n\n${options.map(([key, o]) => `- \`${key}\` (${o.type === "array" ? "list of strings" : o.type === "string" && o.enum !== undefined ? o.enum.map((v) => `\`${v}\``).join(" or ") : o.type}): ${o.description}`).join("\n")}`);
            parts.push(`**Fix:** ${rule.fix}`);
            const source = sources.get(rule.id);
            if (source === undefined) throw new Error(`${rule.id}: no module under policy/rules defines it`);
            parts.push(`**Source:** [\`${source}\`](${source})`);
            return parts.join("\n\n");
        })
        .join("\n\n");
}

export function admissionTable(rules: ReadonlyArray<Rule>): string {
    return ["| rule | at admission | what holds only at preview, and why |", "|---|---|---|", ...rules.map((r) => `| ${r.id} | ${cell(r.atAdmission)} | ${cell(r.previewOnly ?? "—")} |`)].join("\n");
}

export function guardrailTable(): string {
    const own = GUARDRAILS.filter((g) => g.id.startsWith("MT-A"));
    return ["| id | name | refuses |", "|---|---|---|", ...own.map((g) => `| ${g.id} | \`${g.name}\` | ${cell(g.refuses)} |`)].join("\n");
}

/** Each generated part: the file it lives in (relative to the root), its marker name, and what it holds. */
export function generatedParts(root: string = ROOT): Array<{ file: string; name: string; text: string }> {
    return [
        { file: "policy/README.md", name: "admission table", text: admissionTable(RULES) },
        { file: "policy/README.md", name: "admission-only guardrails", text: guardrailTable() },
        { file: "policy/README.md", name: "rules", text: ruleSections(RULES, ruleSources(root)) },
    ];
}

/** The file's text with each of its generated parts written; an error names a part whose markers are missing. */
export function regenerate(file: string, text: string, parts: ReadonlyArray<{ file: string; name: string; text: string }>): string {
    let out = text;
    for (const part of parts.filter((p) => p.file === file)) {
        const begin = `<!-- generated: ${part.name} (npm run docs) -->`;
        const end = `<!-- end generated: ${part.name} -->`;
        const i = out.indexOf(begin);
        const j = out.indexOf(end);
        if (i < 0 || j < i) throw new Error(`${file}: the markers of the generated part "${part.name}" are missing (${begin} … ${end})`);
        out = `${out.slice(0, i + begin.length)}\n\n${part.text}\n\n${out.slice(j)}`;
    }
    return out;
}

/** The files whose generated parts differ from what would be written now. */
export function staleDocs(root: string = ROOT): string[] {
    const parts = generatedParts(root);
    return [...new Set(parts.map((p) => p.file))].filter((file) => {
        const text = fs.readFileSync(path.join(root, file), "utf8");
        return regenerate(file, text, parts) !== text;
    });
}

if (require.main === module) {
    const check = process.argv.includes("--check");
    const parts = generatedParts();
    let stale = 0;
    for (const file of [...new Set(parts.map((p) => p.file))]) {
        const full = path.join(ROOT, file);
        const text = fs.readFileSync(full, "utf8");
        const next = regenerate(file, text, parts);
        if (next === text) continue;
        stale++;
        if (check) process.stderr.write(`docs: ${file} differs from its catalogues; run npm run docs\n`);
        else {
            fs.writeFileSync(full, next);
            process.stderr.write(`docs: wrote ${file}\n`);
        }
    }
    process.exitCode = check && stale > 0 ? 1 : 0;
}
