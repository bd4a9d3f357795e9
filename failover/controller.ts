/**
 * The controller: probes, the decision core and the failover's steps, wired to adapters.
 * Everything it decides comes from failover/core (pure); everything it touches goes through
 * failover/core/ports.ts. It reports each probe, round, decision and action as an event, and
 * persists its state after every change, under a lease.
 *
 * Timing: rounds start on a fixed schedule (`interval` apart, not `interval` after the last
 * round ended) and a round lasts at most one probe timeout, which may not exceed the
 * interval. So the decision comes at most `(maxFail - 1) x interval + timeout` after the
 * start of the first failed round: within `interval x maxFail` plus one probe timeout.
 */
import { setTimeout as sleepFor } from "timers/promises";
import pRetry, { AbortError } from "p-retry";
import { decide, Roles, roleProblem, Thresholds } from "./core/decision";
import * as settings from "./core/settings";
import type {
    ActionContext,
    ActionResult,
    Adapters,
    FailoverReport,
    Lease,
    ReadinessCheck,
    ReadinessSource,
    WriterLeaseStore,
} from "./core/ports";
import { LeaseChangedError } from "./core/ports";
import { type AcceptedLoss, isKnown, lossVerdict, lossWindow, type ReplicaEvidence } from "./core/lossWindow";
import {
    DEFAULT_LEASE_TIMING,
    DEFAULT_SWITCHOVER_WAIT_MS,
    isPublished,
    LapseWatch,
    LeaseTiming,
    type PublishedHandover,
    watchLease,
    WriterLeaseRecord,
} from "./core/writerLease";
import { Assessment, ControllerState, dataAtRisk, FailoverRecord, initialState, nextStep, StepName, Vote } from "./core/state";
import type { Probe, ProbeResult } from "./probes/http";

export interface Clock {
    now(): number;
    /** Monotonic milliseconds, for waits that must not follow a stepped wall clock. @default now */
    monotonic?(): number;
    sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
    now: () => Date.now(),
    monotonic: () => performance.now(),
    sleep: (ms, signal) => sleepFor(Math.max(0, ms), undefined, { signal }),
};

/** One line of the controller's report: `event` names it; the sink adds `ts`. */
export type Emit = (event: string, fields?: Record<string, unknown>) => void;

export interface ControllerOptions {
    readonly roles: Roles;
    readonly thresholds: Thresholds;
    readonly intervalMs: number;
    readonly timeoutMs: number;
    /** The RPO budget: the loss window (seconds, an upper bound) a failover may go on with; undefined turns the guard off. */
    readonly maxLagSeconds?: number;
    /** How long the assessment waits for the standby to apply what it received before it reads the heartbeat. */
    readonly lagWaitMs: number;
    /** Extra attempts of a failed step within one run. */
    readonly retries: number;
    readonly retryDelayMs: number;
    /** How long one run waits for a promotion to make the writer writable. */
    readonly promoteTimeoutMs: number;
    /** Decide and report; call no adapter that acts, write no state, take no lease. */
    readonly dryRun: boolean;
    /** The writer lease's timing (its L and d decide when it has lapsed). @default DEFAULT_LEASE_TIMING */
    readonly leaseTiming?: LeaseTiming;
    /** No automatic failover this long after the last one completed (a manual one may). @default settings.DEFAULT_RECOVERY_BLOCK_SECONDS */
    readonly recoveryBlockMs?: number;
    /** How long a switchover waits for the old writer's final beat and the replica to apply it. @default DEFAULT_SWITCHOVER_WAIT_MS */
    readonly switchoverWaitMs?: number;
}

export interface ControllerDeps {
    readonly adapters: Adapters;
    readonly probes: readonly Probe[];
    readonly emit: Emit;
    readonly clock?: Clock;
    /** Stops the run between (and inside) steps and rounds; the state stays resumable. */
    readonly signal?: AbortSignal;
}

/**
 * How a run ended.
 *   failed-over          this run completed the failover
 *   already-failed-over  the state had failed over before this run; nothing was done
 *   elapsed              the watch's time ran out without a failover
 *   held                 the assessment holds the failover with nothing changed (a loss window
 *                        over the budget, a precondition not met): it clears by itself when the
 *                        writer renews its lease, or an operator accepts the loss
 *   stood-down           (an operator's failover) the writer renewed its lease before it could be
 *                        taken: nothing was done; a watch that stands down watches on
 */
export type Outcome = "failed-over" | "already-failed-over" | "elapsed" | "held" | "stood-down";

/** A step that failed after its retries. The state keeps the step as current; the next run resumes it. */
type StepResult = ActionResult & { readonly lease?: FailoverRecord["lease"] };

/** The writer renewed its lease while a failover waited to take it: the writer is alive. */
export class LeaseRenewedError extends Error {}

/**
 * The preconditions of every adapter and the world's own (permissions, secrets), evaluated
 * without acting. `lease: false` leaves out the lease's (a deployed run checks readiness
 * while the previous invocation may still hold it).
 */
export async function adapterReadiness(adapters: Adapters, include: { lease: boolean; database?: boolean }): Promise<ReadinessCheck[]> {
    const { traffic, database, notifier, store, lock, writerLease, preconditions = [] } = adapters;
    const sources: ReadinessSource[] = [
        store,
        ...(include.lease ? [lock] : []),
        ...(writerLease ? [writerLease] : []),
        traffic,
        ...(include.database === false ? [] : [database]),
        notifier,
        ...preconditions,
    ];
    return (await Promise.all(sources.map((a) => a.readiness()))).flat();
}

/** How long an assessment reuses the steps' preconditions it read (all met) before reading them again. */
const READINESS_REUSE_MS = 60_000;

/** The standby replicates the writer it is expected to: the first precondition of a failover (and of re-arming). */
function replicaCheck(evidence: ReplicaEvidence): ReadinessCheck {
    return { name: "standby replicates the writer", ok: evidence.replicatesExpected, detail: evidence.replication };
}

/** How the old writer's fence is known, for the report. */
function fenceConfirmation(record: FailoverRecord): string {
    const window = record.assessment?.window;
    if (record.lease === undefined) {
        return "no writer lease: only the fence step (traffic, and the old writer where it answered) stopped it";
    }
    if (window !== undefined && isKnown(window) && window.fence === "published") {
        return "confirmed: the old writer sealed itself (no application session left) and published its final heartbeat, which the standby applied";
    }
    return `by the lease's timing: its database closed itself by its deadline + F${window !== undefined && isKnown(window) ? ` (${new Date(Math.round(window.to * 1000)).toISOString()} on its clock)` : ""}; unconfirmed by the old writer itself`;
}

export class StepFailedError extends Error {
    constructor(
        readonly step: StepName,
        readonly attempts: number,
        cause: unknown,
    ) {
        super(`step ${step} failed after ${attempts} attempt(s): ${(cause as Error).message ?? String(cause)}`, { cause });
    }
}

/** `rearm` on a state that has not failed over. */
export class NothingToRearmError extends Error {}

/** `rearm` while a precondition of the next failover is not met (the standby does not replicate the writer). */
export class RearmRefusedError extends Error {}

/** `abort` with nothing to abort, or past the promotion (no undo). */
export class AbortRefusedError extends Error {}

/** A switchover refused before anything was changed (a precondition, no writer lease, a failover under way). */
export class SwitchoverRefusedError extends Error {}

