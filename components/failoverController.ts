import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LAMBDA_HANDLER, LAMBDA_RUNTIME } from "../failover/lambda/bundle";
import type { LambdaConfig } from "../failover/lambda/config";
import { AGENT_METRICS, defaultWitnessMaxAgeSeconds, METRIC_DIMENSION, METRIC_NAMESPACE, METRICS } from "../failover/core/settings";
import type { FailoverSettings } from "../lib/config";
import { ENDPOINT_CHECK_ACTIONS } from "../lib/accelerator";
import {
    FAILOVER_RESERVED_CONCURRENCY,
    failoverName,
    leaseStoreRegion,
    leaseTableArn,
    leaseTableName,
    replicaReaderName,
} from "../lib/failoverNaming";
import { serviceTrustPolicy } from "../lib/iam";
import { Problems, requireValidArgs } from "../lib/rules";
import type { Tags } from "../lib/tags";
import { DEFAULT_LEASE_TIMING } from "../failover/core/writerLease";
import { PlatformComponent } from "./platformComponent";
import { checkFailoverSite, FailoverSiteArgs, lambdaCode, scheduleEveryMinute } from "./schedule";

/** The thresholds come from config as they are (lib/config.ts FailoverSettings). */
/**
 * `region` is the standby the controller promotes, `writerRegion` the one it watches; in the
 * `writer` role its schedule is disabled (nothing to watch until this site is the standby again).
 */
export interface FailoverControllerArgs extends FailoverSettings, FailoverSiteArgs {
    /** This site's load balancer (added to its endpoint group when traffic moves here). */
    readonly loadBalancerArn: pulumi.Input<string>;
    /**
     * The virtual IP's listener, read at deploy time and written into the function's config (no
     * lookup in us-west-2 when a run starts); its endpoint groups are the ones it may change.
     */
    readonly listenerArn: pulumi.Input<string>;
    /** This region's standby writer and the writer it replicates (derived ARNs, no lookups). */
    readonly standbyIdentifier: string;
    readonly oldWriterIdentifier: string;
    /** The applications' database secret in this region, and its ARN (pattern) for the grant (DatabaseCluster's). */
    readonly credentialsSecretName: string;
    readonly credentialsSecretArnPattern: pulumi.Input<string>;
    /** This region's HTTP vantage point: the public name through the accelerator (one failure domain). */
    readonly httpProbes: LambdaConfig["httpProbes"];
    /** This site's writer agent (components/writerAgent.ts): its alarms go to this controller's topic. */
    readonly writerAgentFunctionName: pulumi.Input<string>;
    /** @default 30 */
    readonly logRetentionDays?: number;
    readonly tags?: Tags;
}

function controllerArgsProblems(args: FailoverControllerArgs): string[] {
    const p = new Problems();
    checkFailoverSite(p, args);
    return p.list;
}

/**
 * The failover controller of this site: a Lambda (failover/lambda) invoked every minute by
 * EventBridge Scheduler, watching the writer site from three vantage points (quorum from
 * config), with its state and lease in a DynamoDB table and its reports on an SNS topic, all
 * in this region. Least privilege: each statement names the exact resources it may touch.
 * Alarms (to the topic): function errors, a missed schedule, not ready, a failover started or
 * held. In the writer's own region the schedule is disabled: it has nothing to watch until the
 * region is the standby again (docs/RUNBOOK.md, failback).
 */
export class FailoverController extends PlatformComponent<FailoverControllerArgs> {
    public readonly functionName: pulumi.Output<string>;
    public readonly tableName: pulumi.Output<string>;
    public readonly topicArn: pulumi.Output<string>;
    public readonly roleArn: pulumi.Output<string>;
    public readonly scheduleState: "ENABLED" | "DISABLED";

