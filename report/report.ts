import type { CaTopology } from "../policy/semantics/mtls";
import type { TenancyPlan } from "../plan";
import type { Call } from "../policy/semantics/reachability";
import { GatewayEntry, NamespaceScope, NO_USERGROUP, reduction, VisibilityModel } from "./visibility";

/** Where the objects came from. */
export interface ReportSource {
    kind: "stack" | "manifests";
    /** Stack name, or the paths given. */
    name: string;
    files: string[];
}

export interface NamespaceRow extends NamespaceScope {
    /** Number of namespaces imported. */
    imported: number;
    /** Number of namespaces in the object set: what Istio's default (no scoping) imports. */
    total: number;
    /** imported / total. */
    share: number;
    /** 1 - share: the part of the default config scope not imported. */
    reduction: number;
    /** The exportTo the program puts on this namespace's Services (stack reports only). */
    serviceExportTo?: string[];
    /** Ids of the admission guardrails that hold in this namespace (stack reports only). */
    guardrails?: string[];
}

/** The admission guardrails a stack installs (stack reports only). */
export interface GuardrailSummary {
    mode: "enforce" | "warn" | "off";
    /** Guardrail ids per managed namespace, system namespaces included. */
    byNamespace: Record<string, string[]>;
}

export interface UsergroupRow {
    usergroup: string;
    revisions: string[];
    systemNamespaces: string[];
    /** Namespaces the usergroup's revision discovers (the largest, should there be several revisions). */
    discovered: number;
    /** Sum of the namespaces imported by the usergroup's meshed namespaces. */
    imports: number;
    /** The same sum without scoping. */
    defaultImports: number;
    reduction: number;
    /** Sum of the excess over the minimum; zero for everything the program generates. */
    excess: number;
    /** Meshed namespaces whose default proxies are not scoped by any Sidecar. */
    unscoped: number;
    namespaces: NamespaceRow[];
}

export interface ScopeReport {
    source: ReportSource;
    /** Every namespace of the object set. */
    namespaces: string[];
    /** Usergroup and role of every namespace, where known. */
    namespaceInfo: VisibilityModel["namespaceInfo"];
    total: number;
    /** Whether service visibility (imported and exported) was computed: the object set holds Services. */
    hasServices: boolean;
    usergroups: UsergroupRow[];
    /** Who can call whom, from the same objects (Sidecar imports, exportTo, AuthorizationPolicies, NetworkPolicies). */
    calls: Call[];
    /** The CA topology the calls were judged under: the stack's `istio.ca`, or what `--ca-topology` said (shared-root when told nothing). */
    caTopology: CaTopology;
    /** Ingress gateways of both kinds, with the routes bound to them. */
    gateways: GatewayEntry[];
    admissionGuardrails?: GuardrailSummary;
    /** Over every meshed namespace. */
    totals: { meshed: number; imports: number; defaultImports: number; reduction: number; excess: number; unscoped: number };
}

/** The exportTo each planned namespace's Services must carry, by namespace. */
export function plannedExportTo(plan: TenancyPlan): Map<string, string[]> {
    return new Map(plan.namespaces.map((ns) => [ns.name, ns.serviceExportTo]));
}

