/**
 * The controller's ports: what it needs from the world, as interfaces. The local adapters
 * (failover/adapters/local.ts) implement them with files and HTTP hooks; the AWS adapters
 * (Global Accelerator, RDS, SNS, DynamoDB) and a drill's adapters slot in behind the same
 * interfaces. Every action is idempotent: called twice, it does the work once.
 */
import type { LossWindow, ReplicaEvidence, UnknownWindow } from "./lossWindow";
import type { ControllerState, FailoverRecord, Vote } from "./state";
import type { Handover, WriterLeaseRecord } from "./writerLease";

export interface ActionContext {
    /** The failover this action belongs to. */
    readonly failover: FailoverRecord;
    /** 1 for the first attempt of this step within a run. */
    readonly attempt: number;
    /** Aborted when the run is stopped (a signal, a lost lease). */
    readonly signal: AbortSignal;
}

export interface ActionResult {
    /** What was done, for the operator (and the state's record of the step). */
    readonly detail?: string;
}

/** One precondition of one step, evaluated without acting (`check`). */
export interface ReadinessCheck {
    readonly name: string;
    readonly ok: boolean;
    readonly detail: string;
}

export interface TrafficAdapter {
    /** Stops all traffic to `region`'s site, whether or not it looks healthy. */
    fence(region: string, context: ActionContext): Promise<ActionResult>;
    /** Sends traffic to `to`'s site (and none to `from`'s). */
    moveTo(to: string, from: string, context: ActionContext): Promise<ActionResult>;
    readiness(): Promise<ReadinessCheck[]>;
}

export interface PromotionProgress extends ActionResult {
    /** The promoted writer accepts writes. */
    readonly writable: boolean;
}

export interface DatabaseAdapter {
    /**
     * Makes the old writer in `region` refuse writes when it can still be reached. An
     * unreachable old writer is not an error: the result says it could not be fenced.
     */
    fenceOldWriter(region: string, context: ActionContext): Promise<ActionResult>;
    /** Undoes `fenceOldWriter` (an `abort` before the promotion): the old writer takes writes again. */
    unfenceOldWriter(region: string, context: ActionContext): Promise<ActionResult>;
    /**
     * What the standby's replica shows, read without acting: whether it replicates the writer it
     * is expected to, and, after waiting up to `waitMs` until it has applied everything it
     * received, the newest heartbeat of the old writer it applied (failover/core/lossWindow.ts).
     * What cannot be read is an `error` in the evidence, not a rejection.
     */
    readReplica(context: Pick<ActionContext, "signal">, waitMs: number): Promise<ReplicaEvidence>;
    /**
     * Starts the promotion, or reports on one already started. Called until it reports
     * `writable`. A standby that is no longer a replica counts as promoted only when
     * `context.failover.promotionRequestedAt` says this failover asked for it; otherwise it
     * throws: it may be a writer of days ago, or another's.
     */
    promote(context: ActionContext): Promise<PromotionProgress>;
    readiness(): Promise<ReadinessCheck[]>;
}

/** What the operator is told when the failover is done. */
export interface FailoverReport {
    readonly from: string;
    readonly to: string;
    /** The writer lease taken (its new epoch), or why there was none. */
    readonly lease: string;
    /** How the old writer's fence is known: the lease's timing, its own published fence, or not at all. */
    readonly fence: string;
    readonly trigger: FailoverRecord["trigger"];
    readonly decidedAt: number;
    readonly suspectSince?: number;
    /** Each vantage point's vote in the round that decided. */
    readonly votes?: readonly Vote[];
    readonly steps: readonly { readonly step: string; readonly completedAt: number; readonly detail?: string }[];
    /** The loss window (an upper bound), or why it is unknown. */
    readonly lossWindow?: LossWindow | UnknownWindow;
    readonly dataAtRisk: string;
    /** What an operator accepted, if anything. */
    readonly accepted?: string;
}

export interface Notifier {
    notify(report: FailoverReport, context: ActionContext): Promise<ActionResult>;
    readiness(): Promise<ReadinessCheck[]>;
}

export interface StateStore {
    /** Where the state lives, for messages. */
    readonly location: string;
    load(): Promise<ControllerState | undefined>;
    save(state: ControllerState): Promise<void>;
    readiness(): Promise<ReadinessCheck[]>;
}

export interface Lease {
    /** Aborted when the lease is lost (expired, taken over); the reason says why. */
    readonly lost: AbortSignal;
    /** Throws when the lease was lost: the run must stop acting. */
    assertHeld(): void;
    release(): Promise<void>;
}

