// The pack's entry (package.json `main`). Pulumi's policy runner registers ts-node with type checking, which costs
// several seconds of CPU on every preview and update; the sources are type-checked by `npm run build` (tsc -p policy,
// part of `npm test`), so here the runner's compiler steps aside and the sources are only transpiled.
"use strict";
const path = require("path");
const tsnode = require("ts-node");
const runner = process[tsnode.REGISTER_INSTANCE];
if (runner !== undefined) runner.enabled(false);
tsnode.register({ transpileOnly: true, project: path.join(__dirname, "tsconfig.json") });
require("./index.ts");
