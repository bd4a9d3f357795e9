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
import type { ActionContext, ActionResult, Adapters, FailoverReport, Lease, ReadinessCheck, ReadinessSource } from "./core/ports";
import { LeaseChangedError } from "./core/ports";
import { DEFAULT_LEASE_TIMING, LapseWatch, LeaseTiming, watchLease, WriterLeaseRecord } from "./core/writerLease";
import { ControllerState, dataAtRisk, FailoverRecord, initialState, LagReading, nextStep, rpoVerdict, StepName } from "./core/state";
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
    /** The RPO guard's budget; undefined turns the guard off. */
    readonly maxLagSeconds?: number;
    /** How long the guard re-reads the lag before it holds the promotion. */
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
 *   held                 the RPO guard holds the promotion: an operator must decide
 *   stood-down           the writer renewed its lease before it could be taken: nothing was
 *                        done, and the controller watches again from healthy
 */
export type Outcome = "failed-over" | "already-failed-over" | "elapsed" | "held" | "stood-down";

/** A step that failed after its retries. The state keeps the step as current; the next run resumes it. */
type StepResult = ActionResult & { readonly lag?: LagReading; readonly lease?: FailoverRecord["lease"] };

/** The writer renewed its lease while a failover waited to take it: the writer is alive. */
export class LeaseRenewedError extends Error {}

/**
 * The preconditions of every adapter and the world's own (permissions, secrets), evaluated
 * without acting. `lease: false` leaves out the lease's (a deployed run checks readiness
 * while the previous invocation may still hold it).
 */
