/**
 * The standby's replica, read over SQL in the standby's own region: its link (a vote), and what
 * it applied (the loss window). The link: read over SQL in the standby's own region (MySQL 8.4 on RDS, or
 * the drill's MariaDB): SHOW REPLICA STATUS for the I/O thread (MySQL 8.4 removed SHOW SLAVE
 * STATUS and names the column Replica_IO_Running; MariaDB accepts SHOW REPLICA STATUS and keeps
 * Slave_IO_Running), and the writer's heartbeat as applied (failover/agent/fence.ts).
 */
import { createPool, Pool, PoolOptions, RowDataPacket } from "mysql2/promise";
import { DEFAULT_FENCE_SCHEMA } from "../agent/fence";
import type { ReplicaLink, ReplicaLinkView } from "./standby";

/** One connection to the standby's replica, and the fence's schema where the writer's heartbeat replicates. */
abstract class ReplicaConnection {
    protected readonly pool: Pool;
    readonly target: string;

    constructor(
        connection: PoolOptions,
        protected readonly schema = DEFAULT_FENCE_SCHEMA,
    ) {
        this.pool = createPool({ connectionLimit: 1, ...connection });
        this.target = `replica ${connection.host ?? "localhost"}:${connection.port ?? 3306}`;
    }

    async close(): Promise<void> {
        await this.pool.end();
    }
}

export class MysqlReplicaLink extends ReplicaConnection implements ReplicaLink {
    async read(timeoutMs: number): Promise<ReplicaLinkView> {
        const [status] = await this.pool.query<RowDataPacket[]>({ sql: "SHOW REPLICA STATUS", timeout: timeoutMs });
        const row = status[0];
        const io = row === undefined ? "No" : String(row.Replica_IO_Running ?? row.Slave_IO_Running ?? "No");
        let lastBeatAt: number | undefined;
        try {
            const [beats] = await this.pool.query<RowDataPacket[]>({
                sql: `SELECT beat_at FROM ${this.schema}.writer_lease WHERE id = 1`,
                timeout: timeoutMs,
            });
            lastBeatAt = beats[0] === undefined ? undefined : Number(beats[0].beat_at);
        } catch (err) {
            // No fence schema yet (the writer's agent has not run): no heartbeat to read.
            if ((err as { code?: string }).code !== "ER_NO_SUCH_TABLE" && (err as { code?: string }).code !== "ER_BAD_DB_ERROR") {
                throw err;
            }
        }
        return { ioRunning: io === "Yes", lastBeatAt };
    }
}

/** What the replica reader read: whether everything received is applied, and the newest heartbeat applied. */
export interface ReplicaApplied {
    readonly appliedAll: boolean;
    /** It commits in the source's order (the loss window's lower end depends on it). */
    readonly inOrder: boolean;
    /** The old writer's newest heartbeat applied: Unix seconds on its clock. */
    readonly lastBeatAt?: number;
    /** The source it replicates from, as the replica says (host and port). */
    readonly sourceHost: string;
    readonly sourcePort: number;
    readonly detail: string;
}

/**
 * The replica as the loss window reads it (failover/core/lossWindow.ts), over SQL in the
 * standby's own region: wait (bounded) until the SQL thread has executed everything the I/O
 * thread received, by binary log position (GTIDs are not required: RDS replicas replicate by
 * position unless gtid_mode is on), then read the writer's heartbeat as applied. MySQL 8.4 names
 * the columns Source_Log_File / Read_Source_Log_Pos / Relay_Source_Log_File /
 * Exec_Source_Log_Pos; MariaDB keeps Master_ in their place (both answer SHOW REPLICA STATUS).
 */
export class MysqlReplicaReader extends ReplicaConnection {
    async read(waitMs: number, statementTimeoutMs = 2000): Promise<ReplicaApplied> {
        const until = Date.now() + waitMs;
        for (;;) {
            const [rows] = await this.pool.query<RowDataPacket[]>({ sql: "SHOW REPLICA STATUS", timeout: statementTimeoutMs });
            const r = rows[0];
            if (r === undefined) {
                throw new Error(`${this.target} is not a replica (SHOW REPLICA STATUS is empty)`);
            }
            const col = (mysql: string, mariadb: string): unknown => (r[mysql] as unknown) ?? (r[mariadb] as unknown);
            const received = {
                file: String(col("Source_Log_File", "Master_Log_File")),
                pos: Number(col("Read_Source_Log_Pos", "Read_Master_Log_Pos")),
            };
            const executed = {
                file: String(col("Relay_Source_Log_File", "Relay_Master_Log_File")),
                pos: Number(col("Exec_Source_Log_Pos", "Exec_Master_Log_Pos")),
            };
            const appliedAll = received.file === executed.file && executed.pos >= received.pos;
            if (appliedAll || Date.now() >= until) {
                const io = String(col("Replica_IO_Running", "Slave_IO_Running"));
                const sql = String(col("Replica_SQL_Running", "Slave_SQL_Running"));
                const order = await this.commitOrder(statementTimeoutMs);
                return {
                    appliedAll,
                    inOrder: order.inOrder,
                    lastBeatAt: await this.beat(statementTimeoutMs),
                    sourceHost: String(col("Source_Host", "Master_Host")),
                    sourcePort: Number(col("Source_Port", "Master_Port")),
                    detail: `I/O ${io}, SQL ${sql}; received ${received.file}:${received.pos}, executed ${executed.file}:${executed.pos}; ${order.detail}`,
                };
            }
            await new Promise((resolve) => setTimeout(resolve, Math.min(200, Math.max(0, until - Date.now()))));
        }
    }

    /**
     * Whether the replica commits in the source's order, which the loss window's lower end needs
     * (everything before an applied beat is applied). MySQL 8.4: one applier, or several with
     * replica_preserve_commit_order on (its default since 8.0.27). MariaDB's parallel replication
     * commits in order within a replication domain (the drill has one).
     */
    private async commitOrder(timeoutMs: number): Promise<{ inOrder: boolean; detail: string }> {
        try {
            const [rows] = await this.pool.query<RowDataPacket[]>({
                sql: "SELECT @@global.replica_parallel_workers AS workers, @@global.replica_preserve_commit_order AS preserve",
                timeout: timeoutMs,
            });
            const workers = Number(rows[0].workers);
            const preserve = Number(rows[0].preserve) === 1;
            return {
                inOrder: workers <= 1 || preserve,
                detail: `${workers} applier(s), replica_preserve_commit_order ${preserve ? "ON" : "OFF"}`,
            };
        } catch (err) {
            if ((err as { code?: string }).code !== "ER_UNKNOWN_SYSTEM_VARIABLE") {
                throw err;
            }
            return { inOrder: true, detail: "MariaDB: commits in order within a replication domain" };
        }
    }

    private async beat(timeoutMs: number): Promise<number | undefined> {
        try {
            const [rows] = await this.pool.query<RowDataPacket[]>({
                sql: `SELECT beat_at FROM ${this.schema}.writer_lease WHERE id = 1`,
                timeout: timeoutMs,
            });
            const beat = rows[0] === undefined ? 0 : Number(rows[0].beat_at);
            return beat > 0 ? beat : undefined;
        } catch (err) {
            // No fence schema yet (the writer's agent has not run): no heartbeat to read.
            if ((err as { code?: string }).code === "ER_NO_SUCH_TABLE" || (err as { code?: string }).code === "ER_BAD_DB_ERROR") {
                return undefined;
            }
            throw err;
        }
    }
}
