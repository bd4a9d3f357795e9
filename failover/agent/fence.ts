/**
 * The database-side fence: the writer lease enforced by the database itself.
 *
 * Schema `failover` (created idempotently by the writer agent with the master user, and
 * replicated to the standby like any other schema):
 *
 *   writer_lease   one row: holder, epoch, deadline (Unix seconds, the database's own clock),
 *                  beat_at (the agent's heartbeat, once a second while the lease is valid),
 *                  armed (the fence's event was enabled and the scheduler on at that beat),
 *                  fenced_at (when the event last locked the application out)
 *   enforce_writer_lease_v2   a procedure: once the deadline has passed, lock the application's
 *                  account (ALTER USER ... ACCOUNT LOCK) and end each of its sessions
 *                  (mysql.rds_kill)
 *   enforce_writer_lease      an event, every second, that calls it
 *
 * So the fence closes with nothing outside the database running: the agent only ever moves the
 * deadline forward, and only after a renewal of the lease. Deadlines are Unix seconds
 * (UNIX_TIMESTAMP(NOW(6))), so no session time zone or daylight-saving change enters a
 * comparison.
 *
 * What RDS for MySQL 8.4 allows its master user (checked against AWS's documentation,
 * 2026-12-02; the closing note of issue 17 quotes each page):
 *   - EVENT, CREATE ROUTINE, CREATE USER are granted to the master user (and rds_superuser_role
 *     from 8.0.36): "Master user account privileges", UsingWithRDS.MasterAccounts.html, and
 *     "Role-based privilege model", Appendix.MySQL.CommonDBATasks.privilege-model.html.
 *   - ALTER USER needs "the global CREATE USER privilege" (MySQL 8.4 manual, alter-user.html).
 *   - KILL of another user's session needs CONNECTION_ADMIN (MySQL manual, kill.html), which RDS
 *     disallows from 8.0.36 and 8.4.3 ("Dynamic privileges", ...dynamic-privileges.html). So
 *     the procedure calls mysql.rds_kill (mysql-stored-proc-ending.html). That rds_kill works
 *     from inside an event (definer: the master user) is NOT documented by AWS: a takeover's
 *     report says "fence unconfirmed" unless the old writer's own record (fenced_at, read on the
 *     replica or on the old writer) shows the fence closed.
 *   - rds_kill cannot end sessions of users with names longer than 16 characters on 8.0.32 and
 *     lower ("Known issues and limitations", MySQL.KnownIssuesAndLimitations.html): the
 *     application user's name is held to 16.
 *   - event_scheduler: ON is MySQL's default, but the master user cannot SET GLOBAL
 *     (SYSTEM_VARIABLES_ADMIN is disallowed), so the parameter group sets it; `armed` reads it.
 *   - Replicated events are disabled on a replica (SLAVESIDE_DISABLED, REPLICA_SIDE_DISABLED in
 *     8.4: "Replication of invoked features"); after a promotion the agent enables the event
 *     again (`ALTER EVENT ... ENABLE`) once its region holds the lease.
 *   - ALTER USER is written to the binary log as a statement, so a lock on the writer reaches
 *     the standby too; the new writer's agent unlocks it there once it holds the lease.
 */
import { createPool, Pool, PoolConnection, PoolOptions, RowDataPacket } from "mysql2/promise";

/** MySQL's unquoted identifier characters, and the 16 characters rds_kill can handle for a user name. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,63}$/;
const APP_USER = /^[a-z_][a-z0-9_]{0,15}$/;

export interface FenceSchema {
    /** The schema that holds the lease row, the procedure and the event. @default failover */
    readonly schema: string;
    /** The application's account, the one the fence locks out (never the master user). */
    readonly appUser: string;
    /** The host part of the application's account. @default % */
    readonly appHost: string;
    /** The schemas the application may read and write. */
    readonly appSchemas: readonly string[];
    /**
     * How a session is ended. RDS: `CALL mysql.rds_kill(thread)` (the master user may not KILL
     * others' sessions). The drill's MariaDB has the same procedure, installed by root.
     */
    readonly killProcedure: string;
}

export const DEFAULT_FENCE_SCHEMA = "failover";
export const ENFORCE_PROCEDURE = "enforce_writer_lease_v2";
export const ENFORCE_EVENT = "enforce_writer_lease";

