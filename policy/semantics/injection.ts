import type { Inventory, RevisionInfo } from "./inventory";
import { DATAPLANE_MODE_LABEL, INJECTION_LABEL, NAMESPACE_NAME_LABEL, REVISION_LABEL } from "./labels";
import { arrayOf, isRecord, stringRecord, Subject } from "./objects";
import { LabelSelector, SelectorIndex, selects } from "./selectors";
import type { Workload } from "./workloads";

/**
 * Sidecar injection as the API server and Istio's injector decide it. Each revision (and each revision tag) registers
 * mutating webhooks; the API server calls every webhook whose namespaceSelector matches the pod's namespace labels and
 * whose objectSelector matches the pod's labels. Istio's charts write two per revision or tag `r`:
 *
 * - `r.namespace…`: namespaces labelled `istio.io/rev=r` without `istio-injection`; pods not labelled
 *   `sidecar.istio.io/inject=false`;
 * - `r.object…`: namespaces with neither label; pods labelled `istio.io/rev=r` and not `sidecar.istio.io/inject=false`;
 *
 * and for the default revision (no revision name, or the tag `default`) the same pair keyed on
 * `istio-injection=enabled` and on pods labelled `sidecar.istio.io/inject=true`, plus, with the chart's
 * `sidecarInjectorWebhook.enableNamespacesByDefault`, an `auto…` webhook for namespaces with neither label (but
 * kube-system and a few others) and pods with neither `sidecar.istio.io/inject` nor `istio.io/rev`. So
 * `istio-injection` on a namespace overrides `istio.io/rev`, and a namespace's `istio.io/rev` overrides a pod's. The
 * injector itself then skips pods on the host network and pods whose `sidecar.istio.io/inject` annotation says false.
 *
 * Where the object set holds the injector webhooks themselves they are read as written; otherwise they are derived from
 * the revisions and tags the set installs, as the charts would render them.
 */

export const INJECT_LABEL = "sidecar.istio.io/inject";

export interface Injector {
    /** The revision whose istiod injects (tags resolved). */
    revision: RevisionInfo;
    /** The `istio.io/rev` value it answers to: the revision, a tag, or `default`. */
    via: string;
    /** Webhook name, as registered or as the chart would render it. */
    name: string;
    namespaceSelector: LabelSelector;
    objectSelector: LabelSelector;
    /** The MutatingWebhookConfiguration it was read from; undefined when derived. */
    subject?: Subject;
}

const NOT_DISABLED = { key: INJECT_LABEL, operator: "NotIn", values: ["false"] };

/** Namespaces the chart's `auto.` webhook (enableNamespacesByDefault) leaves alone. */
const NEVER_INJECTED_BY_DEFAULT = ["kube-system", "kube-public", "kube-node-lease", "local-path-storage"];

function chartInjectors(revision: RevisionInfo, via: string): Injector[] {
    // Every revision or tag answers to its own `istio.io/rev` value; the default one (`default`) to `istio.io/rev=default`
    // as well as to the legacy labels below (istio-discovery chart, mutatingwebhook.yaml: the `rev.` pair is rendered
    // for every revision, the revision-less one writing `default` for its value).
    const byRevisionLabel: Injector[] = [
        {
            revision,
            via,
            name: `${via}.namespace.sidecar-injector.istio.io`,
            namespaceSelector: { matchExpressions: [{ key: REVISION_LABEL, operator: "In", values: [via] }, { key: INJECTION_LABEL, operator: "DoesNotExist" }] },
            objectSelector: { matchExpressions: [NOT_DISABLED] },
        },
        {
            revision,
            via,
            name: `${via}.object.sidecar-injector.istio.io`,
            namespaceSelector: { matchExpressions: [{ key: REVISION_LABEL, operator: "DoesNotExist" }, { key: INJECTION_LABEL, operator: "DoesNotExist" }] },
            objectSelector: { matchExpressions: [NOT_DISABLED, { key: REVISION_LABEL, operator: "In", values: [via] }] },
        },
    ];
    if (via !== "default") return byRevisionLabel;
    const auto: Injector[] = revision.injectsUnlabelledNamespaces
        ? [
              {
                  revision,
                  via,
                  name: "auto.sidecar-injector.istio.io",
                  namespaceSelector: {
                      matchExpressions: [
                          { key: INJECTION_LABEL, operator: "DoesNotExist" },
                          { key: REVISION_LABEL, operator: "DoesNotExist" },
                          { key: NAMESPACE_NAME_LABEL, operator: "NotIn", values: NEVER_INJECTED_BY_DEFAULT },
                      ],
                  },
                  objectSelector: { matchExpressions: [{ key: INJECT_LABEL, operator: "DoesNotExist" }, { key: REVISION_LABEL, operator: "DoesNotExist" }] },
              },
          ]
        : [];
    return [
        { revision, via, name: "namespace.sidecar-injector.istio.io", namespaceSelector: { matchExpressions: [{ key: INJECTION_LABEL, operator: "In", values: ["enabled"] }] }, objectSelector: { matchExpressions: [NOT_DISABLED] } },
        {
            revision,
            via,
            name: "object.sidecar-injector.istio.io",
            namespaceSelector: { matchExpressions: [{ key: INJECTION_LABEL, operator: "DoesNotExist" }, { key: REVISION_LABEL, operator: "DoesNotExist" }] },
            objectSelector: { matchExpressions: [{ key: INJECT_LABEL, operator: "In", values: ["true"] }, { key: REVISION_LABEL, operator: "DoesNotExist" }] },
        },
        ...byRevisionLabel,
        ...auto,
    ];
}

