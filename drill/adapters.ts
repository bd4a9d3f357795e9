/**
 * The controller's adapters for the drill's world (failover/core/ports.ts), the same
 * interfaces the AWS adapters implement:
 *
 *   traffic    the virtual IP (a TcpProxy): fence = serve no site, move = forward to the site.
 *   database   MariaDB over TCP as the administrative user, like the RDS API over the network:
 *              fence = `SET GLOBAL read_only = 1` on the old writer (through whatever network
 *              the drill put in between; no answer within a second: recorded, not fenced);
 *              promote = stop and forget replication, then `read_only = 0`, writable when the
 *              server says so (what DR received but had not applied yet is discarded with the
 *              relay log: with the lag fault's MASTER_DELAY, the delayed writes; waiting for it
 *              with MASTER_GTID_WAIT first would lose only what never reached DR, and delay the
 *              promotion by the lag); lag = the standby's `Seconds_Behind_Master` while its source
 *              answers; once the source is gone (MariaDB then reports NULL), 0 when everything
 *              received is applied (`Gtid_IO_Pos` = `gtid_slave_pos`), else the age of the newest
 *              heartbeat applied.
 *   notifier   keeps the report (the drill prints it).
 *   state      the local file store and lease (failover/adapters/local.ts).
 */
import { createConnection, ConnectionOptions, RowDataPacket } from "mysql2/promise";
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
import type { LagReading } from "../failover/core/state";
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
    ) {}

    private serving(): string | undefined {
        const mode = this.front.current;
        return mode.kind === "forward" ? Object.keys(this.sites).find((r) => this.sites[r] === mode.port) : undefined;
    }

    fence(region: string): Promise<ActionResult> {
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

interface SlaveStatus extends RowDataPacket {
    Slave_IO_Running: string;
    Slave_SQL_Running: string;
    Seconds_Behind_Master: number | null;
    Gtid_IO_Pos: string;
}

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

    async readLag(_context: ActionContext): Promise<LagReading> {
        const readAt = this.now();
        return withAdmin(this.options.standby, async (c) => {
            const [status] = await query<SlaveStatus>(c, "SHOW SLAVE STATUS");
            if (status === undefined) {
                return { readAt, source: "replication", error: "the standby writer is not a replica (already promoted?)" };
            }
            if (status.Seconds_Behind_Master !== null) {
                return { readAt, source: "Seconds_Behind_Master", seconds: Number(status.Seconds_Behind_Master) };
            }
            if (status.Slave_SQL_Running !== "Yes") {
                return { readAt, source: "replication", error: "the replica's SQL thread is stopped" };
            }
            const [{ applied }] = await query<RowDataPacket & { applied: string }>(c, "SELECT @@global.gtid_slave_pos AS applied");
            if (applied === status.Gtid_IO_Pos) {
                return { readAt, source: `everything received is applied (GTID ${applied}; source not answering)`, seconds: 0 };
            }
            const [{ age }] = await query<RowDataPacket & { age: string }>(
                c,
                "SELECT TIMESTAMPDIFF(MICROSECOND, beat_at, CURRENT_TIMESTAMP(6)) / 1000000 AS age FROM shop.heartbeat WHERE id = 1",
            );
            return {
                readAt,
                source: `heartbeat applied (received ${status.Gtid_IO_Pos}, applied ${applied})`,
                seconds: Math.ceil(Number(age)),
            };
        });
    }

    async promote(): Promise<PromotionProgress> {
        return withAdmin(this.options.standby, async (c) => {
            const [status] = await query<SlaveStatus>(c, "SHOW SLAVE STATUS");
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
            const lag = await this.readLag({} as ActionContext);
            return [
                {
                    name: "standby writer",
                    ok: lag.seconds !== undefined,
                    detail: lag.seconds !== undefined ? `replicating, lag ${lag.seconds} s (${lag.source})` : (lag.error ?? "?"),
                },
            ];
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
    database: DrillDatabaseOptions;
    notifier: DrillNotifier;
    statePath: string;
}): Adapters {
    return {
        traffic: new DrillTraffic(p.front, p.sites),
        database: new DrillDatabase(p.database),
        notifier: p.notifier,
        store: new FileStateStore(p.statePath),
        lock: new FileLock(p.statePath, 2000),
    };
}
