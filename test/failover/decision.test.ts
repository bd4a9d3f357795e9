import * as assert from "assert";
import { decide, Phase, roleProblem, roundFailed, Watch } from "../../failover/core/decision";
import { checkRange, defaultQuorum, MAX_FAIL } from "../../failover/core/settings";
import type { LossWindow, UnknownWindow } from "../../failover/core/lossWindow";
import { dataAtRisk, FailoverRecord, initialState, nextStep, parseState, STEPS } from "../../failover/core/state";

const T = { maxFail: 3, quorum: 2 };
const w = (phase: Phase, n: number): Watch => ({ phase, consecutiveFailedRounds: n });

describe("failover decision core", () => {
    describe("decide: every transition", () => {
        // [from, failures of 3 probes, expected next, expected decision]
        const table: [Watch, number, Watch, string][] = [
            [w("healthy", 0), 0, w("healthy", 0), "healthy"],
            [w("healthy", 0), 1, w("healthy", 0), "healthy"], // below quorum: a good round
            [w("healthy", 0), 2, w("suspect", 1), "suspect"],
            [w("healthy", 0), 3, w("suspect", 1), "suspect"],
            [w("suspect", 1), 2, w("suspect", 2), "suspect"],
            [w("suspect", 1), 0, w("healthy", 0), "recovered"],
            [w("suspect", 2), 1, w("healthy", 0), "recovered"], // one good round resets the count
            [w("suspect", 2), 2, w("failing-over", 3), "fail-over"],
            [w("suspect", 2), 3, w("failing-over", 3), "fail-over"],
            [w("failing-over", 3), 0, w("failing-over", 3), "ignored"], // recovery mid-failover: no failback
            [w("failing-over", 3), 3, w("failing-over", 3), "ignored"],
            [w("failed-over", 3), 0, w("failed-over", 3), "ignored"], // terminal
            [w("failed-over", 3), 3, w("failed-over", 3), "ignored"],
        ];
        for (const [from, failures, next, kind] of table) {
            it(`${from.phase}(${from.consecutiveFailedRounds}) + ${failures}/3 failed -> ${next.phase}(${next.consecutiveFailedRounds}), ${kind}`, () => {
                const result = decide(from, { probes: 3, failures }, T);
                assert.deepStrictEqual(result.next, next);
                assert.strictEqual(result.decision.kind, kind);
            });
        }

        it("fails over on the first failed round when maxFail is 1", () => {
            assert.strictEqual(decide(w("healthy", 0), { probes: 1, failures: 1 }, { maxFail: 1, quorum: 1 }).decision.kind, "fail-over");
        });

        it("reports the count it recovered from", () => {
            assert.deepStrictEqual(decide(w("suspect", 2), { probes: 3, failures: 0 }, T).decision, {
                kind: "recovered",
                afterFailedRounds: 2,
            });
        });
    });

    it("a round fails at the quorum, not below it", () => {
        assert.deepStrictEqual(
            [0, 1, 2, 3].map((failures) => roundFailed({ probes: 3, failures }, 2)),
            [false, false, true, true],
        );
    });

    it("rejects a controller whose own region is the writer region", () => {
        assert.match(
            roleProblem({ region: "dr", writerRegion: "dr" }) ?? "",
            /region dr is the writer region; a controller only promotes a standby/,
        );
        assert.strictEqual(roleProblem({ region: "dr", writerRegion: "primary" }), undefined);
    });

    it("the default quorum is a strict majority", () => {
        assert.deepStrictEqual([1, 2, 3, 4, 5].map(defaultQuorum), [1, 2, 2, 3, 3]);
    });

    it("rejects out-of-range and fractional settings with the value and the range", () => {
        assert.strictEqual(checkRange("--max-fail", 0, MAX_FAIL), "--max-fail 0: expected a whole number from 1 to 100");
        assert.strictEqual(checkRange("--max-fail", 2.5, MAX_FAIL), "--max-fail 2.5: expected a whole number from 1 to 100");
        assert.strictEqual(checkRange("--max-fail", 3, MAX_FAIL), undefined);
    });

    describe("what is at risk", () => {
        const record = (window: LossWindow | UnknownWindow): FailoverRecord => ({
            trigger: "automatic",
            decidedAt: 0,
            from: "primary",
            to: "dr",
            completed: [],
            assessment: { at: 0, window, checks: [], proceed: true, reason: "" },
        });

        it("says the window's width and what it is, none for a published fence, unknown with why", () => {
            assert.match(
                dataAtRisk(record({ from: 1, to: 13, seconds: 12, fence: "lease-timing", detail: "d" })),
                /^up to 12.0 s of writes: d$/,
            );
            assert.match(dataAtRisk(record({ from: 1, to: 1, seconds: 0, fence: "published", missingGtid: "", detail: "d" })), /^none: d$/);
            assert.match(dataAtRisk(record({ unknown: "no heartbeat" })), /^unknown: no heartbeat$/);
            assert.match(dataAtRisk({ ...record({ unknown: "x" }), assessment: undefined }), /unknown: no assessment was made/);
        });
    });

    describe("steps", () => {
        const record = (done: string[]): FailoverRecord => ({
            trigger: "automatic",
            decidedAt: 0,
            from: "primary",
            to: "dr",
            completed: done.map((step) => ({ step: step as (typeof STEPS)[number], startedAt: 0, completedAt: 0, attempts: 1 })),
        });

        it("run in the documented order", () => {
            assert.deepStrictEqual([...STEPS], ["take-lease", "fence", "promote", "move-traffic", "notify"]);
        });

        it("resume at the first step not completed", () => {
            assert.strictEqual(nextStep(record([])), "take-lease");
            assert.strictEqual(nextStep(record(["take-lease", "fence", "record-lag"])), "promote");
            assert.strictEqual(nextStep(record([...STEPS])), undefined);
        });
    });

    describe("parseState", () => {
        const good = initialState({ region: "dr", writerRegion: "primary" }, 1);

        it("accepts the state it writes", () => {
            assert.deepStrictEqual(parseState(JSON.parse(JSON.stringify(good)), "s.json"), good);
        });

        it("accepts a failover an earlier version left under way, dropping its retired record-lag step", () => {
            const step = (name: string) => ({ step: name, startedAt: 1, completedAt: 2, attempts: 1 });
            const earlier = {
                ...good,
                phase: "failing-over",
                failover: {
                    trigger: "automatic",
                    decidedAt: 1,
                    from: "primary",
                    to: "dr",
                    completed: ["take-lease", "fence", "record-lag"].map(step),
                },
            };
            const parsed = parseState(earlier, "s.json");
            assert.deepStrictEqual(
                parsed.failover!.completed.map((c) => c.step),
                ["take-lease", "fence"],
            );
            assert.strictEqual(nextStep(parsed.failover!), "promote");
        });

        const bad: [string, unknown, RegExp][] = [
            ["an array", [], /s.json: not a failover controller state \(phase undefined|version undefined/],
            ["another version", { ...good, version: 2 }, /version 2, expected 1/],
            ["an unknown phase", { ...good, phase: "panic" }, /phase "panic", expected one of healthy, suspect, failing-over, failed-over/],
            ["failed-over without a record", { ...good, phase: "failed-over" }, /phase failed-over without a failover record/],
            ["a negative count", { ...good, consecutiveFailedRounds: -1 }, /consecutiveFailedRounds/],
        ];
        for (const [name, raw, message] of bad) {
            it(`rejects ${name}`, () => {
                assert.throws(() => parseState(raw, "s.json"), message);
            });
        }
    });
});
