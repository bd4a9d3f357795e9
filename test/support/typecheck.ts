/**
 * The project's type check (`npm run typecheck`: TypeScript 7's native compiler, `tsc --noEmit`
 * over the whole project) as a test that runs beside the suite. The suite runs transpile-only
 * (fast), so the type check is what catches type errors. TypeScript 5.9 (the `typescript`
 * package) stays for what needs its JavaScript API, which TypeScript 7 does not ship: ts-node's
 * transpiler and typescript-eslint. 5.9's tsc took 20-25 s of CPU here, TypeScript 7's 6-7 s.
 * TypeScript 7 removed `moduleResolution: node` (node10), which tsconfig.json keeps for 5.9, so
 * the check overrides it with `bundler` (package.json exports honoured, as Node's require does).
 *
 * .mocharc.json loads this file: when test/typecheck.test.ts is part of the run, the root hook
 * starts the check before the first suite and that test awaits its verdict at its turn; a run
 * of other files alone does not start it. In `npm test`'s parallel run each file has its own
 * root hooks, so the check starts with typecheck.test.ts, one of the first files handed out
 * (test/order.js).
 */
import { spawn } from "child_process";
import * as path from "path";
import { batch } from "./tools";

export interface TypecheckResult {
    readonly code: number | null;
    readonly output: string;
}

let running: Promise<TypecheckResult> | undefined;

/** Starts tsc once per process; later calls share its result. */
export function typecheck(): Promise<TypecheckResult> {
    running ??= new Promise((resolve, reject) => {
        const root = path.join(__dirname, "..", "..");
        // `npm run typecheck` (package.json, the command's one home), on one thread: beside the
        // suite's workers the CPU is what is short, and one thread uses the least of it; as
        // batch work (tools.ts), yielding to the drills' real-time servers.
        const tsc = spawn(...batch("npm", ["run", "--silent", "typecheck", "--", "--singleThreaded"]), { cwd: root });
        let output = "";
        tsc.stdout.on("data", (d) => (output += String(d)));
        tsc.stderr.on("data", (d) => (output += String(d)));
        tsc.on("error", reject);
        tsc.on("close", (code) => resolve({ code, output }));
    });
    return running;
}

export const mochaHooks = {
    beforeAll(this: Mocha.Context): void {
        const files = this.test?.parent?.suites.map((suite) => suite.file ?? "") ?? [];
        if (files.some((file) => file.endsWith(path.join("test", "typecheck.test.ts")))) {
            void typecheck().catch(() => undefined);
        }
    },
};
