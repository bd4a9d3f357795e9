/**
 * One disaster-recovery drill on this machine: two MariaDB servers replicating with GTIDs
 * (primary -> dr), a web endpoint per site, a network in front of the primary site and its
 * database that can be blackholed, a virtual IP that forwards to one site, the real
 * controller (failover/controller.ts, unchanged) with the drill's adapters, and a writer
 * sending numbered orders through the virtual IP. A fault is injected; the controller decides
 * and acts; the drill then counts what was acknowledged, what the DR site has, and what the
 * old primary accepted after the fence.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { createConnection } from "mysql2/promise";
import { Controller, Outcome } from "../failover/controller";
import type { FailoverReport } from "../failover/core/ports";
import { HttpProbe, Probe, ProbeResult } from "../failover/probes/http";
import { writerHealthQuery } from "../failover/agent/fence";
import { APP_DB_USER } from "../lib/failoverNaming";
import { drillAdapters, DrillNotifier } from "./adapters";
import { DRILL_LEASE_TIMING, DrillLease } from "./lease";
import { MariaDb, mariaDbInstalled } from "./mariadb";
import { TcpProxy } from "./proxy";
import { DrillSite } from "./site";
import { freePort } from "./tools";
import { Writer, WriteRecord } from "./writer";

export const FAULTS = ["db-kill", "site-kill", "blackhole", "slow", "lag", "partition-standby", "lease-isolation", "agent-stop"] as const;
export type Fault = (typeof FAULTS)[number];

/**
 * The faults run with the writer lease (drill/lease.ts): the agents beside both databases, the
 * application on its own fenced account, the controller taking the lease before it acts, and the
 * shoppers reaching the primary through the virtual IP apart from the standby's network. The
 * others still run the earlier world (no lease) until they are moved over.
 */
export const LEASE_FAULTS: readonly Fault[] = ["partition-standby", "lease-isolation", "agent-stop"];

/** The faults that must not fail over. */
export const NO_FAILOVER_FAULTS: readonly Fault[] = ["slow", "partition-standby"];

export const FAULT_DESCRIPTIONS: Record<Fault, string> = {
    "db-kill": "the primary's database killed (SIGKILL)",
    "site-kill": "the whole primary site killed: its web endpoint and its database",
    blackhole: "the network to the primary site and its database blackholed (connections accepted, nothing answered)",
    slow: "the primary site slow, but within the probe timeout (no failover is due)",
    lag: "replication lag built up before the database is killed (the RPO guard must hold the promotion)",
    "partition-standby":
        "the standby's network to the primary cut (its probes and replication), while shoppers still reach the primary through the virtual IP (no failover is due)",
    "lease-isolation": "the primary's writer agent cut off from the lease store while shoppers still reach the primary",
    "agent-stop": "the primary's writer agent stopped (a dead function): nothing renews the lease",
};

export interface DrillOptions {
    readonly fault: Fault;
    readonly intervalMs: number;
    readonly maxFail: number;
    /** Failed vantage points (of three) that make a round fail. */
    readonly quorum: number;
    readonly writesPerSecond: number;
    /** The whole drill, from the first write. */
    readonly durationMs: number;
    /** When the fault is injected, from the first write. */
    readonly faultAtMs: number;
    /** The RPO budget (the controller's --max-lag). */
    readonly maxLagSeconds: number;
    /** With the `lag` fault: how far the replica is kept behind (MASTER_DELAY). */
    readonly lagSeconds: number;
    /**
     * With the `lag` fault: once the RPO guard holds, the drill acts as the operator and runs
     * `failover --accept-data-loss` (the writes not yet applied on DR are lost: the RPO).
     */
    readonly acceptDataLoss?: boolean;
    /** Where the servers' data lives (a temporary directory by default; removed afterwards). */
    readonly workDir?: string;
    /** Progress lines. */
    readonly log?: (line: string) => void;
}

export interface TimelineEvent {
    readonly at: number;
    readonly event: string;
    readonly [field: string]: unknown;
}

