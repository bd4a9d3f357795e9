/**
 * The controller's persisted state, and the pure rules about the failover's steps. The state
 * is written after every change (a phase, a count, a step started or completed), so a
 * restarted controller neither forgets how many rounds have failed nor repeats a step that
 * completed.
 */
import { Phase, PHASES, Roles } from "./decision";

/**
 * The failover, in order. Each step is idempotent: safe to run twice, safe to resume after a
 * crash in the middle of it.
 *   take-lease    take the writer lease (failover/core/writerLease.ts) once it has lapsed: a
 *                 write conditional on the version watched for a whole lease, bumping the epoch.
 *                 From here the old writer's database refuses application writes by itself.
 *                 A lease its holder renews meanwhile stands the failover down, with nothing done
 *   fence         stop traffic to the failed site: take its load balancer out of its endpoint
 *                 group and set the dial to 0 (not weight 0: Global Accelerator may still send
 *                 a weight-0 endpoint traffic when it fails open; lib/accelerator.ts), and make
 *                 its writer refuse writes where it still answers
 *   record-lag    read the standby writer's replication lag before promoting: the data at risk
 *   promote       promote the standby writer and wait until it accepts writes
 *   move-traffic  send traffic to this site: its load balancer into its group at weight 128,
 *                 dial 100 (lib/accelerator.ts trafficFor("writer"))
 *   notify        tell people what was done and what may be lost
 */
export const STEPS = ["take-lease", "fence", "record-lag", "promote", "move-traffic", "notify"] as const;
export type StepName = (typeof STEPS)[number];

/** What was read of the standby writer's replication lag. `seconds` undefined: it could not be read. */
export interface LagReading {
    readonly seconds?: number;
    readonly readAt: number;
    /** Where the number came from (a hook URL, a metric) or why there is none. */
    readonly source: string;
    readonly error?: string;
}

export interface CompletedStep {
    readonly step: StepName;
    readonly startedAt: number;
    readonly completedAt: number;
    readonly attempts: number;
    readonly detail?: string;
}

export interface FailoverRecord {
    readonly trigger: "automatic" | "manual";
    readonly decidedAt: number;
    /** The region that failed (the writer region when the decision was made). */
    readonly from: string;
    /** This controller's region, which becomes the writer. */
    readonly to: string;
    readonly completed: readonly CompletedStep[];
    /** The step under way (written before it starts, so a crash leaves a trace). */
    readonly current?: { readonly step: StepName; readonly startedAt: number; readonly attempts: number; readonly lastError?: string };
    readonly lag?: LagReading;
    /** The writer lease this failover took: its new epoch (the fencing token) and whose it was. */
    readonly lease?: { readonly epoch: number; readonly takenAt: number; readonly previousHolder: string; readonly previousEpoch: number };
    /** The failover stood down before any side effect (the writer renewed its lease): why, and when. */
    readonly stoodDown?: { readonly at: number; readonly reason: string };
    /** An operator accepted the loss of data over the RPO budget (`failover --accept-data-loss`). */
    readonly acceptedDataLossAt?: number;
    /** The RPO guard holds the promotion until an operator decides. */
    readonly heldSince?: number;
    readonly heldReason?: string;
    readonly completedAt?: number;
}

export interface ControllerState extends Roles {
    readonly version: 1;
    readonly phase: Phase;
    readonly consecutiveFailedRounds: number;
    /** When the current run of failed rounds began (the first failed round's start). */
    readonly suspectSince?: number;
    readonly updatedAt: number;
    readonly failover?: FailoverRecord;
    /** Failovers that an operator has since re-armed the controller after (newest last). */
    readonly history?: readonly FailoverRecord[];
}

export function initialState(roles: Roles, now: number): ControllerState {
    return { version: 1, ...roles, phase: "healthy", consecutiveFailedRounds: 0, updatedAt: now };
}

/** The first step not completed yet, or undefined when the failover is done. */
export function nextStep(record: FailoverRecord): StepName | undefined {
    const done = new Set(record.completed.map((c) => c.step));
    return STEPS.find((s) => !done.has(s));
}

