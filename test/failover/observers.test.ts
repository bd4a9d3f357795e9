/**
 * The vantage points of independent failure domains: the standby (its HTTP probe and its
 * replica's link, one vote), and the witness in a third region (its post in the lease table,
 * read through the real DynamoDB client from dynalite). A domain that cannot look abstains.
 */
import * as assert from "assert";
import type { Probe, ProbeResult } from "../../failover/probes/http";
import { ReplicaLink, ReplicaLinkView, StandbyVantage } from "../../failover/probes/standby";
import { DynamoWitnessBoard, WitnessVantage, witnessRound } from "../../failover/probes/witness";
import { LocalDynamo, startDynalite } from "../support/dynamo";

const http = (ok: boolean): Probe => ({
    name: "writer-origin",
    target: "http://origin",
    check: (): Promise<ProbeResult> =>
        Promise.resolve(
            ok
                ? { name: "writer-origin", target: "http://origin", ok, latencyMs: 1 }
                : { name: "writer-origin", target: "http://origin", ok, latencyMs: 1, reason: "timeout", error: "no answer" },
        ),
});

/** A replica link that answers the views given, one per read (the last repeats), or fails. */
function link(...views: (ReplicaLinkView | Error)[]): ReplicaLink {
    let i = 0;
    return {
        target: "replica",
        read: () => {
            const v = views[Math.min(i++, views.length - 1)];
            return v instanceof Error ? Promise.reject(v) : Promise.resolve(v);
        },
    };
}

describe("vantage points: the standby's one vote", () => {
    it("is up when its HTTP probe answers, whatever the replica shows", async () => {
        const v = new StandbyVantage("standby", http(true), link({ ioRunning: false }));
        assert.strictEqual((await v.check(100)).ok, true);
    });

    it("is up while the writer's heartbeat still advances on its replica, though HTTP fails (the writer holds its lease)", async () => {
        const v = new StandbyVantage(
            "standby",
            http(false),
            link({ ioRunning: true, lastBeatAt: 100 }, { ioRunning: true, lastBeatAt: 101 }),
        );
        // The first look has nothing to compare with: no sign of life yet.
        assert.strictEqual((await v.check(100)).ok, false);
        const second = await v.check(100);
        assert.strictEqual(second.ok, true);
        assert.match(second.error!, /heartbeat still arrives/);
    });

    it("is down when HTTP fails and the replica's I/O thread is disconnected, or its heartbeat has stopped", async () => {
        const stopped = new StandbyVantage("standby", http(false), link({ ioRunning: false, lastBeatAt: 100 }));
        const r = await stopped.check(100);
        assert.deepStrictEqual([r.ok, r.abstained], [false, undefined]);
        assert.match(r.error!, /I\/O thread is not connected/);
        const still = new StandbyVantage("standby", http(false), link({ ioRunning: true, lastBeatAt: 100 }));
        await still.check(100);
        assert.match((await still.check(100)).error!, /heartbeat has not advanced/);
    });

    it("abstains when its own replica cannot be read and HTTP fails: it cannot tell a dead writer from its own trouble", async () => {
        const v = new StandbyVantage("standby", http(false), link(new Error("connect ETIMEDOUT")));
        const r = await v.check(100);
        assert.deepStrictEqual([r.ok, r.abstained], [false, true]);
        assert.match(r.error!, /replica unreadable: connect ETIMEDOUT/);
    });
});

describe("vantage points: the witness (dynalite, the real client)", () => {
    let dynamo: LocalDynamo;
    let board: DynamoWitnessBoard;
    let now = 1_000_000;
    before(async () => {
        dynamo = await startDynalite();
        board = new DynamoWitnessBoard(dynamo.client, await dynamo.createTable("ecommerce-writer-lease"));
    });
    after(() => dynamo.close());

    const vantage = () => new WitnessVantage("witness", board, 30_000, () => now);

    it("abstains while the witness has posted nothing", async () => {
        const r = await vantage().check(1000);
        assert.deepStrictEqual([r.ok, r.abstained], [false, true]);
        assert.match(r.error!, /posted nothing/);
    });

    it("votes what the witness saw through the virtual IP, while its post is fresh", async () => {
        await witnessRound(http(true), board, 100, () => now);
        assert.strictEqual((await vantage().check(1000)).ok, true);
        await witnessRound(http(false), board, 100, () => now);
        const down = await vantage().check(1000);
        assert.deepStrictEqual([down.ok, down.abstained], [false, undefined]);
        assert.match(down.error!, /the witness saw http:\/\/origin fail: no answer/);
    });

    it("abstains once its post is older than the freshness bound (a silent witness is never a vote down)", async () => {
        await witnessRound(http(false), board, 100, () => now);
        now += 30_001;
        const r = await vantage().check(1000);
        assert.deepStrictEqual([r.ok, r.abstained], [false, true]);
        assert.match(r.error!, /the witness is silent: its last post is 30 s old/);
    });
});