/**
 * A switchover called off after its request: the handover was withdrawn, the old writer keeps the
 * lease (at a new epoch) and reopens on its agent's next renewal; the standby was not touched.
 */
export class SwitchoverWithdrawnError extends Error {}

/** The promoted writer did not accept writes within this run's budget; the next run resumes. */
class PromotionIncompleteError extends Error {}

/** The state belongs to a controller with other roles than this run's. */
export class RoleMismatchError extends Error {}

export class Controller {
    private readonly clock: Clock;
    /** The caller's signal (SIGINT/SIGTERM). */
    private readonly signal: AbortSignal;
    /** The caller's signal, or the lease's loss: what stops this run. */
    private runSignal: AbortSignal;
    private lease: Lease | undefined;
    /** The taker's view of the writer lease: the version it watches and since when (monotonic). */
    private lapse: LapseWatch | undefined;
    /** The lease as last read once it had lapsed: what take-lease takes, at exactly this version. */
    private lapsedLease: WriterLeaseRecord | undefined;
    /** The lease as last read in a round (undefined: unreadable, or none yet). */
    private lastSeenLease: WriterLeaseRecord | undefined;
    /** The steps' preconditions as last read, and when (stepReadiness). */
    private readinessCache: { readonly at: number; readonly checks: ReadinessCheck[] } | undefined;

    constructor(
        private readonly deps: ControllerDeps,
        private readonly options: ControllerOptions,
    ) {
        const problem = roleProblem(options.roles);
        if (problem !== undefined) {
            throw new RoleMismatchError(problem);
        }
        this.clock = deps.clock ?? systemClock;
        this.signal = deps.signal ?? new AbortController().signal;
        this.runSignal = this.signal;
    }

    /**
     * Probe, decide, act, for `forMs` from the watch's start (after the lease and the state), or
     * until `untilMs` on the controller's clock, whichever comes first (or until a failover).
     */
    async watch(forMs?: number, untilMs?: number): Promise<Outcome> {
        return this.underLease(async () => {
            let state = await this.load();
            if (state.phase === "failed-over") {
                this.emit("decision", {
                    decision: "already-failed-over",
                    phase: state.phase,
                    failedOverAt: state.failover?.completedAt,
                    detail: `${this.deps.adapters.store.location} failed over before: this controller watches again only once an operator re-arms it (rearm, after the failback)`,
                });
                return "already-failed-over";
            }
            if (state.phase === "failing-over") {
                this.emit("decision", { decision: "resume-failover", phase: state.phase, next: nextStep(state.failover!) });
                return this.carryOut(state);
            }
            const { thresholds, intervalMs, timeoutMs } = this.options;
            state = await this.dropStaleCount(state);
            const start = this.clock.now();
            const deadline = Math.min(forMs === undefined ? Infinity : start + forMs, untilMs ?? Infinity);
            this.emit("watch", {
                probes: this.deps.probes.map((p) => ({ name: p.name, target: p.target })),
                ...thresholds,
                intervalMs,
                timeoutMs,
                decidesWithinMs: (thresholds.maxFail - 1) * intervalMs + timeoutMs,
                phase: state.phase,
                consecutiveFailedRounds: state.consecutiveFailedRounds,
                dryRun: this.options.dryRun,
            });
            let slot = 0;
            for (let round = 1; ; round++, slot++) {
                // Rounds keep to a fixed schedule. A slot more than half an interval late (the
                // process stalled) is skipped, never run back to back with the next: rounds
                // crammed together would count one short blip maxFail times.
                const late = Math.floor((this.clock.now() - (start + slot * intervalMs)) / intervalMs + 0.5);
                if (late > 0) {
                    this.emit("skipped", { rounds: late, reason: "the controller ran late (a stalled process or a slow round)" });
                    slot += late;
                }
                const at = start + slot * intervalMs;
                // No round whose probes could still be running at the deadline: a watch ends
                // having finished its last round, never cut off in it by whoever set the deadline
                // (the Lambda's budget, a drill's end).
                if (at + timeoutMs > deadline) {
                    return state.phase === "held" ? "held" : "elapsed";
                }
                await this.clock.sleep(at - this.clock.now(), this.runSignal);
                this.lease?.assertHeld();
                const roundStart = this.clock.now();
                const [results, lease] = await Promise.all([
                    Promise.all(this.deps.probes.map((p) => p.check(timeoutMs))),
                    this.observeLease(timeoutMs),
                ]);
                this.runSignal.throwIfAborted();
                results.forEach((r) => this.emit("probe", { round, ...r }));
                // A vantage point that could not look abstains: it is never counted as a failure.
                const failures = results.filter((r: ProbeResult) => !r.ok && r.abstained !== true).length;
                const abstentions = results.filter((r: ProbeResult) => r.abstained === true).length;
                if (state.phase === "held") {
                    this.emit("round", { round, startedAt: roundStart, probes: results.length, failures, abstentions, phase: state.phase });
                    const held = await this.whileHeld(state, failures >= thresholds.quorum);
                    if ("outcome" in held) {
                        return held.outcome;
                    }
                    state = held.state;
                    continue;
                }
                const { next, decision } = decide(state, { probes: results.length, failures, leaseLapsed: lease?.lapsed }, thresholds);
                this.emit("round", {
                    round,
                    startedAt: roundStart,
                    probes: results.length,
                    failures,
                    abstentions,
                    quorum: thresholds.quorum,
                    failed: failures >= thresholds.quorum,
                    ...(lease !== undefined ? { lease: lease.view } : {}),
                    consecutiveFailedRounds: next.consecutiveFailedRounds,
                    phase: next.phase,
                });
                if (decision.kind === "healthy") {
                    continue;
                }
                const suspectSince = next.consecutiveFailedRounds === 0 ? undefined : (state.suspectSince ?? roundStart);
                if (decision.kind === "fail-over") {
                    const blocked = this.recoveryBlock(state);
                    if (blocked !== undefined) {
                        state = { ...state, phase: "suspect", consecutiveFailedRounds: next.consecutiveFailedRounds, suspectSince };
                        this.emit("decision", { decision: "recovery-blocked", phase: "suspect", ...blocked });
                        await this.save(state);
                        continue;
                    }
                }
                state = { ...state, ...next, suspectSince, updatedAt: this.clock.now() };
                const { kind, ...details } = decision;
                this.emit("decision", { decision: kind, ...details, phase: next.phase });
                if (decision.kind === "fail-over") {
                    const votes: Vote[] = results.map((r) => ({
                        name: r.name,
                        vote: r.abstained === true ? "abstained" : r.ok ? "up" : "down",
                        ...(r.error !== undefined ? { detail: r.error } : {}),
                    }));
                    const outcome = await this.decideAfterAssessment({ ...state, failover: this.newFailover("automatic", votes) });
                    if (outcome.kind === "held") {
                        state = outcome.state;
                    } else if (outcome.outcome === "stood-down") {
                        // Nothing was done; the writer is alive: watch on from healthy.
                        state = await this.load();
                    } else {
                        return outcome.outcome;
                    }
                    continue;
                }
                await this.save(state);
            }
        });
    }