function selectorOf(value: unknown): LabelSelector {
    return isRecord(value) ? (value as LabelSelector) : {};
}

/** An injector webhook as a MutatingWebhookConfiguration of the set registers it, whether or not its istiod is known. */
export interface InjectorWebhook extends Omit<Injector, "revision" | "subject"> {
    /**
     * The revision whose istiod injects: the one serving the Service it calls, else the one its labels name; undefined
     * when neither says.
     */
    revision?: RevisionInfo;
    /** The revision its labels name (`istio.io/rev`, a tag resolved), whatever it calls. */
    claimed?: RevisionInfo;
    subject: Subject;
    /** What the API server calls: `Service <namespace>/<name>`, or the URL. */
    calls: string;
    target: WebhookTarget;
}

/**
 * Where the API server sends an injector webhook's requests (admissionregistration/v1 `clientConfig`): a Service (by
 * namespace and name, port 443 unless given) or a URL; and what happens when that call fails: `failurePolicy` Fail (the
 * default in v1) refuses the object, Ignore admits it unmutated.
 */
export interface WebhookTarget {
    service?: { namespace: string; name: string; path?: string };
    url?: string;
    failurePolicy: "Fail" | "Ignore";
    /** The revision whose istiod pods the Service reaches, when the set shows one. */
    servedBy?: RevisionInfo;
    /**
     * Whether the set holds the Service: a Service object, or the istiod chart, Deployment or mesh config of the revision
     * whose chart renders a Service of that name there (`istiod`, `istiod-<revision>`). False for a URL.
     */
    serviceInSet: boolean;
    /** The Service object, when the set holds one. */
    serviceObject?: Subject;
}

/** The Service the istio-discovery chart renders for a revision: `istiod` for the default one, `istiod-<revision>` else. */
export function istiodServiceName(rev: RevisionInfo): string {
    return rev.name === "default" ? "istiod" : `istiod-${rev.name}`;
}

/**
 * Where an injector webhook's calls go, and which istiod (if any) answers them. A Service that selects the istiod pods
 * of several revisions (no `istio.io/rev` in its selector) reaches any of them: the revision the webhook claims, when
 * it is one of those.
 */
