/**
 * The standby's replica link, read over SQL in the standby's own region (MySQL 8.4 on RDS, or
 * the drill's MariaDB): SHOW REPLICA STATUS for the I/O thread (MySQL 8.4 removed SHOW SLAVE
 * STATUS and names the column Replica_IO_Running; MariaDB accepts SHOW REPLICA STATUS and keeps
 * Slave_IO_Running), and the writer's heartbeat as applied (failover/agent/fence.ts).
 */
import { createPool, Pool, PoolOptions, RowDataPacket } from "mysql2/promise";
import { DEFAULT_FENCE_SCHEMA } from "../agent/fence";
import type { ReplicaLink, ReplicaLinkView } from "./standby";

export class MysqlReplicaLink implements ReplicaLink {
    private readonly pool: Pool;
    readonly target: string;

    constructor(
        connection: PoolOptions,
        private readonly schema = DEFAULT_FENCE_SCHEMA,
    ) {
        this.pool = createPool({ connectionLimit: 1, ...connection });
        this.target = `replica ${connection.host ?? "localhost"}:${connection.port ?? 3306}`;
    }

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

    async close(): Promise<void> {
        await this.pool.end();
    }
}