/** Another run holds the lease. */
export class LockHeldError extends Error {}

export interface Lock {
    /** Waits at most one lease period for a lease held by a run that stopped renewing it. */
    acquire(): Promise<Lease>;
    readiness(): Promise<ReadinessCheck[]>;
}

/**
 * What a renewal says of the holder's database: it read the database's clock first and lets
 * the database keep `deadline` (Unix seconds, that clock; failover/core/writerLease.ts), or it
 * could not read it ("unanchored": the lease keeps its last anchor and deadline).
 */
export type RenewalAnchor = { readonly deadline?: number } | "unanchored";

/**
 * A conditional write on the writer lease found it changed: another writer renewed or took it,
 * or (for its holder) a switchover requested a handover. `found` is the lease as read after
 * the refusal, where it could be read.
 */
export class LeaseChangedError extends Error {
    constructor(message: string, options?: ErrorOptions & { readonly found?: WriterLeaseRecord }) {
        super(message, options);
        this.found = options?.found;
    }
    readonly found: WriterLeaseRecord | undefined;
}

/**
 * The writer lease's store (failover/core/writerLease.ts): strongly consistent reads and
 * conditional writes on one record, kept outside the writer's region.
 */
export interface WriterLeaseStore {
    /** Where the lease lives, for messages. */
    readonly location: string;
    /** The lease now (a strongly consistent read), or undefined before the first writer took it. */
    read(signal?: AbortSignal): Promise<WriterLeaseRecord | undefined>;
    /** The first lease, epoch 1, for `holder`; LeaseChangedError when a lease exists already. */
    establish(holder: string, leaseMs: number, signal?: AbortSignal, anchor?: RenewalAnchor): Promise<WriterLeaseRecord>;
    /**
     * Renews `holder`'s lease of `epoch`; LeaseChangedError when the lease is no longer theirs.
     * `anchor` (default: anchored, no deadline stated): what the holder read of its database.
     */
    renew(holder: string, epoch: number, leaseMs: number, signal?: AbortSignal, anchor?: RenewalAnchor): Promise<WriterLeaseRecord>;
    /**
     * Takes the lease for `holder` if it is still exactly `seen` (its version), bumping the epoch:
     * the fencing token. LeaseChangedError when it changed since.
     */
    take(holder: string, seen: WriterLeaseRecord, leaseMs: number, signal?: AbortSignal): Promise<WriterLeaseRecord>;
    /**
     * Gives the lease this region took back to `to` (an `abort` before the promotion): a write
     * conditional on `holder` still holding `epoch`, bumping the epoch again, so the old
     * writer's agent finds its region the holder and reopens its database.
     */
    handBack(holder: string, epoch: number, to: string, leaseMs: number, signal?: AbortSignal): Promise<WriterLeaseRecord>;
    /**
     * A planned switchover asks `holder` (at `epoch`) to hand the lease to `to`: from now on no
     * renewal lands. LeaseChangedError when the lease is not `holder`'s at `epoch`, or a handover
     * is under way already.
     */
    requestHandover(holder: string, epoch: number, to: string, signal?: AbortSignal): Promise<WriterLeaseRecord>;
    /** The holder's agent, fenced, publishes its final beat (a new version: what the taker takes). */
    publishHandover(
        holder: string,
        epoch: number,
        published: Required<Pick<Handover, "finalBeatAt" | "fencedAt">> & Pick<Handover, "gtid">,
        signal?: AbortSignal,
    ): Promise<WriterLeaseRecord>;
    /**
     * The handover is called off: the lease stays `holder`'s at epoch + 1 (so that nothing the
     * old epoch's agent does late can reopen the database), and its agent renews and reopens.
     */
    withdrawHandover(holder: string, epoch: number, signal?: AbortSignal): Promise<WriterLeaseRecord>;
    readiness(): Promise<ReadinessCheck[]>;
}

/** Preconditions no single adapter owns (the permissions, the applications' secret). */
export interface ReadinessSource {
    readiness(): Promise<ReadinessCheck[]>;
}

export interface Adapters {
    /** The writer lease; without it nothing but the fence step keeps the old writer from taking writes. */
    readonly writerLease?: WriterLeaseStore;
    readonly traffic: TrafficAdapter;
    readonly database: DatabaseAdapter;
    readonly notifier: Notifier;
    readonly store: StateStore;
    readonly lock: Lock;
    /** Checked by readiness beside the adapters'. */
    readonly preconditions?: readonly ReadinessSource[];
}
