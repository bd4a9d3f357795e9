/**
 * What the drills (and the backup benchmark) need of this machine: the Debian tools they run
 * (mariadbd, redis-server, redis-sentinel; where one is missing they refuse before starting
 * anything, naming the package to install), and free ports on 127.0.0.1.
 */
import { spawnSync } from "child_process";
import * as net from "net";

/** A TCP port free on 127.0.0.1 right now (the OS picks it; a server then binds it). */
export async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

/** Why `command` cannot run here (undefined: it can). Looks on PATH, then in /usr/sbin (mariadbd lives there). */
export function missingTool(command: string, debianPackage: string): string | undefined {
    const found = spawnSync("sh", ["-c", `command -v ${command} || command -v /usr/sbin/${command}`], { encoding: "utf8" });
    if (found.status === 0 && found.stdout.trim() !== "") {
        return undefined;
    }
    return `${command} is not installed: install the Debian package ${debianPackage} (apt-get install ${debianPackage}; .ci/run does this)`;
}
