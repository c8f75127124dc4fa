import { execFileSync, spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness/configs";

/**
 * The API server's own judgement of ValidatingAdmissionPolicies, without an API server: scripts/toolchain/cel
 * (`vap-eval`), built by scripts/build-toolchain.sh and run once per call with everything to judge.
 */

type Obj = Record<string, any>;

export interface GroupVersionKind {
    group: string;
    version: string;
    kind: string;
}

export interface GroupVersionResource {
    group: string;
    version: string;
    resource: string;
}

/** An AdmissionRequest as the API server builds it, with the Namespace it is in. */
export interface AdmissionRequest {
    operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
    object?: Obj;
    oldObject?: Obj;
    kind: GroupVersionKind;
    resource: GroupVersionResource;
    subResource?: string;
    namespace?: string;
    name: string;
    userInfo: { username: string; groups?: string[] };
    namespaceObject?: Obj;
}

export interface VapEvalCase {
    name: string;
    request: AdmissionRequest;
    /** The policies (by name) installed for this case; every one given when absent. */
    policies?: string[];
}

export interface VapEvalInput {
    policies: Obj[];
    bindings: Obj[];
    cases: VapEvalCase[];
    repeat?: number;
}

export interface ExpressionReport {
    field: string;
    expression: string;
    error?: string;
    estimatedCost?: { min: number; max: number };
}

export interface ValidationVerdict {
    index: number;
    evaluation: "admit" | "deny" | "error";
    action: "admit" | "deny";
    message?: string;
    messageError?: string;
    elapsedNs: number;
}

export interface PolicyVerdict {
    policy: string;
    binding: string;
    matched: boolean;
    matchConditions: boolean;
    matchConditionError?: string;
    validations: ValidationVerdict[];
    cost: number;
    elapsedNs: number;
}

export interface CaseReport {
    name: string;
    allowed: boolean;
    message?: string;
    warnings: string[];
    auditAnnotations: Record<string, string>;
    policies: PolicyVerdict[];
    error?: string;
}

export interface VapEvalReport {
    environment: { compatibilityVersion: string; strictCost: boolean; perCallLimit: number; runtimeBudget: number; sizeBound: number };
    policies: { name: string; validationErrors: string[]; expressions: ExpressionReport[] }[];
    bindings: { name: string; validationErrors: string[] }[];
    cases: CaseReport[];
}

/**
 * The unit suite builds into a tools dir of its own: build-toolchain.sh holds a lock on its tools dir for a whole
 * build, and a cold end-to-end toolchain build would otherwise keep `npm test` waiting for it. The Go build cache is
 * shared all the same.
 */
const UNIT_TOOLS = process.env.MESH_TENANCY_UNIT_TOOLS ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "mesh-tenancy", "unit-tools");

let binary: string | undefined;

/** The vap-eval binary, built (or found current) by build-toolchain.sh; fails, never skips, without Go. */
export function vapEvalBinary(): string {
    if (binary !== undefined) return binary;
    if (spawnSync("go", ["version"], { stdio: "ignore" }).status !== 0) {
        throw new Error(
            "Go is not on PATH: npm test judges the admission guardrails with the Kubernetes API server's own CEL (scripts/toolchain/cel, built by scripts/build-toolchain.sh vap-eval). Install Go 1.24 or newer and run npm test again.",
        );
    }
    const out = execFileSync(path.join(ROOT, "scripts", "build-toolchain.sh"), ["vap-eval"], {
        env: { ...process.env, MESH_TENANCY_TOOLS: UNIT_TOOLS },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 1 << 20,
    });
    const lines = out.trim().split("\n");
    binary = path.join(lines[lines.length - 1], "vap-eval");
    return binary;
}

export function runVapEval(input: VapEvalInput): VapEvalReport {
    const out = execFileSync(vapEvalBinary(), [], { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 1 << 30 });
    return JSON.parse(out) as VapEvalReport;
}
