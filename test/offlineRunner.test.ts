import { strict as assert } from "assert";
import * as aws from "@pulumi/aws";
import { loadStack, runProgram, UNKNOWN } from "../offline/run";

describe("offline program runner", () => {
    it("fails a run that creates a resource type the mocks do not model, naming it", async () => {
        const run = await runProgram({ stack: "primary", program: () => ({ url: new aws.sqs.Queue("orders").url }) });
        assert.ok(
            run.errors.includes("no mock for resource type aws:sqs/queue:Queue (orders): add its outputs to offline/awsModel.ts"),
            run.errors.join("\n"),
        );
    });

    it("fails a run that calls a provider function the mocks do not model, naming it", async () => {
        const run = await runProgram({ stack: "primary", program: async () => ({ vpc: (await aws.ec2.getVpc({ default: true })).id }) });
        assert.match(
            run.errors[0],
            /^no mock for provider function aws:ec2\/getVpc:getVpc: the program called something the mocks do not model/,
        );
    });

    it("fails the program (instead of hanging) when a secret it reads was not created at bootstrap", async () => {
        const run = await runProgram({ stack: "dr", secretValues: {} });
        assert.equal(
            run.errors[0],
            "aws:secretsmanager/getSecretVersion:getSecretVersion: getSecretVersion: secret ecommerce/alertmanager/webhook-url does not exist in us-west-1 (create it at bootstrap)",
        );
    });

    it("leaves IDs and computed outputs unknown in a first preview, and inputs known", async () => {
        const run = await loadStack("primary", true);
        const vpc = run.resources.find((r) => r.type === "aws:ec2/vpc:Vpc")!;
        assert.equal(vpc.id, UNKNOWN);
        assert.equal(vpc.outputs.arn, UNKNOWN);
        assert.equal(vpc.inputs.cidrBlock, "10.10.0.0/16");
        const subnet = run.resources.find((r) => r.type === "aws:ec2/subnet:Subnet")!;
        assert.equal(subnet.inputs.vpcId, UNKNOWN, "an input built from an unknown ID is unknown");
    });

    it("records the same logical resources in a preview as in an update", async () => {
        const keys = (run: Awaited<ReturnType<typeof loadStack>>) => run.resources.map((r) => `${r.type}::${r.name}`).sort();
        for (const stack of ["primary", "dr"]) {
            assert.deepEqual(keys(await loadStack(stack, true)), keys(await loadStack(stack)), stack);
        }
    });

    it("records protect, parents and dependencies of each registration", async () => {
        const run = await loadStack("primary");
        const writer = run.resources.find((r) => r.type === "aws:rds/instance:Instance" && r.name === "db-writer")!;
        assert.equal(writer.protect, true);
        assert.match(writer.parent!, /ecommerce:db:DatabaseCluster::db$/);
        assert.ok(writer.dependencies.length > 0);
        assert.ok(Object.keys(writer.propertyDependencies).includes("dbSubnetGroupName"));
    });
});
