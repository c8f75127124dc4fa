import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { crossGuardPolicies, subjectFromResource } from "../../policy/adapters/crossguard";
import { readManifests } from "../../policy/adapters/manifests";
import { Inventory } from "../../policy/semantics/inventory";
import { describeObject, KubeObject, Subject } from "../../policy/semantics/objects";
import { RULES } from "../../policy/rules";
import {
    CHECKER_DIR,
    crossGuardFindings,
    findingKey,
    fixtureObjects,
    FIXTURES,
    HELM_TEMPLATE_DIR,
    manifestFindings,
    policySdk,
    pulumiType,
    PulumiResource,
    resourceName,
    ruleFixtures,
    ruleIds,
    runPack,
    subjectKeys,
    toResources,
    unknown,
    urnOf,
} from "./harness";

const PRODUCTION = { "namespaces-protected-in-production": { production: true } };


const fixtures = ruleFixtures();

function targetOf(o: KubeObject): string {
    return describeObject(o);
}

function idsOf(expected: ReadonlyArray<string>): string[] {
    return [...new Set(expected.map((e) => e.split(" ")[0]))].sort();
}

describe("policy fixtures", () => {
    it("every rule has at least one clean and one violating fixture", () => {
        for (const rule of RULES) {
            const own = fixtures.filter((f) => f.rule === rule.name);
            assert.ok(own.some((f) => f.clean), `${rule.name}: no clean fixture`);
            assert.ok(own.some((f) => !f.clean), `${rule.name}: no violating fixture`);
        }
    });

    it("every fixture directory is a rule name or a known fixture set", () => {
        const allowed = new Set([...RULES.map((r) => r.name), path.basename(HELM_TEMPLATE_DIR), path.basename(CHECKER_DIR)]);
        for (const dir of fs.readdirSync(FIXTURES)) assert.ok(allowed.has(dir), `unexpected fixture directory ${dir}`);
    });

    it("expectations are well-formed: clean fixtures expect nothing, violating ones expect their own rule", () => {
        for (const f of fixtures) {
            if (f.clean) {
                assert.deepEqual(f.expected, [], `${f.rel}: a clean fixture expects no finding`);
                assert.deepEqual(f.crossGuardProduction, [], `${f.rel}: a clean fixture expects no finding`);
            } else {
                const rule = RULES.find((r) => r.name === f.rule)!;
                const own = new Set([rule.id, ...Object.keys(rule.codes ?? {})]);
                const expectsOwn = [...f.expected, ...f.crossGuardProduction].some((e) => own.has(e.split(" ")[0]));
                assert.ok(expectsOwn, `${f.rel}: a violating fixture must expect a finding of ${own}`);
            }
            for (const e of [...f.expected, ...f.crossGuardProduction]) assert.match(e, /^MT\d{3,4} \S+ \S+$/, `${f.rel}: bad expectation "${e}"`);
        }
    });
});

describe("policy rules over fixtures, through both adapters", () => {
    for (const f of fixtures) {
        describe(f.rel, () => {
            const what = f.expected.length === 0 ? "no finding of any rule" : f.expected.join("; ");
            const assertSubjects = () => assert.deepEqual(subjectKeys(manifestFindings([f.file])), f.expected);
            const assertIds = () => assert.deepEqual(ruleIds(manifestFindings([f.file])), idsOf(f.expected));
            it(`manifest adapter: exactly ${what}`, assertSubjects);
            it(`manifest adapter: rule ids ${JSON.stringify(idsOf(f.expected))}`, assertIds);

            it("CrossGuard adapter: the same rule ids, subjects and messages", async () => {
                const viaManifests = manifestFindings([f.file]);
                const viaCrossGuard = await crossGuardFindings([f.file]);
                assert.deepEqual(ruleIds(viaCrossGuard), ruleIds(viaManifests));
                assert.deepEqual(subjectKeys(viaCrossGuard), subjectKeys(viaManifests));
                assert.deepEqual(viaCrossGuard.map(findingKey).sort(), viaManifests.map(findingKey).sort());
            });

            it("CrossGuard adapter: each violation carries the URN of the resource it names", async () => {
                const objects = fixtureObjects(f.file);
                for (const finding of await crossGuardFindings([f.file])) {
                    const object = objects.find((o) => o.kind === finding.kind && targetOf(o) === finding.target);
                    assert.ok(object, `no object ${finding.kind} ${finding.target}`);
                    assert.equal(finding.urn, urnOf(pulumiType(object), resourceName(object)));
                }
            });
        });
    }
});

