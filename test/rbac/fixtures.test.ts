import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { Inventory } from "../../policy/semantics/inventory";
import { mayWrite } from "../../policy/semantics/rbac";
import { FixtureCase, FIXTURES, readFixture } from "./fixtures";

/**
 * Writes the API server's RBAC authorizer judged (test/fixtures/rbac, measured as SubjectAccessReviews by the rbac e2e,
 * which replays them on a live API server first): the model's `mayWrite` must give the same answer to each.
 */
describe("who may write where equals what the API server's authorizer answered (test/fixtures/rbac)", () => {
    const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml")).sort();

    it("has cases", () => assert.ok(files.length > 0));

    for (const file of files) {
        it(file.replace(/\.yaml$/, ""), () => {
            const c: FixtureCase = readFixture(path.join(FIXTURES, file));
            const inventory = new Inventory(c.objects.map((object) => ({ object, origin: { file } })));
            for (const a of c.asked) {
                const got = mayWrite(inventory, a.requester, a.write);
                assert.equal(got.allowed, a.allowed, `${a.describe}: the API server ${a.allowed ? "allowed" : "refused"} it (model: ${got.via.join("; ") || "no grant"})`);
            }
        });
    }
});
