/**
 * One disaster-recovery drill on this machine: two MariaDB servers replicating with GTIDs
 * (primary -> dr), a web endpoint per site, a network in front of the primary site and its
 * database that can be cut, a virtual IP that forwards to one site, the writer lease
 * (drill/lease.ts: a lease store, a writer agent beside each database, the database's own
 * fence), a witness looking through the virtual IP, the real controller
 * (failover/controller.ts, unchanged) with the drill's adapters, a writer sending numbered
 * orders through the virtual IP and an in-region client writing to the primary's origin. A
 * fault is injected; the controller decides and acts; the drill then counts what was
 * acknowledged, what the DR site has, and what the old primary accepted after the lease was
 * taken.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { createConnection } from "mysql2/promise";
import { Controller, ControllerOptions, Outcome } from "../failover/controller";
import type { FailoverReport } from "../failover/core/ports";
import type { WriterLeaseRecord } from "../failover/core/writerLease";
import { HttpProbe, Probe, ProbeResult } from "../failover/probes/http";
import { writerHealthQuery } from "../failover/agent/fence";
import { APP_DB_USER } from "../lib/failoverNaming";
import { ADMIN_TIMEOUT_MS, drillAdapters, DrillNotifier } from "./adapters";
import { ClockSkew, SkewedClock, TRUE_TIME } from "./clock";
import { defaultWitnessMaxAgeSeconds } from "../failover/core/settings";
import type { LeaseTransition } from "./agent";
import { DRILL_DATABASE_GRACE_MS, DRILL_LEASE_TIMING, DRILL_RESTART_MS, DrillLease } from "./lease";
import { MariaDb, mariaDbInstalled } from "./mariadb";
import { TcpProxy } from "./proxy";
import { DrillSite } from "./site";
import { drillWorkRoot, freePort } from "./tools";
import { Writer, WriteRecord } from "./writer";

export const FAULTS = [
    "db-kill",
    "site-kill",
    "blackhole",
    "slow",
    "lag",
    "partition-standby",
    "lease-isolation",
    "agent-stop",
    "region-isolation",
    "clock-skew",
    "clock-broken",
    "agent-freeze",
    "lease-answers-lost",
    "in-region-restart",
    "witness-down",
    "witness-down-crash",
    "crash-load",
    "hold-clears",
    "abort",
    "switchover",
] as const;
export type Fault = (typeof FAULTS)[number];

/** The faults that must not fail over. */
export const NO_FAILOVER_FAULTS: readonly Fault[] = [
    "slow",
    "partition-standby",
    "lease-answers-lost",
    "in-region-restart",
    "witness-down",
];

/** The faults in which the primary's database goes away while its agent runs: the agent keeps the lease for its grace first. */
const DATABASE_DOWN_FAULTS: readonly Fault[] = ["db-kill", "lag", "crash-load"];

/** The faults whose replica is kept `--lag` behind (MASTER_DELAY) from the start, so a failover's loss window is over the budget. */
export const REPLICA_BEHIND_FAULTS: readonly Fault[] = ["lag", "hold-clears"];

/** The faults that decide to fail over and must not promote: held with nothing changed, or aborted before the promotion. */
export const NO_PROMOTION_FAULTS: readonly Fault[] = ["hold-clears", "abort"];

/** crash-load: how many times the configured write rate (through the virtual IP and to the origin). */
export const LOAD_FACTOR = 4;

/**
 * The faults that break the timing on purpose: the invariant checker must catch the violation
 * (a drill whose checker cannot fail proves nothing).
 */
export const VIOLATION_FAULTS: readonly Fault[] = ["clock-broken"];

/**
 * Each process's clock per fault (drill/clock.ts). clock-skew: the controller 60 s ahead and 10 %
 * fast, the primary's agent 60 s behind and 10 % slow; within the timing (it tolerates a rate
 * error up to 17.5 % at the drill's numbers, 13.3 % deployed). clock-broken: the controller's
 * clock twenty-five times fast, far past it: it takes the lease while the old writer is still open.
 */
export const FAULT_CLOCKS: Partial<Record<Fault, { readonly controller: ClockSkew; readonly primaryAgent: ClockSkew }>> = {
    "clock-skew": { controller: { offsetMs: 60_000, rate: 1.1 }, primaryAgent: { offsetMs: -60_000, rate: 0.9 } },
    "clock-broken": { controller: { offsetMs: 0, rate: 25 }, primaryAgent: TRUE_TIME },
};