export interface DrillResult {
    readonly options: DrillOptions;
    readonly startedAt: number;
    readonly faultAt: number;
    readonly endedAt: number;
    readonly outcome: Outcome | "stopped";
    readonly timeline: readonly TimelineEvent[];
    readonly writes: readonly WriteRecord[];
    /** Order IDs in the DR database at the end. */
    readonly onDr: readonly number[];
    /** Order IDs in the old primary's database at the end, with the commit time (ms). */
    readonly onOldPrimary: readonly { readonly id: number; readonly committedAt: number }[];
    /** With the writer lease: when the controller took it (the commit point: no write on the old writer after it). */
    readonly leaseTakenAt?: number;
    /** With the writer lease: writes sent straight to the primary's origin (an in-region client), bypassing the virtual IP. */
    readonly originWrites?: readonly WriteRecord[];
    readonly report?: FailoverReport;
}

/** A vantage point on the primary's database: a TCP connection and `SELECT 1`, through the drill's network. */
class DatabaseProbe implements Probe {
    constructor(
        readonly name: string,
        private readonly port: number,
        private readonly user: { user: string; password: string },
    ) {}
    get target(): string {
        return `mysql://127.0.0.1:${this.port}`;
    }
    async check(timeoutMs: number): Promise<ProbeResult> {
        const started = Date.now();
        const result = (ok: boolean, error?: string): ProbeResult => ({
            name: this.name,
            target: this.target,
            ok,
            latencyMs: Date.now() - started,
            ...(ok ? {} : { reason: error === "timeout" ? ("timeout" as const) : ("error" as const), error }),
        });
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<ProbeResult>((resolve) => {
            timer = setTimeout(() => resolve(result(false, "timeout")), timeoutMs);
        });
        const attempt = (async () => {
            const c = await createConnection({ host: "127.0.0.1", port: this.port, ...this.user, connectTimeout: timeoutMs });
            try {
                await c.query({ sql: "SELECT 1", timeout: timeoutMs });
                return result(true);
            } finally {
                c.destroy();
            }
        })().catch((err: Error) => result(false, err.message));
        const answer = await Promise.race([attempt, timeout]);
        clearTimeout(timer);
        return answer;
    }
}

/** Problems with the options, each naming the option, the value and what is allowed. */
export function drillOptionProblems(o: DrillOptions): string[] {
    const problems: string[] = [];
    const check = (name: string, value: number, ok: boolean, allowed: string) => {
        if (!ok) {
            problems.push(`--${name} ${value}: expected ${allowed}`);
        }
    };
    if (!FAULTS.includes(o.fault)) {
        problems.push(`--fault ${JSON.stringify(o.fault)}: expected one of ${FAULTS.join(", ")}`);
    }
    check("interval", o.intervalMs / 1000, o.intervalMs >= 50 && o.intervalMs <= 30_000, "from 0.05 to 30 seconds");
    check("max-fail", o.maxFail, Number.isInteger(o.maxFail) && o.maxFail >= 1 && o.maxFail <= 20, "a whole number from 1 to 20");
    check(
        "quorum",
        o.quorum,
        Number.isInteger(o.quorum) && o.quorum >= 1 && o.quorum <= 3,
        "a whole number from 1 to 3 (three vantage points)",
    );
    check("rate", o.writesPerSecond, o.writesPerSecond > 0 && o.writesPerSecond <= 500, "from 1 to 500 writes per second");
    check(
        "fault-at",
        o.faultAtMs / 1000,
        o.faultAtMs >= 500 && o.faultAtMs < o.durationMs,
        "at least 0.5 s and before the end of the drill",
    );
    check("duration", o.durationMs / 1000, o.durationMs <= 600_000, "at most 600 seconds");
    const leaseMs = LEASE_FAULTS.includes(o.fault) ? DRILL_LEASE_TIMING.leaseMs + DRILL_LEASE_TIMING.takeoverWaitMs + 1500 : 0;
    const budget = Math.max(o.intervalMs * o.maxFail, leaseMs) + o.intervalMs / 2 + 1500;
    if (o.durationMs - o.faultAtMs < budget) {
        problems.push(
            `--duration ${o.durationMs / 1000}: leaves ${(o.durationMs - o.faultAtMs) / 1000} s after the fault; the controller needs about ${budget / 1000} s (interval x max-fail, then the steps)`,
        );
    }
    check("max-lag", o.maxLagSeconds, o.maxLagSeconds >= 0, "0 or more seconds");
    if (o.fault === "lag") {
        check("lag", o.lagSeconds, o.lagSeconds > o.maxLagSeconds, `more than --max-lag (${o.maxLagSeconds})`);
    } else if (o.acceptDataLoss) {
        problems.push(`--accept-data-loss: only with --fault lag (the other faults are not held by the RPO guard)`);
    }
    return problems;
}

