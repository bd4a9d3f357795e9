/**
 * The Debian tools the drills run (mariadbd, redis-server, redis-sentinel): where one is
 * missing, the drill refuses before starting anything, naming the package to install.
 */
import { spawnSync } from "child_process";

/** Why `command` cannot run here (undefined: it can). Looks on PATH, then in /usr/sbin (mariadbd lives there). */
export function missingTool(command: string, debianPackage: string): string | undefined {
    const found = spawnSync("sh", ["-c", `command -v ${command} || command -v /usr/sbin/${command}`], { encoding: "utf8" });
    if (found.status === 0 && found.stdout.trim() !== "") {
        return undefined;
    }
    return `${command} is not installed: install the Debian package ${debianPackage} (apt-get install ${debianPackage}; .ci/run does this)`;
}
