/**
 * The writer lease: which region may take application writes, and until when. Pure rules, no
 * I/O, no clock of their own.
 *
 * One record, kept outside the writer's region (failover/adapters/aws/writerLease.ts):
 *
 *   holder   the region whose database may take application writes
 *   epoch    bumped by every takeover: the fencing token (a writer of an older epoch is stale)
 *   version  random, rewritten by every renewal and takeover: what a taker watches for change
 *
 * The holder (the writer agent, failover/agent) renews every few seconds with a write
 * conditional on (holder, epoch). Before each renewal it reads its database's clock (the
 * anchor); after the renewal succeeds, the database's own deadline becomes anchor + (L - m),
 * and an event inside the database locks the application's account and ends its sessions once
 * that deadline has passed. So a frozen agent, a dead function or a cut network costs
 * availability, never a second writer: nothing has to run for the fence to close.
 *
 * A taker (the standby's controller) never compares clocks across hosts: like the DynamoDB
 * lock client, it notes the version it read and when the read returned, on its own monotonic
 * clock, and takes over only when the same version is still there L + d later, with a write
 * conditional on that version that bumps the epoch.
 *
 * Why that is safe. The old holder's last successful renewal was sent after its anchor and
 * committed before the taker's read returned. Its database stops application writes within
 * (L - m)(1 + r) + F of the anchor (r: the rate error of the database's clock; F: the event's
 * period plus the time to lock and end sessions). The taker acts no earlier than
 * (L + d)(1 - r) after its read returned (r: its own clock's rate error). So the old writer has
 * stopped before the new one may start whenever
 *
 *     (L - m)(1 + r) + F  <  (L + d)(1 - r)
 *
 * Clock offsets never enter it; only rates do. `timingSlackMs` is the difference; `timingProblem`
 * refuses a configuration where it is not positive.
 */

export interface LeaseTiming {
    /** L: how long a renewal keeps the lease, as a taker measures it. */
    readonly leaseMs: number;
    /** m: how much sooner than L the holder's database fences itself. */
    readonly marginMs: number;
    /** F: the database's fence time once its deadline has passed (event period + lock + kill). */
    readonly fenceMs: number;
    /** d: how much longer than L a taker waits on top. */
    readonly takeoverWaitMs: number;
    /**
     * r: the largest clock rate error assumed of any clock involved: an interval a clock measures
     * as T lasts between T(1 - r) and T(1 + r) of real time (0.001 = 1000 ppm).
     */
    readonly rateError: number;
    /** How often the holder renews. */
    readonly renewEveryMs: number;
    /** How long one renewal may take before it counts as failed. */
    readonly renewTimeoutMs: number;
}

/**
 * L 30 s, m 5 s, F 2 s (an event every second, then the lock and the kills), d 5 s, r 0.1 %
 * (NTP-disciplined clocks drift by tens of ppm; 1000 ppm is ten times that): the old writer has
 * stopped 27.0 s after its anchor at the latest, the taker acts 34.97 s after its read at the
 * earliest: 7.9 s to spare. Renewals every 5 s with a 2 s timeout: three in a row may fail
 * before the database fences itself (5 + 5 + 5 + 2 < 25).
 */
export const DEFAULT_LEASE_TIMING: LeaseTiming = {
    leaseMs: 30_000,
    marginMs: 5_000,
    fenceMs: 2_000,
    takeoverWaitMs: 5_000,
    rateError: 0.001,
    renewEveryMs: 5_000,
    renewTimeoutMs: 2_000,
};

/** The latest the old holder's database takes an application write, after its last anchor. */
export function holderStopsWithinMs(t: LeaseTiming): number {
    return (t.leaseMs - t.marginMs) * (1 + t.rateError) + t.fenceMs;
}

/** The earliest a taker acts, after the read that showed it the version it takes over. */
export function takerActsAfterMs(t: LeaseTiming): number {
    return (t.leaseMs + t.takeoverWaitMs) * (1 - t.rateError);
}