/** Why these names cannot be used, or undefined. */
export function fenceSchemaProblem(s: FenceSchema): string | undefined {
    for (const [key, value] of [["schema", s.schema], ...s.appSchemas.map((a) => ["appSchemas", a])] as const) {
        if (!IDENTIFIER.test(value)) {
            return `${key} ${JSON.stringify(value)}: expected a lower-case identifier (a-z, 0-9, _; up to 64)`;
        }
    }
    if (!APP_USER.test(s.appUser)) {
        return `appUser ${JSON.stringify(s.appUser)}: expected a lower-case name of at most 16 characters (mysql.rds_kill cannot end sessions of longer names on MySQL 8.0.32 and lower)`;
    }
    if (!/^[a-z0-9%._-]{1,255}$/i.test(s.appHost)) {
        return `appHost ${JSON.stringify(s.appHost)}: expected a host pattern such as %`;
    }
    if (!/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/.test(s.killProcedure)) {
        return `killProcedure ${JSON.stringify(s.killProcedure)}: expected schema.procedure`;
    }
    if (s.appSchemas.length === 0) {
        return "appSchemas: expected at least one schema the application uses";
    }
    return undefined;
}

const account = (s: FenceSchema) => `'${s.appUser}'@'${s.appHost}'`;

/** The named lock (GET_LOCK) the event and the agent's unfence share. */
const fenceLockName = (s: FenceSchema) => `${s.schema}.writer_fence`;

/**
 * The fence's schema, idempotently: every statement may run again on a server that has it.
 * `?` is the application's password (a new account is created locked, and opened by the
 * agent once its region holds the lease; an existing one gets the password again).
 */
export function fenceSetupStatements(s: FenceSchema): string[] {
    const problem = fenceSchemaProblem(s);
    if (problem !== undefined) {
        throw new Error(`fence: ${problem}`);
    }
    const q = s.schema;
    return [
        `CREATE DATABASE IF NOT EXISTS ${q}`,
        `CREATE TABLE IF NOT EXISTS ${q}.writer_lease (
            id TINYINT PRIMARY KEY,
            holder VARCHAR(32) NOT NULL,
            epoch BIGINT NOT NULL,
            deadline DECIMAL(17,6) NOT NULL,
            beat_at DECIMAL(17,6) NOT NULL,
            armed TINYINT NOT NULL DEFAULT 0,
            fenced_at DECIMAL(17,6) NULL
        ) ENGINE=InnoDB`,
        // A new row is lapsed and fenced (as the account is created locked): nothing may write
        // before the agent has renewed the lease once and opened it.
        `INSERT IGNORE INTO ${q}.writer_lease (id, holder, epoch, deadline, beat_at, fenced_at) VALUES (1, '', 0, 0, 0, UNIX_TIMESTAMP(NOW(6)))`,
        `CREATE USER IF NOT EXISTS ${account(s)} IDENTIFIED BY ? ACCOUNT LOCK`,
        // The password is always the configured secret's: after a flip of the writer region the
        // application reads the new writer region's secret, and the account follows it here.
        `ALTER USER ${account(s)} IDENTIFIED BY ?`,
        ...s.appSchemas.map((schema) => `GRANT SELECT, INSERT, UPDATE, DELETE ON ${schema}.* TO ${account(s)}`),
        // The health query (WRITER_HEALTH_QUERY) reads the lease row as the application.
        `GRANT SELECT ON ${q}.writer_lease TO ${account(s)}`,
        `CREATE PROCEDURE IF NOT EXISTS ${q}.${ENFORCE_PROCEDURE}()
        BEGIN
            DECLARE done INT DEFAULT 0;
            DECLARE thread BIGINT;
            DECLARE sessions CURSOR FOR SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '${s.appUser}';
            DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;
            -- The agent's unfence takes the same named lock: a lock here can never land between
            -- its check of the deadline and its unlock (an unlocked account marked fenced).
            IF GET_LOCK('${fenceLockName(s)}', 2) = 1 AND NOT EXISTS (SELECT 1 FROM ${q}.writer_lease WHERE id = 1 AND deadline > UNIX_TIMESTAMP(NOW(6))) THEN
                IF NOT EXISTS (SELECT 1 FROM ${q}.writer_lease WHERE id = 1 AND fenced_at IS NOT NULL) THEN
                    ALTER USER ${account(s)} ACCOUNT LOCK;
                    UPDATE ${q}.writer_lease SET fenced_at = UNIX_TIMESTAMP(NOW(6)) WHERE id = 1;
                END IF;
                OPEN sessions;
                sessions_loop: LOOP
                    FETCH sessions INTO thread;
                    IF done THEN
                        LEAVE sessions_loop;
                    END IF;
                    -- A session that ended since the cursor read it is no error: go on with the next.
                    BEGIN
                        DECLARE CONTINUE HANDLER FOR SQLEXCEPTION BEGIN END;
                        CALL ${s.killProcedure}(thread);
                    END;
                END LOOP;
                CLOSE sessions;
            END IF;
            DO RELEASE_LOCK('${fenceLockName(s)}');
        END`,
        `CREATE EVENT IF NOT EXISTS ${q}.${ENFORCE_EVENT} ON SCHEDULE EVERY 1 SECOND DO CALL ${q}.${ENFORCE_PROCEDURE}()`,
        // Replicated events are disabled on a replica; after a promotion this enables it again,
        // and points an event of an older version at this version's procedure.
        `ALTER EVENT ${q}.${ENFORCE_EVENT} ON SCHEDULE EVERY 1 SECOND ENABLE DO CALL ${q}.${ENFORCE_PROCEDURE}()`,
    ];
}