export function webhookTargetOf(inventory: Inventory, hook: any, claimed?: RevisionInfo): WebhookTarget {
    const failurePolicy = hook?.failurePolicy === "Ignore" ? "Ignore" : "Fail";
    const ref = hook?.clientConfig?.service;
    if (!isRecord(ref) || typeof ref.name !== "string") {
        return { ...(typeof hook?.clientConfig?.url === "string" ? { url: hook.clientConfig.url } : {}), failurePolicy, serviceInSet: false };
    }
    const service = { namespace: typeof ref.namespace === "string" ? ref.namespace : "default", name: ref.name, ...(typeof ref.path === "string" ? { path: ref.path } : {}) };
    const object = inventory.inNamespace(service.namespace, "Service").find((s) => s.object.metadata.name === service.name && s.object.apiVersion === "v1");
    const selector = stringRecord((object?.object.spec as any)?.selector);
    // A Service without selector sends to the endpoints someone wrote by hand, which the set does not show: judged by
    // its name, as for the Service the chart renders.
    if (object !== undefined && Object.keys(selector).length > 0) {
        // A Service reaches the pods its selector matches: istiod's carry `app: istiod` and their revision's `istio.io/rev`.
        const reached = selector.app !== "istiod" ? [] : [...inventory.revisions.values()].filter((r) => r.namespace === service.namespace && (selector[REVISION_LABEL] === undefined || r.name === selector[REVISION_LABEL]));
        const servedBy = claimed !== undefined && reached.includes(claimed) ? claimed : reached[0];
        return { service, failurePolicy, servedBy, serviceInSet: true, serviceObject: object };
    }
    // Named as the chart names it, for a revision the set installs (or whose Service object it holds): not a revision
    // known only from the webhook that calls it.
    const rendered = [...inventory.revisions.values()].find((r) => r.namespace === service.namespace && istiodServiceName(r) === service.name && (object !== undefined || r.subjects.some((s) => s.object.kind !== "MutatingWebhookConfiguration")));
    return { service, failurePolicy, servedBy: rendered, serviceInSet: rendered !== undefined || object !== undefined, ...(object !== undefined ? { serviceObject: object } : {}) };
}

function webhookTarget(hook: any): string {
    const service = hook?.clientConfig?.service;
    if (isRecord(service)) return `Service ${service.namespace ?? "?"}/${service.name ?? "?"}`;
    return typeof hook?.clientConfig?.url === "string" ? hook.clientConfig.url : "nothing (no clientConfig)";
}

/** Every `*.sidecar-injector.istio.io` webhook of the set's MutatingWebhookConfigurations. */
export function injectorWebhooks(inventory: Inventory): InjectorWebhook[] {
    const out: InjectorWebhook[] = [];
    for (const s of inventory.ofKind("MutatingWebhookConfiguration")) {
        const labels = stringRecord(s.object.metadata.labels);
        const labelled = labels["istio.io/tag"] ?? labels[REVISION_LABEL];
        const via = labelled ?? "default";
        const revision = inventory.resolveRevision(labels[REVISION_LABEL] ?? via) ?? inventory.resolveRevision(via);
        for (const hook of arrayOf((s.object as any).webhooks)) {
            if (typeof hook?.name !== "string" || !hook.name.endsWith("sidecar-injector.istio.io")) continue;
            // The istiod that answers is the one behind the Service it calls, whatever its labels claim; unlabelled and
            // calling no istiod the set shows, the configuration is known by the istiod Service name it calls.
            const claimed = labelled === undefined ? undefined : revision;
            const target = webhookTargetOf(inventory, hook, claimed);
            const rev = target.servedBy ?? (labelled === undefined ? inventory.revisionFromWebhook(hook) : (revision ?? inventory.revisionFromWebhook(hook)));
            out.push({ revision: rev, claimed, via, name: hook.name, namespaceSelector: selectorOf(hook.namespaceSelector), objectSelector: selectorOf(hook.objectSelector), subject: s, calls: webhookTarget(hook), target });
        }
    }
    return out;
}

/** The registered injector webhooks whose istiod is known: those that inject a revision's proxy. */
function registeredInjectors(inventory: Inventory): Injector[] {
    return injectorWebhooks(inventory).filter((w): w is InjectorWebhook & { revision: RevisionInfo } => w.revision !== undefined);
}

const cache = new WeakMap<Inventory, Injector[]>();

/** Every injector webhook of the object set: registered ones, plus the chart's for revisions and tags registering none. */
export function injectors(inventory: Inventory): Injector[] {
    let found = cache.get(inventory);
    if (found !== undefined) return found;
    found = registeredInjectors(inventory);
    const registered = new Set(found.map((i) => i.via));
    const derive = (rev: RevisionInfo, via: string) => {
        if (!registered.has(via)) found!.push(...chartInjectors(rev, via));
    };
    for (const rev of inventory.revisions.values()) derive(rev, rev.name);
    for (const [tag, rev] of inventory.tags) derive(rev, tag);
    for (const d of inventory.defaultRevisions) {
        const rev = d.revision === "" ? undefined : inventory.resolveRevision(d.revision);
        if (rev !== undefined && rev.name !== "default") derive(rev, "default");
    }
    cache.set(inventory, found);
    return found;
}

