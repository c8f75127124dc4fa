import * as YAML from "yaml";
import { push } from "./collections";
import { injectionOf, injectors } from "./injection";
import { INJECTION_LABEL, NAMESPACE_NAME_LABEL, NamespaceRole, REVISION_LABEL, ROLE_LABEL, USERGROUP_LABEL } from "./labels";
import { DEPLOYED_GATEWAY_PODS, deployedGatewayPods, GATEWAY_CHART_PODS } from "./gateways";
import { arrayOf, chartName, HELM_RELEASE_KIND, HelmReleaseSpec, isRecord, stringRecord, Subject } from "./objects";
import { LabelSelector, selects } from "./selectors";
import { readWorkload, Workload } from "./workloads";

export interface NamespaceInfo {
    name: string;
    /** Labels, with `kubernetes.io/metadata.name` filled in as the API server does. */
    labels: Record<string, string>;
    subject: Subject;
}

/** What the objects say about one istiod revision, merged from its chart values and its rendered objects. */
export interface RevisionInfo {
    name: string;
    /** Namespace istiod runs in. */
    namespace: string;
    /** Mesh root namespace: `meshConfig.rootNamespace`, else the istio namespace. */
    rootNamespace: string;
    /** The mesh config, when any source shows it. */
    mesh?: Record<string, any>;
    /** istiod's environment, when any source shows it. */
    env?: Record<string, string>;
    /** Istio version (chart version or istiod image tag), when known. */
    version?: string;
    /** The objects this was learned from: a HelmRelease, the mesh ConfigMap, the istiod Deployment. */
    subjects: Subject[];
    /**
     * The chart's `sidecarInjectorWebhook.enableNamespacesByDefault`, from its values (the release, or the injector
     * ConfigMap's copy): the default revision's injector then also meshes the pods of namespaces with no injection label.
     */
    injectsUnlabelledNamespaces?: boolean;
}

/** A cluster-wide default revision, from the base chart's values or a rendered `istiod-default-validator`. */
export interface DefaultRevisionInfo {
    revision: string;
    /** Namespace the default validator calls istiod in. */
    namespace: string;
    subject: Subject;
}

/** The pods a gateway chart release will run: its namespace and pod labels, before any Deployment exists. */
export interface GatewayWorkload {
    namespace: string;
    labels: Record<string, string>;
    subject: Subject;
    /** The pods' ServiceAccount where it is not the `app` label (a deployed gateway's is `<name>-<class>`). */
    serviceAccount?: string;
    annotations?: Record<string, string>;
}


/** The revision an istiod Service serves: `istiod` is the default revision's, `istiod-<rev>` revision rev's; other names none. */
function revisionOfService(service: string): string | undefined {
    if (service === "istiod") return "default";
    return service.startsWith("istiod-") && service.length > "istiod-".length ? service.slice("istiod-".length) : undefined;
}

/**
 * Everything a rule needs to look up, indexed once: objects by kind and by namespace, namespaces with their tenancy
 * labels, and the revisions learned from istiod charts, mesh ConfigMaps and istiod Deployments. Building it is linear
 * in the number of objects.
 */
export class Inventory {
    readonly subjects: ReadonlyArray<Subject>;
    readonly namespaces = new Map<string, NamespaceInfo>();
    readonly revisions = new Map<string, RevisionInfo>();
    /** Revision tags (`istio.io/rev=<tag>` on a namespace injects the tagged revision). */
    readonly tags = new Map<string, RevisionInfo>();
    /** Tag injectors whose revision is not installed here: tag → the revision it names and the injector. */
    readonly danglingTags = new Map<string, { revision: string; subject: Subject }>();
    readonly defaultRevisions: DefaultRevisionInfo[] = [];
    readonly gatewayWorkloads = new Map<string, GatewayWorkload[]>();
    private readonly byKind = new Map<string, Subject[]>();
    private readonly byNamespace = new Map<string, Subject[]>();
    private readonly byNamespaceAndKind = new Map<string, Subject[]>();
    private readonly rootNamespaces = new Map<string, RevisionInfo>();
    private readonly runningIn = new Map<string, RevisionInfo>();
    private namespacesByLabel?: Map<string, string[]>;
    private readonly discovered = new Map<RevisionInfo, ReadonlySet<string>>();
    private discovering?: Map<string, RevisionInfo[]>;
    private workloadList?: Workload[];
    private workloadsByNamespace?: Map<string, Workload[]>;
    private revisionsPerNamespace?: Map<string, number>;

