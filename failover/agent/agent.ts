/**
 * The writer agent: in each site's region, beside its database. Where its region holds the
 * writer lease it keeps the database open for the application; everywhere else it does nothing.
 *
 * Every `renewEveryMs`:
 *   1. read the database's clock (the anchor)
 *   2. renew the lease (a write conditional on holder and epoch), within `renewTimeoutMs`
 *   3. on success: the database's deadline becomes anchor + (L - m); set up the fence where it
 *      is missing (once per run), and open the application's account if the fence had closed
 *   4. on LeaseChangedError (another region took the lease): close the fence at once
 *   5. on any other failure: nothing; the database's deadline runs out by itself
 * When the database does not answer (no anchor), the holder still renews, for a bounded grace
 * after its last anchored renewal (an in-region restart must not move the writer), without
 * moving the database's deadline: it stays closed until it answers and a renewal opens it.
 * Every `beatEveryMs`, while the lease is held: the heartbeat row (the replica's loss window
 * reads it) and whether the fence is armed.
 * A planned switchover (failover/core/writerLease.ts Handover) shows as a refused renewal with a
 * handover to another region on the lease: the agent seals its database (fence closed, no
 * application session left, a final heartbeat) and publishes the final beat; it renews no more
 * until the lease is taken (then it is fenced already) or the handover withdrawn (then it renews
 * at the new epoch and reopens). A request older than `handoverTimeoutMs` it withdraws itself:
 * a controller that stopped half-way must not keep the shop closed.
 *
 * The agent never decides safety: the deadline is anchored on the database's clock before the
 * renewal was sent, and only moved forward after it succeeded, so a pause anywhere (a frozen
 * process, a slow network) can only fence too early, never too late. Its own clock is
 * monotonic and used only for its cadence.
 */
import { setTimeout as sleepFor } from "timers/promises";
import { LeaseChangedError, type WriterLeaseStore } from "../core/ports";
import {
    databaseDeadlineAfterMs,
    DEFAULT_HANDOVER_TIMEOUT_MS,
    isPublished,
    type LeaseTiming,
    type WriterLeaseRecord,
} from "../core/writerLease";
import type { FenceStatus, SealedWriter } from "./fence";

/** What the agent needs of its database (failover/agent/fence.ts MysqlFence). */
export interface FencedDatabase {
    setUp(appPassword: string): Promise<void>;
    anchor(): Promise<string>;
    extend(holder: string, epoch: number, anchor: string, afterMs: number): Promise<void>;
    beat(): Promise<boolean>;
    /** Opens the application's account while the deadline lies ahead; false when it did not. */
    unfence(): Promise<boolean>;
    fenceNow(): Promise<void>;
    /** Closes for a planned switchover and writes the final heartbeat (MysqlFence.seal). */
    seal(epoch: number): Promise<SealedWriter>;
    status(): Promise<FenceStatus>;
}

export interface AgentClock {
    /** Monotonic milliseconds. */
    now(): number;
    sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const monotonicClock: AgentClock = {
    now: () => performance.now(),
    sleep: (ms, signal) => sleepFor(Math.max(0, ms), undefined, { signal }),
};

export interface AgentOptions {
    /** This agent's region. */
    readonly region: string;
    /** The configured writer region: only its agent establishes the first lease. */
    readonly writerRegion: string;
    readonly timing: LeaseTiming;
    /** @default 1000 */
    readonly beatEveryMs?: number;
    /**
     * How long the holder keeps renewing while its database does not answer (no anchor), after
     * its last anchored renewal: an RDS Multi-AZ failover takes 60-120 s, and must not move the
     * writer to another region. @default DEFAULT_DATABASE_GRACE_MS
     */
    readonly databaseGraceMs?: number;
    /** How old a handover request may grow, untaken, before the agent withdraws it. @default DEFAULT_HANDOVER_TIMEOUT_MS */
    readonly handoverTimeoutMs?: number;
}

/** The deadline an anchored renewal lets the database keep: anchor + (L - m), Unix seconds on its clock. */
function deadlineOf(anchor: string, timing: LeaseTiming): number {
    return Number(anchor) + databaseDeadlineAfterMs(timing) / 1000;
}

/** 150 s: the longest in-region restart of the writer's database (120 s) and a margin. */
export const DEFAULT_DATABASE_GRACE_MS = 150_000;

export interface AgentDeps {
    readonly lease: WriterLeaseStore;
    readonly database: FencedDatabase;
    /** The application account's password, for creating the account where it is missing. */
    readonly appPassword: () => Promise<string>;
    readonly emit: (event: string, fields?: Record<string, unknown>) => void;
    readonly clock?: AgentClock;
    /** Wall-clock milliseconds, compared with the lease's `anchoredAt` (a grace, not safety). @default Date.now */
    readonly wallClock?: () => number;
    readonly signal?: AbortSignal;
}

/** How a run of the agent went, for its metrics and the alarms. */
export interface AgentSummary {
    /** This region held the lease at the end of the run. */
    readonly holder: boolean;
    readonly epoch?: number;
    readonly renewals: number;
    readonly failedRenewals: number;
    /** The longest time between two successful renewals in this run (ms), or since the run began. */
    readonly longestRenewalGapMs: number;
    /** The fence was armed at the last look (undefined: not the holder, or never looked). */
    readonly armed?: boolean;
}

export class WriterAgent {
    private readonly clock: AgentClock;
    private epoch: number | undefined;
    private setUpDone = false;
    private renewals = 0;
    private failedRenewals = 0;
    private lastRenewalAt: number;
    private longestGapMs = 0;
    private armed: boolean | undefined;
    /** The lease as this run last wrote it. */
    private last: WriterLeaseRecord | undefined;
    /** This run's region is handing the lease over (sealed, or sealing): no beats, no renewals. */
    private handingOver = false;

