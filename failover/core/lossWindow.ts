/**
 * The loss window: which of the old writer's acknowledged writes may be missing on the standby,
 * as an upper bound. Pure rules, no I/O, no clock of their own.
 *
 * The writer agent beats a heartbeat row once a second while its lease is valid
 * (`failover.writer_lease.beat_at`, the old writer's database clock), and that row replicates
 * like any write. The binary log is in commit order and the replica applies it in that order,
 * so once the replica has applied everything it received, every transaction the old writer
 * committed before its newest applied beat is on the replica. What may be missing committed
 * after that beat and before the old writer stopped taking writes:
 *
 *     (last applied beat, fence]      both on the old writer's database clock
 *
 * The fence end is known in one of these ways:
 *   published      a planned switchover: the old writer closed its fence, waited until no
 *                  application session was left, then wrote a final heartbeat and published when
 *                  (failover/core/writerLease.ts Handover). Every write it acknowledged precedes
 *                  that beat, so a replica that applied it misses nothing (RPO exactly 0)
 *   lease-timing   the lease's last renewal carried the deadline it let the database keep
 *                  (anchor + (L - m), on that database's clock); the database's event locks the
 *                  application out within F of it. So the fence lies at or before deadline + F.
 *   reported       no writer lease: the adapter says when the old writer stopped (a hook world
 *                  that fences its own writer vouches for it).
 *
 * Both ends are read from the old writer's own clock, so no clock offset between hosts enters
 * the window (FAILOVER-SAFETY.md allows for one, e; here it is 0 by construction). The window
 * is as wide as the lease timing and the replication delay justify: (L - m) + F at most with
 * a current replica whose writer died right after a renewal, and F plus a beat when the writer
 * lived to its deadline (it beat until then); a replica that fell behind adds how far behind.
 */
import type { PublishedHandover, WriterLeaseRecord } from "./writerLease";

/** What the standby's replica shows, read without acting (failover/core/ports.ts DatabaseAdapter.readReplica). */
export interface ReplicaEvidence {
    /** When it was read (the controller's wall clock, for the record). */
    readonly readAt: number;
    /** Where it was read, for people. */
    readonly source: string;
    /** The standby replicates the writer it is expected to (the first precondition of a failover). */
    readonly replicatesExpected: boolean;
    /** Its source and its threads, for people. */
    readonly replication: string;
    /** It applied everything it had received when this was read (or the bounded wait ran out first). */
    readonly appliedAll: boolean;
    /**
     * It commits in the writer's order (false: parallel appliers that may commit out of order, and
     * a transaction before an applied beat may be missing: the window has no lower end).
     * Undefined: not known (the hook world vouches for its replica).
     */
    readonly appliesInOrder?: boolean;
    /** The newest heartbeat it applied: Unix seconds on the old writer's database clock. */
    readonly lastBeatAt?: number;
    /** The GTID sets it received and applied, where the server says. */
    readonly receivedGtid?: string;
    readonly appliedGtid?: string;
    /**
     * When the old writer stopped taking writes at the latest (Unix seconds, its clock), where the
     * adapter itself knows: a world without a writer lease whose hooks fence their own writer.
     * The lease's deadline, where there is one, is the fence end instead.
     */
    readonly stoppedBy?: number;
    /** Why nothing could be read. */
    readonly error?: string;
}

export interface LossWindow {
    /** Exclusive: the newest beat the replica applied (Unix seconds, the old writer's database clock). */
    readonly from: number;
    /** Inclusive: when the old writer stopped taking writes at the latest (the same clock). */
    readonly to: number;
    /** to - from, never negative: the most seconds of acknowledged writes that may be missing. */
    readonly seconds: number;
    /** How the fence end is known. */
    readonly fence: "published" | "lease-timing" | "reported";
    /** The exact transactions missing, where the old writer's GTID set is known ("" when none). */
    readonly missingGtid?: string;
    readonly detail: string;
}

/** Why no window can be stated (and so no loss can be called bounded). */
export interface UnknownWindow {
    readonly unknown: string;
}

export function isKnown(w: LossWindow | UnknownWindow): w is LossWindow {
    return (w as UnknownWindow).unknown === undefined;
}

const at = (unixSeconds: number) => new Date(Math.round(unixSeconds * 1000)).toISOString();

/**
 * The window from the replica's evidence and the lease as last renewed by the old writer (the
 * version the failover takes), or from the fence it published.
 */