    constructor(subjects: ReadonlyArray<Subject>) {
        this.subjects = subjects;
        for (const s of subjects) {
            push(this.byKind, s.object.kind, s);
            if (s.object.metadata.namespace) {
                push(this.byNamespace, s.object.metadata.namespace, s);
                push(this.byNamespaceAndKind, `${s.object.metadata.namespace}\u0000${s.object.kind}`, s);
            }
            if (s.object.kind === "Namespace" && s.object.apiVersion === "v1") {
                const name = s.object.metadata.name;
                this.namespaces.set(name, { name, labels: { [NAMESPACE_NAME_LABEL]: name, ...stringRecord(s.object.metadata.labels) }, subject: s });
            }
        }
        for (const s of this.ofKind(HELM_RELEASE_KIND)) this.learnFromRelease(s);
        for (const s of this.ofKind("Gateway")) {
            const deployed = deployedGatewayPods(s);
            if (deployed !== undefined) push(this.gatewayWorkloads, deployed.namespace, deployed);
        }
        for (const s of this.ofKind("ConfigMap")) this.learnFromMeshConfigMap(s);
        for (const s of this.ofKind("Deployment")) this.learnFromDeployment(s);
        for (const s of this.ofKind("Pod")) if (stringRecord(s.object.metadata.labels).app === "istiod") this.learnFromDeployment(s);
        for (const s of this.ofKind("ValidatingWebhookConfiguration")) this.learnFromDefaultValidator(s);
        for (const s of this.ofKind("ConfigMap")) this.learnFromInjectorConfigMap(s);
        for (const s of this.ofKind("MutatingWebhookConfiguration")) this.learnFromInjectorWebhook(s);
        for (const s of this.ofKind("MutatingWebhookConfiguration")) this.learnFromRevisionTag(s);
        for (const rev of this.revisions.values()) {
            this.rootNamespaces.set(rev.rootNamespace, rev);
            if (!this.runningIn.has(rev.namespace)) this.runningIn.set(rev.namespace, rev);
        }
    }

    ofKind(kind: string): ReadonlyArray<Subject> {
        return this.byKind.get(kind) ?? [];
    }

    inNamespace(namespace: string, kind?: string): Subject[] {
        if (kind === undefined) return this.byNamespace.get(namespace) ?? [];
        return this.byNamespaceAndKind.get(`${namespace}\u0000${kind}`) ?? [];
    }

    /** Every workload of the object set, read as the pods it makes. */
    workloads(): ReadonlyArray<Workload> {
        if (this.workloadList === undefined) {
            this.workloadList = [];
            for (const s of this.subjects) {
                const w = readWorkload(s);
                if (w !== undefined) this.workloadList.push(w);
            }
            // A gateway chart release, or a Gateway API Gateway istiod deploys, stands for the pods its Deployment will run.
            for (const list of this.gatewayWorkloads.values()) {
                for (const g of list) {
                    const chart = g.subject.object.kind === HELM_RELEASE_KIND;
                    const serviceAccount = chart ? g.labels.app : (g.serviceAccount ?? g.labels.app);
                    this.workloadList.push({ subject: g.subject, kind: chart ? GATEWAY_CHART_PODS : DEPLOYED_GATEWAY_PODS, name: g.subject.object.metadata.name, namespace: g.namespace, labels: g.labels, annotations: g.annotations ?? {}, serviceAccount, hostNetwork: false, hasProxy: !chart });
                }
            }
        }
        return this.workloadList;
    }

