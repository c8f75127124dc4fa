import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { planTenancy } from "../plan";
import { loadStack, ROOT } from "./harness/configs";

/**
 * The generated guardrails as text under review: each policy and its binding, rendered from the prod stack, in a file of
 * its own under plan/guardrails/snapshots/, every CEL expression on lines of its own. A change to the policies fails
 * here until the snapshots are rewritten (UPDATE_SNAPSHOTS=1), so a pull request shows it as a diff of CEL.
 */

const SNAPSHOTS = path.join(ROOT, "plan", "guardrails", "snapshots");
const STACK = "prod";
const UPDATE = process.env.UPDATE_SNAPSHOTS === "1";

/** Every `expression`-like string as a literal block, so that a diff shows the CEL line by line. */
function render(objects: Record<string, unknown>[]): string {
    const docs = objects.map((o) => {
        const doc = new YAML.Document(o);
        YAML.visit(doc, {
            Pair(_, pair) {
                const key = YAML.isScalar(pair.key) ? String(pair.key.value) : "";
                if (/^(expression|messageExpression)$/.test(key) && YAML.isScalar(pair.value)) pair.value.type = YAML.Scalar.BLOCK_LITERAL;
            },
        });
        return doc.toString({ lineWidth: 0 });
    });
    return `# Rendered from stacks/Pulumi.${STACK}.yaml by test/guardrailsSnapshots.test.ts; rewrite with UPDATE_SNAPSHOTS=1.\n${docs.join("---\n")}`;
}

describe("admission guardrails: the rendered policies (plan/guardrails/snapshots)", () => {
    const plan = planTenancy(loadStack(STACK));
    const files = new Map(
        plan.guardrails.policies.map((p) => {
            const name = p.object.metadata.name;
            const binding = plan.guardrails.bindings.find((b) => (b.object.spec as any).policyName === name)!;
            return [`${name}.cel.yaml`, render([p.object, binding.object])] as const;
        }),
    );

    if (UPDATE) {
        fs.rmSync(SNAPSHOTS, { recursive: true, force: true });
        fs.mkdirSync(SNAPSHOTS, { recursive: true });
        for (const [file, text] of files) fs.writeFileSync(path.join(SNAPSHOTS, file), text);
    }

    it("has one snapshot per policy and no other", () => {
        assert.deepEqual(fs.readdirSync(SNAPSHOTS).sort(), [...files.keys()].sort());
    });

    for (const [file, text] of files) {
        it(`${file} is what the plan renders (UPDATE_SNAPSHOTS=1 rewrites it)`, () => {
            assert.equal(fs.readFileSync(path.join(SNAPSHOTS, file), "utf8"), text);
        });
    }

    it("reads back as the planned objects", () => {
        for (const p of plan.guardrails.policies) {
            const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(SNAPSHOTS, `${p.object.metadata.name}.cel.yaml`), "utf8")).map((d) => d.toJS());
            assert.deepEqual(docs[0], JSON.parse(JSON.stringify(p.object)));
        }
    });
});
