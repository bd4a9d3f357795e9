/**
 * The decision core: pure functions, no I/O, no clock of their own.
 *
 *   healthy --failed round--> suspect(n) --n reaches maxFail--> failing-over(step) --> failed-over
 *      ^                          |                   |
 *      +-------good round---------+                   +--assessment fails--> held (nothing changed;
 *                                                        clears when the writer renews its lease)
 *   (failing-over, failed-over and held ignore rounds here: the controller handles a hold)
 *
 * A round fails only when at least `quorum` vantage points report failure, so one broken
 * network path cannot trigger a failover; a vantage point that could not look (an API error, a
 * silent observer) abstains and is never counted as a failure. One good round resets the count.
 * Where a writer lease is configured, the threshold decides only once the lease has lapsed:
 * until then the writer's database may take writes whatever the probes see. There is no
 * automatic failback: `failed-over` is terminal until an operator re-arms the controller.
 */

export const PHASES = ["healthy", "suspect", "failing-over", "failed-over", "held"] as const;
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
    /** Vantage points that saw the writer fail (one that could not look abstains, and is not counted). */
    readonly failures: number;
    /**
     * The writer lease (failover/core/writerLease.ts): true once its holder has not renewed it
     * for a whole lease and the taker's extra wait; false while it renews (or cannot be read).
     * Undefined where no writer lease is configured.
     */
    readonly leaseLapsed?: boolean;
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
    /**
     * The threshold is reached, but the writer still holds its lease: whatever the probes see,
     * its database may still take writes, so a promotion now could make two writers. Wait.
     */
    | { readonly kind: "lease-held"; readonly consecutiveFailedRounds: number }
    /** The decision is already made (or carried out); rounds no longer change anything. */
    | { readonly kind: "ignored"; readonly phase: "failing-over" | "failed-over" | "held" };

export function roundFailed(outcome: RoundOutcome, quorum: number): boolean {
    return outcome.failures >= quorum;
}

/** The next watch state and what the round decided. */
export function decide(watch: Watch, outcome: RoundOutcome, thresholds: Thresholds): { next: Watch; decision: Decision } {
    if (watch.phase === "failing-over" || watch.phase === "failed-over" || watch.phase === "held") {
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
    if (count >= thresholds.maxFail && outcome.leaseLapsed === false) {
        return {
            next: { phase: "suspect", consecutiveFailedRounds: count },
            decision: { kind: "lease-held", consecutiveFailedRounds: count },
        };
    }
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
