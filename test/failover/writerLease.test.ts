/**
 * The writer lease: the timing inequality with the deployed numbers, the taker's wait on its own
 * clock, and the lease's conditional writes against a DynamoDB-protocol server (dynalite on
 * 127.0.0.1) through the real client.
 */
import { strict as assert } from "assert";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import fc from "fast-check";
import { DynamoWriterLease } from "../../failover/adapters/aws/writerLease";
import { LeaseChangedError } from "../../failover/core/ports";
import {
    breakingRateError,
    DEFAULT_LEASE_TIMING,
    holderStopsWithinMs,
    LeaseTiming,
    takerActsAfterMs,
    timingProblem,
    timingSlackMs,
    watchLease,
    WriterLeaseRecord,
} from "../../failover/core/writerLease";
import { LocalDynamo, startDynalite, TEST_CREDENTIALS } from "../support/dynamo";

describe("writer lease: timing", () => {
    it("with L 30 s, m 5 s, F 2 s, d 5 s, r 0.1 %: the old writer stops by 27.03 s, a taker acts from 34.97 s, 7.94 s to spare", () => {
        assert.equal(timingProblem(DEFAULT_LEASE_TIMING), undefined);
        assert.equal(Math.round(holderStopsWithinMs(DEFAULT_LEASE_TIMING)), 27_025);
        assert.equal(Math.round(takerActsAfterMs(DEFAULT_LEASE_TIMING)), 34_965);
        assert.equal(Math.round(timingSlackMs(DEFAULT_LEASE_TIMING)), 7_940);
        // Where it breaks: a clock 13.3 % fast or slow.
        assert.equal(breakingRateError(DEFAULT_LEASE_TIMING).toFixed(4), "0.1333");
    });

    it("refuses a timing where the taker could start before the old writer stops, naming both sides", () => {
        assert.match(
            timingProblem({ ...DEFAULT_LEASE_TIMING, rateError: 0.14 })!,
            /unsafe timing: .* \(\(L - m\)\(1 \+ r\) \+ F\).*\(\(L \+ d\)\(1 - r\)\)/,
        );
        assert.match(timingProblem({ ...DEFAULT_LEASE_TIMING, takeoverWaitMs: 0, marginMs: 1000 })!, /unsafe timing/);
        assert.match(timingProblem({ ...DEFAULT_LEASE_TIMING, marginMs: 0 })!, /marginMs 0: expected above 0/);
        assert.match(timingProblem({ ...DEFAULT_LEASE_TIMING, renewEveryMs: 12_000 })!, /two renewals and a timeout/);
    });

    /**
     * The inequality against a simulation of the worst case: the database's clock and the
     * taker's clock each off by any rate within r (either way), the fence taking any time up to F,
     * the last renewal committed any time after the anchor and before the taker's read returned.
     * Wherever timingProblem accepts the timing, the old writer's last write precedes the taker's
     * first action.
     */
    it("holds in a simulation of any clock rates within r, any fence time up to F, any renewal delay", () => {
        const timing = fc.record({
            leaseMs: fc.integer({ min: 1_000, max: 120_000 }),
            marginMs: fc.integer({ min: 1, max: 60_000 }),
            fenceMs: fc.integer({ min: 0, max: 10_000 }),
            takeoverWaitMs: fc.integer({ min: 0, max: 30_000 }),
            rateError: fc.double({ min: 0, max: 0.3, noNaN: true }),
            renewEveryMs: fc.constant(100),
            renewTimeoutMs: fc.constant(100),
        });
        fc.assert(
            fc.property(
                timing,
                fc.double({ min: -1, max: 1, noNaN: true }),
                fc.double({ min: -1, max: 1, noNaN: true }),
                fc.double({ min: 0, max: 1, noNaN: true }),
                fc.double({ min: 0, max: 60_000, noNaN: true }),
                (t: LeaseTiming, dbRate, takerRate, fenceShare, readDelay) => {
                    fc.pre(timingProblem(t) === undefined);
                    // Real time 0: the anchor. The database's deadline is L - m on its own clock:
                    // (L - m)(1 + dbRate x r) of real time, dbRate anywhere in [-1, 1].
                    const lastWrite = (t.leaseMs - t.marginMs) * (1 + dbRate * t.rateError) + fenceShare * t.fenceMs;
                    // The taker's read returned at readDelay (after the renewal, after the anchor);
                    // it waits L + d on its own clock: (L + d)(1 + takerRate x r) of real time.
                    const takerActs = readDelay + (t.leaseMs + t.takeoverWaitMs) * (1 + takerRate * t.rateError);
                    return lastWrite < takerActs;
                },
            ),
            { numRuns: 2000 },
        );
    });

    it("catches a timing that breaks: at r 20 % a fast taker and a slow database overlap", () => {
        const t = { ...DEFAULT_LEASE_TIMING, rateError: 0.2 };
        assert.notEqual(timingProblem(t), undefined);
        const lastWrite = (t.leaseMs - t.marginMs) * (1 + t.rateError) + t.fenceMs;
        const takerActs = (t.leaseMs + t.takeoverWaitMs) * (1 - t.rateError);
        assert.ok(lastWrite > takerActs, `${lastWrite} > ${takerActs}`);
    });
});