    /** Workloads of one namespace. */
    workloadsIn(namespace: string): ReadonlyArray<Workload> {
        if (this.workloadsByNamespace === undefined) {
            this.workloadsByNamespace = new Map();
            for (const w of this.workloads()) push(this.workloadsByNamespace, w.namespace, w);
        }
        return this.workloadsByNamespace.get(namespace) ?? [];
    }

    /** The revision an `istio.io/rev` value selects: a revision by name, or the revision a tag points at. */
    resolveRevision(nameOrTag: string): RevisionInfo | undefined {
        return this.revisions.get(nameOrTag) ?? this.tags.get(nameOrTag);
    }

    /** The revision whose root namespace this is, if any. */
    revisionRootedIn(namespace: string): RevisionInfo | undefined {
        return this.rootNamespaces.get(namespace);
    }

    /**
     * Usergroup of a namespace: its `usergroup` label; else the usergroup of the revision it names (a tag counts as its
     * revision; an `istio.io/rev` the set does not resolve stands for itself), of the default revision for
     * `istio-injection=enabled`, or of the revision it runs or is rooted for. The labels are read where present; without
     * them, Istio's own canary layout (revisions `default` and `canary`, or a revision and its tags, in one istiod
     * namespace) is one usergroup, not one per revision.
     */
    usergroupOf(namespace: string): string | undefined {
        const labels = this.namespaces.get(namespace)?.labels;
        if (labels?.[USERGROUP_LABEL] !== undefined) return labels[USERGROUP_LABEL];
        const named = labels?.[REVISION_LABEL];
        if (named !== undefined) {
            const rev = this.resolveRevision(named);
            return rev === undefined ? named : this.usergroupOfRevision(rev);
        }
        const rev = (labels?.[INJECTION_LABEL] === "enabled" ? this.resolveRevision("default") : undefined) ?? this.revisionRootedIn(namespace) ?? this.revisionRunningIn(namespace);
        return rev === undefined ? undefined : this.usergroupOfRevision(rev);
    }

    /**
     * The usergroup a revision serves: the `usergroup` label of the namespace its istiod runs in; else, as revisions that
     * share one istiod namespace are one control plane (one CA secret, one mesh), the revision's own name when it runs
     * there alone and the namespace's name when several do.
     */
    usergroupOfRevision(rev: RevisionInfo): string {
        const label = this.namespaces.get(rev.namespace)?.labels[USERGROUP_LABEL];
        if (label !== undefined) return label;
        if (this.revisionsPerNamespace === undefined) {
            this.revisionsPerNamespace = new Map();
            for (const r of this.revisions.values()) this.revisionsPerNamespace.set(r.namespace, (this.revisionsPerNamespace.get(r.namespace) ?? 0) + 1);
        }
        return (this.revisionsPerNamespace.get(rev.namespace) ?? 0) > 1 ? rev.namespace : rev.name;
    }

    revisionRunningIn(namespace: string): RevisionInfo | undefined {
        return this.runningIn.get(namespace);
    }

    /**
     * Namespaces (of this object set) that a revision's discoverySelectors select; all of them when it has none.
     * Candidates come from a label index (a matchLabels pair, or an `In`/`Exists` requirement), so a revision costs
     * what it selects, not a pass over every namespace.
     */
    discoveredBy(rev: RevisionInfo): ReadonlySet<string> {
        let found = this.discovered.get(rev);
        if (found !== undefined) return found;
        const selectors = this.discoverySelectors(rev);
        if (rev.mesh === undefined) {
            // Known only from its injector or its pods: its mesh config is not in the object set. Take it to discover
            // what it must serve, rather than guess every namespace: its own, those that name it or one of its tags,
            // and those whose pods it injects (an istiod watches the config of every proxy it injects; without
            // discoverySelectors it watches every namespace).
            const names = new Set([rev.name, ...[...this.tags].filter(([, r]) => r === rev).map(([t]) => t)]);
            const served = new Set([...this.namespaces.values()].filter((ns) => ns.name === rev.namespace || names.has(ns.labels[REVISION_LABEL] ?? "")).map((ns) => ns.name));
            const own = injectors(this).filter((i) => i.revision === rev && selects(i.objectSelector, {}));
            for (const ns of this.namespaces.values()) if (own.some((i) => selects(i.namespaceSelector, ns.labels))) served.add(ns.name);
            for (const w of this.workloads()) {
                const injection = injectionOf(this, w);
                if (injection.meshed && injection.revision === rev) served.add(w.namespace);
            }
            found = served;
        } else if (selectors === undefined || selectors.length === 0) {
            found = new Set(this.namespaces.keys());
        } else {
            const hit = new Set<string>();
            for (const selector of selectors) {
                for (const name of this.candidates(selector)) {
                    if (!hit.has(name) && selects(selector, this.namespaces.get(name)!.labels)) hit.add(name);
                }
            }
            found = hit;
        }
        this.discovered.set(rev, found);
        return found;
    }

