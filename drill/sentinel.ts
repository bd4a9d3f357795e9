/**
 * `npm run drill:sentinel -- [--runs N] [--down-after MS] [--failover-timeout MS]`: how long
 * the cache tier's Redis Sentinel failover takes, measured on this machine with the configs the
 * program renders (lib/redisConfig.ts, addresses remapped to 127.0.0.1): three redis-server
 * nodes and three sentinels (quorum 2), a Sentinel-aware client (ioredis) writing every 20 ms.
 * Each run kills the current master (SIGKILL) and measures, from the kill: the sentinels'
 * +sdown, +odown and +switch-master, and the client's first write acknowledged by the new
 * master; then restarts the old master from its config and measures until it has rejoined as a
 * replica of the new one (Sentinel reconfigures it).
 */
import { ChildProcess, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { toolArgs, usageError } from "../tools/toolArgs";
import Redis from "ioredis";
import {
    DEFAULT_DOWN_AFTER_MS,
    DEFAULT_FAILOVER_TIMEOUT_MS,
    DEFAULT_MASTER_NAME,
    renderRedisConf,
    renderSentinelConf,
} from "../lib/redisConfig";
import { freePort, missingTool } from "./tools";

const LOOPBACK = "127.0.0.1";
const MASTER = DEFAULT_MASTER_NAME;

export interface SentinelRun {
    readonly run: number;
    readonly killedPort: number;
    readonly newMasterPort?: number;
    /** Milliseconds from the kill. */
    readonly sdownMs?: number;
    readonly odownMs?: number;
    readonly switchMasterMs?: number;
    /** The client's first write acknowledged by the new master. */
    readonly firstWriteMs?: number;
    /** The old master, restarted, replicating from the new master (link up). */
    readonly rejoinedAsReplicaMs?: number;
    /** Writes the client could not make during the failover. */
    readonly failedWrites: number;
}

export interface SentinelOptions {
    readonly runs: number;
    readonly downAfterMs: number;
    readonly failoverTimeoutMs: number;
    readonly log?: (line: string) => void;
}

async function waitFor(what: string, withinMs: number, condition: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + withinMs;
    while (!(await condition().catch(() => false))) {
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
        }
        await sleep(20);
    }
}

/**
 * `o.runs` runs, each on a cluster of its own: a sentinel that took part in a failover will
 * not fail the same master over again for twice failover-timeout (Redis's Sentinel
 * documentation, failover-timeout), so back-to-back kills on one cluster would measure that
 * wait instead of the failover.
 */
export async function measureSentinelFailover(o: SentinelOptions): Promise<SentinelRun[]> {
    const results: SentinelRun[] = [];
    for (let run = 1; run <= o.runs; run++) {
        results.push(await oneRun(run, o));
    }
    return results;
}

