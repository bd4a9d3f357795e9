/**
 * A MariaDB server of the drill (Debian's `mariadb-server`), on 127.0.0.1 with its own port,
 * data directory and socket, started and stopped by the drill. Every server logs binlogs
 * with GTIDs (a replica that is promoted is then a writer others could follow).
 *
 * Users: `root` only over the Unix socket (administration: replication, fencing, promotion);
 * the application's user `shop` over TCP with DML on the shop's schema and nothing else. Like
 * RDS's master user it has no SUPER or READ_ONLY ADMIN, so `read_only=1` refuses its writes:
 * that is the fence.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { createConnection, Connection, ConnectionOptions, RowDataPacket } from "mysql2/promise";
import { missingTool } from "./tools";

export const SHOP_SCHEMA = "shop";
export const SHOP_USER = "shop";
const REPLICATION_USER = "repl";
/** The controller's administrative user over TCP (the fence and the promotion go over the network, as on RDS). */
export const ADMIN_USER = "drill";
/**
 * A user with exactly the privileges RDS for MySQL 8.4 grants its master user (AWS's "Master
 * user account privileges" page lists them; MariaDB splits MySQL's REPLICATION CLIENT into
 * `BINLOG MONITOR` and `SLAVE MONITOR`, the latter for SHOW REPLICA STATUS):
 * no SUPER, no CONNECTION ADMIN, so it ends others' sessions only through mysql.rds_kill. The
 * writer agent's fence runs as this user.
 */
export const MASTER_USER = "master";
const RDS_MASTER_PRIVILEGES =
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, " +
    "CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, BINLOG MONITOR, SLAVE MONITOR, CREATE VIEW, SHOW VIEW, " +
    "CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER";

export interface MariaDbOptions {
    /** Where the server's data, socket and log live (created; removed by `destroy`). */
    readonly dir: string;
    readonly port: number;
    /** Unique per server in a replication topology. */
    readonly serverId: number;
    /** Password of the `shop` and `repl` users (the drill's own, random per run). */
    readonly password: string;
    /** Serve TLS with this certificate and key, and refuse clients without it (as RDS does). */
    readonly tls?: { readonly cert: string; readonly key: string };
}

/** Why this machine cannot run the drill's servers (undefined: it can). */
export function mariaDbInstalled(): string | undefined {
    return missingTool("mariadbd", "mariadb-server") ?? missingTool("mariadb-install-db", "mariadb-server");
}

/** mariadbd: on PATH, else Debian's /usr/sbin (not on a non-root user's PATH). */
function serverBinary(): string {
    const found = spawnSync("sh", ["-c", "command -v mariadbd || command -v /usr/sbin/mariadbd"], { encoding: "utf8" });
    return found.status === 0 && found.stdout.trim() !== "" ? found.stdout.trim().split("\n")[0] : "mariadbd";
}

/** A self-signed certificate for 127.0.0.1 (openssl), for a server that requires TLS. */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
    fs.mkdirSync(dir, { recursive: true });
    const cert = path.join(dir, "server-cert.pem");
    const key = path.join(dir, "server-key.pem");
    const out = spawnSync(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        { encoding: "utf8" },
    );
    if (out.status !== 0) {
        throw new Error(`openssl could not make a test certificate: ${out.stderr}`);
    }
    return { cert, key };
}

/**
 * A fresh data directory (mariadb-install-db: system tables, no users but root over the
 * socket), copied for every server: an install takes about 2 s (1 s of CPU), a copy of its
 * 26 MB 0.06 s, and a drill of every fault needs twenty-eight servers. Made once per machine,
 * user and MariaDB version, and shared by every process (the suite's parallel workers each
 * drill): in the temporary directory, keyed by the server's version and the install's
 * arguments, made under a name of its own and renamed into place, so a reader never sees it
 * half made and two processes making it at once both end up with one. Never changed after.
 */