    /** The revisions whose discoverySelectors select a namespace. */
    revisionsDiscovering(namespace: string): RevisionInfo[] {
        if (this.discovering === undefined) {
            this.discovering = new Map();
            for (const rev of this.revisions.values()) for (const ns of this.discoveredBy(rev)) push(this.discovering, ns, rev);
        }
        return this.discovering.get(namespace) ?? [];
    }

    /** Namespaces of the object set a label selector selects, found through the label index. */
    namespacesSelectedBy(selector: LabelSelector): string[] {
        const out: string[] = [];
        for (const name of this.candidates(selector)) if (selects(selector, this.namespaces.get(name)!.labels)) out.push(name);
        return [...new Set(out)];
    }

    private candidates(selector: LabelSelector): Iterable<string> {
        if (this.namespacesByLabel === undefined) {
            this.namespacesByLabel = new Map();
            for (const ns of this.namespaces.values()) {
                for (const [k, v] of Object.entries(ns.labels)) {
                    push(this.namespacesByLabel, `${k}=${v}`, ns.name);
                    push(this.namespacesByLabel, k, ns.name);
                }
            }
        }
        const index = this.namespacesByLabel;
        const [pair] = Object.entries(selector.matchLabels ?? {});
        if (pair !== undefined) return index.get(`${pair[0]}=${pair[1]}`) ?? [];
        for (const req of selector.matchExpressions ?? []) {
            if (req.operator === "In") return (req.values ?? []).flatMap((v) => index.get(`${req.key}=${v}`) ?? []);
            if (req.operator === "Exists") return index.get(req.key) ?? [];
        }
        return this.namespaces.keys();
    }

    /**
     * The role a namespace plays, by effect rather than by its role label (`namespaceRoles.ts`): `system` where a
     * revision's istiod runs or its mesh is rooted, whatever the label claims; else the label's `tenant` or `shared`; a
     * namespace that claims `system` without a control plane, or carries `usergroup` or `istio.io/rev` without a role,
     * is judged as a tenant.
     */
    roleOf(namespace: string): NamespaceRole | undefined {
        const info = this.namespaces.get(namespace);
        if (info === undefined) return undefined;
        if (this.revisionRootedIn(namespace) !== undefined || this.revisionRunningIn(namespace) !== undefined) return "system";
        const role = info.labels[ROLE_LABEL];
        if (role === "tenant" || role === "shared") return role;
        if (role === "system" || info.labels[USERGROUP_LABEL] !== undefined || info.labels[REVISION_LABEL] !== undefined) return "tenant";
        return undefined;
    }

    /** Namespaces that carry `istio.io/rev`: their pods get sidecars. */
    meshedNamespaces(): NamespaceInfo[] {
        return [...this.namespaces.values()].filter((n) => n.labels[REVISION_LABEL] !== undefined);
    }

    discoverySelectors(rev: RevisionInfo): LabelSelector[] | undefined {
        const selectors = rev.mesh?.discoverySelectors;
        return Array.isArray(selectors) ? selectors.filter(isRecord) : undefined;
    }

