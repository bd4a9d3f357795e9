/**
 * `npm run bench:backup -- [--mb 300] [--runs 3]`: dump and restore throughput of the backup
 * CLI's code on this machine. A MariaDB server (drill/mariadb.ts) is filled with about `--mb`
 * of order rows (hex text: compresses about as well as real order data), then each run
 * dumps it (mysqldump, gzip, SHA-256, as `dump` does), uploads it to two buckets of a local
 * S3-protocol server (s3rver), and restores it into a new database on a second server
 * (download, checksum, gunzip, mysql, row counts and CHECKSUM TABLE, as `restore` does).
 * A development tool: it needs the devDependency s3rver.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { toolArgs, usageError } from "../tools/toolArgs";
import { ADMIN_USER, MariaDb } from "../drill/mariadb";
import { freePort } from "../drill/tools";
import { dumpDatabase } from "./dump";
import { restoreBackup } from "./restore";
import { startLocalS3 } from "./localS3";
import { s3Client, uploadBackup } from "./store";

const seconds = (from: number) => (Date.now() - from) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const USAGE = `usage: npm run bench:backup -- [--mb 300] [--runs 3]

Dump and restore throughput of the backup CLI's code on this machine (MariaDB and s3rver on
127.0.0.1; needs the devDependency s3rver).

  --mb N     about how many MB of order rows to fill the database with (1 to 10000, default 300)
  --runs N   dump and restore runs (default 3)
  --help     this text`;

async function main(): Promise<void> {
    const values = toolArgs("bench:backup", USAGE, { mb: { type: "string" }, runs: { type: "string" } });
    const mb = Number(values.mb ?? 300);
    const runs = Number(values.runs ?? 3);
    if (!(mb >= 1 && mb <= 10_000) || !(Number.isInteger(runs) && runs >= 1)) {
        usageError(
            "bench:backup",
            `--mb ${String(values.mb)} --runs ${String(values.runs)}: expected --mb from 1 to 10000, --runs a whole number of at least 1`,
        );
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-backup-"));
    const password = randomBytes(12).toString("hex");
    const buckets = [
        { region: "us-west-2", bucket: "bench-us-west-2" },
        { region: "us-east-1", bucket: "bench-us-east-1" },
    ];
    const s3 = await startLocalS3(
        path.join(dir, "s3"),
        buckets.map((b) => b.bucket),
    );
    const endpoint = s3.endpoint;
    const source = new MariaDb({ dir: path.join(dir, "source"), port: await freePort(), serverId: 1, password });
    const target = new MariaDb({ dir: path.join(dir, "target"), port: await freePort(), serverId: 2, password });
    try {
        source.install();
        target.install();
        await Promise.all([source.start(), target.start()]);
        await Promise.all([source.setUpAsStandalone(), target.setUpAsStandalone()]);
        // ~1 KB per row: rows = mb * 1024.
        const rows = Math.round(mb * 1024);
        const filled = Date.now();
        await source.sql([
            "CREATE DATABASE bench",
            "USE bench",
            "CREATE TABLE bench.orders (id BIGINT PRIMARY KEY, customer INT NOT NULL, total DECIMAL(12,2) NOT NULL, note VARCHAR(1024) NOT NULL, KEY (customer)) ENGINE=InnoDB",
            `INSERT INTO bench.orders SELECT seq, seq % 50000, (seq % 10000) / 7, CONCAT(${[..."abcdefgh"].map((c) => `SHA2(CONCAT(seq, '${c}'), 512)`).join(", ")}) FROM seq_1_to_${rows}`,
        ]);
        await source.sql("ANALYZE TABLE bench.orders");
        const [{ size }] = await source.sql<{ size: number }[]>(
            "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS size FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bench'",
        );
        process.stdout.write(
            `filled bench.orders: ${rows} rows, ${(Number(size) / 1048576).toFixed(0)} MiB on disk, in ${seconds(filled).toFixed(1)} s\n`,
        );
        const credentials = { username: ADMIN_USER, password };
        const endpointOf = (db: MariaDb) => ({ host: "127.0.0.1", port: db.port });
        const results: { dump: number; upload: number; restore: number; dumpMiB: number; gzMiB: number }[] = [];
        for (let run = 1; run <= runs; run++) {
            const work = path.join(dir, `run-${run}`);
            let t = Date.now();
            const { file, manifest } = await dumpDatabase({
                endpoint: endpointOf(source),
                credentials,
                database: "bench",
                dir: work,
                allowWriter: true,
                now: () => new Date(Date.now() + run * 1000), // distinct backup IDs per run
            });
            const dump = seconds(t);
            t = Date.now();
            await Promise.all(buckets.map((b) => uploadBackup(s3Client(b.region, { endpoint }), b.bucket, file, manifest)));
            const upload = seconds(t);
            t = Date.now();
            const restored = await restoreBackup({
                client: s3Client(buckets[0].region, { endpoint }),
                bucket: buckets[0],
                database: "bench",
                id: manifest.id,
                target: endpointOf(target),
                credentials,
                targetDatabase: `bench_restored_${run}`,
            });
            const restore = seconds(t);
            if (restored.tables[0]?.rows !== rows) {
                throw new Error(`restore ${run} has ${restored.tables[0]?.rows} rows, expected ${rows}`);
            }
            const dumpMiB = manifest.sizes.dumpBytes / 1048576;
            const gzMiB = manifest.sizes.compressedBytes / 1048576;
            results.push({ dump, upload, restore, dumpMiB, gzMiB });
            process.stdout.write(
                `run ${run}: dump ${dump.toFixed(1)} s (${dumpMiB.toFixed(0)} MiB SQL -> ${gzMiB.toFixed(0)} MiB gzip, ${(dumpMiB / dump).toFixed(1)} MiB/s), ` +
                    `upload to 2 buckets ${upload.toFixed(1)} s, restore ${restore.toFixed(1)} s (${(dumpMiB / restore).toFixed(1)} MiB/s of SQL)\n`,
            );
            fs.rmSync(work, { recursive: true, force: true });
        }
        const m = (k: "dump" | "upload" | "restore") => median(results.map((r) => r[k]));
        process.stdout.write(
            `median of ${runs}: dump ${m("dump").toFixed(1)} s, upload ${m("upload").toFixed(1)} s, restore ${m("restore").toFixed(1)} s ` +
                `(${(results[0].dumpMiB / m("dump")).toFixed(1)} MiB/s dump, ${(results[0].dumpMiB / m("restore")).toFixed(1)} MiB/s restore)\n`,
        );
    } finally {
        await Promise.all([source.destroy(), target.destroy()]);
        await s3.close();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

void main().then(
    () => process.exit(0),
    (err: Error) => {
        process.stderr.write(`bench:backup: ${err.message}\n`);
        process.exit(1);
    },
);