let pristine: string | undefined;
function pristineDataDir(): string {
    if (pristine !== undefined && fs.existsSync(pristine)) {
        return pristine;
    }
    const args = [
        "--no-defaults",
        "--auth-root-authentication-method=socket",
        "--skip-test-db",
        "--innodb-log-file-size=8M",
        ...(process.getuid?.() === 0 ? ["--user=root"] : []),
    ];
    const version = spawnSync(serverBinary(), ["--version"], { encoding: "utf8" }).stdout ?? "";
    const key = createHash("sha256").update(version).update(args.join(" ")).digest("hex").slice(0, 16);
    const shared = path.join(os.tmpdir(), `mariadb-pristine-${process.getuid?.() ?? "user"}-${key}`);
    const dataDir = path.join(shared, "data");
    // Written last, before the rename: its presence means the install is whole.
    const marker = path.join(shared, "complete");
    if (fs.existsSync(marker)) {
        return (pristine = dataDir);
    }
    if (fs.existsSync(shared)) {
        fs.rmSync(shared, { recursive: true, force: true }); // a partial copy (a temporary-file cleaner's work)
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mariadb-pristine-making-"));
    // Its own tmpdir: two installs at once in /tmp (the suite's parallel workers) collided on
    // the bootstrap server's temporary tables ("Error on delete of '/tmp/#sql-temptable-...'").
    const tmpDir = path.join(dir, "tmp");
    fs.mkdirSync(tmpDir);
    const result = spawnSync("mariadb-install-db", [...args, `--datadir=${path.join(dir, "data")}`, `--tmpdir=${tmpDir}`], {
        encoding: "utf8",
        timeout: 60_000,
    });
    if (result.status !== 0) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw new Error(`mariadb-install-db failed (${result.status}): ${result.stderr || result.stdout}`);
    }
    fs.rmSync(tmpDir, { recursive: true, force: true });
    fs.writeFileSync(path.join(dir, "complete"), version);
    try {
        fs.renameSync(dir, shared);
    } catch (err) {
        // Another process put its install there first: use that one.
        fs.rmSync(dir, { recursive: true, force: true });
        if (!fs.existsSync(marker)) {
            throw err;
        }
    }
    return (pristine = dataDir);
}

export class MariaDb {
    private process?: ChildProcess;
    private exited?: Promise<void>;

    constructor(readonly options: MariaDbOptions) {}

    get port(): number {
        return this.options.port;
    }
    get dataDir(): string {
        return path.join(this.options.dir, "data");
    }
    get socket(): string {
        return path.join(this.options.dir, "mysqld.sock");
    }
    get logFile(): string {
        return path.join(this.options.dir, "error.log");
    }

    /** The server's options: small InnoDB files (a drill, not a benchmark), binlog with GTIDs. */
    private serverArgs(networking: boolean): string[] {
        const args = [
            "--no-defaults",
            `--datadir=${this.dataDir}`,
            `--socket=${this.socket}`,
            `--pid-file=${path.join(this.options.dir, "mysqld.pid")}`,
            `--log-error=${this.logFile}`,
            // Temporary files beside the server's data, never in a /tmp other servers share.
            `--tmpdir=${this.options.dir}`,
            // Without networking (the socket alone) where nothing but the drill reads it: its port
            // may have gone to another process since it was killed.
            ...(networking ? [`--port=${this.options.port}`, "--bind-address=127.0.0.1"] : ["--skip-networking"]),
            `--server-id=${this.options.serverId}`,
            "--log-bin=binlog",
            "--binlog-format=ROW",
            "--log-slave-updates=1",
            "--gtid-strict-mode=1",
            "--skip-name-resolve",
            "--innodb-log-file-size=8M",
            "--innodb-buffer-pool-size=32M",
            "--innodb-flush-log-at-trx-commit=1",
            "--sync-binlog=1",
            "--performance-schema=0",
            // The writer lease's fence is an event (failover/agent/fence.ts): on RDS the parameter
            // group turns the scheduler on; MariaDB's default is off.
            "--event-scheduler=ON",
            // A replica notices a silent source within 2 s (heartbeats every 0.5 s).
            "--slave-net-timeout=2",
            ...(this.options.tls
                ? [`--ssl-cert=${this.options.tls.cert}`, `--ssl-key=${this.options.tls.key}`, "--require-secure-transport=ON"]
                : []),
        ];
        // mariadbd refuses to run as root unless told which user to be.
        return process.getuid?.() === 0 ? [...args, "--user=root"] : args;
    }

