import type { PlatformOperators } from "../../model/config";
import { INJECTION_LABEL, MANAGED_BY, MANAGED_BY_LABEL, REVISION_LABEL, ROLE_LABEL, SERVICE_EXPORT_TO_ANNOTATION, USERGROUP_LABEL } from "../../policy/semantics/labels";
import type { GuardrailScope } from "./catalogue";
import { annotationsOf, askPlatform, cel, celList, labelsOf, paramList, paramValue } from "./cel";
import { GUARDRAIL_ANNOTATION_PREFIX, GUARDRAIL_PARAM_ANNOTATIONS } from "./parameters";

/**
 * The policies. CEL reads `object` (the request's object), `oldObject`, `namespaceObject` (whose annotations are the
 * parameters) and `request`; `variables.x` are the named expressions each policy declares first. The rendered policies
 * are under snapshots/, one file per policy, so that a change here shows in review as a change of CEL.
 */

const ISTIO_GROUPS = ["networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"];
const WORKLOAD_RULES = [
    { apiGroups: [""], resources: ["pods", "replicationcontrollers"] },
    { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets", "replicasets"] },
    { apiGroups: ["batch"], resources: ["jobs", "cronjobs"] },
];

export interface Validation {
    /** Pack id the validation mirrors; the message starts with it. */
    id: string;
    expression: string;
    /** Built from the request and the parameters, so the message names the field, the bad values and the allowed ones. */
    messageExpression: string;
}

export interface PolicySpec {
    /** Policy name without the `mesh-tenancy-` prefix. */
    name: string;
    /**
     * Writes of Kubernetes' and Istio's own controllers this policy leaves alone, because what they write was judged
     * where it was declared (`controlPlaneWrites`).
     */
    skipsControlPlaneWrites?: true;
    scope: GuardrailScope;
    operations: string[];
    rules: { apiGroups: string[]; resources: string[] }[];
    variables: { name: string; expression: string }[];
    validations: Validation[];
}

const sidecars: PolicySpec = {
    name: "sidecars",
    scope: "tenant",
    operations: ["CREATE", "UPDATE"],
    rules: [{ apiGroups: ["networking.istio.io"], resources: ["sidecars"] }],
    variables: [
        // `.` is the Sidecar's own namespace and `~` imports nothing; everything else must be a namespace the plan lets
        // this one import. The namespace is what precedes the first `/` of `namespace/dnsName`.
        { name: "importable", expression: `['.', '~'] + ${paramList("importableNamespaces")}` },
        // Istio's schemas (and the stand-in CRDs) leave spec optional.
        { name: "spec", expression: "has(object.spec) ? object.spec : {}" },
        { name: "egress", expression: "has(variables.spec.egress) ? variables.spec.egress : []" },
        {
            name: "foreignHosts",
            expression: "variables.egress.map(e, has(e.hosts) ? e.hosts.filter(h, !(h.split('/')[0] in variables.importable)) : []).map(l, l.join(', ')).filter(s, s != '')",
        },
    ],
    validations: [
        {
            // A Sidecar without egress listeners imports every namespace its revision discovers, whatever the root Sidecar
            // says (measured on istiod; istio/istio#59376).
            id: "MT007",
            expression: "size(variables.egress) > 0",
            messageExpression: `'[MT007] spec.egress: a Sidecar without egress imports every namespace of the usergroup; list egress hosts, allowed namespaces: ' + variables.importable.join(', ')${askPlatform("'to add the namespaces it needs to the egress of ' + object.metadata.namespace + ' in the stack config'", { cel: true })}`,
        },
        {
            id: "MT007",
            expression: "size(variables.foreignHosts) == 0",
            messageExpression: `'[MT007] spec.egress[].hosts: ' + variables.foreignHosts.join(', ') + ' name namespaces ' + object.metadata.namespace + ' may not import; allowed namespaces: ' + variables.importable.join(', ')${askPlatform("'to add the namespace to the egress of ' + object.metadata.namespace + ' in the stack config'", { cel: true })}`,
        },
        {
            // Names are unique per namespace, so allowing the selector-less Sidecar only under the plan's name `default`
            // is how one object's admission keeps a namespace at one default Sidecar (CEL cannot list the others).
            id: "MT005",
            expression: "object.metadata.name == 'default' || (has(variables.spec.workloadSelector) && has(variables.spec.workloadSelector.labels) && size(variables.spec.workloadSelector.labels) > 0)",
            messageExpression: `'[MT005] spec.workloadSelector: ' + object.metadata.name + ' has none, so it would be a second Sidecar for every pod of ' + object.metadata.namespace + ' (only the one named default may); allowed: a Sidecar with spec.workloadSelector.labels'${askPlatform("'to change the default Sidecar of ' + object.metadata.namespace + ' in the stack config'", { cel: true })}`,
        },
    ],
};

const exportTo: PolicySpec = {
    name: "export",
    scope: "tenant",
    operations: ["CREATE", "UPDATE"],
    rules: [
        { apiGroups: ["networking.istio.io"], resources: ["virtualservices", "destinationrules", "serviceentries"] },
        { apiGroups: [""], resources: ["services"] },
    ],
    variables: [
        // `.` keeps the object private, `~` hides it; `*` and any namespace that is neither imported by this one nor
        // importing it would publish it where the plan does not reach.
        { name: "allowed", expression: `['.', '~'] + ${paramList("exportPeers")}` },
        // Istio's schemas (and the stand-in CRDs) leave spec optional.
        { name: "spec", expression: "has(object.spec) ? object.spec : {}" },

        {
            // The object field for Istio kinds, the comma-separated annotation for Services (empty entries name nothing,
            // as the pack reads them).
            name: "targets",
            expression: `object.kind == 'Service' ? (${cel(SERVICE_EXPORT_TO_ANNOTATION)} in ${annotationsOf("object.metadata")} ? object.metadata.annotations[${cel(SERVICE_EXPORT_TO_ANNOTATION)}].split(',').map(t, t.trim()).filter(t, t != '') : []) : (has(variables.spec.exportTo) ? variables.spec.exportTo : [])`,
        },
        { name: "field", expression: `object.kind == 'Service' ? ${cel(`metadata.annotations[${SERVICE_EXPORT_TO_ANNOTATION}]`)} : 'spec.exportTo'` },
        { name: "outside", expression: "variables.targets.filter(t, !(t in variables.allowed))" },
        {
            // Every TLS setting of a DestinationRule: its traffic policy and each subset's, with their port-level ones.
            name: "trafficPolicies",
            expression: "object.kind != 'DestinationRule' ? [] : (has(variables.spec.trafficPolicy) ? [variables.spec.trafficPolicy] : []) + (has(variables.spec.subsets) ? variables.spec.subsets.filter(s, has(s.trafficPolicy)).map(s, s.trafficPolicy) : [])",
        },
    ],
    validations: [
        {
            id: "MT008",
            expression: "size(variables.outside) == 0",
            messageExpression: `'[MT008] ' + variables.field + ': ' + variables.outside.join(', ') + ' not among the peers of ' + object.metadata.namespace + '; allowed: ' + variables.allowed.join(', ')${askPlatform("'to make the namespace a peer of ' + object.metadata.namespace + ' (an egress of either in the stack config)'", { cel: true })}`,
        },
        {
            id: "MT009",
            expression:
                "!variables.trafficPolicies.exists(p, (has(p.tls) && has(p.tls.mode) && p.tls.mode == 'DISABLE') || (has(p.portLevelSettings) && p.portLevelSettings.exists(s, has(s.tls) && has(s.tls.mode) && s.tls.mode == 'DISABLE')))",
            messageExpression: `'[MT009] spec.trafficPolicy (or subsets[].trafficPolicy, portLevelSettings[]) tls.mode: DISABLE sends plaintext; allowed: ISTIO_MUTUAL, SIMPLE, MUTUAL or unset'${askPlatform("'if a destination cannot speak mutual TLS'", { cel: true })}`,
        },
    ],
};

const security: PolicySpec = {
    name: "security",
    scope: "tenant",
    operations: ["CREATE", "UPDATE"],
    rules: [{ apiGroups: ["security.istio.io"], resources: ["authorizationpolicies", "peerauthentications"] }],
    variables: [
        { name: "admitted", expression: paramList("admittedNamespaces") },
        // Istio's schemas (and the stand-in CRDs) leave spec optional.
        { name: "spec", expression: "has(object.spec) ? object.spec : {}" },

        // Istio matches principals by exact value, prefix or suffix with `*`: a principal pins one namespace only when it
        // starts with the whole `<trust domain>/ns/<namespace>/sa/` of an admitted namespace.
        { name: "principalPrefixes", expression: `variables.admitted.map(n, ${paramValue("trustDomain")} + '/ns/' + n + '/sa/')` },
        { name: "isAllow", expression: "object.kind == 'AuthorizationPolicy' && (!has(variables.spec.action) || variables.spec.action == 'ALLOW')" },
        {
            // A source is admitted when it names principals or namespaces (AND-ed with anything else it says, which only
            // narrows it) and all of them are admitted; namespaces are matched exactly, since `*` patterns widen them.
            name: "rulesAdmittingOthers",
            expression: `!variables.isAllow || !has(variables.spec.rules) ? [] : variables.spec.rules.filter(r, !has(r.from) || size(r.from) == 0 || r.from.exists(f, !has(f.source) ||
    !((has(f.source.principals) && size(f.source.principals) > 0 && f.source.principals.all(p, variables.principalPrefixes.exists(pre, p.startsWith(pre)))) ||
      (has(f.source.namespaces) && size(f.source.namespaces) > 0 && f.source.namespaces.all(n, n in variables.admitted)))))`,
        },
        {
            name: "weakModes",
            expression: "object.kind != 'PeerAuthentication' ? [] : ((has(variables.spec.mtls) && has(variables.spec.mtls.mode) ? [variables.spec.mtls.mode] : []) + (has(variables.spec.portLevelMtls) ? variables.spec.portLevelMtls.map(port, has(variables.spec.portLevelMtls[port].mode) ? variables.spec.portLevelMtls[port].mode : '') : [])).filter(m, m in ['PERMISSIVE', 'DISABLE'])",
        },
    ],
    validations: [
        {
            id: "MT016",
            expression: "size(variables.rulesAdmittingOthers) == 0",
            messageExpression: `'[MT016] spec.rules[].from[].source: ' + string(size(variables.rulesAdmittingOthers)) + ' ALLOW rule(s) admit sources outside what ' + object.metadata.namespace + ' admits (a rule without from, ipBlocks alone or a pattern admits more); allowed: principals ' + ${paramValue("trustDomain")} + '/ns/<namespace>/sa/... or namespaces, for the namespaces ' + variables.admitted.join(', ')${askPlatform("'to let the namespace of the caller import ' + object.metadata.namespace + ' (its egress in the stack config)'", { cel: true })}`,
        },
        {
            id: "MT009",
            expression: "size(variables.weakModes) == 0",
            messageExpression: `'[MT009] spec.mtls.mode / spec.portLevelMtls: ' + variables.weakModes.join(', ') + ' accepts plaintext; allowed: STRICT, UNSET'${askPlatform("'if a caller cannot speak mutual TLS'", { cel: true })}`,
        },
    ],
};

const workloads: PolicySpec = {
    name: "workloads",
    scope: "tenant",
    skipsControlPlaneWrites: true,
    operations: ["CREATE", "UPDATE"],
    rules: WORKLOAD_RULES,
    variables: [
        // The pod's metadata: the Pod's own, or its template's (a CronJob's is one level deeper).
        {
            name: "podMeta",
            expression:
                "object.kind == 'Pod' ? object.metadata : object.kind == 'CronJob' ? (has(object.spec.jobTemplate.spec.template.metadata) ? object.spec.jobTemplate.spec.template.metadata : {}) : (has(object.spec.template.metadata) ? object.spec.template.metadata : {})",
        },
        { name: "labels", expression: labelsOf("variables.podMeta") },
        { name: "annotations", expression: annotationsOf("variables.podMeta") },
        { name: "field", expression: "object.kind == 'Pod' ? 'metadata' : object.kind == 'CronJob' ? 'spec.jobTemplate.spec.template.metadata' : 'spec.template.metadata'" },
        { name: "revisions", expression: paramList("revisions") },
        // Capture settings: whatever the sidecar does not capture bypasses mutual TLS and AuthorizationPolicy.
        { name: "captureAnnotations", expression: "variables.annotations.filter(k, k.startsWith('traffic.sidecar.istio.io/'))" },
    ],
    validations: [
        {
            // A pod revision other than its namespace's joins another usergroup's control plane.
            id: "MT001",
            expression: `!(${cel(REVISION_LABEL)} in variables.labels) || variables.labels[${cel(REVISION_LABEL)}] in variables.revisions`,
            messageExpression: `'[MT001] ' + variables.field + '.labels[${REVISION_LABEL}]: ' + variables.labels[${cel(REVISION_LABEL)}] + ' is not the revision of ' + object.metadata.namespace + '; allowed: ' + variables.revisions.join(', ') + ' or no label'${askPlatform("'to move ' + object.metadata.namespace + ' to another revision in the stack config'", { cel: true })}`,
        },
        {
            // Both the label (current) and the annotation (older releases) turn injection off for the pod.
            id: "MT017",
            expression: "!(('sidecar.istio.io/inject' in variables.labels && variables.labels['sidecar.istio.io/inject'] == 'false') || ('sidecar.istio.io/inject' in variables.annotations && variables.annotations['sidecar.istio.io/inject'] == 'false'))",
            messageExpression: `'[MT017] ' + variables.field + ' sidecar.istio.io/inject: \"false\" takes the pod out of the mesh of ' + object.metadata.namespace + '; allowed: \"true\" or unset'${askPlatform("'if the workload must run outside the mesh'", { cel: true })}`,
        },
        {
            id: "MT017",
            expression: "size(variables.captureAnnotations) == 0",
            messageExpression: `'[MT017] ' + variables.field + '.annotations: ' + variables.captureAnnotations.join(', ') + ' let traffic bypass the sidecar; allowed: none of traffic.sidecar.istio.io/*'${askPlatform("'if the workload must bypass its sidecar'", { cel: true })}`,
        },
    ],
};

const gateways: PolicySpec = {
    name: "gateways",
    scope: "tenant",
    operations: ["CREATE", "UPDATE"],
    rules: [
        { apiGroups: ["gateway.networking.k8s.io"], resources: ["gateways", "referencegrants"] },
        { apiGroups: ["networking.istio.io"], resources: ["gateways"] },
    ],
    variables: [
        { name: "spec", expression: "has(object.spec) ? object.spec : {}" },
        { name: "importable", expression: paramList("importableNamespaces") },
        { name: "admitted", expression: paramList("admittedNamespaces") },
        { name: "gatewayApi", expression: "object.apiVersion.startsWith('gateway.networking.k8s.io/')" },
        // Gateway API listeners: `Same` (the default) is the only value that keeps other namespaces' routes off.
        {
            name: "openListeners",
            expression:
                "!variables.gatewayApi || object.kind != 'Gateway' || !has(variables.spec.listeners) ? [] : variables.spec.listeners.filter(l, has(l.allowedRoutes) && has(l.allowedRoutes.namespaces) && has(l.allowedRoutes.namespaces.from) && l.allowedRoutes.namespaces.from != 'Same').map(l, l.name)",
        },
        // Istio Gateway server hosts are `<namespace>/<host>`: `.` is the Gateway's own, no namespace or `*` any.
        {
            name: "foreignServers",
            expression:
                "variables.gatewayApi || object.kind != 'Gateway' || !has(variables.spec.servers) ? [] : variables.spec.servers.filter(s, has(s.hosts) && s.hosts.exists(h, !(h.contains('/') && (h.split('/')[0] == '.' || h.split('/')[0] == object.metadata.namespace || h.split('/')[0] in variables.importable))))",
        },
        {
            name: "foreignGrants",
            expression: "object.kind != 'ReferenceGrant' || !has(variables.spec.from) ? [] : variables.spec.from.filter(f, !has(f.namespace) || !(f.namespace in variables.admitted)).map(f, has(f.namespace) ? f.namespace : '(none)')",
        },
    ],
    validations: [
        {
            id: "MT025",
            expression: "size(variables.openListeners) == 0",
            messageExpression: `'[MT025] spec.listeners[].allowedRoutes.namespaces.from: listeners ' + variables.openListeners.join(', ') + ' accept routes of other namespaces; allowed: Same (the default)'${askPlatform("'to route another namespace through this gateway'", { cel: true })}`,
        },
        {
            id: "MT025",
            expression: "size(variables.foreignServers) == 0",
            messageExpression: `'[MT025] spec.servers[].hosts: ' + string(size(variables.foreignServers)) + ' server(s) let VirtualServices of namespaces ' + object.metadata.namespace + ' may not call bind to it (a host without namespace, or */, is any); allowed: ./<host> or <namespace>/<host> for ' + variables.importable.join(', ')${askPlatform("'to let the namespace call the one it routes to (its egress in the stack config)'", { cel: true })}`,
        },
        {
            id: "MT025",
            expression: "size(variables.foreignGrants) == 0",
            messageExpression: `'[MT025] spec.from[].namespace: ' + variables.foreignGrants.join(', ') + ' may not call ' + object.metadata.namespace + '; allowed: ' + variables.admitted.join(', ')${askPlatform("'to let the namespace call ' + object.metadata.namespace + ' (its egress in the stack config)'", { cel: true })}`,
        },
    ],
};

const istioConfigRevision: PolicySpec = {
    name: "istio-config",
    scope: "tenant",
    operations: ["CREATE", "UPDATE"],
    rules: [{ apiGroups: ISTIO_GROUPS, resources: ["*"] }],
    variables: [
        { name: "labels", expression: labelsOf("object.metadata") },
        { name: "revisions", expression: paramList("revisions") },
    ],
    validations: [
        {
            // Istio config labelled with another revision is ignored by the namespace's own istiod.
            id: "MT001",
            expression: `!(${cel(REVISION_LABEL)} in variables.labels) || variables.labels[${cel(REVISION_LABEL)}] in variables.revisions`,
            messageExpression: `'[MT001] metadata.labels[${REVISION_LABEL}]: ' + variables.labels[${cel(REVISION_LABEL)}] + ' is not the revision of ' + object.metadata.namespace + '; allowed: ' + variables.revisions.join(', ') + ' or no label'${askPlatform("'to move ' + object.metadata.namespace + ' to another revision in the stack config'", { cel: true })}`,
        },
        {
            id: "MT-A3",
            expression: "!(object.kind in ['EnvoyFilter', 'WasmPlugin'])",
            messageExpression: `'[MT-A3] kind: ' + object.kind + ' patches or extends the proxy and can remove the filters that enforce isolation; allowed kinds: VirtualService, DestinationRule, ServiceEntry, Sidecar, AuthorizationPolicy, RequestAuthentication, Telemetry'${askPlatform("'to make the proxy change for the usergroup'", { cel: true })}`,
        },
    ],
};

const MANAGED_NAMESPACED_RULES = [
    { apiGroups: [""], resources: ["configmaps", "resourcequotas"] },
    { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"] },
    { apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings", "roles"] },
    { apiGroups: ISTIO_GROUPS, resources: ["*"] },
];

const managedObjects: PolicySpec = {
    name: "managed-objects",
    scope: "managed",
    operations: ["CREATE", "UPDATE", "DELETE"],
    rules: MANAGED_NAMESPACED_RULES,
    variables: [
        { name: "managedNow", expression: `object != null && ${cel(MANAGED_BY_LABEL)} in ${labelsOf("object.metadata")} && object.metadata.labels[${cel(MANAGED_BY_LABEL)}] == ${cel(MANAGED_BY)}` },
        { name: "managedBefore", expression: `oldObject != null && ${cel(MANAGED_BY_LABEL)} in ${labelsOf("oldObject.metadata")} && oldObject.metadata.labels[${cel(MANAGED_BY_LABEL)}] == ${cel(MANAGED_BY)}` },
        // Deleting a namespace deletes its contents as the namespace controller: that must go through.
        { name: "namespaceTerminating", expression: "request.operation == 'DELETE' && has(namespaceObject.metadata.deletionTimestamp)" },
    ],
    validations: [
        {
            id: "MT-A1",
            expression: "variables.namespaceTerminating || !(variables.managedNow || variables.managedBefore)",
            messageExpression: `'[MT-A1] metadata.labels[${MANAGED_BY_LABEL}]: ' + (object != null ? object.kind : oldObject.kind) + ' ' + (object != null ? object.metadata.name : oldObject.metadata.name) + ' belongs to the plan; only the platform operators may ' + request.operation.lowerAscii() + ' it; allowed: objects without this label'${askPlatform("'to change it in the stack config'", { cel: true })}`,
        },
    ],
};

const TENANCY_LABELS = [USERGROUP_LABEL, REVISION_LABEL, INJECTION_LABEL, ROLE_LABEL];

const namespaceLabels: PolicySpec = {
    name: "namespace-labels",
    scope: "cluster",
    operations: ["CREATE", "UPDATE"],
    rules: [{ apiGroups: [""], resources: ["namespaces"] }],
    variables: [
        // These labels decide which revision discovers a namespace, which injector its pods use, and how the pack and
        // the guardrails treat it: a namespace labelled into a usergroup joins its mesh.
        { name: "tenancyLabels", expression: celList(TENANCY_LABELS) },
        { name: "newLabels", expression: labelsOf("object.metadata") },
        { name: "oldLabels", expression: `oldObject == null ? {} : ${labelsOf("oldObject.metadata")}` },
        {
            name: "changed",
            expression: "variables.tenancyLabels.filter(k, (k in variables.newLabels) != (k in variables.oldLabels) || (k in variables.newLabels && variables.newLabels[k] != variables.oldLabels[k]))",
        },
        // The guardrails' own parameters: whoever could rewrite them would widen what the guardrails admit.
        { name: "newAnnotations", expression: annotationsOf("object.metadata") },
        { name: "oldAnnotations", expression: `oldObject == null ? {} : ${annotationsOf("oldObject.metadata")}` },
        {
            name: "changedParams",
            expression: `variables.newAnnotations.filter(k, k.startsWith(${cel(GUARDRAIL_ANNOTATION_PREFIX)}) && (!(k in variables.oldAnnotations) || variables.newAnnotations[k] != variables.oldAnnotations[k])) + variables.oldAnnotations.filter(k, k.startsWith(${cel(GUARDRAIL_ANNOTATION_PREFIX)}) && !(k in variables.newAnnotations))`,
        },
    ],
    validations: [
        {
            id: "MT-A2",
            expression: "size(variables.changed) == 0",
            messageExpression: `'[MT-A2] metadata.labels: ' + variables.changed.join(', ') + ' on namespace ' + object.metadata.name + ': tenancy labels are set only by the platform operators; allowed: ' + (oldObject == null ? 'none of ' + variables.tenancyLabels.join(', ') : 'the current values (' + variables.tenancyLabels.filter(k, k in variables.oldLabels).map(k, k + '=' + variables.oldLabels[k]).join(', ') + ')')${askPlatform("'to add or move the namespace in the stack config'", { cel: true, namespaced: false })}`,
        },
        {
            id: "MT-A2",
            expression: "size(variables.changedParams) == 0",
            messageExpression: `'[MT-A2] metadata.annotations: ' + variables.changedParams.join(', ') + ' on namespace ' + object.metadata.name + ': the guardrail parameters are set only by the platform operators; allowed: ' + (oldObject == null ? 'no ${GUARDRAIL_ANNOTATION_PREFIX}* annotation' : 'the current values')${askPlatform("'to change the parameters of the namespace in the stack config'", { cel: true, namespaced: false })}`,
        },
    ],
};

const systemNamespaces: PolicySpec = {
    name: "system-namespaces",
    scope: "system",
    operations: ["CREATE", "UPDATE", "DELETE"],
    rules: [{ apiGroups: ISTIO_GROUPS, resources: ["*"] }],
    variables: [],
    validations: [
        {
            // Config in a revision's root namespace applies to every namespace of the usergroup.
            id: "MT-A4",
            expression: "false",
            messageExpression: `'[MT-A4] metadata.namespace: ' + request.namespace + ' is a system namespace; Istio config there applies to the whole usergroup and is managed by the platform operators only; allowed: your own namespaces'${askPlatform("'to change the mesh-wide config of the usergroup'", { cel: true })}`,
        },
    ],
};

export const POLICIES: ReadonlyArray<PolicySpec> = [workloads, sidecars, exportTo, security, gateways, istioConfigRevision, managedObjects, namespaceLabels, systemNamespaces];

/**
 * The Kubernetes controllers that copy a pod template into what they make: the Deployment controller into ReplicaSets,
 * the CronJob controller into Jobs, and the ReplicaSet, ReplicationController, StatefulSet, DaemonSet and Job controllers
 * into pods (as kube-controller-manager names them with `--use-service-account-credentials`). The template was judged
 * when it was written, so judging each copy again only refuses what was admitted (istiod's gateway Deployment would get
 * no ReplicaSet, hence no pod).
 */
export const TEMPLATE_CONTROLLERS = [
    "deployment-controller",
    "cronjob-controller",
    "replicaset-controller",
    "replication-controller",
    "statefulset-controller",
    "daemonset-controller",
    "job-controller",
].map((c) => `system:serviceaccount:kube-system:${c}`);

/**
 * Match conditions for the workload guardrails, from what the control plane writes on its own: the copies controllers
 * make of judged templates, and the Deployment (with its own istio-proxy, `sidecar.istio.io/inject: "false"`) that a
 * usergroup's istiod writes for a Gateway API Gateway it reconciles, owned by that Gateway. `istiods` are the
 * usergroups' istiod ServiceAccounts, as usernames. Anyone else writing the same object is judged.
 */
export function controlPlaneWrites(istiods: ReadonlyArray<string>): { name: string; expression: string }[] {
    return [
        { name: "not-a-copy-of-a-judged-template", expression: `!(request.userInfo.username in ${celList(TEMPLATE_CONTROLLERS)})` },
        {
            name: "not-istiod-deploying-a-gateway",
            expression: `!(request.userInfo.username in ${celList([...istiods])} && object.kind != 'Pod' && has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(r, r.kind == 'Gateway' && r.apiVersion.startsWith('gateway.networking.k8s.io/')))`,
        },
    ];
}

/** A match condition that skips the platform operators: they are held by the policy pack at preview instead. */
export function notAPlatformOperator(operators: PlatformOperators): { name: string; expression: string } {
    return {
        name: "not-a-platform-operator",
        expression: `!(request.userInfo.username in ${celList(operators.users)}) && !request.userInfo.groups.exists(g, g in ${celList(operators.groups)})`,
    };
}

/** MT-A5: a tenant or shared namespace without its parameters admits nothing guarded (fail closed). */
const parametersPresent: Validation = {
    id: "MT-A5",
    expression: `${celList(Object.values(GUARDRAIL_PARAM_ANNOTATIONS))}.all(k, k in variables.params)`,
    messageExpression: `'[MT-A5] metadata.annotations: namespace ' + request.namespace + ' lacks ' + ${celList(Object.values(GUARDRAIL_PARAM_ANNOTATIONS))}.filter(k, !(k in variables.params)).join(', ') + ', the parameters its guardrails compare against, so they refuse every change here until the platform operators restore them (pulumi up); allowed: nothing'${askPlatform("'to restore them (pulumi up)'", { cel: true })}`,
};

/** Tenant and shared namespaces carry parameters: every policy there reads them first and refuses when any is missing. */
export function withParameters(spec: PolicySpec): Pick<PolicySpec, "variables" | "validations"> {
    if (spec.scope !== "tenant") return spec;
    return { variables: [{ name: "params", expression: annotationsOf("namespaceObject.metadata") }, ...spec.variables], validations: [parametersPresent, ...spec.validations] };
}
