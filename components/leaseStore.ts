import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LAMBDA_RUNTIME, WITNESS_HANDLER } from "../failover/lambda/bundle";
import type { WitnessConfig } from "../failover/lambda/witnessHandler";
import { DEFAULT_INTERVAL_SECONDS, DEFAULT_TIMEOUT_CAP_SECONDS } from "../failover/core/settings";
import {
    LEASE_HOME_REGION,
    LEASE_REPLICA_REGION,
    LEASE_WITNESS_REGION,
    leaseTableName,
    MRSC_US_REGIONS,
    witnessName,
} from "../lib/failoverNaming";
import { serviceTrustPolicy } from "../lib/iam";
import { AWS_REGION, Problems, PROJECT_NAME, requireValidArgs } from "../lib/rules";
import type { Tags } from "../lib/tags";
import { PlatformComponent } from "./platformComponent";
import { lambdaCode, scheduleEveryMinute } from "./schedule";

export interface LeaseStoreArgs {
    readonly project: string;
    /** The global stack's region: the table's home, where the witness runs. */
    readonly region: string;
    readonly accountId: string;
    readonly partition: string;
    /** What the witness probes through the virtual IP: the shop's health URL by its public name. */
    readonly witnessUrl: string;
    /** @default 30 */
    readonly logRetentionDays?: number;
    readonly tags?: Tags;
}

function leaseStoreArgsProblems(args: LeaseStoreArgs): string[] {
    const p = new Problems();
    p.check("project", args.project, PROJECT_NAME);
    p.check("region", args.region, AWS_REGION);
    if (args.region !== LEASE_HOME_REGION) {
        p.reject("region", args.region, `${LEASE_HOME_REGION} (the table's home; the global stack's region)`);
    }
    if (!/^https?:\/\/[^/\s]+\/\S*$/.test(args.witnessUrl)) {
        p.reject("witnessUrl", args.witnessUrl, "an http(s) URL of the shop's health path by its public name");
    }
    return p.list;
}

/**
 * Where the writer lease lives, outside both sites: a DynamoDB table with multi-Region strong
 * consistency (MRSC) in us-west-2, with a replica in us-east-2 and a witness in us-east-1
 * (lib/failoverNaming.ts says why these three). Also the witness: a function here that looks at
 * the shop through the virtual IP every ten seconds and posts what it saw beside the lease
 * (failover/probes/witness.ts), one of the controller's three failure domains.
 *
 * The table, per AWS's MRSC rules (DynamoDB developer guide, "Multi-Region strong consistency",
 * V2globaltables_HowItWorks): created empty with its replica and witness at once (replicas
 * cannot be added later, nor the consistency mode changed); no TTL, no local secondary index,
 * no transactions (none used: failover/adapters/aws/writerLease.ts). In pulumi-aws a witness
 * goes with exactly one `replica` whose `consistencyMode` is STRONG (the provider's docs for
 * `globalTableWitness`; terraform-provider-aws 6.22.0 added it, #43908). Streams are not used
 * (terraform-provider-aws#48213: MRSC replicas do not get them). Protected, point-in-time
 * recovery, deletion protection: losing the item would leave no writer holding a lease, and
 * every site's database closed.
 */
export class LeaseStore extends PlatformComponent<LeaseStoreArgs> {
    public readonly tableName: pulumi.Output<string>;
    public readonly witnessFunctionName: pulumi.Output<string>;

    constructor(name: string, args: LeaseStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        requireValidArgs("LeaseStore", name, leaseStoreArgsProblems(args));
        super("ecommerce:failover:LeaseStore", name, args, opts);
        for (const r of [LEASE_HOME_REGION, LEASE_REPLICA_REGION, LEASE_WITNESS_REGION]) {
            if (!MRSC_US_REGIONS.includes(r)) {
                throw new Error(`LeaseStore: ${r} is not in the MRSC US Region set (${MRSC_US_REGIONS.join(", ")})`);
            }
        }
        const table = new aws.dynamodb.Table(
            `${this.name}-table`,
            {
                name: leaseTableName(args.project),
                billingMode: "PAY_PER_REQUEST",
                hashKey: "pk",
                attributes: [{ name: "pk", type: "S" }],
                replicas: [
                    {
                        regionName: LEASE_REPLICA_REGION,
                        consistencyMode: "STRONG",
                        pointInTimeRecovery: true,
                        deletionProtectionEnabled: true,
                    },
                ],
                globalTableWitness: { regionName: LEASE_WITNESS_REGION },
                // The AWS managed key (alias/aws/dynamodb) of each region: a replica takes its own
                // region's without a kms_key_arn (the provider's `replica.kmsKeyArn` docs); the
                // items hold no secret, and a customer key would be one more thing per region.
                serverSideEncryption: { enabled: true },
                pointInTimeRecovery: { enabled: true },
                deletionProtectionEnabled: true,
                tags: this.tagged(`${this.name}-table`),
            },
            { parent: this, protect: true },
        );
        const logGroup = new aws.cloudwatch.LogGroup(
            `${this.name}-witness-logs`,
            {
                name: `/aws/lambda/${witnessName(args.project)}`,
                retentionInDays: args.logRetentionDays ?? 30,
                tags: this.tagged(`${this.name}-witness-logs`),
            },
            { parent: this },
        );
        const role = new aws.iam.Role(
            `${this.name}-witness-role`,
            { assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"), tags: this.tagged(`${this.name}-witness-role`) },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${this.name}-witness-permissions`,
            {
                role: role.id,
                policy: pulumi.all([table.arn, logGroup.arn]).apply(([tableArn, logGroupArn]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Sid: "Logs",
                                Effect: "Allow",
                                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                                Resource: `${logGroupArn}:*`,
                            },
                            // Its own post only: never the lease.
                            {
                                Sid: "PostWhatItSaw",
                                Effect: "Allow",
                                Action: "dynamodb:PutItem",
                                Resource: tableArn,
                                Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["witness"] } },
                            },
                        ],
                    }),
                ),
            },
            { parent: this },
        );
        const config: WitnessConfig = {
            region: args.region,
            table: leaseTableName(args.project),
            url: args.witnessUrl,
            intervalSeconds: DEFAULT_INTERVAL_SECONDS,
            timeoutSeconds: DEFAULT_TIMEOUT_CAP_SECONDS,
        };
        const fn = new aws.lambda.Function(
            `${this.name}-witness-function`,
            {
                name: witnessName(args.project),
                runtime: LAMBDA_RUNTIME,
                handler: WITNESS_HANDLER,
                code: lambdaCode(),
                role: role.arn,
                memorySize: 128,
                // Looks for about 55 s of each minute.
                timeout: 60,
                environment: { variables: { WITNESS_CONFIG: JSON.stringify(config) } },
                loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
                tags: this.tagged(`${this.name}-witness-function`),
            },
            { parent: this, dependsOn: [logGroup] },
        );
        scheduleEveryMinute(this, `${this.name}-witness`, {
            scheduleName: witnessName(args.project),
            accountId: args.accountId,
            fn,
            description: "Runs the failover witness every minute: it looks at the shop through the virtual IP",
            state: "ENABLED",
            tagged: (n) => this.tagged(n),
        });
        this.tableName = table.name;
        this.witnessFunctionName = fn.name;
        this.registerOutputs({ tableName: this.tableName, witnessFunctionName: this.witnessFunctionName });
    }
}
