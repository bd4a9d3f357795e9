/**
 * Property-based tests of the controller's invariants, over the decision core alone and over
 * the whole controller in an in-memory world (scripted probes, a fake clock, adapters that
 * fail when told to, restarts between runs).
 */
import * as assert from "assert";
import fc from "fast-check";
import { Controller, StepFailedError } from "../../failover/controller";
import { decide, Watch } from "../../failover/core/decision";
import { STEPS } from "../../failover/core/state";
import { FakeClock, MemoryWorld, options, scriptedProbes, silent } from "../support/failoverWorld";

/** Settings and a sequence of rounds (failed vantage points per round). */
const scenario = fc
    .record({ probes: fc.integer({ min: 1, max: 5 }), maxFail: fc.integer({ min: 1, max: 6 }) })
    .chain(({ probes, maxFail }) =>
        fc.record({
            probes: fc.constant(probes),
            maxFail: fc.constant(maxFail),
            quorum: fc.integer({ min: 1, max: probes }),
            rounds: fc.array(fc.integer({ min: 0, max: probes }), { maxLength: 40 }),
        }),
    );

/** The index of the round that completes the first run of maxFail failed rounds, or -1. */
function firstFailover(rounds: readonly number[], quorum: number, maxFail: number): number {
    let run = 0;
    for (let i = 0; i < rounds.length; i++) {
        run = rounds[i] >= quorum ? run + 1 : 0;
        if (run >= maxFail) {
            return i;
        }
    }
    return -1;
}

describe("failover invariants (fast-check)", () => {
    it("the core decides to fail over exactly once, at the end of the first maxFail consecutive failed rounds", () => {
        fc.assert(
            fc.property(scenario, ({ quorum, maxFail, rounds }) => {
                let watch: Watch = { phase: "healthy", consecutiveFailedRounds: 0 };
                const decisions: number[] = [];
                rounds.forEach((failures, i) => {
                    const result = decide(watch, { probes: 5, failures }, { maxFail, quorum });
                    if (result.decision.kind === "fail-over") {
                        decisions.push(i);
                    }
                    watch = result.next;
                });
                const expected = firstFailover(rounds, quorum, maxFail);
                assert.deepStrictEqual(decisions, expected === -1 ? [] : [expected]);
                // never a failover unless maxFail consecutive rounds reached the quorum
                for (const i of decisions) {
                    assert.ok(rounds.slice(i - maxFail + 1, i + 1).every((f) => f >= quorum));
                }
            }),
            { numRuns: 2000 },
        );
    });

    it("the core never fails over on rounds where fewer than quorum probes failed", () => {
        fc.assert(
            fc.property(scenario, ({ quorum, maxFail, probes }) => {
                const rounds = Array.from({ length: 30 }, (_, i) => (i * 7) % quorum); // always below the quorum
                let watch: Watch = { phase: "healthy", consecutiveFailedRounds: 0 };
                for (const failures of rounds) {
                    const result = decide(watch, { probes, failures }, { maxFail, quorum });
                    assert.notStrictEqual(result.decision.kind, "fail-over");
                    watch = result.next;
                }
                assert.strictEqual(watch.phase, "healthy");
            }),
            { numRuns: 500 },
        );
    });

    it("the controller, restarted at random points and with steps failing at random, fails over once and never repeats a completed step", async () => {
        await fc.assert(
            fc.asyncProperty(
                scenario,
                fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 10 }),
                fc.array(fc.boolean(), { maxLength: 30 }),
                async ({ probes, quorum, maxFail, rounds }, runLengths, faults) => {
                    const clock = new FakeClock();
                    const world = new MemoryWorld();
                    let fault = 0;
                    world.failNext = () => faults[fault++] ?? false;
                    const expected = firstFailover(rounds, quorum, maxFail);
                    let consumed = 0;
                    const outcomes: string[] = [];
                    // Each run watches some rounds (a restart in between), until the script is used up.
                    for (let run = 0; run < 200 && (consumed < rounds.length || world.state?.phase === "failing-over"); run++) {
                        const length = runLengths[run % runLengths.length];
                        const slice = rounds.slice(consumed, consumed + length);
                        const controller = new Controller(
                            { adapters: world.adapters(), probes: scriptedProbes(probes, slice, clock), emit: silent, clock },
                            options({ thresholds: { maxFail, quorum } }),
                        );
                        const before = world.state?.phase;
                        try {
                            outcomes.push(await controller.watch(slice.length * 10));
                        } catch (err) {
                            assert.ok(err instanceof StepFailedError, String(err));
                            outcomes.push("step-failed");
                        }
                        if (before === "failed-over") {
                            consumed += length;
                        } else if (before !== "failing-over") {
                            // a run that decided stopped probing there: its remaining rounds are not replayed
                            consumed = world.state?.failover !== undefined ? expected + 1 : consumed + length;
                        }
                        assert.ok(!world.held, "a run left the lease held");
                    }
                    if (expected === -1) {
                        assert.strictEqual(world.state?.failover, undefined);
                        assert.strictEqual(world.calls.length, 0);
                        return;
                    }
                    assert.strictEqual(world.state?.phase, "failed-over");
                    assert.strictEqual(outcomes.filter((o) => o === "failed-over").length, 1, outcomes.join(","));
                    // every step completed once, in order
                    assert.deepStrictEqual(
                        world.state.failover!.completed.map((c) => c.step),
                        [...STEPS],
                    );
                    // take-lease calls nothing in a world without a writer lease.
                    const acting = STEPS.filter((s) => s !== "take-lease");
                    for (const step of acting) {
                        // A completed step is never called again; only failed attempts repeat.
                        const successes = world.successes(step);
                        assert.strictEqual(successes, 1, `${step}: ${JSON.stringify(world.calls)}`);
                        const last = world.calls.map((c) => c.step).lastIndexOf(step);
                        assert.ok(world.calls[last].ok, `${step} was called after it completed`);
                    }
                    assert.deepStrictEqual(
                        world.calls.filter((c) => c.ok).map((c) => c.step),
                        acting,
                    );
                },
            ),
            { numRuns: 300 },
        );
    });
});