    constructor(
        private readonly deps: AgentDeps,
        private readonly options: AgentOptions,
    ) {
        this.clock = deps.clock ?? monotonicClock;
        this.lastRenewalAt = this.clock.now();
    }

    private get graceMs(): number {
        return this.options.databaseGraceMs ?? DEFAULT_DATABASE_GRACE_MS;
    }

    private wallNow(): number {
        return (this.deps.wallClock ?? Date.now)();
    }

    /** Runs until `untilMs` on the agent's clock (or the signal). */
    async run(untilMs: number): Promise<AgentSummary> {
        const { timing } = this.options;
        const beatEveryMs = this.options.beatEveryMs ?? 1000;
        let nextRenewAt = this.clock.now();
        const signal = this.deps.signal;
        while (this.clock.now() < untilMs && !signal?.aborted) {
            const tick = this.clock.now();
            if (tick >= nextRenewAt) {
                nextRenewAt = tick + timing.renewEveryMs;
                await this.renewOnce();
            }
            if (this.epoch !== undefined && !this.handingOver) {
                await this.beat();
            }
            const wake = Math.min(nextRenewAt, tick + beatEveryMs, untilMs);
            try {
                await this.clock.sleep(wake - this.clock.now(), signal);
            } catch {
                break; // stopped
            }
        }
        this.noteGap();
        return {
            holder: this.epoch !== undefined,
            epoch: this.epoch,
            renewals: this.renewals,
            failedRenewals: this.failedRenewals,
            longestRenewalGapMs: Math.round(this.longestGapMs),
            armed: this.epoch !== undefined ? this.armed : undefined,
        };
    }

    private noteGap(): void {
        this.longestGapMs = Math.max(this.longestGapMs, this.clock.now() - this.lastRenewalAt);
    }

    private emit(event: string, fields?: Record<string, unknown>): void {
        this.deps.emit(event, { region: this.options.region, ...fields });
    }

