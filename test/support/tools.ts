/**
 * Real tools some tests drive (redis-server, promtool, cloud-init). A missing tool is a
 * failing test with a clear message, never a silent pass or a skip: .ci/run installs them.
 */
import { spawnSync } from "child_process";

export function requireTool(command: string, debianPackage: string): string {
    const found = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
    const path = found.stdout.trim();
    if (found.status !== 0 || path === "") {
        throw new Error(
            `${command} is not installed: install the Debian package ${debianPackage} (apt-get install ${debianPackage}; .ci/run does this)`,
        );
    }
    return path;
}
