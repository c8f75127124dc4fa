import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { subjectFromResource } from "../../policy/adapters/crossguard";
import { evaluate, PackConfig } from "../../policy/lib/engine";
import { Inventory } from "../../policy/semantics/inventory";
import type { Subject } from "../../policy/semantics/objects";
import { istiodWorkloads } from "../../policy/semantics/revisions";
import { RULES } from "../../policy/rules";
import { ALL_STACKS, loadStack } from "../harness/configs";
import type { Registration } from "../harness/mocks";
import { registerConfig } from "../harness/program";
import { crossGuardFindings, fixtureObjects, FIXTURES, manifestFindings, ROOT, subjectKeys } from "./harness";

const RULE = "control-plane-reach";
const rule = RULES.find((r) => r.name === RULE)!;
const fixture = (name: string) => path.join(FIXTURES, RULE, name);
const prodConfig = (): PackConfig => JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "config", "prod.json"), "utf8"));
/** This rule's entry of the prod config, for runs of this rule alone. */
const prodEntry = (): PackConfig => ({ [RULE]: prodConfig()[RULE] });

function subjectsOf(registrations: Registration[]): Subject[] {
    return registrations
        .map((r) => subjectFromResource({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, opts: { protect: r.protect } }))
        .filter((s): s is Subject => s !== undefined);
}

describe("MT021 control-plane-reach options", () => {
    const monitoring = fixture("violating-monitoring-from-other-namespace.yaml");

    it("monitoringNamespaces lets the listed namespace reach 15014, through both adapters", async () => {
        const config: PackConfig = { [RULE]: { monitoringNamespaces: ["monitoring"] } };
        assert.deepEqual(subjectKeys(manifestFindings([monitoring])), ["MT2103 HelmRelease istio-blue/istiod-blue"]);
        assert.deepEqual(subjectKeys(manifestFindings([monitoring], config)), []);
        assert.deepEqual(subjectKeys(await crossGuardFindings([monitoring], config)), []);
        assert.deepEqual(subjectKeys(manifestFindings([monitoring], { [RULE]: { monitoringNamespaces: ["metrics"] } })), ["MT2103 HelmRelease istio-blue/istiod-blue"]);
    });

    it("monitoringNamespaces does not open xDS or the CA", () => {
        const open = fixture("violating-no-networkpolicy.yaml");
        const keys = subjectKeys(manifestFindings([open], { [RULE]: { monitoringNamespaces: ["app-x", "istio-green"] } }));
        assert.deepEqual(keys, ["MT2101 HelmRelease istio-blue/istiod-blue", "MT2102 HelmRelease istio-blue/istiod-blue", "MT2103 HelmRelease istio-blue/istiod-blue", "MT2105 HelmRelease istio-blue/istiod-blue"], "every namespace outside the set still reaches 15014");
    });

    it("each kind of finding can be suppressed on its own", () => {
        const open = fixture("violating-no-networkpolicy.yaml");
        assert.deepEqual(subjectKeys(manifestFindings([open], { [RULE]: { suppress: "MT2101,MT2103,MT2105" } })), ["MT2102 HelmRelease istio-blue/istiod-blue"]);
    });

    it("findings name the path: the policy and rule that admit, or the missing policy", () => {
        const [every] = manifestFindings([fixture("violating-xds-from-every-namespace.yaml")]);
        assert.match(every.message, /15010 from app-x, istio-green and every namespace the object set does not hold/);
        assert.match(every.message, /NetworkPolicy istio-blue\/debug-xds ingress rule 1 namespaceSelector \{\}/);
        const none = manifestFindings([fixture("violating-no-networkpolicy.yaml")]);
        assert.ok(none.every((f) => f.message.includes("no NetworkPolicy in istio-blue selects istiod's pods for ingress")));
        const [closed] = manifestFindings([fixture("violating-webhook-closed.yaml")]);
        assert.match(closed.message, /controlPlaneAccess\.apiServerCidrs/);
    });

    it("a message names ten outsiders and counts the rest", () => {
        const objects = fixtureObjects(fixture("violating-xds-from-every-namespace.yaml"));
        for (let i = 0; i < 12; i++) objects.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: `other-${String(i).padStart(2, "0")}` } });
        const [finding] = evaluate([rule], objects.map((object): Subject => ({ object, origin: {} })));
        assert.match(finding.message, /from app-x, istio-green, other-00, other-01, .*, other-07 and 4 more, and every namespace the object set does not hold,/);
    });

    it("the prod config lists the prod stack's monitoring namespace", () => {
        assert.deepEqual(subjectKeys(manifestFindings([monitoring], prodConfig())), []);
    });
});

describe("MT021 over the program's own plans", () => {
    for (const stack of ALL_STACKS) {
        it(`stacks/Pulumi.${stack}.yaml: every istiod judged, none reached from outside its usergroup`, async () => {
            const subjects = subjectsOf((await registerConfig(loadStack(stack))).registrations);
            const inventory = new Inventory(subjects);
            assert.ok(inventory.revisions.size > 0);
            for (const rev of inventory.revisions.values()) assert.equal(istiodWorkloads(inventory, rev).length, 1, `revision ${rev.name} is judged`);
            assert.deepEqual(evaluate([rule], subjects, stack === "prod" ? prodEntry() : {}).map((v) => `${v.code} ${v.message}`), []);
        });
    }

    it("without its system-namespace policies, a planned istiod is open to every namespace", async () => {
        const subjects = subjectsOf((await registerConfig(loadStack("dev"))).registrations);
        const inventory = new Inventory(subjects);
        const rev = [...inventory.revisions.values()][0];
        const open = subjects.filter((s) => !(s.object.kind === "NetworkPolicy" && s.object.metadata.namespace === rev.namespace));
        const codes = evaluate([rule], open).filter((v) => v.subject.object.metadata.namespace === rev.namespace).map((v) => v.code);
        assert.deepEqual([...new Set(codes)].sort(), ["MT2101", "MT2102", "MT2103", "MT2105"]);
    });

    it("with the planned xDS rule widened to every namespace, a planned istiod is reached from other usergroups", async () => {
        const subjects = subjectsOf((await registerConfig(loadStack("prod"))).registrations);
        const access = subjects.find((s) => s.object.kind === "NetworkPolicy" && s.object.metadata.name === "istiod-access")!;
        const spec = access.object.spec as any;
        const widened: Subject = { ...access, object: { ...access.object, spec: { ...spec, ingress: [{ ...spec.ingress[0], from: [{ namespaceSelector: {} }] }, ...spec.ingress.slice(1)] } } };
        const violations = evaluate([rule], subjects.map((s) => (s === access ? widened : s)), prodEntry());
        assert.deepEqual(violations.map((v) => v.code).sort(), ["MT2101", "MT2102"]);
        assert.match(violations[0].message, new RegExp(`NetworkPolicy ${access.object.metadata.namespace}/istiod-access ingress rule 1 namespaceSelector \\{\\}`));
    });
});