export async function runDrill(options: DrillOptions): Promise<DrillResult> {
    const problems = [...[mariaDbInstalled()].filter((p): p is string => p !== undefined), ...drillOptionProblems(options)];
    if (problems.length > 0) {
        throw new Error(`the drill cannot run:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    const log = options.log ?? (() => undefined);
    const work = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "drill-"));
    const password = randomBytes(12).toString("hex");
    const timeline: TimelineEvent[] = [];
    const note = (event: string, fields: Record<string, unknown> = {}) => timeline.push({ at: Date.now(), event, ...fields });
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
        // --- the two databases, replicating --------------------------------------------------
        const [primaryPort, drPort] = [await freePort(), await freePort()];
        const primaryDb = new MariaDb({ dir: path.join(work, "primary-db"), port: primaryPort, serverId: 1, password });
        const drDb = new MariaDb({ dir: path.join(work, "dr-db"), port: drPort, serverId: 2, password });
        cleanups.push(
            () => primaryDb.destroy(),
            () => drDb.destroy(),
        );
        primaryDb.install();
        drDb.install();
        await Promise.all([primaryDb.start(), drDb.start()]);
        // The network between the world and the primary's database (replication and the fence use it too).
        const primaryDbNetwork = await new TcpProxy("primary-db-network", { kind: "forward", port: primaryPort }).start();
        cleanups.push(() => primaryDbNetwork.close());
        await primaryDb.setUpAsPrimary();
        await drDb.setUpAsReplicaOf(primaryDb, primaryDbNetwork.port);
        await waitFor(async () => (await drDb.sql("SHOW TABLES IN shop")).length === 2, 10_000, "the DR database to replicate the schema");
        log(`databases: primary 127.0.0.1:${primaryPort}, dr 127.0.0.1:${drPort} (replicating by GTID)`);

        // --- the writer lease: a store, an agent beside each database --------------------------
        const leased = LEASE_FAULTS.includes(options.fault);
        let lease: DrillLease | undefined;
        if (leased) {
            lease = await new DrillLease((event, fields) => note(event, fields), password).start();
            cleanups.push(() => lease!.close());
            const agentsUntil = performance.now() + options.durationMs + 30_000;
            lease.startAgent("primary", primaryDb, lease.agentPath.port, agentsUntil);
            lease.startAgent("dr", drDb, lease.controllerPath.port, agentsUntil);
            // The application's account opens once the primary's agent holds the lease.
            await waitFor(
                async () => {
                    const c = await createConnection(primaryDb.appConnection(APP_DB_USER));
                    await c.end();
                    return true;
                },
                10_000,
                "the primary's writer agent to open the application's account",
            );
            log(`writer lease: agents beside both databases, the application on ${APP_DB_USER}`);
        }

        // --- the sites, the network, the virtual IP --------------------------------------------
        const [primaryApp, drApp] = leased
            ? [primaryDb.appConnection(APP_DB_USER), drDb.appConnection(APP_DB_USER)]
            : [primaryDb.shopConnection(), drDb.shopConnection()];
        const health = leased ? writerHealthQuery() : undefined;
        const primarySite = await new DrillSite("primary", primaryApp, health).start();
        const drSite = await new DrillSite("dr", drApp, health).start();
        cleanups.push(
            () => primarySite.close(),
            () => drSite.close(),
        );
        const primarySiteNetwork = await new TcpProxy("primary-site-network", { kind: "forward", port: primarySite.port }).start();
        // With the writer lease the shoppers' path to the primary (the virtual IP) is not the
        // standby's network to it: partition-standby cuts the one and leaves the other.
        const shoppersToPrimary = leased ? primarySite.port : primarySiteNetwork.port;
        const front = await new TcpProxy("virtual-ip", { kind: "forward", port: shoppersToPrimary }).start();
        cleanups.push(
            () => primarySiteNetwork.close(),
            () => front.close(),
        );
        log(`virtual IP 127.0.0.1:${front.port} -> primary site ${primarySite.url}; dr site ${drSite.url}`);

        // --- the controller, unchanged, with the drill's adapters --------------------------------
        const notifier = new DrillNotifier();
        const adapters = drillAdapters({
            front,
            sites: { primary: shoppersToPrimary, dr: drSite.port },
            database: { oldWriter: primaryDb.adminConnection(primaryDbNetwork.port), standby: drDb.adminConnection() },
            notifier,
            statePath: path.join(work, "controller", "state.json"),
        });
        const timeoutMs = Math.max(25, Math.floor(options.intervalMs / 2));
        const probes: Probe[] = [
            new HttpProbe("site-direct", `http://127.0.0.1:${primarySiteNetwork.port}/health`),
            new HttpProbe("virtual-ip", `http://127.0.0.1:${front.port}/health`),
            new DatabaseProbe("database", primaryDbNetwork.port, { user: "shop", password }),
        ];
        const stop = new AbortController();
        const controller = new Controller(
            {
                adapters: lease !== undefined ? { ...adapters, writerLease: lease.controllerStore() } : adapters,
                probes,
                emit: (event, fields) => note(event, fields),
                signal: stop.signal,
            },
            {
                roles: { region: "dr", writerRegion: "primary" },
                thresholds: { maxFail: options.maxFail, quorum: options.quorum },
                intervalMs: options.intervalMs,
                timeoutMs,
                maxLagSeconds: options.maxLagSeconds,
                lagWaitMs: Math.min(2000, options.intervalMs * 2),
                retries: 2,
                retryDelayMs: 100,
                promoteTimeoutMs: 10_000,
                dryRun: false,
                leaseTiming: DRILL_LEASE_TIMING,
            },
        );
        // The lag fault: the replica kept behind until its lag, as the controller reads it, is
        // over the budget.
        if (options.fault === "lag") {
            await drDb.delayReplication(options.lagSeconds);
            await waitFor(
                async () => ((await adapters.database.readLag({} as never)).seconds ?? 0) > options.maxLagSeconds,
                (options.maxLagSeconds + 5) * 1000,
                "the replica's lag to exceed --max-lag",
            );
            note("drill", { phase: `replica ${options.lagSeconds} s behind; lag over the ${options.maxLagSeconds} s budget` });
        }

        // --- the drill ------------------------------------------------------------------------
        const writer = new Writer(front.port, options.writesPerSecond);
        // With the lease, an in-region client writes to the primary's origin too, bypassing the
        // virtual IP: only the database's fence can stop it.
        const originWriter = leased
            ? new Writer(primarySite.port, Math.max(1, Math.floor(options.writesPerSecond / 4)), 1000, 1_000_000)
            : undefined;
        // Whatever happens below, the writer and the controller stop before the servers do.
        cleanups.push(
            () => writer.stop(),
            () => originWriter?.stop() ?? Promise.resolve(),
            () => Promise.resolve(stop.abort(new Error("the drill stopped"))),
        );
        const startedAt = Date.now();
        note("drill", { phase: "writes start" });
        writer.start();
        originWriter?.start();
        const watching = controller.watch(undefined, startedAt + options.durationMs).catch((err: Error) => {
            note("controller-error", { error: err.message });
            return "stopped" as const;
        });
        await sleep(Math.max(0, startedAt + options.faultAtMs - Date.now()));
        const faultAt = Date.now();
        note("fault", { fault: options.fault, description: FAULT_DESCRIPTIONS[options.fault] });
        log(`fault: ${FAULT_DESCRIPTIONS[options.fault]}`);
        await inject(options, { primaryDb, primarySite, primarySiteNetwork, primaryDbNetwork, timeoutMs, lease });

        // The watch ends by the drill's end (absolute) and starts no round that could outlast it.
        // Cutting it off at exactly that end made a watch that ran its course ("elapsed") read as
        // "stopped" whenever its last round or the event loop ran late on a loaded machine. One
        // interval plus one probe timeout of grace covers that lateness; a watch still running
        // after it (say, stuck in a step) is stopped and reported as such.
        const watchGraceMs = options.intervalMs + timeoutMs;
        let outcome: DrillResult["outcome"] = await Promise.race([
            watching,
            sleep(Math.max(0, startedAt + options.durationMs + watchGraceMs - Date.now())).then(() => "stopped" as const),
        ]);
        if (outcome === "held" && options.acceptDataLoss) {
            note("drill", { phase: "the operator accepts the data loss: failover --accept-data-loss" });
            log("the RPO guard holds; as the operator: failover --accept-data-loss");
            outcome = await controller.failover(true);
        }
        // Keep writing to the end of the drill (the DR site serving), then stop everything.
        await sleep(Math.max(0, startedAt + options.durationMs - Date.now()));
        stop.abort(new Error("the drill ended"));
        await Promise.all([writer.stop(), originWriter?.stop()]);
        await watching;
        const endedAt = Date.now();
        note("drill", { phase: "writes stop", outcome });
        log(`controller: ${outcome}`);

        // --- what each database holds -------------------------------------------------------
        const onDr = (await drDb.sql<{ id: number }[]>("SELECT id FROM shop.orders ORDER BY id")).map((r) => Number(r.id));
        await primarySite.close();
        if (!primaryDb.running) {
            await primaryDb.start(); // its data survived the kill (sync-binlog, flush at commit): count it
        }
        const committed = await primaryDb.sql<{ id: number; committedAt: string }[]>(
            "SELECT id, UNIX_TIMESTAMP(committed_at) * 1000 AS committedAt FROM shop.orders ORDER BY id",
        );
        const onOldPrimary = committed.map((r) => ({ id: Number(r.id), committedAt: Number(r.committedAt) }));
        return {
            options,
            startedAt,
            faultAt,
            endedAt,
            outcome,
            timeline,
            writes: writer.writes,
            onDr,
            onOldPrimary,
            report: notifier.reports[0],
            ...(leased
                ? {
                      leaseTakenAt: timeline.find((e) => e.event === "action" && e.action === "take-lease" && e.status === "succeeded")?.at,
                      originWrites: originWriter?.writes ?? [],
                  }
                : {}),
        };
    } finally {
        for (const cleanup of cleanups.reverse()) {
            await cleanup().catch(() => undefined);
        }
        if (options.workDir === undefined) {
            fs.rmSync(work, { recursive: true, force: true });
        }
    }
}

