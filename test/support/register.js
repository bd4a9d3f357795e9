/**
 * How the suite's own processes (mocha and its parallel workers) load TypeScript: ts-node,
 * transpile-only, with SWC's transpiler instead of TypeScript's. Loading the project's modules
 * took 5.2 s of CPU with TypeScript's transpiler and 2.2 s with SWC's (measured on the 2-core
 * machine, 2026-12-02), paid once per worker; the type check is `npm run lint`'s job (package.json: `npm run typecheck` first).
 * Processes the tests start as users would (npm run plan, the controller's CLI) run as
 * package.json's scripts run them: `ts-node --swc` (test/support/tools.ts, tsNode).
 */
"use strict";
require("ts-node").register({ transpileOnly: true, swc: true });
