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
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GlobalAcceleratorClient } from "@aws-sdk/client-global-accelerator";
import { RDSClient } from "@aws-sdk/client-rds";
import { SNSClient } from "@aws-sdk/client-sns";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GLOBAL_REGION } from "../../lib/regions";
import { call, clientConfig } from "../adapters/aws/calls";
import { RdsDatabase } from "../adapters/aws/database";
import { DynamoLock, DynamoStateStore } from "../adapters/aws/dynamo";
import { SnsNotifier } from "../adapters/aws/notifier";
import { discoverSites, GlobalAcceleratorTraffic } from "../adapters/aws/traffic";
import { Controller, Emit, Outcome } from "../controller";
import type { Adapters } from "../core/ports";
import { PHASES } from "../core/decision";
import { AcceleratorHealthProbe } from "../probes/accelerator";
import { HttpProbe, Probe } from "../probes/http";
import { parseLambdaConfig } from "./config";

/** The metric namespace the alarms and dashboards read. */
export const METRIC_NAMESPACE = "Ecommerce/Failover";
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
    const here = clientConfig(cfg.region);
    const globalAccelerator = new GlobalAcceleratorClient(clientConfig(GLOBAL_REGION));
    const parameter = await call("ssm:GetParameter", cfg.listenerParameter, () =>
        new SSMClient(clientConfig(GLOBAL_REGION)).send(new GetParameterCommand({ Name: cfg.listenerParameter })),
    );
    const listenerArn = parameter.Parameter?.Value ?? "";
    const sites = await discoverSites(globalAccelerator, listenerArn, { region: cfg.region, loadBalancerArn: cfg.loadBalancerArn });
    const dynamo = new DynamoDBClient(here);
    const adapters: Adapters = {
        traffic: new GlobalAcceleratorTraffic(globalAccelerator, sites),
        database: new RdsDatabase(
            new RDSClient(here),
            new CloudWatchClient(here),
            new RDSClient(clientConfig(cfg.writerRegion, { maxAttempts: 2 })),
            {
                standbyIdentifier: cfg.standbyIdentifier,
                expectedSourceArn: cfg.expectedSourceArn,
                oldWriterIdentifier: cfg.oldWriterIdentifier,
            },
        ),
        notifier: new SnsNotifier(new SNSClient(here), cfg.topicArn),
        store: new DynamoStateStore(dynamo, cfg.table, cfg.region),
        lock: new DynamoLock(dynamo, cfg.table, cfg.region, { leaseMs: cfg.leaseSeconds * 1000 }),
    };
    const writerGroup = sites[cfg.writerRegion]?.endpointGroupArn;
    const expectBody = cfg.expectBody === undefined ? undefined : new RegExp(cfg.expectBody);
    const probes: Probe[] = [
        ...cfg.httpProbes.map((p) => new HttpProbe(p.name, p.url, expectBody)),
        new AcceleratorHealthProbe(
            "accelerator-health",
            globalAccelerator,
            () =>
                writerGroup === undefined
                    ? Promise.reject(new Error(`no endpoint group for ${cfg.writerRegion} on the listener`))
                    : Promise.resolve(writerGroup),
            cfg.writerRegion,
        ),
    ];

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
