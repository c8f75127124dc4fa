import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { readManifests } from "../../policy/adapters/manifests";
import { evaluate, PackConfig, resolveConfig } from "../../policy/lib/engine";
import type { Subject } from "../../policy/semantics/objects";
import type { Rule } from "../../policy/lib/rule";
import { RULES } from "../../policy/rules";
import { crossGuardFindings, FIXTURES, ROOT, subjectKeys } from "./harness";

const byName = (name: string): Rule => RULES.find((r) => r.name === name)!;
const levels = (config: PackConfig) => Object.fromEntries([...resolveConfig(RULES, config)].map(([rule, c]) => [rule.name, c.enforcementLevel]));
const loadConfig = (env: "dev" | "prod"): PackConfig => JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "config", `${env}.json`), "utf8"));

const MT013 = "namespaces-protected-in-production";
const UNPROTECTED = path.join(FIXTURES, MT013, "violating.yaml");

/** The MT013 fixture's subjects as the CrossGuard adapter would see them unprotected. */
function unprotectedSubjects(): Subject[] {
    return readManifests([UNPROTECTED]).subjects.map((s) => ({ object: s.object, origin: { ...s.origin, protect: false } }));
}

describe("resolveConfig", () => {
    it("without config every rule has its default level", () => {
        const resolved = resolveConfig(RULES);
        assert.equal(resolved.size, RULES.length);
        for (const rule of RULES) assert.deepEqual(resolved.get(rule), { enforcementLevel: rule.defaultEnforcement });
        assert.equal(resolved.get(byName("headless-service-port-clash"))!.enforcementLevel, "advisory");
        assert.equal(resolved.get(byName("strict-mtls"))!.enforcementLevel, "mandatory");
    });

    it("`all` sets every rule's level, as a string or as an object", () => {
        for (const all of ["advisory", { enforcementLevel: "advisory" }] as const) {
            assert.ok(Object.values(levels({ all } as PackConfig)).every((l) => l === "advisory"));
        }
        assert.ok(Object.values(levels({ all: "disabled" })).every((l) => l === "disabled"));
    });

    it("a rule's own entry overrides `all`, as a string or as an object", () => {
        const resolved = levels({ all: "advisory", "revision-exists": "mandatory", "strict-mtls": { enforcementLevel: "disabled" } });
        assert.equal(resolved["revision-exists"], "mandatory");
        assert.equal(resolved["strict-mtls"], "disabled");
        assert.equal(resolved["discovered-by-exactly-one-revision"], "advisory");
    });

    it("an object entry without a level keeps `all` or the default, and passes rule options through", () => {
        const resolved = resolveConfig(RULES, { [MT013]: { production: true } });
        assert.deepEqual(resolved.get(byName(MT013)), { enforcementLevel: "mandatory", production: true });
        const withAll = resolveConfig(RULES, { all: "advisory", [MT013]: { production: true } });
        assert.deepEqual(withAll.get(byName(MT013)), { enforcementLevel: "advisory", production: true });
    });

    it("rejects unknown rule names, naming the key and listing the rules", () => {
        assert.throws(() => resolveConfig(RULES, { "strict-mtsl": "advisory" }), (e: Error) => {
            assert.match(e.message, /^invalid policy config:/);
            assert.match(e.message, /strict-mtsl: no such rule/);
            assert.match(e.message, /strict-mtls/);
            return true;
        });
        assert.throws(() => resolveConfig(RULES, { MT009: "advisory" }), /MT009: no such rule/, "ids are not config keys");
    });

    it("rejects bad levels, for a rule and for `all`", () => {
        assert.throws(() => resolveConfig(RULES, { "strict-mtls": "warn" } as unknown as PackConfig), /strict-mtls: enforcement level must be advisory, mandatory or disabled, got "warn"/);
        assert.throws(() => resolveConfig(RULES, { "strict-mtls": { enforcementLevel: "remediate" } } as unknown as PackConfig), /strict-mtls: enforcement level .* got "remediate"/);
        assert.throws(() => resolveConfig(RULES, { all: "Mandatory" } as unknown as PackConfig), /all: enforcement level .* got "Mandatory"/);
        assert.throws(() => resolveConfig(RULES, { all: 1 } as unknown as PackConfig), /all: enforcement level .* got 1/);
    });

    it("rejects options a rule does not declare", () => {
        assert.throws(() => resolveConfig(RULES, { "strict-mtls": { enforcementLevel: "advisory", production: true } }), /strict-mtls\.production: not an option of this rule/);
        assert.throws(() => resolveConfig(RULES, { [MT013]: { production: true, prod: true } }), /namespaces-protected-in-production\.prod: not an option of this rule/);
    });

    it("takes a list option only as a list of strings", () => {
        const rule = "control-plane-reach";
        assert.deepEqual(resolveConfig(RULES, { [rule]: { monitoringNamespaces: ["monitoring"] } }).get(byName(rule)), { enforcementLevel: "mandatory", monitoringNamespaces: ["monitoring"] });
        assert.throws(() => resolveConfig(RULES, { [rule]: { monitoringNamespaces: "monitoring" } }), /control-plane-reach\.monitoringNamespaces: must be a list of strings, got "monitoring"/);
        assert.throws(() => resolveConfig(RULES, { [rule]: { monitoringNamespaces: ["monitoring", 1] } }), /must be a list of strings, got \["monitoring",1\]/);
    });

    it("reports every problem at once", () => {
        assert.throws(
            () => resolveConfig(RULES, { nope: "advisory", "strict-mtls": "warn", "revision-exists": { verbose: true } } as unknown as PackConfig),
            (e: Error) => e.message.split("\n").length === 4,
        );
    });

    it("evaluate skips disabled rules and reports each finding at its rule's level", () => {
        const file = path.join(FIXTURES, "strict-mtls", "violating-root-permissive.yaml");
        const { subjects } = readManifests([file]);
        assert.ok(evaluate(RULES, subjects).every((v) => v.rule.id === "MT009" && v.level === "mandatory"));
        assert.ok(evaluate(RULES, subjects, { "strict-mtls": "advisory" }).every((v) => v.level === "advisory"));
        assert.deepEqual(evaluate(RULES, subjects, { "strict-mtls": "disabled" }), []);
        assert.deepEqual(evaluate(RULES, subjects, { all: "disabled" }), []);
        assert.throws(() => evaluate(RULES, subjects, { "strict-mtsl": "disabled" }), /no such rule/);
    });
});