const indexes = new WeakMap<Inventory, SelectorIndex<Injector>>();

/** The injectors by the labels their namespace and object selectors require (the API server calls those that match both). */
function injectorIndex(inventory: Inventory): SelectorIndex<Injector> {
    let index = indexes.get(inventory);
    if (index === undefined) indexes.set(inventory, (index = new SelectorIndex(injectors(inventory), (i) => [i.namespaceSelector, i.objectSelector])));
    return index;
}

export interface Injection {
    /** The pods get a sidecar. */
    meshed: boolean;
    /** The revision whose injector adds it (the first matching webhook's, where several match). */
    revision?: RevisionInfo;
    /** Every webhook the API server would call for these pods: more than one revision is ambiguous. */
    matched: Injector[];
    /** Why not meshed, or why meshed by that revision. */
    reason: string;
}

/** How the pods of a workload are injected, given their namespace's labels. */
export function injectionOf(inventory: Inventory, w: Workload): Injection {
    const nsLabels = inventory.namespaces.get(w.namespace)?.labels ?? {};
    if (w.hasProxy) {
        const named = w.labels[REVISION_LABEL] ?? nsLabels[REVISION_LABEL];
        const rev = named !== undefined ? inventory.resolveRevision(named) : inventory.resolveRevision("default") ?? (inventory.revisions.size === 1 ? [...inventory.revisions.values()][0] : undefined);
        return { meshed: true, revision: rev, matched: [], reason: "the pod already runs an istio-proxy container" };
    }
    const matched = injectorIndex(inventory).selecting([nsLabels, w.labels]);
    if (matched.length === 0) {
        return { meshed: false, matched, reason: injectionLabelsReason(nsLabels, w.labels) };
    }
    const revision = matched[0].revision;
    if (w.hostNetwork) return { meshed: false, revision, matched, reason: "pods on the host network are never injected" };
    // The injector reads the label first; the annotation of the same name counts only where the label is absent.
    if (w.labels[INJECT_LABEL] === undefined && w.annotations[INJECT_LABEL] === "false") return { meshed: false, revision, matched, reason: `annotation ${INJECT_LABEL}: "false" turns injection off` };
    return { meshed: true, revision, matched, reason: `injected by revision ${revision.name} (webhook ${matched[0].name})` };
}

function injectionLabelsReason(ns: Record<string, string>, pod: Record<string, string>): string {
    if (pod[INJECT_LABEL] === "false") return `pod label ${INJECT_LABEL}=false turns injection off`;
    if (ns[INJECTION_LABEL] === "disabled") return `namespace label ${INJECTION_LABEL}=disabled turns injection off${ns[REVISION_LABEL] !== undefined ? ` (it overrides ${REVISION_LABEL}=${ns[REVISION_LABEL]})` : ""}`;
    if (ns[INJECTION_LABEL] !== undefined) return `namespace label ${INJECTION_LABEL}=${ns[INJECTION_LABEL]} matches no installed injector`;
    if (ns[REVISION_LABEL] !== undefined) return `namespace label ${REVISION_LABEL}=${ns[REVISION_LABEL]} names no installed revision or tag`;
    if (pod[REVISION_LABEL] !== undefined) return `pod label ${REVISION_LABEL}=${pod[REVISION_LABEL]} names no installed revision or tag`;
    if (ns[DATAPLANE_MODE_LABEL] === "ambient") return `the namespace is in ambient mode (${DATAPLANE_MODE_LABEL}=ambient), which injects none; ztunnel's mTLS and L4 authorization are not judged here`;
    return "neither the namespace nor the pods ask for injection";
}

/** The annotation istio-cni writes on a pod it has enrolled in ambient mode (`enabled`, or `pending` while it sets up). */
export const AMBIENT_REDIRECTION_ANNOTATION = "ambient.istio.io/redirection";