    private async renewOnce(): Promise<void> {
        const { region, writerRegion, timing } = this.options;
        const { lease, database } = this.deps;
        const timeout = AbortSignal.timeout(timing.renewTimeoutMs);
        // The anchor comes first: the deadline this renewal allows counts from a moment before it
        // was sent. A database that does not answer gives none (an in-region restart, say).
        let anchor: string | undefined;
        let databaseError: unknown;
        try {
            anchor = await database.anchor();
        } catch (err) {
            databaseError = err;
        }
        let record: WriterLeaseRecord;
        let epoch = this.epoch;
        try {
            if (this.handingOver) {
                // Sealed (or sealing): no renewal, only a look at what became of the handover.
                const now = await lease.read(timeout);
                if (now?.holder === region && now.handover !== undefined) {
                    return this.handOver(now, anchor);
                }
                if (now?.holder !== region) {
                    const taken = now === undefined ? "absent" : `taken by ${now.holder} at epoch ${now.epoch}`;
                    return this.lost(new LeaseChangedError(`${lease.location}: the lease was handed over (${taken})`));
                }
                this.emit("handover-withdrawn", { epoch: now.epoch, detail: `withdrawn: ${region} keeps the lease and reopens` });
                this.readopt();
                epoch = undefined;
            }
            let current: WriterLeaseRecord | undefined = this.last;
            if (epoch === undefined) {
                current = await lease.read(timeout);
                if (current === undefined && region === writerRegion && anchor !== undefined) {
                    record = await lease.establish(region, timing.leaseMs, timeout, { deadline: deadlineOf(anchor, timing) });
                    this.emit("lease-established", { epoch: record.epoch, location: lease.location });
                    return this.renewed(record, anchor);
                }
                if (current?.holder !== region) {
                    if (current === undefined && anchor === undefined) {
                        this.failed("database", databaseError);
                        return;
                    }
                    this.emit("standby", {
                        holder: current?.holder ?? null,
                        epoch: current?.epoch ?? null,
                        detail:
                            current === undefined
                                ? `no lease yet; ${writerRegion}'s agent establishes it`
                                : "another region holds the lease",
                    });
                    return;
                }
                // This region holds it (a new run of the agent, or a takeover by this region's controller).
                epoch = current.epoch;
                if (current.handover !== undefined) {
                    return this.handOver(current, anchor); // never adopted to be renewed: it is being handed over
                }
            }
            if (anchor === undefined) {
                // Keep the lease through a database restart in the region, for a bounded grace
                // after the last anchored renewal: the database's own deadline keeps it closed
                // meanwhile (no renewal here moves it), so this costs no safety; past the grace
                // the lease lapses and the standby may take over.
                const anchoredAt = current?.anchoredAt ?? current?.renewedAt ?? 0;
                const graceLeftMs = anchoredAt + this.graceMs - this.wallNow();
                if (graceLeftMs <= 0) {
                    this.emit("grace-exhausted", {
                        epoch,
                        detail: `the database has not answered since ${new Date(anchoredAt).toISOString()}: the lease is left to lapse`,
                    });
                    this.failed("database", databaseError);
                    return;
                }
                record = await lease.renew(region, epoch, timing.leaseMs, timeout, "unanchored");
                this.epoch = record.epoch;
                this.last = record;
                this.noteRenewal();
                this.emit("renewed-without-database", {
                    epoch: record.epoch,
                    graceLeftMs: Math.round(graceLeftMs),
                    error: (databaseError as Error | undefined)?.message,
                    detail: "the database stays closed by its own deadline until it answers again",
                });
                return;
            }
            // The deadline goes into the lease with the renewal (never backwards: an overlapping
            // run's later one stays); the database's own moves to it only after the renewal
            // succeeded: the lease's is never earlier than the database's.
            record = await lease.renew(region, epoch, timing.leaseMs, timeout, { deadline: deadlineOf(anchor, timing) });
        } catch (err) {
            if (err instanceof LeaseChangedError) {
                const found = err.found;
                if (found?.handover !== undefined && found.holder === region && found.epoch === epoch) {
                    return this.handOver(found, anchor);
                }
                await this.lost(err);
                return;
            }
            this.failed("lease", err);
            return;
        }
        await this.renewed(record, anchor);
    }

    /**
     * A planned switchover asked this region to hand the lease over: seal the database and
     * publish its final beat, once; then wait (no renewals, no beats) until the lease is taken or
     * the handover withdrawn. Anything that fails is tried again on the next renewal's turn: the
     * database stays closed meanwhile, which costs availability, never data.
     */
    private async handOver(found: WriterLeaseRecord, anchor: string | undefined): Promise<void> {
        const { region, timing } = this.options;
        const { lease, database } = this.deps;
        const handover = found.handover!;
        const epoch = found.epoch;
        this.epoch = epoch;
        this.last = found;
        this.handingOver = true;
        // How long the shop has been closed for it: once published, on the database's own clock
        // (the final beat's, against this turn's anchor), never the requester's; before that, from
        // the request (its host's clock: an operator's laptop off by minutes only moves when an
        // unpublished handover is given up, and the seal comes within one turn of the request).
        const ageMs = isPublished(handover)
            ? anchor === undefined
                ? 0
                : (Number(anchor) - handover.finalBeatAt) * 1000
            : this.wallNow() - handover.requestedAt;
        try {
            if (ageMs > (this.options.handoverTimeoutMs ?? DEFAULT_HANDOVER_TIMEOUT_MS)) {
                const kept = await lease.withdrawHandover(region, epoch, AbortSignal.timeout(timing.renewTimeoutMs));
                this.emit("handover-withdrawn", {
                    epoch: kept.epoch,
                    to: handover.to,
                    detail: `${isPublished(handover) ? "sealed" : "requested"} ${Math.round(ageMs / 1000)} s ago and not taken: the lease stays with ${region} at epoch ${kept.epoch}; the database reopens on its next renewal`,
                });
                this.readopt();
                return;
            }
            if (isPublished(handover)) {
                return; // sealed and published (by this run or an overlapping one): wait to be taken
            }
            const sealed = await database.seal(epoch);
            this.emit("sealed", { epoch, to: handover.to, ...sealed });
            // Its own timeout from here: the seal may have taken longer than a renewal's.
            this.last = await lease.publishHandover(region, epoch, sealed, AbortSignal.timeout(timing.renewTimeoutMs));
            this.emit("handed-over", {
                epoch,
                to: handover.to,
                finalBeatAt: sealed.finalBeatAt,
                detail: `closed, no application session left, final heartbeat written: ${handover.to} takes the lease once its replica has applied it`,
            });
        } catch (err) {
            if (err instanceof LeaseChangedError) {
                const now = err.found;
                if (now?.holder === region && now.epoch === epoch && now.handover !== undefined) {
                    return; // an overlapping run published first: its publication stands
                }
                if (now?.holder === region && now.epoch > epoch) {
                    this.emit("handover-withdrawn", {
                        epoch: now.epoch,
                        to: handover.to,
                        detail: "withdrawn: this region keeps the lease",
                    });
                    this.readopt();
                    return;
                }
                await this.lost(err);
                return;
            }
            this.emit("handover-failed", {
                epoch,
                to: handover.to,
                error: (err as Error).message,
                detail: "tried again on the next turn; the database stays closed",
            });
        }
    }

