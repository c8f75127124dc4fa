import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { MeshTenancyConfig, parseConfig } from "../model/config";
import { planTenancy, plannedObjects } from "../plan";
import { stackOutputs } from "../plan/outputs";
import { configIssues, ROOT, UPGRADE_STEPS, upgradeStepConfig } from "./harness/configs";
import { registerConfig } from "./harness/program";
import { planSubjects } from "../report/stack";
import { evaluate, PackConfig } from "../policy/lib/engine";
import type { Subject } from "../policy/semantics/objects";
import { RULES } from "../policy/rules";
import { visibilityModel } from "../report/visibility";

/** A raw config with one usergroup that lists its revisions; `mutate` edits it. */
function revisioned(mutate?: (raw: any) => void): any {
    const raw: any = {
        istio: { version: "1.31.0" },
        platformOperators: { users: ["admin"] },
        usergroups: [
            {
                name: "team-a",
                systemNamespace: "istio-team-a",
                revisions: [{ version: "1.30.4" }, { version: "1.31.0" }],
                tags: { stable: "team-a-1-30", canary: "team-a-1-31" },
                sharedNamespaces: ["common-a"],
                tenants: [{ name: "shop", tag: "canary", gateway: { hosts: ["shop.example.com"] } }, { name: "payments" }],
            },
            { name: "team-b", tenants: [{ name: "analytics" }] },
        ],
    };
    mutate?.(raw);
    return raw;
}

const issuesOf = configIssues;