    private revision(name: string, namespace: string, subject: Subject): RevisionInfo {
        let rev = this.revisions.get(name);
        if (rev === undefined) {
            rev = { name, namespace, rootNamespace: namespace, subjects: [] };
            this.revisions.set(name, rev);
        }
        rev.subjects.push(subject);
        return rev;
    }

    private learnFromRelease(s: Subject): void {
        const spec = s.object.spec as unknown as HelmReleaseSpec;
        const values = isRecord(spec.values) ? spec.values : {};
        const chart = chartName(String(spec.chart ?? ""));
        const istioNamespace = typeof values.global?.istioNamespace === "string" ? values.global.istioNamespace : "istio-system";
        if (chart === "istiod" || chart === "istio-discovery") {
            const name = typeof values.revision === "string" && values.revision !== "" ? values.revision : "default";
            const rev = this.revision(name, s.object.metadata.namespace ?? istioNamespace, s);
            const mesh = isRecord(values.meshConfig) ? values.meshConfig : {};
            rev.mesh = { ...mesh, ...(rev.mesh ?? {}) };
            rev.rootNamespace = typeof mesh.rootNamespace === "string" ? mesh.rootNamespace : istioNamespace;
            rev.env = { ...stringRecord(values.env), ...stringRecord(values.pilot?.env), ...(rev.env ?? {}) };
            if (typeof spec.version === "string") rev.version = spec.version;
            if (values.sidecarInjectorWebhook?.enableNamespacesByDefault === true) rev.injectsUnlabelledNamespaces = true;
            for (const tag of arrayOf(values.revisionTags)) if (typeof tag === "string") this.tags.set(tag, rev);
        } else if (chart === "base") {
            const revision = values.defaultRevision === undefined ? "default" : String(values.defaultRevision);
            this.defaultRevisions.push({ revision, namespace: istioNamespace, subject: s });
        } else if (chart === "gateway") {
            const ns = s.object.metadata.namespace ?? "default";
            const name = typeof values.name === "string" && values.name !== "" ? values.name : s.object.metadata.name;
            const extra = stringRecord(values.labels);
            // The chart's pod template: its selector labels, the user's labels, and the injection opt-in with the
            // revision the release names.
            const revision: Record<string, string> = typeof values.revision === "string" && values.revision !== "" ? { [REVISION_LABEL]: values.revision } : {};
            const labels = { "sidecar.istio.io/inject": "true", ...revision, ...extra, app: extra.app ?? name, istio: extra.istio ?? name.replace(/^istio-/, "") };
            push(this.gatewayWorkloads, ns, { namespace: ns, labels, subject: s });
        }
    }

    /** istiod's mesh ConfigMap: `istio` or `istio-<rev>`, labelled with the revision, holding YAML under `mesh`. */
    private learnFromMeshConfigMap(s: Subject): void {
        const { name, namespace, labels } = s.object.metadata;
        const data = stringRecord(s.object.data);
        if (data.mesh === undefined || !(name === "istio" || name.startsWith("istio-")) || name.startsWith("istio-sidecar-injector")) return;
        const revLabel = stringRecord(labels)[REVISION_LABEL];
        const revName = revLabel ?? (name === "istio" ? "default" : name.slice("istio-".length));
        let mesh: unknown;
        try {
            mesh = YAML.parse(data.mesh);
        } catch {
            mesh = undefined;
        }
        const rev = this.revision(revName, namespace ?? "istio-system", s);
        rev.namespace = namespace ?? rev.namespace;
        if (isRecord(mesh)) {
            rev.mesh = mesh;
            if (typeof mesh.rootNamespace === "string") rev.rootNamespace = mesh.rootNamespace;
        }
    }

