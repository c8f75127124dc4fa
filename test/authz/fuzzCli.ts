import * as fs from "fs";
import * as path from "path";
import { istioBuild } from "../e2e/istio";
import { runFuzz } from "./fuzz";

/**
 * `npm run fuzz:authz -- --seed N --runs M --seconds S`: the differential fuzz of mesh admission (fuzz.ts) on the local
 * control plane scripts/fuzz-authz.sh starts. Writes the report to `--out` (default: the cluster's state dir), a
 * candidate test/fixtures/authz case per disagreeing workload beside it, and exits 1 when istiod and the model disagree
 * on any estate or a verdict is undecided.
 */
function flag(name: string, fallback: number): number {
    const i = process.argv.indexOf(`--${name}`);
    if (i < 0) return fallback;
    const v = Number(process.argv[i + 1]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} takes a whole number, got ${process.argv[i + 1]}`);
    return v;
}

async function main(): Promise<void> {
    const seed = flag("seed", Date.now() % 100000);
    const runs = flag("runs", 300);
    const seconds = flag("seconds", 1800);
    const i = process.argv.indexOf("--out");
    const out = i >= 0 ? process.argv[i + 1] : path.join(process.env.MESH_TENANCY_CLUSTER_DIR ?? ".", `authz-fuzz-${seed}.json`);
    const build = istioBuild("1.31.0");
    const fixturesDir = path.join(path.dirname(out), `authz-fuzz-${seed}-fixtures`);
    const report = await runFuzz({ seed, runs, seconds, suffix: build.suffix, istioVersion: build.version, log: (l) => console.log(l), fixturesDir, replay: path.join(__dirname, "..", "fixtures", "authz") });
    fs.writeFileSync(out, JSON.stringify(report, null, 2));
    for (const d of report.disagreements) console.log(`DISAGREE ${d}`);
    for (const u of report.undecided) console.log(`UNDECIDED ${u}`);
    console.log(`report: ${out}`);
    process.exitCode = report.disagreements.length + report.undecided.length > 0 ? 1 : 0;
}

main().catch((e) => {
    console.error(e);
    process.exitCode = 2;
});