    /** The lease is this region's at a newer epoch (a withdrawn handover): the next turn adopts it and reopens. */
    private readopt(): void {
        this.epoch = undefined;
        this.last = undefined;
        this.handingOver = false;
    }

    private noteRenewal(): void {
        this.noteGap();
        this.lastRenewalAt = this.clock.now();
        this.renewals += 1;
    }

    /** After an anchored renewal: the fence set up where missing, the deadline moved, the account opened. */
    private async renewed(record: WriterLeaseRecord, anchor: string): Promise<void> {
        const { region, timing } = this.options;
        const { database } = this.deps;
        const wasHolder = this.epoch === record.epoch;
        this.epoch = record.epoch;
        this.last = record;
        this.noteRenewal();
        try {
            if (!this.setUpDone) {
                await database.setUp(await this.deps.appPassword());
                this.setUpDone = true;
            }
            await database.extend(region, record.epoch, anchor, databaseDeadlineAfterMs(timing));
            const status = await database.status();
            this.armed = status.armed;
            if (status.fencedAt !== undefined && status.deadline > status.now) {
                if (await database.unfence()) {
                    this.emit("unfenced", { epoch: record.epoch, fencedAt: status.fencedAt, deadline: status.deadline });
                }
            }
            if (!wasHolder || !status.armed) {
                this.emit("renewed", {
                    epoch: record.epoch,
                    deadline: status.deadline,
                    armed: status.armed,
                    armedDetail: status.armedDetail,
                });
            }
        } catch (err) {
            // The lease is renewed but the database did not take the deadline (read-only while a
            // promotion completes, or unreachable): it stays fenced, which is safe.
            this.emit("database-failed", { epoch: record.epoch, error: (err as Error).message });
        }
    }

    private async beat(): Promise<void> {
        try {
            const beaten = await this.deps.database.beat();
            if (!beaten) {
                this.emit("beat-skipped", { epoch: this.epoch, detail: "the database's deadline has passed: the fence is closed" });
            }
        } catch (err) {
            this.emit("beat-failed", { epoch: this.epoch, error: (err as Error).message });
        }
    }

    private failed(what: "database" | "lease", err: unknown): void {
        this.failedRenewals += 1;
        this.emit("renew-failed", {
            epoch: this.epoch ?? null,
            what,
            error: (err as Error).message,
            sinceLastRenewalMs: Math.round(this.clock.now() - this.lastRenewalAt),
        });
    }

    /** Another region took the lease: close the fence now instead of at the deadline. */
    private async lost(err: Error): Promise<void> {
        const epoch = this.epoch;
        this.epoch = undefined;
        this.last = undefined;
        this.handingOver = false;
        this.setUpDone = false;
        this.emit("lease-lost", { epoch: epoch ?? null, detail: err.message });
        if (epoch === undefined) {
            return; // it was never this run's to fence
        }
        try {
            await this.deps.database.fenceNow();
            this.emit("fenced", { epoch: epoch ?? null, detail: "closed at once: another region holds the lease" });
        } catch (fenceErr) {
            this.emit("fence-failed", {
                epoch: epoch ?? null,
                error: (fenceErr as Error).message,
                detail: "the database's own deadline still closes it",
            });
        }
    }
}