export function lossWindow(
    evidence: ReplicaEvidence,
    lease: WriterLeaseRecord | undefined,
    fenceMs: number,
    published?: PublishedHandover,
): LossWindow | UnknownWindow {
    if (evidence.error !== undefined) {
        return { unknown: `the standby's replica could not be read: ${evidence.error}` };
    }
    if (evidence.lastBeatAt === undefined) {
        return { unknown: `the standby's replica holds no heartbeat of the old writer (${evidence.source})` };
    }
    if (evidence.appliesInOrder === false) {
        return {
            unknown: `the standby's replica may commit out of the writer's order (parallel appliers without replica_preserve_commit_order): an applied heartbeat does not prove what came before it`,
        };
    }
    if (published !== undefined) {
        // The final beat is the old writer's last transaction that matters: every application
        // write committed before it (no application session was left when it was written).
        const to = published.finalBeatAt;
        const from = Math.min(evidence.lastBeatAt, to);
        const gtid = published.gtid !== undefined ? ` (GTID ${published.gtid})` : "";
        return {
            from,
            to,
            seconds: to - from,
            fence: "published",
            ...(from === to ? { missingGtid: "" } : {}),
            detail:
                from === to
                    ? `none: the old writer closed its fence at ${at(published.fencedAt)} and wrote its final heartbeat at ${at(to)}${gtid} once no application session was left; the standby applied it`
                    : `writes the old writer committed after its last heartbeat on the standby (${at(from)}) and before its final heartbeat at ${at(to)}${gtid}: the standby had not applied that beat yet`,
        };
    }
    if (lease?.deadline === undefined && evidence.stoppedBy === undefined) {
        return {
            unknown: `the lease${lease === undefined ? " is missing" : ` (epoch ${lease.epoch}) carries no database deadline`}: when the old writer stopped is not known`,
        };
    }
    if (lease?.deadline === undefined) {
        const to = evidence.stoppedBy!;
        const from = Math.min(evidence.lastBeatAt, to);
        return {
            from,
            to,
            seconds: to - from,
            fence: "reported",
            detail: `writes the old writer committed after its last heartbeat on the standby (${at(from)}) and before it stopped, at ${at(to)} as ${evidence.source} reports`,
        };
    }
    const to = lease.deadline + fenceMs / 1000;
    const from = Math.min(evidence.lastBeatAt, to);
    const behind = evidence.appliedAll ? "" : "; the replica had not applied all it received (what it had not is counted as lost)";
    return {
        from,
        to,
        seconds: to - from,
        fence: "lease-timing",
        detail:
            `writes the old writer committed after its last heartbeat on the standby (${at(from)}) and before its fence closed, ` +
            `at the latest ${at(to)} (its lease's deadline ${at(lease.deadline)} + F ${fenceMs / 1000} s)${behind}`,
    };
}

/** What an operator accepted: a loss window of up to `seconds`, or whatever it is (`any`). */
export type AcceptedLoss = { readonly seconds: number } | "any";

export type LossVerdict = { readonly proceed: true; readonly reason: string } | { readonly proceed: false; readonly reason: string };

/**
 * The RPO guard on the window: within the budget (or no budget: the guard is off), or within
 * what an operator accepted. An unknown window is over any budget, and only `any` accepts it.
 */
export function lossVerdict(window: LossWindow | UnknownWindow, budgetSeconds: number | undefined, accepted?: AcceptedLoss): LossVerdict {
    if (!isKnown(window)) {
        if (accepted === "any") {
            return { proceed: true, reason: `an operator accepted any loss (the window is unknown: ${window.unknown})` };
        }
        if (budgetSeconds === undefined) {
            return { proceed: true, reason: `the RPO guard is off (the window is unknown: ${window.unknown})` };
        }
        return { proceed: false, reason: `the loss window is unknown (${window.unknown}); an unknown loss counts as over any budget` };
    }
    const width = `${window.seconds.toFixed(1)} s`;
    if (accepted === "any") {
        return { proceed: true, reason: `an operator accepted any loss (the window is ${width})` };
    }
    if (accepted !== undefined && window.seconds <= accepted.seconds) {
        return { proceed: true, reason: `an operator accepted a loss of up to ${accepted.seconds} s (the window is ${width})` };
    }
    if (budgetSeconds === undefined) {
        return { proceed: true, reason: `the RPO guard is off (the window is ${width})` };
    }
    if (window.seconds <= budgetSeconds) {
        return { proceed: true, reason: `the loss window ${width} is within the budget of ${budgetSeconds} s` };
    }
    const more = accepted !== undefined ? ` and over the ${accepted.seconds} s an operator accepted` : "";
    return { proceed: false, reason: `the loss window ${width} is over the budget of ${budgetSeconds} s${more}` };
}