    /**
     * The assessment of a new (or held) failover, then: on with the failover (its outcome), or a
     * hold with nothing changed (the state to watch on with), or a stand-down (the writer renewed).
     * The watch's re-assessment of a held failover (`watching`) clears the hold instead: an
     * operator's failover of a held one stands down, as any failover of a live writer does.
     */
    private async decideAfterAssessment(
        initial: ControllerState,
        waitMs = this.options.lagWaitMs,
        watching = false,
    ): Promise<{ kind: "done"; outcome: Outcome } | { kind: "held"; state: ControllerState }> {
        let state = initial;
        let assessment: Assessment;
        try {
            assessment = await this.assess(state.failover!, waitMs);
        } catch (err) {
            if (err instanceof LeaseRenewedError) {
                if (watching && state.phase === "held") {
                    // A held failover whose writer renewed is a hold that clears, even when the
                    // renewal shows first to this assessment rather than to the round's own look.
                    return {
                        kind: "held",
                        state: await this.clearHold(state, `its writer renewed its lease (${err.message})`),
                    };
                }
                return { kind: "done", outcome: await this.standDown(state, err.message) };
            }
            throw err;
        }
        if (assessment.proceed) {
            state = {
                ...state,
                phase: "failing-over",
                failover: { ...state.failover!, assessment, heldSince: undefined, heldReason: undefined },
            };
            await this.save(state);
            return { kind: "done", outcome: await this.carryOut(state) };
        }
        state = this.held(state, assessment);
        await this.save(state);
        return { kind: "held", state };
    }

    /** The failover held with nothing changed: the state says why, and the event says what an operator may do. */
    private held(state: ControllerState, assessment: Assessment): ControllerState {
        const record = state.failover!;
        const first = record.heldSince === undefined;
        const next: ControllerState = {
            ...state,
            phase: "held",
            failover: { ...record, assessment, heldSince: record.heldSince ?? this.clock.now(), heldReason: assessment.reason },
            updatedAt: this.clock.now(),
        };
        if (first || record.heldReason !== assessment.reason) {
            const window = assessment.window;
            this.emit("hold", {
                reason: assessment.reason,
                window: isKnown(window) ? { from: window.from, to: window.to, seconds: window.seconds, detail: window.detail } : window,
                changed: "nothing: the lease is not taken, traffic and both databases are as they were",
                message:
                    `FAILOVER HELD, NOTHING CHANGED: ${assessment.reason}. ${record.from} keeps its lease and its traffic; ` +
                    `the hold clears by itself when ${record.from}'s writer renews its lease. ` +
                    (isKnown(window)
                        ? `To fail over accepting the loss of up to ${Math.ceil(window.seconds)} s of writes: failover --accept-loss ${Math.ceil(window.seconds)}`
                        : "The loss window is unknown: only failover --accept-loss any goes on (a break-glass)"),
            });
        }
        return next;
    }

    /**
     * One round of a hold: the writer renewed its lease (a version other than the one seen
     * lapsed): the hold clears, nothing was ever changed. Still lapsed: assess again (with no
     * wait), and go on if it passes now.
     */
    private async whileHeld(state: ControllerState, roundFailed: boolean): Promise<{ state: ControllerState } | { outcome: Outcome }> {
        const record = state.failover!;
        const heldVersion = record.assessment?.lease?.version;
        const seen = this.lastSeenLease;
        if (this.deps.adapters.writerLease === undefined && !roundFailed) {
            // No lease tells whether the writer lives: a round its probes pass does (the hold clears).
            return { state: await this.clearHold(state, "a round passed: the writer answers again") };
        }
        if (this.deps.adapters.writerLease !== undefined) {
            if (seen === undefined) {
                return { state }; // unreadable this round: nothing to tell
            }
            if (heldVersion !== undefined && seen.version !== heldVersion && seen.holder !== this.options.roles.region) {
                return {
                    state: await this.clearHold(state, `${seen.holder} renewed its lease (epoch ${seen.epoch}): its writer is alive`),
                };
            }
        }
        // No wait this time: a replica still applying shows a later beat next round.
        const again = await this.decideAfterAssessment(state, 0, true);
        if (again.kind === "held") {
            return { state: again.state };
        }
        // A renewal seen by the assessment itself stood it down: the writer is alive, watch on.
        return again.outcome === "stood-down" ? { state: await this.load() } : { outcome: again.outcome };
    }

    /** The hold clears with nothing changed: the failover goes to the history, the watch goes on from healthy. */
    private async clearHold(state: ControllerState, reason: string): Promise<ControllerState> {
        const { failover: held, suspectSince: _since, ...rest } = state;
        const cleared: ControllerState = {
            ...rest,
            phase: "healthy",
            consecutiveFailedRounds: 0,
            history: [...(state.history ?? []), { ...held!, clearedAt: this.clock.now() }],
            updatedAt: this.clock.now(),
        };
        this.lapse = undefined;
        this.lapsedLease = undefined;
        this.emit("decision", { decision: "hold-cleared", phase: "healthy", reason, changed: "nothing was changed by the held failover" });
        await this.save(cleared);
        return cleared;
    }

    /**
     * The recovery block: no automatic failover within `recoveryBlockMs` of the last one that
     * completed (flapping, or a second failure during the failback). A manual failover may.
     */
    private recoveryBlock(state: ControllerState): Record<string, unknown> | undefined {
        const blockMs = this.options.recoveryBlockMs ?? settings.DEFAULT_RECOVERY_BLOCK_SECONDS * 1000;
        const last = [...(state.history ?? [])].reverse().find((f) => f.completedAt !== undefined);
        // From the later of its completion and its re-arming: a quick failback must not open the door at once.
        const since = last?.completedAt === undefined ? undefined : Math.max(last.completedAt, last.rearmedAt ?? 0);
        if (since === undefined || this.clock.now() - since >= blockMs) {
            return undefined;
        }
        return {
            lastFailoverAt: last!.completedAt,
            blockedUntil: since + blockMs,
            detail: `the last failover completed (or was re-armed) ${Math.round((this.clock.now() - since) / 1000)} s ago; no automatic failover within ${blockMs / 1000} s of it (an operator's failover may)`,
        };
    }

    /**
     * One look at the writer lease, within the probes' timeout. Undefined where none is
     * configured. A lease that cannot be read, or that no writer holds yet, has not lapsed: the
     * controller cannot know the writer's database has closed.
     */
    private async observeLease(timeoutMs: number): Promise<{ lapsed: boolean; view: Record<string, unknown> } | undefined> {
        const store = this.deps.adapters.writerLease;
        if (store === undefined) {
            return undefined;
        }
        let record: WriterLeaseRecord | undefined;
        this.lastSeenLease = undefined;
        try {
            record = await store.read(AbortSignal.any([this.runSignal, AbortSignal.timeout(timeoutMs)]));
        } catch (err) {
            return { lapsed: false, view: { state: "unreadable", error: (err as Error).message } };
        }
        if (record === undefined) {
            return { lapsed: false, view: { state: "absent", detail: "no writer has established the lease" } };
        }
        this.lastSeenLease = record;
        if (record.holder === this.options.roles.region) {
            // This region holds it already (a takeover whose run ended before the state said so).
            this.lapsedLease = record;
            return { lapsed: true, view: { holder: record.holder, epoch: record.epoch, state: "ours" } };
        }
        const view = watchLease(this.lapse, record, this.monotonic(), this.leaseTiming);
        this.lapse = view.watch;
        this.lapsedLease = view.lapsed ? record : undefined;
        return {
            lapsed: view.lapsed,
            view: {
                holder: record.holder,
                epoch: record.epoch,
                state: view.lapsed ? "lapsed" : "held",
                lapsesInMs: Math.round(view.lapsesInMs),
            },
        };
    }

    private get leaseTiming(): LeaseTiming {
        return this.options.leaseTiming ?? DEFAULT_LEASE_TIMING;
    }