/** region-isolation and the clock faults: when the agent's path is cut, after the standby's view (max-fail rounds and one more). */
export function regionCutStepMs(o: Pick<DrillOptions, "intervalMs" | "maxFail">): number {
    return o.intervalMs * (o.maxFail + 1);
}

/** How long the witness's post may stay unchanged before the controller hears silence: the deployed default, in the drill's rounds. */
export function witnessMaxAgeMs(o: Pick<DrillOptions, "intervalMs">): number {
    return defaultWitnessMaxAgeSeconds(o.intervalMs / 1000) * 1000;
}

/**
 * witness-down-crash: how long the witness is cut off before the primary site is killed: past
 * its last post's freshness bound, counted from when the controller first saw that post (up to
 * a round and a probe timeout after it was posted).
 */
export function witnessSilentMs(o: Pick<DrillOptions, "intervalMs">): number {
    return witnessMaxAgeMs(o) + o.intervalMs + probeTimeoutMs(o);
}

/** Each vantage point's timeout: half a round. */
export function probeTimeoutMs(o: Pick<DrillOptions, "intervalMs">): number {
    return Math.max(25, Math.floor(o.intervalMs / 2));
}

/** agent-freeze: how long the primary's agent stays stopped (SIGSTOP), past the lease and the takeover. */
export const FREEZE_MS = 5000;

export const FAULT_DESCRIPTIONS: Record<Fault, string> = {
    "db-kill": `the primary's database killed (SIGKILL); its agent keeps the lease for its ${DRILL_DATABASE_GRACE_MS / 1000} s grace, then lets it lapse`,
    "site-kill": "the whole primary site killed: its web endpoint, its database and its writer agent",
    blackhole:
        "the primary region blackholed (connections accepted, nothing answered): its site, its database, the shoppers' path and its agent's path to the lease store",
    slow: "the primary site slow, but within the probe timeout (no failover is due)",
    lag: "the replica kept --lag behind, then the database killed: the loss window is over the budget, so the failover must hold with nothing changed (with --accept-loss, then fail over inside the stated window)",
    "partition-standby":
        "the standby's network to the primary cut (its probes and replication), while shoppers still reach the primary through the virtual IP (no failover is due)",
    "lease-isolation": "the primary's writer agent cut off from the lease store while shoppers still reach the primary",
    "agent-stop": "the primary's writer agent stopped (a dead function): nothing renews the lease",
    "region-isolation":
        "the primary region cut off in two steps (connections to its site and its database refused, then its agent's to the lease store) while clients inside the region still write to its origin",
    "clock-skew":
        "region-isolation, with the controller's clock 60 s ahead and 10 % fast and the primary agent's 60 s behind and 10 % slow",
    "clock-broken":
        "the standby's view of the primary cut (its site, its database and the shoppers' path refused) while the primary's agent still renews, with the controller's clock running twenty-five times fast: it takes a live writer's lease (the invariant checker must catch it)",
    "agent-freeze": `the primary's writer agent, a process of its own, frozen (SIGSTOP) for ${FREEZE_MS / 1000} s, past the lease and the takeover, then resumed (SIGCONT)`,
    "lease-answers-lost":
        "one-way loss: the primary agent's renewals reach the lease store, the answers never come back (the lease stays renewed, the database closes itself)",
    "in-region-restart": `the primary's database down ${DRILL_RESTART_MS / 1000} s and back (an RDS Multi-AZ failover, scaled: within the agent's ${DRILL_DATABASE_GRACE_MS / 1000} s grace)`,
    "witness-down":
        "the witness stops (a function that no longer runs) while the primary is healthy, and the standby's direct view of the site is cut: the silent witness abstains, so one failed vantage point fails no round (no failover is due)",
    "witness-down-crash":
        "the witness cut off from the lease store (its posts age), then the whole primary site killed: the two other vantage points fail over without it",
    "crash-load": `the primary's database killed under ${LOAD_FACTOR} times the write rate, through the virtual IP and to its origin: every acknowledged write on DR or inside the stated loss window (I2)`,
    "hold-clears":
        "the replica kept --lag behind, then the primary's writer agent stopped: the loss window is over the budget, so the failover holds with nothing changed; the agent is started again, renews, and the hold clears by itself (I4)",
    switchover:
        "no fault: a planned switchover under load (the operator's `failover switchover`): the primary seals itself and publishes its final heartbeat, DR takes the lease once its replica applied it; no acknowledged write may be lost (RPO exactly 0)",
    abort: "the primary's agent cut off from the lease store and the virtual IP refusing changes: the failover takes the lease and stops at its fence, short of the promotion; the path comes back and the operator aborts: the lease goes back, the old writer reopens and serves (I4)",
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
     * With the `lag` fault: once the failover is held (nothing changed), the drill acts as the
     * operator and runs `failover --accept-loss S` with the window the hold stated (the writes
     * not yet applied on DR are lost, inside that window).
     */
    readonly acceptLoss?: boolean;
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
    readonly outcome: Outcome | "stopped" | "aborted";
    readonly timeline: readonly TimelineEvent[];
    readonly writes: readonly WriteRecord[];
    /** Order IDs in the DR database at the end. */
    readonly onDr: readonly number[];
    /** Order IDs in the old primary's database at the end, with the commit time (ms). */
    readonly onOldPrimary: readonly { readonly id: number; readonly committedAt: number }[];
    /** When the controller took the writer lease (the commit point: no write on the old writer after it); undefined if it never did. */
    readonly leaseTakenAt?: number;
    /** Writes sent straight to the primary's origin (an in-region client), bypassing the virtual IP. */
    readonly originWrites: readonly WriteRecord[];
    /** Every write to the writer lease, by the agents and the controller. */
    readonly leaseHistory: readonly LeaseTransition[];
    /**
     * When the old writer stopped taking application writes: by its own record (its fence's
     * fenced_at, on its database's clock), or when the drill killed it (a database killed and
     * not started again takes nothing); undefined while it was open at the end.
     */
    readonly oldWriterClosedAt?: number;
    /** The lease as its store held it at the end. */
    readonly leaseAtEnd?: WriterLeaseRecord;
    readonly report?: FailoverReport;
    /** The world when a failover was held, before the operator acted (I4: nothing changed). */
    readonly heldWorld?: WorldSnapshot;
    /** The world at the end of the drill, before anything was torn down. */
    readonly worldAtEnd: WorldSnapshot;
}