export async function adapterReadiness(adapters: Adapters, include: { lease: boolean }): Promise<ReadinessCheck[]> {
    const { traffic, database, notifier, store, lock, writerLease, preconditions = [] } = adapters;
    const sources: ReadinessSource[] = [
        store,
        ...(include.lease ? [lock] : []),
        ...(writerLease ? [writerLease] : []),
        traffic,
        database,
        notifier,
        ...preconditions,
    ];
    return (await Promise.all(sources.map((a) => a.readiness()))).flat();
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
                this.emit("decision", { decision: "already-failed-over", phase: state.phase, failedOverAt: state.failover?.completedAt });
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
                    return "elapsed";
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
                state = { ...state, ...next, suspectSince, updatedAt: this.clock.now() };
                const { kind, ...details } = decision;
                this.emit("decision", { decision: kind, ...details, phase: next.phase });
                if (decision.kind === "fail-over") {
                    state = { ...state, failover: this.newFailover("automatic") };
                    await this.save(state);
                    return this.carryOut(state);
                }
                await this.save(state);
            }
        });
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
        try {
            record = await store.read(AbortSignal.any([this.runSignal, AbortSignal.timeout(timeoutMs)]));
        } catch (err) {
            return { lapsed: false, view: { state: "unreadable", error: (err as Error).message } };
        }
        if (record === undefined) {
            return { lapsed: false, view: { state: "absent", detail: "no writer has established the lease" } };
        }
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

    /** An operator's failover: no probes, the same steps, the same RPO guard unless `acceptDataLoss`. */
    async failover(acceptDataLoss: boolean): Promise<Outcome> {
        return this.underLease(async () => {
            let state = await this.load();
            if (state.phase === "failed-over") {
                this.emit("decision", { decision: "already-failed-over", phase: state.phase, failedOverAt: state.failover?.completedAt });
                return "already-failed-over";
            }
            const resuming = state.failover !== undefined;
            const record = state.failover ?? this.newFailover("manual");
            state = {
                ...state,
                phase: "failing-over",
                failover: acceptDataLoss ? { ...record, acceptedDataLossAt: this.clock.now() } : record,
                updatedAt: this.clock.now(),
            };
            this.emit("decision", {
                decision: resuming ? "resume-failover" : "manual-failover",
                acceptDataLoss,
                phase: state.phase,
                next: nextStep(state.failover!),
            });
            await this.save(state);
            return this.carryOut(state, true);
        });
    }

    /**
     * After a failback (this region is the standby again, its writer rebuilt from the other
     * region), an operator re-arms the controller: the failover moves to the state's history
     * and the controller watches again from healthy. Refused unless the state has failed over.
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
            const { failover: done, suspectSince: _suspectSince, ...rest } = state;
            await this.save({ ...rest, phase: "healthy", consecutiveFailedRounds: 0, history: [...(state.history ?? []), done!] });
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
                ok: state.phase !== "failing-over" && state.phase !== "failed-over",
                detail:
                    state.phase === "failed-over"
                        ? `${store.location}: already failed over; nothing to fail over until an operator re-arms the controller`
                        : state.phase === "failing-over"
                          ? `${store.location}: a failover is under way (next step ${nextStep(state.failover!)}); a watch resumes it`
                          : `${store.location}: phase ${state.phase}, ${state.consecutiveFailedRounds} failed round(s)`,
            });
        } catch (err) {
            checks.push({ name: "state", ok: false, detail: (err as Error).message });
        }
        checks.push(...(await adapterReadiness(this.deps.adapters, { lease: true })));
        return { ready: checks.every((c) => c.ok), checks };
    }

    // --- steps ------------------------------------------------------------------------------

    private newFailover(trigger: FailoverRecord["trigger"]): FailoverRecord {
        const { region, writerRegion } = this.options.roles;
        return { trigger, decidedAt: this.clock.now(), from: writerRegion, to: region, completed: [] };
    }

    /** Runs the steps not completed yet, in order, persisting before and after each. */
    private async carryOut(initial: ControllerState, byOperator = false): Promise<Outcome> {
        let state = initial;
        const record = () => state.failover!;
        for (let step = nextStep(record()); step !== undefined; step = nextStep(record())) {
            if (this.options.dryRun) {
                if (step === "promote") {
                    this.emit("rpo", this.dryRunGuard(record()));
                }
                this.emit("action", { action: step, status: "dry-run", inputs: this.inputsOf(step, record()) });
                state = { ...state, failover: { ...record(), completed: [...record().completed, this.completed(step, 0)] } };
                continue;
            }
            if (step === "promote") {
                const held = await this.rpoGuard(state, byOperator);
                state = held.state;
                if (!held.promote) {
                    return "held";
                }
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
                if (step !== "record-lag") {
                    throw new StepFailedError(step, attemptInRun, err);
                }
                // A lag that cannot be read must not block the failover: it is recorded as
                // unreadable, which the RPO guard counts as over its budget.
                const message = (err as Error).message;
                result = {
                    lag: { readAt: this.clock.now(), source: "record-lag", error: message },
                    detail: `lag unreadable after ${attemptInRun} attempt(s): ${message}`,
                };
            }
            const done = this.completed(step, attempts, startedAt, result.detail);
            state = this.withRecord(state, {
                completed: [...record().completed, done],
                current: undefined,
                ...(result.lag !== undefined ? { lag: result.lag } : {}),
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

    /** A dry run reads no lag (it calls no hook): it says what the guard would do with what it knows. */
    private dryRunGuard(record: FailoverRecord): Record<string, unknown> {
        const { maxLagSeconds } = this.options;
        const accepted = record.acceptedDataLossAt !== undefined;
        if (record.lag === undefined && maxLagSeconds !== undefined && !accepted) {
            return {
                verdict: "not-evaluated",
                maxLagSeconds,
                reason: `a dry run reads no replication lag; a real run promotes only if the lag is within ${maxLagSeconds} s, else holds`,
            };
        }
        const verdict = rpoVerdict(record.lag, maxLagSeconds, accepted);
        return { verdict: verdict.promote ? "promote" : "hold", reason: verdict.reason, maxLagSeconds };
    }

    private async runStep(step: StepName, state: ControllerState, attempt: number): Promise<StepResult> {
        const { traffic, database, notifier } = this.deps.adapters;
        const record = state.failover!;
        const context: ActionContext = { failover: record, attempt, signal: this.runSignal };
        switch (step) {
            case "take-lease":
                return this.takeLease(context);
            case "fence": {
                const site = await traffic.fence(record.from, context);
                const writer = await database.fenceOldWriter(record.from, context);
                return { detail: [site.detail, writer.detail].filter((d) => d !== undefined).join("; ") || undefined };
            }
            case "record-lag": {
                const lag = await database.readLag(context);
                this.emit("lag", { ...lag });
                return { lag, detail: lag.seconds === undefined ? `lag unreadable: ${lag.error ?? lag.source}` : `lag ${lag.seconds} s` };
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
     * The commit point: the writer lease, taken at the version watched for a whole lease (L + d
     * on this controller's own clock), with a write conditional on that version that bumps the
     * epoch. A run that has not watched it lapse (an operator's failover, a resumed run) watches
     * now, for at most L + d and a poll. A lease that changes meanwhile was renewed: the writer is
     * alive, and the failover stands down (LeaseRenewedError) before anything was done.
     */
    private async takeLease(context: ActionContext): Promise<StepResult> {
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
        if (this.lapsedLease?.version !== current.version) {
            const pollMs = Math.min(this.options.intervalMs, 1000);
            let view = watchLease(undefined, current, this.monotonic(), timing);
            this.emit("lease", {
                holder: current.holder,
                epoch: current.epoch,
                state: "watching",
                lapsesInMs: Math.round(view.lapsesInMs),
            });
            while (!view.lapsed) {
                await this.clock.sleep(Math.min(pollMs, view.lapsesInMs), context.signal);
                const again = await store.read(context.signal);
                if (again === undefined || again.version !== current.version) {
                    throw new LeaseRenewedError(
                        `${store.location}: ${current.holder} renewed its lease (epoch ${again?.epoch ?? "none"}) while this failover waited for it to lapse: its database may still take writes`,
                    );
                }
                view = watchLease(view.watch, again, this.monotonic(), timing);
            }
            // Take exactly the version watched for L + d: a renewal since then makes the
            // conditional write fail (LeaseChangedError below), never a take of a fresh lease.
        }
        try {
            const taken = await store.take(region, current, timing.leaseMs, context.signal);
            return {
                detail:
                    `${store.location}: taken from ${current.holder} (epoch ${current.epoch}) at epoch ${taken.epoch}; ` +
                    "its database closed by the lease's timing (fence unconfirmed: the old writer's database was not asked)",
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

    /**
     * Before promoting: is the data at risk within the budget? If not, re-read the lag for a
     * bounded time (a lagging replica may catch up), then hold for an operator.
     */
    private async rpoGuard(initial: ControllerState, byOperator: boolean): Promise<{ state: ControllerState; promote: boolean }> {
        let state = initial;
        const { maxLagSeconds, lagWaitMs, intervalMs } = this.options;
        const record = () => state.failover!;
        let verdict = rpoVerdict(record().lag, maxLagSeconds, record().acceptedDataLossAt !== undefined);
        // A hold sticks for automatic runs: a later watch does not wait again and promote by
        // itself; an operator's `failover` re-reads the lag (and promotes if it is within the
        // budget now), or accepts the loss.
        const sticky = !verdict.promote && record().heldSince !== undefined && !byOperator;
        const waitUntil = sticky ? this.clock.now() : this.clock.now() + lagWaitMs;
        let announced = false;
        while (!verdict.promote && this.clock.now() < waitUntil) {
            if (!announced) {
                this.emit("rpo", { verdict: "waiting", reason: verdict.reason, maxLagSeconds, waitMs: lagWaitMs });
                announced = true;
            }
            // Re-read at least once a second (once a round when rounds are shorter); a reading
            // older than that (an operator resuming a hold) is replaced at once.
            const cadence = Math.min(intervalMs, 1000);
            if (this.clock.now() - (record().lag?.readAt ?? 0) < cadence) {
                await this.clock.sleep(Math.min(cadence, waitUntil - this.clock.now()), this.runSignal);
            }
            let lag: LagReading;
            try {
                lag = await this.deps.adapters.database.readLag({ failover: record(), attempt: 1, signal: this.runSignal });
            } catch (err) {
                lag = { readAt: this.clock.now(), source: "re-read", error: (err as Error).message };
            }
            this.emit("lag", { ...lag });
            state = this.withRecord(state, { lag });
            await this.save(state);
            verdict = rpoVerdict(lag, maxLagSeconds, false);
        }
        if (verdict.promote) {
            if (record().heldSince !== undefined) {
                state = this.withRecord(state, { heldSince: undefined, heldReason: undefined });
                await this.save(state);
            }
            this.emit("rpo", { verdict: "promote", reason: verdict.reason, maxLagSeconds });
            return { state, promote: true };
        }
        state = this.withRecord(state, { heldSince: record().heldSince ?? this.clock.now(), heldReason: verdict.reason });
        await this.save(state);
        this.emit("rpo", {
            verdict: "hold",
            reason: verdict.reason,
            maxLagSeconds,
            message:
                `FAILOVER HELD BY THE RPO GUARD: ${verdict.reason}. The site ${record().from} is fenced and ${record().to} is NOT promoted. ` +
                `To promote and accept losing ${dataAtRisk(record().lag)}, run: failover --accept-data-loss`,
        });
        return { state, promote: false };
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
            case "record-lag":
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
                    : `epoch ${record.lease.epoch}, taken from ${record.lease.previousHolder} (epoch ${record.lease.previousEpoch}) after it lapsed`,
            trigger: record.trigger,
            decidedAt: record.decidedAt,
            suspectSince: state.suspectSince,
            steps: record.completed.map((c) => ({ step: c.step, completedAt: c.completedAt, detail: c.detail })),
            lagSeconds: record.lag?.seconds,
            dataAtRisk: dataAtRisk(record.lag),
            acceptedDataLoss: record.acceptedDataLossAt !== undefined,
        };
    }

    private emit(event: string, fields?: Record<string, unknown>): void {
        this.deps.emit(event, fields);
    }
}