describe("writer lease: the taker's wait", () => {
    const record = (version: string, epoch = 1): WriterLeaseRecord => ({
        holder: "us-east-2",
        epoch,
        version,
        leaseMs: 30_000,
        renewedAt: 0,
    });

    it("lapses only when the same version has been there L + d on the taker's clock since a read first showed it", () => {
        let view = watchLease(undefined, record("a"), 1_000, DEFAULT_LEASE_TIMING);
        assert.deepEqual([view.lapsed, view.lapsesInMs], [false, 35_000]);
        view = watchLease(view.watch, record("a"), 35_999, DEFAULT_LEASE_TIMING);
        assert.deepEqual([view.lapsed, view.lapsesInMs], [false, 1]);
        view = watchLease(view.watch, record("a"), 36_000, DEFAULT_LEASE_TIMING);
        assert.equal(view.lapsed, true);
    });

    it("starts again from the read that shows a new version (a renewal) or a new epoch", () => {
        let view = watchLease(undefined, record("a"), 0, DEFAULT_LEASE_TIMING);
        view = watchLease(view.watch, record("b"), 30_000, DEFAULT_LEASE_TIMING);
        assert.deepEqual([view.lapsed, view.watch.firstSeenAt], [false, 30_000]);
        view = watchLease(view.watch, record("b", 2), 64_000, DEFAULT_LEASE_TIMING);
        assert.deepEqual([view.lapsed, view.watch.firstSeenAt, view.watch.epoch], [false, 64_000, 2]);
    });
});

