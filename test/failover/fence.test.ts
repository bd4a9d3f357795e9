/**
 * The database-side fence and the writer agent, on a real MariaDB (Debian's mariadb-server, on
 * 127.0.0.1) as a user with exactly RDS's master-user privileges, and the lease in a
 * DynamoDB-protocol server (dynalite) through the real client. The fence must close with nothing
 * outside the database running, and open only after a renewal.
 */
import { strict as assert } from "assert";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { Connection, createConnection, RowDataPacket } from "mysql2/promise";
import { MariaDb, mariaDbInstalled, SHOP_SCHEMA } from "../../drill/mariadb";
import { freePort } from "../../drill/tools";
import { DynamoWriterLease } from "../../failover/adapters/aws/writerLease";
import { AgentOptions, AgentSummary, FencedDatabase, WriterAgent } from "../../failover/agent/agent";
import { fenceSetupStatements, MysqlFence, writerHealthQuery } from "../../failover/agent/fence";
import { LeaseTiming } from "../../failover/core/writerLease";
import { MysqlReplicaLink } from "../../failover/probes/replica";
import { LocalDynamo, startDynalite } from "../support/dynamo";

/** Short leases for a test: the database fences itself 1.4 s after the anchor of its last renewal. */
const TIMING: LeaseTiming = {
    leaseMs: 2000,
    marginMs: 600,
    fenceMs: 2000,
    takeoverWaitMs: 2500,
    rateError: 0.001,
    renewEveryMs: 300,
    // Generous for a loaded machine (the suite's parallel run): two renewals and a timeout still fit in L - m.
    renewTimeoutMs: 500,
};
const APP_USER = "app";

