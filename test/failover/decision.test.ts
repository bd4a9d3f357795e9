import * as assert from "assert";
import { decide, Phase, roleProblem, roundFailed, Watch } from "../../failover/core/decision";
import { checkRange, defaultQuorum, MAX_FAIL } from "../../failover/core/settings";
import { dataAtRisk, FailoverRecord, initialState, nextStep, parseState, rpoVerdict, STEPS } from "../../failover/core/state";

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

    describe("the RPO guard", () => {
        const lag = (seconds?: number) => ({ seconds, readAt: 0, source: "test", ...(seconds === undefined ? { error: "timeout" } : {}) });
        const table: [string, ReturnType<typeof lag> | undefined, number | undefined, boolean, boolean, RegExp][] = [
            ["off without a budget", lag(500), undefined, false, true, /guard is off \(replication lag 500 s\)/],
            ["off without a budget, lag unknown", undefined, undefined, false, true, /guard is off \(replication lag unknown\)/],
            ["within the budget", lag(4), 5, false, true, /4 s is within the budget of 5 s/],
            ["at the budget", lag(5), 5, false, true, /5 s is within/],
            ["over the budget", lag(6), 5, false, false, /6 s is over the budget of 5 s/],
            ["unreadable lag counts as over", lag(undefined), 5, false, false, /could not be read: timeout; unreadable lag counts as over/],
            ["missing lag counts as over", undefined, 5, false, false, /could not be read; unreadable/],
            ["an operator's acceptance overrides", lag(600), 5, true, true, /accepted the data loss \(replication lag 600 s\)/],
        ];
        for (const [name, reading, budget, accepted, promote, reason] of table) {
            it(`${promote ? "promotes" : "holds"}: ${name}`, () => {
                const verdict = rpoVerdict(reading, budget, accepted);
                assert.strictEqual(verdict.promote, promote);
                assert.match(verdict.reason, reason);
            });
        }

        it("says what data is at risk", () => {
            assert.match(dataAtRisk({ seconds: 12, readAt: 0, source: "t" }), /up to the last 12 s of writes/);
            assert.match(dataAtRisk({ seconds: 0, readAt: 0, source: "t" }), /none expected/);
            assert.match(dataAtRisk(undefined), /unknown: the replication lag was not recorded/);
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
            assert.deepStrictEqual([...STEPS], ["take-lease", "fence", "record-lag", "promote", "move-traffic", "notify"]);
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