    private monotonic(): number {
        return this.clock.monotonic?.() ?? this.clock.now();
    }

    /**
     * Failed rounds are consecutive only if nothing came between them. A count older than one
     * whole detection window (`maxFail x interval`: say a watch that ended on --for, started
     * again days later) says nothing about now, and starts again from zero. A restart within
     * the window keeps it.
     */
    private async dropStaleCount(state: ControllerState): Promise<ControllerState> {
        const { thresholds, intervalMs } = this.options;
        const age = this.clock.now() - state.updatedAt;
        if (state.phase !== "suspect" || age <= thresholds.maxFail * intervalMs) {
            return state;
        }
        this.emit("decision", {
            decision: "stale-count-reset",
            consecutiveFailedRounds: state.consecutiveFailedRounds,
            ageMs: age,
            phase: "healthy",
        });
        const { suspectSince: _since, ...rest } = state;
        const fresh: ControllerState = { ...rest, phase: "healthy", consecutiveFailedRounds: 0, updatedAt: this.clock.now() };
        await this.save(fresh);
        return fresh;
    }

    /**
     * An operator's failover: no probes, the same assessment and steps. `accepted` lets a loss
     * window through up to that many seconds (or any, even unknown); without it the RPO budget
     * holds as for an automatic failover. A held failover is assessed again.
     */
    async failover(accepted?: AcceptedLoss): Promise<Outcome> {
        return this.underLease(async () => {
            let state = await this.load();
            if (state.phase === "failed-over") {
                this.emit("decision", { decision: "already-failed-over", phase: state.phase, failedOverAt: state.failover?.completedAt });
                return "already-failed-over";
            }
            if (state.phase === "failing-over") {
                this.emit("decision", { decision: "resume-failover", phase: state.phase, next: nextStep(state.failover!) });
                if (accepted !== undefined && state.failover!.accepted === undefined && state.failover!.assessment === undefined) {
                    // An earlier version's failover, without a loss window: resumed only accepting its loss.
                    state = { ...state, failover: { ...state.failover!, accepted: { loss: accepted, at: this.clock.now() } } };
                    await this.save(state);
                }
                return this.carryOut(state);
            }
            const previous = state.phase === "held" ? state.failover : undefined;
            const record = previous ?? this.newFailover("manual");
            state = {
                ...state,
                failover: accepted !== undefined ? { ...record, accepted: { loss: accepted, at: this.clock.now() } } : record,
                updatedAt: this.clock.now(),
            };
            this.emit("decision", {
                decision: previous !== undefined ? "resume-held-failover" : "manual-failover",
                accepted: accepted ?? null,
                phase: state.phase,
            });
            const outcome = await this.decideAfterAssessment(state);
            return outcome.kind === "done" ? outcome.outcome : "held";
        });
    }

    /**
     * Between the take of the lease and the promotion, an operator goes back: the lease is handed
     * back to the old writer (its agent reopens its database), its fence and traffic are undone,
     * and the failover goes to the history as aborted. From the promotion on there is no undo
     * (RDS cannot make a promoted instance a replica again): fail back with a planned switchover.
     */
    async abort(): Promise<void> {
        await this.underLease(async () => {
            const state = await this.load();
            const record = state.failover;
            const where = this.deps.adapters.store.location;
            const store = this.deps.adapters.writerLease;
            if ((state.phase === "healthy" || state.phase === "suspect") && store !== undefined && !this.options.dryRun) {
                // A switchover that stopped before its take (nothing in the state yet): the writer is
                // sealed for a handover to this region; withdrawn, it reopens.
                const current = await store.read(this.runSignal);
                if (current?.holder === this.options.roles.writerRegion && current.handover?.to === this.options.roles.region) {
                    const kept = await store.withdrawHandover(current.holder, current.epoch, this.runSignal);
                    this.emit("decision", {
                        decision: "aborted",
                        phase: state.phase,
                        undone: [`the handover withdrawn: ${kept.holder} keeps the lease at epoch ${kept.epoch} and reopens`],
                    });
                    return;
                }
            }
            if (state.phase === "held") {
                throw new AbortRefusedError(
                    `${where}: the failover is held and nothing was changed: there is nothing to undo (the hold clears by itself when the writer renews its lease)`,
                );
            }
            if (state.phase !== "failing-over" || record === undefined) {
                throw new AbortRefusedError(`${where}: phase ${state.phase}: no failover under way to abort`);
            }
            if (record.promotionRequestedAt !== undefined || record.completed.some((c) => c.step === "promote")) {
                throw new AbortRefusedError(
                    `${where}: the promotion of ${record.to} was requested at ${new Date(record.promotionRequestedAt ?? 0).toISOString()}: there is no undo after it. Let the failover complete (watch or failover resumes it), then fail back with a planned switchover`,
                );
            }
            const done = new Set(record.completed.map((c) => c.step));
            const context: ActionContext = { failover: record, attempt: 1, signal: this.runSignal };
            const undone: string[] = [];
            if (this.options.dryRun) {
                this.emit("decision", { decision: "abort", dryRun: true, wouldUndo: [...done] });
                return;
            }
            // Marked first: a run that resumes this failover refuses it from now on, and an abort
            // that fails half-way is finished by running it again (each undo is idempotent).
            let marked: ControllerState = { ...state, failover: { ...record, abortingAt: record.abortingAt ?? this.clock.now() } };
            await this.save(marked);
            // The lease first: the old writer's agent reopens its database once its region holds it
            // again. Whatever this region holds goes back, recorded or not (a take whose run
            // crashed before it saved the result).
            if (store !== undefined) {
                const current = await store.read(context.signal);
                if (current?.holder === this.options.roles.region) {
                    const back = await store.handBack(current.holder, current.epoch, record.from, this.leaseTiming.leaseMs, context.signal);
                    undone.push(`lease handed back to ${back.holder} at epoch ${back.epoch}`);
                } else if (current?.holder === record.from && current.handover?.to === this.options.roles.region) {
                    // A switchover that stopped before its take: the old writer is sealed; it reopens once withdrawn.
                    const kept = await store.withdrawHandover(current.holder, current.epoch, context.signal);
                    undone.push(`the handover withdrawn: ${kept.holder} keeps the lease at epoch ${kept.epoch} and reopens`);
                } else {
                    undone.push(
                        `the lease is ${current === undefined ? "absent" : `held by ${current.holder} (epoch ${current.epoch})`}: nothing to hand back`,
                    );
                }
            }
            if (done.has("fence") || record.current?.step === "fence") {
                undone.push((await this.deps.adapters.database.unfenceOldWriter(record.from, context)).detail ?? "old writer unfenced");
                undone.push(
                    (await this.deps.adapters.traffic.moveTo(record.from, record.to, context)).detail ?? `traffic back to ${record.from}`,
                );
            }
            marked = await this.load();
            const { failover: aborted, suspectSince: _since, ...rest } = marked;
            await this.save({
                ...rest,
                phase: "healthy",
                consecutiveFailedRounds: 0,
                history: [...(marked.history ?? []), { ...aborted!, current: undefined, abortedAt: this.clock.now() }],
            });
            this.lapse = undefined;
            this.lapsedLease = undefined;
            this.emit("decision", { decision: "aborted", phase: "healthy", undone });
        });
    }