describe("policy/config/{dev,prod}.json", () => {
    for (const env of ["dev", "prod"] as const) {
        it(`${env}.json loads, resolves and names every rule exactly once`, () => {
            const config = loadConfig(env);
            assert.deepEqual(Object.keys(config).sort(), RULES.map((r) => r.name).sort());
            const resolved = resolveConfig(RULES, config);
            assert.equal(resolved.size, RULES.length);
        });
    }

    it("dev relaxes isolation and mTLS to advisory and turns the production check off", () => {
        const dev = levels(loadConfig("dev"));
        assert.equal(dev["strict-mtls"], "advisory");
        assert.equal(dev["tenant-isolation-policies"], "advisory");
        assert.equal(dev[MT013], "disabled");
        assert.equal(dev["headless-service-port-clash"], "advisory");
        assert.equal(resolveConfig(RULES, loadConfig("dev")).get(byName(MT013))!.production, undefined);
    });

    it("prod makes everything but the advisory headless and retiring-revision checks mandatory, with production on", () => {
        const prod = levels(loadConfig("prod"));
        const advisory = new Set(["headless-service-port-clash", "pinned-to-retiring-revision"]);
        for (const rule of RULES) assert.equal(prod[rule.name], advisory.has(rule.name) ? "advisory" : "mandatory", rule.name);
        assert.equal(resolveConfig(RULES, loadConfig("prod")).get(byName(MT013))!.production, true);
    });

    it("prod lets istiod's monitoring port be reached from the prod stack's monitoring namespace, dev from none", () => {
        const stack = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8"));
        const monitoring = stack.config["mesh-tenancy:controlPlaneAccess"].monitoringNamespace;
        assert.equal(typeof monitoring, "string");
        const rule = byName("control-plane-reach");
        assert.deepEqual((resolveConfig(RULES, loadConfig("prod")).get(rule) as any).monitoringNamespaces, [monitoring]);
        assert.equal((resolveConfig(RULES, loadConfig("dev")).get(rule) as any).monitoringNamespaces, undefined);
    });
});

describe("MT013 fires only with production: true", () => {
    const mt013 = (config: PackConfig) => evaluate(RULES, unprotectedSubjects(), config).filter((v) => v.rule.id === "MT013").map((v) => v.subject.object.metadata.name).sort();

    it("engine: only `production: true` (not false or `all`) turns it on, and a string is refused", () => {
        assert.deepEqual(mt013({}), []);
        assert.deepEqual(mt013({ [MT013]: "mandatory" }), []);
        assert.deepEqual(mt013({ [MT013]: { production: false } }), []);
        assert.throws(() => mt013({ [MT013]: { production: "true" } }), /namespaces-protected-in-production\.production: must be a boolean, got "true"/);
        assert.deepEqual(mt013({ [MT013]: { production: true } }), ["app-a", "app-b", "common"]);
        assert.deepEqual(mt013({ [MT013]: { production: true, enforcementLevel: "disabled" } }), []);
    });

    it("engine: with prod.json on unprotected namespaces, but never under dev.json", () => {
        assert.deepEqual(mt013(loadConfig("prod")), ["app-a", "app-b", "common"]);
        assert.deepEqual(mt013(loadConfig("dev")), []);
    });

    it("CrossGuard: prod.json (per-policy getConfig) fires it, dev.json does not run it", async () => {
        const prod = await crossGuardFindings([UNPROTECTED], loadConfig("prod"));
        assert.deepEqual(subjectKeys(prod), ["MT013 Namespace app-a", "MT013 Namespace app-b", "MT013 Namespace common"]);
        assert.deepEqual(await crossGuardFindings([UNPROTECTED], loadConfig("dev")), []);
    });
});
