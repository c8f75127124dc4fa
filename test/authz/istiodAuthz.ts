import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { trustDomainsOf } from "../../policy/semantics/authorization";
import { Inventory } from "../../policy/semantics/inventory";
import { describeObject, Subject } from "../../policy/semantics/objects";
import { meshView, WorkloadView } from "../../policy/semantics/reachability";
import { describeWorkload } from "../../policy/semantics/workloads";
import { expectExit, run } from "../e2e/harness";
import { binary } from "../e2e/istio";

/**
 * Who gets through a sidecar, judged twice: by the RBAC istiod compiles into the proxy's inbound listener (read and
 * evaluated by `xds-probe -inbound -callers`, scripts/toolchain/xds-probe/rbac.go) and by the semantics model's mesh
 * admission, the answer the report's matrix is built from (`meshView(inventory).view(w).mesh`). The two are compared
 * per workload over every caller namespace of the cluster.
 */

export interface CallerVerdict {
    caller: string;
    namespace?: string;
    admitted: boolean;
    ports: string[];
    why: string;
}

export interface NamespaceVerdict {
    admitted: boolean;
    mutual: boolean;
    via: string;
    foreignTrustDomain: boolean;
}

export interface InboundChain {
    name: string;
    port: number;
    transport: string;
    applicationProtocols?: string[];
    mutualTls: boolean;
    http: boolean;
    rbac: { layer: string; rules?: any; shadowRules?: any }[];
    extAuthz?: string[];
}

export interface InboundResult {
    node: string;
    namespace: string;
    labels: Record<string, string>;
    listeners: string[];
    chains: InboundChain[];
    verdicts: {
        trustDomain: string;
        mtls: Record<string, string>;
        callers: CallerVerdict[];
        plaintext: CallerVerdict;
        namespaces: Record<string, NamespaceVerdict>;
        undecided: string[];
    };
    seconds: number;
}

export interface Callers {
    trustDomain: string;
    foreignTrustDomain: string;
    serviceAccounts: Record<string, string[]>;
}

/**
 * Every identity a caller can have: each namespace's ServiceAccounts as the API server holds them, and the accounts its
 * workloads run as (created or not). The evaluator adds the account names the policies spell out.
 */
export function callersOf(inventory: Inventory, serviceAccounts: Subject[], trustDomain: string): Callers {
    const out: Record<string, Set<string>> = {};
    for (const ns of inventory.namespaces.keys()) out[ns] = new Set();
    for (const sa of serviceAccounts) {
        const ns = sa.object.metadata.namespace;
        if (ns !== undefined) (out[ns] ??= new Set()).add(sa.object.metadata.name);
    }
    for (const ns of inventory.namespaces.keys()) for (const w of inventory.workloadsIn(ns)) out[ns].add(w.serviceAccount);
    return { trustDomain, foreignTrustDomain: "foreign.example", serviceAccounts: Object.fromEntries(Object.entries(out).map(([ns, s]) => [ns, [...s].sort()])) };
}

/** What istiod compiles for the sidecar of a workload, judged for `callers`: a fresh connection, LDS only. */
export function probeInbound(addr: string, w: { namespace: string; labels: Record<string, string>; serviceAccount: string; name: string }, callers: Callers, istioVersion: string): InboundResult {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "callers-")), "callers.json");
    fs.writeFileSync(file, JSON.stringify(callers));
    const labels = Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(",");
    const pod = w.name.replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, "") || "probe";
    const args = ["-addr", addr, "-namespace", w.namespace, "-pod", pod, "-service-account", w.serviceAccount, "-inbound", "-callers", file, "-istio-version", istioVersion, "-timeout", "30s"];
    if (labels !== "") args.push("-labels", labels);
    try {
        return JSON.parse(expectExit(run(binary("xds-probe"), args), 0, `xds-probe -inbound ${w.namespace}/${w.name}`).stdout);
    } finally {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
}

export interface AdmissionRow {
    workload: string;
    revision: string;
    /** mTLS mode per inbound port, as the filter chains show it. */
    mtls: Record<string, string>;
    istiod: string[];
    model: string[];
    /** The model also admits namespaces the cluster does not hold. */
    modelOthers: boolean;
    plaintext: boolean;
    foreignTrustDomain: string[];
    /** Compiled RBAC policy names, enforced and shadow, per layer. */
    compiled: string[];
    disagreements: string[];
}

export interface Skipped {
    workload: string;
    why: string;
}

function compiledPolicies(result: InboundResult): string[] {
    const out = new Set<string>();
    for (const c of result.chains) {
        for (const f of c.rbac) {
            const action = (r: any) => r?.action ?? "ALLOW";
            for (const name of Object.keys(f.rules?.policies ?? {})) out.add(`${f.layer} ${action(f.rules)} ${name}`);
            if (f.rules !== undefined && Object.keys(f.rules.policies ?? {}).length === 0) out.add(`${f.layer} ${action(f.rules)} (no policy)`);
            for (const name of Object.keys(f.shadowRules?.policies ?? {})) out.add(`${f.layer} shadow ${action(f.shadowRules)} ${name}`);
        }
        for (const e of c.extAuthz ?? []) out.add(e);
    }
    return [...out].sort();
}

