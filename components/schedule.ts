/**
 * What the failover's deployed functions share (the controller, the writer agent, the witness):
 * their code (one bundle, failover/lambda), the site they belong to and its checks, and a run
 * every minute by EventBridge Scheduler: the schedule in a group of its own, a role only that
 * group may assume, and no retries of a missed minute. One home for all three.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cachedLambdaBundle } from "../failover/lambda/bundle";
import type { StackRole } from "../lib/config";
import { AWS_REGION, oneOf, Problems, PROJECT_NAME, STACK_ROLE } from "../lib/rules";

/** The bundle of the current sources (built once per source hash, looked up once per process). */
let bundle: string | undefined;
export function lambdaCode(): pulumi.asset.AssetArchive {
    bundle ??= cachedLambdaBundle();
    return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.FileAsset(bundle) });
}

/** The site a failover function belongs to. */
export interface FailoverSiteArgs {
    /** Names' prefix. */
    readonly project: string;
    /** This site's region. */
    readonly region: string;
    /** The region that holds the writer now. */
    readonly writerRegion: string;
    /** writer or standby: must agree with the regions. */
    readonly role: StackRole;
    readonly accountId: string;
    readonly partition: string;
}

/** Every problem with the site's arguments, each naming the argument, the value and what is allowed. */
export function checkFailoverSite(p: Problems, args: FailoverSiteArgs): void {
    p.check("project", args.project, PROJECT_NAME);
    p.check("region", args.region, AWS_REGION);
    p.check("writerRegion", args.writerRegion, AWS_REGION);
    p.check("role", args.role, STACK_ROLE);
    p.check("partition", args.partition, oneOf(["aws", "aws-us-gov", "aws-cn"]));
    if ((args.role === "writer") !== (args.region === args.writerRegion)) {
        p.reject(
            "role",
            args.role,
            `${args.region === args.writerRegion ? "writer" : "standby"} (region ${args.region}, writer region ${args.writerRegion})`,
        );
    }
}

export interface MinuteScheduleArgs {
    /** The schedule's and its group's name: 1-64 of [0-9a-zA-Z-_.] (Scheduler API, CreateScheduleGroup). */
    readonly scheduleName: string;
    readonly accountId: string;
    readonly fn: aws.lambda.Function;
    readonly description: string;
    readonly state: "ENABLED" | "DISABLED";
    /** Tags of a child named `name`. */
    readonly tagged: (name: string) => Record<string, string>;
}

/** Children are named `<name>-async`, `-schedule-group`, `-scheduler-role`, `-scheduler-invoke`, `-schedule`. */
export function scheduleEveryMinute(parent: pulumi.Resource, name: string, a: MinuteScheduleArgs): aws.scheduler.Schedule {
    // Scheduler invokes asynchronously: Lambda's own queue would retry a failed or throttled
    // event for hours beside the next minute's. No retries, and an event older than a minute
    // is dropped: the next invocation is a minute away.
    new aws.lambda.FunctionEventInvokeConfig(
        `${name}-async`,
        { functionName: a.fn.name, maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 },
        { parent },
    );
    // Scheduler assumes the execution role with its schedule GROUP's ARN as aws:SourceArn
    // (Scheduler user guide, "Cross-service confused deputy prevention", changed 2023-09-07):
    // a condition on the schedule's own ARN never matches, and every run would fail to
    // assume the role. A group of the function's own, not the account's `default`: every
    // schedule anyone makes lands in `default`, and a trust in it would let any of them
    // (given iam:PassRole) invoke the function. Deleting a group deletes its schedules.
    const group = new aws.scheduler.ScheduleGroup(
        `${name}-schedule-group`,
        { name: a.scheduleName, tags: a.tagged(`${name}-schedule-group`) },
        { parent },
    );
    const invoker = new aws.iam.Role(
        `${name}-scheduler-role`,
        {
            assumeRolePolicy: group.arn.apply((groupArn) =>
                JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "scheduler.amazonaws.com" },
                            Action: "sts:AssumeRole",
                            // Only the function's own schedule group may assume it (confused deputy).
                            Condition: { StringEquals: { "aws:SourceAccount": a.accountId, "aws:SourceArn": groupArn } },
                        },
                    ],
                }),
            ),
            tags: a.tagged(`${name}-scheduler-role`),
        },
        { parent },
    );
    new aws.iam.RolePolicy(
        `${name}-scheduler-invoke`,
        {
            role: invoker.id,
            policy: a.fn.arn.apply((arn) =>
                JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Sid: "InvokeTheFunction", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: arn }],
                }),
            ),
        },
        { parent },
    );
    return new aws.scheduler.Schedule(
        `${name}-schedule`,
        {
            name: a.scheduleName,
            groupName: group.name,
            description: a.description,
            scheduleExpression: "rate(1 minute)",
            flexibleTimeWindow: { mode: "OFF" },
            state: a.state,
            // A missed minute is the next minute's: no retries piling up behind a slow one.
            target: { arn: a.fn.arn, roleArn: invoker.arn, retryPolicy: { maximumRetryAttempts: 0 } },
        },
        { parent },
    );
}
