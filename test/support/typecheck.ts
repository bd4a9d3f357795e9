/**
 * The project's type check (`tsc --noEmit -p .`) as a test that runs beside the suite.
 * The suite runs transpile-only (fast), so the type check is what catches type errors; it
 * takes 8-12 s of CPU, and run before the suite it made `npm test` 9 s longer. .mocharc.json
 * loads this file: when test/typecheck.test.ts is part of the run, the root hook starts tsc
 * before the first suite and that test awaits its verdict at its turn; a run of other files
 * alone does not start tsc.
 */
import { spawn } from "child_process";
import * as path from "path";

export interface TypecheckResult {
    readonly code: number | null;
    readonly output: string;
}

let running: Promise<TypecheckResult> | undefined;

/** Starts tsc once per process; later calls share its result. */
export function typecheck(): Promise<TypecheckResult> {
    running ??= new Promise((resolve, reject) => {
        const root = path.join(__dirname, "..", "..");
        // At a lower priority (nice): it fills the suite's idle moments (tests waiting on timers
        // and servers) instead of slowing the tests that need the CPU.
        const tsc = spawn("nice", ["-n", "15", process.execPath, require.resolve("typescript/bin/tsc"), "--noEmit", "-p", "."], {
            cwd: root,
        });
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