describe("writer lease: DynamoDB (dynalite on 127.0.0.1, the real client)", () => {
    let dynamo: LocalDynamo;
    let client: DynamoDBClient;
    let table = 0;

    before(async () => {
        dynamo = await startDynalite();
        client = dynamo.client;
    });
    after(() => dynamo.close());

    /** A fresh lease table per test. */
    const freshTable = () => dynamo.createTable(`ecommerce-writer-lease-${++table}`);

    it("is established once: a second writer's establish is refused", async () => {
        const lease = new DynamoWriterLease(client, await freshTable());
        assert.equal(await lease.read(), undefined);
        const first = await lease.establish("us-east-2", 30_000);
        assert.deepEqual([first.holder, first.epoch], ["us-east-2", 1]);
        await assert.rejects(lease.establish("us-west-1", 30_000), LeaseChangedError);
        assert.deepEqual(await lease.read(), first);
    });

    it("is renewed only by its holder at its epoch, each renewal with a new version", async () => {
        const lease = new DynamoWriterLease(client, await freshTable());
        const first = await lease.establish("us-east-2", 30_000);
        const renewed = await lease.renew("us-east-2", 1, 30_000);
        assert.notEqual(renewed.version, first.version);
        assert.equal((await lease.read())!.version, renewed.version);
        await assert.rejects(lease.renew("us-west-1", 1, 30_000), LeaseChangedError);
        await assert.rejects(lease.renew("us-east-2", 2, 30_000), LeaseChangedError);
    });

    it("carries the deadline of the holder's last anchored renewal (the loss window's fence end); an unanchored renewal keeps it, a takeover clears it", async () => {
        const lease = new DynamoWriterLease(client, await freshTable());
        assert.equal((await lease.establish("us-east-2", 30_000, undefined, { deadline: 1000.5 })).deadline, 1000.5);
        await lease.renew("us-east-2", 1, 30_000, undefined, { deadline: 1005.25 });
        assert.equal((await lease.read())!.deadline, 1005.25);
        const unanchored = await lease.renew("us-east-2", 1, 30_000, undefined, "unanchored");
        assert.equal(unanchored.deadline, 1005.25);
        assert.equal((await lease.read())!.deadline, 1005.25);
        // Two overlapping runs of the agent: the one that anchored earlier lands last, and must not
        // lower the deadline the other let the database keep; its renewal finds the lease renewed.
        const later = await lease.renew("us-east-2", 1, 30_000, undefined, { deadline: 1010 });
        const earlier = await lease.renew("us-east-2", 1, 30_000, undefined, { deadline: 1008 });
        assert.equal(earlier.version, later.version, "the sibling's renewal is this one's result");
        assert.equal((await lease.read())!.deadline, 1010);
        const taken = await lease.take("us-west-1", (await lease.read())!, 30_000);
        assert.equal(taken.deadline, undefined);
        assert.equal((await lease.read())!.deadline, undefined);
    });

    it("is taken only at the version the taker watched, bumping the epoch; the old holder's next renewal is refused", async () => {
        const lease = new DynamoWriterLease(client, await freshTable());
        const watched = await lease.establish("us-east-2", 30_000);
        // The holder renewed after the taker's read: the taker's take is refused.
        await lease.renew("us-east-2", 1, 30_000);
        await assert.rejects(lease.take("us-west-1", watched, 30_000), LeaseChangedError);
        const current = (await lease.read())!;
        const taken = await lease.take("us-west-1", current, 30_000);
        assert.deepEqual([taken.holder, taken.epoch], ["us-west-1", 2]);
        await assert.rejects(lease.renew("us-east-2", 1, 30_000), /held by us-west-1, epoch 2/);
        // Two takers racing from the same read: exactly one wins.
        const seen = (await lease.read())!;
        const race = await Promise.allSettled([lease.take("us-east-2", seen, 30_000), lease.take("us-east-1", seen, 30_000)]);
        assert.equal(race.filter((r) => r.status === "fulfilled").length, 1);
        assert.equal((await lease.read())!.epoch, 3);
    });

    it("carries a planned switchover's handover: no renewal lands under it, the final beat is published once, and a take or a withdrawal ends it", async () => {
        const lease = new DynamoWriterLease(client, await freshTable());
        await lease.establish("us-east-2", 30_000, undefined, { deadline: 1000 });
        await assert.rejects(lease.requestHandover("us-east-2", 2, "us-west-1"), LeaseChangedError, "only at the holder's epoch");
        const requested = await lease.requestHandover("us-east-2", 1, "us-west-1");
        assert.equal(requested.handover?.to, "us-west-1");
        await assert.rejects(lease.requestHandover("us-east-2", 1, "us-east-1"), LeaseChangedError, "one handover at a time");
        // Every renewal is refused, the refusal carrying the lease with its handover (what the agent acts on);
        // an overlapping run's later deadline is no sibling's renewal while it stands.
        const refused = await lease.renew("us-east-2", 1, 30_000, undefined, { deadline: 900 }).catch((e: unknown) => e);
        assert.ok(refused instanceof LeaseChangedError);
        assert.deepEqual([refused.found?.holder, refused.found?.handover?.to], ["us-east-2", "us-west-1"]);
        await assert.rejects(lease.renew("us-east-2", 1, 30_000, undefined, "unanchored"), /handing over to us-west-1/);
        const published = await lease.publishHandover("us-east-2", 1, { finalBeatAt: 1001.5, fencedAt: 1001.25, gtid: "0-1-42" });
        assert.notEqual(published.version, requested.version, "the taker takes the published version");
        assert.deepEqual(published.handover, {
            to: "us-west-1",
            requestedAt: requested.handover.requestedAt,
            finalBeatAt: 1001.5,
            fencedAt: 1001.25,
            gtid: "0-1-42",
        });
        assert.deepEqual(await lease.read(), published);
        // A second run's later final beat does not replace the first's.
        await assert.rejects(lease.publishHandover("us-east-2", 1, { finalBeatAt: 1002, fencedAt: 1001.25 }), LeaseChangedError);
        const taken = await lease.take("us-west-1", published, 30_000);
        assert.deepEqual([taken.holder, taken.epoch, taken.handover, taken.deadline], ["us-west-1", 2, undefined, undefined]);
        // Withdrawn instead: the holder keeps it at a new epoch, so a late renewal of the old one is refused.
        await lease.requestHandover("us-west-1", 2, "us-east-2");
        const kept = await lease.withdrawHandover("us-west-1", 2);
        assert.deepEqual([kept.holder, kept.epoch, kept.handover], ["us-west-1", 3, undefined]);
        await assert.rejects(lease.renew("us-west-1", 2, 30_000), LeaseChangedError);
        await lease.renew("us-west-1", 3, 30_000);
        await assert.rejects(lease.withdrawHandover("us-west-1", 3), LeaseChangedError, "nothing to withdraw");
    });

    it("reports a takeover whose answer was lost as taken when the SDK's retry finds its own write", async () => {
        const name = await freshTable();
        // A client that sends each request twice and answers with the second: the first
        // answer lost, the SDK's retry sent.
        const twice = new DynamoDBClient({ region: "us-west-2", endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
        twice.middlewareStack.add(
            (next) => async (args) => {
                await next(args);
                return next(args);
            },
            { step: "finalizeRequest", name: "loseTheFirstAnswer" },
        );
        try {
            const plain = new DynamoWriterLease(client, name);
            const seen = await plain.establish("us-east-2", 30_000);
            const taken = await new DynamoWriterLease(twice, name).take("us-west-1", seen, 30_000);
            assert.deepEqual([taken.holder, taken.epoch], ["us-west-1", 2]);
            assert.equal((await plain.read())!.version, taken.version);
        } finally {
            twice.destroy();
        }
    });

    it("reports a takeover as taken when its answer was lost and the taker's own agent renewed before the SDK's retry", async () => {
        const name = await freshTable();
        const plain = new DynamoWriterLease(client, name);
        const retried = new DynamoDBClient({
            region: "us-west-2",
            endpoint: dynamo.endpoint,
            credentials: TEST_CREDENTIALS,
            maxAttempts: 1,
        });
        retried.middlewareStack.add(
            (next) => async (args) => {
                await next(args);
                // Between the lost answer and the retry, the new holder's agent renews.
                const now = (await plain.read())!;
                await plain.renew(now.holder, now.epoch, 30_000);
                return next(args);
            },
            { step: "finalizeRequest", name: "loseTheAnswerThenRenew" },
        );
        try {
            const seen = await plain.establish("us-east-2", 30_000);
            const taken = await new DynamoWriterLease(retried, name).take("us-west-1", seen, 30_000);
            assert.deepEqual([taken.holder, taken.epoch], ["us-west-1", 2]);
        } finally {
            retried.destroy();
        }
    });
});
