/**
 * Istio host names as gateways bind them: exact names, `*.suffix` wildcards and `*`. Two hosts overlap when they are
 * equal or a wildcard covers the other (`*.example.com` covers `a.example.com` and `*.a.example.com`).
 */
/** The cluster's DNS domain for Services, as istiod names them (`--domain`, default `cluster.local`). */
export const SERVICE_DOMAIN = "svc.cluster.local";

/** The host a Kubernetes Service is known by in the mesh: `reviews` in `app-a` is `reviews.app-a.svc.cluster.local`. */
export function serviceHost(name: string, namespace: string): string {
    return `${name}.${namespace}.${SERVICE_DOMAIN}`;
}

export function hostsOverlap(a: string, b: string): boolean {
    if (a === b || a === "*" || b === "*") return true;
    const covers = (wild: string, host: string) => wild.startsWith("*.") && host.endsWith(wild.slice(1));
    return covers(a, b) || covers(b, a);
}

/**
 * Hosts claimed so far, each with whatever claimed it first. Exact hosts are looked up by name and only wildcards
 * (few, in practice) are scanned, so checking n hosts is not n² work.
 */
export class HostClaims<C> {
    private readonly exact = new Map<string, C>();
    private readonly wildcards: { host: string; claim: C }[] = [];

    /** A claim whose host overlaps `host`, among those `relevant` accepts (e.g. another tenant's). */
    find(host: string, relevant: (claim: C) => boolean = () => true): { host: string; claim: C } | undefined {
        const exact = this.exact.get(host);
        if (exact !== undefined && relevant(exact)) return { host, claim: exact };
        const wild = this.wildcards.find((w) => relevant(w.claim) && hostsOverlap(w.host, host));
        if (wild !== undefined) return wild;
        if (host.includes("*")) {
            for (const [other, claim] of this.exact) if (relevant(claim) && hostsOverlap(host, other)) return { host: other, claim };
        }
        return undefined;
    }

    add(host: string, claim: C): void {
        if (host.includes("*")) this.wildcards.push({ host, claim });
        else if (!this.exact.has(host)) this.exact.set(host, claim);
    }
}
