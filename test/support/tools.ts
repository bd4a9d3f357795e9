/**
 * Real tools some tests drive (redis-server, promtool, cloud-init). A missing tool is a
 * failing test with a clear message, never a silent pass or a skip: .ci/run installs them.
 */
import { spawnSync } from "child_process";
import { missingTool } from "../../drill/tools";

/**
 * How a test starts one of the project's TypeScript tools as `npm run <script>` does
 * (package.json: `ts-node --swc <file>`): this Node, ts-node's CLI, SWC's transpiler.
 */
export function tsNode(...args: string[]): string[] {
    return [require.resolve("ts-node/dist/bin"), "--swc", ...args];
}

/**
 * `command args` at a lower priority (nice 10), for the CPU-heavy processes the tests start
 * and only wait on: the type check, the plan CLI's runs, the policy pack's server. In the
 * parallel run every core is busy, and the drills on real servers measure real time: a
 * healthy site must answer its probes and the writer must keep writing. Niced, the batch
 * work yields to them instead of starving them (`nice` execs the command: same pid).
 */
export function batch(command: string, args: readonly string[]): [string, string[]] {
    return ["nice", ["-n", "10", command, ...args]];
}

export function requireTool(command: string, debianPackage: string): string {
    const missing = missingTool(command, debianPackage);
    if (missing !== undefined) {
        throw new Error(missing);
    }
    return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim();
}
