import { NamespaceRow, percent, ScopeReport, UsergroupRow } from "./report";
import { NO_USERGROUP } from "./visibility";

/**
 * The report as one self-contained HTML page: inline CSS, no script, nothing fetched. Per usergroup, a matrix with a
 * row per meshed namespace and a column per namespace of the usergroup (other usergroups folded into one column each),
 * every cell one of: own, imported (beyond the minimum marked apart) or refused.
 */
export function renderHtml(report: ScopeReport): string {
    const title = report.source.kind === "stack" ? `stack ${report.source.name}` : `manifests ${report.source.name}`;
    const t = report.totals;
    const body: string[] = [];
    body.push(`<h1>Config scope of ${esc(title)}</h1>`);
    body.push(
        `<p class="lead">${report.total} namespaces. Without scoping, each proxy imports all ${report.total} (Istio's default). ` +
            `With this config the ${t.meshed} meshed namespaces import <b>${t.imports}</b> of ${t.defaultImports} ` +
            `(<b>${percent(t.reduction)} less</b>); excess over the minimum: <b class="${t.excess > 0 ? "bad" : "good"}">${t.excess}</b>` +
            `${t.unscoped > 0 ? `; <b class="bad">${t.unscoped} unscoped</b>` : ""}.</p>`,
    );
    body.push(legend());
    body.push(summaryTable(report));
    const groups = columnGroups(report);
    for (const g of report.usergroups) body.push(matrix(report, g, groups));
    body.push(`<h1 class="second">Who can call whom</h1>`);
    body.push(
        `<p class="lead">A cell is marked when a proxy of the row's namespace resolves a service of the column's namespace (its Sidecar imports it and the service is exported to it) ` +
            `and a workload there admits the row's namespace through its sidecar (AuthorizationPolicies) and at L3 (NetworkPolicies). Hover a cell for the workloads and objects behind it. ` +
            `Calls across usergroups: <b class="${crossCalls(report) > 0 ? "bad" : "good"}">${crossCalls(report)}</b>.</p>`,
    );
    for (const g of report.usergroups) body.push(callMatrix(report, g, groups));
    body.push(gatewayTable(report));
    body.push(
        `<footer><p>Imports: namespaces whose services and config the namespace's proxies receive: the revision must discover the namespace and the proxy's Sidecar must name it ` +
            `(its own selector-less Sidecar, else the root namespace's; workload Sidecars count for the pods they select). ` +
            `Minimum: own namespace, the namespaces its Sidecars name, its usergroup's shared namespaces and its system namespace. ` +
            `Gateway proxies are not scoped by Sidecars; discoverySelectors and exportTo still bound them.</p>` +
            `<p>Source: ${esc(report.source.files.join(", "))}</p></footer>`,
    );
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Config scope: ${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body.join("\n")}
</body>
</html>
`;
}

const CSS = `
body { font: 14px/1.4 "DejaVu Sans", Arial, Helvetica, sans-serif; color: #1b1f24; margin: 24px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 28px 0 4px; }
.lead { margin: 0 0 12px; }
.meta { color: #57606a; margin: 0 0 8px; }
.good { color: #116329; } .bad { color: #b3261e; }
.legend { display: flex; gap: 20px; align-items: center; margin: 8px 0 16px; flex-wrap: wrap; }
.legend span.item { display: inline-flex; align-items: center; gap: 6px; }
table { border-collapse: collapse; }
.summary td, .summary th { border: 1px solid #d0d7de; padding: 4px 10px; text-align: right; }
.summary th:first-child, .summary td:first-child { text-align: left; }
.summary thead th { background: #f6f8fa; }
.matrix { margin-top: 6px; }
.matrix th, .matrix td { padding: 0; }
.matrix thead th.col { vertical-align: bottom; height: 150px; width: 30px; }
.matrix thead th.col div { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; margin: 0 auto; padding-bottom: 4px; font-weight: normal; }
.matrix thead th.col.mine div { font-weight: bold; }
.matrix thead th.col.fold div { font-style: italic; color: #57606a; }
.matrix thead th.stat { vertical-align: bottom; padding: 0 8px 4px; font-weight: normal; color: #57606a; }
.matrix tbody th { text-align: left; padding: 0 12px 0 0; font-weight: normal; white-space: nowrap; }
.matrix tbody th .role { color: #57606a; font-size: 12px; margin-left: 4px; }
.matrix tbody td.stat { text-align: right; padding: 0 8px; font-variant-numeric: tabular-nums; white-space: nowrap; }
.matrix tbody tr:nth-child(even) th, .matrix tbody tr:nth-child(even) td.stat { background: #f6f8fa; }
.c { display: block; width: 26px; height: 26px; margin: 2px; box-sizing: border-box; border-radius: 3px; text-align: center; line-height: 26px; font-size: 15px; font-weight: bold; }
.c.fold { width: 44px; font-size: 11px; }
.own { background: #0550ae; color: #fff; }
.imp { background: #2da44e; color: #fff; }
.exc { background: #fb8500; color: #1b1f24; border: 2px solid #9a3412; line-height: 22px; }
.ref { background: #eef1f4; color: #6e7781; border: 1px solid #d8dee4; line-height: 24px; font-weight: normal; }
.badge { display: inline-block; padding: 0 6px; border-radius: 10px; font-size: 11px; font-weight: bold; margin-left: 6px; }
.badge.bad { background: #ffebe9; color: #b3261e; border: 1px solid #ff8182; }
.notes { color: #57606a; margin: 6px 0 0; padding-left: 18px; }
h1.second { margin-top: 36px; }
footer { margin-top: 28px; color: #57606a; font-size: 12px; max-width: 1100px; }
`;

/** Ingress gateways of both kinds, with who may bind routes and the routes bound. */
function gatewayTable(report: ScopeReport): string {
    const head = ["gateway", "kind", "hosts", "routes from", "routes bound", "pods"].map((h) => `<th>${h}</th>`).join("");
    const rows = report.gateways.map((g) => {
        const kind = g.kind === "istio" ? "Istio Gateway" : `Gateway API (class ${g.gatewayClass})`;
        const cells = [`${g.namespace}/${g.name}`, kind, g.hosts.join(", "), g.routesFrom, g.routes.join(", ") || "none", g.pods.join(", ") || "none"];
        return `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`;
    });
    return `<h1 class="second">Ingress gateways</h1><table class="gateways"><thead><tr>${head}</tr></thead><tbody>${rows.join("") || `<tr><td colspan="6">none</td></tr>`}</tbody></table>`;
}

function crossCalls(report: ScopeReport): number {
    return report.calls.filter((c) => groupOf(report, c.source) !== groupOf(report, c.destination)).length;
}

/** Per usergroup: rows are its meshed namespaces, columns its namespaces and, folded, every other usergroup. */
function callMatrix(report: ScopeReport, g: UsergroupRow, groups: ColumnGroups): string {
    const mine = groups.members.get(g.usergroup) ?? [];
    const others = [...groups.members.entries()].filter(([ug]) => ug !== g.usergroup);
    const calls = new Map<string, string[]>();
    for (const c of report.calls) calls.set(`${c.source}\u0000${c.destination}`, c.reasons);
    const head = [`<th></th>`, ...mine.map((n) => `<th class="col mine"><div>${esc(n)}${roleTag(report, n)}</div></th>`), ...others.map(([ug, list]) => `<th class="col fold"><div>${esc(ug === NO_USERGROUP ? "no usergroup" : ug)} (${list.length})</div></th>`)];
    const rows = g.namespaces.map((r) => {
        const cells = mine.map((d) => {
            const reasons = calls.get(`${r.namespace}\u0000${d}`);
            return reasons === undefined ? `<td><span class="c ref" title="${esc(`${r.namespace} cannot call ${d}`)}">${REFUSED}</span></td>` : `<td><span class="c ${d === r.namespace ? "own" : "imp"}" title="${esc(reasons.join("\n"))}">${IMPORTED}</span></td>`;
        });
        const folded = others.map(([, list]) => {
            const across = list.filter((d) => calls.has(`${r.namespace}\u0000${d}`));
            const title = across.length === 0 ? "no call" : across.map((d) => `${d}: ${calls.get(`${r.namespace}\u0000${d}`)!.join("; ")}`).join("\n");
            return `<td><span class="c fold ${across.length > 0 ? "exc" : "ref"}" title="${esc(title)}">${across.length}</span></td>`;
        });
        return `<tr><th>${esc(r.namespace)}${roleTag(report, r.namespace)}</th>${cells.join("")}${folded.join("")}</tr>`;
    });
    return `<h2>usergroup ${esc(g.usergroup)}: who can call whom</h2><table class="matrix calls"><thead><tr>${head.join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function legend(): string {
    const item = (cls: string, sym: string, text: string) => `<span class="item"><span class="c ${cls}">${sym}</span>${esc(text)}</span>`;
    return `<div class="legend">${[
        item("own", OWN, "own namespace"),
        item("imp", IMPORTED, "imported"),
        item("exc", EXCESS, "imported beyond the minimum"),
        item("ref", REFUSED, "refused (not imported)"),
    ].join("")}</div>`;
}

const OWN = "&#9679;";
const IMPORTED = "&#10003;";
const EXCESS = "!";
const REFUSED = "&#183;";

function summaryTable(report: ScopeReport): string {
    const rows = report.usergroups.map(
        (g) =>
            `<tr><td>${esc(g.usergroup)}</td><td>${g.namespaces.length}</td><td>${g.discovered}/${report.total}</td><td>${g.imports}/${g.defaultImports}</td>` +
            `<td>${percent(g.reduction)}</td><td class="${g.excess > 0 ? "bad" : ""}">${g.excess}</td><td class="${g.unscoped > 0 ? "bad" : ""}">${g.unscoped}</td></tr>`,
    );
    return `<table class="summary"><thead><tr><th>usergroup</th><th>meshed namespaces</th><th>discovered</th><th>imports / default</th><th>reduction</th><th>excess</th><th>unscoped</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

interface ColumnGroups {
    /** Namespaces of each usergroup, system first, then shared, then tenants, in object order within each. */
    members: Map<string, string[]>;
}

const ROLE_RANK: Record<string, number> = { system: 0, shared: 1, tenant: 2 };

function groupOf(report: ScopeReport, namespace: string): string {
    return report.namespaceInfo[namespace]?.usergroup ?? NO_USERGROUP;
}

function columnGroups(report: ScopeReport): ColumnGroups {
    const members = new Map<string, string[]>();
    for (const name of report.namespaces) {
        const ug = groupOf(report, name);
        const list = members.get(ug);
        if (list === undefined) members.set(ug, [name]);
        else list.push(name);
    }
    const rank = (n: string) => ROLE_RANK[report.namespaceInfo[n]?.role ?? ""] ?? 3;
    for (const list of members.values()) {
        const order = new Map(list.map((n, i) => [n, i]));
        list.sort((a, b) => rank(a) - rank(b) || order.get(a)! - order.get(b)!);
    }
    return { members };
}

function matrix(report: ScopeReport, g: UsergroupRow, groups: ColumnGroups): string {
    const mine = groups.members.get(g.usergroup) ?? [];
    const others = [...groups.members.entries()].filter(([ug]) => ug !== g.usergroup);
    const head = [
        `<th></th>`,
        `<th class="stat">imports</th><th class="stat">reduction</th><th class="stat">excess</th>`,
        ...mine.map((n) => `<th class="col mine"><div>${esc(n)}${roleTag(report, n)}</div></th>`),
        ...others.map(([ug, list]) => `<th class="col fold"><div>${esc(ug === NO_USERGROUP ? "no usergroup" : ug)} (${list.length})</div></th>`),
    ].join("");
    const rows = g.namespaces.map((r) => {
        const imported = new Set(r.imports);
        const excess = new Set(r.excess);
        const discovered = new Set(r.discovered);
        const cells = mine.map((n) => `<td>${cell(r, n, imported, excess, discovered)}</td>`);
        // Folded columns count from the row's own imports, never by scanning every namespace per row.
        const importedIn = new Map<string, number>();
        const excessIn = new Set<string>();
        for (const n of r.imports) {
            const ug = groupOf(report, n);
            importedIn.set(ug, (importedIn.get(ug) ?? 0) + 1);
            if (excess.has(n)) excessIn.add(ug);
        }
        for (const [ug, list] of others) {
            const count = importedIn.get(ug) ?? 0;
            const cls = count === 0 ? "ref" : excessIn.has(ug) ? "exc" : "imp";
            const tip = count === 0 ? `${r.namespace} imports none of the ${list.length} namespaces of ${ug}` : `${r.namespace} imports ${count} of the ${list.length} namespaces of ${ug}`;
            cells.push(`<td><span class="c fold ${cls}" title="${esc(tip)}">${count}/${list.length}</span></td>`);
        }
        const badge = r.scoping === "unscoped" && r.revisionInstalled ? `<span class="badge bad">unscoped</span>` : "";
        return (
            `<tr><th>${esc(r.namespace)}<span class="role">${esc(r.role ?? "")}</span>${badge}</th>` +
            `<td class="stat">${r.imported}/${r.total}</td><td class="stat">${percent(r.reduction)}</td>` +
            `<td class="stat ${r.excess.length > 0 ? "bad" : ""}">${r.excess.length}</td>${cells.join("")}</tr>`
        );
    });
    const notes = g.namespaces.flatMap((r) => r.notes.map((n) => `<li><b>${esc(r.namespace)}</b>: ${esc(n)}</li>`));
    const system = g.systemNamespaces.length > 0 ? ` · system namespace ${esc(g.systemNamespaces.join(", "))}` : "";
    return (
        `<section><h2>usergroup ${esc(g.usergroup)}</h2>` +
        `<p class="meta">revision ${esc(g.revisions.join(", "))}${system} · discovers ${g.discovered} of ${report.total} namespaces · ` +
        `${g.imports} of ${g.defaultImports} imports (${percent(g.reduction)} less) · excess ${g.excess}</p>` +
        `<table class="matrix"><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>` +
        (notes.length > 0 ? `<ul class="notes">${notes.join("")}</ul>` : "") +
        `</section>`
    );
}

function roleTag(report: ScopeReport, n: string): string {
    const role = report.namespaceInfo[n]?.role;
    return role === "system" || role === "shared" ? ` <small>(${role})</small>` : "";
}

function cell(r: NamespaceRow, n: string, imported: Set<string>, excess: Set<string>, discovered: Set<string>): string {
    if (n === r.namespace) return `<span class="c own" title="${esc(`${n}: own namespace${imported.has(n) ? "" : " (not imported by its Sidecar)"}`)}">${OWN}</span>`;
    if (excess.has(n)) return `<span class="c exc" title="${esc(`${r.namespace} imports ${n}, beyond its minimum`)}">${EXCESS}</span>`;
    if (imported.has(n)) {
        const only = r.defaultImports.includes(n) ? [] : r.workloadSidecars.filter((w) => w.imports.includes(n)).map((w) => w.sidecar);
        const tip = only.length > 0 ? `${r.namespace} imports ${n}, only in the pods Sidecar ${only.join(", ")} selects` : `${r.namespace} imports ${n}`;
        return `<span class="c imp" title="${esc(tip)}">${IMPORTED}</span>`;
    }
    const why = !r.revisionInstalled ? `revision ${r.revision} is not installed` : !discovered.has(n) ? `revision ${r.revision} does not discover ${n}` : `no Sidecar of ${r.namespace} names ${n}`;
    return `<span class="c ref" title="${esc(`${r.namespace} does not import ${n}: ${why}`)}">${REFUSED}</span>`;
}

function esc(s: string): string {
    return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
