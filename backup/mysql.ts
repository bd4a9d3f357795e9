/**
 * The MySQL side of a backup: the client tools (`mysqldump`, `mysql`) run with their
 * credentials in a private option file (mode 0600 in a 0700 directory, removed afterwards),
 * never on a command line or in the environment; and a connection for the few queries the
 * CLI makes itself (is this a replica, the server's version and position, row counts).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createConnection, Connection, RowDataPacket } from "mysql2/promise";

export interface Credentials {
    readonly username: string;
    readonly password: string;
}

export interface Endpoint {
    readonly host: string;
    readonly port: number;
    /**
     * CA bundle (PEM file) the server's certificate must chain to: TLS is then required and
     * verified (RDS requires TLS: require_secure_transport=1). The host name is not checked:
     * the reader endpoint is a CNAME the instance certificate does not name (MySQL's VERIFY_CA).
     */
    readonly tlsCa?: string;
}

/** The value of an option-file line, quoted: `"` and `\` escaped, so any password survives. */
function optionValue(value: string): string {
    return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * Runs `work` with an option file holding the credentials; the file is gone when it returns.
 * `--defaults-extra-file` must be the tools' first argument.
 */
export async function withOptionFile<T>(
    endpoint: Endpoint,
    credentials: Credentials,
    tool: { readonly mariadb: boolean },
    work: (file: string) => Promise<T>,
): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-credentials-"));
    fs.chmodSync(dir, 0o700);
    const file = path.join(dir, "client.cnf");
    try {
        fs.writeFileSync(
            file,
            [
                "[client]",
                `user=${optionValue(credentials.username)}`,
                `password=${optionValue(credentials.password)}`,
                `host=${optionValue(endpoint.host)}`,
                `port=${endpoint.port}`,
                // MySQL's tools: verify the chain (VERIFY_CA). MariaDB's: --ssl-ca turns TLS on;
                // verifying the server's certificate also checks its name (the tests' servers).
                ...(endpoint.tlsCa === undefined
                    ? []
                    : [`ssl-ca=${optionValue(endpoint.tlsCa)}`, tool.mariadb ? "ssl-verify-server-cert" : "ssl-mode=VERIFY_CA"]),
                "",
            ].join("\n"),
            { mode: 0o600 },
        );
        return await work(file);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

export function connect(endpoint: Endpoint, credentials: Credentials, database?: string): Promise<Connection> {
    return createConnection({
        host: endpoint.host,
        port: endpoint.port,
        user: credentials.username,
        password: credentials.password,
        database,
        connectTimeout: 10_000,
        multipleStatements: false,
        ...(endpoint.tlsCa === undefined
            ? {}
            : { ssl: { ca: fs.readFileSync(endpoint.tlsCa), rejectUnauthorized: true, verifyIdentity: false } }),
    });
}

export async function rows<T>(c: Connection, sql: string, params: unknown[] = []): Promise<T[]> {
    const [result] = await c.query<RowDataPacket[]>(sql, params);
    return result as unknown as T[];
}

/** `mysqldump --version` (or the tool's error), for the manifest. */
export function toolVersion(tool: string): string {
    const out = spawnSync(tool, ["--version"], { encoding: "utf8" });
    if (out.error !== undefined || out.status !== 0) {
        throw new Error(
            `${tool} cannot run (${out.error?.message ?? out.stderr.trim()}): install a MySQL client (Debian: mariadb-client; for MySQL 8.4 servers, MySQL's own mysql-client)`,
        );
    }
    return out.stdout.trim();
}

/** Whether the client tools are MariaDB's (their flags differ from MySQL's). */
export function isMariaDbTool(version: string): boolean {
    return /mariadb/i.test(version);
}

export interface ServerFacts {
    readonly version: string;
    readonly readOnly: boolean;
    /** The server's GTID position when asked (MariaDB gtid_current_pos, MySQL gtid_executed). */
    readonly gtid: string;
}

export async function serverFacts(c: Connection): Promise<ServerFacts> {
    const [{ version, readOnly }] = await rows<{ version: string; readOnly: number }>(
        c,
        "SELECT VERSION() AS version, @@global.read_only AS readOnly",
    );
    const mariadb = /mariadb/i.test(version);
    const [{ gtid }] = await rows<{ gtid: string }>(
        c,
        mariadb ? "SELECT @@global.gtid_current_pos AS gtid" : "SELECT @@global.gtid_executed AS gtid",
    );
    return { version, readOnly: Number(readOnly) === 1, gtid: String(gtid ?? "") };
}

export interface TableFacts {
    readonly table: string;
    readonly rows: number;
    /** CHECKSUM TABLE: equal contents, equal checksums (same engine and row format). */
    readonly checksum: string;
}

/** Row count and CHECKSUM TABLE of every base table of `database`, by name. */
export async function tableFacts(c: Connection, database: string): Promise<TableFacts[]> {
    const tables = await rows<{ name: string }>(
        c,
        "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
        [database],
    );
    const facts: TableFacts[] = [];
    for (const { name } of tables) {
        const ident = `\`${database.replace(/`/g, "``")}\`.\`${name.replace(/`/g, "``")}\``;
        const [{ n }] = await rows<{ n: number }>(c, `SELECT COUNT(*) AS n FROM ${ident}`);
        const [sum] = await rows<{ Checksum: string | number | null }>(c, `CHECKSUM TABLE ${ident}`);
        facts.push({ table: name, rows: Number(n), checksum: String(sum.Checksum) });
    }
    return facts;
}