/**
 * The application's health contract, as one query it may run with its own account: 1 only while
 * this database is writable and its lease's deadline lies ahead. A web node that answers its
 * health path with 200 only when this returns 1 makes Global Accelerator see "this region can
 * take writes", and move shoppers to the lease holder on its own data plane.
 */
export function writerHealthQuery(schema = DEFAULT_FENCE_SCHEMA): string {
    if (!IDENTIFIER.test(schema)) {
        throw new Error(`fence: schema ${JSON.stringify(schema)}: expected a lower-case identifier`);
    }
    return `SELECT (@@global.read_only = 0 AND deadline > UNIX_TIMESTAMP(NOW(6))) AS writable FROM ${schema}.writer_lease WHERE id = 1`;
}

/** A writer sealed for a planned switchover: its final heartbeat and fence (Unix seconds, its clock), and its GTID set. */
export interface SealedWriter {
    readonly finalBeatAt: number;
    readonly fencedAt: number;
    readonly gtid?: string;
}

/**
 * The server's GTID set, for people: MySQL's gtid_executed (empty with gtid_mode off, as RDS
 * has it by default: then none), or MariaDB's gtid_binlog_pos (MariaDB has no gtid_executed).
 */
async function gtidSet(c: PoolConnection, timeout: number): Promise<string | undefined> {
    for (const variable of ["gtid_executed", "gtid_binlog_pos"]) {
        try {
            const [[row]] = await c.query<RowDataPacket[]>({ sql: `SELECT @@global.${variable} AS gtid`, timeout });
            const gtid = String(row.gtid ?? "").replace(/\s+/g, "");
            return gtid === "" ? undefined : gtid;
        } catch (err) {
            if ((err as { code?: string }).code !== "ER_UNKNOWN_SYSTEM_VARIABLE") {
                throw err;
            }
        }
    }
    return undefined;
}

/** What the database says about its fence. */
export interface FenceStatus {
    /** The deadline (Unix seconds, the database's clock), or 0 before the first renewal. */
    readonly deadline: number;
    /** The database's clock now (Unix seconds). */
    readonly now: number;
    readonly holder: string;
    readonly epoch: number;
    /** The event exists, is enabled, and the scheduler runs. */
    readonly armed: boolean;
    /** Why it is not armed. */
    readonly armedDetail: string;
    /** When the event last locked the application out; undefined while open. */
    readonly fencedAt?: number;
    /** The database takes writes at all (read_only off). */
    readonly writable: boolean;
}

export interface MysqlFenceOptions {
    readonly connection: PoolOptions;
    readonly schema: FenceSchema;
    /**
     * How long one statement may take (the set-up's DDL gets ten times as long). In an RDS
     * Multi-AZ failover open connections tend to hang rather than reset: without a bound the
     * agent's loop would wait on them and never reach its grace. @default 2000
     */
    readonly queryTimeoutMs?: number;
}

/** The fence on a MySQL-protocol server, through the master (administrative) user. */
export class MysqlFence {
    private readonly pool: Pool;

    constructor(private readonly options: MysqlFenceOptions) {
        const problem = fenceSchemaProblem(options.schema);
        if (problem !== undefined) {
            throw new Error(`fence: ${problem}`);
        }
        this.pool = createPool({ connectionLimit: 2, enableKeepAlive: true, ...options.connection });
        // Deadlines are Unix seconds from UNIX_TIMESTAMP(NOW(6)), which converts the session's
        // local time back: in a UTC session no daylight-saving hour makes it ambiguous. The
        // event takes the time zone of the session that creates it (this one).
        // The pool hands its listeners the callback-style connection (mysql2's promise pool
        // re-emits the core pool's events): the statement is queued before any other on it.
        this.pool.on("connection", (connection) => {
            (connection as unknown as { query(sql: string, callback: () => void): void }).query(
                "SET time_zone = '+00:00'",
                () => undefined,
            );
        });
    }

