/**
 * Real tools some tests drive (redis-server, promtool, cloud-init). A missing tool is a
 * failing test with a clear message, never a silent pass or a skip: .ci/run installs them.
 */
import { spawnSync } from "child_process";
import { missingTool } from "../../drill/tools";

export function requireTool(command: string, debianPackage: string): string {
    const missing = missingTool(command, debianPackage);
    if (missing !== undefined) {
        throw new Error(missing);
    }
    return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim();
}