export function buildReport(model: VisibilityModel, source: ReportSource, serviceExportTo?: ReadonlyMap<string, string[]>, guardrails?: GuardrailSummary): ScopeReport {
    const total = model.namespaces.length;
    const rows = new Map<string, NamespaceRow[]>();
    for (const s of model.scopes) {
        const exportTo = serviceExportTo?.get(s.namespace);
        const row: NamespaceRow = {
            ...s,
            imported: s.imports.length,
            total,
            share: total === 0 ? 0 : s.imports.length / total,
            reduction: reduction(s.imports.length, total),
            ...(exportTo !== undefined ? { serviceExportTo: exportTo } : {}),
            ...(guardrails?.byNamespace[s.namespace] !== undefined ? { guardrails: guardrails.byNamespace[s.namespace] } : {}),
        };
        const key = s.usergroup ?? NO_USERGROUP;
        const list = rows.get(key);
        if (list === undefined) rows.set(key, [row]);
        else list.push(row);
    }
    const usergroups = model.usergroups.map((g): UsergroupRow => {
        const namespaces = rows.get(g.usergroup) ?? [];
        return {
            usergroup: g.usergroup,
            revisions: g.revisions,
            systemNamespaces: g.systemNamespaces,
            discovered: namespaces.reduce((n, r) => Math.max(n, r.discovered.length), 0),
            imports: g.imports,
            defaultImports: g.defaultImports,
            reduction: reduction(g.imports, g.defaultImports),
            excess: g.excess,
            unscoped: g.unscoped,
            namespaces,
        };
    });
    const sum = (f: (g: UsergroupRow) => number) => usergroups.reduce((n, g) => n + f(g), 0);
    const imports = sum((g) => g.imports);
    const defaultImports = sum((g) => g.defaultImports);
    return {
        source,
        namespaces: model.namespaces,
        namespaceInfo: model.namespaceInfo,
        total,
        hasServices: model.hasServices,
        calls: model.calls,
        caTopology: model.caTopology,
        gateways: model.gateways,
        usergroups,
        ...(guardrails !== undefined ? { admissionGuardrails: guardrails } : {}),
        totals: {
            meshed: model.scopes.length,
            imports,
            defaultImports,
            reduction: reduction(imports, defaultImports),
            excess: sum((g) => g.excess),
            unscoped: sum((g) => g.unscoped),
        },
    };
}

export function percent(fraction: number): string {
    return `${Math.round(fraction * 100)}%`;
}

/** The report as text: per usergroup, one line per meshed namespace. */
export function renderText(report: ScopeReport): string {
    const out: string[] = [];
    const src = report.source.kind === "stack" ? `stack ${report.source.name} (${report.source.files.join(", ")})` : `manifests ${report.source.name} (${report.source.files.length} file${report.source.files.length === 1 ? "" : "s"})`;
    out.push(`Config scope of ${src}`);
    out.push(`${report.total} namespaces; without scoping (Istio's default) every proxy imports all ${report.total}.`);
    if (report.usergroups.length === 0) out.push("No meshed namespace (none carries istio.io/rev or istio-injection=enabled).");
    const withExport = report.usergroups.some((g) => g.namespaces.some((r) => r.serviceExportTo !== undefined));
    for (const g of report.usergroups) {
        out.push("");
        const system = g.systemNamespaces.length > 0 ? ` · system namespace ${g.systemNamespaces.join(", ")}` : "";
        out.push(`usergroup ${g.usergroup} · revision ${g.revisions.join(", ")}${system} · discovers ${g.discovered} of ${report.total} namespaces`);
        const header = ["namespace", "role", "imports", "share", "reduction", "excess", "scoped by"];
        if (withExport) header.push("services exportTo");
        if (report.hasServices) header.push("visible services");
        header.push("imported namespaces");
        const table: string[][] = [header];
        for (const r of g.namespaces) {
            const line = [
                r.namespace,
                r.role ?? "-",
                `${r.imported}/${r.total}`,
                percent(r.share),
                percent(r.reduction),
                r.excess.length === 0 ? "0" : `${r.excess.length} (${r.excess.join(", ")})`,
                !r.revisionInstalled ? "no revision" : r.scoping === "unscoped" ? "UNSCOPED" : r.scoping === "root-sidecar" ? `root ${r.scopedBy}` : r.scopedBy!,
            ];
            if (withExport) line.push(r.serviceExportTo?.join(",") ?? "-");
            if (report.hasServices) line.push(r.services === undefined ? "-" : `${r.services.visible.length} (${r.services.notExported.length} not exported, ${r.services.notImported.length} not named by egress hosts)`);
            line.push(r.imports.join(", "));
            table.push(line);
        }
        for (const l of columns(table)) out.push(`  ${l}`);
        for (const r of g.namespaces) {
            const byDefault = new Set(r.defaultImports);
            for (const w of r.workloadSidecars) {
                const extra = w.imports.filter((ns) => !byDefault.has(ns));
                if (extra.length > 0) out.push(`  ${r.namespace}: pods selected by Sidecar ${w.sidecar} also import ${extra.join(", ")}`);
            }
            for (const note of r.notes) out.push(`  ${r.namespace}: ${note}`);
            if (r.missing.length > 0 && r.revisionInstalled) out.push(`  ${r.namespace}: named but not imported: ${r.missing.join(", ")}`);
        }
        if (report.admissionGuardrails !== undefined) out.push(...guardrailLines(report.admissionGuardrails, [...g.namespaces.map((r) => r.namespace), ...g.systemNamespaces]));
        out.push(`  ${g.namespaces.length} meshed namespace${g.namespaces.length === 1 ? "" : "s"}: ${g.imports} of ${g.defaultImports} imports (reduction ${percent(g.reduction)}), excess over minimum ${g.excess}${g.unscoped > 0 ? `, ${g.unscoped} unscoped` : ""}`);
    }
    out.push("", ...renderCalls(report));
    out.push("", ...renderGateways(report));
    const t = report.totals;
    out.push("");
    out.push(`All ${t.meshed} meshed namespaces: ${t.imports} of ${t.defaultImports} imports (reduction ${percent(t.reduction)}), excess over minimum ${t.excess}${t.unscoped > 0 ? `, ${t.unscoped} unscoped` : ""}.`);
    return out.join("\n") + "\n";
}

