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

export function requireTool(command: string, debianPackage: string): string {
    const missing = missingTool(command, debianPackage);
    if (missing !== undefined) {
        throw new Error(missing);
    }
    return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim();
}