    constructor(name: string, args: FailoverControllerArgs, opts?: pulumi.ComponentResourceOptions) {
        requireValidArgs("FailoverController", name, controllerArgsProblems(args));
        super("ecommerce:failover:FailoverController", name, args, opts);
        const table = this.createTable();
        const topic = this.createTopic();
        const logGroup = this.createLogGroup();
        const role = this.createFunctionRole(table, topic, logGroup);
        const fn = this.createFunction(role, table, topic, logGroup);
        this.scheduleState = args.role === "standby" ? "ENABLED" : "DISABLED";
        this.createSchedule(fn);
        this.createAlarms(fn, topic);

        this.functionName = fn.name;
        this.tableName = table.name;
        this.topicArn = topic.arn;
        this.roleArn = role.arn;
        this.registerOutputs({ functionName: this.functionName, tableName: this.tableName, topicArn: this.topicArn });
    }

    private get prefix(): string {
        return failoverName(this.args.project);
    }

    private createTable(): aws.dynamodb.Table {
        // The controller's state (a failover in progress lives here): protected, point-in-time
        // recovery, deletion protection. On-demand: a few writes a minute.
        return new aws.dynamodb.Table(
            `${this.name}-state`,
            {
                name: `${this.prefix}-${this.args.region}`,
                billingMode: "PAY_PER_REQUEST",
                hashKey: "pk",
                attributes: [{ name: "pk", type: "S" }],
                serverSideEncryption: { enabled: true },
                pointInTimeRecovery: { enabled: true },
                deletionProtectionEnabled: true,
                tags: this.tagged(`${this.name}-state`),
            },
            { parent: this, protect: true },
        );
    }

    private createTopic(): aws.sns.Topic {
        return new aws.sns.Topic(
            `${this.name}-topic`,
            // No SSE: CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key
            // (its key policy cannot let CloudWatch use it), and the reports carry no secret.
            { name: this.prefix, tags: this.tagged(`${this.name}-topic`) },
            { parent: this },
        );
    }

    private createLogGroup(): aws.cloudwatch.LogGroup {
        // Created before the function, so its retention is ours (Lambda would create it without one).
        return new aws.cloudwatch.LogGroup(
            `${this.name}-logs`,
            {
                name: `/aws/lambda/${this.prefix}`,
                retentionInDays: this.args.logRetentionDays ?? 30,
                tags: this.tagged(`${this.name}-logs`),
            },
            { parent: this },
        );
    }