/** One line per set of admission guardrails, naming the namespaces where that set holds. */
function guardrailLines(summary: GuardrailSummary, namespaces: string[]): string[] {
    if (summary.mode === "off") return ["  admission guardrails: off (only the policy pack at preview holds these namespaces)"];
    const bySet = new Map<string, string[]>();
    for (const ns of namespaces) {
        const ids = summary.byNamespace[ns];
        if (ids === undefined) continue;
        const key = ids.join(" ");
        bySet.set(key, [...(bySet.get(key) ?? []), ns]);
    }
    return [...bySet].map(([ids, where]) => `  admission guardrails (${summary.mode}) in ${where.join(", ")}: ${ids}`);
}

function columns(rows: string[][]): string[] {
    const widths: number[] = [];
    for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
    return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd());
}

/** Ingress gateways, as text: one line each with its kind, hosts, who may bind routes, the routes bound and its pods. */
function renderGateways(report: ScopeReport): string[] {
    const out = ["Ingress gateways (Istio Gateway on chart pods, or Gateway API Gateway that istiod deploys):"];
    if (report.gateways.length === 0) out.push("  none");
    for (const g of report.gateways) {
        const kind = g.kind === "istio" ? "Istio Gateway" : `Gateway API, class ${g.gatewayClass}`;
        out.push(`  ${g.namespace}/${g.name} (${kind}) hosts ${g.hosts.join(", ") || "none"}; routes from ${g.routesFrom}; bound: ${g.routes.join(", ") || "none"}; pods: ${g.pods.join(", ") || "none"}`);
    }
    return out;
}

/** Who can call whom, as text: one line per source namespace, calls across usergroups flagged. */
function renderCalls(report: ScopeReport): string[] {
    const bySource = new Map<string, Call[]>();
    for (const c of report.calls) bySource.set(c.source, [...(bySource.get(c.source) ?? []), c]);
    const usergroup = (ns: string) => report.namespaceInfo[ns]?.usergroup;
    const roots = report.caTopology === "per-usergroup" ? "CA roots per usergroup: a sidecar accepting only mTLS refuses other usergroups at the handshake" : "CA roots assumed shared: every identity a policy names can present its certificate";
    const out = [`Who can call whom (a proxy of the source resolves a service of the destination, and a workload there admits the source through its sidecar and its NetworkPolicies; ${roots}):`];
    if (bySource.size === 0) out.push("  nobody can call anybody");
    for (const [source, calls] of bySource) {
        const targets = calls.map((c) => (usergroup(c.destination) !== usergroup(source) ? `${c.destination} (ACROSS USERGROUPS)` : c.destination));
        out.push(`  ${source} -> ${targets.join(", ")}`);
    }
    return out;
}
