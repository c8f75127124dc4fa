/**
 * Stack configs of N tenants, shaped like a real cluster and the same shape at every N, so that the growth ratios
 * measure N and not a changing mix:
 *
 * - 90% of the tenants in usergroups of up to 100 with namespace isolation: one shared namespace per usergroup, a
 *   third of the tenants calling one peer's service, one in seven importing a peer's whole namespace, one in ten with
 *   an ingress gateway (every other one with TLS), one in twenty with a workload Sidecar of its own;
 * - 10% in teams of up to 10 with usergroup isolation, where every tenant sees the others;
 * - owners on every tenant, quotas on a quarter; namespaces protected, as in production.
 *
 * So K ≈ N/50 usergroups (revisions). Deterministic: the same N always gives the same config.
 */
export function benchConfig(n: number): Record<string, unknown> {
    const teamTenants = Math.round(n / 10);
    const usergroups = [
        ...split(n - teamTenants, 100).map((size, u) => usergroup(`ug${u}`, size, "namespace")),
        ...split(teamTenants, 10).map((size, u) => usergroup(`team${u}`, size, "usergroup")),
    ];
    return { istio: { version: "1.31.0" }, protectNamespaces: true, platformOperators: { groups: ["mesh-tenancy-deployers"] }, usergroups };
}

/**
 * The shape the real-engine benchmark deploys (`npm run bench:engine`): N tenants in four usergroups with namespace
 * isolation, each tenant like the ones above (one in ten with an ingress gateway, owners on all, quotas on a quarter),
 * as a platform team with four business units would run it.
 */
export function engineBenchConfig(n: number, usergroupSize = Math.ceil(n / 4)): Record<string, unknown> {
    const usergroups = split(n, usergroupSize).map((size, u) => usergroup(`ug${u}`, size, "namespace"));
    return { istio: { version: "1.31.0" }, protectNamespaces: true, platformOperators: { groups: ["mesh-tenancy-deployers"] }, usergroups };
}

/** `total` split into the fewest groups of at most `max`, sizes differing by at most one. */
function split(total: number, max: number): number[] {
    if (total <= 0) return [];
    const groups = Math.ceil(total / max);
    return Array.from({ length: groups }, (_, g) => Math.floor(total / groups) + (g < total % groups ? 1 : 0));
}

function usergroup(ug: string, size: number, isolation: "namespace" | "usergroup"): Record<string, unknown> {
    const tenant = (i: number) => `${ug}-t${i}`;
    const tenants: Record<string, unknown>[] = [];
    for (let i = 0; i < size; i++) {
        const name = tenant(i);
        const egress: string[] = [];
        if (isolation === "namespace") {
            if (size > 1 && i % 3 === 0) {
                const peer = tenant((i + 1) % size);
                egress.push(`${peer}/api.${peer}.svc.cluster.local`);
            }
            if (size > 5 && i % 7 === 0) egress.push(`${tenant((i + 5) % size)}/*`);
        }
        const t: Record<string, unknown> = { name, egress, owners: [{ kind: "Group", name: `team-${name}` }] };
        if (i % 10 === 0) {
            t.gateway = { hosts: [`${name}.apps.example.com`], ...(i % 20 === 0 ? { tlsCredentialName: `${name}-cert` } : {}) };
        }
        if (size > 2 && i % 20 === 5) {
            t.workloadSidecars = [{ name: "batch", selector: { "app.kubernetes.io/name": "batch" }, egress: [`${tenant((i + 2) % size)}/*`] }];
        }
        if (i % 4 === 0) t.quota = { pods: 50, "requests.cpu": "8", "requests.memory": "16Gi" };
        tenants.push(t);
    }
    return {
        name: ug,
        systemNamespace: `istio-${ug}`,
        tenantIsolation: isolation,
        sharedNamespaces: isolation === "namespace" ? [`${ug}-shared`] : [],
        istiod: { replicas: 2 },
        tenants,
    };
}

/** The config as a stack file's `config:` map reaches the program: `project:key` → serialized value. */
export function stackValues(raw: Record<string, unknown>, project = "mesh-tenancy"): Record<string, string> {
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [`${project}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}
