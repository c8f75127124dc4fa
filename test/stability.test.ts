import * as assert from "node:assert/strict";
import { validConfig } from "./harness/configs";
import { registerConfig } from "./harness/program";
import type { Registration } from "./harness/mocks";

async function urns(mutate?: (raw: any) => void): Promise<Map<string, Registration>> {
    const mocks = await registerConfig(validConfig(mutate));
    return new Map(mocks.registrations.map((r) => [r.urn, r]));
}

function difference<T>(a: Map<string, T>, b: Map<string, T>): string[] {
    return [...a.keys()].filter((k) => !b.has(k));
}

/** A resource belongs to a tenant when it is the tenant's component or is registered beneath it. */
function belongsTo(urn: string, tenant: string): boolean {
    const name = urn.slice(urn.lastIndexOf("::") + 2);
    return name === tenant || name.startsWith(`${tenant}-`);
}

describe("resource identity is stable", () => {
    let before: Map<string, Registration>;

    beforeEach(async () => {
        before = await urns();
    });

    it("adding a tenant only adds that tenant's resources, and changes no other tenant's inputs", async () => {
        const after = await urns((r) => r.usergroups[0].tenants.push({ name: "newcomer", egress: ["logmonkey/*"] }));
        assert.deepEqual(difference(before, after), [], "nothing removed");
        const added = difference(after, before);
        assert.ok(added.length >= 6, `added ${added.length}`);
        assert.ok(added.every((u) => belongsTo(u, "newcomer")), added.filter((u) => !belongsTo(u, "newcomer")).join("\n"));
        for (const [urn, reg] of before) {
            if (belongsTo(urn, "logmonkey") || belongsTo(urn, "common-services")) continue; // both now admit the newcomer
            assert.deepEqual(after.get(urn)!.inputs, reg.inputs, `${urn} inputs changed`);
        }
    });

    it("removing a tenant only removes that tenant's resources", async () => {
        const after = await urns((r) => r.usergroups[1].tenants.splice(0, 1));
        assert.deepEqual(difference(after, before), []);
        const removed = difference(before, after);
        assert.ok(removed.length > 0 && removed.every((u) => belongsTo(u, "app-ns-2")), removed.join("\n"));
    });

    it("reordering tenants and usergroups changes no URN and no input", async () => {
        const after = await urns((r) => {
            r.usergroups.reverse();
            r.usergroups[1].tenants.reverse();
        });
        assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
        for (const [urn, reg] of before) assert.deepEqual(after.get(urn)!.inputs, reg.inputs, urn);
    });
});