    /**
     * A planned switchover with RPO exactly 0 (failover/core/writerLease.ts Handover): read-only
     * checks first (this region's standby replicates the writer, which holds the lease; every
     * step's preconditions); then the handover is requested, the old writer's agent seals its
     * database and publishes its final heartbeat, and once the standby's replica has applied that
     * beat the lease is taken at exactly the published version and the usual steps follow. The
     * window is then exactly none. Whatever fails before the take withdraws the handover (the
     * old writer reopens): SwitchoverWithdrawnError. A switchover under way (a run that stopped
     * after the take) is resumed.
     */
    async switchover(): Promise<Outcome> {
        return this.underLease(async () => {
            let state = await this.load();
            const where = this.deps.adapters.store.location;
            const { region, writerRegion } = this.options.roles;
            if (state.phase === "failing-over" && state.failover?.trigger === "switchover") {
                this.emit("decision", { decision: "resume-switchover", phase: state.phase, next: nextStep(state.failover) });
                return this.carryOut(state);
            }
            if (state.phase !== "healthy" && state.phase !== "suspect") {
                throw new SwitchoverRefusedError(
                    `${where}: phase ${state.phase}: a switchover starts only from healthy${state.phase === "failed-over" ? " (this controller failed over already: re-arm it after the failback first)" : state.phase === "held" ? " (a failover is held: it clears by itself, or fail over with --accept-loss)" : " (a failover is under way: watch or failover completes it, or abort)"}`,
                );
            }
            const store = this.deps.adapters.writerLease;
            if (store === undefined) {
                throw new SwitchoverRefusedError(
                    "no writer lease configured: nothing can prove the old writer stopped and published all it committed, so no switchover can promise RPO 0 (failover --accept-loss is the way without one)",
                );
            }
            const current = await store.read(this.runSignal);
            if (current?.holder !== writerRegion) {
                throw new SwitchoverRefusedError(
                    `${store.location}: the lease is ${current === undefined ? "absent" : `held by ${current.holder} (epoch ${current.epoch})`}; a switchover moves it from ${writerRegion}, its holder`,
                );
            }
            if (current.handover !== undefined && current.handover.to !== region) {
                throw new SwitchoverRefusedError(
                    `${store.location}: ${writerRegion} is handing the lease over to ${current.handover.to} already`,
                );
            }
            const checks = await this.preconditions(0);
            this.emit("check", { checks });
            const failing = checks.filter((c) => !c.ok);
            if (failing.length > 0) {
                throw new SwitchoverRefusedError(
                    `not switched over, nothing changed: ${failing.map((c) => `${c.name}: ${c.detail}`).join("; ")}`,
                );
            }
            if (this.options.dryRun) {
                this.emit("decision", {
                    decision: "switchover",
                    dryRun: true,
                    from: writerRegion,
                    to: region,
                    detail: "every precondition met; nothing requested",
                });
                return "stood-down";
            }
            this.emit("decision", { decision: "switchover", from: writerRegion, to: region, epoch: current.epoch });
            const requested =
                current.handover !== undefined ? current : await store.requestHandover(writerRegion, current.epoch, region, this.runSignal);
            this.emit("action", {
                action: "request-handover",
                status: "succeeded",
                detail: `${writerRegion}'s agent closes its database, ends its application sessions and publishes its final heartbeat`,
            });
            const until = this.clock.now() + (this.options.switchoverWaitMs ?? DEFAULT_SWITCHOVER_WAIT_MS);
            let assessment: Assessment;
            try {
                const published = await this.awaitPublication(store, requested, until);
                const handover = published.handover as PublishedHandover;
                const evidence = await this.awaitFinalBeat(handover, until);
                const window = lossWindow(evidence, published, this.leaseTiming.fenceMs, handover);
                const stepChecks = [replicaCheck(evidence), ...(await this.stepReadiness())];
                const notMet = stepChecks.filter((c) => !c.ok);
                if (!isKnown(window) || window.seconds !== 0 || notMet.length > 0 || this.clock.now() > until) {
                    throw new SwitchoverWithdrawnError(
                        this.clock.now() > until
                            ? "its time ran out before the take (the old writer's agent withdraws a handover it has held too long)"
                            : notMet.length > 0
                              ? `precondition(s) not met: ${notMet.map((c) => `${c.name}: ${c.detail}`).join("; ")}`
                              : isKnown(window)
                                ? `the standby did not apply the old writer's final heartbeat in time (${window.detail})`
                                : `the loss window is unknown: ${window.unknown}`,
                    );
                }
                assessment = {
                    at: this.clock.now(),
                    lease: published,
                    evidence,
                    window,
                    checks: stepChecks,
                    proceed: true,
                    reason: `RPO 0: ${window.detail}`,
                };
                this.emit("assessment", {
                    proceed: true,
                    reason: assessment.reason,
                    window: { from: window.from, to: window.to, seconds: window.seconds, fence: window.fence },
                    lastBeatAt: evidence.lastBeatAt ?? null,
                    appliedAll: evidence.appliedAll,
                    failing: [],
                });
            } catch (err) {
                const reason = err instanceof Error ? err.message : String(err);
                const undone = await this.withdraw(store, requested);
                this.emit("decision", { decision: "switchover-withdrawn", phase: state.phase, reason, undone });
                throw new SwitchoverWithdrawnError(`switchover withdrawn: ${reason}; ${undone}`, { cause: err });
            }
            state = {
                ...state,
                phase: "failing-over",
                failover: { ...this.newFailover("switchover"), assessment },
                updatedAt: this.clock.now(),
            };
            await this.save(state);
            return this.carryOut(state);
        });
    }

    /** Until the old writer's agent published its final beat for this handover (or it was withdrawn, or time ran out). */
    private async awaitPublication(store: WriterLeaseStore, requested: WriterLeaseRecord, until: number): Promise<WriterLeaseRecord> {
        const pollMs = Math.min(this.options.intervalMs, 1000);
        for (;;) {
            const now = await store.read(this.runSignal).catch(() => undefined);
            if (now !== undefined && (now.holder !== requested.holder || now.epoch !== requested.epoch || now.handover === undefined)) {
                throw new SwitchoverWithdrawnError(
                    `the lease changed while the old writer was asked to hand it over (now ${now.holder}, epoch ${now.epoch}${now.handover === undefined ? ", no handover" : ""})`,
                );
            }
            if (now !== undefined && isPublished(now.handover)) {
                this.emit("action", {
                    action: "await-final-beat",
                    status: "succeeded",
                    finalBeatAt: now.handover.finalBeatAt,
                    fencedAt: now.handover.fencedAt,
                    gtid: now.handover.gtid ?? null,
                });
                return now;
            }
            if (this.clock.now() + pollMs > until) {
                throw new SwitchoverWithdrawnError(
                    `${requested.holder}'s agent did not publish its final heartbeat in time (is it running? its log says why)`,
                );
            }
            await this.clock.sleep(pollMs, this.runSignal);
        }
    }

    /** Until the standby's replica applied the final beat (or time ran out): its last evidence. */
    private async awaitFinalBeat(handover: PublishedHandover, until: number): Promise<ReplicaEvidence> {
        const pollMs = Math.min(this.options.intervalMs, 1000);
        for (;;) {
            const waitMs = Math.max(0, Math.min(this.options.lagWaitMs, until - this.clock.now()));
            const evidence = await this.readReplica(waitMs);
            if (!evidence.replicatesExpected || evidence.appliesInOrder === false) {
                return evidence; // the assessment says why it cannot go on
            }
            if (evidence.lastBeatAt !== undefined && evidence.lastBeatAt >= handover.finalBeatAt) {
                return evidence;
            }
            if (this.clock.now() + pollMs > until) {
                return evidence;
            }
            await this.clock.sleep(pollMs, this.runSignal);
        }
    }

