// The pack's entry (package.json `main`). Pulumi's policy runner registers ts-node with type checking, which costs
// several seconds of CPU on every preview and update; the sources are type-checked by `npm run build` (tsc -p policy,
// part of `npm test`), so here the runner's compiler steps aside and the sources are only transpiled, by swc (several
// times faster than TypeScript's own transpiler). Not in tsconfig.json's "ts-node" options: the runner's own
// registration reads those too, and refuses swc beside type checking.
"use strict";
// Node.js keeps the compiled code of what is loaded from here on (as components/compileCache.ts does for the program).
require("module").enableCompileCache?.();
const path = require("path");
const tsnode = require("ts-node");
const runner = process[tsnode.REGISTER_INSTANCE];
if (runner !== undefined) runner.enabled(false);
tsnode.register({ transpileOnly: true, swc: true, project: path.join(__dirname, "tsconfig.json") });
require("./index.ts");