/** How much sooner the old holder stops than the taker may start: positive, or the timing is unsafe. */
export function timingSlackMs(t: LeaseTiming): number {
    return takerActsAfterMs(t) - holderStopsWithinMs(t);
}

/** The rate error at which the slack reaches 0: where the inequality breaks. */
export function breakingRateError(t: LeaseTiming): number {
    // (L - m)(1 + r) + F = (L + d)(1 - r)  <=>  r = ((L + d) - (L - m) - F) / ((L + d) + (L - m))
    return (t.takeoverWaitMs + t.marginMs - t.fenceMs) / (2 * t.leaseMs + t.takeoverWaitMs - t.marginMs);
}

/** Why this timing is unsafe or unworkable, or undefined. */
export function timingProblem(t: LeaseTiming): string | undefined {
    const values = Object.entries(t) as [keyof LeaseTiming, number][];
    const bad = values.find(([, v]) => !Number.isFinite(v) || v < 0);
    if (bad !== undefined) {
        return `${bad[0]} ${String(bad[1])}: expected a number of at least 0`;
    }
    if (t.rateError >= 0.5) {
        return `rateError ${t.rateError}: expected below 0.5 (a clock that fast or slow is broken, not drifting)`;
    }
    if (t.marginMs <= 0 || t.marginMs >= t.leaseMs) {
        return `marginMs ${t.marginMs}: expected above 0 and below leaseMs (${t.leaseMs})`;
    }
    const slack = timingSlackMs(t);
    if (slack <= 0) {
        return (
            `unsafe timing: the old writer may take writes until ${fmt(holderStopsWithinMs(t))} s after its last renewal ` +
            `((L - m)(1 + r) + F), but a taker may start ${fmt(takerActsAfterMs(t))} s after it ((L + d)(1 - r)); ` +
            `raise takeoverWaitMs or marginMs, or lower fenceMs`
        );
    }
    // Renewals must keep a healthy holder's database open: one renewal, late by its timeout,
    // still lands before the database's deadline, with a second chance to spare.
    if (2 * t.renewEveryMs + t.renewTimeoutMs >= t.leaseMs - t.marginMs) {
        return (
            `renewEveryMs ${t.renewEveryMs} with renewTimeoutMs ${t.renewTimeoutMs}: two renewals and a timeout ` +
            `(${2 * t.renewEveryMs + t.renewTimeoutMs} ms) must fit before the database fences itself (L - m = ${t.leaseMs - t.marginMs} ms)`
        );
    }
    return undefined;
}

const fmt = (ms: number) => (ms / 1000).toFixed(2);

/** The lease as stored. */
export interface WriterLeaseRecord {
    readonly holder: string;
    readonly epoch: number;
    readonly version: string;
    /** L, as the holder wrote it (for people; a taker uses its own configured L). */
    readonly leaseMs: number;
    /** The writer's wall clock at the last renewal or takeover: for people, never for a safety decision. */
    readonly renewedAt: number;
    /**
     * The holder's wall clock at its last renewal that could read its database's clock (the
     * anchor). A holder whose database does not answer (an in-region restart) keeps renewing
     * for a bounded grace after it (failover/agent/agent.ts); its database stays closed by its
     * own deadline meanwhile, so this bounds availability, never safety.
     */
    readonly anchoredAt?: number;
    /**
     * The deadline the holder's last anchored renewal let its database keep: anchor + (L - m),
     * Unix seconds on that database's own clock. The database's deadline is moved only after a
     * renewal succeeded, to at most this: so the holder's database closes by this + F, on its own
     * clock, which is the fence end of the loss window (failover/core/lossWindow.ts). Cleared by
     * a takeover (the new holder's database has its own clock).
     */
    readonly deadline?: number;
    /** A planned switchover under way (failover/core/writerLease.ts Handover), or none. */
    readonly handover?: Handover;
}