    /** Calls a handover off (best effort: the old writer's agent withdraws one that times out too). */
    private async withdraw(store: WriterLeaseStore, requested: WriterLeaseRecord): Promise<string> {
        try {
            const kept = await store.withdrawHandover(requested.holder, requested.epoch, AbortSignal.timeout(5000));
            return `the handover is withdrawn: ${kept.holder} keeps the lease at epoch ${kept.epoch} and reopens on its agent's next renewal`;
        } catch (err) {
            if (err instanceof LeaseChangedError && err.found?.holder === requested.holder && err.found.handover === undefined) {
                return `the handover was withdrawn already: ${err.found.holder} keeps the lease at epoch ${err.found.epoch}`;
            }
            return `the handover could not be withdrawn (${(err as Error).message}): ${requested.holder}'s agent withdraws it itself once it is older than its handover timeout`;
        }
    }

    /**
     * After a failback (this region is the standby again, its writer rebuilt from the other
     * region), an operator re-arms the controller: the failover moves to the state's history
     * and the controller watches again from healthy. Refused unless the state has failed over,
     * and while the standby does not replicate the writer or another precondition of the next
     * failover is not met: re-armed too early, the next failover would promote a database days old.
     */
    async rearm(): Promise<void> {
        await this.underLease(async () => {
            const state = await this.load();
            if (state.phase !== "failed-over") {
                throw new NothingToRearmError(
                    `${this.deps.adapters.store.location}: phase ${state.phase}; only a controller that has failed over is re-armed` +
                        (state.phase === "failing-over"
                            ? " (a failover is under way: a watch or failover with this state completes it)"
                            : ""),
                );
            }
            const checks = await this.preconditions(0);
            const failing = checks.filter((c) => !c.ok);
            this.emit("check", { checks });
            if (failing.length > 0) {
                throw new RearmRefusedError(
                    `not re-armed: ${failing.map((c) => `${c.name}: ${c.detail}`).join("; ")}. Rebuild ${this.options.roles.region}'s standby as a replica of the writer first (the failback runbook)`,
                );
            }
            const { failover: done, suspectSince: _suspectSince, ...rest } = state;
            await this.save({
                ...rest,
                phase: "healthy",
                consecutiveFailedRounds: 0,
                history: [...(state.history ?? []), { ...done!, rearmedAt: this.clock.now() }],
            });
            this.emit("decision", {
                decision: "rearmed",
                phase: "healthy",
                previousFailoverAt: done!.completedAt,
                dryRun: this.options.dryRun,
            });
        });
    }

    /**
     * Readiness: every precondition of every step, evaluated without acting. The state must be
     * readable and not failed over, the lease free, and each adapter's own preconditions met.
     */
    async check(): Promise<{ ready: boolean; checks: ReadinessCheck[] }> {
        const { store } = this.deps.adapters;
        const checks: ReadinessCheck[] = [];
        try {
            const state = await this.load();
            checks.push({
                name: "state",
                ok: state.phase === "healthy" || state.phase === "suspect",
                detail:
                    state.phase === "failed-over"
                        ? `${store.location}: already failed over; nothing to fail over until an operator re-arms the controller`
                        : state.phase === "failing-over"
                          ? `${store.location}: a failover is under way (next step ${nextStep(state.failover!)}); a watch resumes it`
                          : state.phase === "held"
                            ? `${store.location}: a failover is held, nothing changed: ${state.failover?.heldReason ?? "?"}`
                            : `${store.location}: phase ${state.phase}, ${state.consecutiveFailedRounds} failed round(s)`,
            });
        } catch (err) {
            checks.push({ name: "state", ok: false, detail: (err as Error).message });
        }
        checks.push(...(await this.preconditions(0, true)));
        return { ready: checks.every((c) => c.ok), checks };
    }

    /** The standby replicates the writer, and every adapter's own preconditions (the lease's lock too, for `check`). */
    private async preconditions(waitMs: number, lock = false): Promise<ReadinessCheck[]> {
        const evidence = await this.readReplica(waitMs);
        return [replicaCheck(evidence), ...(await adapterReadiness(this.deps.adapters, { lease: lock }))];
    }

    private async readReplica(waitMs: number): Promise<ReplicaEvidence> {
        try {
            return await this.deps.adapters.database.readReplica({ signal: this.runSignal }, waitMs);
        } catch (err) {
            const error = (err as Error).message;
            return {
                readAt: this.clock.now(),
                source: "the standby",
                replicatesExpected: false,
                replication: `unreadable: ${error}`,
                appliedAll: false,
                error,
            };
        }
    }

    // --- steps ------------------------------------------------------------------------------

    private newFailover(trigger: FailoverRecord["trigger"], votes?: readonly Vote[]): FailoverRecord {
        const { region, writerRegion } = this.options.roles;
        return {
            trigger,
            decidedAt: this.clock.now(),
            from: writerRegion,
            to: region,
            completed: [],
            ...(votes !== undefined ? { votes } : {}),
        };
    }

    /**
     * Before any side effect: the lease seen lapsed (watched for L + d where this run has not
     * seen it lapse; LeaseRenewedError when it is renewed meanwhile), the standby's replica read
     * after it applied what it received (up to `waitMs`), every precondition, and the loss window
     * against the budget and what an operator accepted. Reads only.
     */
    private async assess(record: FailoverRecord, waitMs: number): Promise<Assessment> {
        const lease = await this.lapsedLeaseFor(record);
        const evidence = await this.readReplica(waitMs);
        // A switchover that stopped after the writer sealed itself: its final beat is the fence end (exact).
        const window = lossWindow(evidence, lease, this.leaseTiming.fenceMs, isPublished(lease?.handover) ? lease.handover : undefined);
        // The database's own readiness is the replica just read (read again, it would double the
        // assessment's cost: in AWS, a second invocation of the replica reader).
        const checks = [replicaCheck(evidence), ...(await this.stepReadiness())];
        const failing = checks.filter((c) => !c.ok);
        const verdict = lossVerdict(window, this.options.maxLagSeconds, record.accepted?.loss);
        const proceed = failing.length === 0 && verdict.proceed;
        const reason =
            failing.length === 0
                ? verdict.reason
                : `precondition(s) not met: ${failing.map((c) => `${c.name}: ${c.detail}`).join("; ")}${verdict.proceed ? "" : `; ${verdict.reason}`}`;
        const assessment: Assessment = {
            at: this.clock.now(),
            ...(lease !== undefined ? { lease } : {}),
            evidence,
            window,
            checks,
            proceed,
            reason,
        };
        this.emit("assessment", {
            proceed,
            reason,
            window: isKnown(window) ? { from: window.from, to: window.to, seconds: window.seconds, fence: window.fence } : window,
            lastBeatAt: evidence.lastBeatAt ?? null,
            appliedAll: evidence.appliedAll,
            failing: failing.map((c) => c.name),
        });
        return assessment;
    }