async function oneRun(run: number, o: SentinelOptions): Promise<SentinelRun> {
    const missing = [missingTool("redis-server", "redis-server"), missingTool("redis-sentinel", "redis-sentinel")].filter(
        (m): m is string => m !== undefined,
    );
    if (missing.length > 0) {
        throw new Error(missing.join("\n"));
    }
    const log = o.log ?? (() => undefined);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-drill-"));
    const password = randomBytes(12).toString("hex");
    const redisPorts = [await freePort(), await freePort(), await freePort()];
    const sentinelPorts = [await freePort(), await freePort(), await freePort()];
    const nodes = new Map<number, ChildProcess>();
    const others: ChildProcess[] = [];
    const clients: Redis[] = [];
    const nodeConf = (i: number) => path.join(dir, `redis-${i + 1}.conf`);
    const startNode = (i: number) => {
        const child = spawn("redis-server", [nodeConf(i)], { stdio: "ignore" });
        nodes.set(redisPorts[i], child);
    };
    const admin = (port: number) => {
        const c = new Redis({ host: LOOPBACK, port, password, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
        c.on("error", () => undefined); // a node that is down is what the run waits out
        clients.push(c);
        return c;
    };
    try {
        redisPorts.forEach((port, i) => {
            const nodeDir = path.join(dir, `node-${i + 1}`);
            fs.mkdirSync(nodeDir);
            fs.writeFileSync(
                nodeConf(i),
                renderRedisConf({
                    address: LOOPBACK,
                    port,
                    masterAddress: i === 0 ? undefined : LOOPBACK,
                    masterPort: redisPorts[0],
                    maxmemoryMib: 64,
                    password,
                    dir: nodeDir,
                }),
            );
            startNode(i);
        });
        await waitFor("both replicas in sync", 15_000, async () => {
            for (const port of redisPorts.slice(1)) {
                const c = admin(port);
                await c.connect();
                const info = await c.info("replication");
                c.disconnect();
                if (!info.includes("master_link_status:up")) {
                    return false;
                }
            }
            return true;
        });
        sentinelPorts.forEach((port, i) => {
            const file = path.join(dir, `sentinel-${i + 1}.conf`);
            fs.writeFileSync(
                file,
                renderSentinelConf({
                    address: LOOPBACK,
                    port,
                    masterName: MASTER,
                    masterAddress: LOOPBACK,
                    masterPort: redisPorts[0],
                    quorum: 2,
                    password,
                    downAfterMilliseconds: o.downAfterMs,
                    failoverTimeoutMilliseconds: o.failoverTimeoutMs,
                }),
            );
            others.push(spawn("redis-sentinel", [file], { stdio: "ignore" }));
        });
        const sentinel = (port: number) => {
            const c = new Redis({ host: LOOPBACK, port, password, maxRetriesPerRequest: 1 });
            c.on("error", () => undefined);
            clients.push(c);
            return c;
        };
        const settled = async () => {
            for (const port of sentinelPorts) {
                const c = sentinel(port);
                const raw = (await c.call("SENTINEL", "master", MASTER)) as string[];
                c.disconnect();
                const fields = Object.fromEntries(raw.flatMap((v, i) => (i % 2 === 0 ? [[v, raw[i + 1]]] : [])));
                if (fields["num-slaves"] !== "2" || fields["num-other-sentinels"] !== "2" || fields.flags !== "master") {
                    return false;
                }
            }
            return true;
        };
        await waitFor("every sentinel to see 2 replicas and 2 other sentinels", 30_000, settled);

        // The application's client: Sentinel-aware, told of switches as they happen.
        const client = new Redis({
            sentinels: sentinelPorts.map((port) => ({ host: LOOPBACK, port })),
            name: MASTER,
            password,
            sentinelPassword: password,
            // No failoverDetector: in 2 of 5 runs at down-after 5000 its disconnect on
            // +switch-master raced the reconnect and ended the client for good ("end", never
            // reconnecting: ioredis 6.0.0). A lost connection asks the sentinels again anyway.
            enableOfflineQueue: false,
            maxRetriesPerRequest: 0,
            connectTimeout: 500,
            retryStrategy: () => 50,
        });
        clients.push(client);
        client.on("error", () => undefined);
        await waitFor("the client to connect", 10_000, async () => (await client.ping()) === "PONG");

        const masterPort = Number(((await sentinel(sentinelPorts[0]).call("SENTINEL", "get-master-addr-by-name", MASTER)) as string[])[1]);
        const events = new Map<string, number>();
        const watcher = sentinel(sentinelPorts[1]);
        await watcher.subscribe(
            "+sdown",
            "+odown",
            "+switch-master",
            "+try-failover",
            "+elected-leader",
            "-failover-abort-not-elected",
            "-failover-abort-no-good-slave",
            "+vote-for-leader",
        );
        watcher.on("message", (channel: string, message: string) => {
            if (message.startsWith("master ") || channel === "+switch-master") {
                events.set(channel, events.get(channel) ?? Date.now());
            }
            events.set(`${channel} (last)`, Date.now());
        });
        let failedWrites = 0;
        let firstWrite: { at: number; port: number } | undefined;
        let writing = true;
        const writer = (async () => {
            let n = 0;
            while (writing) {
                try {
                    await client.set("drill:counter", String(++n));
                    const port = client.stream?.remotePort;
                    if (firstWrite === undefined && port !== undefined && port !== masterPort) {
                        firstWrite = { at: Date.now(), port };
                    }
                } catch {
                    failedWrites++;
                }
                await sleep(20);
            }
        })();
        await sleep(200);
        const killedAt = Date.now();
        const victim = nodes.get(masterPort)!;
        victim.kill("SIGKILL");
        await new Promise((resolve) => victim.once("exit", resolve));
        log(`run ${run}: killed the master on ${masterPort}`);
        // A failed leader election (a split vote) makes every sentinel that voted wait twice
        // failover-timeout before it tries again: the worst case to wait for.
        try {
            await waitFor("a write acknowledged by the new master", o.downAfterMs + 2 * o.failoverTimeoutMs + 15_000, () =>
                Promise.resolve(firstWrite !== undefined),
            );
        } catch (err) {
            writing = false;
            const views = await Promise.all(
                sentinelPorts.map(async (port) => {
                    const raw = (await sentinel(port)
                        .call("SENTINEL", "master", MASTER)
                        .catch(() => [])) as string[];
                    const f = Object.fromEntries(raw.flatMap((v, i) => (i % 2 === 0 ? [[v, raw[i + 1]]] : [])));
                    return `sentinel ${port}: master ${f.port} flags ${f.flags} failover-state ${f["failover-state"] ?? "-"}`;
                }),
            );
            throw new Error(`${(err as Error).message}; events ${JSON.stringify([...events])}; ${views.join("; ")}`, { cause: err });
        }
        writing = false;
        await writer;
        const newMasterPort = firstWrite!.port;
        // The old master comes back with its config (a master, or a replica of the first master):
        // Sentinel must turn it into a replica of the new master.
        startNode(redisPorts.indexOf(masterPort));
        const old = admin(masterPort);
        let lastInfo = "";
        try {
            await waitFor("the old master to rejoin as a replica of the new master", 60_000, async () => {
                if (old.status !== "ready") {
                    await old.connect().catch(() => undefined);
                }
                lastInfo = await old.info("replication");
                // The master the sentinels name now: on a loaded machine they may have failed
                // over once more after the first write landed (the old master then follows that one).
                const named = (await sentinel(sentinelPorts[0])
                    .call("SENTINEL", "get-master-addr-by-name", MASTER)
                    .catch(() => undefined)) as string[] | undefined;
                const current = named?.[1] ?? String(newMasterPort);
                return (
                    lastInfo.includes("role:slave") &&
                    lastInfo.includes(`master_port:${current}`) &&
                    lastInfo.includes("master_link_status:up")
                );
            });
        } catch (err) {
            const views = await Promise.all(
                sentinelPorts.map(async (port) => {
                    const c = sentinel(port);
                    const tilt = /sentinel_tilt:(\d)/.exec(String(await c.info("sentinel").catch(() => "")))?.[1] ?? "?";
                    const raw = (await c.call("SENTINEL", "replicas", MASTER).catch(() => [])) as string[][];
                    const replicas = raw.map((r) => {
                        const f = Object.fromEntries(r.flatMap((v, i) => (i % 2 === 0 ? [[v, r[i + 1]]] : [])));
                        return `${f.port} ${f.flags} role-reported ${f["role-reported"]}`;
                    });
                    return `sentinel ${port}: tilt ${tilt}, replicas [${replicas.join(", ")}]`;
                }),
            );
            const role = lastInfo.split(/\r?\n/).filter((l) => /^(role|master_port|master_link_status):/.test(l));
            throw new Error(
                `${(err as Error).message}; old master (${masterPort}) ${role.join(" ") || `not answering (${old.status})`}; ${views.join("; ")}`,
                {
                    cause: err,
                },
            );
        }
        const rejoinedAt = Date.now();
        old.disconnect();
        watcher.disconnect();
        const since = (t?: number) => (t === undefined ? undefined : t - killedAt);
        const result: SentinelRun = {
            run,
            killedPort: masterPort,
            newMasterPort,
            sdownMs: since(events.get("+sdown")),
            odownMs: since(events.get("+odown")),
            switchMasterMs: since(events.get("+switch-master")),
            firstWriteMs: since(firstWrite!.at),
            rejoinedAsReplicaMs: rejoinedAt - killedAt,
            failedWrites,
        };
        log(`run ${run}: new master ${newMasterPort}, first write after ${since(firstWrite!.at)} ms`);
        return result;
    } finally {
        clients.forEach((c) => c.disconnect());
        for (const p of [...nodes.values(), ...others]) {
            if (p.exitCode === null && p.signalCode === null) {
                p.kill("SIGKILL");
                await new Promise((resolve) => p.once("exit", resolve));
            }
        }
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The runs as a table, with the median and worst of each column. */
export function sentinelTable(runs: readonly SentinelRun[], o: SentinelOptions): string {
    const cols: [string, (r: SentinelRun) => number | undefined][] = [
        ["+sdown", (r) => r.sdownMs],
        ["+odown", (r) => r.odownMs],
        ["+switch-master", (r) => r.switchMasterMs],
        ["first write on new master", (r) => r.firstWriteMs],
        ["old master rejoined as replica", (r) => r.rejoinedAsReplicaMs],
    ];
    const cell = (v: number | undefined) => (v === undefined ? "-" : `${(v / 1000).toFixed(2)} s`);
    const stat = (values: number[], pick: "median" | "worst") => {
        const sorted = [...values].sort((a, b) => a - b);
        return sorted.length === 0 ? undefined : pick === "worst" ? sorted[sorted.length - 1] : sorted[Math.floor((sorted.length - 1) / 2)];
    };
    const lines = [
        `down-after-milliseconds ${o.downAfterMs}, failover-timeout ${o.failoverTimeoutMs}, quorum 2 of 3 sentinels, ${runs.length} run(s); times from the master's SIGKILL`,
        ["run", ...cols.map(([name]) => name), "failed writes"].join(" | "),
        ...runs.map((r) => [String(r.run), ...cols.map(([, f]) => cell(f(r))), String(r.failedWrites)].join(" | ")),
        ...(["median", "worst"] as const).map((pick) =>
            [
                pick,
                ...cols.map(([, f]) =>
                    cell(
                        stat(
                            runs.map(f).filter((v): v is number => v !== undefined),
                            pick,
                        ),
                    ),
                ),
                "",
            ].join(" | "),
        ),
    ];
    return lines.join("\n");
}

const USAGE = `usage: npm run drill:sentinel -- [--runs N] [--down-after MS] [--failover-timeout MS]

How long Redis Sentinel's failover of the cache tier takes on this machine (three redis-server
nodes, three sentinels, the configs the program renders, on 127.0.0.1). Prints a Markdown table.

  --runs N                kills of the master, one after another (default 5)
  --down-after MS         Sentinel's down-after-milliseconds (default ${DEFAULT_DOWN_AFTER_MS})
  --failover-timeout MS   Sentinel's failover-timeout (default ${DEFAULT_FAILOVER_TIMEOUT_MS})
  --help                  this text`;

if (require.main === module) {
    const values = toolArgs("drill:sentinel", USAGE, {
        runs: { type: "string" },
        "down-after": { type: "string" },
        "failover-timeout": { type: "string" },
    });
    const num = (flag: string, raw: string | undefined, fallback: number, min: number) => {
        const v = raw === undefined ? fallback : Number(raw);
        if (!Number.isInteger(v) || v < min) {
            usageError("drill:sentinel", `--${flag} ${JSON.stringify(raw)}: expected a whole number of at least ${min}`);
        }
        return v;
    };
    const options: SentinelOptions = {
        runs: num("runs", values.runs, 5, 1),
        downAfterMs: num("down-after", values["down-after"], DEFAULT_DOWN_AFTER_MS, 100),
        failoverTimeoutMs: num("failover-timeout", values["failover-timeout"], DEFAULT_FAILOVER_TIMEOUT_MS, 1000),
        log: (line) => process.stderr.write(`${line}\n`),
    };
    measureSentinelFailover(options).then(
        (runs) => {
            process.stdout.write(`${sentinelTable(runs, options)}\n`);
            process.exit(0);
        },
        (err: Error) => {
            process.stderr.write(`drill:sentinel: ${err.message}\n`);
            process.exit(1);
        },
    );
}
