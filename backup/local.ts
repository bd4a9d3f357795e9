/**
 * `npm run backup:local`: practise a restore on this machine, with the real backup CLI
 * (backup/cli.ts) against a MariaDB server (Debian's mariadb-server, drill/mariadb.ts) and an
 * S3-protocol server (s3rver) holding two "regions'" buckets, all on 127.0.0.1. It walks through
 * the restore runbook (docs/RUNBOOK.md) and prints each command as you would type it:
 *
 *   1. a database `ecommerce` with orders; `backup dump` to both buckets
 *   2. the damage: the orders table dropped
 *   3. `backup verify --all`: both copies ok
 *   4. one copy corrupted (bytes overwritten, as bit rot or tampering would)
 *   5. `backup verify --all`: the corrupt copy named; `backup restore` from it refused, nothing written
 *   6. `backup restore` from the other bucket into `ecommerce_restored`: tables, rows, CHECKSUM TABLE
 *   7. the lost rows copied back, and counted
 *
 * Exit 0 when every step did what it should. Everything it starts is stopped and removed.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { randomBytes } from "crypto";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { ADMIN_USER, MariaDb } from "../drill/mariadb";
import { freePort } from "../drill/tools";
import { backupObjectKeys } from "../lib/backupNaming";
import { toolArgs } from "../tools/toolArgs";
import { main as backup } from "./cli";
import { startLocalS3 } from "./localS3";
import { s3Client } from "./store";

const USAGE = `usage: npm run backup:local -- [--rows N]

Practise a restore on this machine: a MariaDB server and an S3-protocol server (s3rver) on
127.0.0.1, the real backup CLI. It dumps, drops a table, corrupts one backup copy, shows that
verify and restore refuse it, restores from the other bucket and puts the rows back, printing
each command as you would type it. Needs Debian's mariadb-server and the devDependency s3rver.

  --rows N   orders to back up (default 1000)
  --help     this text`;

const BUCKETS = { "us-west-2": "ecommerce-db-backups-local-us-west-2", "us-east-1": "ecommerce-db-backups-local-us-east-1" } as const;

export interface PractiseOptions {
    readonly rows: number;
    readonly say: (line: string) => void;
}

/** The walk-through; throws when a step did not do what it should. */
export async function practiseRestore({ rows, say }: PractiseOptions): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-local-"));
    const password = randomBytes(12).toString("hex");
    const s3 = await startLocalS3(path.join(dir, "s3"), Object.values(BUCKETS));
    const db = new MariaDb({ dir: path.join(dir, "db"), port: await freePort(), serverId: 1, password });
    try {
        const endpoint = s3.endpoint;
        db.install();
        await db.start();
        await db.setUpAsStandalone();
        const credentialsFile = path.join(dir, "credentials.json");
        fs.writeFileSync(credentialsFile, JSON.stringify({ username: ADMIN_USER, password }), { mode: 0o600 });
        const common = ["--database", "ecommerce", "--s3-endpoint", endpoint];
        const both = Object.entries(BUCKETS).flatMap(([region, bucket]) => ["--bucket", `${region}=${bucket}`]);
        const server = ["--host", "127.0.0.1", "--port", String(db.port), "--credentials-file", credentialsFile];
        /** Runs the backup CLI as `npm run backup -- ...` would, its output indented under the command. */
        const run = async (...args: string[]): Promise<{ code: number; out: string }> => {
            say(`\n$ npm run backup -- ${args.join(" ")}`);
            let out = "";
            const code = await backup(args, {
                out: (t) => void (out += t),
                err: (t) => void (out += t),
            });
            say(out.replace(/\n$/, "").replace(/^/gm, "  "));
            say(`  (exit ${code})`);
            return { code, out };
        };
        const expect = (ok: boolean, what: string) => {
            if (!ok) {
                throw new Error(`backup:local: ${what}`);
            }
        };

        say(`1. A database with ${rows} orders on MariaDB 127.0.0.1:${db.port}; two buckets on s3rver ${endpoint}`);
        await db.sql([
            "CREATE DATABASE ecommerce",
            "USE ecommerce",
            "CREATE TABLE ecommerce.orders (id BIGINT PRIMARY KEY, customer INT NOT NULL, total DECIMAL(12,2) NOT NULL) ENGINE=InnoDB",
            `INSERT INTO ecommerce.orders SELECT seq, seq % 97, seq / 7 FROM seq_1_to_${rows}`,
        ]);
        const dumped = await run("dump", ...common, ...both, ...server, "--allow-writer");
        expect(dumped.code === 0, "the dump failed");
        const id = /uploaded (\d{8}T\d{6}Z)/.exec(dumped.out)?.[1];
        expect(id !== undefined, "the dump named no backup");

        say("\n2. The damage: DROP TABLE ecommerce.orders");
        await db.sql("DROP TABLE ecommerce.orders");

        say("\n3. What exists, with checksums:");
        expect(
            (await run("verify", ...common, ...both, "--all", "--max-age-hours", "26")).code === 0,
            "verify found a problem before anything was corrupted",
        );

        say(`\n4. The us-west-2 copy corrupted (its bytes overwritten, as bit rot or tampering would)`);
        await s3Client("us-west-2", { endpoint }).send(
            new PutObjectCommand({
                Bucket: BUCKETS["us-west-2"],
                Key: backupObjectKeys("ecommerce", id!).dump,
                Body: Buffer.from("not the backup"),
            }),
        );

        say("\n5. verify names it; restore refuses it and writes nothing:");
        expect(
            (await run("verify", ...common, ...both, "--all", "--max-age-hours", "26")).code !== 0,
            "verify did not notice the corrupt copy",
        );
        const target = [...server, "--target-database", "ecommerce_restored", "--backup", id!];
        const refused = await run("restore", ...common, "--bucket", `us-west-2=${BUCKETS["us-west-2"]}`, ...target);
        expect(refused.code !== 0, "restore took the corrupt copy");

        say("\n6. Restore from the other bucket, into a new database (never over the live one):");
        const restored = await run("restore", ...common, "--bucket", `us-east-1=${BUCKETS["us-east-1"]}`, ...target);
        expect(restored.code === 0, "the restore from the good copy failed");

        say("\n7. The lost rows put back (INSERT ... SELECT), and counted:");
        await db.sql([
            "USE ecommerce",
            "CREATE TABLE ecommerce.orders LIKE ecommerce_restored.orders",
            "INSERT INTO ecommerce.orders SELECT * FROM ecommerce_restored.orders",
        ]);
        const [{ n }] = await db.sql<{ n: number }[]>("SELECT COUNT(*) AS n FROM ecommerce.orders");
        say(`  ecommerce.orders: ${n} rows (before the damage: ${rows})`);
        expect(Number(n) === rows, `${n} rows back, expected ${rows}`);
        say('\nRestore practised: every step did what the runbook says (docs/RUNBOOK.md, "Restore the database from a backup").');
    } finally {
        await db.destroy().catch(() => undefined);
        await s3.close();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

if (require.main === module) {
    const values = toolArgs("backup:local", USAGE, { rows: { type: "string" } });
    const rows = Number(values.rows ?? 1000);
    if (!Number.isInteger(rows) || rows < 1 || rows > 1_000_000) {
        process.stderr.write(`backup:local: --rows ${String(values.rows)}: expected a whole number from 1 to 1000000\n`);
        process.exit(2);
    }
    practiseRestore({ rows, say: (line) => process.stdout.write(`${line}\n`) }).then(
        () => process.exit(0),
        (err: Error) => {
            process.stderr.write(`${err.message}\n`);
            process.exit(1);
        },
    );
}
