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

    // The controller's monotonic clock; the witness's wall clock is another host's.
    const vantage = () => new WitnessVantage("witness", board, 30_000, () => now);

    it("abstains while the witness has posted nothing", async () => {
        const r = await vantage().check(1000);
        assert.deepStrictEqual([r.ok, r.abstained], [false, true]);
        assert.match(r.error!, /posted nothing/);
    });

    it("abstains on its first read (the post's age is unknown), then votes what the witness saw once its post changes", async () => {
        const v = vantage();
        await witnessRound(http(true), board, 100, () => 5_000);
        const first = await v.check(1000);
        assert.deepStrictEqual([first.ok, first.abstained], [false, true]);
        assert.match(first.error!, /not been seen to change yet/);
        await witnessRound(http(true), board, 100, () => 6_000);
        assert.strictEqual((await v.check(1000)).ok, true);
        await witnessRound(http(false), board, 100, () => 7_000);
        const down = await v.check(1000);
        assert.deepStrictEqual([down.ok, down.abstained], [false, undefined]);
        assert.match(down.error!, /the witness saw http:\/\/origin fail: no answer/);
    });

    it("compares no clocks across hosts: a witness an hour behind (or ahead) still votes while it posts", async () => {
        const v = vantage();
        await witnessRound(http(false), board, 100, () => now - 3_600_000);
        await v.check(1000);
        await witnessRound(http(false), board, 100, () => now - 3_599_000);
        const behind = await v.check(1000);
        assert.deepStrictEqual([behind.ok, behind.abstained], [false, undefined]);
        await witnessRound(http(true), board, 100, () => now + 3_600_000);
        assert.strictEqual((await v.check(1000)).ok, true);
    });

    it("abstains once its post has not changed for longer than the freshness bound, on the controller's own clock (a silent witness is never a vote down)", async () => {
        const v = vantage();
        await witnessRound(http(false), board, 100, () => 10_000);
        await v.check(1000);
        await witnessRound(http(false), board, 100, () => 11_000);
        assert.strictEqual((await v.check(1000)).abstained, undefined);
        now += 30_000;
        assert.strictEqual((await v.check(1000)).abstained, undefined, "unchanged for exactly the bound still counts");
        now += 1;
        const r = await v.check(1000);
        assert.deepStrictEqual([r.ok, r.abstained], [false, true]);
        assert.match(r.error!, /the witness is silent: its post has not changed for 30 s/);
    });
});
