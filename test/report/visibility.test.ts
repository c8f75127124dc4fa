import * as assert from "node:assert/strict";
import * as path from "path";
import fc from "fast-check";
import { parseConfig } from "../../model/config";
import { planTenancy, TenancyPlan } from "../../plan";
import { subjectFromResource } from "../../policy/adapters/crossguard";
import { readManifests } from "../../policy/adapters/manifests";
import type { Subject } from "../../policy/semantics/objects";
import { loadStackConfig, planSubjects } from "../../report/stack";
import { NamespaceScope, VisibilityModel, visibilityModel } from "../../report/visibility";
import { STACKS } from "../harness/configs";
import { validRawConfig } from "../harness/generate";
import { registerConfig } from "../harness/program";

const FIXTURES = path.join(__dirname, "fixtures");

function scopeOf(model: VisibilityModel, namespace: string): NamespaceScope {
    const found = model.scopes.find((s) => s.namespace === namespace);
    assert.ok(found, `no scope for ${namespace}`);
    return found;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

/** What the plan says each namespace imports, with its system namespace, which the plan leaves implicit. */
function plannedImports(plan: TenancyPlan): Map<string, string[]> {
    return new Map(plan.namespaces.map((ns) => [ns.name, sorted(new Set([...ns.imports, ns.systemNamespace]))]));
}

describe("visibility model on the program's stacks", () => {
    for (const stack of STACKS) {
        describe(`stacks/Pulumi.${stack}.yaml`, () => {
            const plan = planTenancy(loadStackConfig(stack).config);
            const model = visibilityModel(planSubjects(plan));

            it("reports every planned tenant and shared namespace, scoped by its own Sidecar", () => {
                assert.deepEqual(sorted(model.scopes.map((s) => s.namespace)), sorted(plan.namespaces.map((n) => n.name)));
                for (const s of model.scopes) {
                    assert.equal(s.scoping, "namespace-sidecar", s.namespace);
                    assert.equal(s.scopedBy, `${s.namespace}/default`);
                    assert.equal(s.revisionInstalled, true);
                    assert.deepEqual(s.notes, [], s.namespace);
                }
            });

            it("learns each revision's discovered namespaces from the istiod chart values", () => {
                for (const s of model.scopes) {
                    const cp = plan.controlPlanes.find((c) => c.revisions.some((r) => r.name === s.revision))!;
                    assert.deepEqual(sorted(s.discovered), cp.discoveredNamespaces, s.namespace);
                    assert.equal(s.systemNamespace, cp.systemNamespace);
                }
            });

            it("has zero excess over the minimum for every namespace", () => {
                for (const s of model.scopes) assert.deepEqual(s.excess, [], `${s.namespace} imports more than it needs`);
                assert.ok(model.usergroups.every((g) => g.excess === 0));
            });

            it("imports only what the revision discovers, and exactly what the plan says", () => {
                const planned = plannedImports(plan);
                for (const s of model.scopes) {
                    const discovered = new Set(s.discovered);
                    assert.ok(s.imports.every((ns) => discovered.has(ns)), s.namespace);
                    assert.deepEqual(sorted(s.imports), planned.get(s.namespace), s.namespace);
                    assert.deepEqual(s.missing, [], `${s.namespace} names namespaces it cannot import`);
                }
            });

            it("imports less than Istio's default", () => {
                const tenants = plan.namespaces.filter((n) => n.role === "tenant").length;
                assert.ok(plan.controlPlanes.length > 1 || tenants > 1, "the stack has more than one usergroup or tenant");
                for (const s of model.scopes) assert.ok(s.imports.length < model.namespaces.length, `${s.namespace} imports every namespace`);
                for (const g of model.usergroups) assert.ok(g.imports < g.defaultImports, g.usergroup);
            });
        });
    }

    it("gives the same imports over what the program registers under mocks (dev, with smoke workloads)", async () => {
        const config = loadStackConfig("dev").config;
        const mocks = await registerConfig(config);
        const subjects = mocks.registrations
            .map((r) => subjectFromResource({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, opts: { protect: r.protect } }))
            .filter((s): s is Subject => s !== undefined);
        const registered = visibilityModel(subjects);
        const planned = visibilityModel(planSubjects(planTenancy(config)));
        assert.deepEqual(
            registered.scopes.map((s) => [s.namespace, s.imports]),
            planned.scopes.map((s) => [s.namespace, s.imports]),
        );
        // The smoke echo Services carry the planned exportTo: every smoke echo Service of a namespace the default Sidecar
        // imports whole (`ns/*`, `./*`) is visible; where it names one Service of a peer (checkout:
        // payments/payments.payments.svc.cluster.local), the peer's smoke echo is not imported, as istiod would not send it.
        assert.ok(registered.hasServices);
        const hostsOf = (ns: string) => (subjects.find((x) => x.object.kind === "Sidecar" && x.object.metadata.namespace === ns && x.object.metadata.name === "default")?.object as any)?.spec?.egress?.[0]?.hosts ?? [];
        let hostLevel = 0;
        for (const s of registered.scopes) {
            assert.deepEqual(s.services!.notExported, [], s.namespace);
            const whole = (ns: string) => hostsOf(s.namespace).includes(`${ns}/*`) || (ns === s.namespace && hostsOf(s.namespace).includes("./*"));
            const expected = s.imports.filter((ns) => plannedTenant(config.usergroups, ns) && whole(ns)).map((ns) => `${ns}/smoke-echo`);
            assert.deepEqual(s.services!.visible, expected, s.namespace);
            hostLevel += s.services!.notImported.length;
        }
        assert.ok(hostLevel > 0, "the dev stack imports some peer by one Service");
    });

    it("has zero excess and imports what the plan says for any valid config", () => {
        fc.assert(
            fc.property(validRawConfig, (raw) => {
                const plan = planTenancy(parseConfig(raw));
                const model = visibilityModel(planSubjects(plan));
                const planned = plannedImports(plan);
                for (const s of model.scopes) {
                    assert.deepEqual(s.excess, []);
                    assert.deepEqual(sorted(s.imports), planned.get(s.namespace));
                }
                assert.equal(model.scopes.length, plan.namespaces.length);
            }),
            { numRuns: 60 },
        );
    });
});

function plannedTenant(usergroups: { tenants: { name: string }[] }[], ns: string): boolean {
    return usergroups.some((ug) => ug.tenants.some((t) => t.name === ns));
}

describe("visibility model on hand-made manifests", () => {
    const model = visibilityModel(readManifests([path.join(FIXTURES, "cluster")]).subjects);

    it("counts every namespace of the object set as Istio's default", () => {
        assert.deepEqual(model.namespaces, ["istio-blue", "istio-green", "kube-system", "shared-blue", "scoped", "rooted", "wildcard", "fallback", "green-app", "pitfall"]);
        assert.deepEqual(
            model.scopes.map((s) => s.namespace),
            ["shared-blue", "scoped", "rooted", "wildcard", "fallback", "green-app", "pitfall"],
            "meshed namespaces only",
        );
    });

    it("a namespace with its own Sidecar imports what it names, among what its revision discovers", () => {
        const s = scopeOf(model, "scoped");
        assert.equal(s.scoping, "namespace-sidecar");
        assert.deepEqual(s.discovered, ["istio-blue", "shared-blue", "scoped", "rooted", "wildcard", "fallback"]);
        assert.deepEqual(s.imports, ["istio-blue", "shared-blue", "scoped", "rooted"]);
        assert.deepEqual(sorted(s.minimum), ["istio-blue", "rooted", "scoped", "shared-blue"]);
        assert.deepEqual(s.excess, []);
    });

    it("a namespace without a Sidecar relies on the root Sidecar, with ./ read as its own namespace", () => {
        const s = scopeOf(model, "rooted");
        assert.equal(s.scoping, "root-sidecar");
        assert.equal(s.scopedBy, "istio-blue/default");
        assert.deepEqual(s.imports, ["istio-blue", "shared-blue", "rooted"]);
        assert.deepEqual(s.excess, []);
    });

    it("the workload-Sidecar pitfall without a root Sidecar imports everything its revision discovers", () => {
        const s = scopeOf(model, "pitfall");
        assert.equal(s.scoping, "unscoped");
        assert.equal(s.scopedBy, undefined);
        assert.deepEqual(s.imports, s.discovered);
        assert.deepEqual(s.imports, ["istio-green", "green-app", "pitfall"]);
        assert.deepEqual(s.excess, ["green-app"]);
        assert.match(s.notes.join("\n"), /every Sidecar here has a workloadSelector \(batch\)/);
        const green = model.usergroups.find((g) => g.usergroup === "green")!;
        assert.equal(green.unscoped, 1);
    });

    it("pods no workload Sidecar selects fall back to the root Sidecar where there is one", () => {
        const s = scopeOf(model, "fallback");
        assert.equal(s.scoping, "root-sidecar");
        assert.deepEqual(s.defaultImports, ["istio-blue", "shared-blue", "fallback"]);
        assert.deepEqual(s.workloadSidecars.map(({ services: _, ...w }) => w), [{ sidecar: "batch", selector: { app: "batch" }, imports: ["istio-blue", "rooted", "fallback"] }]);
        // The batch pods import rooted whole, but neither of its Services is exported to fallback.
        assert.deepEqual(s.workloadSidecars[0].services, { visible: [], namespaces: [], notExported: ["rooted/api", "rooted/admin"], notImported: [] });
        assert.deepEqual(s.imports, ["istio-blue", "shared-blue", "rooted", "fallback"], "the union of its proxies' scopes");
        assert.deepEqual(s.excess, [], "rooted is named by its own Sidecar");
    });

    it("a */… host imports every namespace the revision discovers, never another revision's", () => {
        const s = scopeOf(model, "wildcard");
        assert.deepEqual(s.imports, s.discovered);
        assert.ok(!s.imports.includes("green-app") && !s.imports.includes("kube-system"));
        assert.deepEqual(s.excess, ["scoped", "rooted", "fallback"]);
    });

    it("the exportTo annotation narrows the services an importer sees; the mesh default applies without it", () => {
        assert.ok(model.hasServices);
        assert.deepEqual(scopeOf(model, "scoped").services, {
            visible: ["shared-blue/catalog", "scoped/web", "rooted/api"],
            namespaces: ["shared-blue", "scoped", "rooted"],
            notExported: [],
            notImported: ["rooted/admin"],
        });
        // wildcard imports all three namespaces, but only hosts named catalog.shared-blue…, which is not exported to it.
        assert.deepEqual(scopeOf(model, "wildcard").services, { visible: [], namespaces: [], notExported: ["shared-blue/catalog"], notImported: ["scoped/web", "rooted/api", "rooted/admin"] });
        assert.deepEqual(scopeOf(model, "rooted").services!.visible, ["shared-blue/catalog", "rooted/api", "rooted/admin"]);
        // green sets no defaultServiceExportTo: Istio exports to every namespace.
        assert.deepEqual(scopeOf(model, "pitfall").services!.visible, ["green-app/echo"]);
    });

    it("an egress host that names one Service imports that Service of the namespace, and no other (as istiod sends it)", () => {
        // scoped's Sidecar names rooted/api.rooted.svc.cluster.local; rooted/admin is exported to scoped and still not seen.
        const s = scopeOf(model, "scoped");
        assert.ok(s.imports.includes("rooted"), "the namespace is imported");
        assert.ok(s.services!.visible.includes("rooted/api"));
        assert.ok(!s.services!.visible.includes("rooted/admin") && s.services!.notImported.includes("rooted/admin"));
    });

    it("a revision that is not installed imports nothing and says so", () => {
        const subjects: Subject[] = [
            { object: { apiVersion: "v1", kind: "Namespace", metadata: { name: "orphan", labels: { "istio.io/rev": "nope" } } }, origin: {} },
            { object: { apiVersion: "v1", kind: "Namespace", metadata: { name: "legacy", labels: { "istio-injection": "enabled", "istio.io/rev": "nope" } } }, origin: {} },
            { object: { apiVersion: "v1", kind: "Namespace", metadata: { name: "off", labels: { "istio-injection": "disabled", "istio.io/rev": "nope" } } }, origin: {} },
        ];
        const m = visibilityModel(subjects);
        assert.deepEqual(m.scopes.map((s) => [s.namespace, s.revision, s.revisionInstalled, s.imports.length]), [
            ["orphan", "nope", false, 0],
            ["legacy", "default", false, 0],
        ]);
        assert.match(m.scopes[0].notes.join(), /revision nope is not installed/);
    });

    it("without discoverySelectors a revision discovers every namespace", () => {
        const subjects: Subject[] = [
            { object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "istio", namespace: "istio-system" }, data: { mesh: "rootNamespace: istio-system\n" } }, origin: {} },
            ...["istio-system", "a", "b", "c"].map((name): Subject => {
                const labels: Record<string, string> = name === "istio-system" ? {} : { "istio-injection": "enabled" };
                return { object: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } }, origin: {} };
            }),
            { object: { apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "default", namespace: "a" }, spec: { egress: [{ hosts: ["./*", "~/*"] }] } }, origin: {} },
            { object: { apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "default", namespace: "b" }, spec: {} }, origin: {} },
        ];
        const m = visibilityModel(subjects);
        assert.deepEqual(scopeOf(m, "a").imports, ["a"], "~/* imports nothing");
        assert.deepEqual(scopeOf(m, "b").imports, ["istio-system", "a", "b", "c"], "a Sidecar without egress keeps the default */*");
        assert.equal(scopeOf(m, "c").scoping, "unscoped");
        assert.deepEqual(scopeOf(m, "c").imports, m.namespaces);
    });
});