export interface Dataplane {
    /**
     * `sidecar`: the pods run an injected proxy; `ambient`: ztunnel carries their traffic (no proxy of their own);
     * `none`: neither.
     */
    mode: "sidecar" | "ambient" | "none";
    injection: Injection;
    reason: string;
}

/**
 * Which data plane the pods of a workload join. Sidecar injection is decided first and alone: the injector never reads
 * `istio.io/dataplane-mode`, and istio-cni never enrols a pod that carries an injected sidecar (ztunnel and a sidecar
 * in one pod are not supported), so a pod asked into both modes ends up with a sidecar only. A pod without one joins
 * ambient mode when istio-cni's enablement selectors, as the istio-cni chart sets them by default, match: the pod is
 * labelled `istio.io/dataplane-mode=ambient`, or its namespace is and the pod is not labelled `none`; or istio-cni
 * has already enrolled it (its redirection annotation). Pods on the host network join neither.
 */
export function dataplaneOf(inventory: Inventory, w: Workload): Dataplane {
    const injection = injectionOf(inventory, w);
    if (injection.meshed) return { mode: "sidecar", injection, reason: injection.reason };
    if (w.hostNetwork) return { mode: "none", injection, reason: "pods on the host network join neither data plane" };
    const nsMode = inventory.namespaces.get(w.namespace)?.labels[DATAPLANE_MODE_LABEL];
    const podMode = w.labels[DATAPLANE_MODE_LABEL];
    if (w.annotations[AMBIENT_REDIRECTION_ANNOTATION] === "enabled") return { mode: "ambient", injection, reason: `istio-cni has enrolled the pods in ambient mode (${AMBIENT_REDIRECTION_ANNOTATION}=enabled)` };
    if (podMode === "ambient") return { mode: "ambient", injection, reason: `the pods are labelled ${DATAPLANE_MODE_LABEL}=ambient and get no sidecar` };
    if (nsMode === "ambient" && podMode !== "none") return { mode: "ambient", injection, reason: `the namespace is labelled ${DATAPLANE_MODE_LABEL}=ambient and the pods get no sidecar` };
    return { mode: "none", injection, reason: injection.reason };
}

type WebhookSelectors = Pick<Injector, "namespaceSelector" | "objectSelector">;

/**
 * Namespace and pod labels that two injector webhooks both accept, if the labels their selectors require do not
 * contradict each other: per key, a value every `matchLabels` and `In` requirement of both allows (any, for `Exists`).
 * Undefined when the merged labels do not satisfy both (then the required labels alone cannot show an overlap).
 */
export function sharedProbe(a: WebhookSelectors, b: WebhookSelectors): { namespace: Record<string, string>; pod: Record<string, string> } | undefined {
    const namespace = mergeRequired([a.namespaceSelector, b.namespaceSelector]);
    const pod = mergeRequired([a.objectSelector, b.objectSelector]);
    if (namespace === undefined || pod === undefined) return undefined;
    const accepts = (i: WebhookSelectors) => selects(i.namespaceSelector, namespace) && selects(i.objectSelector, pod);
    return accepts(a) && accepts(b) ? { namespace, pod } : undefined;
}

function mergeRequired(selectors: LabelSelector[]): Record<string, string> | undefined {
    // Per key, the values every requirement allows (undefined: any value, the key only has to exist).
    const allowed = new Map<string, Set<string> | undefined>();
    const require = (key: string, values: ReadonlyArray<string> | undefined) => {
        if (!allowed.has(key) || allowed.get(key) === undefined) allowed.set(key, values === undefined ? undefined : new Set(values));
        else if (values !== undefined) allowed.set(key, new Set(values.filter((v) => allowed.get(key)!.has(v))));
    };
    for (const s of selectors) {
        for (const [k, v] of Object.entries(s.matchLabels ?? {})) require(k, [v]);
        for (const req of s.matchExpressions ?? []) {
            if (req.operator === "In") require(req.key, req.values ?? []);
            if (req.operator === "Exists") require(req.key, undefined);
        }
    }
    const labels: Record<string, string> = {};
    for (const [key, values] of allowed) {
        if (values === undefined) labels[key] = "true";
        else if (values.size === 0) return undefined;
        else labels[key] = [...values].sort()[0];
    }
    return labels;
}
