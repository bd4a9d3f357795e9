/**
 * `npm run backup -- dump|verify|restore [flags]`: the logical backups of the shop's database.
 * The scheduled job runs `dump` (and `verify`); an operator runs the same by hand.
 *
 * Buckets: `--bucket <region>=<name>` (repeatable), or derived as the stacks name them from
 * `--account`, `--source-region` and `--backup-regions` (lib/backupNaming.ts). Credentials: a
 * Secrets Manager secret (`--credentials-secret`, JSON with username and password, as RDS
 * writes it) or a file of that JSON (`--credentials-file`, mode 0600); never a flag or an
 * environment variable. Exit 0 done, 1 failed or a problem found (verify), 2 bad usage.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { backupBucketName } from "../lib/backupNaming";
import { MYSQL_PORT } from "../lib/dbNaming";
import { PROJECT } from "../lib/project";
import { dumpDatabase, NotAReplicaError } from "./dump";
import { BACKUP_METRIC_DIMENSION, BACKUP_METRIC_NAMESPACE, BACKUP_METRICS } from "./metrics";
import type { Credentials, Endpoint } from "./mysql";
import { RestoreRefusedError, restoreBackup, verifyBucket } from "./restore";
import { BucketRef, s3Client, uploadBackup } from "./store";

const USAGE = `usage: npm run backup -- <command> [flags]

commands:
  dump       dump --database from a read replica at --host/--port to every bucket
  verify     per bucket: the backups, the newest one's age against --max-age-hours, its checksum (--all: every backup's)
  restore    the newest (or --backup ID) backup from one bucket into --target-database at --host/--port

buckets:     --bucket REGION=NAME (repeatable), or --account N --source-region R --backup-regions R1,R2
credentials: --credentials-secret ID [--secret-region R] | --credentials-file FILE (JSON: {"username", "password"})
tls:         --ssl-ca FILE: require TLS to the database, the certificate chained to FILE (RDS: its global bundle)
other:       --database NAME (required) --port N (default 3306) --s3-endpoint URL (an S3-compatible server)
             --allow-writer (dump: a writable server) --publish-metric (dump: CloudWatch ${BACKUP_METRIC_NAMESPACE})
`;

export class UsageError extends Error {}

export interface BackupIo {
    out(text: string): void;
    err(text: string): void;
}

const STDIO: BackupIo = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

const OPTIONS = {
    database: { type: "string" },
    host: { type: "string" },
    port: { type: "string" },
    bucket: { type: "string", multiple: true },
    account: { type: "string" },
    "source-region": { type: "string" },
    "backup-regions": { type: "string" },
    "credentials-secret": { type: "string" },
    "secret-region": { type: "string" },
    "credentials-file": { type: "string" },
    "s3-endpoint": { type: "string" },
    "ssl-ca": { type: "string" },
    "max-age-hours": { type: "string" },
    all: { type: "boolean" },
    backup: { type: "string" },
    "target-database": { type: "string" },
    "allow-writer": { type: "boolean" },
    "publish-metric": { type: "boolean" },
    help: { type: "boolean" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

function buckets(v: Values): BucketRef[] {
    if (v.bucket !== undefined && v.bucket.length > 0) {
        return v.bucket.map((spec) => {
            const m = /^([a-z]{2}(?:-[a-z]+)+-\d+)=([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/.exec(spec);
            if (!m) {
                throw new UsageError(`--bucket ${JSON.stringify(spec)}: expected REGION=BUCKET, e.g. us-west-2=ecommerce-db-backups-...`);
            }
            return { region: m[1], bucket: m[2] };
        });
    }
    if (v.account === undefined || v["source-region"] === undefined || v["backup-regions"] === undefined) {
        throw new UsageError("no buckets: give --bucket REGION=NAME, or --account, --source-region and --backup-regions");
    }
    try {
        return v["backup-regions"].split(",").map((region) => ({
            region,
            bucket: backupBucketName(PROJECT, v.account!, v["source-region"]!, region),
        }));
    } catch (err) {
        throw new UsageError((err as Error).message);
    }
}

async function credentials(v: Values): Promise<Credentials> {
    let raw: string;
    let where: string;
    if (v["credentials-file"] !== undefined) {
        where = v["credentials-file"];
        const mode = fs.statSync(where).mode & 0o077;
        if (mode !== 0) {
            throw new UsageError(
                `--credentials-file ${where}: readable by others (mode ${(fs.statSync(where).mode & 0o777).toString(8)}): chmod 600 it`,
            );
        }
        raw = fs.readFileSync(where, "utf8");
    } else if (v["credentials-secret"] !== undefined) {
        where = `secret ${v["credentials-secret"]}`;
        const sm = new SecretsManagerClient({ region: v["secret-region"] ?? process.env.AWS_REGION, maxAttempts: 5 });
        const out = await sm.send(new GetSecretValueCommand({ SecretId: v["credentials-secret"] }));
        raw = out.SecretString ?? "";
    } else {
        throw new UsageError("no credentials: give --credentials-secret ID or --credentials-file FILE");
    }
    let parsed: { username?: unknown; password?: unknown };
    try {
        parsed = JSON.parse(raw) as typeof parsed;
    } catch {
        throw new UsageError(`${where}: not JSON (its content is not shown)`);
    }
    if (typeof parsed.username !== "string" || typeof parsed.password !== "string") {
        throw new UsageError(`${where}: expected JSON with "username" and "password" strings (its content is not shown)`);
    }
    return { username: parsed.username, password: parsed.password };
}

function endpoint(v: Values): Endpoint {
    if (v.host === undefined) {
        throw new UsageError("--host is required (the reader endpoint for dump, the target for restore)");
    }
    const port = v.port === undefined ? MYSQL_PORT : Number(v.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new UsageError(`--port ${JSON.stringify(v.port)}: expected a TCP port from 1 to 65535`);
    }
    const tlsCa = v["ssl-ca"];
    if (tlsCa !== undefined && !fs.existsSync(tlsCa)) {
        throw new UsageError(`--ssl-ca ${tlsCa}: no such file (the CA bundle the server's certificate must chain to)`);
    }
    return { host: v.host, port, tlsCa };
}

export async function main(argv: string[], io: BackupIo = STDIO): Promise<number> {
    let command: string | undefined;
    let v: Values;
    try {
        const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
        v = parsed.values;
        command = parsed.positionals[0];
        if (v.help || command === undefined) {
            // Asked for, the usage goes to stdout; a missing command is an error (stderr).
            if (v.help) {
                io.out(USAGE);
            } else {
                io.err(USAGE);
            }
            return v.help ? 0 : 2;
        }
        if (!["dump", "verify", "restore"].includes(command)) {
            throw new UsageError(`unknown command ${JSON.stringify(command)}: expected dump, verify or restore`);
        }
    } catch (err) {
        io.err(`backup: ${(err as Error).message}\n\n${USAGE}`);
        return 2;
    }
    const database = v.database;
    if (database === undefined) {
        io.err(`backup: --database is required (the database whose backups these are, e.g. ecommerce)\n\n${USAGE}`);
        return 2;
    }
    try {
        const refs = buckets(v);
        const clientFor = (region: string) => s3Client(region, { endpoint: v["s3-endpoint"] });
        if (command === "dump") {
            const target = endpoint(v);
            const creds = await credentials(v);
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-"));
            try {
                const { file, manifest } = await dumpDatabase({
                    endpoint: target,
                    credentials: creds,
                    database,
                    dir,
                    region: v["source-region"],
                    allowWriter: v["allow-writer"],
                });
                io.out(
                    `dumped ${database} from ${target.host}:${target.port} (${manifest.source.serverVersion}): ${manifest.sizes.dumpBytes} bytes, ` +
                        `${manifest.sizes.compressedBytes} compressed, sha256 ${manifest.sha256}, GTID ${manifest.position.gtid || "-"}${manifest.position.exact ? "" : " (read before the snapshot)"}\n`,
                );
                const results = await Promise.allSettled(refs.map((b) => uploadBackup(clientFor(b.region), b.bucket, file, manifest)));
                let failed = 0;
                results.forEach((r, i) => {
                    if (r.status === "fulfilled") {
                        io.out(`uploaded ${manifest.id} to s3://${refs[i].bucket} (${refs[i].region})\n`);
                    } else {
                        failed++;
                        io.err(`backup: upload to s3://${refs[i].bucket} (${refs[i].region}) failed: ${(r.reason as Error).message}\n`);
                    }
                });
                if (v["publish-metric"]) {
                    // A metric that cannot be published does not fail a good backup (a retry would
                    // make another, locked for the retention): the missing metric alarms instead.
                    await new CloudWatchClient({ maxAttempts: 5 })
                        .send(
                            new PutMetricDataCommand({
                                Namespace: BACKUP_METRIC_NAMESPACE,
                                MetricData: [
                                    {
                                        MetricName: BACKUP_METRICS.completed,
                                        Value: failed === 0 ? 1 : 0,
                                        Unit: "Count",
                                        Dimensions: [{ Name: BACKUP_METRIC_DIMENSION, Value: database }],
                                    },
                                    {
                                        MetricName: BACKUP_METRICS.bytes,
                                        Value: manifest.sizes.compressedBytes,
                                        Unit: "Bytes",
                                        Dimensions: [{ Name: BACKUP_METRIC_DIMENSION, Value: database }],
                                    },
                                ],
                            }),
                        )
                        .catch((err: Error) => io.err(`backup: the backup is stored, but its metric was not published: ${err.message}\n`));
                }
                return failed === 0 ? 0 : 1;
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }
        if (command === "verify") {
            if (v["max-age-hours"] === undefined) {
                throw new UsageError("verify: --max-age-hours is required (the backup RPO; the stacks' ecommerce:backupMaxAgeHours)");
            }
            const maxAge = Number(v["max-age-hours"]);
            if (!Number.isFinite(maxAge) || maxAge <= 0) {
                throw new UsageError(`--max-age-hours ${JSON.stringify(v["max-age-hours"])}: expected a positive number of hours`);
            }
            let problems = 0;
            for (const b of refs) {
                const verdict = await verifyBucket(clientFor(b.region), b, database, { maxAgeHours: maxAge, all: v.all });
                io.out(
                    `s3://${b.bucket} (${b.region}): ${verdict.backups} backup(s)${verdict.newest ? `, newest ${verdict.newest} (${verdict.newestAgeHours!.toFixed(1)} h old)` : ""}\n`,
                );
                for (const c of verdict.checked) {
                    io.out(`  ${c.id}: ${c.ok ? "ok" : "CORRUPT"}: ${c.detail}\n`);
                }
                for (const p of verdict.problems) {
                    io.err(`backup: s3://${b.bucket}: ${p}\n`);
                }
                problems += verdict.problems.length;
            }
            return problems === 0 ? 0 : 1;
        }
        // restore
        if (refs.length !== 1) {
            throw new UsageError(`restore takes one bucket (got ${refs.length}): the one to restore from`);
        }
        if (v["target-database"] === undefined) {
            throw new UsageError("--target-database is required: the new database to restore into");
        }
        const result = await restoreBackup({
            client: clientFor(refs[0].region),
            bucket: refs[0],
            database,
            id: v.backup,
            target: endpoint(v),
            credentials: await credentials(v),
            targetDatabase: v["target-database"],
        });
        io.out(
            `restored backup ${result.manifest.id} of ${database} (taken ${result.manifest.startedAt}) into ${v["target-database"]} in ${result.seconds.toFixed(1)} s\n`,
        );
        const width = Math.max(5, ...result.tables.map((t) => t.table.length));
        io.out(`${"table".padEnd(width)}  ${"rows".padStart(10)}  checksum\n`);
        for (const t of result.tables) {
            io.out(`${t.table.padEnd(width)}  ${String(t.rows).padStart(10)}  ${t.checksum}\n`);
        }
        return 0;
    } catch (err) {
        if (err instanceof UsageError) {
            io.err(`backup: ${err.message}\n\n${USAGE}`);
            return 2;
        }
        if (err instanceof RestoreRefusedError || err instanceof NotAReplicaError) {
            io.err(`backup: ${err.message}\n`);
            return 1;
        }
        io.err(`backup: ${command} failed: ${(err as Error).message}\n`);
        return 1;
    }
}

if (require.main === module) {
    void main(process.argv.slice(2)).then((code) => process.exit(code));
}
