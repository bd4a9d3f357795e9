/**
 * The controller's tunables: defaults and allowed ranges, defined once. The CLI validates
 * its flags against these; the Pulumi program (which deploys the controller in a later
 * issue) validates its config keys against the same ranges.
 */

export interface Range {
    readonly min: number;
    readonly max: number;
    /** Whole numbers only. */
    readonly integer: boolean;
}

/**
 * Seconds between the starts of two probe rounds. Fractions are allowed so that drills and
 * tests run fast; below 0.01 s the timers' own jitter dominates.
 */
export const INTERVAL_SECONDS: Range = { min: 0.01, max: 3600, integer: false };
export const DEFAULT_INTERVAL_SECONDS = 10;

/** Consecutive failed rounds before the controller decides. Route 53 and Global Accelerator allow 1-10. */
export const MAX_FAIL: Range = { min: 1, max: 100, integer: true };
export const DEFAULT_MAX_FAIL = 3;

/** A probe's timeout. It may not exceed the interval (see `validateTiming`). */
export const TIMEOUT_SECONDS: Range = { min: 0.005, max: 3600, integer: false };
/** The default timeout: the interval, capped here. */
export const DEFAULT_TIMEOUT_CAP_SECONDS = 5;

/** The RPO budget: the loss window (seconds, an upper bound) a failover may go on with. */
export const MAX_LAG_SECONDS: Range = { min: 0, max: 86_400, integer: false };

/** How long the assessment waits for the standby to apply what it received before it reads the loss window. */
export const LAG_WAIT_SECONDS: Range = { min: 0, max: 3600, integer: false };
export const DEFAULT_LAG_WAIT_SECONDS = 30;
/**
 * The deployed controller's (Pulumi config `failoverLagWaitSeconds`, and the Lambda's config):
 * its replica reader waits at most REPLICA_READ_MAX_WAIT_MS (45 s, failover/lambda/replicaHandler.ts)
 * within a controller run of about 50 s, so 30 s leaves the run time to act.
 */
export const DEPLOYED_LAG_WAIT_SECONDS: Range = { min: 0, max: 30, integer: true };

/** The recovery block after a completed failover (no automatic one within it). */
export const RECOVERY_BLOCK_SECONDS: Range = { min: 0, max: 30 * 86_400, integer: false };
/** An hour, like orchestrator's RecoveryPeriodBlockSeconds: a second failure during the failback is a person's call. */
export const DEFAULT_RECOVERY_BLOCK_SECONDS = 3600;

/** Extra attempts of a failed step within one run, with exponential backoff and jitter. */
export const RETRIES: Range = { min: 0, max: 20, integer: true };
export const DEFAULT_RETRIES = 3;
export const RETRY_DELAY_SECONDS: Range = { min: 0, max: 600, integer: false };
export const DEFAULT_RETRY_DELAY_SECONDS = 1;

/** The lease a run holds on the state. The file lock's library cannot go below 2 s. */
export const LEASE_SECONDS: Range = { min: 2, max: 3600, integer: false };
export const DEFAULT_LEASE_SECONDS = 10;

/** How long one action (a hook call, one poll of a promotion) may take. */
export const ACTION_TIMEOUT_SECONDS: Range = { min: 0.01, max: 3600, integer: false };
export const DEFAULT_ACTION_TIMEOUT_SECONDS = 30;

/** How long the promote step waits for the promoted writer to accept writes within one run. */
export const PROMOTE_TIMEOUT_SECONDS: Range = { min: 0.01, max: 86_400, integer: false };
export const DEFAULT_PROMOTE_TIMEOUT_SECONDS = 900;

/** How long a watch runs; without it, until it fails over. */
export const FOR_SECONDS: Range = { min: 0, max: 10 * 365 * 86_400, integer: false };

/** The CloudWatch namespace of the deployed controller's metrics (Phase, Ready, Held), which its alarms read. */
export const METRIC_NAMESPACE = "Ecommerce/Failover";
/** The metrics' one dimension: the controller's region. */
export const METRIC_DIMENSION = "ControllerRegion";
/** The controller's metrics: its phase (index in PHASES), readiness (1/0), an RPO hold (1/0). */
export const METRICS = { phase: "Phase", ready: "Ready", held: "Held" } as const;
/**
 * The writer agent's metrics (same namespace and dimension): it holds the lease (1/0), the
 * longest gap between two renewals in a run (seconds), the fence armed at its last look (1/0).
 */
export const AGENT_METRICS = { holder: "LeaseHolder", renewalGap: "LeaseRenewalGapSeconds", fenceArmed: "FenceArmed" } as const;

/**
 * How long the witness's post may stay unchanged before the controller hears silence
 * (failover/probes/witness.ts): three of its intervals (it posts once per interval).
 */
export function defaultWitnessMaxAgeSeconds(intervalSeconds: number): number {
    return 3 * intervalSeconds;
}

/** A quorum of `probes` vantage points: 1..probes. The default is a strict majority. */
export function defaultQuorum(probes: number): number {
    return Math.floor(probes / 2) + 1;
}

/** A problem with one setting: what was received and what is allowed. */
export function checkRange(label: string, value: number, range: Range): string | undefined {
    if (!Number.isFinite(value) || value < range.min || value > range.max || (range.integer && !Number.isInteger(value))) {
        const kind = range.integer ? "a whole number" : "a number";
        return `${label} ${String(value)}: expected ${kind} from ${range.min} to ${range.max}`;
    }
    return undefined;
}
