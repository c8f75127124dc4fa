import { DEFAULT_TAG } from "../model/revisions";
import type { TenancyPlan } from "./index";

export interface UsergroupOutput {
    /** The revision that injects namespaces following `stable` (the only revision of a usergroup without tags). */
    revision: string;
    /** Every revision the usergroup runs: its version, the tags pointing at it and the namespaces it injects. */
    revisions: Record<string, { version: string; tags: string[]; namespaces: string[] }>;
    /** Tag name → the revision it points at. */
    tags: Record<string, string>;
    systemNamespace: string;
    discoveredNamespaces: string[];
}

export interface NamespaceOutput {
    role: "tenant" | "shared";
    usergroup: string;
    revision: string;
    /** The usergroup tag the namespace follows, when the usergroup has tags. */
    tag?: string;
    sidecarEgressHosts: string[];
    /** Value to put in `networking.istio.io/exportTo` on this namespace's Services. */
    serviceExportTo: string[];
    gateway?: { selector: Record<string, string>; hosts: string[] };
}

/**
 * Expected mesh connectivity between the managed namespaces: for each source, the destinations whose workloads it may
 * call. Every ordered pair not listed must be refused (by Sidecar scoping, AuthorizationPolicy and NetworkPolicy alike).
 */
export interface ConnectivityOutput {
    default: "refuse";
    allow: Record<string, string[]>;
}

export interface StackOutputs {
    usergroups: Record<string, UsergroupOutput>;
    namespaces: Record<string, NamespaceOutput>;
    expectedConnectivity: ConnectivityOutput;
}

export function stackOutputs(plan: TenancyPlan): StackOutputs {
    const usergroups: Record<string, UsergroupOutput> = {};
    for (const cp of plan.controlPlanes) {
        const tags = Object.fromEntries(cp.tags.map((t) => [t.name, t.revision]));
        usergroups[cp.usergroup] = {
            revision: tags[DEFAULT_TAG] ?? cp.revisions[0].name,
            revisions: Object.fromEntries(cp.revisions.map((r) => [r.name, { version: r.version, tags: cp.tags.filter((t) => t.revision === r.name).map((t) => t.name), namespaces: r.namespaces }])),
            tags,
            systemNamespace: cp.systemNamespace,
            discoveredNamespaces: cp.discoveredNamespaces,
        };
    }
    const namespaces: Record<string, NamespaceOutput> = {};
    const allow: Record<string, string[]> = {};
    for (const ns of plan.namespaces) {
        namespaces[ns.name] = {
            role: ns.role,
            usergroup: ns.usergroup,
            revision: ns.revision,
            ...(ns.tag !== undefined ? { tag: ns.tag } : {}),
            sidecarEgressHosts: ns.sidecarEgressHosts,
            serviceExportTo: ns.serviceExportTo,
            ...(ns.gateway !== undefined ? { gateway: { selector: ns.gateway.selector, hosts: ns.gateway.hosts } } : {}),
        };
        allow[ns.name] = ns.imports;
    }
    return { usergroups, namespaces, expectedConnectivity: { default: "refuse", allow } };
}

/** What every preview and update shows: a few lines per usergroup, whatever the number of tenants. */
export interface SummaryOutputs {
    summary: { usergroups: number; tenants: number; sharedNamespaces: number; gateways: number };
    /**
     * Per usergroup: the revision `stable` points at (its only one outside an upgrade), every revision it runs, the
     * system namespace they run in, and how many namespaces they discover.
     */
    revisions: Record<string, { revision: string; running: string[]; systemNamespace: string; discoveredNamespaces: number }>;
    /** Where each namespace's scoping, exportTo value and expected connectivity can be read. */
    details: string;
    /** What this stack deploys of the environment the rest summarises, when it is not all of it. */
    stackPart?: string;
}

export function summaryOutputs(plan: TenancyPlan, stack: string): SummaryOutputs {
    const revisions: SummaryOutputs["revisions"] = {};
    for (const cp of plan.controlPlanes) {
        const stable = cp.tags.find((t) => t.name === DEFAULT_TAG)?.revision ?? cp.revisions[0].name;
        revisions[cp.usergroup] = { revision: stable, running: cp.revisions.map((r) => r.name), systemNamespace: cp.systemNamespace, discoveredNamespaces: cp.discoveredNamespaces.length };
    }
    const count = (f: (ns: TenancyPlan["namespaces"][number]) => boolean) => plan.namespaces.filter(f).length;
    return {
        summary: {
            usergroups: plan.controlPlanes.length,
            tenants: count((ns) => ns.role === "tenant"),
            sharedNamespaces: count((ns) => ns.role === "shared"),
            gateways: count((ns) => ns.gateway !== undefined),
        },
        revisions,
        details: plan.detailedOutputs
            ? "outputs usergroups, namespaces and expectedConnectivity (pulumi stack output --json)"
            : `npm run report -- --stack ${stack} [--json] for each namespace's imports and exportTo; set mesh-tenancy:detailedOutputs to true to export usergroups, namespaces and expectedConnectivity`,
        ...(plan.part.name !== "all" ? { stackPart: plan.part.name } : {}),
    };
}

/** The program's stack outputs: the summary, and the full detail when the stack asks for it. */
export function programOutputs(plan: TenancyPlan, stack: string): SummaryOutputs & Partial<StackOutputs> {
    const summary = summaryOutputs(plan, stack);
    return plan.detailedOutputs ? { ...summary, ...stackOutputs(plan) } : summary;
}

/** Whether mesh traffic from `source` to `destination` must be allowed; every other pair must be refused. */
export function connectionAllowed(outputs: StackOutputs, source: string, destination: string): boolean {
    return outputs.expectedConnectivity.allow[source]?.includes(destination) ?? false;
}
