/**
 * What the drill's tests share (test/drill*.test.ts): the drill's
 * timings for a test run, and the checks every drill's result must pass.
 */
import { strict as assert } from "assert";
import { DrillReport, summarize } from "../../drill/report";
import { DRILL_LEASE_TIMING } from "../../drill/lease";
import { DrillOptions, DrillResult, Fault, runDrill } from "../../drill/run";

/**
 * Short drills: 0.5 s rounds (probe timeout 250 ms), three failed rounds, the fault 1.5 s in,
 * 8 s in all: long enough for the writer lease (L + d = 3 s) to lapse after the fault, and DR
 * to serve after it. 0.2 s rounds (a 100 ms probe timeout) were what the drill tests ran
 * alone; in the suite's parallel run, beside three workers on two cores, a healthy site's
 * probes missed 100 ms. 10 writes a second through the virtual IP (2 to the origin) are enough
 * for every claim (writes before, during and after the fault, a loss to account for) at a
 * quarter of the CPU of 40. The tests assert behaviour (which outcome, how many failovers,
 * every write accounted for), never speed: the rounds' length only scales the time each takes.
 */
export const SHORT: Omit<DrillOptions, "fault"> = {
    intervalMs: 500,
    maxFail: 3,
    quorum: 2,
    writesPerSecond: 10,
    durationMs: 8000,
    faultAtMs: 1500,
    // The loss window of a current replica is at most (L - m) + F and a beat, 2.8 s at the
    // drill's timing, plus a region cut's first step (interval x (max-fail + 1), 2 s): a budget
    // of 8 s holds only a replica kept behind.
    maxLagSeconds: 8,
    // At least --max-lag, the agent's grace, the lease and the takeover wait, and a second
    // (drillOptionProblems): the replica is still behind when the controller reads the window.
    lagSeconds: 19,
};

/** The faults whose database goes down while its agent runs: the agent's 5 s grace comes first. */
export const DATABASE_DOWN = { durationMs: 13_000 } as const;

export interface Drilled {
    readonly result: DrillResult;
    readonly rep: DrillReport;
}
export type DrillRuns<K extends string> = Record<K, Promise<Drilled>>;

/**
 * Runs drills two at a time (more at once, beside the suite's other workers, starve them of CPU),
 * in the order given, each starting as soon as one of the two before it has ended; each result
 * kept for its test.
 */
export function twoAtATime<K extends string>(plan: readonly (readonly [K, () => Promise<Drilled>])[]): DrillRuns<K> {
    const runs = {} as DrillRuns<K>;
    let active = 0;
    const waiting: (() => void)[] = [];
    const acquire = (): Promise<void> => {
        if (active < 2) {
            active += 1;
            return Promise.resolve();
        }
        return new Promise((resolve) => waiting.push(resolve));
    };
    // A freed slot goes to the next drill waiting, in order, or stays free.
    const release = () => {
        const next = waiting.shift();
        if (next !== undefined) {
            next();
        } else {
            active -= 1;
        }
    };
    for (const [key, start] of plan) {
        const run = acquire().then(() => start().finally(release));
        run.catch(() => undefined); // awaited by its test
        runs[key] = run;
    }
    return runs;
}

export async function drill(fault: Fault, options: Partial<DrillOptions> = {}): Promise<Drilled> {
    const result = await runDrill({ ...SHORT, ...options, fault });
    return { result, rep: summarize(result) };
}

/** Every write a site acknowledged (through the virtual IP or to the primary's origin) is on DR, or counted in the reported loss. */
export function accountedFor(result: DrillResult, rep: DrillReport): void {
    const onDr = new Set(result.onDr);
    const lost = new Set(rep.lostOnDr);
    const unaccounted = [...result.writes, ...result.originWrites].filter(
        (w) => w.ackAt !== undefined && !onDr.has(w.id) && !lost.has(w.id),
    );
    assert.deepEqual(
        unaccounted.map((w) => w.id),
        [],
        "acknowledged writes neither on DR nor in the reported loss",
    );
    assert.deepEqual(rep.lostEverywhere, []);
}

/**
 * I2: every acknowledged write DR lacks lies in the loss window the controller stated before it
 * promoted, an upper bound that is never negative; and that window is no wider than the lease
 * timing and how far behind the replica was justify ((L - m) + F and a beat, plus `behindSeconds`).
 */
export function honestLoss(rep: DrillReport, behindSeconds = 0): void {
    assert.equal(rep.invariants.I2.holds, true, rep.invariants.I2.detail);
    const w = rep.window;
    assert.ok(w !== undefined && !("unknown" in w), `a window was stated: ${JSON.stringify(w)}`);
    assert.ok(w.seconds >= 0);
    const justified = (DRILL_LEASE_TIMING.leaseMs - DRILL_LEASE_TIMING.marginMs + DRILL_LEASE_TIMING.fenceMs) / 1000 + 1 + behindSeconds;
    assert.ok(w.seconds <= justified, `window ${w.seconds.toFixed(2)} s, justified ${justified} s`);
}

/**
 * The decisions and steps of a run, seconds from the fault: a failure's message. With them, what
 * a flaky run needs to be read afterwards: the drill's phases, holds, the agents' events and
 * errors, and the lease writes other than the routine renewals (kept: the renewals of the last
 * two intervals before the fault, a slow one, and the first after a gap: a renewal that lands
 * late stands a failover down).
 */
export function steps(result: DrillResult): string {
    const shown = (event: string) =>
        ["fault", "decision", "action", "hold", "drill", "controller-error", "drill-error"].includes(event) || event.startsWith("agent-");
    const lines = result.timeline
        .filter((e) => shown(e.event) && !["agent-renewed", "agent-standby"].includes(e.event))
        .map((e) => ({ at: e.at, line: JSON.stringify(e) }));
    // Renewals: the last before the fault, a slow one (its answer took longer than the renewal
    // interval), and the first after a gap; the routine ones in between are left out.
    const every = DRILL_LEASE_TIMING.renewEveryMs;
    const lastAt = new Map<string, number>();
    for (const t of result.leaseHistory) {
        const previous = lastAt.get(t.by);
        lastAt.set(t.by, t.at);
        const notable =
            t.op !== "renew" ||
            (t.at <= result.faultAt && t.at >= result.faultAt - 2 * every) ||
            t.at - t.sentAt > every ||
            (previous !== undefined && t.at - previous > 2 * every);
        if (notable) {
            lines.push({ at: t.at, line: `lease ${JSON.stringify({ ...t, sent: ((t.sentAt - result.faultAt) / 1000).toFixed(2) })}` });
        }
    }
    return lines
        .sort((a, b) => a.at - b.at)
        .map((l) => `${((l.at - result.faultAt) / 1000).toFixed(2)} s ${l.line}`)
        .join("\n");
}
