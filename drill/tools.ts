/**
 * What the drills (and the backup benchmark) need of this machine: the Debian tools they run
 * (mariadbd, redis-server, redis-sentinel; where one is missing they refuse before starting
 * anything, naming the package to install), and free ports on 127.0.0.1.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";

/**
 * A TCP port free on 127.0.0.1 right now, for a server to bind next. Picked at random below
 * Linux's ephemeral range (32768-60999, net.ipv4.ip_local_port_range): a port the OS handed out
 * with listen(0) is also a port it hands to outgoing connections, and in the suite's parallel
 * run (a drill opens a connection per write) one of those took it before MariaDB bound it
 * ("Address already in use"). Falls back to the OS's pick after 50 taken tries.
 */
export async function freePort(): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
        const candidate = 20_000 + Math.floor(Math.random() * 12_000);
        // Never the same port twice in one process: two picks before either is bound would collide.
        if (!handedOut.has(candidate) && (await bindable(candidate))) {
            handedOut.add(candidate);
            return candidate;
        }
    }
    return listenAndClose(0);
}

const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
    return listenAndClose(port).then(
        () => true,
        () => false,
    );
}

async function listenAndClose(port: number): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", resolve);
    });
    const { port: bound } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return bound;
}

/** Why `command` cannot run here (undefined: it can). Looks on PATH, then in /usr/sbin (mariadbd lives there). */
export function missingTool(command: string, debianPackage: string): string | undefined {
    const found = spawnSync("sh", ["-c", `command -v ${command} || command -v /usr/sbin/${command}`], { encoding: "utf8" });
    if (found.status === 0 && found.stdout.trim() !== "") {
        return undefined;
    }
    return `${command} is not installed: install the Debian package ${debianPackage} (apt-get install ${debianPackage}; .ci/run does this)`;
}

/**
 * Where a drill keeps its servers' data: memory (/dev/shm) where the machine has room there
 * (1 GiB free: a drill takes about 75 MB, and the suite runs several at once; a container's
 * default /dev/shm is 64 MB), else the temporary directory. The drill kills processes, never
 * the machine: what a killed MariaDB wrote is in the page cache and survives it either way, so
 * the fsync at every commit (sync-binlog, flush at commit) only costs time here.
 */
export function drillWorkRoot(): string {
    try {
        fs.accessSync("/dev/shm", fs.constants.W_OK);
        const { bavail, bsize } = fs.statfsSync("/dev/shm");
        if (bavail * bsize >= 1024 ** 3) {
            return "/dev/shm";
        }
    } catch {
        // no /dev/shm here
    }
    return os.tmpdir();
}
