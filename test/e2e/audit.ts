import { execFile } from "child_process";
import { ISOLATION_KINDS, isGrant, KubeObject, plannedObjects, TenancyPlan } from "../../plan";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../../policy/semantics/labels";
import { expectExit, pulumi, run } from "./harness";

/**
 * What a fault must never leave behind, read from the cluster and the stack's state: the two agree (every object in the
 * state exists, every object the platform labels as its own is in the state, each once), and no namespace is meshed
 * without the isolation objects the plan gives it.
 */

/** `kubectl get`'s name for a kind of a state resource type (`kubernetes:networking.istio.io/v1:Sidecar` → `Sidecar.networking.istio.io`). */
export function kubectlKind(type: string): string | undefined {
    const m = /^kubernetes:([^:]+)\/([^/:]+):([A-Za-z]+)$/.exec(type);
    if (m === null || m[1] === "helm.sh") return undefined;
    return m[1] === "core" ? m[3] : `${m[3]}.${m[1]}`;
}

const key = (kind: string, namespace: string | undefined, name: string) => `${kind} ${namespace ?? ""}/${name}`;

export interface Audit {
    /** Objects the state lists that the cluster does not have. */
    missingInCluster: string[];
    /** Objects the cluster has, labelled as the platform's, that the state does not list. */
    missingInState: string[];
    /** URNs the state lists more than once. */
    doubled: string[];
    /** Operations the state still records as in flight. */
    pending: string[];
    resources: number;
}

/** Holds the stack's state (`pulumi stack export`) against the cluster. */
export function auditState(stack: string): Audit {
    const deployment = JSON.parse(expectExit(pulumi(["stack", "export", "--stack", stack]), 0, "stack export").stdout).deployment;
    const inState = new Map<string, string>();
    const urns: string[] = [];
    for (const r of deployment.resources ?? []) {
        urns.push(r.urn);
        const kind = kubectlKind(r.type);
        if (kind === undefined || r.custom !== true) continue;
        const meta = r.outputs?.metadata ?? r.inputs?.metadata;
        if (meta?.name === undefined) continue;
        inState.set(key(kind.split(".")[0], meta.namespace, meta.name), kind);
    }
    const kinds = [...new Set(inState.values())];
    const live = new Set<string>();
    const managed = new Set<string>();
    for (const o of kinds.length === 0 ? [] : listAll(kinds)) {
        const k = key(o.kind, o.metadata.namespace, o.metadata.name);
        live.add(k);
        if (o.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) managed.add(k);
    }
    return {
        missingInCluster: [...inState.keys()].filter((k) => !live.has(k)).sort(),
        missingInState: [...managed].filter((k) => !inState.has(k)).sort(),
        doubled: urns.filter((u, i) => urns.indexOf(u) !== i),
        pending: (deployment.pending_operations ?? []).map((p: any) => `${p.type} ${p.resource?.urn}`),
        resources: urns.length,
    };
}

function listAll(kinds: string[]): KubeObject[] {
    const r = expectExit(run("kubectl", ["get", kinds.join(","), "-A", "-o", "json"]), 0, `kubectl get ${kinds.join(",")}`);
    return JSON.parse(r.stdout).items;
}

/** One look at the cluster: per namespace of the plan, whether it is meshed, which isolation objects and workloads it holds. */
interface Look {
    at: number;
    meshed: Set<string>;
    objects: Set<string>;
    workloads: Map<string, string[]>;
}

/**
 * Watches the cluster while an update runs (asynchronously: the test's own proxy may be serving the update's traffic)
 * and records every moment a namespace of the plan is meshed (labelled with a revision) without all the isolation
 * objects the plan gives it (plan ISOLATION_KINDS). Such a moment is a violation when the namespace had them all at an
 * earlier look (isolation taken away), or when it holds a workload (Deployment, Pod) or a grant of the platform's (its
 * owners' RoleBindings): something could run or be written there before its isolation exists. A namespace still being
 * created, labelled before its objects are written, is counted apart: nothing can run or write in it yet.
 */
