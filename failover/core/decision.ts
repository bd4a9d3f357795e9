/**
 * The decision core: pure functions, no I/O, no clock of their own.
 *
 *   healthy --failed round--> suspect(n) --n reaches maxFail--> failing-over(step) --> failed-over
 *      ^                          |
 *      +-------good round---------+        (failing-over and failed-over ignore rounds)
 *
 * A round fails only when at least `quorum` vantage points report failure, so one broken
 * network path cannot trigger a failover. One good round resets the count. There is no
 * automatic failback: `failed-over` is terminal until an operator re-arms the controller.
 */

export const PHASES = ["healthy", "suspect", "failing-over", "failed-over"] as const;
export type Phase = (typeof PHASES)[number];

export interface Thresholds {
    /** Consecutive failed rounds that make the decision. */
    readonly maxFail: number;
    /** Vantage points that must report failure for a round to fail. */
    readonly quorum: number;
}

/** What one round of probes saw: how many vantage points, how many reported failure. */
export interface RoundOutcome {
    readonly probes: number;
    readonly failures: number;
}

/** The part of the controller's state the decision depends on. */
export interface Watch {
    readonly phase: Phase;
    readonly consecutiveFailedRounds: number;
}

export type Decision =
    /** A good round while healthy: nothing to say. */
    | { readonly kind: "healthy" }
    /** A failed round below the threshold. */
    | { readonly kind: "suspect"; readonly consecutiveFailedRounds: number }
    /** A good round after failed ones: the count starts again. */
    | { readonly kind: "recovered"; readonly afterFailedRounds: number }
    /** The threshold is reached: fail over now. */
    | { readonly kind: "fail-over"; readonly consecutiveFailedRounds: number }
    /** The decision is already made (or carried out); rounds no longer change anything. */
    | { readonly kind: "ignored"; readonly phase: "failing-over" | "failed-over" };

export function roundFailed(outcome: RoundOutcome, quorum: number): boolean {
    return outcome.failures >= quorum;
}

/** The next watch state and what the round decided. */
export function decide(watch: Watch, outcome: RoundOutcome, thresholds: Thresholds): { next: Watch; decision: Decision } {
    if (watch.phase === "failing-over" || watch.phase === "failed-over") {
        return { next: watch, decision: { kind: "ignored", phase: watch.phase } };
    }
    if (!roundFailed(outcome, thresholds.quorum)) {
        if (watch.consecutiveFailedRounds === 0) {
            return { next: { phase: "healthy", consecutiveFailedRounds: 0 }, decision: { kind: "healthy" } };
        }
        return {
            next: { phase: "healthy", consecutiveFailedRounds: 0 },
            decision: { kind: "recovered", afterFailedRounds: watch.consecutiveFailedRounds },
        };
    }
    const count = watch.consecutiveFailedRounds + 1;
    if (count >= thresholds.maxFail) {
        return {
            next: { phase: "failing-over", consecutiveFailedRounds: count },
            decision: { kind: "fail-over", consecutiveFailedRounds: count },
        };
    }
    return { next: { phase: "suspect", consecutiveFailedRounds: count }, decision: { kind: "suspect", consecutiveFailedRounds: count } };
}

/** Who this controller is: its own region, and the region that holds the writer now. */
export interface Roles {
    readonly region: string;
    readonly writerRegion: string;
}

/**
 * A controller only ever promotes its own region, and only while that region is the standby:
 * it watches the writer region and never acts on its own region's health. Returns why it may
 * not act, or undefined when it may.
 */
export function roleProblem(roles: Roles): string | undefined {
    if (roles.region === roles.writerRegion) {
        return `this controller's region ${roles.region} is the writer region; a controller only promotes a standby and never acts on its own region's health`;
    }
    return undefined;
}
