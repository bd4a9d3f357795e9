/**
 * The controller's AWS adapters (failover/adapters/aws): Global Accelerator, RDS and
 * CloudWatch, SNS with aws-sdk-client-mock (failure modes no local server produces), the SDK's
 * own retry on throttling through a fake transport, and the DynamoDB state store and lease
 * against a real DynamoDB-protocol server on 127.0.0.1 (dynalite) through the real client.
 */
import * as assert from "assert";
import { once } from "events";
import type { AddressInfo } from "net";
import { Readable } from "stream";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
    AddEndpointsCommand,
    DescribeEndpointGroupCommand,
    GlobalAcceleratorClient,
    ListEndpointGroupsCommand,
    RemoveEndpointsCommand,
    UpdateEndpointGroupCommand,
} from "@aws-sdk/client-global-accelerator";
import {
    DescribeDBInstancesCommand,
    DescribeDBParametersCommand,
    ModifyDBParameterGroupCommand,
    PromoteReadReplicaCommand,
    RDSClient,
    ResetDBParameterGroupCommand,
} from "@aws-sdk/client-rds";
import { IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { DescribeSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import dynalite from "dynalite";
import { clientConfig } from "../../failover/adapters/aws/calls";
import { RdsDatabase, type ReplicaReader, type ReplicaReading } from "../../failover/adapters/aws/database";
import { LambdaReplicaReader } from "../../failover/adapters/aws/replicaReader";
import { DynamoLock, DynamoStateStore, StateConflictError } from "../../failover/adapters/aws/dynamo";
import { SnsNotifier } from "../../failover/adapters/aws/notifier";
import { AwsPreconditions } from "../../failover/adapters/aws/preconditions";
import { discoverSites, GlobalAcceleratorTraffic } from "../../failover/adapters/aws/traffic";
import { Controller, StepFailedError } from "../../failover/controller";
import type { ActionContext } from "../../failover/core/ports";
import { LockHeldError } from "../../failover/core/ports";
import { initialState } from "../../failover/core/state";
import { FakeClock, lambdaConfig, MemoryWorld, options } from "../support/failoverWorld";

const credentials = { accessKeyId: "AKIDTEST", secretAccessKey: "test" };
const LISTENER = "arn:aws:globalaccelerator::123456789012:accelerator/0f0e0d0c-0b0a-4909-8807-060504030201/listener/abcdefgh";
const SITES = {
    "us-east-2": {
        endpointGroupArn: `${LISTENER}/endpoint-group/use2`,
        loadBalancerArn: "arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/app/web-alb/1",
    },
    "us-west-1": {
        endpointGroupArn: `${LISTENER}/endpoint-group/usw1`,
        loadBalancerArn: "arn:aws:elasticloadbalancing:us-west-1:123456789012:loadbalancer/app/web-alb/2",
    },
};
const SOURCE = "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2";
const context = (): ActionContext => ({
    // The promotion was requested (recorded before the request is made): a standalone standby counts as promoted.
    failover: { trigger: "automatic", decidedAt: 0, from: "us-east-2", to: "us-west-1", completed: [], promotionRequestedAt: 1 },
    attempt: 1,
    signal: new AbortController().signal,
});
const awsError = (name: string, message = name) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

describe("failover AWS adapters", () => {
    const ga = mockClient(GlobalAcceleratorClient);
    const rds = mockClient(RDSClient);
    const sns = mockClient(SNSClient);
    beforeEach(() => [ga, rds, sns].forEach((m) => m.reset()));
    after(() => [ga, rds, sns].forEach((m) => m.restore()));

    const traffic = () => new GlobalAcceleratorTraffic(new GlobalAcceleratorClient({ region: "us-west-2", credentials }), SITES);
    const group = (site: keyof typeof SITES, dial: number, weight?: number) => ({
        EndpointGroup: {
            EndpointGroupArn: SITES[site].endpointGroupArn,
            TrafficDialPercentage: dial,
            EndpointDescriptions:
                weight === undefined
                    ? []
                    : [{ EndpointId: SITES[site].loadBalancerArn, Weight: weight, ClientIPPreservationEnabled: true }],
        },
    });

    describe("Global Accelerator traffic", () => {
        it("fences a serving site: its load balancer out of its group, then dial 0", async () => {
            ga.on(DescribeEndpointGroupCommand).resolves(group("us-east-2", 100, 128));
            const result = await traffic().fence("us-east-2", context());
            assert.deepEqual(ga.commandCalls(RemoveEndpointsCommand)[0].args[0].input, {
                EndpointGroupArn: SITES["us-east-2"].endpointGroupArn,
                EndpointIdentifiers: [{ EndpointId: SITES["us-east-2"].loadBalancerArn }],
            });
            assert.deepEqual(ga.commandCalls(UpdateEndpointGroupCommand)[0].args[0].input, {
                EndpointGroupArn: SITES["us-east-2"].endpointGroupArn,
                TrafficDialPercentage: 0,
            });
            assert.equal(result.detail, "removed 1 endpoint(s) from us-east-2's endpoint group; traffic dial 100 -> 0");
        });

        it("reads before it writes: a site already fenced, or already serving, gets no write", async () => {
            ga.on(DescribeEndpointGroupCommand, { EndpointGroupArn: SITES["us-east-2"].endpointGroupArn }).resolves(group("us-east-2", 0));
            ga.on(DescribeEndpointGroupCommand, { EndpointGroupArn: SITES["us-west-1"].endpointGroupArn }).resolves(
                group("us-west-1", 100, 128),
            );
            assert.match((await traffic().fence("us-east-2", context())).detail!, /already fenced/);
            assert.match((await traffic().moveTo("us-west-1", "us-east-2", context())).detail!, /already served/);
            assert.equal(
                ga.commandCalls(RemoveEndpointsCommand).length +
                    ga.commandCalls(AddEndpointsCommand).length +
                    ga.commandCalls(UpdateEndpointGroupCommand).length,
                0,
            );
        });

        it("moves traffic to the promoted site: its load balancer in at weight 128 with client IPs preserved, then dial 100", async () => {
            ga.on(DescribeEndpointGroupCommand).resolves(group("us-west-1", 0));
            await traffic().moveTo("us-west-1", "us-east-2", context());
            assert.deepEqual(ga.commandCalls(AddEndpointsCommand)[0].args[0].input.EndpointConfigurations, [
                { EndpointId: SITES["us-west-1"].loadBalancerArn, Weight: 128, ClientIPPreservationEnabled: true },
            ]);
            assert.equal(ga.commandCalls(UpdateEndpointGroupCommand)[0].args[0].input.TrafficDialPercentage, 100);
        });

        it("finds both sites' groups on the listener by region, knowing only its own load balancer", async () => {
            ga.on(ListEndpointGroupsCommand)
                .resolvesOnce({
                    EndpointGroups: [{ EndpointGroupArn: SITES["us-east-2"].endpointGroupArn, EndpointGroupRegion: "us-east-2" }],
                    NextToken: "page-2",
                })
                .resolves({
                    EndpointGroups: [{ EndpointGroupArn: SITES["us-west-1"].endpointGroupArn, EndpointGroupRegion: "us-west-1" }],
                });
            const sites = await discoverSites(new GlobalAcceleratorClient({ region: "us-west-2", credentials }), LISTENER, {
                region: "us-west-1",
                loadBalancerArn: SITES["us-west-1"].loadBalancerArn,
            });
            assert.deepEqual(sites, {
                "us-east-2": { endpointGroupArn: SITES["us-east-2"].endpointGroupArn },
                "us-west-1": SITES["us-west-1"],
            });
            await assert.rejects(
                new GlobalAcceleratorTraffic(new GlobalAcceleratorClient({ region: "us-west-2", credentials }), sites).moveTo(
                    "us-east-2",
                    "us-west-1",
                    context(),
                ),
                {
                    message: "no load balancer known for us-east-2: traffic moves only to the controller's own site",
                },
            );
        });

        it("fails with the call, the resource and AWS's answer when access is denied", async () => {
            ga.on(DescribeEndpointGroupCommand).rejects(
                awsError("AccessDeniedException", "not authorized to perform globalaccelerator:DescribeEndpointGroup"),
            );
            await assert.rejects(traffic().fence("us-east-2", context()), {
                message: `globalaccelerator:DescribeEndpointGroup ${SITES["us-east-2"].endpointGroupArn}: AccessDeniedException: not authorized to perform globalaccelerator:DescribeEndpointGroup`,
            });
        });
    });

    describe("the SDK's retries (a fake transport, the client's real middleware)", () => {
        it("retries throttling with backoff and then succeeds, within the configured attempts", async () => {
            let calls = 0;
            const requestHandler = {
                handle: () => {
                    calls += 1;
                    const throttled = calls === 1;
                    const body = throttled ? { __type: "ThrottlingException", message: "Rate exceeded" } : group("us-east-2", 0);
                    return Promise.resolve({
                        response: {
                            statusCode: throttled ? 400 : 200,
                            headers: { "content-type": "application/x-amz-json-1.1" },
                            body: Readable.from([Buffer.from(JSON.stringify(body))]),
                        },
                    });
                },
            };
            ga.restore();
            try {
                const client = new GlobalAcceleratorClient({
                    ...clientConfig("us-west-2"),
                    credentials,
                    requestHandler: requestHandler as never,
                });
                const detail = (await new GlobalAcceleratorTraffic(client, SITES).fence("us-east-2", context())).detail;
                assert.match(detail!, /already fenced/);
                assert.equal(calls, 2, "one throttled answer, then the retry");
            } finally {
                Object.assign(ga, mockClient(GlobalAcceleratorClient));
            }
        });
    });

    describe("replica reader (lambda:Invoke of the function in the standby's VPC)", () => {
        const lambda = mockClient(LambdaClient);
        afterEach(() => lambda.reset());
        after(() => lambda.restore());
        const reader = () => new LambdaReplicaReader(new LambdaClient({ region: "us-west-1", credentials }), "ecommerce-replica-reader");
        const payload = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value)) as never;

        it("asks synchronously with the wait and reads what the function answered", async () => {
            lambda
                .on(InvokeCommand)
                .resolves({ Payload: payload({ appliedAll: true, lastBeatAt: 1_796_300_000.25, detail: "I/O Yes, SQL Yes" }) });
            assert.deepEqual(await reader().read(7000, new AbortController().signal), {
                appliedAll: true,
                lastBeatAt: 1_796_300_000.25,
                detail: "I/O Yes, SQL Yes",
            });
            const input = lambda.commandCalls(InvokeCommand)[0].args[0].input;
            assert.equal(input.FunctionName, "ecommerce-replica-reader");
            assert.equal(input.InvocationType, "RequestResponse");
            assert.deepEqual(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)), { waitMs: 7000 });
        });

        it("takes a function error (HTTP 200 with FunctionError) as a failed read, with the function's message", async () => {
            lambda.on(InvokeCommand).resolves({
                FunctionError: "Unhandled",
                Payload: payload({
                    errorType: "Error",
                    errorMessage: "replica 10.20.4.7:3306 is not a replica (SHOW REPLICA STATUS is empty)",
                }),
            });
            await assert.rejects(
                reader().read(0, new AbortController().signal),
                /lambda:ecommerce-replica-reader failed \(Unhandled\): replica 10\.20\.4\.7:3306 is not a replica/,
            );
        });

        it("refuses an answer that is not the reader's", async () => {
            lambda.on(InvokeCommand).resolves({ Payload: payload({ lag: 3 }) });
            await assert.rejects(reader().read(0, new AbortController().signal), /expected \{"appliedAll", "lastBeatAt", "detail"\}/);
        });
    });

    describe("RDS database", () => {
        /** The replica reader in the standby's VPC, as the controller sees it. */
        let reading: ReplicaReading | Error = { appliedAll: true, lastBeatAt: 1_796_300_000.5, detail: "I/O Yes, SQL Yes" };
        const reads: number[] = [];
        const reader: ReplicaReader = {
            location: "lambda:ecommerce-replica-reader",
            read: (waitMs) => {
                reads.push(waitMs);
                return reading instanceof Error ? Promise.reject(reading) : Promise.resolve(reading);
            },
        };
        beforeEach(() => {
            reading = { appliedAll: true, lastBeatAt: 1_796_300_000.5, detail: "I/O Yes, SQL Yes" };
            reads.length = 0;
        });
        const database = () =>
            new RdsDatabase(new RDSClient({ region: "us-west-1", credentials }), new RDSClient({ region: "us-east-2", credentials }), {
                standbyIdentifier: "ecommerce-mysql-us-west-1",
                expectedSourceArn: SOURCE,
                oldWriterIdentifier: "ecommerce-mysql-us-east-2",
                replicaReader: reader,
                now: () => Date.parse("2026-11-30T12:00:00Z"),
            });
        const replica = (status = "available", source: string | undefined = SOURCE) => ({
            DBInstances: [
                {
                    DBInstanceIdentifier: "ecommerce-mysql-us-west-1",
                    DBInstanceStatus: status,
                    ReadReplicaSourceDBInstanceIdentifier: source,
                },
            ],
        });

        it("reads the replica through the reader once DescribeDBInstances shows a replica of the expected source, passing the wait on", async () => {
            rds.on(DescribeDBInstancesCommand).resolves(replica());
            const evidence = await database().readReplica(context(), 20_000);
            assert.deepEqual(
                [evidence.replicatesExpected, evidence.appliedAll, evidence.lastBeatAt, evidence.error],
                [true, true, 1_796_300_000.5, undefined],
            );
            assert.deepEqual(reads, [20_000]);
            assert.match(evidence.replication, /replicates from arn:aws:rds:us-east-2:.*; I\/O Yes, SQL Yes/);
        });

        const unreadable: [string, () => void, boolean, RegExp][] = [
            [
                "a replica of another source (not the precondition, though the replica reads)",
                () => rds.on(DescribeDBInstancesCommand).resolves(replica("available", "arn:aws:rds:eu-west-1:123456789012:db:other")),
                false,
                /replicates from arn:aws:rds:eu-west-1.*\(expected arn:aws:rds:us-east-2/,
            ],
            [
                "no longer a replica",
                () =>
                    rds
                        .on(DescribeDBInstancesCommand)
                        .resolves({ DBInstances: [{ DBInstanceIdentifier: "ecommerce-mysql-us-west-1", DBInstanceStatus: "available" }] }),
                false,
                /is not a replica \(promoted\?\)/,
            ],
            [
                "a reader that fails",
                () => {
                    reading = new Error("lambda:ecommerce-replica-reader failed (Unhandled): connect ETIMEDOUT");
                },
                true,
                /ETIMEDOUT/,
            ],
        ];
        for (const [what, arrange, replicates, message] of unreadable) {
            it(`says what it could not read, never a rejection: ${what}`, async () => {
                rds.on(DescribeDBInstancesCommand).resolves(replica());
                arrange();
                const evidence = await database().readReplica(context(), 0);
                assert.equal(evidence.replicatesExpected, replicates);
                assert.match(`${evidence.replication} ${evidence.error ?? ""}`, message);
            });
        }

        it("refuses a standby found standalone that this failover never asked to promote (it may be a writer of another time)", async () => {
            rds.on(DescribeDBInstancesCommand).resolves({
                DBInstances: [{ DBInstanceIdentifier: "ecommerce-mysql-us-west-1", DBInstanceStatus: "available" }],
            });
            const unasked = { ...context(), failover: { ...context().failover, promotionRequestedAt: undefined } };
            await assert.rejects(database().promote(unasked), /standalone writer, and this failover never asked to promote it/);
            assert.equal(rds.commandCalls(PromoteReadReplicaCommand).length, 0);
        });

        it("undoes the fence on an abort: read_only=1 reset on the old writer's parameter group", async () => {
            rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: "ecommerce-mysql-us-east-2" }).resolves({
                DBInstances: [
                    { DBInstanceIdentifier: "ecommerce-mysql-us-east-2", DBParameterGroups: [{ DBParameterGroupName: "db-params-1a2b" }] },
                ],
            });
            rds.on(DescribeDBParametersCommand).resolves({ Parameters: [{ ParameterName: "read_only", ParameterValue: "1" }] });
            rds.on(ResetDBParameterGroupCommand).resolves({});
            const result = await database().unfenceOldWriter("us-east-2", context());
            assert.match(result.detail!, /read_only=1 from an earlier fence reset on db-params-1a2b/);
            assert.deepEqual(rds.commandCalls(ResetDBParameterGroupCommand)[0].args[0].input, {
                DBParameterGroupName: "db-params-1a2b",
                Parameters: [{ ParameterName: "read_only", ApplyMethod: "immediate" }],
            });
        });

        it("promotes once and reports progress until the writer is standalone and available", async () => {
            rds.on(DescribeDBInstancesCommand)
                .resolvesOnce(replica("available"))
                .resolvesOnce(replica("modifying"))
                .resolves({ DBInstances: [{ DBInstanceIdentifier: "ecommerce-mysql-us-west-1", DBInstanceStatus: "available" }] });
            const db = database();
            assert.deepEqual(await db.promote(context()), {
                writable: false,
                detail: "ecommerce-mysql-us-west-1: PromoteReadReplica started",
            });
            assert.equal((await db.promote(context())).writable, false);
            assert.equal((await db.promote(context())).writable, true);
            assert.equal(rds.commandCalls(PromoteReadReplicaCommand).length, 1);
        });

        it("promotes with 14 days of backups, and resets a read_only=1 an earlier fence left on the new writer's group", async () => {
            rds.on(DescribeDBInstancesCommand)
                .resolvesOnce(replica("available"))
                .resolves({
                    DBInstances: [
                        {
                            DBInstanceIdentifier: "ecommerce-mysql-us-west-1",
                            DBInstanceStatus: "available",
                            DBParameterGroups: [{ DBParameterGroupName: "db-params-9z" }],
                        },
                    ],
                });
            rds.on(DescribeDBParametersCommand).resolves({ Parameters: [{ ParameterName: "read_only", ParameterValue: "1" }] });
            const db = database();
            await db.promote(context());
            assert.equal(rds.commandCalls(PromoteReadReplicaCommand)[0].args[0].input.BackupRetentionPeriod, 14);
            const done = await db.promote(context());
            assert.equal(done.writable, true);
            assert.match(done.detail!, /read_only=1 from an earlier fence reset on db-params-9z/);
            assert.deepEqual(rds.commandCalls(ResetDBParameterGroupCommand)[0].args[0].input, {
                DBParameterGroupName: "db-params-9z",
                Parameters: [{ ParameterName: "read_only", ApplyMethod: "immediate" }],
            });
        });

        it("treats InvalidDBInstanceState (a promotion already under way) as progress, not failure", async () => {
            rds.on(DescribeDBInstancesCommand).resolves(replica("available"));
            rds.on(PromoteReadReplicaCommand).rejects(
                Object.assign(awsError("InvalidDBInstanceStateFault"), { Code: "InvalidDBInstanceState" }),
            );
            assert.deepEqual(await database().promote(context()), {
                writable: false,
                detail: "ecommerce-mysql-us-west-1: a promotion or another change is under way (InvalidDBInstanceState)",
            });
        });

        it("fences a reachable old writer with read_only=1 on its parameter group, at once", async () => {
            rds.on(DescribeDBInstancesCommand).resolves({
                DBInstances: [
                    { DBInstanceIdentifier: "ecommerce-mysql-us-east-2", DBParameterGroups: [{ DBParameterGroupName: "db-params-1a2b" }] },
                ],
            });
            const result = await database().fenceOldWriter("us-east-2", context());
            assert.deepEqual(rds.commandCalls(ModifyDBParameterGroupCommand)[0].args[0].input, {
                DBParameterGroupName: "db-params-1a2b",
                Parameters: [{ ParameterName: "read_only", ParameterValue: "1", ApplyMethod: "immediate" }],
            });
            assert.match(result.detail!, /read_only=1 on db-params-1a2b/);
        });

        it("records an old region that does not answer and goes on", async () => {
            rds.on(DescribeDBInstancesCommand).rejects(
                Object.assign(new Error("connect ETIMEDOUT 52.95.0.1:443"), { name: "TimeoutError", code: "ETIMEDOUT" }),
            );
            const result = await database().fenceOldWriter("us-east-2", context());
            assert.match(
                result.detail!,
                /ecommerce-mysql-us-east-2 in us-east-2 did not answer .*: NOT fenced; fence it when the region is back/,
            );
        });

        it("resumes a promotion that outlasts one run in the next run, through the controller", async () => {
            rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: "ecommerce-mysql-us-east-2" }).resolves({
                DBInstances: [
                    { DBInstanceIdentifier: "ecommerce-mysql-us-east-2", DBParameterGroups: [{ DBParameterGroupName: "db-params-1a2b" }] },
                ],
            });
            // A replica until the promotion is asked for, then in progress until this run's budget is spent.
            let promoting = false;
            rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: "ecommerce-mysql-us-west-1" }).callsFake(() =>
                promoting ? replica("modifying") : replica("available"),
            );
            rds.on(PromoteReadReplicaCommand).callsFake(() => {
                promoting = true;
                return {};
            });
            ga.on(DescribeEndpointGroupCommand).resolves(group("us-west-1", 0));
            sns.on(PublishCommand).resolves({ MessageId: "m-1" });
            const world = new MemoryWorld();
            const clock = new FakeClock();
            const adapters = {
                ...world.adapters(),
                traffic: traffic(),
                database: database(),
                notifier: new SnsNotifier(
                    new SNSClient({ region: "us-west-1", credentials }),
                    "arn:aws:sns:us-west-1:123456789012:failover",
                ),
            };
            const opts = options({ roles: { region: "us-west-1", writerRegion: "us-east-2" }, promoteTimeoutMs: 30, retries: 2 });
            await assert.rejects(
                // No writer lease in this world: the window is unknown, and the operator accepts any loss.
                new Controller({ adapters, probes: [], emit: () => undefined, clock }, opts).failover("any"),
                (err: unknown) => err instanceof StepFailedError && err.step === "promote",
            );
            assert.equal(world.state!.failover!.current!.step, "promote");
            // The next run (the next scheduled invocation) finds the writer standalone and goes on.
            rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: "ecommerce-mysql-us-west-1" }).resolves({
                DBInstances: [{ DBInstanceIdentifier: "ecommerce-mysql-us-west-1", DBInstanceStatus: "available" }],
            });
            assert.equal(await new Controller({ adapters, probes: [], emit: () => undefined, clock }, opts).watch(), "failed-over");
            assert.equal(rds.commandCalls(PromoteReadReplicaCommand).length, 1);
            assert.equal(sns.commandCalls(PublishCommand).length, 1);
            const message = String(sns.commandCalls(PublishCommand)[0].args[0].input.Message);
            assert.match(message, /"dataAtRisk": "unknown: the lease is missing/);
            assert.match(message, /"accepted": "any loss, at /);
        });
    });

    describe("readiness preconditions: the role's permissions (simulated) and the credentials secret here", () => {
        let iam: ReturnType<typeof mockClient>, secrets: ReturnType<typeof mockClient>;
        before(() => {
            iam = mockClient(IAMClient);
            secrets = mockClient(SecretsManagerClient);
        });
        after(() => [iam, secrets].forEach((m) => m.restore()));
        beforeEach(() => {
            [iam, secrets].forEach((m) => m.reset());
            rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: "ecommerce-mysql-us-west-1" }).resolves({
                DBInstances: [{ DBParameterGroups: [{ DBParameterGroupName: "db-params-aaaaaaa" }] }],
            });
            rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: "ecommerce-mysql-us-east-2" }).resolves({
                DBInstances: [{ DBParameterGroups: [{ DBParameterGroupName: "db-params-bbbbbbb" }] }],
            });
            // Everything allowed, unless a test says otherwise.
            iam.on(SimulatePrincipalPolicyCommand).callsFake((input: { ActionNames: string[] }) => ({
                EvaluationResults: input.ActionNames.map((a) => ({ EvalActionName: a, EvalDecision: "allowed" })),
            }));
            secrets.on(DescribeSecretCommand).resolves({ Name: "ecommerce/us-east-2/mysql-master", PrimaryRegion: "us-east-2" });
        });
        const cfg = lambdaConfig();
        const preconditions = () =>
            new AwsPreconditions(
                {
                    iam: new IAMClient({ region: "us-west-1", credentials }),
                    secrets: new SecretsManagerClient({ region: "us-west-1", credentials }),
                    rds: new RDSClient({ region: "us-west-1", credentials }),
                    writerRegionRds: new RDSClient({ region: "us-east-2", credentials, maxAttempts: 1 }),
                },
                cfg,
                () => Promise.resolve({ listenerArn: LISTENER, endpointGroupArns: Object.values(SITES).map((s) => s.endpointGroupArn) }),
            );
        const simulated = () =>
            iam.commandCalls(SimulatePrincipalPolicyCommand).map((c) => ({
                actions: c.args[0].input.ActionNames,
                resources: c.args[0].input.ResourceArns,
                role: c.args[0].input.PolicySourceArn,
            }));

        it("simulates the function's role, one resource per call, for every call of a failover, and reports ready", async () => {
            const checks = await preconditions().readiness();
            assert.deepEqual(
                checks.map((c) => [c.name, c.ok]),
                [
                    ["permissions", true],
                    ["database credentials", true],
                ],
            );
            const calls = simulated();
            assert.ok(calls.every((c) => c.role === cfg.roleArn));
            assert.ok(calls.every((c) => c.resources === undefined || c.resources.length === 1));
            assert.deepEqual(calls.find((c) => c.resources?.[0] === "arn:aws:rds:us-east-2:123456789012:pg:db-params-bbbbbbb")?.actions, [
                "rds:ModifyDBParameterGroup",
                "rds:DescribeDBParameters",
                "rds:ResetDBParameterGroup",
            ]);
            assert.deepEqual(
                calls.find((c) => c.resources?.[0] === "arn:aws:lambda:us-west-1:123456789012:function:ecommerce-replica-reader")?.actions,
                ["lambda:InvokeFunction"],
            );
            assert.deepEqual(calls.find((c) => c.resources?.[0] === SITES["us-west-1"].endpointGroupArn)?.actions, [
                "globalaccelerator:DescribeEndpointGroup",
                "globalaccelerator:UpdateEndpointGroup",
                "globalaccelerator:AddEndpoints",
                "globalaccelerator:RemoveEndpoints",
            ]);
            assert.deepEqual(calls.find((c) => c.resources === undefined)?.actions, [
                "elasticloadbalancing:DescribeLoadBalancers",
                "ec2:DescribeAddresses",
                "ec2:DescribeInstances",
                "ec2:DescribeInternetGateways",
                "ec2:DescribeRegions",
                "ec2:DescribeSubnets",
            ]);
            assert.equal(checks[0].detail, `32 calls on 12 resources allowed for ${cfg.roleArn}`);
        });

        it("tells the simulator the region of each call (a region-locking SCP must not read as a denial)", async () => {
            await preconditions().readiness();
            const regionOf = (resource: string | undefined) =>
                iam
                    .commandCalls(SimulatePrincipalPolicyCommand)
                    .find((c) => c.args[0].input.ResourceArns?.[0] === resource)
                    ?.args[0].input.ContextEntries?.find((e) => e.ContextKeyName === "aws:RequestedRegion")?.ContextKeyValues;
            assert.deepEqual(regionOf(SITES["us-east-2"].endpointGroupArn), ["us-west-2"]); // Global Accelerator's API
            assert.deepEqual(regionOf("arn:aws:rds:us-east-2:123456789012:pg:db-params-bbbbbbb"), ["us-east-2"]);
            assert.deepEqual(regionOf("arn:aws:rds:us-west-1:123456789012:db:ecommerce-mysql-us-west-1"), ["us-west-1"]);
            assert.deepEqual(regionOf(undefined), ["us-west-1"]); // the calls on *: the load balancer's checks here
        });

        it("reports a decision that hangs on a context key only a real request has as undetermined, not denied", async () => {
            iam.on(SimulatePrincipalPolicyCommand, { ResourceArns: [cfg.topicArn] }).resolves({
                EvaluationResults: [
                    { EvalActionName: "sns:Publish", EvalDecision: "implicitDeny", MissingContextValues: ["aws:SourceVpc"] },
                    { EvalActionName: "sns:GetTopicAttributes", EvalDecision: "allowed" },
                ],
            });
            const [permissions] = await preconditions().readiness();
            assert.equal(permissions.ok, true);
            assert.match(
                permissions.detail,
                /undetermined by the simulator: sns:Publish on arn:aws:sns:us-west-1:123456789012:ecommerce-failover \(needs aws:SourceVpc\)$/,
            );
        });

        it("names each call the role may not make, and the decision", async () => {
            iam.on(SimulatePrincipalPolicyCommand, {
                ResourceArns: ["arn:aws:rds:us-west-1:123456789012:db:ecommerce-mysql-us-west-1"],
            }).resolves({
                EvaluationResults: [
                    { EvalActionName: "rds:DescribeDBInstances", EvalDecision: "allowed" },
                    { EvalActionName: "rds:PromoteReadReplica", EvalDecision: "explicitDeny" },
                ],
            });
            const [permissions] = await preconditions().readiness();
            assert.equal(permissions.ok, false);
            assert.equal(
                permissions.detail,
                `${cfg.roleArn} may not: rds:PromoteReadReplica on arn:aws:rds:us-west-1:123456789012:db:ecommerce-mysql-us-west-1 (explicitDeny)`,
            );
        });

        it("is not ready when IAM cannot be asked (access denied, or IAM not answering)", async () => {
            iam.on(SimulatePrincipalPolicyCommand).rejects(Object.assign(new Error("socket hang up"), { name: "TimeoutError" }));
            assert.match(
                (await preconditions().readiness())[0].detail,
                /^could not simulate the role's policies: .*TimeoutError: socket hang up$/,
            );
            iam.on(SimulatePrincipalPolicyCommand).rejects(
                awsError("AccessDenied", "not authorized to perform iam:SimulatePrincipalPolicy"),
            );
            const [permissions] = await preconditions().readiness();
            assert.equal(permissions.ok, false);
            assert.match(
                permissions.detail,
                /^could not simulate the role's policies: iam:SimulatePrincipalPolicy arn:aws:iam::123456789012:role\/\S+: AccessDenied/,
            );
        });

        it("with the old writer's region not answering: the fence's call is not simulated, said so, and the rest still counts", async () => {
            rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: "ecommerce-mysql-us-east-2" }).rejects(
                Object.assign(new Error("connect ETIMEDOUT"), { name: "TimeoutError" }),
            );
            const [permissions] = await preconditions().readiness();
            assert.equal(permissions.ok, true);
            assert.match(
                permissions.detail,
                /^29 calls on 11 resources allowed .*; the old writer's parameter group unknown \(rds:DescribeDBInstances ecommerce-mysql-us-east-2: TimeoutError/,
            );
            assert.ok(!simulated().some((c) => c.actions?.includes("rds:ModifyDBParameterGroup")));
        });

        it("is not ready when the credentials secret is missing here, scheduled for deletion, or not the writer region's", async () => {
            const credentialsCheck = async () => (await preconditions().readiness())[1];
            secrets
                .on(DescribeSecretCommand)
                .rejects(awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret."));
            assert.deepEqual(await credentialsCheck(), {
                name: "database credentials",
                ok: false,
                detail: "secretsmanager:DescribeSecret ecommerce/us-east-2/mysql-master: ResourceNotFoundException: Secrets Manager can't find the specified secret.",
            });
            secrets.on(DescribeSecretCommand).resolves({ PrimaryRegion: "us-east-2", DeletedDate: new Date("2026-11-29T00:00:00Z") });
            assert.match((await credentialsCheck()).detail, /scheduled for deletion \(2026-11-29T00:00:00.000Z\)/);
            secrets.on(DescribeSecretCommand).resolves({});
            assert.equal(
                (await credentialsCheck()).detail,
                "ecommerce/us-east-2/mysql-master in us-west-1 is not the writer region's secret (its primary is us-west-1, expected us-east-2)",
            );
        });
    });

    describe("DynamoDB state and lease (dynalite on 127.0.0.1, the real client)", () => {
        let server: ReturnType<typeof dynalite>;
        let client: DynamoDBClient;
        const TABLE = "ecommerce-failover";
        before(async () => {
            server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
            server.listen(0, "127.0.0.1");
            await once(server, "listening");
            const { port } = server.address() as AddressInfo;
            client = new DynamoDBClient({ region: "us-west-1", endpoint: `http://127.0.0.1:${port}`, credentials, maxAttempts: 1 });
            await client.send(
                new CreateTableCommand({
                    TableName: TABLE,
                    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
                    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
                    BillingMode: "PAY_PER_REQUEST",
                }),
            );
        });
        after(async () => {
            client.destroy();
            server.close();
            await once(server, "close");
        });

        it("lets exactly one of two racing controllers take the lease; the other gives up after one lease period", async () => {
            const lock = (holder: string) => new DynamoLock(client, TABLE, "race", { leaseMs: 600, pollMs: 100, holder });
            const results = await Promise.allSettled([lock("a").acquire(), lock("b").acquire()]);
            const won = results.filter((r) => r.status === "fulfilled");
            const lost = results.filter((r) => r.status === "rejected");
            assert.equal(won.length, 1);
            assert.equal(lost.length, 1);
            assert.ok(lost[0].reason instanceof LockHeldError);
            await won[0].value.release();
        });

        it("hands the lease to the next run once a crashed holder's lease has expired", async () => {
            // A holder that crashed: its item stays, unrenewed.
            await DynamoDBDocumentClient.from(client).send(
                new PutCommand({ TableName: TABLE, Item: { pk: "crash#lease", holder: "crashed", expiresAt: Date.now() + 300 } }),
            );
            const lease = await new DynamoLock(client, TABLE, "crash", { leaseMs: 1000, pollMs: 50, holder: "next" }).acquire();
            lease.assertHeld();
            await lease.release();
        });

        it("refuses a step completion written twice from the same read (two runs), keeping the first", async () => {
            const [a, b] = [new DynamoStateStore(client, TABLE, "twice"), new DynamoStateStore(client, TABLE, "twice")];
            const base = initialState({ region: "twice", writerRegion: "us-east-2" }, 1);
            await a.load();
            await b.load();
            await a.save({ ...base, phase: "suspect", consecutiveFailedRounds: 1 });
            await assert.rejects(b.save({ ...base, phase: "suspect", consecutiveFailedRounds: 7 }), StateConflictError);
            assert.equal((await new DynamoStateStore(client, TABLE, "twice").load())!.consecutiveFailedRounds, 1);
            // the writer itself goes on writing
            await a.save({ ...base, phase: "healthy", consecutiveFailedRounds: 0 });
        });

        it("carries a whole failover's state through DynamoDB, resumable by a new store", async () => {
            const world = new MemoryWorld();
            const store = new DynamoStateStore(client, TABLE, "us-west-1");
            const lock = new DynamoLock(client, TABLE, "us-west-1", { leaseMs: 2000 });
            const adapters = { ...world.adapters(), store, lock };
            const opts = options({ roles: { region: "us-west-1", writerRegion: "us-east-2" } });
            assert.equal(
                await new Controller({ adapters, probes: [], emit: () => undefined, clock: new FakeClock() }, opts).failover("any"),
                "failed-over",
            );
            const saved = await new DynamoStateStore(client, TABLE, "us-west-1").load();
            assert.equal(saved!.phase, "failed-over");
            assert.deepEqual(
                saved!.failover!.completed.map((c) => c.step),
                ["take-lease", "fence", "promote", "move-traffic", "notify"],
            );
        });
    });
});
