import fc from "fast-check";
import * as fs from "fs";
import * as https from "https";
import * as YAML from "yaml";
import { Inventory } from "../../policy/semantics/inventory";
import type { KubeObject } from "../../policy/semantics/objects";
import { GOVERNED, mayWrite, Requester, requesterOf, WRITE_VERBS, WriteRequest } from "../../policy/semantics/rbac";

/**
 * Who may write where, judged by the API server's own RBAC authorizer: an estate of Roles, ClusterRoles (aggregating
 * ones too) and bindings is applied to the local cluster, then every requester × governed resource × verb × scope ×
 * name is asked as a SubjectAccessReview, and each answer is set beside the model's `mayWrite` for the same request.
 *
 * Only the estate's own objects are judged: the API server's default bindings grant nothing governed to the requesters
 * asked about (made-up users and groups, service accounts of the estate's namespaces), and its default roles are
 * bound only through the estate.
 */

export const NAMESPACES = ["rbac-a", "rbac-b"];
export const LABEL = "mesh-tenancy.io/e2e-rbac";

export const REQUESTERS: ReadonlyArray<{ who: string; requester: Requester }> = [
    { who: "User alice (Group devs)", requester: requesterOf({ user: "alice", groups: ["devs"] }) },
    { who: "User bob", requester: requesterOf({ user: "bob" }) },
    { who: "ServiceAccount rbac-a/app", requester: requesterOf({ serviceAccount: { namespace: "rbac-a", name: "app" } }) },
    { who: "ServiceAccount rbac-b/worker", requester: requesterOf({ serviceAccount: { namespace: "rbac-b", name: "worker" } }) },
    { who: "ServiceAccount rbac-b/app", requester: requesterOf({ serviceAccount: { namespace: "rbac-b", name: "app" } }) },
    { who: "anonymous", requester: requesterOf({ user: "system:anonymous" }) },
];

/**
 * The requesters an object set is judged for: the fixed ones, and one per binding subject of the set (a group's
 * member is a made-up user in it).
 */
export function requestersOf(objects: KubeObject[]): { who: string; requester: Requester }[] {
    const out = new Map(REQUESTERS.map((r) => [r.who, r] as const));
    for (const o of objects) {
        if (o.kind !== "RoleBinding" && o.kind !== "ClusterRoleBinding") continue;
        for (const s of ((o as any).subjects ?? []) as any[]) {
            if (s.kind === "User") out.set(`User ${s.name}`, { who: `User ${s.name}`, requester: requesterOf({ user: s.name }) });
            if (s.kind === "Group") out.set(`member of Group ${s.name}`, { who: `member of Group ${s.name}`, requester: requesterOf({ user: `e2e-member-of-${s.name}`, groups: [s.name] }) });
            const ns = s.namespace ?? (o.kind === "RoleBinding" ? o.metadata.namespace : undefined);
            if (s.kind === "ServiceAccount" && ns !== undefined) out.set(`ServiceAccount ${ns}/${s.name}`, { who: `ServiceAccount ${ns}/${s.name}`, requester: requesterOf({ serviceAccount: { namespace: ns, name: s.name } }) });
        }
    }
    return [...out.values()];
}

/**
 * Every write the judge asks about, per requester: each governed resource and verb, in each of `namespaces` and across
 * all of them, of any object and (but for create and deletecollection) of one named `n1`.
 */
export function requests(namespaces: ReadonlyArray<string>): WriteRequest[] {
    const out: WriteRequest[] = [];
    for (const resource of GOVERNED) {
        const scopes = resource.clusterScoped ? [undefined] : [...namespaces, undefined];
        for (const verb of resource.verbs ?? WRITE_VERBS) {
            for (const namespace of scopes) {
                // A create or deletecollection request carries no name (its object has none yet, or there are many): asked
                // with one, the authorizer would match it against resourceNames, but no real request is like that.
                const names = verb === "create" || verb === "deletecollection" ? [undefined] : [undefined, "n1"];
                for (const name of names) out.push({ resource, verb, namespace, name });
            }
        }
    }
    return out;
}

/** A request as a fixture keeps it: the governed resource by group and resource (and verbs where they are special). */
export interface AskedRequest {
    requester: Requester;
    request: { group: string; resource: string; verb: string; namespace?: string; name?: string };
}

export interface Verdict {
    requester: string;
    request: string;
    asked: AskedRequest;
    server: boolean;
    model: boolean;
    via: string[];
}

/** The governed resource a fixture's request names: by group and resource, the one whose verbs include the verb. */
export function governedOf(request: AskedRequest["request"]) {
    const r = GOVERNED.find((g) => g.group === request.group && g.resource === request.resource && (g.verbs ?? WRITE_VERBS).includes(request.verb));
    if (r === undefined) throw new Error(`no governed resource ${request.group}/${request.resource} with verb ${request.verb}`);
    return r;
}

