import * as path from "path";
import { pathToFileURL } from "url";
import type { Violation } from "../lib/engine";
import { describeObject } from "../semantics/objects";
import type { Rule } from "../lib/rule";
import { kindsOf } from "../lib/catalogue";

/**
 * SARIF 2.1.0 (OASIS), the format code-scanning services read: one run, the checker as its tool with every rule as a
 * reporting descriptor, and one result per finding pointing at the file and line of the object's document.
 */

export const SARIF_VERSION = "2.1.0";
export const SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
export const TOOL_NAME = "mesh-tenancy-check";

/** Where the rules are documented, relative to the repository root. */
export const RULES_DOC = "policy/README.md";

/**
 * The anchor GitHub gives a heading: lower case, punctuation other than `-` and `_` dropped, spaces turned into
 * hyphens. policy/README.md has one `### <id> `<name>` (<level>)` section per rule.
 */
export function headingAnchor(heading: string): string {
    return heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}

export function ruleHeading(rule: Rule): string {
    return `${rule.id} \`${rule.name}\` (${rule.defaultEnforcement})`;
}

/**
 * SARIF wants an absolute `helpUri`. Where the repository's web address is known (GitHub Actions sets
 * GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_SHA) the rule links to its section of policy/README.md at that
 * commit; elsewhere the section is named in the rule's `help` text only.
 */
export function docBase(env: NodeJS.ProcessEnv): string | undefined {
    const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_SHA: sha } = env;
    if (!server || !repo || !sha) return undefined;
    return `${server.replace(/\/+$/, "")}/${repo}/blob/${sha}/`;
}

const LEVEL = { mandatory: "error", advisory: "warning" } as const;

/** A path as a URI reference relative to `root`, or an absolute file URI when it lies outside `root`. */
function artifactLocation(file: string, root: string): { uri: string; uriBaseId?: string } {
    const absolute = path.resolve(root, file);
    const relative = path.relative(root, absolute);
    if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) return { uri: pathToFileURL(absolute).href };
    return { uri: relative.split(path.sep).map(encodeURIComponent).join("/"), uriBaseId: "%SRCROOT%" };
}

export interface SarifOptions {
    rules: ReadonlyArray<Rule>;
    violations: ReadonlyArray<Violation>;
    /** Directory the artifact URIs are relative to (the working directory). */
    root: string;
    version: string;
    env?: NodeJS.ProcessEnv;
}

/**
 * One reporting descriptor per rule, and one per code of a rule with several kinds of finding, so that code scanning
 * tells the kinds apart and can dismiss one precisely; a code's descriptor carries its rule's documentation.
 */
function descriptors(rules: ReadonlyArray<Rule>, base: string | undefined): object[] {
    const out: object[] = [];
    for (const rule of rules) {
        const anchor = headingAnchor(ruleHeading(rule));
        const common = {
            name: rule.name,
            fullDescription: { text: rule.why },
            ...(base !== undefined ? { helpUri: `${base}${RULES_DOC}#${anchor}` } : {}),
            help: {
                text: `${rule.description}\n\nWhy: ${rule.why}\n\nFix: ${rule.fix}\n\nSee ${RULES_DOC}#${anchor}.`,
                markdown: `${rule.description}\n\n**Why:** ${rule.why}\n\n**Fix:** ${rule.fix}\n\nSee [${RULES_DOC}](${base ?? ""}${RULES_DOC}#${anchor}).`,
            },
            defaultConfiguration: { level: LEVEL[rule.defaultEnforcement === "disabled" ? "advisory" : rule.defaultEnforcement], enabled: rule.defaultEnforcement !== "disabled" },
        };
        out.push({ id: rule.id, shortDescription: { text: rule.description }, ...common });
        for (const [code, summary] of kindsOf(rule)) {
            if (code !== rule.id) out.push({ id: code, shortDescription: { text: summary }, ...common, properties: { rule: rule.id } });
        }
    }
    return out;
}

export function toSarif({ rules, violations, root, version, env = {} }: SarifOptions): object {
    const base = docBase(env);
    const reporting = descriptors(rules, base) as { id: string }[];
    const index = new Map(reporting.map((d, i) => [d.id, i]));
    return {
        $schema: SARIF_SCHEMA,
        version: SARIF_VERSION,
        runs: [
            {
                tool: { driver: { name: TOOL_NAME, version, semanticVersion: version, rules: reporting } },
                originalUriBaseIds: { "%SRCROOT%": { uri: pathToFileURL(root + path.sep).href } },
                results: violations.map((v) => {
                    const { object, origin } = v.subject;
                    const physical =
                        origin.file !== undefined
                            ? {
                                  physicalLocation: {
                                      artifactLocation: artifactLocation(origin.file, root),
                                      ...(origin.line !== undefined ? { region: { startLine: origin.line } } : {}),
                                  },
                              }
                            : {};
                    const ruleId = index.has(v.code) ? v.code : v.rule.id;
                    return {
                        ruleId,
                        ruleIndex: index.get(ruleId),
                        level: LEVEL[v.level],
                        message: { text: `${object.kind} ${describeObject(object)}: ${v.message}` },
                        locations: [
                            {
                                ...physical,
                                logicalLocations: [{ name: object.metadata.name, fullyQualifiedName: `${object.kind} ${describeObject(object)}`, kind: "resource" }],
                            },
                        ],
                    };
                }),
                columnKind: "utf16CodeUnits",
            },
        ],
    };
}