/** What a hold or an abort must leave as it was (invariant I4), looked at from outside. */
export interface WorldSnapshot {
    readonly at: number;
    /** The lease's holder and epoch, as its store says. */
    readonly leaseHolder?: string;
    readonly leaseEpoch?: number;
    /** The site the virtual IP forwards to (none: it refuses). */
    readonly virtualIpServes?: string;
    /** DR is still a replica (not promoted). */
    readonly drIsReplica: boolean;
    /** The old writer's database: running, read_only, and whether its application account logs in (its fence open). */
    readonly oldWriter: { readonly running: boolean; readonly readOnly?: boolean; readonly appLogsIn?: boolean };
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
    // The lease lapses, the taker waits it out, then the steps; first the agent's grace where its database is down.
    // A switchover waits for no lapse: a renewal's turn to seal, the replica to apply the final beat, the steps.
    const leaseMs =
        o.fault === "switchover"
            ? DRILL_LEASE_TIMING.leaseMs
            : DRILL_LEASE_TIMING.leaseMs +
              DRILL_LEASE_TIMING.takeoverWaitMs +
              1500 +
              (DATABASE_DOWN_FAULTS.includes(o.fault) ? DRILL_DATABASE_GRACE_MS : 0);
    // A fault's second act, and a second to see what follows it.
    const secondActMs =
        o.fault === "agent-freeze"
            ? FREEZE_MS + 1000
            : o.fault === "in-region-restart"
              ? DRILL_RESTART_MS + 2500 // down, back, serving again
              : ["region-isolation", "clock-skew"].includes(o.fault)
                ? regionCutStepMs(o) + leaseMs
                : o.fault === "witness-down-crash"
                  ? witnessSilentMs(o) + Math.max(o.intervalMs * o.maxFail, leaseMs)
                  : NO_PROMOTION_FAULTS.includes(o.fault)
                    ? leaseMs + 3000 // held or stopped, then the agent back (or the abort), serving again
                    : 0;
    // A blackholed old writer holds the fence step until its connection times out.
    const fenceMs = o.fault === "blackhole" ? ADMIN_TIMEOUT_MS : 0;
    const budget = Math.max(o.intervalMs * o.maxFail, leaseMs, secondActMs) + fenceMs + o.intervalMs / 2 + 1500;
    if (o.durationMs - o.faultAtMs < budget) {
        problems.push(
            `--duration ${o.durationMs / 1000}: leaves ${(o.durationMs - o.faultAtMs) / 1000} s after the fault; the controller needs about ${budget / 1000} s (interval x max-fail, then the steps)`,
        );
    }
    check("max-lag", o.maxLagSeconds, o.maxLagSeconds >= 0, "0 or more seconds");
    if (REPLICA_BEHIND_FAULTS.includes(o.fault)) {
        // The replica must still be behind when the controller reads the window: after the
        // agent's grace, the lease and the takeover wait (all of it, past --max-lag, on its delay).
        const minLag = o.maxLagSeconds + Math.ceil(leaseMs / 1000) + 1;
        check(
            "lag",
            o.lagSeconds,
            o.lagSeconds >= minLag,
            `at least ${minLag} (--max-lag ${o.maxLagSeconds}, and the lease's ${Math.ceil(leaseMs / 1000)} s before the lag is read, and a second)`,
        );
    } else if (o.acceptLoss) {
        problems.push(`--accept-loss: only with --fault lag (the other faults are not held, or clear by themselves)`);
    }
    return problems;
}

