import { checkerObjects } from "./bench/manifests";
import { inNamespaceByDefault } from "./policy/semantics/objects";
import { Inventory } from "./policy/semantics/inventory";
import { RULES } from "./policy/rules";
const n = Number(process.argv[2]);
const subjects = [...checkerObjects(n)].map((o) => ({ object: inNamespaceByDefault(o, "default"), origin: {} }));
let t = Date.now(); const inv = new Inventory(subjects); console.log("inventory", Date.now() - t);
for (const r of RULES) { t = Date.now(); r.check(inv, { enforcementLevel: "mandatory" } as any); const d = Date.now() - t; if (d > 50) console.log(r.id, d); }