describe("MT013 namespaces-protected-in-production (needs Pulumi's protect flag)", () => {
    const dir = path.join(FIXTURES, "namespaces-protected-in-production");
    const violating = path.join(dir, "violating.yaml");
    const clean = path.join(dir, "clean.yaml");
    const expected = ruleFixtures().find((f) => f.rel === "namespaces-protected-in-production/violating.yaml")!.crossGuardProduction;

    it("CrossGuard, production, protect false: every tenant and shared Namespace, not the system one", async () => {
        assert.ok(expected.length > 0);
        const findings = await crossGuardFindings([violating], PRODUCTION);
        assert.deepEqual(subjectKeys(findings), expected);
        assert.ok(findings.every((f) => f.level === "mandatory"));
    });

    it("CrossGuard, production, Namespaces protected: nothing", async () => {
        const findings = await crossGuardFindings([clean], PRODUCTION, { protect: (o) => o.kind === "Namespace" });
        assert.deepEqual(findings.map(findingKey), []);
    });

    it("CrossGuard, production, only the shared namespace unprotected: only it", async () => {
        const findings = await crossGuardFindings([clean], PRODUCTION, { protect: (o) => o.kind === "Namespace" && o.metadata.name !== "common" });
        assert.deepEqual(subjectKeys(findings), ["MT013 Namespace common"]);
    });

    it("CrossGuard without production: nothing, however unprotected", async () => {
        assert.deepEqual(await crossGuardFindings([violating]), []);
        assert.deepEqual(await crossGuardFindings([violating], { "namespaces-protected-in-production": { production: false } }), []);
    });

    it("the manifest adapter never reports it: manifests carry no protect flag", () => {
        const { subjects } = readManifests([violating]);
        assert.ok(subjects.every((s) => s.origin.protect === undefined));
        assert.deepEqual(manifestFindings([violating], PRODUCTION), []);
        const prod = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "policy", "config", "prod.json"), "utf8"));
        assert.deepEqual(manifestFindings([violating], prod), []);
    });
});

describe("helm template output of the istiod chart 1.24.3", () => {
    const objects = fixtureObjects(HELM_TEMPLATE_DIR);

    function inventories(): [string, Inventory][] {
        const viaManifests = new Inventory(readManifests([HELM_TEMPLATE_DIR]).subjects);
        const viaCrossGuard = new Inventory(
            toResources(objects)
                .map(subjectFromResource)
                .filter((s): s is Subject => s !== undefined),
        );
        return [
            ["manifests", viaManifests],
            ["CrossGuard", viaCrossGuard],
        ];
    }

    it("is a complete, valid tenancy for both adapters", async () => {
        assert.deepEqual(manifestFindings([HELM_TEMPLATE_DIR]).map(findingKey), []);
        assert.deepEqual((await runPack(toResources(objects))).map(findingKey), []);
    });

    for (const [adapter, inventory] of inventories()) {
        it(`${adapter}: the inventory learns revision, namespaces, mesh config, env and version from the rendered objects`, () => {
            assert.deepEqual([...inventory.revisions.keys()], ["blue"]);
            const rev = inventory.revisions.get("blue")!;
            assert.equal(rev.namespace, "istio-blue");
            assert.equal(rev.rootNamespace, "istio-blue");
            assert.equal(rev.version, "1.24.3");
            assert.deepEqual(
                rev.subjects.map((s) => `${s.object.kind} ${describeObject(s.object)}`),
                ["ConfigMap istio-blue/istio-blue", "Deployment istio-blue/istiod-blue"],
                "the mesh ConfigMap and the istiod Deployment, not the injector ConfigMap",
            );
            assert.deepEqual(inventory.discoverySelectors(rev), [{ matchLabels: { usergroup: "blue" } }]);
            for (const key of ["defaultServiceExportTo", "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo"]) assert.deepEqual(rev.mesh?.[key], ["."]);
            assert.equal(rev.env?.REVISION, "blue");
            assert.equal(rev.env?.PILOT_SCOPE_GATEWAY_TO_NAMESPACE, "true");
            assert.equal(rev.env?.ENABLE_ENHANCED_RESOURCE_SCOPING, "true");
            assert.equal(rev.env?.PILOT_CERT_PROVIDER, "istiod");
            assert.equal(rev.env?.POD_NAME, undefined, "valueFrom entries have no value");
            assert.deepEqual(
                inventory.defaultRevisions.map((d) => [d.revision, d.namespace]),
                [["blue", "istio-blue"]],
            );
            assert.equal(inventory.revisionRootedIn("istio-blue"), rev);
            assert.equal(inventory.roleOf("istio-blue"), "system");
            assert.deepEqual([...inventory.gatewayWorkloads.keys()], [], "istiod is no gateway");
        });
    }

    it("the rules use what was learned: 1.21 image without the flag, and a mesh without discoverySelectors, are refused", async () => {
        const edited = structuredClone(objects);
        const dep = edited.find((o) => o.kind === "Deployment" && o.metadata.name === "istiod-blue") as any;
        const discovery = dep.spec.template.spec.containers[0];
        discovery.image = "docker.io/istio/pilot:1.21.6";
        discovery.env = discovery.env.filter((e: any) => e.name !== "ENABLE_ENHANCED_RESOURCE_SCOPING");
        const cm = edited.find((o) => o.kind === "ConfigMap" && o.metadata.name === "istio-blue")!;
        cm.data!.mesh = cm.data!.mesh.replace(/discoverySelectors:\n(?:[- ] .*\n)+/, "");
        assert.ok(!cm.data!.mesh.includes("discoverySelectors"));
        const findings = await runPack(toResources(edited));
        assert.deepEqual(
            findings.map((f) => `${f.id} ${f.kind} ${f.target}: ${f.message.split(",")[0].split(":")[0]}`).sort(),
            [
                "MT0401 ConfigMap istio-blue/istio-blue: revision blue has no meshConfig.discoverySelectors",
                "MT0403 ConfigMap istio-blue/istio-blue: revision blue (Istio 1.21.6) needs ENABLE_ENHANCED_RESOURCE_SCOPING=true",
            ].sort(),
        );
    });
});

