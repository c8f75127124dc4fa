import { checkerObjects } from "./bench/manifests";
import { inNamespaceByDefault } from "./policy/semantics/objects";
import { evaluate } from "./policy/lib/engine";
import { RULES } from "./policy/rules";
for (const n of [25000, 250000]) {
    const subjects = [...checkerObjects(n)].map((o) => ({ object: inNamespaceByDefault(o, "default"), origin: {} }));
    const t = process.cpuUsage();
    const v = evaluate(RULES, subjects, {});
    const d = process.cpuUsage(t);
    console.log(n, "rules CPU", ((d.user + d.system) / 1000).toFixed(0), "ms, findings", v.length, "maxRSS MB", (process.resourceUsage().maxRSS / 1024).toFixed(0));
}