    /** One statement within the query timeout (an answer that does not come is an error). */
    private async run<T = unknown>(sql: string, values: unknown[] = [], timeoutMs = this.options.queryTimeoutMs ?? 2000): Promise<T> {
        const [result] = await this.pool.query({ sql, values, timeout: timeoutMs });
        return result as T;
    }

    private get q(): string {
        return this.options.schema.schema;
    }

    /** Creates what is missing of the fence, and enables its event (idempotent). Needs a writable server. */
    async setUp(appPassword: string): Promise<void> {
        const c = await this.pool.getConnection();
        try {
            for (const statement of fenceSetupStatements(this.options.schema)) {
                await c.query({
                    sql: statement,
                    values: statement.includes("IDENTIFIED BY ?") ? [appPassword] : [],
                    timeout: 10 * (this.options.queryTimeoutMs ?? 2000),
                });
            }
        } finally {
            c.release();
        }
    }

    /** The database's clock, read before a renewal: the anchor of the deadline that renewal allows. */
    async anchor(): Promise<string> {
        const rows = await this.run<RowDataPacket[]>("SELECT UNIX_TIMESTAMP(NOW(6)) AS now");
        return String(rows[0].now);
    }

    /**
     * After a successful renewal of `epoch` by `holder`: the deadline becomes anchor + `afterMs`,
     * never earlier than it was.
     */
    async extend(holder: string, epoch: number, anchor: string, afterMs: number): Promise<void> {
        await this.run(
            `UPDATE ${this.q}.writer_lease SET holder = ?, epoch = ?, deadline = GREATEST(deadline, CAST(? AS DECIMAL(17,6)) + CAST(? AS DECIMAL(17,6))) WHERE id = 1 AND epoch <= ?`,
            [holder, epoch, anchor, (afterMs / 1000).toFixed(6), epoch],
        );
    }

    /** The heartbeat: while the deadline lies ahead, the time now and whether the fence is armed. */
    async beat(): Promise<boolean> {
        const result = await this.run(
            `UPDATE ${this.q}.writer_lease SET beat_at = UNIX_TIMESTAMP(NOW(6)),
                armed = (@@global.event_scheduler = 'ON' AND EXISTS (SELECT 1 FROM information_schema.EVENTS
                    WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ? AND STATUS = 'ENABLED'))
             WHERE id = 1 AND deadline > UNIX_TIMESTAMP(NOW(6))`,
            [this.q, ENFORCE_EVENT],
        );
        return (result as { affectedRows: number }).affectedRows === 1;
    }

    /**
     * Opens the application's account again, only while the deadline lies ahead, under the named
     * lock the event takes: the mark is cleared first, and the account unlocked only when that
     * took; a deadline that passes after it finds the mark clear, and the next event locks.
     */
    async unfence(): Promise<boolean> {
        const s = this.options.schema;
        const timeout = this.options.queryTimeoutMs ?? 2000;
        const c = await this.pool.getConnection();
        try {
            const [[{ got }]] = await c.query<RowDataPacket[]>({
                sql: "SELECT GET_LOCK(?, 2) AS got",
                values: [fenceLockName(s)],
                timeout,
            });
            if (Number(got) !== 1) {
                return false;
            }
            try {
                const [cleared] = await c.query({
                    sql: `UPDATE ${this.q}.writer_lease SET fenced_at = NULL WHERE id = 1 AND fenced_at IS NOT NULL AND deadline > UNIX_TIMESTAMP(NOW(6))`,
                    timeout,
                });
                if ((cleared as { affectedRows: number }).affectedRows !== 1) {
                    return false;
                }
                await c.query({ sql: `ALTER USER ${account(s)} ACCOUNT UNLOCK`, timeout });
                return true;
            } finally {
                await c.query({ sql: "DO RELEASE_LOCK(?)", values: [fenceLockName(s)], timeout }).catch(() => undefined);
            }
        } finally {
            c.release();
        }
    }

    /** Closes the fence at once (the lease is known to be lost): the deadline becomes now. */
    async fenceNow(): Promise<void> {
        await this.run(`UPDATE ${this.q}.writer_lease SET deadline = LEAST(deadline, UNIX_TIMESTAMP(NOW(6))) WHERE id = 1`);
        await this.run(`CALL ${this.q}.${ENFORCE_PROCEDURE}()`, [], 10 * (this.options.queryTimeoutMs ?? 2000));
    }