    /** Creates the data directory: a copy of the process's fresh install (never a used server's). */
    install(): void {
        fs.mkdirSync(this.options.dir, { recursive: true });
        fs.cpSync(pristineDataDir(), this.dataDir, { recursive: true });
    }

    /** Starts the server and waits until it answers on its socket; `{ networking: false }`: on its socket alone. */
    async start({ networking = true }: { networking?: boolean } = {}): Promise<void> {
        if (this.process !== undefined) {
            throw new Error(`MariaDB on ${this.port} is already running`);
        }
        const child = spawn(serverBinary(), this.serverArgs(networking), { stdio: "ignore" });
        this.process = child;
        let spawnError: Error | undefined;
        child.once("error", (err) => (spawnError = err));
        this.exited = new Promise((resolve) => child.once("close", () => resolve()));
        const deadline = Date.now() + 30_000;
        for (;;) {
            if (spawnError !== undefined) {
                throw new Error(`mariadbd could not start: ${spawnError.message}`, { cause: spawnError });
            }
            try {
                const c = await this.admin();
                await c.end();
                return;
            } catch (err) {
                if (child.exitCode !== null || Date.now() > deadline) {
                    const log = fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, "utf8").split("\n").slice(-15).join("\n") : "";
                    throw new Error(`MariaDB on 127.0.0.1:${this.port} did not start (${(err as Error).message}):\n${log}`, { cause: err });
                }
                await sleep(50);
            }
        }
    }

    get running(): boolean {
        return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
    }

    /** When the server was last killed (Date.now() as the signal went), while it has not started since: it takes no writes from then. */
    get killedAt(): number | undefined {
        return this.running ? undefined : this.lastKill;
    }
    private lastKill?: number;

    /** SIGKILL: the crash the drill injects (no clean shutdown, no last binlog flush beyond sync-binlog). */
    async kill(): Promise<void> {
        if (this.process && this.running) {
            this.lastKill = Date.now();
            this.process.kill("SIGKILL");
            await this.exited;
        }
        this.process = undefined;
    }

    /** A clean shutdown. */
    async stop(): Promise<void> {
        if (this.process && this.running) {
            this.process.kill("SIGTERM");
            await Promise.race([this.exited, sleep(15_000).then(() => this.process?.kill("SIGKILL"))]);
            await this.exited;
        }
        this.process = undefined;
    }

    async destroy(): Promise<void> {
        await this.kill();
        fs.rmSync(this.options.dir, { recursive: true, force: true });
    }

    /** root over the Unix socket. */
    admin(extra: Partial<ConnectionOptions> = {}): Promise<Connection> {
        return createConnection({ socketPath: this.socket, user: "root", connectTimeout: 2000, ...extra });
    }

    /** The controller's administrative connection over TCP, to `port` (the server's, or a proxy's in front of it). */
    adminConnection(port = this.port): ConnectionOptions {
        return { host: "127.0.0.1", port, user: ADMIN_USER, password: this.options.password, connectTimeout: 1000 };
    }

    /** The RDS-like master user's connection over TCP, to `port` (the server's, or a proxy's). */
    masterConnection(port = this.port): ConnectionOptions {
        return { host: "127.0.0.1", port, user: MASTER_USER, password: this.options.password, connectTimeout: 1000 };
    }

    /**
     * The application's own account as the writer lease's fence keeps it (failover/agent/fence.ts
     * creates it, locked, and opens it while the site holds the lease), over TCP on 127.0.0.1.
     */
    appConnection(user: string): ConnectionOptions {
        return { host: "127.0.0.1", port: this.port, user, password: this.options.password, database: SHOP_SCHEMA, connectTimeout: 1000 };
    }

    /** The application's connection options (TCP on 127.0.0.1). */
    shopConnection(): ConnectionOptions {
        return {
            host: "127.0.0.1",
            port: this.port,
            user: SHOP_USER,
            password: this.options.password,
            database: SHOP_SCHEMA,
            connectTimeout: 1000,
        };
    }

    /** Runs admin statements on one connection. */
    async sql<T = RowDataPacket[]>(statements: string | string[], params: unknown[] = []): Promise<T> {
        const c = await this.admin();
        try {
            let last: unknown;
            for (const s of [statements].flat()) {
                [last] = await c.query(s, params);
            }
            return last as T;
        } finally {
            await c.end();
        }
    }

    /**
     * The writer's setup: the users (not binlogged: each server creates its own) and the shop's
     * schema (binlogged: it reaches the replica through replication).
     */
    async setUpAsPrimary(): Promise<void> {
        await this.createUsers();
        await this.sql([
            `CREATE DATABASE ${SHOP_SCHEMA}`,
            // One row per numbered write of the drill's writer, with the time the server committed it.
            `CREATE TABLE ${SHOP_SCHEMA}.orders (id BIGINT PRIMARY KEY, site VARCHAR(32) NOT NULL, committed_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB`,
            // The heartbeat the replica's lag is read from (one row, updated by the primary's site).
            `CREATE TABLE ${SHOP_SCHEMA}.heartbeat (id TINYINT PRIMARY KEY, beat_at TIMESTAMP(6) NOT NULL) ENGINE=InnoDB`,
            `INSERT INTO ${SHOP_SCHEMA}.heartbeat VALUES (1, CURRENT_TIMESTAMP(6))`,
        ]);
    }

    /**
     * The standby writer: read-only, replicating by GTID from the beginning from `primary`,
     * reached at `port` (the primary's, or the drill's network in front of it).
     */
    async setUpAsReplicaOf(primary: MariaDb, port = primary.port): Promise<void> {
        await this.createUsers();
        await this.sql("SET GLOBAL read_only = 1");
        await this.sql(
            `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${port}, MASTER_USER = '${REPLICATION_USER}', ` +
                "MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 0.5",
            [this.options.password],
        );
        await this.sql("START SLAVE");
    }

    /** Keeps this replica `seconds` behind its source from now on (MASTER_DELAY). */
    async delayReplication(seconds: number): Promise<void> {
        await this.sql(["STOP SLAVE", `CHANGE MASTER TO MASTER_DELAY = ${Math.max(0, Math.floor(seconds))}`, "START SLAVE"]);
    }

    /** A plain server (a restore target): writable, with the users and no schema. */
    async setUpAsStandalone(): Promise<void> {
        await this.createUsers();
        await this.sql("SET GLOBAL read_only = 0");
    }

    private async createUsers(): Promise<void> {
        const pw = this.options.password;
        await this.sql([
            "SET SESSION sql_log_bin = 0",
            `CREATE USER '${SHOP_USER}'@'127.0.0.1' IDENTIFIED BY '${pw.replace(/'/g, "''")}'`,
            `GRANT SELECT, INSERT, UPDATE, DELETE ON ${SHOP_SCHEMA}.* TO '${SHOP_USER}'@'127.0.0.1'`,
            `CREATE USER '${REPLICATION_USER}'@'127.0.0.1' IDENTIFIED BY '${pw.replace(/'/g, "''")}'`,
            `GRANT REPLICATION SLAVE ON *.* TO '${REPLICATION_USER}'@'127.0.0.1'`,
            `CREATE USER '${ADMIN_USER}'@'127.0.0.1' IDENTIFIED BY '${pw.replace(/'/g, "''")}'`,
            `GRANT ALL PRIVILEGES ON *.* TO '${ADMIN_USER}'@'127.0.0.1'`,
            `CREATE USER '${MASTER_USER}'@'127.0.0.1' IDENTIFIED BY '${pw.replace(/'/g, "''")}'`,
            `GRANT ${RDS_MASTER_PRIVILEGES} ON *.* TO '${MASTER_USER}'@'127.0.0.1' WITH GRANT OPTION`,
            // RDS's procedure for ending another user's session, as RDS documents it
            // (mysql-stored-proc-ending.html): here root's, so its KILL may end anyone's.
            "CREATE PROCEDURE IF NOT EXISTS mysql.rds_kill(IN thread BIGINT) SQL SECURITY DEFINER BEGIN KILL CONNECTION thread; END",
        ]);
    }
}
