/**
 * What the drill's tests share (test/drill*.test.ts): the drill's
 * timings for a test run, and the checks every drill's result must pass.
 */
import { strict as assert } from "assert";
import { DrillReport, summarize } from "../../drill/report";
import { DrillOptions, DrillResult, Fault, runDrill } from "../../drill/run";

/**
 * Short drills: 0.5 s rounds (probe timeout 250 ms), three failed rounds fail over, the fault a
 * second in, 6 s in all. 0.2 s rounds (a 100 ms probe timeout, 3.5 s drills) were what the drill
 * tests ran alone; in the suite's parallel run, beside three workers and tsc on two cores, a
 * healthy site's probes missed 100 ms and the steps had not finished at 3.5 s. The tests assert
 * behaviour (which outcome, how many failovers, every write accounted for), never speed: the
 * rounds' length only scales the time each of them takes.
 */
export const SHORT: Omit<DrillOptions, "fault"> = {
    intervalMs: 500,
    maxFail: 3,
    quorum: 2,
    // 20 writes a second: enough for every drill's claims (writes before, during and after the
    // fault, a loss to account for), half the CPU of 40 on a machine the whole suite shares.
    writesPerSecond: 20,
    durationMs: 6000,
    faultAtMs: 1000,
    maxLagSeconds: 1,
    lagSeconds: 4,
};

/**
 * The drills with the writer lease: long enough for the lease (L + d = 3 s) to lapse after the
 * fault, and DR to serve after it; 10 writes a second through the virtual IP (2 to the origin)
 * are enough for every claim.
 */
export const LEASED: Partial<DrillOptions> = { durationMs: 8000, faultAtMs: 1500, writesPerSecond: 10 };

export async function drill(fault: Fault, options: Partial<DrillOptions> = {}): Promise<{ result: DrillResult; rep: DrillReport }> {
    const result = await runDrill({ ...SHORT, ...options, fault });
    return { result, rep: summarize(result) };
}

/** Every write a site acknowledged is on DR, or counted in the reported loss. */
export function accountedFor(result: DrillResult, rep: DrillReport): void {
    const onDr = new Set(result.onDr);
    const lost = new Set(rep.lostOnDr);
    const unaccounted = result.writes.filter((w) => w.ackAt !== undefined && !onDr.has(w.id) && !lost.has(w.id));
    assert.deepEqual(
        unaccounted.map((w) => w.id),
        [],
        "acknowledged writes neither on DR nor in the reported loss",
    );
    assert.deepEqual(rep.lostEverywhere, []);
}

/** The loss can only be writes acknowledged within the lag recorded before promotion (plus one heartbeat). */
export function lossWithinRecordedLag(rep: DrillReport): void {
    assert.notEqual(rep.lagRecordedSeconds, undefined, "the lag was recorded before promotion");
    if (rep.lostOnDr.length > 0) {
        assert.ok(
            rep.lossWindowMs! <= (rep.lagRecordedSeconds! + 1) * 1000,
            `${rep.lostOnDr.length} write(s) lost over ${rep.lossWindowMs} ms, recorded lag ${rep.lagRecordedSeconds} s`,
        );
    }
}

/** The decisions and steps of a run, seconds from the fault: a failure's message. */
export function steps(result: DrillResult): string {
    return result.timeline
        .filter((e) => ["fault", "decision", "action", "controller-error", "drill-error"].includes(e.event))
        .map((e) => `${((e.at - result.faultAt) / 1000).toFixed(2)} s ${JSON.stringify(e)}`)
        .join("\n");
}