    /**
     * A planned switchover's end of this writer (failover/core/writerLease.ts Handover): the
     * fence closed at once, the database's epoch moved past `epoch` (so a renewal of that epoch
     * that lands late, from an overlapping run of the agent, can never move the deadline or
     * reopen the account: `extend` takes only an epoch at least the row's), then, once no
     * application session is left (each killed session gone from the process list, an
     * in-flight commit included), one final heartbeat. Every application write precedes it in
     * the binary log. Throws when sessions outlive `drainMs` (the caller tries again).
     */
    async seal(epoch: number, drainMs = 10 * (this.options.queryTimeoutMs ?? 2000)): Promise<SealedWriter> {
        const s = this.options.schema;
        await this.run(
            `UPDATE ${this.q}.writer_lease SET deadline = LEAST(deadline, UNIX_TIMESTAMP(NOW(6))), epoch = GREATEST(epoch, ?) WHERE id = 1`,
            [epoch + 1],
        );
        const drainUntil = performance.now() + drainMs;
        for (;;) {
            await this.run(`CALL ${this.q}.${ENFORCE_PROCEDURE}()`, [], 10 * (this.options.queryTimeoutMs ?? 2000));
            const [{ sessions }] = await this.run<RowDataPacket[]>(
                "SELECT COUNT(*) AS sessions FROM information_schema.PROCESSLIST WHERE USER = ?",
                [s.appUser],
            );
            if (Number(sessions) === 0) {
                break;
            }
            if (performance.now() > drainUntil) {
                throw new Error(`fence: ${Number(sessions)} session(s) of ${s.appUser} still open ${drainMs} ms after they were ended`);
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const c = await this.pool.getConnection();
        try {
            const timeout = this.options.queryTimeoutMs ?? 2000;
            const [rows] = await c.query<RowDataPacket[]>({
                sql: `SELECT fenced_at, deadline <= UNIX_TIMESTAMP(NOW(6)) AS closed, UNIX_TIMESTAMP(NOW(6)) AS now FROM ${this.q}.writer_lease WHERE id = 1`,
                timeout,
            });
            if (rows.length === 0 || rows[0].fenced_at === null || Number(rows[0].closed) !== 1) {
                throw new Error(`fence: ${this.q}.writer_lease does not show the fence closed: no final heartbeat written`);
            }
            // Never backwards: an overlapping run's seal may have beaten later; what is published is
            // what the row holds, so the replica can always reach it.
            await c.query({
                sql: `UPDATE ${this.q}.writer_lease SET beat_at = GREATEST(beat_at, ?) WHERE id = 1`,
                values: [String(rows[0].now)],
                timeout,
            });
            const [[beat]] = await c.query<RowDataPacket[]>({ sql: `SELECT beat_at FROM ${this.q}.writer_lease WHERE id = 1`, timeout });
            return { finalBeatAt: Number(beat.beat_at), fencedAt: Number(rows[0].fenced_at), gtid: await gtidSet(c, timeout) };
        } finally {
            c.release();
        }
    }

    async status(): Promise<FenceStatus> {
        const rows = await this.run<RowDataPacket[]>(
            `SELECT l.holder, l.epoch, l.deadline, l.fenced_at, UNIX_TIMESTAMP(NOW(6)) AS now, @@global.read_only AS read_only,
                    @@global.event_scheduler AS scheduler,
                    (SELECT STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?) AS event_status
             FROM ${this.q}.writer_lease l WHERE l.id = 1`,
            [this.q, ENFORCE_EVENT],
        );
        if (rows.length === 0) {
            throw new Error(`fence: ${this.q}.writer_lease has no row: the fence is not set up`);
        }
        const r = rows[0];
        const scheduler = String(r.scheduler);
        const event = r.event_status === null ? "missing" : String(r.event_status);
        const armed = scheduler === "ON" && event === "ENABLED";
        return {
            holder: String(r.holder),
            epoch: Number(r.epoch),
            deadline: Number(r.deadline),
            now: Number(r.now),
            armed,
            armedDetail: armed ? "event enabled, scheduler on" : `event ${event}, event_scheduler ${scheduler}`,
            fencedAt: r.fenced_at === null ? undefined : Number(r.fenced_at),
            writable: Number(r.read_only) === 0,
        };
    }

    async close(): Promise<void> {
        await this.pool.end();
    }
}