describe("revisions and tags", () => {
    describe("validation", () => {
        const cases: { name: string; mutate: (raw: any) => void; path: string; message: RegExp }[] = [
            {
                name: "a tag pointing at a revision the usergroup does not run",
                mutate: (r) => (r.usergroups[0].tags.canary = "team-a-1-32"),
                path: "usergroups[0].tags.canary",
                message: /points at revision "team-a-1-32", which usergroup "team-a" does not run \(revisions: team-a-1-30, team-a-1-31\)/,
            },
            {
                name: "removing a revision a tag still points at",
                mutate: (r) => r.usergroups[0].revisions.splice(0, 1),
                path: "usergroups[0].tags.stable",
                message: /points at revision "team-a-1-30", which usergroup "team-a" does not run .*moved before its revision is removed/,
            },
            {
                name: "a tenant following a tag that does not exist",
                mutate: (r) => (r.usergroups[0].tenants[1].tag = "beta"),
                path: "usergroups[0].tenants[1].tag",
                message: /follows tag "beta", which usergroup "team-a" does not define \(tags: stable, canary\)/,
            },
            {
                name: "more than two revisions",
                mutate: (r) => r.usergroups[0].revisions.push({ version: "1.29.2" }),
                path: "usergroups[0].revisions",
                message: /lists 3 revisions; at most two run at once/,
            },
            {
                name: "a skew a canary upgrade does not support",
                mutate: (r) => (r.usergroups[0].revisions[0].version = "1.28.3"),
                path: "usergroups[0].revisions[1].version",
                message: /are 3 minor versions apart; a canary upgrade may jump at most 2/,
            },
            {
                name: "a revision newer than the base chart",
                mutate: (r) => (r.istio.version = "1.30.4"),
                path: "usergroups[0].revisions[1].version",
                message: /newer than istio.version "1.30.4": the base chart's CRDs, shared by every revision, must be upgraded first/,
            },
            {
                name: "two patch releases of one minor without names",
                mutate: (r) => (r.usergroups[0].revisions = [{ version: "1.31.0" }, { version: "1.31.2" }]) && (r.istio.version = "1.31.2"),
                path: "usergroups[0].revisions[1].version",
                message: /revision "team-a-1-31" is already defined at usergroups\[0\].revisions\[0\]; a patch release of the same minor upgrades that revision in place/,
            },
            {
                name: "no stable tag",
                mutate: (r) => (r.usergroups[0].tags = { canary: "team-a-1-31" }, r.usergroups[0].tenants.splice(1, 1)),
                path: "usergroups[0].tags",
                message: /must define "stable"/,
            },
            {
                name: "two revisions without tags",
                mutate: (r) => (delete r.usergroups[0].tags, delete r.usergroups[0].tenants[0].tag),
                path: "usergroups[0].tags",
                message: /is required when two revisions run/,
            },
            {
                name: "a tenant following a tag in a usergroup without revisions",
                mutate: (r) => (r.usergroups[1].tenants[0].tag = "stable"),
                path: "usergroups[1].tenants[0].tag",
                message: /usergroup "team-b" lists no `revisions` and so has no tags/,
            },
            {
                name: "a revision named like another usergroup's revision",
                mutate: (r) => (r.usergroups[0].revisions[0].name = "team-b", r.usergroups[0].tags.stable = "team-b"),
                path: "usergroups[1].name",
                message: /revision "team-b" is already used at usergroups\[0\].revisions\[0\].name; istio.io\/rev values are cluster-wide/,
            },
            {
                name: "a tag name that is not a DNS label",
                mutate: (r) => (r.usergroups[0].tags.Canary_2 = "team-a-1-31"),
                path: "usergroups[0].tags.Canary_2",
                message: /tag "Canary_2" is not a DNS-1123 label/,
            },
        ];
        for (const c of cases) {
            it(`refuses ${c.name}, naming ${c.path}`, () => {
                const issues = issuesOf(revisioned(c.mutate));
                const hit = issues.find((i) => i.path === c.path);
                assert.ok(hit !== undefined, `no issue at ${c.path}; got ${JSON.stringify(issues)}`);
                assert.match(hit.message, c.message);
            });
        }

        it("accepts the baseline, and a canary two minors ahead", () => {
            assert.deepEqual(issuesOf(revisioned()), []);
            assert.deepEqual(issuesOf(revisioned((r) => (r.usergroups[0].revisions[0].version = "1.29.1", r.usergroups[0].tags.stable = "team-a-1-29"))), []);
        });

        it("names revisions from usergroup and minor version, whatever their order", () => {
            const a = parseConfig(revisioned()).usergroups[0].revisions;
            const b = parseConfig(revisioned((r) => r.usergroups[0].revisions.reverse())).usergroups[0].revisions;
            assert.deepEqual(a.map((r) => r.name), ["team-a-1-30", "team-a-1-31"]);
            assert.deepEqual(b.map((r) => r.name).sort(), ["team-a-1-30", "team-a-1-31"]);
        });

        it("gives a usergroup without revisions one revision named after it, at istio.version, and no tags", () => {
            const ug = parseConfig(revisioned()).usergroups[1];
            assert.deepEqual(ug.revisions, [{ name: "team-b", version: "1.31.0" }]);
            assert.deepEqual(ug.tags, {});
        });
    });

    describe("plan", () => {
        const plan = planTenancy(parseConfig(revisioned()));
        const cp = plan.controlPlanes[0];

        it("runs both revisions in the usergroup's system namespace with one mesh config and the same discovery", () => {
            assert.deepEqual(cp.revisions.map((r) => [r.name, r.version, r.istiod.resourceName, r.istiod.releaseName, r.istiod.namespace, r.istiod.version]), [
                ["team-a-1-30", "1.30.4", "team-a-1-30-istiod", "istiod-team-a-1-30", "istio-team-a", "1.30.4"],
                ["team-a-1-31", "1.31.0", "team-a-1-31-istiod", "istiod-team-a-1-31", "istio-team-a", "1.31.0"],
            ]);
            const [a, b] = cp.revisions.map((r) => r.istiod.values as any);
            assert.equal(a.global.istioNamespace, "istio-team-a");
            assert.equal(b.global.istioNamespace, "istio-team-a");
            assert.deepEqual(a.meshConfig, b.meshConfig);
            assert.deepEqual(a.meshConfig.discoverySelectors, [{ matchLabels: { usergroup: "team-a" } }]);
            assert.deepEqual([a.revision, b.revision], ["team-a-1-30", "team-a-1-31"]);
        });

        it("writes one injector per tag, named and labelled as the istiod chart's revisionTags renders it", () => {
            assert.deepEqual(cp.tags.map((t) => [t.name, t.label, t.revision, t.webhook.resourceName]), [
                ["canary", "team-a-canary", "team-a-1-31", "team-a-tag-canary"],
                ["stable", "team-a-stable", "team-a-1-30", "team-a-tag-stable"],
            ]);
            const stable = cp.tags[1].webhook.object as any;
            assert.equal(stable.kind, "MutatingWebhookConfiguration");
            assert.equal(stable.metadata.name, "istio-revision-tag-team-a-stable-istio-team-a");
            assert.equal(stable.metadata.labels["istio.io/tag"], "team-a-stable");
            assert.equal(stable.metadata.labels["istio.io/rev"], "team-a-1-30");
            assert.deepEqual(stable.webhooks.map((w: any) => [w.name, w.clientConfig.service.name, w.clientConfig.service.namespace, w.failurePolicy]), [
                ["rev.namespace.sidecar-injector.istio.io", "istiod-team-a-1-30", "istio-team-a", "Fail"],
                ["rev.object.sidecar-injector.istio.io", "istiod-team-a-1-30", "istio-team-a", "Fail"],
            ]);
            assert.deepEqual(stable.webhooks[0].namespaceSelector.matchExpressions[0], { key: "istio.io/rev", operator: "In", values: ["team-a-stable"] });
            assert.deepEqual(stable.webhooks[1].objectSelector.matchExpressions[1], { key: "istio.io/rev", operator: "In", values: ["team-a-stable"] });
            assert.ok(plannedObjects(plan).includes(stable), "tag injectors are among the planned objects the pack and report see");
        });

        it("labels each namespace with its tag, and its gateway follows the tag at the injecting revision's version", () => {
            const ns = new Map(plan.namespaces.map((n) => [n.name, n]));
            assert.equal(ns.get("shop")!.namespace.object.metadata.labels!["istio.io/rev"], "team-a-canary");
            assert.equal(ns.get("payments")!.namespace.object.metadata.labels!["istio.io/rev"], "team-a-stable");
            assert.equal(ns.get("common-a")!.namespace.object.metadata.labels!["istio.io/rev"], "team-a-stable");
            assert.equal(ns.get("analytics")!.namespace.object.metadata.labels!["istio.io/rev"], "team-b");
            const gw = ns.get("shop")!.gateway!.release!;
            assert.equal((gw.values as any).revision, "team-a-canary");
            assert.equal(gw.version, "1.31.0");
            assert.deepEqual([ns.get("shop")!.revision, ns.get("payments")!.revision], ["team-a-1-31", "team-a-1-30"]);
        });

        it("reports revisions, tags and which namespaces each revision injects", () => {
            const out = stackOutputs(plan).usergroups["team-a"];
            assert.equal(out.revision, "team-a-1-30");
            assert.deepEqual(out.tags, { canary: "team-a-1-31", stable: "team-a-1-30" });
            assert.deepEqual(out.revisions, {
                "team-a-1-30": { version: "1.30.4", tags: ["stable"], namespaces: ["common-a", "payments"] },
                "team-a-1-31": { version: "1.31.0", tags: ["canary"], namespaces: ["shop"] },
            });
            assert.equal(stackOutputs(plan).namespaces.shop.tag, "canary");
        });

        it("points the base chart's default revision at the revision `stable` points at", () => {
            const p = planTenancy(parseConfig(revisioned((r) => (r.istio.defaultRevision = "team-a"))));
            assert.equal((p.base.values as any).defaultRevision, "team-a-1-30");
        });

        it("lets a local cluster without istiod admit pods (tag injectors Ignore failures there)", () => {
            const p = planTenancy(parseConfig(revisioned((r) => (r.localCluster = true))));
            assert.ok(p.controlPlanes[0].tags.every((t) => (t.webhook.object as any).webhooks.every((w: any) => w.failurePolicy === "Ignore")));
        });
    });

    async function byName(config: MeshTenancyConfig): Promise<Map<string, Record<string, any>>> {
        const mocks = await registerConfig(config);
        return new Map(mocks.registrations.map((r) => [r.urn.slice(r.urn.lastIndexOf("::") + 2), r.inputs]));
    }

    /** What a preview from one config to the next would show: resources added, changed (inputs differ) and removed. */
    function diff(before: Map<string, Record<string, any>>, after: Map<string, Record<string, any>>) {
        const changed = [...after.keys()].filter((k) => before.has(k) && JSON.stringify(before.get(k)) !== JSON.stringify(after.get(k)));
        return {
            added: [...after.keys()].filter((k) => !before.has(k)).sort(),
            changed: changed.sort(),
            removed: [...before.keys()].filter((k) => !after.has(k)).sort(),
        };
    }

    it("a usergroup adopting revisions under its own name keeps its istiod; its namespaces move to the stable tag", async () => {
        const before = await byName(parseConfig(revisioned()));
        const after = await byName(parseConfig(revisioned((r) => (r.usergroups[1].revisions = [{ name: "team-b", version: "1.31.0" }]))));
        assert.deepEqual(diff(before, after), { added: ["team-b-tag-stable"], changed: ["analytics-ns"], removed: [] });
        assert.equal(after.get("analytics-ns")!.metadata.labels["istio.io/rev"], "team-b-stable");
    });

    describe("the four-step upgrade", () => {
        const registered = new Map<string, Promise<Map<string, Record<string, any>>>>();
        /** Registered resources of a step's stack, by resource name. */
        function resources(step: string): Promise<Map<string, Record<string, any>>> {
            if (!registered.has(step)) registered.set(step, byName(upgradeStepConfig(step)));
            return registered.get(step)!;
        }

        const expected: Record<string, { added: string[]; changed: string[]; removed: string[] }> = {
            // The workload guardrails leave each running revision's istiod its Gateway API deployments, so they name its
            // ServiceAccount while the revision runs.
            "1-add-canary-revision": { added: ["team-a-1-31-istiod"], changed: ["guardrail-workloads", "istio-base"], removed: [] },
            // The guardrail parameters (namespace annotations) name the revision a namespace follows and the tags pointing at
            // it, so they follow the tags too (updated in place).
            "2-canary-one-tenant": { added: ["team-a-tag-canary"], changed: ["shop-ingressgateway", "shop-ns"], removed: [] },
            "3-move-stable": { added: [], changed: ["common-a-ns", "ledger-ns", "payments-ns", "shop-ns", "team-a-tag-stable"], removed: [] },
            "4-remove-old-revision": { added: [], changed: ["guardrail-workloads"], removed: ["team-a-1-30-istiod"] },
        };

        for (let i = 1; i < UPGRADE_STEPS.length; i++) {
            const from = UPGRADE_STEPS[i - 1];
            const to = UPGRADE_STEPS[i];
            it(`${to}: changes exactly what the step intends`, async () => {
                const [before, after] = [await resources(from), await resources(to)];
                assert.deepEqual(diff(before, after), expected[to]);
            });
        }

        it("step 2 relabels shop and moves its gateway; step 3 repoints the stable injector at 1.31", async () => {
            const s1 = await resources("1-add-canary-revision");
            const s2 = await resources("2-canary-one-tenant");
            const s3 = await resources("3-move-stable");
            assert.equal(s1.get("shop-ns")!.metadata.labels["istio.io/rev"], "team-a-stable");
            assert.equal(s2.get("shop-ns")!.metadata.labels["istio.io/rev"], "team-a-canary");
            assert.deepEqual([s1.get("shop-ingressgateway")!.version, s2.get("shop-ingressgateway")!.version], ["1.30.4", "1.31.0"]);
            const service = (m: Map<string, Record<string, any>>) => m.get("team-a-tag-stable")!.webhooks.map((w: any) => w.clientConfig.service.name);
            assert.deepEqual(service(s2), ["istiod-team-a-1-30", "istiod-team-a-1-30"]);
            assert.deepEqual(service(s3), ["istiod-team-a-1-31", "istiod-team-a-1-31"]);
        });

        it("every step is a valid config whose outputs say which revision injects which namespace", () => {
            const injectedBy = UPGRADE_STEPS.map((s) => stackOutputs(planTenancy(upgradeStepConfig(s))).usergroups["team-a"].revisions);
            assert.deepEqual(Object.fromEntries(Object.entries(injectedBy[2]).map(([r, v]) => [r, v.namespaces])), {
                "team-a-1-30": ["common-a", "ledger", "payments"],
                "team-a-1-31": ["shop"],
            });
            assert.deepEqual(Object.fromEntries(Object.entries(injectedBy[3]).map(([r, v]) => [r, v.namespaces])), {
                "team-a-1-30": [],
                "team-a-1-31": ["common-a", "ledger", "payments", "shop"],
            });
        });
    });

    describe("the policy pack through the upgrade", () => {
        const dev: PackConfig = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "config", "dev.json"), "utf8"));
        const findings = (step: string, extra: Subject[] = []) =>
            evaluate(RULES, [...planSubjects(planTenancy(upgradeStepConfig(step))), ...extra], dev).map((v) => `${v.code} ${v.subject.object.kind} ${v.subject.object.metadata.name}`);
        /** A Deployment of payments whose pod template names the old revision instead of following a tag. */
        const pinned: Subject = {
            object: {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: "legacy-batch", namespace: "payments" },
                spec: { template: { metadata: { labels: { app: "legacy-batch", "istio.io/rev": "team-a-1-30" } } } },
            },
            origin: {},
        };

        for (const step of UPGRADE_STEPS) {
            it(`${step}: the planned objects and releases pass every rule`, () => assert.deepEqual(findings(step), []));
        }

        it("a workload pinning the old revision is reported once no tag points at it, and refused once it is removed", () => {
            assert.deepEqual(findings("2-canary-one-tenant", [pinned]).filter((f) => f.startsWith("MT20")), []);
            assert.deepEqual(findings("3-move-stable", [pinned]).filter((f) => !f.startsWith("MT01")), ["MT2002 Deployment legacy-batch"]);
            assert.ok(findings("4-remove-old-revision", [pinned]).includes("MT0202 Deployment legacy-batch"));
        });
    });

    it("the scope report follows tags: each step resolves every namespace to the revision injecting it, with the same imports", () => {
        const scopes = UPGRADE_STEPS.map((step) => new Map(visibilityModel(planSubjects(planTenancy(upgradeStepConfig(step)))).scopes.map((sc) => [sc.namespace, sc])));
        const expectedRevision = [
            { shop: "team-a-1-30", payments: "team-a-1-30" },
            { shop: "team-a-1-30", payments: "team-a-1-30" },
            { shop: "team-a-1-31", payments: "team-a-1-30" },
            { shop: "team-a-1-31", payments: "team-a-1-31" },
            { shop: "team-a-1-31", payments: "team-a-1-31" },
        ];
        scopes.forEach((byNamespace, i) => {
            assert.deepEqual({ shop: byNamespace.get("shop")!.revision, payments: byNamespace.get("payments")!.revision }, expectedRevision[i], UPGRADE_STEPS[i]);
            for (const [ns, sc] of byNamespace) {
                assert.equal(sc.revisionInstalled, true, `${UPGRADE_STEPS[i]} ${ns}`);
                assert.deepEqual([...sc.imports].sort(), [...scopes[0].get(ns)!.imports].sort(), `${UPGRADE_STEPS[i]} ${ns} imports what it imported before the upgrade`);
            }
        });
    });
});
