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
import { awsWorld } from "../adapters/aws";
import { Controller, Emit, Outcome } from "../controller";
import { PHASES } from "../core/decision";
import { METRIC_NAMESPACE } from "../core/settings";
import { parseLambdaConfig } from "./config";

/** Time kept back from each invocation for the lease's release and the metrics. */
const SAFETY_MS = 10_000;

interface LambdaContext {
    getRemainingTimeInMillis(): number;
}

const log: Emit = (event, fields = {}) => process.stdout.write(`${JSON.stringify({ ts: Date.now(), event, ...fields })}\n`);

/** A CloudWatch Embedded Metric Format line. */
function metrics(region: string, values: Record<string, number>): void {
    process.stdout.write(
        `${JSON.stringify({
            _aws: {
                Timestamp: Date.now(),
                CloudWatchMetrics: [
                    {
                        Namespace: METRIC_NAMESPACE,
                        Dimensions: [["ControllerRegion"]],
                        Metrics: Object.keys(values).map((Name) => ({ Name })),
                    },
                ],
            },
            ControllerRegion: region,
            ...values,
        })}\n`,
    );
}

export async function handler(_event: unknown, context: LambdaContext): Promise<{ outcome: Outcome; ready: boolean }> {
    const cfg = parseLambdaConfig(process.env.FAILOVER_CONFIG);
    const { adapters, probes } = await awsWorld(cfg);

    // Readiness, every invocation: what a failover would need, without acting (the lease is
    // not among them: a running invocation holds it).
    const checks = (
        await Promise.all([adapters.traffic, adapters.database, adapters.notifier, adapters.store].map((a) => a.readiness()))
    ).flat();
    const ready = checks.every((c) => c.ok);
    log("readiness", { ready, checks });

    const controller = new Controller(
        { adapters, probes, emit: log },
        {
            roles: { region: cfg.region, writerRegion: cfg.writerRegion },
            thresholds: { maxFail: cfg.maxFail, quorum: cfg.quorum },
            intervalMs: cfg.intervalSeconds * 1000,
            timeoutMs: cfg.timeoutSeconds * 1000,
            maxLagSeconds: cfg.maxLagSeconds,
            lagWaitMs: cfg.lagWaitSeconds * 1000,
            retries: 2,
            retryDelayMs: 1000,
            promoteTimeoutMs: Math.max(1000, context.getRemainingTimeInMillis() - SAFETY_MS),
            dryRun: false,
        },
    );
    const outcome = await controller.watch(Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MS));
    const state = await adapters.store.load();
    metrics(cfg.region, { Phase: PHASES.indexOf(state?.phase ?? "healthy"), Ready: ready ? 1 : 0, Held: outcome === "held" ? 1 : 0 });
    log("end", { outcome });
    return { outcome, ready };
}