    /** istiod's Deployment: `app: istiod`, its discovery container's env, its image tag as the version. */
    private learnFromDeployment(s: Subject): void {
        const { namespace, labels } = s.object.metadata;
        const l = stringRecord(labels);
        const podLabels = readWorkload(s)?.labels ?? {};
        if (l.app !== "istiod" && podLabels.app !== "istiod") return;
        const podSpec = s.object.kind === "Pod" ? (s.object.spec as any) : (s.object.spec as any)?.template?.spec;
        const containers = arrayOf(podSpec?.containers);
        const discovery = containers.find((c) => c?.name === "discovery") ?? containers[0];
        const env: Record<string, string> = {};
        for (const e of arrayOf(discovery?.env)) if (typeof e?.name === "string" && typeof e?.value === "string") env[e.name] = e.value;
        const revName = l[REVISION_LABEL] ?? env.REVISION ?? "default";
        const rev = this.revision(revName, namespace ?? "istio-system", s);
        rev.namespace = namespace ?? rev.namespace;
        rev.env = { ...(rev.env ?? {}), ...env };
        const tag = typeof discovery?.image === "string" ? /:(\d+\.\d+\.\d+)/.exec(discovery.image)?.[1] : undefined;
        if (tag !== undefined && rev.version === undefined) rev.version = tag;
    }

    /** istiod's injector ConfigMap, `istio-sidecar-injector` or `istio-sidecar-injector-<rev>`: a revision lives here. */
    private learnFromInjectorConfigMap(s: Subject): void {
        const { name, namespace, labels } = s.object.metadata;
        if (!/^istio-sidecar-injector(-|$)/.test(name) || namespace === undefined) return;
        const revName = stringRecord(labels)[REVISION_LABEL] ?? (name === "istio-sidecar-injector" ? "default" : name.slice("istio-sidecar-injector-".length));
        const rev = this.revisions.get(revName) ?? this.revision(revName, namespace, s);
        let values: any;
        try {
            values = JSON.parse(stringRecord(s.object.data).values ?? "{}");
        } catch {
            values = undefined;
        }
        if (values?.sidecarInjectorWebhook?.enableNamespacesByDefault === true) rev.injectsUnlabelledNamespaces = true;
    }

    /** istiod's injector webhook configuration (not a tag's): names the revision and the namespace istiod serves from. */
    private learnFromInjectorWebhook(s: Subject): void {
        const labels = stringRecord(s.object.metadata.labels);
        if (labels["istio.io/tag"] !== undefined || !s.object.metadata.name.startsWith("istio-sidecar-injector")) return;
        for (const hook of arrayOf((s.object as any).webhooks)) {
            const service = hook?.clientConfig?.service;
            if (!isRecord(service) || typeof service.name !== "string" || typeof service.namespace !== "string") continue;
            const revName = labels[REVISION_LABEL] ?? revisionOfService(service.name);
            if (revName !== undefined && !this.revisions.has(revName)) this.revision(revName, service.namespace, s);
            return;
        }
    }

    /** The revision an injector webhook calls, from its istiod Service name. */
    revisionFromWebhook(hook: any): RevisionInfo | undefined {
        const name = hook?.clientConfig?.service?.name;
        const revision = typeof name === "string" ? revisionOfService(name) : undefined;
        return revision === undefined ? undefined : this.revisions.get(revision);
    }

    /** A rendered tag injector (`istio-revision-tag-<tag>`): labels `istio.io/tag` and the revision it points at. */
    private learnFromRevisionTag(s: Subject): void {
        const labels = stringRecord(s.object.metadata.labels);
        const tag = labels["istio.io/tag"];
        const rev = this.revisions.get(labels[REVISION_LABEL] ?? "");
        if (tag !== undefined && rev !== undefined) this.tags.set(tag, rev);
        else if (tag !== undefined) this.danglingTags.set(tag, { revision: labels[REVISION_LABEL] ?? "", subject: s });
    }

    /** The base chart's `istiod-default-validator` calls `istiod` (revision default) or `istiod-<rev>`. */
    private learnFromDefaultValidator(s: Subject): void {
        if (s.object.metadata.name !== "istiod-default-validator") return;
        const service = arrayOf((s.object as any).webhooks)[0]?.clientConfig?.service;
        if (!isRecord(service) || typeof service.name !== "string") return;
        const revision = revisionOfService(service.name);
        if (revision === undefined) return;
        this.defaultRevisions.push({ revision, namespace: String(service.namespace ?? "istio-system"), subject: s });
    }
}