describe("unknown preview values", () => {
    const file = path.join(FIXTURES, "sidecar-hosts-within-usergroup", "clean.yaml");
    const wildcard = path.join(FIXTURES, "sidecar-hosts-within-usergroup", "violating-wildcard-namespace.yaml");
    const is = (o: KubeObject, kind: string, ns: string | undefined, name: string) => o.kind === kind && o.metadata.namespace === ns && o.metadata.name === name;

    /** Runs the pack twice: with the edit planting a sentinel, and with the same value deleted instead. */
    async function plantedVersusAbsent(files: string[], plant: (o: KubeObject, props: Record<string, any>) => void, drop: (o: KubeObject, props: Record<string, any>) => void) {
        const objects = fixtureObjects(...files);
        const planted = toResources(objects, { editProps: plant });
        const absent = toResources(objects, { editProps: drop });
        return { planted, withUnknown: await runPack(planted), withAbsent: await runPack(absent) };
    }

    it("the harness arms the proxy: reading a planted sentinel throws UnknownValueError", () => {
        const [res] = toResources([fixtureObjects(file).find((o) => is(o, "Sidecar", "app-a", "default"))!], {
            editProps: (_o, p) => (p.spec.egress[0].hosts[1] = unknown.unknownStringValue),
        });
        assert.throws(() => res.props.spec.egress[0].hosts[1], policySdk.UnknownValueError);
        assert.equal(res.props.spec.egress[0].hosts[0], "./*");
    });

    it("an unknown Sidecar host is treated as absent, without crashing", async () => {
        const { withUnknown, withAbsent } = await plantedVersusAbsent(
            [file],
            (o, p) => is(o, "Sidecar", "app-a", "default") && (p.spec.egress[0].hosts[2] = unknown.unknownStringValue),
            (o, p) => is(o, "Sidecar", "app-a", "default") && p.spec.egress[0].hosts.splice(2, 1),
        );
        assert.deepEqual(withUnknown.map(findingKey), withAbsent.map(findingKey));
        assert.deepEqual(withUnknown, []);
    });

    it('an unknown host in place of "*/*" hides the violation rather than crashing', async () => {
        const { withUnknown } = await plantedVersusAbsent(
            [wildcard],
            (o, p) => {
                if (is(o, "Sidecar", "app-a", "default")) p.spec.egress[0].hosts = p.spec.egress[0].hosts.map((h: string) => (h === "*/*" ? unknown.unknownStringValue : h));
            },
            () => undefined,
        );
        assert.deepEqual(withUnknown, []);
        assert.deepEqual(ruleIds(manifestFindings([wildcard])), ["MT0701"], "the known value is refused");
    });

    it("an unknown hosts array is treated as absent", async () => {
        const { withUnknown, withAbsent } = await plantedVersusAbsent(
            [file],
            (o, p) => is(o, "Sidecar", "app-a", "reporter") && (p.spec.egress[0].hosts = unknown.unknownArrayValue),
            (o, p) => is(o, "Sidecar", "app-a", "reporter") && delete p.spec.egress[0].hosts,
        );
        assert.deepEqual(withUnknown.map(findingKey), withAbsent.map(findingKey));
    });

    for (const label of ["istio.io/rev", "usergroup", "mesh-tenancy.io/role"]) {
        it(`an unknown namespace label ${label} is treated as absent`, async () => {
            const { withUnknown, withAbsent } = await plantedVersusAbsent(
                [file],
                (o, p) => is(o, "Namespace", undefined, "app-a") && (p.metadata.labels[label] = unknown.unknownStringValue),
                (o, p) => is(o, "Namespace", undefined, "app-a") && delete p.metadata.labels[label],
            );
            assert.deepEqual(withUnknown.map(findingKey), withAbsent.map(findingKey));
        });
    }

    it("unknown labels object, chart version and mesh config are treated as absent", async () => {
        const { withUnknown, withAbsent, planted } = await plantedVersusAbsent(
            [file],
            (o, p) => {
                if (is(o, "Namespace", undefined, "app-b")) p.metadata.labels = unknown.unknownObjectValue;
                if (is(o, "HelmRelease", "istio-green", "istiod-green")) p.version = unknown.unknownStringValue;
                if (is(o, "HelmRelease", "istio-blue", "istiod-blue")) p.values.meshConfig.discoverySelectors = unknown.unknownArrayValue;
            },
            (o, p) => {
                if (is(o, "Namespace", undefined, "app-b")) delete p.metadata.labels;
                if (is(o, "HelmRelease", "istio-green", "istiod-green")) delete p.version;
                if (is(o, "HelmRelease", "istio-blue", "istiod-blue")) delete p.values.meshConfig.discoverySelectors;
            },
        );
        assert.deepEqual(withUnknown.map(findingKey), withAbsent.map(findingKey));
        assert.ok(withUnknown.length > 0, "the absent values do matter to the rules");
        const converted = JSON.stringify(planted.map(subjectFromResource));
        for (const sentinel of [unknown.unknownStringValue, unknown.unknownArrayValue, unknown.unknownObjectValue]) assert.ok(!converted.includes(sentinel), "no sentinel reaches a rule");
    });

    it("every policy's validateStack survives sentinels in every string of every resource", async () => {
        const objects = fixtureObjects(file);
        const poison = (value: any): any => {
            if (typeof value === "string") return unknown.unknownStringValue;
            if (Array.isArray(value)) return value.map(poison);
            if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, poison(v)]));
            return value;
        };
        const resources: PulumiResource[] = toResources(objects, {
            editProps: (_o, p) => {
                for (const key of Object.keys(p)) if (key !== "apiVersion" && key !== "kind" && key !== "metadata") p[key] = poison(p[key]);
                if (p.metadata) p.metadata = { ...poison(p.metadata), name: p.metadata.name, ...(p.metadata.namespace ? { namespace: p.metadata.namespace } : {}) };
            },
        });
        await runPack(resources);
    });
});