export async function runDrill(options: DrillOptions): Promise<DrillResult> {
    const problems = [...[mariaDbInstalled()].filter((p): p is string => p !== undefined), ...drillOptionProblems(options)];
    if (problems.length > 0) {
        throw new Error(`the drill cannot run:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    const log = options.log ?? (() => undefined);
    const work = options.workDir ?? fs.mkdtempSync(path.join(drillWorkRoot(), "drill-"));
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
        const clocks = FAULT_CLOCKS[options.fault] ?? { controller: TRUE_TIME, primaryAgent: TRUE_TIME };
        const controllerClock = new SkewedClock(clocks.controller);
        const lease = await new DrillLease((event, fields) => note(event, fields), password).start();
        cleanups.push(() => lease.close());
        const agentsFor = options.durationMs + 30_000;
        lease.startAgent("primary", primaryDb, lease.agentPath.port, agentsFor, {
            skew: clocks.primaryAgent,
            ownProcess: options.fault === "agent-freeze",
        });
        lease.startAgent("dr", drDb, lease.controllerPath.port, agentsFor);
        // The application's account opens once the primary's agent holds the lease.
        await waitFor(
            async () => {
                const c = await createConnection(primaryDb.appConnection(APP_DB_USER));
                await c.end();
                return true;
            },
            // Its first renewal sets up the fence (schema, procedure, event, account): on a
            // loaded machine (the suite's parallel run) that took over 10 s once.
            30_000,
            "the primary's writer agent to open the application's account",
        );
        log(`writer lease: agents beside both databases, the application on ${APP_DB_USER}`);

        // --- the sites, the network, the virtual IP --------------------------------------------
        // Each site's health says "this region can take writes" (failover/agent/fence.ts).
        const health = writerHealthQuery();
        const primarySite = await new DrillSite("primary", primaryDb.appConnection(APP_DB_USER), health).start();
        const drSite = await new DrillSite("dr", drDb.appConnection(APP_DB_USER), health).start();
        cleanups.push(
            () => primarySite.close(),
            () => drSite.close(),
        );
        const primarySiteNetwork = await new TcpProxy("primary-site-network", { kind: "forward", port: primarySite.port }).start();
        // The shoppers' path to the primary (from the virtual IP) is not the standby's network to
        // it: partition-standby cuts the one and leaves the other.
        const shoppersPath = await new TcpProxy("shoppers-path", { kind: "forward", port: primarySite.port }).start();
        const shoppersToPrimary = shoppersPath.port;
        const front = await new TcpProxy("virtual-ip", { kind: "forward", port: shoppersToPrimary }).start();
        cleanups.push(
            () => primarySiteNetwork.close(),
            () => shoppersPath.close(),
            () => front.close(),
        );
        log(`virtual IP 127.0.0.1:${front.port} -> primary site ${primarySite.url}; dr site ${drSite.url}`);

        // --- the controller, unchanged, with the drill's adapters --------------------------------
        const notifier = new DrillNotifier();
        const adapters = drillAdapters({
            front,
            sites: { primary: shoppersToPrimary, dr: drSite.port },
            database: { oldWriter: primaryDb.adminConnection(primaryDbNetwork.port), standby: drDb.adminConnection() },
            refuseFence: options.fault === "abort",
            notifier,
            statePath: path.join(work, "controller", "state.json"),
        });
        const timeoutMs = probeTimeoutMs(options);
        // The three vantage points: the standby's two (the site, the database) and the witness,
        // which looks through the virtual IP and posts beside the lease. A post older than three
        // rounds is silence, on the controller's clock against the witness's.
        lease.startWitness(`http://127.0.0.1:${front.port}/health`, options.intervalMs, timeoutMs, options.durationMs + 30_000);
        const probes: Probe[] = [
            new HttpProbe("site-direct", `http://127.0.0.1:${primarySiteNetwork.port}/health`),
            lease.witnessVantage(witnessMaxAgeMs(options), () => controllerClock.monotonic()),
            new DatabaseProbe("database", primaryDbNetwork.port, { user: "shop", password }),
        ];
        const stop = new AbortController();
        const controllerDeps = {
            adapters: { ...adapters, writerLease: lease.controllerStore("dr", () => controllerClock.wall()) },
            probes,
            emit: (event: string, fields?: Record<string, unknown>) => note(event, fields),
            clock: controllerClock,
        };
        const controllerOptions: ControllerOptions = {
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
            // The final beat is published within a renewal or two, and the replica applies it within a second.
            switchoverWaitMs: 8000,
        };
        // The deployed controller's watch; an operator's commands run as another process would
        // (its own run of the controller on the same state, once the watch has let go of it).
        const controller = new Controller({ ...controllerDeps, signal: stop.signal }, controllerOptions);
        const operatorStop = new AbortController();
        cleanups.push(() => Promise.resolve(operatorStop.abort(new Error("the drill stopped"))));
        const operator = new Controller({ ...controllerDeps, signal: operatorStop.signal }, controllerOptions);
        // The replica kept behind until a failover's loss window is over the budget.
        if (REPLICA_BEHIND_FAULTS.includes(options.fault)) {
            // A heartbeat applied first: delayed before the first one arrived, the replica would
            // show none until the whole delay had passed (a loaded machine starts the agent late).
            await waitFor(
                async () => (await adapters.database.readReplica({ signal: AbortSignal.timeout(5000) }, 0)).lastBeatAt !== undefined,
                10_000,
                "the replica to apply the writer's first heartbeat",
            );
            await drDb.delayReplication(options.lagSeconds);
            // Until the newest heartbeat the replica applied is older than the budget.
            await waitFor(
                async () => {
                    const r = await adapters.database.readReplica({ signal: AbortSignal.timeout(5000) }, 0);
                    return r.lastBeatAt !== undefined && Date.now() / 1000 - r.lastBeatAt > options.maxLagSeconds;
                },
                (options.maxLagSeconds + 5) * 1000,
                "the replica's applied heartbeat to fall behind --max-lag",
            );
            note("drill", { phase: `replica ${options.lagSeconds} s behind; lag over the ${options.maxLagSeconds} s budget` });
        }

        // What a hold or an abort must leave as it was: the lease, the virtual IP, DR, the old writer.
        const worldNow = async (): Promise<WorldSnapshot> => {
            const current = await lease.read().catch(() => undefined);
            const mode = front.current;
            const serves =
                mode.kind !== "forward"
                    ? undefined
                    : mode.port === shoppersToPrimary
                      ? "primary"
                      : mode.port === drSite.port
                        ? "dr"
                        : undefined;
            const drStatus = await drDb.sql("SHOW SLAVE STATUS").catch(() => []);
            let oldWriter: WorldSnapshot["oldWriter"] = { running: primaryDb.running };
            if (primaryDb.running) {
                const [row] = await primaryDb.sql<{ ro: number }[]>("SELECT @@global.read_only AS ro").catch(() => []);
                const appLogsIn = await createConnection({ ...primaryDb.appConnection(APP_DB_USER), connectTimeout: ADMIN_TIMEOUT_MS })
                    .then(async (c) => {
                        await c.end();
                        return true;
                    })
                    .catch(() => false);
                oldWriter = { running: true, ...(row !== undefined ? { readOnly: Number(row.ro) === 1 } : {}), appLogsIn };
            }
            return {
                at: Date.now(),
                ...(current !== undefined ? { leaseHolder: current.holder, leaseEpoch: current.epoch } : {}),
                ...(serves !== undefined ? { virtualIpServes: serves } : {}),
                drIsReplica: drStatus.length > 0,
                oldWriter,
            };
        };
        let heldWorld: WorldSnapshot | undefined;
        let closedBeforeAbort: number | undefined;
        /** The old writer's own record of when its fence closed (the machine's clock, ms), while it runs. */
        const fencedAt = async (): Promise<number | undefined> =>
            primaryDb
                .sql<{ fencedAt: string | null }[]>("SELECT fenced_at AS fencedAt FROM failover.writer_lease WHERE id = 1")
                .then(([row]) => (row?.fencedAt === null || row?.fencedAt === undefined ? undefined : Number(row.fencedAt) * 1000));

        // --- the drill ------------------------------------------------------------------------
        const rate = options.writesPerSecond * (options.fault === "crash-load" ? LOAD_FACTOR : 1);
        const writer = new Writer(front.port, rate);
        // An in-region client writes to the primary's origin too, bypassing the virtual IP: only
        // the database's fence can stop it.
        const originWriter = new Writer(primarySite.port, Math.max(1, Math.floor(rate / 4)), 1000, 1_000_000);
        // Whatever happens below, the writer and the controller stop before the servers do.
        cleanups.push(
            () => writer.stop(),
            () => originWriter.stop(),
            () => Promise.resolve(stop.abort(new Error("the drill stopped"))),
        );
        const startedAt = Date.now();
        note("drill", { phase: "writes start" });
        writer.start();
        originWriter.start();
        // The watch ends at the drill's end, on the controller's own clock.
        const watching = controller
            .watch(undefined, controllerClock.wallIn(startedAt + options.durationMs - Date.now()))
            .catch((err: Error) => {
                // The operator's stop before a switchover is no controller error: the timeline says "watch stopped".
                note(
                    err.message === OPERATOR_STOP ? "drill" : "controller-error",
                    err.message === OPERATOR_STOP ? { phase: "watch stopped by the operator" } : { error: err.message },
                );
                return "stopped" as const;
            });
        await sleep(Math.max(0, startedAt + options.faultAtMs - Date.now()));
        const faultAt = Date.now();
        note("fault", { fault: options.fault, description: FAULT_DESCRIPTIONS[options.fault] });
        log(`fault: ${FAULT_DESCRIPTIONS[options.fault]}`);
        const afterFault = inject(options, {
            primaryDb,
            primarySite,
            primarySiteNetwork,
            primaryDbNetwork,
            shoppersPath,
            timeoutMs,
            lease,
            note,
            timeline,
        });
        // A fault's second act (a frozen agent resumed, a restarted database back) runs meanwhile;
        // on a failure it ends before anything is torn down (cleanups run last-in, first-out).
        afterFault.catch((err: Error) => note("drill-error", { error: err.message }));
        cleanups.push(() => afterFault.catch(() => undefined));

        // The watch ends by the drill's end (absolute) and starts no round that could outlast it.
        // Cutting it off at exactly that end made a watch that ran its course ("elapsed") read as
        // "stopped" whenever its last round or the event loop ran late on a loaded machine. One
        // interval, one probe timeout and two seconds of grace cover that lateness (the suite's
        // parallel run, 10 drills on two cores beside the other files, once ran a last round more
        // than one interval and a timeout late); a watch still running after it (say, stuck in a
        // step) is stopped and reported as such.
        const watchGraceMs = options.intervalMs + timeoutMs + 2000;
        const watchGrace = new AbortController();
        // The operator's part: with --accept-loss, once the failover is held (nothing changed),
        // stop the watch and fail over accepting the window the hold stated; in the abort fault,
        // once the failover stopped short of the promotion, bring the agent's path back and abort.
        const held = options.acceptLoss === true ? waitForEvent(timeline, "hold", startedAt + options.durationMs) : undefined;
        if (options.fault === "switchover") {
            // The operator stops the watch (a planned switchover is no failure of the primary), then switches over.
            stop.abort(new Error(OPERATOR_STOP));
            await watching;
            note("drill", { phase: "as the operator: failover switchover" });
            log("as the operator: failover switchover");
        }
        const switching =
            options.fault === "switchover"
                ? operator.switchover().catch((err: Error) => {
                      note("controller-error", { error: err.message });
                      return "stopped" as const;
                  })
                : undefined;
        let outcome: DrillResult["outcome"] = await Promise.race([
            switching ?? watching,
            sleep(Math.max(0, startedAt + options.durationMs + watchGraceMs - Date.now()), undefined, { signal: watchGrace.signal }).then(
                () => "stopped" as const,
                () => "stopped" as const,
            ),
            ...(held !== undefined ? [held.then((e) => (e === undefined ? new Promise<never>(() => undefined) : ("held" as const)))] : []),
        ]);
        const operatorActs = async (seen: DrillResult["outcome"]): Promise<DrillResult["outcome"]> => {
            if (seen === "held" && options.acceptLoss === true) {
                // What was held must have changed nothing (I4), before the operator acts.
                heldWorld = await worldNow();
                const window = [...timeline].reverse().find((e) => e.event === "hold")?.window as { seconds?: number } | undefined;
                const seconds = Math.ceil(window?.seconds ?? 0);
                stop.abort(new Error("the operator takes over"));
                await watching;
                note("drill", { phase: `the operator accepts the loss: failover --accept-loss ${seconds}` });
                log(`held with nothing changed; as the operator: failover --accept-loss ${seconds}`);
                return operator.failover({ seconds });
            }
            if (options.fault === "abort" && seen === "stopped" && timeline.some((e) => e.event === "controller-error")) {
                // The old writer's own record of its closing, before the abort reopens it (I5).
                closedBeforeAbort = await fencedAt();
                lease.agentPath.set({ kind: "forward", port: lease.storePort });
                note("drill", { phase: "the agent's path is back; the operator aborts: failover abort" });
                log("the failover stopped short of the promotion; as the operator: abort");
                await operator.abort();
                return "aborted";
            }
            return seen;
        };
        watchGrace.abort();
        outcome = await operatorActs(outcome);
        // Keep writing to the end of the drill (the DR site serving), then stop everything.
        await sleep(Math.max(0, startedAt + options.durationMs - Date.now()));
        stop.abort(new Error("the drill ended"));
        await Promise.all([writer.stop(), originWriter.stop()]);
        await watching;
        await afterFault.catch(() => undefined);
        const endedAt = Date.now();
        const worldAtEnd = await worldNow();
        note("drill", { phase: "writes stop", outcome });
        log(`controller: ${outcome}`);

        // --- what each database holds -------------------------------------------------------
        const onDr = (await drDb.sql<{ id: number }[]>("SELECT id FROM shop.orders ORDER BY id")).map((r) => Number(r.id));
        await primarySite.close();
        // The old writer's own record of when it closed, before a restart (below) could close it
        // again; a database killed (and not started since) closed when it was killed.
        const oldWriterClosedAt = closedBeforeAbort ?? (primaryDb.running ? await fencedAt() : primaryDb.killedAt);
        if (!primaryDb.running) {
            // Its data survived the kill (sync-binlog, flush at commit): count it, over its socket.
            await primaryDb.start({ networking: false });
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
            // From when the taking write was sent: it may have landed any time before its answer.
            leaseTakenAt: lease.history.find((t) => t.op === "take" && t.outcome === "ok")?.sentAt,
            originWrites: originWriter.writes,
            leaseHistory: lease.history,
            leaseAtEnd: await lease.read(),
            oldWriterClosedAt,
            ...(heldWorld !== undefined ? { heldWorld } : {}),
            worldAtEnd,
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

/** Injects the fault; the promise settles once its second act (if any) is done. */
async function inject(
    options: DrillOptions,
    w: {
        primaryDb: MariaDb;
        primarySite: DrillSite;
        primarySiteNetwork: TcpProxy;
        primaryDbNetwork: TcpProxy;
        shoppersPath: TcpProxy;
        timeoutMs: number;
        lease: DrillLease;
        note: (event: string, fields?: Record<string, unknown>) => void;
        timeline: readonly TimelineEvent[];
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
            w.lease.agentPath.set({ kind: "blackhole" });
            return;
        case "agent-stop":
            await w.lease.stopPrimaryAgent();
            return;
        case "region-isolation":
        case "clock-skew":
            // Refused rather than blackholed, and in two steps: the standby's view first, so its
            // rounds reach max-fail while the lease still holds them; then the agent's path, so
            // when the lease is taken depends on the taker's clock alone, not on probe timeouts.
            for (const p of [w.primarySiteNetwork, w.primaryDbNetwork, w.shoppersPath]) {
                p.set({ kind: "refuse" });
            }
            await sleep(regionCutStepMs(options));
            w.lease.agentPath.set({ kind: "refuse" });
            w.note("drill", { phase: "the primary's agent cut off from the lease store" });
            return;
        case "clock-broken":
            // The standby's view cut, the writer healthy and renewing: a clock twenty-five times
            // fast sees a renewal every 250 ms as one every 6.25 s, past L + d, and takes a live
            // writer's lease (a renewal landing first stands it down, and it tries again). Nothing
            // in the timing can hold a taker whose clock lies: the checker must say so.
            for (const p of [w.primarySiteNetwork, w.primaryDbNetwork, w.shoppersPath]) {
                p.set({ kind: "refuse" });
            }
            return;
        case "agent-freeze":
            w.lease.freezePrimaryAgent();
            await sleep(FREEZE_MS);
            w.lease.resumePrimaryAgent();
            w.note("drill", { phase: "the primary's agent resumed (SIGCONT)" });
            return;
        case "lease-answers-lost": {
            const path = w.lease.agentPath.current;
            if (path.kind !== "forward") {
                throw new Error(`the agent's path to the lease store is ${path.kind}, not forwarding`);
            }
            w.lease.agentPath.set({ kind: "drop-answers", port: path.port });
            return;
        }
        case "in-region-restart":
            await w.primaryDb.kill();
            await sleep(DRILL_RESTART_MS);
            await w.primaryDb.start();
            w.note("drill", { phase: "the primary's database is back" });
            return;
        case "db-kill":
        case "lag":
        case "crash-load":
            await w.primaryDb.kill();
            return;
        case "hold-clears": {
            await w.lease.stopPrimaryAgent();
            // Once the failover is held (nothing changed), the agent runs again (the function
            // fixed): it renews, and the hold clears by itself.
            const held = await waitForEvent(w.timeline, "hold", Date.now() + options.durationMs);
            if (held !== undefined) {
                w.lease.startAgent("primary", w.primaryDb, w.lease.agentPath.port, options.durationMs);
                w.note("drill", { phase: "the primary's writer agent runs again" });
            }
            return;
        }
        case "abort":
            // The agent cut off (the lease lapses, the failover takes it); the virtual IP refuses
            // the fence (drillAdapters' refuseFence), so the failover stops short of the promotion.
            w.lease.agentPath.set({ kind: "blackhole" });
            return;
        case "switchover":
            return; // nothing breaks: the operator's switchover runs from the drill's main line
        case "site-kill":
            await killSite(w);
            return;
        case "blackhole":
            for (const p of [w.primarySiteNetwork, w.primaryDbNetwork, w.shoppersPath, w.lease.agentPath]) {
                p.set({ kind: "blackhole" });
            }
            return;
        case "witness-down":
            // One more path broken beside it: were silence counted as "down", every round would
            // fail (2 of 3); abstaining, it leaves one failure, below the quorum.
            w.lease.stopWitness();
            w.primarySiteNetwork.set({ kind: "refuse" });
            return;
        case "witness-down-crash":
            // Silent first (its posts age past the freshness bound), then the real crash.
            w.lease.witnessPath.set({ kind: "refuse" });
            await sleep(witnessSilentMs(options));
            w.note("drill", { phase: "the witness is silent; the primary site is killed" });
            await killSite(w);
            return;
        case "slow":
            // Slow, but well within the probe timeout: a healthy site that must not be failed over.
            w.primarySite.slowDown(Math.floor(w.timeoutMs * 0.4));
            return;
    }
}

/** The whole primary site, its writer agent included (it runs in the region). */
async function killSite(w: { primaryDb: MariaDb; primarySite: DrillSite; lease: DrillLease }): Promise<void> {
    await Promise.all([w.lease.stopPrimaryAgent(), w.primaryDb.kill(), w.primarySite.close()]);
}

/** Why the switchover drill's operator stops the watch. */
const OPERATOR_STOP = "the operator stops the watch to switch over";

/** The first `event` in the timeline, or undefined once `until` (the machine's clock) has passed. */
async function waitForEvent(timeline: readonly TimelineEvent[], event: string, until: number): Promise<TimelineEvent | undefined> {
    while (Date.now() < until) {
        const found = timeline.find((e) => e.event === event);
        if (found !== undefined) {
            return found;
        }
        await sleep(50);
    }
    return undefined;
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
