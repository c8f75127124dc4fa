import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Inventory } from "../../policy/semantics/inventory";
import type { KubeObject } from "../../policy/semantics/objects";
import { meshView } from "../../policy/semantics/reachability";
import { describeWorkload } from "../../policy/semantics/workloads";

/**
 * Mesh admission cases measured on a real istiod: each file under test/fixtures/authz holds an object set, a workload,
 * and the caller namespaces istiod's compiled RBAC admitted and refused for it (xds-probe -inbound -callers, as the
 * authz e2e and `npm run fuzz:authz` ask). The model must give the same answer.
 */

const DIR = path.join(__dirname, "..", "fixtures", "authz");

interface Case {
    measured: string;
    workload: string;
    admitted: string[];
    refused: string[];
    objects: KubeObject[];
}

describe("mesh admission equals what istiod compiled (test/fixtures/authz)", () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".yaml")).sort();

    it("has cases", () => assert.ok(files.length > 0));

    for (const file of files) {
        it(file.replace(/\.yaml$/, ""), () => {
            const c: Case = YAML.parse(fs.readFileSync(path.join(DIR, file), "utf8"));
            assert.ok(typeof c.measured === "string" && c.measured !== "", "says where the answer was measured");
            const inventory = new Inventory(c.objects.map((object) => ({ object, origin: { file } })));
            const view = meshView(inventory);
            const ns = c.workload.replace(/^(any new pod in |\S+ )/, "").split("/")[0];
            const w = view.workloadsOf(ns).find((x) => describeWorkload(x) === c.workload);
            assert.ok(w !== undefined, `workload ${c.workload} in the case`);
            const mesh = view.view(w).mesh;
            assert.ok(mesh !== undefined, `${c.workload} has a sidecar`);
            assert.deepEqual(c.admitted.filter((n) => !mesh.sources.has(n)), [], `admitted by istiod, refused by the model (${mesh.summary})`);
            assert.deepEqual(c.refused.filter((n) => mesh.sources.has(n)), [], `refused by istiod, admitted by the model (${mesh.summary})`);
        });
    }
});