    private createFunctionRole(table: aws.dynamodb.Table, topic: aws.sns.Topic, logGroup: aws.cloudwatch.LogGroup): aws.iam.Role {
        const { accountId, partition, region, writerRegion } = this.args;
        const role = new aws.iam.Role(
            `${this.name}-role`,
            { assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"), tags: this.tagged(`${this.name}-role`) },
            { parent: this },
        );
        const rds = (r: string, resource: string) => `arn:${partition}:rds:${r}:${accountId}:${resource}`;
        new aws.iam.RolePolicy(
            `${this.name}-permissions`,
            {
                role: role.id,
                policy: pulumi
                    .all([
                        table.arn,
                        topic.arn,
                        logGroup.arn,
                        pulumi.output(this.args.listenerArn),
                        role.arn,
                        pulumi.output(this.args.credentialsSecretArnPattern),
                    ])
                    .apply(([tableArn, topicArn, logGroupArn, listenerArn, roleArn, credentialsSecretArn]) =>
                        JSON.stringify(
                            controllerPolicy({
                                tableArn,
                                topicArn,
                                logGroupArn,
                                listenerArn,
                                leaseTableArn: leaseTableArn(partition, accountId, leaseStoreRegion(region), this.args.project),
                                rds,
                                region,
                                writerRegion,
                                standbyIdentifier: this.args.standbyIdentifier,
                                oldWriterIdentifier: this.args.oldWriterIdentifier,
                                roleArn,
                                credentialsSecretArn,
                                replicaReaderArn: `arn:${partition}:lambda:${region}:${accountId}:function:${replicaReaderName(this.args.project)}`,
                            }),
                        ),
                    ),
            },
            { parent: this },
        );
        return role;
    }

    private createFunction(
        role: aws.iam.Role,
        table: aws.dynamodb.Table,
        topic: aws.sns.Topic,
        logGroup: aws.cloudwatch.LogGroup,
    ): aws.lambda.Function {
        const a = this.args;
        const config = pulumi
            .all([table.name, topic.arn, pulumi.output(a.loadBalancerArn), role.arn, pulumi.output(a.listenerArn)])
            .apply(([tableName, topicArn, loadBalancerArn, roleArn, listenerArn]) => {
                const cfg: LambdaConfig = {
                    region: a.region,
                    writerRegion: a.writerRegion,
                    roleArn,
                    table: tableName,
                    topicArn,
                    listenerArn,
                    leaseTable: leaseTableName(a.project),
                    leaseRegion: leaseStoreRegion(a.region),
                    witnessMaxAgeSeconds: defaultWitnessMaxAgeSeconds(a.intervalSeconds),
                    // The writer agents get the same (components/writerAgent.ts).
                    leaseTiming: DEFAULT_LEASE_TIMING,
                    loadBalancerArn,
                    standbyIdentifier: a.standbyIdentifier,
                    expectedSourceArn: `arn:${a.partition}:rds:${a.writerRegion}:${a.accountId}:db:${a.oldWriterIdentifier}`,
                    oldWriterIdentifier: a.oldWriterIdentifier,
                    credentialsSecret: a.credentialsSecretName,
                    httpProbes: a.httpProbes,
                    intervalSeconds: a.intervalSeconds,
                    maxFail: a.maxFail,
                    quorum: a.quorum,
                    timeoutSeconds: a.timeoutSeconds,
                    maxLagSeconds: a.maxLagSeconds,
                    lagWaitSeconds: a.lagWaitSeconds,
                    // Renewed every 10 s; a killed invocation's lease is free 30 s later.
                    leaseSeconds: 30,
                    replicaReaderFunction: replicaReaderName(a.project),
                    recoveryBlockSeconds: a.recoveryBlockSeconds,
                };
                return JSON.stringify(cfg);
            });
        return new aws.lambda.Function(
            `${this.name}-function`,
            {
                name: this.prefix,
                runtime: LAMBDA_RUNTIME,
                handler: LAMBDA_HANDLER,
                code: lambdaCode(),
                role: role.arn,
                memorySize: 256,
                // Under a minute, so one invocation ends before the next begins (rounds for
                // about 50 s, then the lease's release and the metrics).
                timeout: 60,
                // One invocation at a time (the lease guards too): an overlapping one is throttled.
                // Needs an account concurrency quota above 100: tools/preflight.ts checks it.
                reservedConcurrentExecutions: FAILOVER_RESERVED_CONCURRENCY,
                environment: { variables: { FAILOVER_CONFIG: config } },
                loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
                tags: this.tagged(`${this.name}-function`),
            },
            { parent: this, dependsOn: [logGroup] },
        );
    }

    private createSchedule(fn: aws.lambda.Function): void {
        scheduleEveryMinute(this, this.name, {
            scheduleName: this.prefix,
            accountId: this.args.accountId,
            fn,
            description: `Runs the failover controller of ${this.args.region} (watching ${this.args.writerRegion}) every minute`,
            state: this.scheduleState,
            tagged: (n) => this.tagged(n),
        });
    }

    private createAlarms(fn: aws.lambda.Function, topic: aws.sns.Topic): void {
        const alarm = (key: string, description: string, metric: Partial<aws.cloudwatch.MetricAlarmArgs>) =>
            new aws.cloudwatch.MetricAlarm(
                `${this.name}-${key}`,
                {
                    alarmDescription: description,
                    alarmActions: [topic.arn],
                    okActions: [topic.arn],
                    evaluationPeriods: 1,
                    period: 300,
                    comparisonOperator: "GreaterThanOrEqualToThreshold",
                    threshold: 1,
                    tags: this.tagged(`${this.name}-${key}`),
                    ...metric,
                },
                { parent: this },
            );
        const lambdaMetric = { namespace: "AWS/Lambda", dimensions: { FunctionName: fn.name }, statistic: "Sum" };
        const ours = { namespace: METRIC_NAMESPACE, dimensions: { [METRIC_DIMENSION]: this.args.region } };
        alarm("errors", "The failover controller failed (an invocation error).", {
            ...lambdaMetric,
            metricName: "Errors",
            treatMissingData: "notBreaching",
        });
        // The same alarms in both sites (parity); in the writer's own region, where the schedule
        // is off, they stay quiet: no actions, and no data is not a breach.
        const watching = this.scheduleState === "ENABLED";
        const whileWatching = { actionsEnabled: watching };
        alarm("missed-schedule", "The failover controller has not run for 5 minutes: nobody is watching the writer site.", {
            ...lambdaMetric,
            ...whileWatching,
            metricName: "Invocations",
            comparisonOperator: "LessThanThreshold",
            treatMissingData: watching ? "breaching" : "notBreaching",
        });
        alarm("not-ready", "A failover could not succeed now (the controller's readiness check failed three times in a row).", {
            ...ours,
            ...whileWatching,
            metricName: METRICS.ready,
            statistic: "Minimum",
            period: 60,
            evaluationPeriods: 3,
            comparisonOperator: "LessThanThreshold",
            treatMissingData: watching ? "breaching" : "notBreaching",
        });
        alarm("failing-over", "The failover controller saw the writer site fail (phase suspect or beyond).", {
            ...ours,
            ...whileWatching,
            metricName: METRICS.phase,
            statistic: "Maximum",
            period: 60,
            treatMissingData: "notBreaching",
        });
        alarm(
            "held",
            "A failover is held with nothing changed (its loss window over the budget, or a precondition failed); it clears by itself when the writer renews its lease, else an operator decides (npm run failover -- status).",
            {
                ...ours,
                ...whileWatching,
                metricName: METRICS.held,
                statistic: "Maximum",
                period: 60,
                treatMissingData: "notBreaching",
            },
        );
        // The writer agent's, acting only in the writer region (a standby's agent renews nothing):
        // a renewal gap of half of L - m (the database fences itself at L - m after its last
        // anchored renewal, so this fires well before), and a fence that is not armed.
        const writer = this.args.role === "writer";
        const whileWriter = { actionsEnabled: writer };
        const closesAfter = (DEFAULT_LEASE_TIMING.leaseMs - DEFAULT_LEASE_TIMING.marginMs) / 1000;
        alarm(
            "agent-renewal-gap",
            `The writer lease went ${closesAfter / 2} s without a renewal in a run of the writer agent (the database fences itself at ${closesAfter} s).`,
            {
                ...ours,
                ...whileWriter,
                metricName: AGENT_METRICS.renewalGap,
                statistic: "Maximum",
                period: 60,
                threshold: closesAfter / 2,
                // No agent metric at all in the writer region is a gap too.
                treatMissingData: writer ? "breaching" : "notBreaching",
            },
        );
        alarm(
            "agent-fence-unarmed",
            "The writer's database fence is not armed (its event disabled, or event_scheduler off): a lapsed lease would not stop writes. Fence unconfirmed.",
            {
                ...ours,
                ...whileWriter,
                metricName: AGENT_METRICS.fenceArmed,
                statistic: "Minimum",
                period: 60,
                comparisonOperator: "LessThanThreshold",
                treatMissingData: "notBreaching",
            },
        );
        alarm("agent-errors", "The writer agent failed (an invocation error).", {
            namespace: "AWS/Lambda",
            dimensions: { FunctionName: this.args.writerAgentFunctionName },
            statistic: "Sum",
            metricName: "Errors",
            ...whileWriter,
            treatMissingData: "notBreaching",
        });
    }
}

/**
 * The controller's permissions, statement by statement, each on the exact resources (or, where
 * the API has no resource-level permissions, `*`, said so).
 */
export function controllerPolicy(p: {
    tableArn: string;
    topicArn: string;
    logGroupArn: string;
    listenerArn: string;
    leaseTableArn: string;
    rds: (region: string, resource: string) => string;
    region: string;
    writerRegion: string;
    standbyIdentifier: string;
    oldWriterIdentifier: string;
    roleArn: string;
    credentialsSecretArn: string;
    replicaReaderArn: string;
}): object {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${p.logGroupArn}:*` },
            {
                Sid: "StateAndLease",
                Effect: "Allow",
                Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                Resource: p.tableArn,
            },
            { Sid: "Notify", Effect: "Allow", Action: ["sns:Publish", "sns:GetTopicAttributes"], Resource: p.topicArn },
            // The writer lease (read, taken once it lapsed) and the witness's post beside it; never
            // establish or delete (the writer's agent establishes it).
            {
                Sid: "ReadTheLeaseAndTheWitness",
                Effect: "Allow",
                Action: "dynamodb:GetItem",
                Resource: p.leaseTableArn,
                Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["writer", "witness"] } },
            },
            {
                Sid: "TakeTheLease",
                Effect: "Allow",
                Action: "dynamodb:UpdateItem",
                Resource: p.leaseTableArn,
                Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["writer"] } },
            },
            { Sid: "FindTheEndpointGroups", Effect: "Allow", Action: "globalaccelerator:ListEndpointGroups", Resource: p.listenerArn },
            {
                Sid: "MoveTraffic",
                Effect: "Allow",
                Action: [
                    "globalaccelerator:DescribeEndpointGroup",
                    "globalaccelerator:UpdateEndpointGroup",
                    "globalaccelerator:AddEndpoints",
                    "globalaccelerator:RemoveEndpoints",
                ],
                // The listener's endpoint groups: this site's and the writer's (whose ID this stack cannot know).
                Resource: `${p.listenerArn}/endpoint-group/*`,
            },
            {
                // Adding a load balancer endpoint: Global Accelerator checks it with the caller's
                // rights (lib/accelerator.ts). No resource-level permissions exist for these.
                Sid: "CheckTheLoadBalancer",
                Effect: "Allow",
                Action: [...ENDPOINT_CHECK_ACTIONS],
                Resource: "*",
            },
            {
                Sid: "PromoteTheStandbyWriter",
                Effect: "Allow",
                Action: ["rds:DescribeDBInstances", "rds:PromoteReadReplica"],
                Resource: p.rds(p.region, `db:${p.standbyIdentifier}`),
            },
            // After promoting: reset a read_only=1 an earlier fence left on this region's group (a failback).
            {
                Sid: "UnfenceTheNewWriter",
                Effect: "Allow",
                Action: ["rds:DescribeDBParameters", "rds:ResetDBParameterGroup"],
                Resource: p.rds(p.region, "pg:db-params-*"),
            },
            {
                Sid: "SeeTheOldWriter",
                Effect: "Allow",
                Action: "rds:DescribeDBInstances",
                Resource: p.rds(p.writerRegion, `db:${p.oldWriterIdentifier}`),
            },
            // Fencing: read_only on the old writer's parameter group (named db-params-<suffix> by
            // the program), and resetting it when an abort undoes the fence.
            {
                Sid: "FenceTheOldWriter",
                Effect: "Allow",
                Action: ["rds:ModifyDBParameterGroup", "rds:DescribeDBParameters", "rds:ResetDBParameterGroup"],
                Resource: p.rds(p.writerRegion, "pg:db-params-*"),
            },
            // The loss window: the replica reader beside the standby's database (in the VPC).
            { Sid: "ReadTheReplica", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: p.replicaReaderArn },
            // Readiness (failover/adapters/aws/preconditions.ts): the role simulates its own
            // policies for every call above, and sees that the applications' secret exists here.
            { Sid: "CheckOwnPermissions", Effect: "Allow", Action: "iam:SimulatePrincipalPolicy", Resource: p.roleArn },
            {
                Sid: "CheckTheCredentialsSecret",
                Effect: "Allow",
                Action: "secretsmanager:DescribeSecret",
                Resource: p.credentialsSecretArn,
            },
        ],
    };
}