describe("writer lease: the database fence and the writer agent (MariaDB, dynalite)", function () {
    this.timeout(60_000);
    let dir: string;
    let db: MariaDb;
    let replica: MariaDb;
    let fence: MysqlFence;
    let dynamo: LocalDynamo;
    let lease: DynamoWriterLease;
    const password = randomBytes(12).toString("hex");
    const appPassword = randomBytes(12).toString("hex");
    let events: { event: string; fields: Record<string, unknown> }[] = [];

    before(async function () {
        const missing = mariaDbInstalled();
        if (missing !== undefined) {
            throw new Error(missing);
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "fence-"));
        db = new MariaDb({ dir: path.join(dir, "db"), port: await freePort(), serverId: 1, password });
        db.install();
        await db.start();
        await db.setUpAsPrimary();
        // The standby: a replica of it (its users its own, everything else replicated).
        replica = new MariaDb({ dir: path.join(dir, "replica"), port: await freePort(), serverId: 2, password });
        replica.install();
        await replica.start();
        await replica.setUpAsReplicaOf(db);
        fence = new MysqlFence({
            connection: db.masterConnection(),
            schema: {
                schema: "failover",
                appUser: APP_USER,
                appHost: "127.0.0.1",
                appSchemas: [SHOP_SCHEMA],
                killProcedure: "mysql.rds_kill",
            },
        });
        dynamo = await startDynalite();
        lease = new DynamoWriterLease(dynamo.client, await dynamo.createTable("ecommerce-writer-lease"));
    });

    after(async () => {
        await fence?.close();
        await dynamo?.close();
        await db?.destroy();
        await replica?.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    beforeEach(() => (events = []));

    const agent = (region: string, writerRegion = "us-east-2", database: FencedDatabase = fence, more: Partial<AgentOptions> = {}) =>
        new WriterAgent(
            {
                lease,
                database,
                appPassword: () => Promise.resolve(appPassword),
                emit: (event, fields = {}) => events.push({ event, fields }),
            },
            { region, writerRegion, timing: TIMING, beatEveryMs: 200, ...more },
        );
    const runFor = (a: WriterAgent, ms: number): Promise<AgentSummary> => a.run(performance.now() + ms);

    const app = (): Promise<Connection> =>
        createConnection({
            host: "127.0.0.1",
            port: db.port,
            user: APP_USER,
            password: appPassword,
            database: SHOP_SCHEMA,
            connectTimeout: 1000,
        });

    /** Writes rows as the application every 50 ms until its session is ended; returns the commit times (DB clock, Unix s). */
    async function writeUntilFenced(firstId: number, maxMs: number, pauseMs = 50): Promise<{ commits: number[]; error: string }> {
        const c = await app();
        const commits: number[] = [];
        const end = performance.now() + maxMs;
        try {
            for (let id = firstId; performance.now() < end; id++) {
                await c.query("INSERT INTO orders (id, site) VALUES (?, 'fence-test')", [id]);
                const [rows] = await c.query<RowDataPacket[]>("SELECT UNIX_TIMESTAMP(committed_at) AS at FROM orders WHERE id = ?", [id]);
                commits.push(Number(rows[0].at));
                await sleep(pauseMs);
            }
            return { commits, error: "still writing" };
        } catch (err) {
            return { commits, error: (err as Error).message };
        } finally {
            c.destroy();
        }
    }

    it("is set up idempotently, with the application's account created locked", async () => {
        await fence.setUp(appPassword);
        await fence.setUp(appPassword);
        await assert.rejects(app(), /account is locked/);
        const status = await fence.status();
        assert.deepEqual([status.epoch, status.deadline, status.armed, status.writable], [0, 0, true, true]);
        assert.ok(
            fenceSetupStatements({
                schema: "failover",
                appUser: APP_USER,
                appHost: "%",
                appSchemas: ["shop"],
                killProcedure: "mysql.rds_kill",
            }).length > 0,
        );
    });

    it("opens the application's account once the writer region's agent holds the lease, and beats while it does", async () => {
        const summary = await runFor(agent("us-east-2"), 1500);
        assert.deepEqual([summary.holder, summary.epoch, summary.armed], [true, 1, true]);
        assert.ok(summary.renewals >= 3, `${summary.renewals} renewals`);
        assert.equal(events.filter((e) => e.event === "lease-established").length, 1);
        const c = await app();
        try {
            await c.query("INSERT INTO orders (id, site) VALUES (1, 'fence-test')");
            const [[health]] = await c.query<RowDataPacket[]>(writerHealthQuery());
            assert.equal(Number(health.writable), 1, "the health query says this region can take writes");
        } finally {
            await c.end();
        }
    });

    it("closes by itself once renewals stop: sessions ended and logins refused, the last write within F of the deadline", async () => {
        await runFor(agent("us-east-2"), 600);
        const { deadline } = await fence.status();
        // Nothing renews from here: the database is on its own.
        const { commits, error } = await writeUntilFenced(1000, 10_000);
        assert.match(error, /closed|lost|killed|Connection|ended/i);
        assert.ok(commits.length > 0, "the application wrote while the lease held");
        const last = Math.max(...commits);
        assert.ok(
            last <= deadline + TIMING.fenceMs / 1000,
            `last write at ${last}, deadline ${deadline}: ${(last - deadline).toFixed(3)} s after it (F = ${TIMING.fenceMs / 1000} s)`,
        );
        await assert.rejects(app(), /account is locked/);
        const status = await fence.status();
        assert.ok(status.fencedAt !== undefined && status.fencedAt >= deadline, `fenced at ${status.fencedAt}, deadline ${deadline}`);
        // The heartbeat stopped with the lease.
        const [row] = await db.sql<RowDataPacket[]>("SELECT beat_at FROM failover.writer_lease WHERE id = 1");
        assert.ok(Number(row.beat_at) <= deadline, `beat at ${row.beat_at}, deadline ${deadline}`);
    });

    it("opens again only after a renewal of the lease", async () => {
        await assert.rejects(app(), /account is locked/);
        await runFor(agent("us-east-2"), 600);
        assert.equal(events.filter((e) => e.event === "unfenced").length, 1);
        const c = await app();
        await c.query("SELECT 1");
        await c.end();
        assert.equal((await fence.status()).fencedAt, undefined);
    });

    it("closes at once, before its deadline, when another region takes the lease", async () => {
        const running = runFor(agent("us-east-2"), 2500);
        await sleep(800);
        const writes = writeUntilFenced(5000, 10_000);
        await sleep(300);
        // What the holder's database has been given so far (a renewal after this only moves it later).
        const given = (await fence.status()).deadline;
        const taken = await lease.take("us-west-1", (await lease.read())!, TIMING.leaseMs);
        const { commits, error } = await writes;
        await running;
        assert.match(error, /closed|lost|killed|Connection|ended/i);
        assert.ok(commits.length > 0);
        const lost = events.find((e) => e.event === "lease-lost");
        assert.ok(lost !== undefined, "the agent saw the lease taken");
        assert.ok(events.some((e) => e.event === "fenced"));
        const status = await fence.status();
        assert.ok(status.fencedAt! < given, `fenced at ${status.fencedAt}, before the deadline it had, ${given}`);
        await assert.rejects(app(), /account is locked/);
        assert.equal(taken.epoch, 2);
    });

    it("leaves its database alone while another region holds the lease", async () => {
        const before = await fence.status();
        const summary = await runFor(agent("us-east-2"), 1000);
        assert.equal(summary.holder, false);
        assert.ok(events.some((e) => e.event === "standby" && e.fields.holder === "us-west-1"));
        const after = await fence.status();
        assert.deepEqual([after.deadline, after.epoch, after.fencedAt], [before.deadline, before.epoch, before.fencedAt]);
        await assert.rejects(app(), /account is locked/);
    });

    it("reports the fence unarmed while its event is disabled", async () => {
        // Hand the lease back to us-east-2 (as a takeover would) so its agent holds it again.
        await lease.take("us-east-2", (await lease.read())!, TIMING.leaseMs);
        await db.sql("ALTER EVENT failover.enforce_writer_lease DISABLE");
        const agentRun = agent("us-east-2");
        // The agent's set-up enables the event again; disable it again once the set-up is done
        // (its first "renewed" comes after it), not after a fixed wait: on a loaded machine (a
        // fresh CI run) the set-up outlasted 700 ms and enabled the event after it was disabled.
        const seen = events.length;
        const running = runFor(agentRun, 3000);
        for (let waited = 0; !events.slice(seen).some((e) => e.event === "renewed") && waited < 2500; waited += 50) {
            await sleep(50);
        }
        await db.sql("ALTER EVENT failover.enforce_writer_lease DISABLE");
        const summary = await running;
        assert.equal(summary.armed, false);
        const [row] = await db.sql<RowDataPacket[]>("SELECT armed FROM failover.writer_lease WHERE id = 1");
        assert.equal(Number(row.armed), 0);
        await db.sql("ALTER EVENT failover.enforce_writer_lease ENABLE");
    });

    it("opens nothing on an unfence that comes after the deadline (an agent paused between its look and its unlock)", async () => {
        // The database alone, at the epoch it has: a deadline 0.3 s ahead, then nothing renews it.
        const { holder, epoch } = await fence.status();
        await fence.extend(holder, epoch, await fence.anchor(), 300);
        await sleep(TIMING.fenceMs + 300);
        assert.ok((await fence.status()).fencedAt !== undefined, "the event fenced it");
        assert.equal(await fence.unfence(), false);
        await assert.rejects(app(), /account is locked/);
    });

    it("keeps the lease through an in-region restart of its database for a bounded grace, without opening the database", async () => {
        await runFor(agent("us-east-2"), 600);
        const before = await fence.status();
        // The database stops answering the agent (a Multi-AZ failover): every call fails.
        let down = true;
        const unless = <T>(call: () => Promise<T>): Promise<T> => (down ? Promise.reject(new Error("connect ECONNREFUSED")) : call());
        const restarting: FencedDatabase = {
            setUp: (password) => unless(() => fence.setUp(password)),
            anchor: () => unless(() => fence.anchor()),
            extend: (holder, epoch, anchor, afterMs) => unless(() => fence.extend(holder, epoch, anchor, afterMs)),
            beat: () => unless(() => fence.beat()),
            unfence: () => unless(() => fence.unfence()),
            fenceNow: () => unless(() => fence.fenceNow()),
            seal: (epoch) => unless(() => fence.seal(epoch)),
            status: () => unless(() => fence.status()),
        };
        const graceful = agent("us-east-2", "us-east-2", restarting, { databaseGraceMs: 1200 });
        const seen: string[] = [];
        const watching = (async () => {
            for (let i = 0; i < 12; i++) {
                seen.push((await lease.read())!.version);
                await sleep(250);
            }
        })();
        await graceful.run(performance.now() + 3000);
        await watching;
        // Renewed (new versions) during the grace, then left alone: the last second shows one version.
        assert.ok(events.some((e) => e.event === "renewed-without-database"));
        assert.ok(events.some((e) => e.event === "grace-exhausted"));
        assert.ok(new Set(seen.slice(0, 4)).size > 1, "renewed while the database restarted");
        assert.equal(new Set(seen.slice(-3)).size, 1, "no renewal once the grace was spent");
        down = false;
        // The database's deadline never moved while it did not answer: it closed by itself.
        const after = await fence.status();
        assert.equal(after.deadline, before.deadline);
        assert.ok(after.fencedAt !== undefined);
        await assert.rejects(app(), /account is locked/);
    });

    it("hands the lease over for a planned switchover: closed, no application session left, then a final heartbeat after every write, on the replica too; a late renewal of the old epoch cannot reopen it", async () => {
        await runFor(agent("us-east-2"), 600);
        const held = (await lease.read())!;
        assert.equal(held.holder, "us-east-2");
        await replica.sql("STOP SLAVE"); // it applies nothing until the final beat has been published
        const running = runFor(agent("us-east-2"), 3000);
        await sleep(300);
        // Three sessions writing back to back: commits in flight when their sessions are ended.
        const writers = [9000, 20_000, 30_000].map((first) => writeUntilFenced(first, 10_000, 0));
        await sleep(500);
        await lease.requestHandover("us-east-2", held.epoch, "us-west-1");
        const written = await Promise.all(writers);
        await running;
        for (const { commits, error } of written) {
            assert.match(error, /closed|lost|killed|Connection|ended/i);
            assert.ok(commits.length > 0, "the application wrote until the handover");
        }
        assert.ok(events.some((e) => e.event === "sealed"));
        const published = (await lease.read())!;
        assert.ok(published.handover?.finalBeatAt !== undefined && published.handover.gtid !== undefined, JSON.stringify(published));
        assert.deepEqual([published.holder, published.epoch, published.handover.to], ["us-east-2", held.epoch, "us-west-1"]);
        // RPO 0. In the writer's binary log (commit order; MariaDB annotates each row event with
        // its statement) every application insert precedes the final heartbeat's write.
        const [{ File: file }] = await db.sql<RowDataPacket[]>("SHOW MASTER STATUS");
        const binlog = (await db.sql<RowDataPacket[]>(`SHOW BINLOG EVENTS IN '${String(file)}'`)).map((e) => String(e.Info));
        const lastOf = (pattern: RegExp) => binlog.reduce((last, info, i) => (pattern.test(info) ? i : last), -1);
        const lastInsert = lastOf(/INSERT INTO orders/i);
        const lastBeat = lastOf(/SET beat_at = /);
        assert.ok(lastInsert > 0 && lastBeat > lastInsert, `last insert at event ${lastInsert}, the final beat at ${lastBeat}`);
        // And so the replica, once it applied the final beat, has every write the application committed.
        await replica.sql("START SLAVE");
        for (const until = performance.now() + 10_000; ; await sleep(100)) {
            const [row] = await replica.sql<RowDataPacket[]>("SELECT beat_at FROM failover.writer_lease WHERE id = 1");
            if (Number(row.beat_at) >= published.handover.finalBeatAt) {
                break;
            }
            assert.ok(performance.now() < until, "the replica applied the final beat");
        }
        const ids = async (on: MariaDb) =>
            (await on.sql<RowDataPacket[]>("SELECT id FROM shop.orders WHERE id >= 9000 ORDER BY id")).map((r) => Number(r.id));
        const committed = await ids(db);
        assert.ok(committed.length >= written.reduce((n, w) => n + w.commits.length, 0));
        assert.deepEqual(await ids(replica), committed);
        // No renewal lands while the handover stands, and a late one of the old epoch moves nothing.
        await assert.rejects(lease.renew("us-east-2", held.epoch, TIMING.leaseMs), /handing over to us-west-1/);
        await fence.extend("us-east-2", held.epoch, await fence.anchor(), 5000);
        const status = await fence.status();
        assert.ok(status.deadline <= status.now, `deadline ${status.deadline}, now ${status.now}`);
        assert.equal(await fence.unfence(), false);
        assert.equal(await fence.beat(), false);
        await assert.rejects(app(), /account is locked/);
    });

    it("withdraws a handover nobody took once it is older than the agent's timeout, and reopens at a new epoch", async () => {
        let before = (await lease.read())!;
        if (before.handover === undefined) {
            // Run alone (--grep): a handover of its own, sealed and published by the agent first.
            await runFor(agent("us-east-2"), 600);
            await lease.requestHandover("us-east-2", (await lease.read())!.epoch, "us-west-1");
            await runFor(agent("us-east-2"), 600);
            before = (await lease.read())!;
        }
        const patient = agent("us-east-2", "us-east-2", fence, { handoverTimeoutMs: 1500 });
        await runFor(patient, 2500);
        assert.ok(events.some((e) => e.event === "handover-withdrawn"));
        const after = (await lease.read())!;
        assert.deepEqual([after.holder, after.epoch, after.handover], ["us-east-2", before.epoch + 1, undefined]);
        assert.ok(
            events.some((e) => e.event === "unfenced"),
            "reopened by a renewal of the new epoch",
        );
        const c = await app();
        await c.query("INSERT INTO orders (id, site) VALUES (9999, 'fence-test')");
        await c.end();
    });

    it("shows the standby the writer alive on its replica while the agent beats, and the link gone once the writer's database is", async () => {
        const link = new MysqlReplicaLink(replica.masterConnection());
        try {
            const running = runFor(agent("us-east-2"), 3000);
            await sleep(600);
            const first = await link.read(1000);
            // The beats arrive once the agent holds the lease again (a loaded machine may take a renewal or two).
            let second = await link.read(1000);
            for (const until = performance.now() + 2000; second.lastBeatAt === first.lastBeatAt && performance.now() < until;) {
                await sleep(200);
                second = await link.read(1000);
            }
            await running;
            assert.deepStrictEqual([first.ioRunning, second.ioRunning], [true, true]);
            assert.ok(second.lastBeatAt! > first.lastBeatAt!, `beats ${first.lastBeatAt} then ${second.lastBeatAt}`);
            // The replica is read-only and its copy of the fence's event disabled: only the writer fences.
            const [event] = await replica.sql<RowDataPacket[]>(
                "SELECT STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'failover' AND EVENT_NAME = 'enforce_writer_lease'",
            );
            assert.strictEqual(event.STATUS, "SLAVESIDE_DISABLED");
            await db.kill();
            const deadline = performance.now() + 10_000;
            let view = await link.read(1000);
            while (view.ioRunning && performance.now() < deadline) {
                await sleep(200);
                view = await link.read(1000);
            }
            assert.strictEqual(view.ioRunning, false, "the replica's I/O thread noticed its source gone");
        } finally {
            await link.close();
        }
    });
});