export function describeRequest(r: WriteRequest): string {
    const group = r.resource.group === "" ? "core" : r.resource.group;
    return `${r.verb} ${group}/${r.resource.resource}${r.name !== undefined ? ` named ${JSON.stringify(r.name)}` : ""} ${r.namespace !== undefined ? `in ${r.namespace}` : r.resource.clusterScoped ? "(cluster)" : "in every namespace"}`;
}

// ---------------------------------------------------------------------------------------------------------------------
// The API server

interface Server {
    host: string;
    port: number;
    ca: Buffer;
    token: string;
    agent: https.Agent;
}

export function serverFromKubeconfig(file = process.env.KUBECONFIG!): Server {
    const config = YAML.parse(fs.readFileSync(file, "utf8"));
    const cluster = config.clusters[0].cluster;
    const url = new URL(cluster.server);
    return {
        host: url.hostname,
        port: Number(url.port || 443),
        ca: Buffer.from(cluster["certificate-authority-data"], "base64"),
        token: config.users[0].user.token,
        agent: new https.Agent({ keepAlive: true, maxSockets: 16 }),
    };
}

function post(server: Server, path: string, body: unknown): Promise<any> {
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
        const req = https.request(
            { host: server.host, port: server.port, path, method: "POST", ca: server.ca, agent: server.agent, headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json", "content-length": Buffer.byteLength(data) } },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    if ((res.statusCode ?? 0) >= 300) reject(new Error(`POST ${path}: ${res.statusCode} ${text.slice(0, 500)}`));
                    else resolve(JSON.parse(text));
                });
            },
        );
        req.on("error", reject);
        req.end(data);
    });
}

/** The authorizer's answer to one write, as a SubjectAccessReview (`serviceaccounts/token` is resource and subresource). */
export async function serverAllows(server: Server, requester: Requester, r: WriteRequest): Promise<boolean> {
    const [resource, subresource] = r.resource.resource.split("/");
    const review = await post(server, "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
            user: requester.user,
            groups: requester.groups,
            resourceAttributes: { group: r.resource.group, resource, ...(subresource !== undefined ? { subresource } : {}), verb: r.verb, namespace: r.namespace ?? "", ...(r.name !== undefined ? { name: r.name } : {}) },
        },
    });
    return review.status?.allowed === true;
}

/** Every request for every requester of `objects`, in the namespaces they hold, asked of the server (16 at a time) and of the model. */
export async function judge(server: Server, objects: KubeObject[]): Promise<Verdict[]> {
    const inventory = new Inventory(objects.map((object) => ({ object, origin: {} })));
    const namespaces = objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name as string);
    const jobs = requestersOf(objects).flatMap(({ who, requester }) => requests(namespaces).map((r) => ({ who, requester, r })));
    const verdicts: Verdict[] = new Array(jobs.length);
    let next = 0;
    const worker = async () => {
        while (next < jobs.length) {
            const i = next++;
            const { who, requester, r } = jobs[i];
            const model = mayWrite(inventory, requester, r);
            const asked = { requester, request: { group: r.resource.group, resource: r.resource.resource, verb: r.verb, ...(r.namespace !== undefined ? { namespace: r.namespace } : {}), ...(r.name !== undefined ? { name: r.name } : {}) } };
            verdicts[i] = { requester: who, request: describeRequest(r), asked, server: await serverAllows(server, requester, r), model: model.allowed, via: model.via };
        }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return verdicts;
}

// ---------------------------------------------------------------------------------------------------------------------
// Estates

const meta = (name: string, namespace?: string, labels: Record<string, string> = {}) => ({ name, ...(namespace !== undefined ? { namespace } : {}), labels: { ...labels, [LABEL]: "estate" } });
const RBAC = "rbac.authorization.k8s.io/v1";

const GROUPS = ["", "*", "apps", "networking.istio.io", "security.istio.io", "rbac.authorization.k8s.io", "networking.k8s.io", "admissionregistration.k8s.io", "gateway.networking.k8s.io"];
const RESOURCES = ["*", "pods", "pods/exec", "secrets", "sidecars", "authorizationpolicies", "envoyfilters", "roles", "rolebindings", "clusterroles", "clusterrolebindings", "serviceaccounts", "serviceaccounts/token", "*/token", "users", "groups", "networkpolicies", "deployments", "namespaces", "mutatingwebhookconfigurations", "httproutes"];
const VERBS = ["*", "create", "update", "patch", "delete", "deletecollection", "get", "list", "bind", "escalate", "impersonate"];
const NAMES: string[][] = [[], [], [], ["n1"], ["*"], ["n1", "n2"], ["other"]];
const AGG = { "mesh-tenancy.io/e2e-rbac-aggregate": "yes" };

