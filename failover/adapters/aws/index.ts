/**
 * The controller's world in AWS, from its configuration (failover/lambda/config.ts): the
 * adapters (Global Accelerator in us-west-2, RDS and CloudWatch here and in the writer region,
 * SNS, DynamoDB, the writer lease) and the vantage points: this region's HTTP probe, the
 * accelerator's endpoint health and the witness's post. The Lambda and the CLI (`--adapters aws`) build
 * the same.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GlobalAcceleratorClient } from "@aws-sdk/client-global-accelerator";
import { IAMClient } from "@aws-sdk/client-iam";
import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { GLOBAL_REGION } from "../../../lib/regions";
import type { Adapters } from "../../core/ports";
import type { LambdaConfig } from "../../lambda/config";
import { AcceleratorHealthProbe } from "../../probes/accelerator";
import { HttpProbe, Probe } from "../../probes/http";
import { DynamoWitnessBoard, WitnessVantage } from "../../probes/witness";
import { clientConfig } from "./calls";
import { RdsDatabase } from "./database";
import { LambdaReplicaReader } from "./replicaReader";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { DynamoLock, DynamoStateStore } from "./dynamo";
import { SnsNotifier } from "./notifier";
import { AwsPreconditions } from "./preconditions";
import { discoverSites, GlobalAcceleratorTraffic, SiteEndpoint } from "./traffic";
import { DynamoWriterLease } from "./writerLease";

export interface WorldOptions {
    /** How long acquiring the lease may wait (a Lambda's remaining time). @default one lease period */
    readonly leaseWaitMs?: number;
}

/**
 * Nothing here calls us-west-2's control plane before the watch starts: the listener comes from
 * the configuration, and its endpoint groups are discovered when first needed (the accelerator
 * probe, readiness, a traffic step), once per world, again after a failed try. A Global
 * Accelerator API that does not answer makes the accelerator probe abstain and readiness say
 * so; the watch, the writer lease and the witness go on.
 */
export function awsWorld(cfg: LambdaConfig, options: WorldOptions = {}): { adapters: Adapters; probes: Probe[] } {
    const here = clientConfig(cfg.region);
    const globalAccelerator = new GlobalAcceleratorClient(clientConfig(GLOBAL_REGION));
    let discovery: Promise<Record<string, SiteEndpoint>> | undefined;
    const sites = (): Promise<Record<string, SiteEndpoint>> =>
        (discovery ??= discoverSites(globalAccelerator, cfg.listenerArn, {
            region: cfg.region,
            loadBalancerArn: cfg.loadBalancerArn,
        }).catch((err: unknown) => {
            discovery = undefined;
            throw err;
        }));
    const dynamo = new DynamoDBClient(here);
    // The lease store answers in its own region (a replica of the multi-Region table): short
    // timeouts, so one slow call never outlasts a round.
    const leaseDynamo = new DynamoDBClient(
        clientConfig(cfg.leaseRegion, { maxAttempts: 2, connectionTimeoutMs: 1000, requestTimeoutMs: 2000 }),
    );
    const rds = new RDSClient(here);
    // The failed region answers slowly or not at all: fewer attempts, so the fence gives up in time.
    const writerRegionRds = new RDSClient(clientConfig(cfg.writerRegion, { maxAttempts: 2 }));
    const adapters: Adapters = {
        writerLease: new DynamoWriterLease(leaseDynamo, cfg.leaseTable),
        traffic: new GlobalAcceleratorTraffic(globalAccelerator, sites, [cfg.region, cfg.writerRegion]),
        database: new RdsDatabase(rds, writerRegionRds, {
            standbyIdentifier: cfg.standbyIdentifier,
            expectedSourceArn: cfg.expectedSourceArn,
            oldWriterIdentifier: cfg.oldWriterIdentifier,
            // One attempt: a read that failed is read again next round, never twice in one.
            replicaReader: new LambdaReplicaReader(
                new LambdaClient(clientConfig(cfg.region, { maxAttempts: 1 })),
                cfg.replicaReaderFunction,
            ),
        }),
        notifier: new SnsNotifier(new SNSClient(here), cfg.topicArn),
        store: new DynamoStateStore(dynamo, cfg.table, cfg.region),
        lock: new DynamoLock(dynamo, cfg.table, cfg.region, { leaseMs: cfg.leaseSeconds * 1000, maxWaitMs: options.leaseWaitMs }),
        preconditions: [
            new AwsPreconditions(
                {
                    iam: new IAMClient(here),
                    secrets: new SecretsManagerClient(here),
                    rds,
                    writerRegionRds,
                },
                cfg,
                async () => ({
                    listenerArn: cfg.listenerArn,
                    endpointGroupArns: Object.values(await sites()).map((s) => s.endpointGroupArn),
                }),
            ),
        ],
    };
    const expectBody = cfg.expectBody === undefined ? undefined : new RegExp(cfg.expectBody);
    const probes: Probe[] = [
        ...cfg.httpProbes.map((p) => new HttpProbe(p.name, p.url, expectBody)),
        new AcceleratorHealthProbe(
            "accelerator-health",
            globalAccelerator,
            async () => {
                const group = (await sites())[cfg.writerRegion]?.endpointGroupArn;
                if (group === undefined) {
                    throw new Error(`no endpoint group for ${cfg.writerRegion} on the listener`);
                }
                return group;
            },
            cfg.writerRegion,
        ),
        new WitnessVantage("witness", new DynamoWitnessBoard(leaseDynamo, cfg.leaseTable), cfg.witnessMaxAgeSeconds * 1000),
    ];
    return { adapters, probes };
}
