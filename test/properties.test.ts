import * as assert from "node:assert/strict";
import fc from "fast-check";
import { parseConfig } from "../model/config";
import { planTenancy, plannedObjects } from "../plan";
import { anySelects } from "../policy/semantics/selectors";
import { validRawConfig } from "./harness/generate";

const RUNS = 300;

describe("tenancy invariants over random valid configs", () => {
    it(`every managed namespace is discovered by exactly one control plane, by each of its revisions, and follows a revision or tag of its own usergroup; each control plane discovers its own system namespace (${RUNS} configs)`, () => {
        fc.assert(
            fc.property(validRawConfig, (raw) => {
                const plan = planTenancy(parseConfig(raw));
                const namespaces = plannedObjects(plan).filter((o) => o.kind === "Namespace");
                for (const ns of namespaces) {
                    const labels = ns.metadata.labels ?? {};
                    const discovering = plan.controlPlanes.filter((cp) => cp.revisions.some((r) => anySelects((r.istiod.values as any).meshConfig.discoverySelectors, labels)));
                    assert.equal(discovering.length, 1, `${ns.metadata.name} discovered by ${discovering.length} control planes`);
                    const cp = discovering[0];
                    for (const r of cp.revisions) assert.ok(anySelects((r.istiod.values as any).meshConfig.discoverySelectors, labels), `${r.name} discovers ${ns.metadata.name}`);
                    const rev = labels["istio.io/rev"];
                    if (rev !== undefined) {
                        const injecting = cp.tags.find((t) => t.label === rev)?.revision ?? rev;
                        assert.ok(cp.revisions.some((r) => r.name === injecting), `${ns.metadata.name}: istio.io/rev=${rev} resolves to a revision of its own usergroup`);
                    }
                }
                for (const cp of plan.controlPlanes) {
                    assert.ok(cp.discoveredNamespaces.includes(cp.systemNamespace));
                }
            }),
            { numRuns: RUNS },
        );
    });

    it(`every meshed namespace has exactly one selector-less Sidecar (${RUNS} configs)`, () => {
        fc.assert(
            fc.property(validRawConfig, (raw) => {
                const objects = plannedObjects(planTenancy(parseConfig(raw)));
                const meshed = objects.filter((o) => o.kind === "Namespace" && o.metadata.labels?.["istio.io/rev"] !== undefined);
                for (const ns of meshed) {
                    const defaults = objects.filter((o) => o.kind === "Sidecar" && o.metadata.namespace === ns.metadata.name && (o.spec as any).workloadSelector === undefined);
                    assert.equal(defaults.length, 1, ns.metadata.name);
                }
            }),
            { numRuns: RUNS },
        );
    });

    it(`no Sidecar host names a namespace outside its usergroup (${RUNS} configs)`, () => {
        fc.assert(
            fc.property(validRawConfig, (raw) => {
                const objects = plannedObjects(planTenancy(parseConfig(raw)));
                const usergroupOf = new Map(objects.filter((o) => o.kind === "Namespace").map((o) => [o.metadata.name, o.metadata.labels!.usergroup]));
                for (const sc of objects.filter((o) => o.kind === "Sidecar")) {
                    const own = usergroupOf.get(sc.metadata.namespace!);
                    for (const egress of (sc.spec as any).egress) {
                        for (const host of egress.hosts as string[]) {
                            const ns = host.slice(0, host.indexOf("/"));
                            if (ns === ".") continue;
                            assert.equal(usergroupOf.get(ns), own, `${sc.metadata.namespace}/${sc.metadata.name} imports ${host}`);
                        }
                    }
                }
            }),
            { numRuns: RUNS },
        );
    });

    it(`whoever a Sidecar imports lets it in, and nobody else (${RUNS} configs)`, () => {
        fc.assert(
            fc.property(validRawConfig, (raw) => {
                const plan = planTenancy(parseConfig(raw));
                const byName = new Map(plan.namespaces.map((n) => [n.name, n]));
                for (const source of plan.namespaces) {
                    for (const target of byName.values()) {
                        const imports = source.imports.includes(target.name);
                        const admitted = target.allowedSources.includes(source.name);
                        assert.equal(admitted, imports, `${source.name} -> ${target.name}`);
                    }
                }
            }),
            { numRuns: RUNS },
        );
    });
});
