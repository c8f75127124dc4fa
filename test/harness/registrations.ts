import * as fs from "fs";
import * as path from "path";
import { subjectFromResource } from "../../policy/adapters/crossguard";
import type { PackConfig } from "../../policy/lib/engine";
import type { Subject } from "../../policy/semantics/objects";
import { ROOT } from "./configs";
import type { Registration } from "./mocks";

/** What the policy pack would see of recorded registrations: each as the CrossGuard adapter converts it. */
export function subjectsOf(registrations: Registration[]): Subject[] {
    return registrations
        .map((r) => subjectFromResource({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, opts: { protect: r.protect } }))
        .filter((s): s is Subject => s !== undefined);
}

/** The pack config a stack is previewed with: `prod.json` for prod, `dev.json` for the rest. */
export function packConfig(env: "dev" | "prod"): PackConfig {
    return JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "config", `${env}.json`), "utf8"));
}
