/**
 * The controller's adapters for the drill's world (failover/core/ports.ts), the same
 * interfaces the AWS adapters implement:
 *
 *   traffic    the virtual IP (a TcpProxy): fence = serve no site, move = forward to the site.
 *   database   MariaDB over TCP as the administrative user, like the RDS API over the network:
 *              fence = `SET GLOBAL read_only = 1` on the old writer (through whatever network
 *              the drill put in between; no answer within a second: recorded, not fenced), and
 *              `read_only = 0` to undo it (an abort); the replica = the deployed replica
 *              reader's SQL (failover/probes/replica.ts) on the standby, whose source must be
 *              the old writer's network: waiting up to the given time until what it received is
 *              executed, then the newest heartbeat of the old writer's agent it applied
 *              (`failover.writer_lease.beat_at`, the old writer's clock): the loss window's
 *              lower end; promote = stop and forget replication, then `read_only = 0`, writable
 *              when the server says so (what DR received but had not applied yet is discarded
 *              with the relay log, and counted in the window: its last applied beat is older);
 *              a standby that is no longer a replica counts as promoted only when this failover
 *              recorded its request.
 *   notifier   keeps the report (the drill prints it).
 *   state      the local file store and lease (failover/adapters/local.ts).
 */
import { createConnection, ConnectionOptions, RowDataPacket } from "mysql2/promise";
import { MysqlReplicaReader } from "../failover/probes/replica";
import { FileLock, FileStateStore } from "../failover/adapters/local";
import type {
    ActionContext,
    ActionResult,
    Adapters,
    DatabaseAdapter,
    FailoverReport,
    Notifier,
    PromotionProgress,
    ReadinessCheck,
    TrafficAdapter,
} from "../failover/core/ports";
import type { ReplicaEvidence } from "../failover/core/lossWindow";
import type { TcpProxy } from "./proxy";

/** How long an administrative statement may take before its server counts as unreachable. */
export const ADMIN_TIMEOUT_MS = 1000;

async function withAdmin<T>(options: ConnectionOptions, work: (c: Awaited<ReturnType<typeof createConnection>>) => Promise<T>): Promise<T> {
    const c = await createConnection({ ...options, connectTimeout: ADMIN_TIMEOUT_MS });
    try {
        return await work(c);
    } finally {
        c.destroy();
    }
}

async function query<T extends RowDataPacket>(c: Awaited<ReturnType<typeof createConnection>>, sql: string): Promise<T[]> {
    const [rows] = await c.query({ sql, timeout: ADMIN_TIMEOUT_MS });
    return rows as T[];
}

export class DrillTraffic implements TrafficAdapter {
    constructor(
        private readonly front: TcpProxy,
        /** Region -> the port the virtual IP forwards to for it. */
        private readonly sites: Readonly<Record<string, number>>,
        /** The abort fault: the virtual IP refuses the fence (as Global Accelerator's API may, throttled or failing for minutes). */
        private readonly refuseFence = false,
    ) {}

    private serving(): string | undefined {
        const mode = this.front.current;
        return mode.kind === "forward" ? Object.keys(this.sites).find((r) => this.sites[r] === mode.port) : undefined;
    }

    fence(region: string): Promise<ActionResult> {
        if (this.refuseFence) {
            return Promise.reject(new Error("the virtual IP refused the change (the drill's abort fault)"));
        }
        if (this.serving() !== region) {
            return Promise.resolve({ detail: `${region} already gets no traffic (the virtual IP serves ${this.serving() ?? "no site"})` });
        }
        this.front.set({ kind: "refuse" });
        return Promise.resolve({ detail: `the virtual IP no longer forwards to ${region}` });
    }

    moveTo(to: string): Promise<ActionResult> {
        const port = this.sites[to];
        if (port === undefined) {
            return Promise.reject(new Error(`no site ${to} behind the virtual IP (sites: ${Object.keys(this.sites).join(", ")})`));
        }
        if (this.serving() === to) {
            return Promise.resolve({ detail: `${to} already served` });
        }
        this.front.set({ kind: "forward", port });
        return Promise.resolve({ detail: `the virtual IP forwards to ${to}` });
    }

    readiness(): Promise<ReadinessCheck[]> {
        const detail = `127.0.0.1:${this.front.port}, serving ${this.serving() ?? "no site"}`;
        return Promise.resolve([{ name: "virtual IP", ok: this.front.port > 0, detail }]);
    }
}

export interface DrillDatabaseOptions {
    /** The old writer, as the controller reaches it (through the drill's network). */
    readonly oldWriter: ConnectionOptions;
    /** The standby writer (in the controller's own site). */
    readonly standby: ConnectionOptions;