export class IsolationWatch {
    readonly violations: string[] = [];
    readonly looks: number[] = [];
    /** Namespaces seen meshed before their isolation objects existed, with nothing in them. */
    readonly beingCreated = new Set<string>();
    private readonly complete = new Set<string>();
    private readonly required = new Map<string, string[]>();
    private stopped = false;
    private done?: Promise<void>;

    constructor(plans: ReadonlyArray<TenancyPlan>) {
        for (const plan of plans) {
            for (const o of plannedObjects(plan)) {
                if (!ISOLATION_KINDS.has(o.kind) || o.metadata.namespace === undefined) continue;
                const list = this.required.get(o.metadata.namespace) ?? [];
                const k = key(o.kind, o.metadata.namespace, o.metadata.name);
                if (!list.includes(k)) list.push(k);
                this.required.set(o.metadata.namespace, list);
            }
        }
    }

    /** Namespaces that had all their isolation objects at some look. */
    get completeNamespaces(): ReadonlySet<string> {
        return this.complete;
    }

    start(everyMs = 500): void {
        this.done = (async () => {
            while (!this.stopped) {
                const look = await this.look();
                if (look !== undefined) this.judge(look);
                await new Promise((r) => setTimeout(r, everyMs));
            }
        })();
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.done;
        const look = await this.look();
        if (look !== undefined) this.judge(look);
    }

    private judge(look: Look): void {
        this.looks.push(look.at);
        for (const [ns, required] of this.required) {
            if (!look.meshed.has(ns)) continue;
            const missing = required.filter((k) => !look.objects.has(k));
            if (missing.length === 0) {
                this.complete.add(ns);
                continue;
            }
            const workloads = look.workloads.get(ns) ?? [];
            if (this.complete.has(ns)) this.violations.push(`${new Date(look.at).toISOString()} ${ns} lost ${missing.join(", ")}`);
            else if (workloads.length > 0) this.violations.push(`${new Date(look.at).toISOString()} ${ns} holds ${workloads.join(", ")} without ${missing.join(", ")}`);
            else this.beingCreated.add(ns);
        }
    }

    /** Undefined when the API server does not answer (a fault may have taken it away). */
    private async look(): Promise<Look | undefined> {
        const kinds = ["Namespace", "Sidecar.networking.istio.io", "PeerAuthentication.security.istio.io", "AuthorizationPolicy.security.istio.io", "NetworkPolicy.networking.k8s.io", "Deployment.apps", "Pod", "RoleBinding.rbac.authorization.k8s.io"];
        const out = await new Promise<string | undefined>((resolve) =>
            execFile("kubectl", ["get", kinds.join(","), "-A", "-o", "json", "--request-timeout", "5s"], { maxBuffer: 256 * 1024 * 1024 }, (err, stdout) => resolve(err === null ? stdout : undefined)),
        );
        if (out === undefined) return undefined;
        const look: Look = { at: Date.now(), meshed: new Set(), objects: new Set(), workloads: new Map() };
        for (const o of JSON.parse(out).items as KubeObject[]) {
            if (o.kind === "Namespace") {
                if (o.metadata.labels?.["istio.io/rev"] !== undefined && (o as any).status?.phase !== "Terminating") look.meshed.add(o.metadata.name);
            } else if (o.kind === "Deployment" || o.kind === "Pod" || (isGrant(o) && o.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY)) {
                const list = look.workloads.get(o.metadata.namespace ?? "") ?? [];
                list.push(`${o.kind} ${o.metadata.name}`);
                look.workloads.set(o.metadata.namespace ?? "", list);
            } else if (ISOLATION_KINDS.has(o.kind)) look.objects.add(key(o.kind, o.metadata.namespace, o.metadata.name));
        }
        return look;
    }
}
