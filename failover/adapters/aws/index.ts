/**
 * The controller's world in AWS, from its configuration (failover/lambda/config.ts): the
 * adapters (Global Accelerator in us-west-2, RDS and CloudWatch here and in the writer region,
 * SNS, DynamoDB) and the three vantage points. The Lambda and the CLI (`--adapters aws`) build
 * the same.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GlobalAcceleratorClient } from "@aws-sdk/client-global-accelerator";
import { IAMClient } from "@aws-sdk/client-iam";
import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GLOBAL_REGION } from "../../../lib/regions";
import type { Adapters } from "../../core/ports";
import type { LambdaConfig } from "../../lambda/config";
import { AcceleratorHealthProbe } from "../../probes/accelerator";
import { HttpProbe, Probe } from "../../probes/http";
import { call, clientConfig } from "./calls";
import { RdsDatabase } from "./database";
import { DynamoLock, DynamoStateStore } from "./dynamo";
import { SnsNotifier } from "./notifier";
import { AwsPreconditions } from "./preconditions";
import { discoverSites, GlobalAcceleratorTraffic } from "./traffic";

export interface WorldOptions {
    /** How long acquiring the lease may wait (a Lambda's remaining time). @default one lease period */
    readonly leaseWaitMs?: number;
}

export async function awsWorld(cfg: LambdaConfig, options: WorldOptions = {}): Promise<{ adapters: Adapters; probes: Probe[] }> {
    const here = clientConfig(cfg.region);
    const globalAccelerator = new GlobalAcceleratorClient(clientConfig(GLOBAL_REGION));
    const parameter = await call("ssm:GetParameter", cfg.listenerParameter, () =>
        new SSMClient(clientConfig(GLOBAL_REGION)).send(new GetParameterCommand({ Name: cfg.listenerParameter })),
    );
    const listenerArn = parameter.Parameter?.Value ?? "";
    const sites = await discoverSites(globalAccelerator, listenerArn, { region: cfg.region, loadBalancerArn: cfg.loadBalancerArn });
    const dynamo = new DynamoDBClient(here);
    const rds = new RDSClient(here);
    // The failed region answers slowly or not at all: fewer attempts, so the fence gives up in time.
    const writerRegionRds = new RDSClient(clientConfig(cfg.writerRegion, { maxAttempts: 2 }));
    const adapters: Adapters = {
        traffic: new GlobalAcceleratorTraffic(globalAccelerator, sites, [cfg.region, cfg.writerRegion]),
        database: new RdsDatabase(rds, new CloudWatchClient(here), writerRegionRds, {
            standbyIdentifier: cfg.standbyIdentifier,
            expectedSourceArn: cfg.expectedSourceArn,
            oldWriterIdentifier: cfg.oldWriterIdentifier,
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
                { listenerArn, endpointGroupArns: Object.values(sites).map((s) => s.endpointGroupArn) },
            ),
        ],
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

    return { adapters, probes };
}
