import fc from "fast-check";

/** Random valid raw configs: names derived from positions so they are unique by construction. */
export const validRawConfig = fc
    .array(
        fc.record({
            tenants: fc.integer({ min: 0, max: 6 }),
            shared: fc.integer({ min: 0, max: 2 }),
            isolation: fc.constantFrom("namespace", "usergroup"),
            ownSystemNamespace: fc.boolean(),
            peers: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 8 }),
            workloads: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 4 }),
            gateways: fc.array(fc.nat(), { maxLength: 3 }),
            /** Revisions listed: none (one revision named after the usergroup), one, or two mid-upgrade with tags. */
            revisions: fc.constantFrom(0, 1, 2),
            stableOnNew: fc.boolean(),
            canaryFollowers: fc.array(fc.nat(), { maxLength: 3 }),
        }),
        { minLength: 1, maxLength: 4 },
    )
    .map((groups) => ({
        istio: { version: "1.31.0" },
        platformOperators: { groups: ["mesh-tenancy-deployers"] },
        usergroups: groups.map((g, u) => {
            const tenants = Array.from({ length: g.tenants }, (_, t) => ({
                name: `ug${u}-t${t}`,
                egress: [] as string[],
                workloadSidecars: [] as { name: string; selector: Record<string, string>; egress: string[] }[],
                gateway: undefined as undefined | { hosts: string[] },
            }));
            const shared = Array.from({ length: g.shared }, (_, s) => `ug${u}-shared${s}`);
            const system = g.ownSystemNamespace ? `istio-ug${u}` : undefined;
            const targets = [...tenants.map((t) => t.name), ...shared, system ?? `ug${u}`];
            if (tenants.length > 0) {
                for (const [from, to, whole] of g.peers) {
                    const target = targets[to % targets.length];
                    tenants[from % tenants.length].egress.push(whole ? `${target}/*` : `${target}/svc.${target}.svc.cluster.local`);
                }
                g.workloads.forEach(([owner, to], w) => {
                    const target = targets[to % targets.length];
                    tenants[owner % tenants.length].workloadSidecars.push({ name: `w${w}`, selector: { app: `w${w}` }, egress: [`${target}/*`] });
                });
                for (const owner of new Set(g.gateways.map((n) => n % tenants.length))) {
                    tenants[owner].gateway = { hosts: [`${tenants[owner].name}.example.com`] };
                }
            }
            const canary = new Set(g.revisions === 2 && tenants.length > 0 ? g.canaryFollowers.map((n) => n % tenants.length) : []);
            const revisions =
                g.revisions === 0
                    ? {}
                    : g.revisions === 1
                      ? { revisions: [{ version: "1.31.0" }] }
                      : {
                            revisions: [{ version: "1.30.3" }, { version: "1.31.0" }],
                            tags: { stable: g.stableOnNew ? `ug${u}-1-31` : `ug${u}-1-30`, canary: `ug${u}-1-31` },
                        };
            return {
                name: `ug${u}`,
                ...(system !== undefined ? { systemNamespace: system } : {}),
                tenantIsolation: g.isolation,
                sharedNamespaces: shared,
                ...revisions,
                tenants: tenants.map(({ gateway, ...t }, i) => ({ ...t, ...(gateway !== undefined ? { gateway } : {}), ...(canary.has(i) ? { tag: "canary" } : {}) })),
            };
        }),
    }));