    readonly now?: () => number;
}

/** SHOW SLAVE STATUS: a row while the server is a replica (promote's question). */
type SlaveStatus = RowDataPacket;

export class DrillDatabase implements DatabaseAdapter {
    constructor(private readonly options: DrillDatabaseOptions) {}

    private now(): number {
        return (this.options.now ?? Date.now)();
    }

    async fenceOldWriter(region: string): Promise<ActionResult> {
        try {
            await withAdmin(this.options.oldWriter, (c) => query(c, "SET GLOBAL read_only = 1"));
            return { detail: `old writer in ${region}: read_only=1 (its application's writes are refused)` };
        } catch (err) {
            return { detail: `old writer in ${region} did not answer (${(err as Error).message}): NOT fenced; fence it when it is back` };
        }
    }

    async unfenceOldWriter(region: string): Promise<ActionResult> {
        await withAdmin(this.options.oldWriter, (c) => query(c, "SET GLOBAL read_only = 0"));
        return { detail: `old writer in ${region}: read_only=0 again` };
    }

    /** The deployed replica reader's SQL (failover/probes/replica.ts), on the standby. */
    async readReplica(_context: Pick<ActionContext, "signal">, waitMs: number): Promise<ReplicaEvidence> {
        const readAt = this.now();
        const expectedPort = this.options.oldWriter.port;
        const reader = new MysqlReplicaReader({ ...this.options.standby, connectTimeout: ADMIN_TIMEOUT_MS });
        try {
            const r = await reader.read(waitMs, ADMIN_TIMEOUT_MS);
            return {
                readAt,
                source: reader.target,
                replicatesExpected: r.sourcePort === expectedPort,
                replication: `a replica of ${r.sourceHost}:${r.sourcePort} (expected port ${expectedPort}); ${r.detail}`,
                appliedAll: r.appliedAll,
                appliesInOrder: r.inOrder,
                ...(r.lastBeatAt !== undefined ? { lastBeatAt: r.lastBeatAt } : {}),
            };
        } catch (err) {
            const error = (err as Error).message;
            return { readAt, source: reader.target, replicatesExpected: false, replication: error, appliedAll: false, error };
        } finally {
            await reader.close();
        }
    }

    async promote(context: ActionContext): Promise<PromotionProgress> {
        return withAdmin(this.options.standby, async (c) => {
            const [status] = await query<SlaveStatus>(c, "SHOW SLAVE STATUS");
            if (status === undefined && context.failover.promotionRequestedAt === undefined) {
                throw new Error(
                    "the standby is no longer a replica, and this failover never asked to promote it: it may be a writer of another time",
                );
            }
            if (status !== undefined) {
                await query(c, "STOP SLAVE");
                await query(c, "RESET SLAVE ALL");
            }
            await query(c, "SET GLOBAL read_only = 0");
            const [{ readOnly }] = await query<RowDataPacket & { readOnly: number }>(c, "SELECT @@global.read_only AS readOnly");
            const [{ gtid }] = await query<RowDataPacket & { gtid: string }>(c, "SELECT @@global.gtid_current_pos AS gtid");
            return {
                writable: readOnly === 0,
                detail: `${status !== undefined ? "replication stopped and removed; " : ""}read_only=${readOnly}, at GTID ${gtid}`,
            };
        });
    }

    async readiness(): Promise<ReadinessCheck[]> {
        try {
            const r = await this.readReplica({ signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS * 3) }, 0);
            return [{ name: "standby writer", ok: r.error === undefined, detail: r.error ?? r.replication }];
        } catch (err) {
            return [{ name: "standby writer", ok: false, detail: (err as Error).message }];
        }
    }
}

export class DrillNotifier implements Notifier {
    readonly reports: FailoverReport[] = [];

    notify(report: FailoverReport): Promise<ActionResult> {
        this.reports.push(report);
        return Promise.resolve({ detail: "kept for the drill's report" });
    }

    readiness(): Promise<ReadinessCheck[]> {
        return Promise.resolve([{ name: "notifier", ok: true, detail: "the drill's report" }]);
    }
}

export function drillAdapters(p: {
    front: TcpProxy;
    sites: Record<string, number>;
    refuseFence?: boolean;
    database: DrillDatabaseOptions;
    notifier: DrillNotifier;
    statePath: string;
}): Adapters {
    return {
        traffic: new DrillTraffic(p.front, p.sites, p.refuseFence),
        database: new DrillDatabase(p.database),
        notifier: p.notifier,
        store: new FileStateStore(p.statePath),
        lock: new FileLock(p.statePath, 2000),
    };
}
