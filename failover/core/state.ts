/**
 * The controller's persisted state, and the pure rules about the failover's steps. The state
 * is written after every change (a phase, a count, a step started or completed), so a
 * restarted controller neither forgets how many rounds have failed nor repeats a step that
 * completed.
 */
import { Phase, PHASES, Roles } from "./decision";
import { type AcceptedLoss, isKnown, type LossWindow, type ReplicaEvidence, type UnknownWindow } from "./lossWindow";
import type { ReadinessCheck } from "./ports";
import type { WriterLeaseRecord } from "./writerLease";

/**
 * The failover, in order. Before the first step, an assessment that changes nothing (the lease
 * seen lapsed, the standby replicating the writer, every precondition, the loss window within
 * its budget); a failed assessment is a hold with nothing changed (phase `held`). Each step is
 * idempotent: safe to run twice, safe to resume after a crash in the middle of it.
 *   take-lease    take the writer lease (failover/core/writerLease.ts) at exactly the version
 *                 the assessment saw lapse: a conditional write bumping the epoch. From here the
 *                 old writer's database refuses application writes by itself. A lease its holder
 *                 renewed meanwhile stands the failover down, with nothing done
 *   fence         stop traffic to the failed site: take its load balancer out of its endpoint
 *                 group and set the dial to 0 (not weight 0: Global Accelerator may still send
 *                 a weight-0 endpoint traffic when it fails open; lib/accelerator.ts), and make
 *                 its writer refuse writes where it still answers
 *   promote       promote the standby writer and wait until it accepts writes (the request is
 *                 recorded before it is made: a standalone standby counts as promoted only then)
 *   move-traffic  send traffic to this site: its load balancer into its group at weight 128,
 *                 dial 100 (lib/accelerator.ts trafficFor("writer"))
 *   notify        tell people what was done and what may be lost
 * Between take-lease and promote an operator may `abort`: the lease goes back to the old
 * writer, traffic and its fence are undone. From promote on there is no undo.
 */
export const STEPS = ["take-lease", "fence", "promote", "move-traffic", "notify"] as const;
export type StepName = (typeof STEPS)[number];

/** A step of an earlier version, accepted in a stored state and dropped (the loss window replaced it). */
const RETIRED_STEPS = ["record-lag"];

/** The assessment before any side effect: what was read, and what it decided. */
export interface Assessment {
    readonly at: number;
    /** The lease as seen lapsed: the version take-lease takes (undefined: no writer lease configured). */
    readonly lease?: WriterLeaseRecord;
    readonly evidence?: ReplicaEvidence;
    readonly window: LossWindow | UnknownWindow;
    /** Every precondition, read without acting. */
    readonly checks: readonly ReadinessCheck[];
    readonly proceed: boolean;
    /** Why it proceeds or holds, for people. */
    readonly reason: string;
}

/** One vantage point's vote in the round that decided. */
export interface Vote {
    readonly name: string;
    readonly vote: "up" | "down" | "abstained";
    readonly detail?: string;
}

export interface CompletedStep {
    readonly step: StepName;
    readonly startedAt: number;
    readonly completedAt: number;
    readonly attempts: number;
    readonly detail?: string;
}

export interface FailoverRecord {
    readonly trigger: "automatic" | "manual" | "switchover";
    readonly decidedAt: number;
    /** The region that failed (the writer region when the decision was made). */
    readonly from: string;
    /** This controller's region, which becomes the writer. */
    readonly to: string;
    /** What each vantage point said in the round that decided (automatic failovers). */
    readonly votes?: readonly Vote[];
    readonly completed: readonly CompletedStep[];
    /** The step under way (written before it starts, so a crash leaves a trace). */
    readonly current?: { readonly step: StepName; readonly startedAt: number; readonly attempts: number; readonly lastError?: string };
    /** The latest assessment (the one the failover went on with, or the hold's). */
    readonly assessment?: Assessment;
    /** The writer lease this failover took: its new epoch (the fencing token) and whose it was. */
    readonly lease?: { readonly epoch: number; readonly takenAt: number; readonly previousHolder: string; readonly previousEpoch: number };
    /** The failover stood down before any side effect (the writer renewed its lease): why, and when. */
    readonly stoodDown?: { readonly at: number; readonly reason: string };
    /** A loss an operator accepted (`failover --accept-loss`), and when. */
    readonly accepted?: { readonly loss: AcceptedLoss; readonly at: number };
    /** The assessment held the failover (nothing changed) since then, and why. */
    readonly heldSince?: number;
    readonly heldReason?: string;
    /** The hold cleared by itself (the writer renewed its lease): nothing was ever changed. */
    readonly clearedAt?: number;
    /** An operator began an abort (saved before anything is undone: a resumed run refuses the failover). */
    readonly abortingAt?: number;
    /** An operator aborted it between the take and the promotion: the lease handed back, traffic and fence undone. */
    readonly abortedAt?: number;
    /** The promotion was requested (recorded before the request is made). */
    readonly promotionRequestedAt?: number;
    readonly completedAt?: number;
    /** An operator re-armed the controller after it (the recovery block counts from the failover's completion). */
    readonly rearmedAt?: number;
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

/** What the operator is told may be lost, from the assessment's window. */
export function dataAtRisk(record: FailoverRecord): string {
    const window = record.assessment?.window;
    if (window === undefined) {
        return "unknown: no assessment was made";
    }
    if (!isKnown(window)) {
        return `unknown: ${window.unknown}`;
    }
    return window.missingGtid === "" ? `none: ${window.detail}` : `up to ${window.seconds.toFixed(1)} s of writes: ${window.detail}`;
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
    const needsRecord = s.phase === "failing-over" || s.phase === "failed-over" || s.phase === "held";
    if (needsRecord !== (s.failover !== undefined)) {
        fail(`phase ${String(s.phase)} ${needsRecord ? "without" : "with"} a failover record`);
    }
    if (s.failover !== undefined) {
        const f = s.failover as Record<string, unknown>;
        if (!Array.isArray(f.completed) || !isNumber(f.decidedAt) || !isString(f.from) || !isString(f.to)) {
            fail("failover record needs completed, decidedAt, from and to");
        }
        for (const c of f.completed as unknown[]) {
            const step = (c as CompletedStep).step;
            if (!STEPS.includes(step) && !RETIRED_STEPS.includes(step)) {
                fail(`unknown completed step ${JSON.stringify(step)}`);
            }
        }
        // A retired step done by an earlier version is not a step any more.
        (f as { completed: CompletedStep[] }).completed = (f.completed as CompletedStep[]).filter((c) => STEPS.includes(c.step));
    }
    if (s.history !== undefined && !Array.isArray(s.history)) {
        fail("history must be a list of failover records");
    }
    return raw as ControllerState;
}
