import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { FIXTURES, readFixture } from "../rbac/fixtures";
import { estates, judge, LABEL, NAMESPACES, serverAllows, serverFromKubeconfig, Verdict } from "../rbac/judge";
import { applyEstate, recordBaseline, removeEstate, writeCandidate } from "../rbac/estate";
import { clockInto } from "./harness";

/**
 * Who may write where, judged by the API server's RBAC authorizer (SubjectAccessReviews) beside the model's `mayWrite`,
 * the same answer MT022 rests on: seeded estates of Roles, ClusterRoles (aggregating and aggregated, into Kubernetes'
 * `edit` too), RoleBindings and ClusterRoleBindings, each request by each requester. More estates, or another seed:
 * `MESH_TENANCY_RBAC_SEED=N MESH_TENANCY_RBAC_RUNS=M npm run test:e2e -- --grep RBAC`.
 */

const SEED = Number(process.env.MESH_TENANCY_RBAC_SEED ?? 7);
const RUNS = Number(process.env.MESH_TENANCY_RBAC_RUNS ?? 12);

describe("RBAC judged by the API server: every write the authorizer allows is one the model's mayWrite allows, and no other", function () {
    this.timeout(20 * 60 * 1000);
    const timings: Record<string, number> = {};
    const clock = clockInto(timings);

    after(() => console.log(`      rbac e2e timings (s): ${JSON.stringify(timings)}`));

    it("0. the measured cases (test/fixtures/rbac), replayed on this API server, are still answered as recorded", async () => {
        const server = serverFromKubeconfig();
        await removeEstate();
        const wrong: string[] = [];
        for (const file of fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml"))) {
            const c = readFixture(path.join(FIXTURES, file));
            await applyEstate(c.objects.map((o) => (o.kind === "Namespace" ? o : { ...o, metadata: { ...o.metadata, labels: { ...(o.metadata.labels ?? {}), [LABEL]: "estate" } } })));
            for (const a of c.asked) {
                const got = await serverAllows(server, a.requester, a.write);
                if (got !== a.allowed) wrong.push(`${file}: ${a.describe}: recorded ${a.allowed}, now ${got}`);
            }
            await removeEstate();
        }
        assert.deepEqual(wrong, []);
    });

    it(`1. ${RUNS} estates of seed ${SEED}: the authorizer and the model agree on every request`, async () => {
        const server = serverFromKubeconfig();
        await removeEstate();
        recordBaseline();
        const disagreements: string[] = [];
        let asked = 0;
        let allowed = 0;
        for (const [i, estate] of estates(SEED, RUNS).entries()) {
            await clock(`estate ${i + 1} applied`, () => applyEstate(estate));
            const verdicts: Verdict[] = await clock(`estate ${i + 1} judged`, () => judge(server, estate));
            asked += verdicts.length;
            allowed += verdicts.filter((v) => v.server).length;
            const wrong = verdicts.filter((v) => v.server !== v.model);
            for (const v of wrong.slice(0, 5)) disagreements.push(`seed ${SEED} estate ${i + 1}: ${v.requester} ${v.request}: API server ${v.server ? "allows" : "refuses"}, model ${v.model ? `allows (${v.via.join("; ")})` : "refuses"}`);
            if (wrong.length > 0) console.log(`      estate ${i + 1}: ${wrong.length} disagreements; candidate fixture ${writeCandidate(estate, wrong[0], `seed ${SEED} estate ${i + 1}`)}`);
            await clock(`estate ${i + 1} removed`, () => removeEstate());
        }
        console.log(`      ${RUNS} estates, ${asked} SubjectAccessReviews over ${NAMESPACES.join(", ")} and the cluster scope: ${allowed} allowed, ${disagreements.length === 0 ? "all as the model says" : `${disagreements.length} shown disagreements`}`);
        assert.ok(allowed > 0 && allowed < asked, "both answers occur");
        assert.deepEqual(disagreements, []);
    });

    it("2. leaves nothing of its estates behind", async () => {
        assert.equal(await removeEstate(), 0, `no object labelled ${LABEL} left`);
    });
});
