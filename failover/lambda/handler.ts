/**
 * The controller as it runs in AWS: a Lambda in the standby region, invoked every minute by
 * EventBridge Scheduler, running probe rounds at `intervalSeconds` for most of the invocation
 * (so intervals below a minute work), under a DynamoDB lease so overlapping invocations never
 * act together, with its state in DynamoDB so the next invocation resumes a failover (a
 * promotion outlasts one invocation). Everything it needs lives in its own region or in
 * us-west-2 (Global Accelerator's API, the listener's parameter): nothing in the failed region
 * but the old writer it tries to fence.
 *
 * Each invocation also evaluates readiness (could a failover succeed now) and publishes the
 * phase and the readiness as CloudWatch metrics through the Embedded Metric Format: one JSON
 * log line, no extra API call or permission.
 */
import { setTimeout as sleep } from "timers/promises";
import { awsWorld } from "../adapters/aws";
import { adapterReadiness, Controller, Emit, Outcome, StepFailedError } from "../controller";
import { LockHeldError } from "../core/ports";
import { PHASES } from "../core/decision";
import { METRIC_DIMENSION, METRIC_NAMESPACE, METRICS } from "../core/settings";
import { parseLambdaConfig } from "./config";
import { emfLine, jsonLog } from "./emf";

/** Time kept back from each invocation for the lease's release and the metrics. */
const SAFETY_MS = 10_000;
/** How long the readiness checks may take (they run beside the watch). */
const READINESS_BUDGET_MS = 20_000;

interface LambdaContext {
    getRemainingTimeInMillis(): number;
}

const log: Emit = jsonLog;

/** The controller's metrics, as one EMF line. */
function metrics(region: string, values: Record<string, number>): void {
    process.stdout.write(emfLine(METRIC_NAMESPACE, { [METRIC_DIMENSION]: region }, values));
}

/**
 * How an invocation ended. `stopped`: its time ran out in the middle of something (a
 * promotion, waiting for the lease); the state keeps it and the next minute resumes. A
 * failed step is `step-failed`, not a thrown error: Scheduler invokes asynchronously, and an
 * error would be retried by Lambda's own queue beside the next minute's invocation.
 */
export type InvocationOutcome = Outcome | "stopped" | "step-failed" | "lease-held";

export async function handler(_event: unknown, context: LambdaContext): Promise<{ outcome: InvocationOutcome; ready: boolean }> {
    const cfg = parseLambdaConfig(process.env.FAILOVER_CONFIG);
    // Everything this invocation does ends SAFETY_MS before its timeout: the lease is released
    // and the metrics written in time.
    const budgetMs = Math.max(1000, context.getRemainingTimeInMillis() - SAFETY_MS);
    const endsAt = Date.now() + budgetMs;
    const budget = AbortSignal.timeout(budgetMs);
    const { adapters, probes } = awsWorld(cfg, { leaseWaitMs: Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MS) });

    // Readiness, every invocation: what a failover would need, without acting. Beside the watch,
    // never before it (IAM or the failed region answering slowly must not delay a failover),
    // and bounded: a check that has not answered in time counts as not ready.
    const readinessBudgetMs = Math.min(READINESS_BUDGET_MS, Math.max(1000, context.getRemainingTimeInMillis() - SAFETY_MS));
    const readiness = Promise.race([
        adapterReadiness(adapters, { lease: false }),
        sleep(readinessBudgetMs, undefined, { ref: false }).then(() => [
            { name: "readiness", ok: false, detail: `the checks did not finish within ${readinessBudgetMs / 1000} s` },
        ]),
    ]).then((checks) => {
        const ready = checks.every((c) => c.ok);
        log("readiness", { ready, checks });
        return ready;
    });

    const controller = new Controller(
        { adapters, probes, emit: log, signal: budget },
        {
            roles: { region: cfg.region, writerRegion: cfg.writerRegion },
            thresholds: { maxFail: cfg.maxFail, quorum: cfg.quorum },
            intervalMs: cfg.intervalSeconds * 1000,
            timeoutMs: cfg.timeoutSeconds * 1000,
            maxLagSeconds: cfg.maxLagSeconds,
            lagWaitMs: cfg.lagWaitSeconds * 1000,
            retries: 2,
            retryDelayMs: 1000,
            // The promotion is polled until the invocation's budget ends (the signal), then resumed.
            promoteTimeoutMs: 15 * 60_000,
            dryRun: false,
            leaseTiming: cfg.leaseTiming,
            recoveryBlockMs: cfg.recoveryBlockSeconds * 1000,
        },
    );
    let outcome: InvocationOutcome;
    let ready: boolean;
    try {
        // Until the budget's end, absolute (the controller's clock is Date.now's): time spent
        // waiting for the lease or loading the state comes out of the watch, not after it. The
        // watch starts no round that could outlast it, so a healthy invocation ends "elapsed".
        outcome = await controller.watch(undefined, endsAt);
    } catch (err) {
        outcome = budget.aborted
            ? "stopped"
            : err instanceof StepFailedError
              ? "step-failed"
              : err instanceof LockHeldError
                ? "lease-held"
                : "step-failed";
        log("error", { outcome, error: (err as Error).message });
        if (!(err instanceof StepFailedError) && !(err instanceof LockHeldError) && !budget.aborted) {
            throw err; // a bug or a refused configuration: an error the alarm should see
        }
    } finally {
        ready = await readiness;
        const state = await adapters.store.load().catch(() => undefined);
        metrics(cfg.region, {
            [METRICS.phase]: PHASES.indexOf(state?.phase ?? "healthy"),
            [METRICS.ready]: ready ? 1 : 0,
            [METRICS.held]: state?.phase === "held" ? 1 : 0,
        });
    }
    log("end", { outcome });
    return { outcome, ready };
}
