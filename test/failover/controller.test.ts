/**
 * The controller's timing and step mechanics in an in-memory world with a fake clock: the
 * decision-time bound, stalled rounds, stale counts, promotions that take several polls or
 * several runs, and a lease lost in the middle of a failover.
 */
import * as assert from "assert";
import fc from "fast-check";
import { Controller, StepFailedError } from "../../failover/controller";
import { LockHeldError } from "../../failover/core/ports";
import type { Probe } from "../../failover/probes/http";
import { FakeClock, MemoryWorld, options, recordingProbe, scriptedProbes } from "../support/failoverWorld";

function recorder() {
    const events: Record<string, any>[] = [];
    return { events, emit: (event: string, fields: Record<string, unknown> = {}) => events.push({ event, ...fields }) };
}

describe("failover controller mechanics (fake clock, in-memory adapters)", () => {
    it("decides within (maxFail - 1) x interval + timeout of the first failed round's start, whatever the probes' latency", async () => {
        await fc.assert(
            fc.asyncProperty(
                fc.integer({ min: 10, max: 1000 }),
                fc.integer({ min: 1, max: 6 }),
                fc.integer({ min: 0, max: 5 }),
                fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 12, maxLength: 12 }),
                async (intervalMs, maxFail, healthyRounds, latencyShares) => {
                    const clock = new FakeClock();
                    const world = new MemoryWorld();
                    const timeoutMs = intervalMs; // the largest timeout the CLI allows
                    let round = 0;
                    const roundStarts: number[] = [];
                    const probe: Probe = {
                        name: "p",
                        target: "scripted://p",
                        check: () => {
                            roundStarts.push(clock.now());
                            const latency = Math.floor(latencyShares[round % latencyShares.length] * timeoutMs);
                            clock.t += latency;
                            const ok = round < healthyRounds;
                            round += 1;
                            return Promise.resolve({ name: "p", target: "scripted://p", ok, latencyMs: latency });
                        },
                    };
                    const { events, emit } = recorder();
                    const controller = new Controller(
                        { adapters: world.adapters(), probes: [probe], emit, clock },
                        options({ thresholds: { maxFail, quorum: 1 }, intervalMs, timeoutMs }),
                    );
                    assert.strictEqual(await controller.watch(), "failed-over");
                    const decidedAt = world.state!.failover!.decidedAt;
                    const firstFailedStart = roundStarts[healthyRounds];
                    assert.ok(
                        decidedAt - firstFailedStart <= (maxFail - 1) * intervalMs + timeoutMs,
                        JSON.stringify({ decidedAt, firstFailedStart }),
                    );
                    assert.strictEqual(events.filter((e) => e.event === "skipped").length, 0, "no round ran late");
                },
            ),
            { numRuns: 300 },
        );
    });

    it("skips the slots a stalled round overran instead of running them back to back", async () => {
        const clock = new FakeClock();
        const world = new MemoryWorld();
        const starts: number[] = [];
        const probe = recordingProbe(clock, starts, (round) => {
            if (round === 2) {
                clock.t += 320; // the process stalled for 3.2 intervals
            }
        });
        const { events, emit } = recorder();
        await new Controller(
            { adapters: world.adapters(), probes: [probe], emit, clock },
            options({ intervalMs: 100, timeoutMs: 100 }),
        ).watch(1000);
        assert.deepStrictEqual(
            events.filter((e) => e.event === "skipped").map((e) => e.rounds),
            [2], // the round ends at 420 ms: the slots at 200 and 300 are skipped, the one at 400 runs 20 ms late
        );
        const gaps = starts.slice(1).map((t, i) => t - starts[i]);
        assert.ok(
            gaps.every((g) => g >= 50),
            `rounds crammed together: ${gaps.join(", ")}`,
        );
    });

    for (const [timeoutMs, expected] of [
        [50, [300, 400]],
        [150, [300]],
    ] as const) {
        it(`ends by an absolute deadline, whatever the lease wait took, starting no round that could outlast it (probe timeout ${timeoutMs} ms)`, async () => {
            const clock = new FakeClock(0);
            const world = new MemoryWorld();
            const adapters = world.adapters();
            const acquire = adapters.lock.acquire.bind(adapters.lock);
            // The lease comes 300 ms after the watch is called (a crashed invocation's lease expiring).
            adapters.lock.acquire = async (...args: Parameters<typeof acquire>) => {
                clock.t += 300;
                return acquire(...args);
            };
            const starts: number[] = [];
            const controller = new Controller(
                { adapters, probes: [recordingProbe(clock, starts)], emit: () => undefined, clock },
                options({ intervalMs: 100, timeoutMs }),
            );
            assert.strictEqual(await controller.watch(undefined, 500), "elapsed");
            // Rounds every 100 ms from the lease (300); the one at 400 could run to 550 with a 150 ms timeout.
            assert.deepStrictEqual(starts, [...expected]);
        });
    }

    it("starts the count again when the saved failed rounds are older than one detection window", async () => {
        const clock = new FakeClock(1_000_000);
        const world = new MemoryWorld();
        world.state = {
            version: 1,
            region: "dr",
            writerRegion: "primary",
            phase: "suspect",
            consecutiveFailedRounds: 2,
            updatedAt: clock.t - 31,
            suspectSince: 0,
        };
        const { events, emit } = recorder();
        const controller = new Controller({ adapters: world.adapters(), probes: scriptedProbes(1, [1, 1], clock), emit, clock }, options());
        assert.strictEqual(await controller.watch(20), "elapsed");
        assert.strictEqual(events.find((e) => e.event === "decision")?.decision, "stale-count-reset");
        assert.strictEqual(world.state.consecutiveFailedRounds, 2, "two new failed rounds, counted from zero");
        assert.strictEqual(world.calls.length, 0);

        // Within the window (a restart), the count carries on: one more failed round decides.
        const fresh = new MemoryWorld();
        fresh.state = { ...world.state, updatedAt: clock.t - 5 };
        const resumed = new Controller(
            { adapters: fresh.adapters(), probes: scriptedProbes(1, [1], clock), emit: () => undefined, clock },
            options(),
        );
        assert.strictEqual(await resumed.watch(10), "failed-over");
    });

    it("polls a promotion until the writer accepts writes, as one attempt", async () => {
        const clock = new FakeClock();
        const world = new MemoryWorld();
        world.writableFromCall = 3;
        const { events, emit } = recorder();
        const controller = new Controller({ adapters: world.adapters(), probes: [], emit, clock }, options({ retries: 3 }));
        assert.strictEqual(await controller.failover(), "failed-over");
        assert.strictEqual(world.successes("promote"), 3);
        assert.deepStrictEqual(
            events.filter((e) => e.event === "action" && e.action === "promote").map((e) => e.status),
            ["started", "in-progress", "in-progress", "succeeded"],
        );
        assert.strictEqual(world.state!.failover!.completed.find((c) => c.step === "promote")!.attempts, 1);
    });

    it("a promotion that outlasts the run's budget stops the run without retries; the next run resumes it", async () => {
        const clock = new FakeClock();
        const world = new MemoryWorld();
        world.writableFromCall = Infinity;
        const opts = options({ retries: 3, promoteTimeoutMs: 50 });
        const first = new Controller({ adapters: world.adapters(), probes: [], emit: () => undefined, clock }, opts);
        await assert.rejects(first.failover(), (err: unknown) => {
            assert.ok(err instanceof StepFailedError);
            assert.match(err.message, /step promote failed after 1 attempt\(s\): the promoted writer did not accept writes within 0\.05 s/);
            return true;
        });
        assert.strictEqual(world.state!.failover!.current!.step, "promote");
        world.writableFromCall = world.successes("promote") + 1;
        const second = new Controller({ adapters: world.adapters(), probes: [], emit: () => undefined, clock }, opts);
        assert.strictEqual(await second.watch(), "failed-over");
        assert.deepStrictEqual([...new Set(world.calls.map((c) => c.step))], ["fence", "promote", "move-traffic", "notify"]);
        assert.strictEqual(world.successes("fence"), 1);
    });

    it("a lease lost in the middle of a failover stops the run before its next action", async () => {
        const clock = new FakeClock();
        const world = new MemoryWorld();
        world.afterAction = (step) => {
            if (step === "fence") {
                world.lease.abort(new LockHeldError("the lease was taken over"));
            }
        };
        const controller = new Controller({ adapters: world.adapters(), probes: [], emit: () => undefined, clock }, options());
        await assert.rejects(controller.failover(), /the lease was taken over/);
        assert.deepStrictEqual(
            world.calls.map((c) => c.step),
            ["fence"],
        );
    });
});
