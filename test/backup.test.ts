/**
 * The backup CLI (backup/) end to end on real servers started here on 127.0.0.1: a MariaDB
 * primary and its read replica (the dump's source, written to all the while), a second
 * MariaDB as the restore target, and an S3-protocol server (s3rver) holding two "regions'"
 * buckets, spoken to through the real AWS SDK v3 S3 client.
 */
import { strict as assert } from "assert";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createConnection } from "mysql2/promise";
import S3rver from "s3rver";
import { main } from "../backup/cli";
import { s3Client } from "../backup/store";
import { backupObjectKeys } from "../lib/backupNaming";
import { ADMIN_USER, MariaDb, selfSignedCertificate } from "../drill/mariadb";
import { freePort } from "../drill/tools";

const BUCKETS = {
    "us-west-2": "ecommerce-db-backups-123456789012-us-east-2-us-west-2",
    "us-east-1": "ecommerce-db-backups-123456789012-us-east-2-us-east-1",
};

describe("database backups (backup/): dump from a replica, two buckets, verify, restore", function () {
    this.timeout(120_000);
    let dir: string;
    let s3: S3rver;
    let endpoint: string;
    let primary: MariaDb, replica: MariaDb, target: MariaDb;
    let tls: { cert: string; key: string };
    let credentialsFile: string;
    const password = randomBytes(12).toString("hex");
    const env: Record<string, string | undefined> = {};
    let out = "";
    let err = "";
    const io = { out: (s: string) => void (out += s), err: (s: string) => void (err += s) };
    const run = async (...args: string[]) => {
        out = "";
        err = "";
        return main([...args, "--database", "shop", "--s3-endpoint", endpoint], io);
    };
    /** `dump` from a server, with the test's credentials (and no TLS unless the caller adds it). */
    const dumpFrom = (db: MariaDb) => ["dump", "--host", "127.0.0.1", "--port", String(db.port), "--credentials-file", credentialsFile];
    /** The restore target and the credentials to use there. */
    const targetFlags = () => [
        "--host",
        "127.0.0.1",
        "--port",
        String(target.port),
        "--credentials-file",
        credentialsFile,
        "--ssl-ca",
        tls.cert,
    ];
    const bucketFlags = Object.entries(BUCKETS).flatMap(([region, name]) => ["--bucket", `${region}=${name}`]);

    before(async () => {
        // Fake credentials for the SDK's signing; nothing leaves 127.0.0.1.
        for (const [k, v] of Object.entries({
            AWS_ACCESS_KEY_ID: "S3RVER",
            AWS_SECRET_ACCESS_KEY: "S3RVER",
            AWS_EC2_METADATA_DISABLED: "true",
        })) {
            env[k] = process.env[k];
            process.env[k] = v;
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-test-"));
        s3 = new S3rver({
            address: "127.0.0.1",
            port: 0,
            directory: path.join(dir, "s3"),
            silent: true,
            vhostBuckets: false,
            configureBuckets: Object.values(BUCKETS).map((name) => ({ name })),
        });
        const address = await s3.run();
        endpoint = `http://127.0.0.1:${address.port}`;
        const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
        // The dump's source and the restore target require TLS, as RDS does (require_secure_transport).
        tls = selfSignedCertificate(path.join(dir, "tls"));
        primary = new MariaDb({ dir: path.join(dir, "primary"), port: p1, serverId: 1, password });
        replica = new MariaDb({ dir: path.join(dir, "replica"), port: p2, serverId: 2, password, tls });
        target = new MariaDb({ dir: path.join(dir, "target"), port: p3, serverId: 3, password, tls });
        primary.install();
        replica.install();
        target.install();
        await Promise.all([primary.start(), replica.start(), target.start()]);
        await primary.setUpAsPrimary();
        await replica.setUpAsReplicaOf(primary);
        await target.setUpAsStandalone();
        // A schema with a foreign key, a trigger, a routine, an event and non-ASCII text; a few thousand rows.
        // Unqualified names inside the trigger, routine and event (a restore under another database name needs that).
        await primary.sql([
            "USE shop",
            "CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL, city VARCHAR(100) CHARACTER SET utf8mb4) ENGINE=InnoDB",
            "CREATE TABLE shop.accounts (id INT PRIMARY KEY, customer_id INT NOT NULL, balance BIGINT NOT NULL, FOREIGN KEY (customer_id) REFERENCES shop.customers (id)) ENGINE=InnoDB",
            "CREATE TABLE shop.audit (id BIGINT AUTO_INCREMENT PRIMARY KEY, account_id INT NOT NULL, delta BIGINT NOT NULL) ENGINE=InnoDB",
            "CREATE TABLE shop.payouts (id BIGINT AUTO_INCREMENT PRIMARY KEY, account_id INT NOT NULL, amount BIGINT NOT NULL, FOREIGN KEY (account_id) REFERENCES shop.accounts (id)) ENGINE=InnoDB",
            "CREATE TRIGGER accounts_audit AFTER UPDATE ON accounts FOR EACH ROW INSERT INTO audit (account_id, delta) VALUES (NEW.id, NEW.balance - OLD.balance)",
            "CREATE FUNCTION total_balance() RETURNS BIGINT READS SQL DATA RETURN (SELECT SUM(balance) FROM accounts)",
            "CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit WHERE id < 0",
        ]);
        const names = ["Zoë Müller", "Łukasz Żółć", "François Ødegård", "山田太郎", "Ana São João", "Ωmega 🛒"];
        const customers = Array.from({ length: 2000 }, (_, i) => `(${i + 1}, '${names[i % names.length]} #${i + 1}', 'Kraków')`);
        const accounts = Array.from({ length: 2000 }, (_, i) => `(${i + 1}, ${i + 1}, 1000)`);
        await primary.sql([
            `INSERT INTO shop.customers VALUES ${customers.join(",")}`,
            `INSERT INTO shop.accounts VALUES ${accounts.join(",")}`,
        ]);
        await waitForReplica();
        credentialsFile = path.join(dir, "credentials.json");
        // The administrative user: it may create databases, routines and triggers on the target.
        fs.writeFileSync(credentialsFile, JSON.stringify({ username: ADMIN_USER, password }), { mode: 0o600 });
    });

    async function waitForReplica(): Promise<void> {
        const [{ gtid }] = await primary.sql<{ gtid: string }[]>("SELECT @@global.gtid_current_pos AS gtid");
        for (let i = 0; i < 200; i++) {
            const [{ applied }] = await replica.sql<{ applied: string }[]>("SELECT @@global.gtid_slave_pos AS applied");
            if (applied === gtid) {
                return;
            }
            await sleep(25);
        }
        throw new Error("the replica did not catch up");
    }

    after(async () => {
        await Promise.all([primary?.destroy(), replica?.destroy(), target?.destroy()]);
        await s3?.close().catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
        for (const [k, v] of Object.entries(env)) {
            if (v === undefined) {
                delete process.env[k];
            } else {
                process.env[k] = v;
            }
        }
    });

    let firstId = "";

    it("dumps from the read replica while transfers go on, to both buckets, with checksum and manifest", async () => {
        // Payouts on the primary, each one transaction across two tables (a balance down, a payout
        // row in): balances plus payouts stay 2,000,000. A dump that read the two tables at
        // different moments would break that.
        let transferring = true;
        let transfers = 0;
        const writer = (async () => {
            const c = await createConnection(primary.shopConnection());
            try {
                while (transferring) {
                    const from = 1 + Math.floor(Math.random() * 2000);
                    await c.beginTransaction();
                    await c.query("UPDATE accounts SET balance = balance - 5 WHERE id = ?", [from]);
                    await c.query("INSERT INTO payouts (account_id, amount) VALUES (?, 5)", [from]);
                    await c.commit();
                    transfers++;
                }
            } finally {
                await c.end();
            }
        })();
        while (transfers < 50) {
            await sleep(5); // some payouts before the snapshot, and more during the dump
        }
        const before = transfers;
        const code = await run(...dumpFrom(replica), "--ssl-ca", tls.cert, ...bucketFlags);
        const during = transfers - before;
        transferring = false;
        await writer;
        assert.equal(code, 0, err);
        assert.ok(during > 0, "payouts were committed while the dump ran");
        assert.match(
            out,
            /^dumped shop from 127\.0\.0\.1:\d+ \(10\.11\.\d+-MariaDB[^)]*\): \d+ bytes, \d+ compressed, sha256 [0-9a-f]{64}, GTID 0-1-\d+ \(read before the snapshot\)$/m,
        );
        for (const bucket of Object.values(BUCKETS)) {
            assert.match(out, new RegExp(`^uploaded \\d{8}T\\d{6}Z to s3://${bucket} `, "m"));
        }
        firstId = /^uploaded (\d{8}T\d{6}Z)/m.exec(out)![1];
        assert.ok(!out.includes(password) && !err.includes(password), "the password is never printed");
    });

    it("reaches a server that requires TLS only with --ssl-ca (the certificate verified), as RDS requires", async () => {
        const code = await run(...dumpFrom(replica), ...bucketFlags);
        assert.equal(code, 1);
        // MariaDB refuses the plain-text login (the same credentials work over TLS, below and in every other test).
        assert.match(err, /insecure transport are prohibited|Access denied for user/);
        // A CA the server's certificate does not chain to is refused.
        const other = selfSignedCertificate(path.join(dir, "other-ca"));
        const wrong = await run(...dumpFrom(replica), "--ssl-ca", other.cert, ...bucketFlags);
        assert.equal(wrong, 1);
        assert.match(err, /self[- ]signed certificate|unable to verify|certificate/i);
    });

    it("refuses to dump the writer, naming the flag that would allow it", async () => {
        const code = await run(...dumpFrom(primary), ...bucketFlags);
        assert.equal(code, 1);
        assert.match(err, /is writable \(read_only=0\): backups are taken from a read replica, never the writer .*--allow-writer/);
    });

    it("verify: both buckets hold a fresh backup whose checksum matches", async () => {
        assert.equal(await run("verify", ...bucketFlags, "--max-age-hours", "1"), 0, err);
        assert.equal((out.match(/: 1 backup\(s\), newest \d{8}T\d{6}Z \(0\.\d h old\)/g) ?? []).length, 2, out);
        assert.equal((out.match(/: ok: sha256 /g) ?? []).length, 2, out);
    });

    it("a corrupted copy: verify names it, restore refuses it and restores nothing, the other bucket's copy restores the snapshot (routines, triggers, events, keys, counts, a CHECKSUM TABLE equal to the source's)", async () => {
        // Flip bytes of the us-east-1 copy (as bit rot or tampering would).
        const keys = backupObjectKeys("shop", firstId);
        await s3Client("us-east-1", { endpoint }).send(
            new PutObjectCommand({ Bucket: BUCKETS["us-east-1"], Key: keys.dump, Body: Buffer.from("not the backup") }),
        );
        assert.equal(await run("verify", ...bucketFlags, "--max-age-hours", "24"), 1);
        assert.match(
            err,
            new RegExp(`s3://${BUCKETS["us-east-1"]}: ${firstId}: checksum mismatch: the dump hashes to [0-9a-f]{64}, the manifest says`),
        );
        assert.doesNotMatch(err, new RegExp(`s3://${BUCKETS["us-west-2"]}:`));

        const restore = (bucket: string) => run("restore", "--bucket", bucket, ...targetFlags(), "--target-database", "shop_restored");
        assert.equal(await restore(`us-east-1=${BUCKETS["us-east-1"]}`), 1);
        assert.match(err, /is corrupt: .* Nothing was restored; restore from another backup bucket/);
        const [{ n }] = await target.sql<{ n: number }[]>(
            "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop_restored'",
        );
        assert.equal(Number(n), 0, "nothing restored from the corrupt copy");

        assert.equal(await restore(`us-west-2=${BUCKETS["us-west-2"]}`), 0, err);
        assert.match(out, new RegExp(`^restored backup ${firstId} of shop`, "m"));
        // The restore equals the source at the dump's snapshot: the total is intact (every
        // transfer is in or out as a whole), and the tables match the source table for table
        // once the source is taken back to that snapshot's contents.
        const [{ total, paid }] = await target.sql<{ total: string; paid: string }[]>(
            "SELECT (SELECT SUM(balance) FROM shop_restored.accounts) AS total, (SELECT COALESCE(SUM(amount), 0) FROM shop_restored.payouts) AS paid",
        );
        assert.ok(Number(paid) > 0, "payouts made before the snapshot are in it");
        assert.equal(Number(total) + Number(paid), 2_000_000, "the dump is one consistent snapshot across tables");
        const [{ f }] = await target.sql<{ f: string }[]>("SELECT shop_restored.total_balance() AS f");
        assert.equal(Number(f), Number(total), "the routine came along");
        const triggers = await target.sql<{ TRIGGER_NAME: string }[]>(
            "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'shop_restored'",
        );
        assert.deepEqual(
            triggers.map((t) => t.TRIGGER_NAME),
            ["accounts_audit"],
        );
        const events = await target.sql<{ EVENT_NAME: string }[]>(
            "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'shop_restored'",
        );
        assert.deepEqual(
            events.map((e) => e.EVENT_NAME),
            ["nightly"],
        );
        const [{ name }] = await target.sql<{ name: string }[]>("SELECT name FROM shop_restored.customers WHERE id = 6");
        assert.equal(name, "Ωmega 🛒 #6");
        // The foreign key is enforced in the restore.
        await assert.rejects(target.sql("INSERT INTO shop_restored.accounts VALUES (99999, 424242, 1)"), /foreign key constraint fails/);

        // Row counts and CHECKSUM TABLE per table, as the restore reported them, against the
        // source once it is quiet (tables the transfers did not touch match exactly).
        await waitForReplica();
        const reported = new Map(
            out
                .split("\n")
                .map((l) => /^(\w+)\s+(\d+)\s+(\d+)$/.exec(l))
                .filter((m): m is RegExpExecArray => m !== null)
                .map((m) => [m[1], { rows: Number(m[2]), checksum: m[3] }]),
        );
        assert.deepEqual([...reported.keys()].sort(), ["accounts", "audit", "customers", "heartbeat", "orders", "payouts"]);
        const [{ Checksum: sourceCustomers }] = await replica.sql<{ Checksum: number }[]>("CHECKSUM TABLE shop.customers");
        assert.equal(reported.get("customers")!.checksum, String(sourceCustomers));
        assert.equal(reported.get("customers")!.rows, 2000);
        assert.equal(reported.get("accounts")!.rows, 2000);
    });

    it("restores into a database that exists with tables only by refusing, and names a missing backup", async () => {
        const args = ["--bucket", `us-west-2=${BUCKETS["us-west-2"]}`, ...targetFlags()];
        assert.equal(await run("restore", ...args, "--target-database", "shop_restored"), 1);
        assert.match(err, /already has \d+ table\(s\): restore into a new database/);
        assert.equal(await run("restore", ...args, "--target-database", "shop_other", "--backup", "20200101T000000Z"), 1);
        assert.match(
            err,
            new RegExp(
                `no backup 20200101T000000Z of shop in s3://${BUCKETS["us-west-2"]} \\(us-west-2\\); there are 1, the newest ${firstId}`,
            ),
        );
    });

    it("ignores a backup whose upload never finished (no manifest): verify and restore use the newest complete one", async () => {
        const client = s3Client("us-west-2", { endpoint });
        const unfinished = backupObjectKeys("shop", "29991231T235959Z");
        await client.send(new PutObjectCommand({ Bucket: BUCKETS["us-west-2"], Key: unfinished.dump, Body: Buffer.from("half a dump") }));
        assert.equal(await run("verify", "--bucket", `us-west-2=${BUCKETS["us-west-2"]}`, "--max-age-hours", "1"), 0, err);
        assert.match(out, new RegExp(`1 backup\\(s\\), newest ${firstId} `));
    });

    it("a restore that MySQL refuses reports MySQL's error, not a broken pipe", async () => {
        // A well-formed backup (its checksum and manifest match) whose SQL fails early, followed
        // by more than a pipe's worth of statements.
        const { gzipSync } = await import("zlib");
        const { createHash } = await import("crypto");
        const sql = `CREATE TABLE t (id INT PRIMARY KEY);\nTHIS IS NOT SQL;\n${"INSERT INTO t VALUES (1);\n".repeat(40_000)}`;
        const gz = gzipSync(Buffer.from(sql));
        const sha256 = createHash("sha256").update(gz).digest("hex");
        const id = "20261130T000001Z";
        const keys = backupObjectKeys("broken", id);
        const client = s3Client("us-west-2", { endpoint });
        const manifest = {
            format: 1,
            id,
            database: "broken",
            source: { host: "127.0.0.1", port: 3306, serverVersion: "test", readOnly: true },
            startedAt: "2026-11-30T00:00:01.000Z",
            finishedAt: "2026-11-30T00:00:02.000Z",
            position: { gtid: "", exact: false },
            sizes: { dumpBytes: sql.length, compressedBytes: gz.length },
            sha256,
            tools: { dump: "test", node: process.version },
        };
        for (const [key, body] of [
            [keys.dump, gz],
            [keys.checksum, Buffer.from(`${sha256}  dump.sql.gz\n`)],
            [keys.manifest, Buffer.from(JSON.stringify(manifest))],
        ] as const) {
            await client.send(new PutObjectCommand({ Bucket: BUCKETS["us-west-2"], Key: key, Body: body }));
        }
        out = "";
        err = "";
        const code = await main(
            [
                "restore",
                "--database",
                "broken",
                "--bucket",
                `us-west-2=${BUCKETS["us-west-2"]}`,
                ...targetFlags(),
                "--target-database",
                "broken_restored",
                "--s3-endpoint",
                endpoint,
            ],
            io,
        );
        assert.equal(code, 1);
        assert.match(
            err,
            /mysql failed loading backup 20261130T000001Z into broken_restored \(exit 1\): [^]*ERROR 1064 \(42000\) at line 2/,
        );
        assert.doesNotMatch(err, /EPIPE/);
    });

    it("verify fails a bucket whose newest backup is older than the backup RPO", async () => {
        assert.equal(await run("verify", "--bucket", `us-west-2=${BUCKETS["us-west-2"]}`, "--max-age-hours", "0.0001"), 1);
        assert.match(err, /the newest backup \(\d{8}T\d{6}Z\) is \d+\.\d h old: older than the backup RPO of 0\.0001 h/);
    });

    it("refuses bad usage and credentials it must not read, without printing them", async () => {
        assert.equal(await run("dump", "--bucket", "us-west-2"), 2);
        assert.match(err, /--bucket "us-west-2": expected REGION=BUCKET/);
        const loose = path.join(dir, "loose.json");
        fs.writeFileSync(loose, JSON.stringify({ username: ADMIN_USER, password }), { mode: 0o644 });
        fs.chmodSync(loose, 0o644);
        assert.equal(await run("dump", ...bucketFlags, "--host", "127.0.0.1", "--credentials-file", loose), 2);
        assert.match(err, /--credentials-file .*loose\.json: readable by others \(mode 644\): chmod 600 it/);
        const bad = path.join(dir, "bad.json");
        fs.writeFileSync(bad, `{"user": "${password}"}`, { mode: 0o600 });
        assert.equal(await run("dump", ...bucketFlags, "--host", "127.0.0.1", "--credentials-file", bad), 2);
        assert.match(err, /expected JSON with "username" and "password" strings \(its content is not shown\)/);
        assert.ok(!err.includes(password));
    });
});