    /**
     * Every step's preconditions but the database's (the replica, read by the assessment itself),
     * read at most once a minute: a held failover is assessed again every round, and in AWS each
     * reading simulates the role's policies for every call (failover/adapters/aws/preconditions.ts).
     * A failed check is read again at once.
     */
    private async stepReadiness(): Promise<ReadinessCheck[]> {
        const cached = this.readinessCache;
        if (cached !== undefined && this.clock.now() - cached.at < READINESS_REUSE_MS && cached.checks.every((c) => c.ok)) {
            return cached.checks;
        }
        const checks = await adapterReadiness(this.deps.adapters, { lease: false, database: false });
        this.readinessCache = { at: this.clock.now(), checks };
        return checks;
    }

    /**
     * The lease at the version seen lapsed: by this run's watch, by an earlier assessment of this
     * failover (the same version since: nothing renewed it), or watched now for at most L + d
     * and a poll (an operator's failover). Undefined without a writer lease.
     */
    private async lapsedLeaseFor(record: FailoverRecord): Promise<WriterLeaseRecord | undefined> {
        const store = this.deps.adapters.writerLease;
        if (store === undefined) {
            return undefined;
        }
        const { region } = this.options.roles;
        const current = await store.read(this.runSignal);
        if (current === undefined) {
            throw new LeaseRenewedError(`${store.location}: no writer has established the lease; nothing proves the old writer closed`);
        }
        if (
            current.holder === region ||
            this.lapsedLease?.version === current.version ||
            record.assessment?.lease?.version === current.version
        ) {
            return current;
        }
        const pollMs = Math.min(this.options.intervalMs, 1000);
        let view = watchLease(undefined, current, this.monotonic(), this.leaseTiming);
        this.emit("lease", { holder: current.holder, epoch: current.epoch, state: "watching", lapsesInMs: Math.round(view.lapsesInMs) });
        while (!view.lapsed) {
            await this.clock.sleep(Math.min(pollMs, view.lapsesInMs), this.runSignal);
            const again = await store.read(this.runSignal);
            if (again === undefined || again.version !== current.version) {
                throw new LeaseRenewedError(
                    `${store.location}: ${current.holder} renewed its lease (epoch ${again?.epoch ?? "none"}) while this failover waited for it to lapse: its database may still take writes`,
                );
            }
            view = watchLease(view.watch, again, this.monotonic(), this.leaseTiming);
        }
        this.lapsedLease = current;
        return current;
    }

    /** Runs the steps not completed yet, in order, persisting before and after each. */
    private async carryOut(initial: ControllerState): Promise<Outcome> {
        let state = initial;
        const record = () => state.failover!;
        if (record().abortingAt !== undefined) {
            throw new AbortRefusedError(
                `${this.deps.adapters.store.location}: an abort of this failover began at ${new Date(record().abortingAt!).toISOString()} and did not finish: run abort again to finish it; nothing is resumed`,
            );
        }
        if (record().assessment === undefined && record().accepted === undefined && !this.options.dryRun) {
            // A failover an earlier version began, before the assessment existed: its loss was never bounded.
            throw new AbortRefusedError(
                `${this.deps.adapters.store.location}: this failover was begun by an earlier version, without a loss window: resume it only accepting the loss (failover --accept-loss any), or abort it`,
            );
        }
        for (let step = nextStep(record()); step !== undefined; step = nextStep(record())) {
            if (this.options.dryRun) {
                this.emit("action", { action: step, status: "dry-run", inputs: this.inputsOf(step, record()) });
                state = { ...state, failover: { ...record(), completed: [...record().completed, this.completed(step, 0)] } };
                continue;
            }
            if (step === "promote" && record().promotionRequestedAt === undefined) {
                // Recorded before the request is made: a standby found standalone later counts
                // as promoted only with this record (never one promoted by someone else).
                state = this.withRecord(state, { promotionRequestedAt: this.clock.now() });
                await this.save(state);
            }
            const previous = record().current?.step === step ? record().current : undefined;
            const startedAt = previous?.startedAt ?? this.clock.now();
            // `attempts` counts across runs and is saved before each call, so a crash in the
            // middle of one still counts it; the adapters see this run's attempt number.
            let attempts = previous?.attempts ?? 0;
            let attemptInRun = 0;
            this.emit("action", {
                action: step,
                status: "started",
                inputs: this.inputsOf(step, record()),
                resumed: previous !== undefined,
            });
            let result: StepResult;
            try {
                result = await pRetry(
                    async () => {
                        this.lease?.assertHeld();
                        attempts += 1;
                        attemptInRun += 1;
                        state = this.withRecord(state, { current: { step, startedAt, attempts, lastError: record().current?.lastError } });
                        await this.save(state);
                        try {
                            return await this.runStep(step, state, attemptInRun);
                        } catch (err) {
                            if (err instanceof PromotionIncompleteError || err instanceof LeaseRenewedError) {
                                // waited its budget already (the next run resumes), or the writer is alive
                                throw new AbortError(err);
                            }
                            // p-retry does not retry most TypeErrors, and fetch reports network failures as one.
                            throw err instanceof TypeError ? new Error(err.message, { cause: err }) : err;
                        }
                    },
                    {
                        retries: this.options.retries,
                        minTimeout: this.options.retryDelayMs,
                        maxTimeout: Math.max(this.options.retryDelayMs, 60_000),
                        factor: 2,
                        randomize: true,
                        signal: this.runSignal,
                        onFailedAttempt: async (err) => {
                            state = this.withRecord(state, { current: { step, startedAt, attempts, lastError: err.message } });
                            await this.save(state);
                            this.emit("action", {
                                action: step,
                                status: err.retriesLeft > 0 ? "retrying" : "failed",
                                attempt: attemptInRun,
                                attempts,
                                error: err.message,
                            });
                        },
                    },
                );
            } catch (err) {
                if (this.runSignal.aborted) {
                    throw err;
                }
                if (err instanceof LeaseRenewedError) {
                    return this.standDown(state, err.message);
                }
                throw new StepFailedError(step, attemptInRun, err);
            }
            const done = this.completed(step, attempts, startedAt, result.detail);
            state = this.withRecord(state, {
                completed: [...record().completed, done],
                current: undefined,
                ...(result.lease !== undefined ? { lease: result.lease } : {}),
            });
            await this.save(state);
            this.emit("action", { action: step, status: "succeeded", attempt: attemptInRun, attempts, detail: result.detail });
        }
        if (!this.options.dryRun) {
            state = {
                ...state,
                phase: "failed-over",
                failover: { ...record(), completedAt: this.clock.now() },
                updatedAt: this.clock.now(),
            };
            await this.save(state);
        }
        this.emit("report", { ...this.report(state), dryRun: this.options.dryRun });
        return "failed-over";
    }

    /**
     * Nothing was done (the lease is taken first): the failover goes to the state's history as
     * stood down, and the controller watches again from healthy.
     */
    private async standDown(state: ControllerState, reason: string): Promise<Outcome> {
        const { failover, suspectSince: _since, ...rest } = state;
        const record = { ...failover!, current: undefined, stoodDown: { at: this.clock.now(), reason } };
        this.lapse = undefined;
        this.lapsedLease = undefined;
        await this.save({ ...rest, phase: "healthy", consecutiveFailedRounds: 0, history: [...(state.history ?? []), record] });
        this.emit("decision", {
            decision: "stood-down",
            phase: "healthy",
            reason,
            changed: "nothing: the lease is taken before any other step",
        });
        return "stood-down";
    }

