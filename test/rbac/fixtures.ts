import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import type { KubeObject } from "../../policy/semantics/objects";
import type { Requester, WriteRequest } from "../../policy/semantics/rbac";
import { AskedRequest, describeRequest, governedOf } from "./judge";

export const FIXTURES = path.join(__dirname, "..", "fixtures", "rbac");

export interface FixtureCase {
    measured: string;
    objects: KubeObject[];
    asked: { requester: Requester; write: WriteRequest; allowed: boolean; describe: string }[];
}

/** A case file: where it was measured, the objects, and each request with the authorizer's answer. */
export function readFixture(file: string): FixtureCase {
    const raw = YAML.parse(fs.readFileSync(file, "utf8"));
    if (typeof raw.measured !== "string" || raw.measured === "") throw new Error(`${file}: says nowhere where the answers were measured`);
    const asked = (raw.asked as (AskedRequest & { allowed: boolean })[]).map((a) => {
        const write: WriteRequest = { resource: governedOf(a.request), verb: a.request.verb, namespace: a.request.namespace, name: a.request.name };
        return { requester: a.requester, write, allowed: a.allowed, describe: `${a.requester.user} ${describeRequest(write)}` };
    });
    return { measured: raw.measured, objects: raw.objects, asked };
}