describe("upload part sizes (backup/store.ts)", () => {
    it("uses 16 MiB parts, and larger ones when a dump would need more than S3's 10,000", async () => {
        const { partSizeFor } = await import("../backup/store");
        const MiB = 1024 * 1024;
        assert.equal(partSizeFor(1024 * MiB), 16 * MiB);
        for (const gib of [150, 500, 2000]) {
            const bytes = gib * 1024 * MiB;
            assert.ok(Math.ceil(bytes / partSizeFor(bytes)) <= 10_000, `${gib} GiB in at most 10,000 parts`);
        }
    });
});

describe("the backup job's bundle (backup/bundle.ts, as backup/Dockerfile builds it)", function () {
    this.timeout(60_000);

    it("bundles the CLI into one file that runs on its own: usage, and a usage error with exit 2", async () => {
        const { buildBackupBundle } = await import("../backup/bundle");
        const { spawnSync } = await import("child_process");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-bundle-"));
        try {
            const file = buildBackupBundle(dir);
            const size = fs.statSync(file).size;
            assert.ok(size > 100_000 && size < 20_000_000, `bundle of ${size} bytes`);
            // Run from an empty directory: nothing from node_modules may be needed.
            const run = (...args: string[]) =>
                spawnSync(process.execPath, [file, ...args], { cwd: dir, encoding: "utf8", timeout: 30_000 });
            const help = run("--help");
            assert.equal(help.status, 0, help.stderr);
            assert.match(help.stdout, /^usage: npm run backup -- <command> \[flags\]/m);
            const bad = run("verify", "--database", "ecommerce");
            assert.equal(bad.status, 2);
            assert.match(bad.stderr, /no buckets: give --bucket REGION=NAME/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