/** The objects behind the model's answer for one workload, for a disagreement's message. */
function modelObjects(v: WorkloadView): string {
    const policies = v.mesh!.policies.map((p) => `${p.action} ${describeObject(p.subject.object)}${p.enforced ? "" : ` (not enforced: ${p.notEnforced})`}`);
    return policies.length > 0 ? policies.join("; ") : "no AuthorizationPolicy applies";
}

/**
 * For every meshed workload (or stand-in pod) of `namespaces` (default: all), the caller namespaces istiod's compiled
 * RBAC admits beside those the model admits, over every namespace of the cluster. `istiods` maps revision names to
 * plaintext xDS addresses.
 */
export function compareAdmission(
    subjects: Subject[],
    serviceAccounts: Subject[],
    istiods: ReadonlyMap<string, string>,
    istioVersion: string,
    namespaces?: ReadonlyArray<string>,
): { rows: AdmissionRow[]; skipped: Skipped[]; disagreements: string[]; undecided: string[] } {
    const inventory = new Inventory(subjects);
    const view = meshView(inventory);
    const all = [...inventory.namespaces.keys()].sort();
    const rows: AdmissionRow[] = [];
    const skipped: Skipped[] = [];
    const disagreements: string[] = [];
    const undecided: string[] = [];
    for (const ns of namespaces ?? all) {
        for (const w of view.workloadsOf(ns)) {
            const v = view.view(w);
            const name = describeWorkload(w);
            if (v.mesh === undefined) {
                skipped.push({ workload: name, why: `no sidecar: ${v.injection.reason}` });
                continue;
            }
            const addr = v.revision === undefined ? undefined : istiods.get(v.revision.name);
            if (addr === undefined) {
                skipped.push({ workload: name, why: v.revision === undefined ? "its revision is not in the object set" : `no istiod runs for revision ${v.revision.name}` });
                continue;
            }
            const trustDomain = [...trustDomainsOf(v.revision)][0];
            const result = probeInbound(addr, w, callersOf(inventory, serviceAccounts, trustDomain), istioVersion);
            const verdicts = result.verdicts;
            undecided.push(...verdicts.undecided.map((u) => `${name}: ${u}`));
            const istiod = all.filter((n) => verdicts.namespaces[n]?.admitted);
            const model = all.filter((n) => v.mesh!.sources.has(n));
            const row: AdmissionRow = {
                workload: name,
                revision: v.revision!.name,
                mtls: verdicts.mtls,
                istiod,
                model,
                modelOthers: v.mesh.sources.cofinite,
                plaintext: verdicts.plaintext.admitted,
                foreignTrustDomain: all.filter((n) => verdicts.namespaces[n]?.foreignTrustDomain),
                compiled: compiledPolicies(result),
                disagreements: [],
            };
            // The mode istiod's chains enforce on each port, beside the model's PeerAuthentication answer (mtls.ts).
            for (const [port, mode] of Object.entries(verdicts.mtls)) {
                const modelMode = v.mtls === undefined ? undefined : port === "other" ? v.mtls.mode : (v.mtls.ports.get(port) ?? v.mtls.mode);
                if (modelMode !== mode) row.disagreements.push(`${name} port ${port}: istiod's chains are ${mode}; model ${modelMode} (${v.mtls?.reason})`);
            }
            for (const caller of all) {
                const byIstiod = istiod.includes(caller);
                if (byIstiod === model.includes(caller)) continue;
                const istiodWhy = byIstiod ? verdicts.namespaces[caller].via : `refused (plaintext: ${verdicts.plaintext.why})`;
                const modelWhy = v.mesh.sources.why(caller).join("; ") || v.mesh.summary;
                row.disagreements.push(
                    `${name} ← ${caller}: istiod ${byIstiod ? "admits" : "refuses"} (${istiodWhy}); model ${byIstiod ? "refuses" : "admits"} (${modelWhy}). Objects: ${modelObjects(v)}. Compiled: ${row.compiled.join("; ") || "no RBAC"}`,
                );
            }
            disagreements.push(...row.disagreements);
            rows.push(row);
        }
    }
    return { rows, skipped, disagreements, undecided };
}

/** The matrix: one line per workload, istiod's admitted namespaces beside the model's. */
export function admissionTable(rows: AdmissionRow[]): string[] {
    const list = (xs: string[]) => (xs.length === 0 ? "-" : xs.length > 6 ? `${xs.slice(0, 4).join(",")},… (${xs.length})` : xs.join(","));
    return rows.map((r) => {
        const modes = [...new Set(Object.values(r.mtls))].join("/");
        const same = r.disagreements.length === 0 ? "=" : "≠";
        return `${r.workload.padEnd(44)} ${modes.padEnd(10)} istiod ${list(r.istiod)} ${same} model ${list(r.model)}${r.modelOthers ? " (+ namespaces not in the cluster)" : ""} | plaintext ${r.plaintext ? "admitted" : "refused"} | foreign trust domain: ${list(r.foreignTrustDomain)}`;
    });
}