export type RpoVerdict = { readonly promote: true; readonly reason: string } | { readonly promote: false; readonly reason: string };

/**
 * The RPO guard. Without a budget it is off. With one, a lag that is missing, unreadable or
 * over the budget holds the promotion, unless an operator has accepted the data loss.
 */
export function rpoVerdict(lag: LagReading | undefined, maxLagSeconds: number | undefined, acceptedDataLoss: boolean): RpoVerdict {
    const measured = lag?.seconds === undefined ? "unknown" : `${lag.seconds} s`;
    if (acceptedDataLoss) {
        return { promote: true, reason: `an operator accepted the data loss (replication lag ${measured})` };
    }
    if (maxLagSeconds === undefined) {
        return { promote: true, reason: `the RPO guard is off (replication lag ${measured})` };
    }
    if (lag === undefined || lag.seconds === undefined) {
        const why = lag?.error ? `: ${lag.error}` : "";
        return {
            promote: false,
            reason: `replication lag could not be read${why}; unreadable lag counts as over the budget of ${maxLagSeconds} s`,
        };
    }
    if (lag.seconds > maxLagSeconds) {
        return { promote: false, reason: `replication lag ${lag.seconds} s is over the budget of ${maxLagSeconds} s` };
    }
    return { promote: true, reason: `replication lag ${lag.seconds} s is within the budget of ${maxLagSeconds} s` };
}

/** What the operator is told may be lost. */
export function dataAtRisk(lag: LagReading | undefined): string {
    if (lag === undefined) {
        return "unknown: the replication lag was not recorded";
    }
    if (lag.seconds === undefined) {
        return `unknown: the replication lag could not be read (${lag.error ?? lag.source})`;
    }
    if (lag.seconds === 0) {
        return "none expected: the standby writer reported no replication lag before promotion";
    }
    return `up to the last ${lag.seconds} s of writes to the old writer, as the standby writer's replication lag read before promotion`;
}

export class StateFormatError extends Error {}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === "string" && v !== "";

/** Checks a loaded state's shape; a state this code did not write is refused, not guessed at. */
export function parseState(raw: unknown, where: string): ControllerState {
    const fail = (what: string): never => {
        throw new StateFormatError(`${where}: not a failover controller state (${what})`);
    };
    if (typeof raw !== "object" || raw === null) {
        return fail("not a JSON object");
    }
    const s = raw as Record<string, unknown>;
    if (s.version !== 1) {
        fail(`version ${JSON.stringify(s.version)}, expected 1`);
    }
    if (!isString(s.region) || !isString(s.writerRegion)) {
        fail("region and writerRegion must be names");
    }
    if (!PHASES.includes(s.phase as Phase)) {
        fail(`phase ${JSON.stringify(s.phase)}, expected one of ${PHASES.join(", ")}`);
    }
    if (!isNumber(s.consecutiveFailedRounds) || s.consecutiveFailedRounds < 0 || !isNumber(s.updatedAt)) {
        fail("consecutiveFailedRounds and updatedAt must be numbers");
    }
    const needsRecord = s.phase === "failing-over" || s.phase === "failed-over";
    if (needsRecord !== (s.failover !== undefined)) {
        fail(`phase ${String(s.phase)} ${needsRecord ? "without" : "with"} a failover record`);
    }
    if (s.failover !== undefined) {
        const f = s.failover as Record<string, unknown>;
        if (!Array.isArray(f.completed) || !isNumber(f.decidedAt) || !isString(f.from) || !isString(f.to)) {
            fail("failover record needs completed, decidedAt, from and to");
        }
        for (const c of f.completed as unknown[]) {
            if (!STEPS.includes((c as CompletedStep).step)) {
                fail(`unknown completed step ${JSON.stringify((c as CompletedStep).step)}`);
            }
        }
    }
    if (s.history !== undefined && !Array.isArray(s.history)) {
        fail("history must be a list of failover records");
    }
    return raw as ControllerState;
}
