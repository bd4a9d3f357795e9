/**
 * The Lambda handler end to end in-process: its real wiring (failover/adapters/aws) with the
 * AWS clients mocked (aws-sdk-client-mock), the HTTP vantage points real servers on
 * 127.0.0.1, and what an invocation reports: its outcome (never a thrown error for a failed
 * step) and the EMF metric line.
 */
import * as assert from "assert";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
    DescribeEndpointGroupCommand,
    GlobalAcceleratorClient,
    ListEndpointGroupsCommand,
    RemoveEndpointsCommand,
} from "@aws-sdk/client-global-accelerator";
import { DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { DescribeSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetTopicAttributesCommand, SNSClient } from "@aws-sdk/client-sns";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { handler } from "../../failover/lambda/handler";
import { Site } from "../support/failoverServers";
import { lambdaConfig } from "../support/failoverWorld";

const LISTENER = "arn:aws:globalaccelerator::123456789012:accelerator/0f0e0d0c-0b0a-4909-8807-060504030201/listener/abcdefgh";
const GROUPS = { "us-east-2": `${LISTENER}/endpoint-group/use2`, "us-west-1": `${LISTENER}/endpoint-group/usw1` };
const SOURCE = "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2";

describe("failover Lambda handler (mocked AWS, real HTTP vantage points)", () => {
    // Installed in before(), not when the file loads: a client mock is process-wide, and other
    // files use the real DynamoDB client against dynalite.
    let mocks: ReturnType<typeof mockClient>[] = [];
    let ssm: ReturnType<typeof mockClient>, ga: ReturnType<typeof mockClient>, rds: ReturnType<typeof mockClient>;
    let sns: ReturnType<typeof mockClient>, dynamo: ReturnType<typeof mockClient>;
    let iam: ReturnType<typeof mockClient>, secrets: ReturnType<typeof mockClient>, lambda: ReturnType<typeof mockClient>;
    let origin: Site;
    let publicName: Site;
    let saved: string | undefined;
    // Credentials that exist (the mocks answer before any signing), and no instance metadata:
    // nothing may leave 127.0.0.1.
    const ENV = { AWS_ACCESS_KEY_ID: "AKIDTEST", AWS_SECRET_ACCESS_KEY: "test", AWS_EC2_METADATA_DISABLED: "true" };
    const savedEnv: Record<string, string | undefined> = {};
    let output: string;
    const write = process.stdout.write.bind(process.stdout);

    before(async () => {
        mocks = [
            SSMClient,
            GlobalAcceleratorClient,
            RDSClient,
            CloudWatchClient,
            SNSClient,
            DynamoDBDocumentClient,
            IAMClient,
            SecretsManagerClient,
            LambdaClient,
        ].map((c) => mockClient(c as never));
        [ssm, ga, rds, , sns, dynamo, iam, secrets, lambda] = mocks;
        [origin, publicName] = await Promise.all([new Site().start(), new Site().start()]);
        saved = process.env.FAILOVER_CONFIG;
        for (const [k, v] of Object.entries(ENV)) {
            savedEnv[k] = process.env[k];
            process.env[k] = v;
        }
        process.env.FAILOVER_CONFIG = JSON.stringify(
            lambdaConfig({
                httpProbes: [
                    { name: "writer-origin", url: origin.url },
                    { name: "public-name", url: publicName.url },
                ],
                intervalSeconds: 0.2,
                maxFail: 2,
                quorum: 2,
                timeoutSeconds: 0.2,
                lagWaitSeconds: 0,
                leaseSeconds: 2,
                // A writer lease that lapses 0.4 s after its last renewal, as the controller sees it.
                leaseTiming: {
                    leaseMs: 300,
                    marginMs: 100,
                    fenceMs: 50,
                    takeoverWaitMs: 100,
                    rateError: 0.001,
                    renewEveryMs: 50,
                    renewTimeoutMs: 50,
                },
            }),
        );
    });
    after(async () => {
        process.env.FAILOVER_CONFIG = saved;
        for (const [k, v] of Object.entries(savedEnv)) {
            if (v === undefined) {
                delete process.env[k];
            } else {
                process.env[k] = v;
            }
        }
        mocks.forEach((m) => m.restore());
        await Promise.all([origin.set("ok").then(() => origin.close()), publicName.set("ok").then(() => publicName.close())]);
    });
    beforeEach(async () => {
        mocks.forEach((m) => m.reset());
        await Promise.all([origin.set("ok"), publicName.set("ok")]);
        ssm.on(GetParameterCommand).resolves({ Parameter: { Value: LISTENER } });
        ga.on(ListEndpointGroupsCommand).resolves({
            EndpointGroups: Object.entries(GROUPS).map(([region, arn]) => ({ EndpointGroupArn: arn, EndpointGroupRegion: region })),
        });
        ga.on(DescribeEndpointGroupCommand).resolves({
            EndpointGroup: {
                TrafficDialPercentage: 100,
                EndpointDescriptions: [{ EndpointId: "alb-east", Weight: 128, HealthState: "HEALTHY" }],
            },
        });
        rds.on(DescribeDBInstancesCommand).resolves({
            DBInstances: [
                {
                    DBInstanceIdentifier: "ecommerce-mysql-us-west-1",
                    DBInstanceStatus: "available",
                    ReadReplicaSourceDBInstanceIdentifier: SOURCE,
                },
            ],
        });
        // The replica reader in the standby's VPC: everything received applied, the writer's beat a second old.
        lambda.on(InvokeCommand).resolves({
            // The SDK wraps the bytes in its blob adapter; the reader only decodes them.
            Payload: new TextEncoder().encode(
                JSON.stringify({ appliedAll: true, lastBeatAt: Date.now() / 1000 - 1.5, detail: "I/O Yes, SQL Yes" }),
            ) as never,
        });
        sns.on(GetTopicAttributesCommand).resolves({});
        iam.on(SimulatePrincipalPolicyCommand).callsFake((input: { ActionNames: string[] }) => ({
            EvaluationResults: input.ActionNames.map((a) => ({ EvalActionName: a, EvalDecision: "allowed" })),
        }));
        secrets.on(DescribeSecretCommand).resolves({ PrimaryRegion: "us-east-2" });
        // A table that keeps what is put (conditions are dynalite's business in awsAdapters.test.ts).
        const items = new Map<string, Record<string, unknown>>();
        // The writer's lease, as its agent last renewed it (it renews no more here: it lapses).
        // Its database's deadline (on that clock) is a second ago: the loss window is a couple of seconds.
        items.set("writer", {
            pk: "writer",
            holder: "us-east-2",
            epoch: 1,
            version: "v1",
            leaseMs: 300,
            renewedAt: 0,
            deadline: Date.now() / 1000 - 1,
        });
        dynamo.on(GetCommand).callsFake((input: { Key: { pk: string } }) => ({ Item: items.get(input.Key.pk) }));
        dynamo.on(PutCommand).callsFake((input: { Item: Record<string, unknown> & { pk: string } }) => {
            items.set(input.Item.pk, input.Item);
            return {};
        });
        dynamo.on(DeleteCommand).resolves({});
        dynamo.on(UpdateCommand).resolves({});
        output = "";
        process.stdout.write = (chunk: string) => {
            output += chunk;
            return true;
        };
    });
    afterEach(() => {
        process.stdout.write = write;
    });

    const metricLine = () => JSON.parse(output.split("\n").find((l) => l.includes('"_aws"'))!) as Record<string, any>;

    it("watches a healthy writer for its budget, reports ready, and publishes the phase as an EMF metric", async () => {
        const result = await handler({}, { getRemainingTimeInMillis: () => 11_000 });
        process.stdout.write = write;
        assert.deepEqual(result, { outcome: "elapsed", ready: true });
        const metric = metricLine();
        assert.equal(metric.Phase, 0);
        assert.equal(metric.Ready, 1);
        assert.equal(metric._aws.CloudWatchMetrics[0].Namespace, "Ecommerce/Failover");
        assert.ok(output.includes('"event":"round"'), "rounds ran");
    });

    it("reports not ready (Ready 0, the reason in its log) when the role may not make a failover's call, and still watches", async () => {
        iam.on(SimulatePrincipalPolicyCommand).callsFake((input: { ActionNames: string[] }) => ({
            EvaluationResults: input.ActionNames.map((a) => ({
                EvalActionName: a,
                EvalDecision: a === "rds:PromoteReadReplica" ? "implicitDeny" : "allowed",
            })),
        }));
        const result = await handler({}, { getRemainingTimeInMillis: () => 11_000 });
        process.stdout.write = write;
        assert.deepEqual(result, { outcome: "elapsed", ready: false });
        assert.equal(metricLine().Ready, 0);
        const readiness = JSON.parse(output.split("\n").find((l) => l.includes('"event":"readiness"'))!);
        assert.deepEqual(
            readiness.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name),
            ["permissions"],
        );
        assert.match(
            readiness.checks.find((c: { name: string }) => c.name === "permissions").detail,
            /may not: rds:PromoteReadReplica on arn:aws:rds:us-west-1:123456789012:db:ecommerce-mysql-us-west-1 \(implicitDeny\)/,
        );
    });

    it("watches while readiness waits on an IAM that never answers: rounds run, and it reports not ready within its budget", async () => {
        iam.on(SimulatePrincipalPolicyCommand).callsFake(() => new Promise(() => undefined));
        const result = await handler({}, { getRemainingTimeInMillis: () => 11_000 });
        process.stdout.write = write;
        assert.deepEqual(result, { outcome: "elapsed", ready: false });
        assert.ok(output.includes('"event":"round"'), "rounds ran");
        assert.match(output, /"the checks did not finish within 1 s"/);
        assert.equal(metricLine().Ready, 0);
    });

    it("ends with an outcome, not an error, when a step fails after its retries (the next invocation resumes)", async () => {
        await Promise.all([origin.set("down"), publicName.set("down")]);
        ga.on(RemoveEndpointsCommand).rejects(Object.assign(new Error("not authorized"), { name: "AccessDeniedException" }));
        const result = await handler({}, { getRemainingTimeInMillis: () => 20_000 }); // 10 s of budget: the retries (1 s, 2 s) fit
        process.stdout.write = write;
        assert.equal(result.outcome, "step-failed");
        assert.match(
            output,
            /step fence failed after 3 attempt\(s\): globalaccelerator:RemoveEndpoints .*: AccessDeniedException: not authorized/,
        );
        assert.equal(metricLine().Phase, 2, "failing over, resumable");
    });
});
