/**
 * The failover controller as each site deploys it: the function and what it is told, its
 * schedule by role, its least-privilege permissions statement by statement, its alarms.
 */
import { strict as assert } from "assert";
import { failoverCalls } from "../failover/adapters/aws/preconditions";
import { parseLambdaConfig } from "../failover/lambda/config";
import { DEFAULT_LEASE_TIMING } from "../failover/core/writerLease";
import { loadStack, requireSuccess, runProgram, StackRun } from "../offline/run";
import { certificatesFor } from "./support/fixtures";

const one = (run: StackRun, type: string, name: string) => {
    const found = run.resources.filter((r) => r.type === type && r.name === name);
    assert.equal(found.length, 1, `${run.stack}: ${type} ${name}`);
    return found[0];
};
const LISTENER = "arn:aws:globalaccelerator::123456789012:accelerator/47b00cf1-24c4-2c6b-49f9-9e77387aff28/listener/1b805d44";

describe("FailoverController", () => {
    it("in dr (the standby): runs every minute, one invocation at a time, watching us-east-2 from one vote per failure domain, with the listener and the writer lease from config", async () => {
        const dr = await loadStack("dr");
        const schedule = one(dr, "aws:scheduler/schedule:Schedule", "failover-schedule");
        assert.equal(schedule.inputs.state, "ENABLED");
        assert.equal(schedule.inputs.scheduleExpression, "rate(1 minute)");
        assert.deepEqual(schedule.inputs.flexibleTimeWindow, { mode: "OFF" });
        const fn = one(dr, "aws:lambda/function:Function", "failover-function");
        assert.equal(fn.inputs.runtime, "nodejs24.x");
        assert.equal(fn.inputs.handler, "index.handler");
        assert.equal(fn.inputs.reservedConcurrentExecutions, 1);
        const config = JSON.parse(fn.inputs.environment.variables.FAILOVER_CONFIG);
        assert.equal(config.region, "us-west-1");
        assert.equal(config.writerRegion, "us-east-2");
        assert.equal(config.standbyIdentifier, "ecommerce-mysql-us-west-1");
        assert.equal(config.expectedSourceArn, "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2");
        // The default config has no certificate: the writer's load balancer listens on HTTP only.
        // One HTTP vote from this region (the function adds the accelerator's and the witness's).
        assert.deepEqual(config.httpProbes, [{ name: "standby", url: "http://shop.example.com/api/health" }]);
        // Nothing in us-west-2's control plane when a run starts: the listener is in the config.
        assert.equal(config.listenerArn, LISTENER);
        assert.deepEqual([config.leaseTable, config.leaseRegion, config.witnessMaxAgeSeconds], ["ecommerce-writer-lease", "us-west-2", 30]);
        assert.deepEqual(config.leaseTiming, DEFAULT_LEASE_TIMING);
        assert.deepEqual(
            [config.intervalSeconds, config.maxFail, config.quorum, config.timeoutSeconds, config.maxLagSeconds],
            [10, 3, 2, 5, 60],
        );
        assert.equal(dr.outputs.failoverSchedule, "ENABLED");
    });

    it("probes the writer in HTTPS only when the writer's site has a certificate", async () => {
        const probes = async (regions: string[]) => {
            const run = requireSuccess(await runProgram({ stack: "dr", config: certificatesFor(...regions) }));
            const fn = one(run, "aws:lambda/function:Function", "failover-function");
            return (JSON.parse(fn.inputs.environment.variables.FAILOVER_CONFIG) as { httpProbes: { url: string }[] }).httpProbes.map(
                (p) => p.url.split(":")[0],
            );
        };
        assert.deepEqual(await probes(["us-east-2"]), ["https"]);
        assert.deepEqual(await probes(["us-west-1"]), ["http"]);
    });

    it("in primary (the writer): deployed the same, its schedule off and its alarms quiet until the region is the standby again", async () => {
        const primary = await loadStack("primary");
        assert.equal(one(primary, "aws:scheduler/schedule:Schedule", "failover-schedule").inputs.state, "DISABLED");
        for (const name of ["failover-missed-schedule", "failover-not-ready", "failover-failing-over", "failover-held"]) {
            assert.equal(one(primary, "aws:cloudwatch/metricAlarm:MetricAlarm", name).inputs.actionsEnabled, false, name);
        }
        const flipped = requireSuccess(await runProgram({ stack: "primary", config: { "ecommerce:writerRegion": "us-west-1" } }));
        assert.equal(one(flipped, "aws:scheduler/schedule:Schedule", "failover-schedule").inputs.state, "ENABLED");
    });

    it("may touch exactly what a failover needs, statement by statement", async () => {
        const dr = await loadStack("dr");
        const table = one(dr, "aws:dynamodb/table:Table", "failover-state");
        const topic = one(dr, "aws:sns/topic:Topic", "failover-topic");
        const logs = one(dr, "aws:cloudwatch/logGroup:LogGroup", "failover-logs");
        const writer = one(dr, "aws:rds/instance:Instance", "db-writer");
        const policy = JSON.parse(one(dr, "aws:iam/rolePolicy:RolePolicy", "failover-permissions").inputs.policy);
        assert.deepEqual(policy.Statement, [
            { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logs.outputs.arn}:*` },
            {
                Sid: "StateAndLease",
                Effect: "Allow",
                Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                Resource: table.outputs.arn,
            },
            { Sid: "Notify", Effect: "Allow", Action: ["sns:Publish", "sns:GetTopicAttributes"], Resource: topic.outputs.arn },
            {
                // The writer lease and the witness's post, in us-west-2 (us-west-1 holds no replica of the MRSC table).
                Sid: "ReadTheLeaseAndTheWitness",
                Effect: "Allow",
                Action: "dynamodb:GetItem",
                Resource: "arn:aws:dynamodb:us-west-2:123456789012:table/ecommerce-writer-lease",
                Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["writer", "witness"] } },
            },
            {
                Sid: "TakeTheLease",
                Effect: "Allow",
                Action: "dynamodb:UpdateItem",
                Resource: "arn:aws:dynamodb:us-west-2:123456789012:table/ecommerce-writer-lease",
                Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["writer"] } },
            },
            { Sid: "FindTheEndpointGroups", Effect: "Allow", Action: "globalaccelerator:ListEndpointGroups", Resource: LISTENER },
            {
                Sid: "MoveTraffic",
                Effect: "Allow",
                Action: [
                    "globalaccelerator:DescribeEndpointGroup",
                    "globalaccelerator:UpdateEndpointGroup",
                    "globalaccelerator:AddEndpoints",
                    "globalaccelerator:RemoveEndpoints",
                ],
                Resource: `${LISTENER}/endpoint-group/*`,
            },
            {
                Sid: "CheckTheLoadBalancer",
                Effect: "Allow",
                // What GlobalAcceleratorFullAccess carries for AddEndpoints' checks with the caller's rights.
                Action: [
                    "elasticloadbalancing:DescribeLoadBalancers",
                    "ec2:DescribeAddresses",
                    "ec2:DescribeInstances",
                    "ec2:DescribeInternetGateways",
                    "ec2:DescribeRegions",
                    "ec2:DescribeSubnets",
                ],
                Resource: "*",
            },
            {
                Sid: "PromoteTheStandbyWriter",
                Effect: "Allow",
                Action: ["rds:DescribeDBInstances", "rds:PromoteReadReplica"],
                Resource: writer.outputs.arn,
            },
            {
                Sid: "UnfenceTheNewWriter",
                Effect: "Allow",
                Action: ["rds:DescribeDBParameters", "rds:ResetDBParameterGroup"],
                Resource: "arn:aws:rds:us-west-1:123456789012:pg:db-params-*",
            },
            {
                Sid: "SeeTheOldWriter",
                Effect: "Allow",
                Action: "rds:DescribeDBInstances",
                Resource: "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2",
            },
            {
                Sid: "FenceTheOldWriter",
                Effect: "Allow",
                Action: ["rds:ModifyDBParameterGroup", "rds:DescribeDBParameters", "rds:ResetDBParameterGroup"],
                Resource: "arn:aws:rds:us-east-2:123456789012:pg:db-params-*",
            },
            {
                Sid: "ReadTheReplica",
                Effect: "Allow",
                Action: "lambda:InvokeFunction",
                Resource: "arn:aws:lambda:us-west-1:123456789012:function:ecommerce-replica-reader",
            },
            {
                Sid: "CheckOwnPermissions",
                Effect: "Allow",
                Action: "iam:SimulatePrincipalPolicy",
                Resource: one(dr, "aws:iam/role:Role", "failover-role").outputs.arn,
            },
            {
                Sid: "CheckTheCredentialsSecret",
                Effect: "Allow",
                Action: "secretsmanager:DescribeSecret",
                Resource: "arn:aws:secretsmanager:us-west-1:123456789012:secret:ecommerce/us-east-2/mysql-master-??????",
            },
        ]);
        // The scheduler may only invoke this function, and only this account's schedules may assume its role.
        const invoke = JSON.parse(one(dr, "aws:iam/rolePolicy:RolePolicy", "failover-scheduler-invoke").inputs.policy);
        assert.deepEqual(invoke.Statement, [
            {
                Sid: "InvokeTheFunction",
                Effect: "Allow",
                Action: "lambda:InvokeFunction",
                Resource: one(dr, "aws:lambda/function:Function", "failover-function").outputs.arn,
            },
        ]);
        const trust = JSON.parse(one(dr, "aws:iam/role:Role", "failover-scheduler-role").inputs.assumeRolePolicy);
        // Scheduler assumes the role with the schedule GROUP's ARN (confused-deputy page, since
        // 2023-09-07): the controller's own group, which holds its schedule and nothing else.
        const group = one(dr, "aws:scheduler/scheduleGroup:ScheduleGroup", "failover-schedule-group");
        assert.deepEqual(trust.Statement[0].Condition, {
            StringEquals: {
                "aws:SourceAccount": "123456789012",
                "aws:SourceArn": `arn:aws:scheduler:us-west-1:123456789012:schedule-group/${group.inputs.name}`,
            },
        });
        assert.notEqual(group.inputs.name, "default");
        assert.equal(one(dr, "aws:scheduler/schedule:Schedule", "failover-schedule").inputs.groupName, group.inputs.name);
        // Asynchronous invocations: no retries by Lambda's queue, no event older than the next minute's.
        const async = one(dr, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "failover-async");
        assert.equal(async.inputs.maximumRetryAttempts, 0);
        assert.equal(async.inputs.maximumEventAgeInSeconds, 60);
        assert.equal(one(dr, "aws:lambda/function:Function", "failover-function").inputs.timeout, 60);
    });

    it("grants every call readiness simulates, on the resources a failover makes it on, and no other", async () => {
        const [dr, primary] = await Promise.all([loadStack("dr"), loadStack("primary")]);
        const fn = one(dr, "aws:lambda/function:Function", "failover-function");
        const cfg = parseLambdaConfig(fn.inputs.environment.variables.FAILOVER_CONFIG);
        assert.equal(cfg.roleArn, one(dr, "aws:iam/role:Role", "failover-role").outputs.arn);
        assert.equal(cfg.credentialsSecret, "ecommerce/us-east-2/mysql-master");
        const group = (run: StackRun) => one(run, "aws:rds/parameterGroup:ParameterGroup", "db-params").outputs.name as string;
        const calls = failoverCalls(cfg, {
            listenerArn: LISTENER,
            endpointGroupArns: [`${LISTENER}/endpoint-group/0a1b2c3d4e5f`, `${LISTENER}/endpoint-group/6a7b8c9d0e1f`],
            standbyParameterGroup: group(dr),
            oldWriterParameterGroup: group(primary),
        });
        const statements = JSON.parse(one(dr, "aws:iam/rolePolicy:RolePolicy", "failover-permissions").inputs.policy).Statement as {
            Sid: string;
            Action: string | string[];
            Resource: string;
        }[];
        // IAM's matching: * is any run of characters, ? one character.
        const glob = (pattern: string) =>
            new RegExp(
                `^${pattern
                    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                    .replace(/\*/g, ".*")
                    .replace(/\?/g, ".")}$`,
            );
        const grants = (action: string, resource: string) =>
            statements.filter((st) => [st.Action].flat().includes(action) && glob(st.Resource).test(resource)).map((st) => st.Sid);
        for (const c of calls) {
            assert.notDeepEqual(grants(c.action, c.resource), [], `${c.action} on ${c.resource} is not granted`);
        }
        const granted = new Set(statements.flatMap((st) => [st.Action].flat()));
        const needed = new Set(calls.map((c) => c.action));
        // The Lambda runtime's logging, and readiness's own calls.
        const notFailoverCalls = [
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "iam:SimulatePrincipalPolicy",
            "secretsmanager:DescribeSecret",
        ];
        assert.deepEqual(
            [...granted].filter((a) => !needed.has(a) && !notFailoverCalls.includes(a)),
            [],
            "granted but never called by a failover",
        );
        assert.equal(calls.length, 32);
    });

    it("keeps its state safe and tells people: protected table with recovery, alarms to its topic", async () => {
        const dr = await loadStack("dr");
        const table = one(dr, "aws:dynamodb/table:Table", "failover-state");
        assert.equal(table.protect, true);
        assert.equal(table.inputs.deletionProtectionEnabled, true);
        assert.deepEqual(table.inputs.pointInTimeRecovery, { enabled: true });
        const topic = one(dr, "aws:sns/topic:Topic", "failover-topic");
        const alarms = dr.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.name.startsWith("failover-"));
        assert.deepEqual(alarms.map((a) => a.name).sort(), [
            "failover-agent-errors",
            "failover-agent-fence-unarmed",
            "failover-agent-renewal-gap",
            "failover-errors",
            "failover-failing-over",
            "failover-held",
            "failover-missed-schedule",
            "failover-not-ready",
        ]);
        for (const alarm of alarms) {
            assert.deepEqual(alarm.inputs.alarmActions, [topic.outputs.arn], alarm.name);
        }
        assert.equal(one(dr, "aws:cloudwatch/metricAlarm:MetricAlarm", "failover-missed-schedule").inputs.treatMissingData, "breaching");
    });

    it("rejects a quorum above its three vantage points, naming the key", async () => {
        const run = await runProgram({ stack: "dr", config: { "ecommerce:failoverQuorum": "4" } });
        assert.match(
            run.errors.join("\n"),
            /ecommerce:failoverQuorum = 4: expected an integer from 1 to 3 \(of the three vantage points\)/,
        );
    });
});
