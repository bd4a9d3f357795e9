/**
 * The loss window (failover/core/lossWindow.ts): an upper bound on which acknowledged writes of
 * the old writer may be missing on the standby, from the replica's last applied heartbeat to the
 * old writer's fence, both on the old writer's database clock; and the RPO guard on it.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { isKnown, lossVerdict, lossWindow, LossWindow, ReplicaEvidence } from "../../failover/core/lossWindow";
import { DEFAULT_LEASE_TIMING, databaseDeadlineAfterMs, WriterLeaseRecord } from "../../failover/core/writerLease";

const T = DEFAULT_LEASE_TIMING;
const lease = (deadline?: number): WriterLeaseRecord => ({
    holder: "us-east-2",
    epoch: 3,
    version: "v",
    leaseMs: T.leaseMs,
    renewedAt: 0,
    ...(deadline !== undefined ? { deadline } : {}),
});
const evidence = (over: Partial<ReplicaEvidence> = {}): ReplicaEvidence => ({
    readAt: 0,
    source: "test",
    replicatesExpected: true,
    replication: "replica of the writer",
    appliedAll: true,
    lastBeatAt: 1000,
    ...over,
});
const known = (w: ReturnType<typeof lossWindow>): LossWindow => {
    assert.ok(isKnown(w), JSON.stringify(w));
    return w;
};

describe("loss window", () => {
    it("runs from the last heartbeat the replica applied to the lease's deadline + F, on the old writer's clock", () => {
        const w = known(lossWindow(evidence({ lastBeatAt: 1000 }), lease(1020), T.fenceMs));
        assert.deepEqual([w.from, w.to, w.seconds, w.fence], [1000, 1022, 22, "lease-timing"]);
        assert.match(w.detail, /after its last heartbeat on the standby .* at the latest .*\+ F 2 s/);
    });

    it("is never negative: a beat at the deadline (the writer lived to it) leaves F", () => {
        const w = known(lossWindow(evidence({ lastBeatAt: 1020 }), lease(1020), T.fenceMs));
        assert.equal(w.seconds, 2);
        const later = known(lossWindow(evidence({ lastBeatAt: 1030 }), lease(1020), T.fenceMs));
        assert.equal(later.seconds, 0);
    });

    it("is unknown without a heartbeat, without the lease's deadline, when the replica cannot be read, or when it may commit out of order", () => {
        for (const [w, why] of [
            [lossWindow(evidence({ lastBeatAt: undefined }), lease(1020), T.fenceMs), /holds no heartbeat/],
            [lossWindow(evidence(), lease(undefined), T.fenceMs), /carries no database deadline/],
            [lossWindow(evidence(), undefined, T.fenceMs), /lease is missing/],
            [lossWindow(evidence({ error: "no route" }), lease(1020), T.fenceMs), /could not be read: no route/],
            [lossWindow(evidence({ appliesInOrder: false }), lease(1020), T.fenceMs), /may commit out of the writer's order/],
        ] as const) {
            assert.equal(isKnown(w), false);
            assert.match((w as { unknown: string }).unknown, why);
        }
    });

    it("is exactly none after a planned switchover once the standby applied the old writer's final heartbeat, and names what is missing until then", () => {
        const published = { to: "us-west-1", requestedAt: 0, fencedAt: 1004.5, finalBeatAt: 1005, gtid: "0-1-40" };
        const w = known(lossWindow(evidence({ lastBeatAt: 1005 }), lease(1020), T.fenceMs, published));
        assert.deepEqual([w.from, w.to, w.seconds, w.fence, w.missingGtid], [1005, 1005, 0, "published", ""]);
        assert.match(w.detail, /^none: .*final heartbeat .*GTID 0-1-40/);
        // The beat not applied yet: the window runs to the final beat, never to the lease's deadline.
        const behind = known(lossWindow(evidence({ lastBeatAt: 1003 }), lease(1020), T.fenceMs, published));
        assert.deepEqual([behind.from, behind.to, behind.seconds, behind.missingGtid], [1003, 1005, 2, undefined]);
        assert.match(behind.detail, /had not applied that beat/);
    });

    it("is an upper bound: whenever the writer died or was cut off, every write it committed that the replica lacks lies inside", () => {
        // A writer that renews every 5 s (anchored on its database's clock), beats every second
        // while its deadline lies ahead, and commits writes all the time; it stops (dies, or its
        // fence closes within F of the deadline) at some point; the replica received its binlog up
        // to some moment (a cut) and applied all of it, or (its wait ran out: appliedAll false)
        // all but the last stretch, which a promotion may discard. Every write committed after the
        // last beat the replica applied and before the writer stopped must lie in (from, to].
        fc.assert(
            fc.property(
                fc.integer({ min: 0, max: 10_000 }), // last anchor (ms on the writer's database clock)
                fc.integer({ min: 0, max: 60_000 }), // when the writer died after it (it may outlive the deadline: then the fence stops it)
                fc.integer({ min: 0, max: T.fenceMs }), // how long the fence took after the deadline
                fc.integer({ min: 0, max: 90_000 }), // how far behind the replica's cut came before the writer stopped
                fc.integer({ min: 0, max: 999 }), // the first beat's offset in the second
                fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30_000 })), // received but not applied (ms of binlog)
                (anchor, life, fenceTook, behind, phase, unapplied) => {
                    const deadline = anchor + databaseDeadlineAfterMs(T);
                    const stop = Math.min(anchor + life, deadline + fenceTook);
                    const cut = stop - behind - unapplied; // what the replica applied ends here
                    const beats: number[] = [];
                    for (let b = anchor - 30_000 + phase; b < Math.min(stop, deadline); b += 1000) {
                        beats.push(b);
                    }
                    const applied = beats.filter((b) => b <= cut);
                    fc.pre(applied.length > 0);
                    const w = known(
                        lossWindow(
                            evidence({ lastBeatAt: applied[applied.length - 1] / 1000, appliedAll: unapplied === 0 }),
                            lease(deadline / 1000),
                            T.fenceMs,
                        ),
                    );
                    // The writes the replica lacks (or may discard, unapplied): committed after the cut, up to the stop.
                    for (const write of [Math.max(cut, applied[applied.length - 1]) + 1, stop]) {
                        if (write > cut && write <= stop) {
                            assert.ok(write / 1000 > w.from && write / 1000 <= w.to + 1e-9, `${write} outside (${w.from}, ${w.to}]`);
                        }
                    }
                    // And it is never wider than the lease timing and how far behind the replica was justify.
                    assert.ok(w.seconds * 1000 <= databaseDeadlineAfterMs(T) + T.fenceMs + 1000 + behind + unapplied + 1e-6);
                },
            ),
            { numRuns: 2000 },
        );
    });
});

describe("loss window: the RPO guard", () => {
    const w = known(lossWindow(evidence({ lastBeatAt: 1000 }), lease(1020), T.fenceMs));

    it("lets a window within the budget through, and holds one over it", () => {
        assert.deepEqual(lossVerdict(w, 60), { proceed: true, reason: "the loss window 22.0 s is within the budget of 60 s" });
        assert.deepEqual(lossVerdict(w, 10), { proceed: false, reason: "the loss window 22.0 s is over the budget of 10 s" });
    });

    it("lets a window through that an operator accepted, only up to what was accepted", () => {
        assert.equal(lossVerdict(w, 10, { seconds: 30 }).proceed, true);
        assert.deepEqual(lossVerdict(w, 10, { seconds: 20 }), {
            proceed: false,
            reason: "the loss window 22.0 s is over the budget of 10 s and over the 20 s an operator accepted",
        });
    });

    it("holds an unknown window whatever the budget; only accepting any loss (or no guard at all) lets it through", () => {
        const unknown = lossWindow(evidence({ lastBeatAt: undefined }), lease(1020), T.fenceMs);
        assert.equal(lossVerdict(unknown, 86_400).proceed, false);
        assert.match(lossVerdict(unknown, undefined).reason, /^the RPO guard is off \(the window is unknown/);
        assert.equal(lossVerdict(unknown, 10, { seconds: 86_400 }).proceed, false);
        assert.match(lossVerdict(unknown, 10, "any").reason, /accepted any loss \(the window is unknown/);
    });

    it("with no budget, lets a known window through and says so", () => {
        assert.deepEqual(lossVerdict(w, undefined), { proceed: true, reason: "the RPO guard is off (the window is 22.0 s)" });
    });
});