describe("CrossGuard adapter conversion", () => {
    it("type tokens and props follow the Pulumi Kubernetes provider", () => {
        const objects = fixtureObjects(path.join(FIXTURES, "gateway-selects-own-workload", "clean.yaml"));
        const types = new Set(toResources(objects).map((r) => r.type));
        for (const t of ["kubernetes:core/v1:Namespace", "kubernetes:core/v1:Service", "kubernetes:apps/v1:Deployment", "kubernetes:networking.istio.io/v1:Gateway", "kubernetes:security.istio.io/v1:AuthorizationPolicy", "kubernetes:networking.k8s.io/v1:NetworkPolicy", "kubernetes:helm.sh/v4:Chart"]) {
            assert.ok(types.has(t), `missing ${t}`);
        }
        const chart = toResources(objects).find((r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.name === "istio-blue-istiod-blue")!;
        const subject = subjectFromResource(chart)!;
        assert.equal(subject.object.kind, "HelmRelease");
        assert.deepEqual(subject.object.metadata, { name: "istiod-blue", namespace: "istio-blue" });
        assert.equal((subject.object.spec as any).chart, "istiod");
        // The fixture's istiod is the one the plan writes for the shared baseline's config (test/fixtures/plans/shop.yaml).
        assert.equal((subject.object.spec as any).version, YAML.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "plans", "shop.yaml"), "utf8")).istio.version);
    });

    // BUG (policy/adapters/crossguard.ts subjectFromResource): the guard `m[1] === "yaml" || m[1] === "kustomize"`
    // compares the whole `<group>/<version>` part of the type token, which is "yaml/v2" or "kustomize/v2" for the v2
    // components, so it never matches: kubernetes:yaml/v2:ConfigGroup and kubernetes:kustomize/v2:Directory become
    // pseudo-objects (apiVersion "yaml/v2", kind "ConfigGroup"). Harmless to today's rules, but not what the code says.
    it("component resources (yaml/v2 ConfigGroup, kustomize/v2 Directory) are not Kubernetes objects", () => {
        const opts = { protect: false };
        assert.equal(subjectFromResource({ type: "kubernetes:yaml/v2:ConfigGroup", name: "extras", urn: "urn:x", props: { yaml: "" }, opts }), undefined);
        assert.equal(subjectFromResource({ type: "kubernetes:kustomize/v2:Directory", name: "k", urn: "urn:y", props: { directory: "." }, opts }), undefined);
    });

    it("one stack policy per rule, named after it, its id in the description, MT013 declaring `production`, MT015 `caTopology`, MT021 `monitoringNamespaces`, MT022 the platform operators, every rule `suppress`", () => {
        const policies = crossGuardPolicies(RULES);
        assert.deepEqual(
            policies.map((p) => p.name),
            RULES.map((r) => r.name),
        );
        for (const [i, p] of policies.entries()) {
            assert.ok(p.description.startsWith(`[${RULES[i].id}] `), p.description);
            assert.equal(p.enforcementLevel, RULES[i].defaultEnforcement);
            assert.equal(typeof p.validateStack, "function");
        }
        const mt013 = policies.find((p) => p.name === "namespaces-protected-in-production")!;
        assert.deepEqual(Object.keys(mt013.configSchema?.properties ?? {}), ["production", "suppress"]);
        const mt021 = policies.find((p) => p.name === "control-plane-reach")!;
        assert.deepEqual(Object.keys(mt021.configSchema?.properties ?? {}), ["monitoringNamespaces", "suppress"]);
        assert.deepEqual((mt021.configSchema?.properties as any).monitoringNamespaces.items, { type: "string" });
        const mt015 = policies.find((p) => p.name === "nothing-crosses-usergroups")!;
        assert.deepEqual(Object.keys(mt015.configSchema?.properties ?? {}), ["caTopology", "suppress"]);
        assert.deepEqual((mt015.configSchema?.properties as any).caTopology.enum, ["shared-root", "per-usergroup"]);
        const mt022 = policies.find((p) => p.name === "who-may-write-a-tenant")!;
        assert.deepEqual(Object.keys(mt022.configSchema?.properties ?? {}), ["platformOperatorUsers", "platformOperatorGroups", "suppress"]);
        assert.ok(policies.filter((p) => p !== mt013 && p !== mt015 && p !== mt021 && p !== mt022).every((p) => JSON.stringify(Object.keys(p.configSchema?.properties ?? {})) === '["suppress"]'));
    });

    it("non-Kubernetes resources and the v1 yaml components are left out", () => {
        assert.equal(subjectFromResource({ type: "pulumi:providers:kubernetes", name: "k8s", urn: "urn:a", props: {} }), undefined);
        assert.equal(subjectFromResource({ type: "kubernetes:yaml:ConfigFile", name: "f", urn: "urn:b", props: {} }), undefined);
        assert.equal(subjectFromResource({ type: "random:index/randomId:RandomId", name: "r", urn: "urn:c", props: {} }), undefined);
    });
});