const arbRule = fc.record({
    apiGroups: fc.uniqueArray(fc.constantFrom(...GROUPS), { minLength: 1, maxLength: 2 }),
    resources: fc.uniqueArray(fc.constantFrom(...RESOURCES), { minLength: 1, maxLength: 3 }),
    verbs: fc.uniqueArray(fc.constantFrom(...VERBS), { minLength: 1, maxLength: 3 }),
    resourceNames: fc.constantFrom(...NAMES),
});

const SUBJECTS = [
    { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "alice" },
    { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "bob" },
    { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "devs" },
    { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "system:authenticated" },
    { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "system:unauthenticated" },
    { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "system:serviceaccounts" },
    { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "system:serviceaccounts:rbac-b" },
    { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "system:serviceaccount:rbac-b:worker" },
    { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "system:anonymous" },
    { kind: "ServiceAccount", name: "app", namespace: "rbac-a" },
    { kind: "ServiceAccount", name: "app", namespace: "rbac-b" },
];
/** A ServiceAccount subject without a namespace: the RoleBinding's own (a ClusterRoleBinding's is refused by validation). */
const LOCAL_APP = { kind: "ServiceAccount", name: "app" };

/** A random estate: ClusterRoles (some aggregating, some aggregated, some into `edit`), Roles, RoleBindings and ClusterRoleBindings. */
export const arbEstate: fc.Arbitrary<KubeObject[]> = fc
    .record({
        clusterRoles: fc.array(fc.record({ rules: fc.array(arbRule, { minLength: 1, maxLength: 3 }), aggregated: fc.constantFrom("no", "no", "mine", "edit") }), { minLength: 1, maxLength: 3 }),
        aggregator: fc.boolean(),
        roles: fc.array(fc.record({ namespace: fc.constantFrom(...NAMESPACES), rules: fc.array(arbRule, { minLength: 1, maxLength: 3 }) }), { maxLength: 3 }),
        bindings: fc.array(
            fc.record({
                scope: fc.constantFrom("rbac-a", "rbac-b", "cluster"),
                role: fc.nat(20),
                subjects: fc.uniqueArray(fc.nat(SUBJECTS.length), { minLength: 1, maxLength: 3 }),
            }),
            { minLength: 1, maxLength: 5 },
        ),
    })
    .map((e) => {
        const objects: KubeObject[] = NAMESPACES.map((n) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name: n } }));
        const clusterRoleNames: string[] = [];
        e.clusterRoles.forEach((cr, i) => {
            const name = `e2e-rbac-cr-${i}`;
            const labels: Record<string, string> = cr.aggregated === "mine" ? AGG : cr.aggregated === "edit" ? { "rbac.authorization.k8s.io/aggregate-to-edit": "true" } : {};
            objects.push({ apiVersion: RBAC, kind: "ClusterRole", metadata: meta(name, undefined, labels), rules: cr.rules });
            clusterRoleNames.push(name);
        });
        if (e.aggregator) {
            objects.push({ apiVersion: RBAC, kind: "ClusterRole", metadata: meta("e2e-rbac-aggregator"), aggregationRule: { clusterRoleSelectors: [{ matchLabels: AGG }] }, rules: [] });
            clusterRoleNames.push("e2e-rbac-aggregator");
        }
        const targets = [...clusterRoleNames, "admin", "edit", "view", "cluster-admin"];
        const roles = e.roles.map((r, i) => ({ namespace: r.namespace, name: `e2e-rbac-role-${i}` }));
        e.roles.forEach((r, i) => objects.push({ apiVersion: RBAC, kind: "Role", metadata: meta(roles[i].name, r.namespace), rules: r.rules }));
        e.bindings.forEach((b, i) => {
            const subjects = b.subjects.map((s) => (s === SUBJECTS.length ? (b.scope === "cluster" ? SUBJECTS[0] : LOCAL_APP) : SUBJECTS[s]));
            if (b.scope === "cluster") {
                objects.push({ apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: meta(`e2e-rbac-crb-${i}`), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: targets[b.role % targets.length] }, subjects });
                return;
            }
            const own = roles.filter((r) => r.namespace === b.scope);
            const pick = b.role % (targets.length + own.length);
            const roleRef = pick < own.length ? { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: own[pick].name } : { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: targets[pick - own.length] };
            objects.push({ apiVersion: RBAC, kind: "RoleBinding", metadata: meta(`e2e-rbac-rb-${i}`, b.scope), roleRef, subjects });
        });
        return objects;
    });

/** `n` estates from `seed`: the same seed gives the same estates. */
export function estates(seed: number, n: number): KubeObject[][] {
    return fc.sample(arbEstate, { seed, numRuns: n });
}