/**
 * A planned switchover, carried on the lease while it is under way. RPO exactly 0 needs the old
 * writer's word, not the lease's timing: the standby's controller requests it (a write
 * conditional on the holder and its epoch); from then on no renewal lands (every renewal is
 * conditional on there being no handover). The holder's agent closes its fence at once, waits
 * until no application session is left, beats one last time and publishes when that beat was
 * written (on its database's clock) with its GTID set. Every transaction the application
 * committed precedes that beat in the binary log, so a replica that applied the beat in commit
 * order holds all of them. The controller takes the lease at exactly the published version
 * (`take`, which removes the handover) once its replica has applied the final beat, and never
 * earlier; or withdraws the handover (a new epoch for the same holder, whose agent then renews
 * and reopens) when the replica does not catch up in time. The agent withdraws it too, once a
 * request is older than its timeout (a controller that crashed half-way must not keep the shop
 * closed).
 */
export interface Handover {
    /** The region the lease is handed to. */
    readonly to: string;
    /** When it was requested: the controller's wall clock (for people, and the agent's timeout). */
    readonly requestedAt: number;
    /** When the fenced writer wrote its final heartbeat: Unix seconds on its database's clock. */
    readonly finalBeatAt?: number;
    /** When its fence closed (the event's mark): Unix seconds on the same clock. */
    readonly fencedAt?: number;
    /** Its GTID set after the final beat, where the server keeps one (for people: the exact transactions). */
    readonly gtid?: string;
}

/**
 * 120 s: how old a handover request may grow, untaken, before the holder's agent withdraws it
 * (and reopens). A switchover waits for the final beat and the replica's catch-up well within it
 * (DEFAULT_SWITCHOVER_WAIT_MS); if its controller stopped, the shop is closed this long at most.
 */
export const DEFAULT_HANDOVER_TIMEOUT_MS = 120_000;
/** 90 s: how long a switchover waits for the old writer's final beat and the replica to apply it, then withdraws. */
export const DEFAULT_SWITCHOVER_WAIT_MS = 90_000;

/** A handover the old writer has published (its final beat written): what a switchover waits for. */
export type PublishedHandover = Handover & { readonly finalBeatAt: number; readonly fencedAt: number };

export function isPublished(h: Handover | undefined): h is PublishedHandover {
    return h?.finalBeatAt !== undefined && h.fencedAt !== undefined;
}

/** What a taker remembers of the lease between reads. */
export interface LapseWatch {
    readonly holder: string;
    readonly epoch: number;
    readonly version: string;
    /** When the read that first showed this version returned, on the taker's monotonic clock. */
    readonly firstSeenAt: number;
}

export interface LapseView {
    readonly watch: LapseWatch;
    /** The holder has not renewed for L + d of the taker's time: the lease may be taken. */
    readonly lapsed: boolean;
    /** How long until it lapses if nothing changes (0 once lapsed). */
    readonly lapsesInMs: number;
}

/**
 * The taker's view after a read that returned at `now` (monotonic). A changed version starts
 * the wait again; the same version keeps the time it was first seen.
 */
export function watchLease(previous: LapseWatch | undefined, record: WriterLeaseRecord, now: number, t: LeaseTiming): LapseView {
    const same = previous !== undefined && previous.version === record.version && previous.epoch === record.epoch;
    const watch: LapseWatch = same ? previous : { holder: record.holder, epoch: record.epoch, version: record.version, firstSeenAt: now };
    const waitMs = t.leaseMs + t.takeoverWaitMs;
    const lapsesInMs = Math.max(0, watch.firstSeenAt + waitMs - now);
    return { watch, lapsed: lapsesInMs === 0, lapsesInMs };
}

/** The holder's view: the database's deadline, on the database's clock, from the anchor read before a renewal. */
export function databaseDeadlineAfterMs(t: LeaseTiming): number {
    return t.leaseMs - t.marginMs;
}
