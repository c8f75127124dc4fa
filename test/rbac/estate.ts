import * as fs from "fs";
import * as path from "path";
import { setTimeout as sleep } from "node:timers/promises";
import * as YAML from "yaml";
import type { KubeObject } from "../../policy/semantics/objects";
import { applyList, expectExit, kubectlJson, run } from "../e2e/harness";
import { LABEL, Verdict } from "./judge";

/** The ClusterRoles whose rules the API server's aggregation controller writes, that an estate may extend. */
const AGGREGATING = ["e2e-rbac-aggregator", "edit", "admin"];

const ruleKey = (r: any) => JSON.stringify([[...(r.apiGroups ?? [])].sort(), [...(r.resources ?? [])].sort(), [...(r.verbs ?? [])].sort(), [...(r.resourceNames ?? [])].sort()]);

/**
 * Applies an estate and waits until the aggregation controller has written the rules of every ClusterRole it aggregates
 * (its own aggregator, and Kubernetes' `edit` and `admin` where a role is labelled into them).
 */
export async function applyEstate(objects: KubeObject[]): Promise<void> {
    applyList(objects, "e2e-rbac", "apply the estate");
    const selected = (aggregator: string) =>
        objects.filter((o) => {
            const labels = (o.metadata.labels ?? {}) as Record<string, string>;
            if (o.kind !== "ClusterRole") return false;
            if (aggregator === "e2e-rbac-aggregator") return labels["mesh-tenancy.io/e2e-rbac-aggregate"] === "yes";
            // edit takes roles labelled aggregate-to-edit; admin takes edit's, so those as well.
            return labels["rbac.authorization.k8s.io/aggregate-to-edit"] === "true";
        });
    const deadline = Date.now() + 60_000;
    for (;;) {
        const live = new Map<string, Set<string>>(kubectlJson(["get", "clusterroles", ...AGGREGATING.filter((n) => n !== "e2e-rbac-aggregator" || objects.some((o) => o.metadata.name === n))]).items.map((c: any) => [c.metadata.name as string, new Set<string>((c.rules ?? []).map(ruleKey))] as const));
        const missing = [...live].flatMap(([name, rules]) => selected(name).flatMap((o) => ((o as any).rules as any[]).filter((r) => !rules.has(ruleKey(r))).map(() => `${name} lacks a rule of ${o.metadata.name}`)));
        if (missing.length === 0) return;
        if (Date.now() > deadline) throw new Error(`aggregation not done after 60s: ${missing.join(", ")}`);
        await sleep(250);
    }
}

let baseline: Map<string, number> | undefined;

const ruleCounts = () => new Map<string, number>(kubectlJson(["get", "clusterroles", "edit", "admin"]).items.map((c: any) => [c.metadata.name as string, (c.rules ?? []).length as number] as const));

/** How many rules `edit` and `admin` hold before any estate: what removing an estate returns them to. */
export function recordBaseline(): void {
    baseline = ruleCounts();
}

/**
 * Deletes every object of the estates (but the namespaces) and waits until `edit` and `admin` hold as many rules as
 * before the first estate; returns how many objects there were.
 */
export async function removeEstate(): Promise<number> {
    const kinds = "clusterrolebindings,clusterroles,rolebindings,roles";
    const found = kubectlJson(["get", kinds, "-A", "-l", LABEL]).items;
    if (found.length > 0) expectExit(run("kubectl", ["delete", "--wait=true", kinds, "-A", "-l", LABEL]), 0, "delete the estate");
    const want = baseline;
    const deadline = Date.now() + 60_000;
    while (want !== undefined && [...ruleCounts()].some(([n, c]) => want.get(n) !== c)) {
        if (Date.now() > deadline) throw new Error(`edit and admin did not return to ${JSON.stringify([...want])} rules after 60s`);
        await sleep(250);
    }
    return found.length;
}

const CANDIDATES = process.env.MESH_TENANCY_RBAC_CANDIDATES ?? path.join("/tmp", "mesh-tenancy-rbac-candidates");

/** Writes a disagreement as a candidate fixture (the shape of test/fixtures/rbac); returns its path. */
export function writeCandidate(objects: KubeObject[], v: Verdict, where: string): string {
    fs.mkdirSync(CANDIDATES, { recursive: true });
    const file = path.join(CANDIDATES, `${where.replace(/\W+/g, "-")}.yaml`);
    fs.writeFileSync(file, YAML.stringify({ measured: `kube-apiserver SubjectAccessReview, ${where}: ${v.requester} ${v.request}`, requester: v.asked.requester, request: v.asked.request, allowed: v.server, objects }));
    return file;
}