    private async runStep(step: StepName, state: ControllerState, attempt: number): Promise<StepResult> {
        const { traffic, database, notifier } = this.deps.adapters;
        const record = state.failover!;
        const context: ActionContext = { failover: record, attempt, signal: this.runSignal };
        switch (step) {
            case "take-lease":
                return this.takeLease(record, context);
            case "fence": {
                const site = await traffic.fence(record.from, context);
                const writer = await database.fenceOldWriter(record.from, context);
                return { detail: [site.detail, writer.detail].filter((d) => d !== undefined).join("; ") || undefined };
            }
            case "promote":
                return this.promote(context);
            case "move-traffic":
                return traffic.moveTo(record.to, record.from, context);
            case "notify":
                return notifier.notify(this.report(state), context);
        }
    }

    /**
     * The commit point: the writer lease, taken at exactly the version the assessment saw lapse,
     * with a write conditional on that version that bumps the epoch. A lease renewed since (a
     * new version) means the writer is alive: the failover stands down (LeaseRenewedError)
     * before anything was done.
     */
    private async takeLease(record: FailoverRecord, context: ActionContext): Promise<StepResult> {
        const store = this.deps.adapters.writerLease;
        if (store === undefined) {
            return { detail: "no writer lease configured: nothing but the fence step keeps the old writer from taking writes" };
        }
        const { region } = this.options.roles;
        const timing = this.leaseTiming;
        const current = await store.read(context.signal);
        if (current === undefined) {
            throw new LeaseRenewedError(`${store.location}: no writer has established the lease; nothing proves the old writer closed`);
        }
        if (current.holder === region) {
            return {
                detail: `${store.location}: held by ${region} already, epoch ${current.epoch}`,
                lease: { epoch: current.epoch, takenAt: this.clock.now(), previousHolder: current.holder, previousEpoch: current.epoch },
            };
        }
        const seen = record.assessment?.lease;
        if (seen === undefined || seen.version !== current.version) {
            throw new LeaseRenewedError(
                `${store.location}: ${current.holder} renewed its lease (epoch ${current.epoch}) since the assessment saw it lapse: its database may still take writes`,
            );
        }
        try {
            const taken = await store.take(region, current, timing.leaseMs, context.signal);
            const closed = isPublished(current.handover)
                ? `its database sealed itself for this switchover (final heartbeat at ${new Date(Math.round(current.handover.finalBeatAt * 1000)).toISOString()} on its clock)`
                : "its database closed by the lease's timing (fence unconfirmed: the old writer's database was not asked)";
            return {
                detail: `${store.location}: taken from ${current.holder} (epoch ${current.epoch}) at epoch ${taken.epoch}; ${closed}`,
                lease: { epoch: taken.epoch, takenAt: this.clock.now(), previousHolder: current.holder, previousEpoch: current.epoch },
            };
        } catch (err) {
            if (err instanceof LeaseChangedError) {
                throw new LeaseRenewedError(`${err.message}: ${current.holder} renewed it just now`, { cause: err });
            }
            throw err;
        }
    }

    /** Promotion takes minutes on RDS: poll until writable, within this run's budget. */
    private async promote(context: ActionContext): Promise<ActionResult> {
        const deadline = this.clock.now() + this.options.promoteTimeoutMs;
        const pollMs = Math.min(this.options.intervalMs, 5_000);
        for (;;) {
            const progress = await this.deps.adapters.database.promote(context);
            if (progress.writable) {
                return { detail: progress.detail };
            }
            this.emit("action", { action: "promote", status: "in-progress", detail: progress.detail });
            if (this.clock.now() + pollMs > deadline) {
                throw new PromotionIncompleteError(
                    `the promoted writer did not accept writes within ${this.options.promoteTimeoutMs / 1000} s (${progress.detail ?? "no detail"}); the next run resumes the promotion`,
                );
            }
            await this.clock.sleep(pollMs, this.runSignal);
        }
    }

    // --- state ------------------------------------------------------------------------------

    private async underLease<T>(run: () => Promise<T>): Promise<T> {
        if (this.options.dryRun) {
            return run();
        }
        const lease = await this.deps.adapters.lock.acquire();
        this.lease = lease;
        // A lost lease stops the run like a signal does: no step may act without it.
        this.runSignal = AbortSignal.any([this.signal, lease.lost]);
        try {
            return await run();
        } catch (err) {
            // Sleeps and fetches reject with an AbortError; what stopped the run is the reason.
            throw this.runSignal.aborted && this.runSignal.reason instanceof Error ? this.runSignal.reason : err;
        } finally {
            this.lease = undefined;
            this.runSignal = this.signal;
            await lease.release();
        }
    }

    private async load(): Promise<ControllerState> {
        const { store } = this.deps.adapters;
        const loaded = await store.load();
        const { region, writerRegion } = this.options.roles;
        if (loaded === undefined) {
            return initialState(this.options.roles, this.clock.now());
        }
        if (loaded.region !== region || loaded.writerRegion !== writerRegion) {
            throw new RoleMismatchError(
                `${store.location} belongs to the controller of ${loaded.region} watching writer ${loaded.writerRegion}; ` +
                    `this run is for ${region} watching ${writerRegion}. Use that controller's state, or another state location.`,
            );
        }
        return loaded;
    }

    private async save(state: ControllerState): Promise<void> {
        if (this.options.dryRun) {
            return;
        }
        this.lease?.assertHeld();
        await this.deps.adapters.store.save({ ...state, updatedAt: this.clock.now() });
    }

    private withRecord(state: ControllerState, change: Partial<FailoverRecord>): ControllerState {
        return { ...state, failover: { ...state.failover!, ...change }, updatedAt: this.clock.now() };
    }

    private completed(step: StepName, attempts: number, startedAt = this.clock.now(), detail?: string) {
        return { step, startedAt, completedAt: this.clock.now(), attempts, ...(detail !== undefined ? { detail } : {}) };
    }

    /** The inputs each action acts on, for the event stream. */
    private inputsOf(step: StepName, record: FailoverRecord): Record<string, unknown> {
        switch (step) {
            case "take-lease":
                return { from: record.from, to: record.to };
            case "fence":
                return { region: record.from };
            case "promote":
                return { region: record.to };
            case "move-traffic":
                return { to: record.to, from: record.from };
            case "notify":
                return { from: record.from, to: record.to };
        }
    }

    private report(state: ControllerState): FailoverReport {
        const record = state.failover!;
        return {
            from: record.from,
            to: record.to,
            lease:
                record.lease === undefined
                    ? "none: no writer lease configured, so nothing but the fence step kept the old writer from taking writes"
                    : `epoch ${record.lease.epoch}, taken from ${record.lease.previousHolder} (epoch ${record.lease.previousEpoch}) ${record.trigger === "switchover" ? "once it handed it over (a planned switchover)" : "after it lapsed"}`,
            trigger: record.trigger,
            decidedAt: record.decidedAt,
            suspectSince: state.suspectSince,
            ...(record.votes !== undefined ? { votes: record.votes } : {}),
            steps: record.completed.map((c) => ({ step: c.step, completedAt: c.completedAt, detail: c.detail })),
            fence: fenceConfirmation(record),
            ...(record.assessment !== undefined ? { lossWindow: record.assessment.window } : {}),
            dataAtRisk: dataAtRisk(record),
            ...(record.accepted !== undefined
                ? {
                      accepted: `${record.accepted.loss === "any" ? "any loss" : `a loss of up to ${record.accepted.loss.seconds} s`}, at ${new Date(record.accepted.at).toISOString()}`,
                  }
                : {}),
        };
    }

    private emit(event: string, fields?: Record<string, unknown>): void {
        this.deps.emit(event, fields);
    }
}