async function inject(
    options: DrillOptions,
    w: {
        primaryDb: MariaDb;
        primarySite: DrillSite;
        primarySiteNetwork: TcpProxy;
        primaryDbNetwork: TcpProxy;
        timeoutMs: number;
        lease?: DrillLease;
    },
): Promise<void> {
    switch (options.fault) {
        case "partition-standby":
            // The standby's view of the primary: its direct probes and replication. The shoppers'
            // path (the virtual IP) and the agent's path to the lease store stay up.
            w.primarySiteNetwork.set({ kind: "blackhole" });
            w.primaryDbNetwork.set({ kind: "blackhole" });
            return;
        case "lease-isolation":
            w.lease!.agentPath.set({ kind: "blackhole" });
            return;
        case "agent-stop":
            w.lease!.stopPrimaryAgent();
            return;
        case "db-kill":
        case "lag":
            await w.primaryDb.kill();
            return;
        case "site-kill":
            await Promise.all([w.primaryDb.kill(), w.primarySite.close()]);
            return;
        case "blackhole":
            w.primarySiteNetwork.set({ kind: "blackhole" });
            w.primaryDbNetwork.set({ kind: "blackhole" });
            return;
        case "slow":
            // Slow, but well within the probe timeout: a healthy site that must not be failed over.
            w.primarySite.slowDown(Math.floor(w.timeoutMs * 0.4));
            return;
    }
}

async function waitFor(condition: () => Promise<boolean>, withinMs: number, what: string): Promise<void> {
    const deadline = Date.now() + withinMs;
    while (!(await condition().catch(() => false))) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await sleep(50);
    }
}
