/**
 * The writer lease as each stack deploys it: the global stack's multi-Region strongly
 * consistent table and witness, and each site's writer agent beside its database, with their
 * least-privilege permissions and the alarms that watch the lease.
 */
import { strict as assert } from "assert";
import { parseAgentConfig } from "../failover/lambda/agentConfig";
import { parseWitnessConfig } from "../failover/lambda/witnessHandler";
import { DEFAULT_LEASE_TIMING } from "../failover/core/writerLease";
import { loadStack, requireSuccess, runProgram, StackRun } from "../offline/run";
import { certificatesFor } from "./support/fixtures";

const one = (run: StackRun, type: string, name: string) => {
    const found = run.resources.filter((r) => r.type === type && r.name === name);
    assert.equal(found.length, 1, `${run.stack}: ${type} ${name}`);
    return found[0];
};

describe("WriterAgent and LeaseStore", () => {
    it("global: the lease in an MRSC table (us-west-2, a STRONG replica in us-east-2, a witness in us-east-1), protected", async () => {
        const global = await loadStack("global");
        const table = one(global, "aws:dynamodb/table:Table", "lease-table");
        assert.equal(table.inputs.name, "ecommerce-writer-lease");
        assert.deepEqual(
            table.inputs.replicas.map((r: { regionName: string; consistencyMode: string }) => [r.regionName, r.consistencyMode]),
            [["us-east-2", "STRONG"]],
        );
        assert.deepEqual(table.inputs.globalTableWitness, { regionName: "us-east-1" });
        assert.equal(table.inputs.ttl, undefined, "MRSC tables have no TTL");
        assert.equal(table.inputs.streamEnabled, undefined);
        assert.equal(table.protect, true);
        assert.equal(table.inputs.deletionProtectionEnabled, true);
        assert.equal(global.outputs.writerLeaseTable, "ecommerce-writer-lease");
    });

    it("global: the witness looks at the public name in the writer's scheme every 10 s, and may only post its own item", async () => {
        const global = await loadStack("global");
        const fn = one(global, "aws:lambda/function:Function", "lease-witness-function");
        assert.equal(fn.inputs.handler, "index.witnessHandler");
        const config = parseWitnessConfig(fn.inputs.environment.variables.WITNESS_CONFIG);
        assert.deepEqual(config, {
            region: "us-west-2",
            table: "ecommerce-writer-lease",
            url: "http://shop.example.com/api/health",
            intervalSeconds: 10,
            timeoutSeconds: 5,
        });
        const statements = JSON.parse(one(global, "aws:iam/rolePolicy:RolePolicy", "lease-witness-permissions").inputs.policy).Statement;
        assert.deepEqual(statements[1], {
            Sid: "PostWhatItSaw",
            Effect: "Allow",
            Action: "dynamodb:PutItem",
            Resource: one(global, "aws:dynamodb/table:Table", "lease-table").outputs.arn,
            Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["witness"] } },
        });
        assert.equal(one(global, "aws:scheduler/schedule:Schedule", "lease-witness-schedule").inputs.state, "ENABLED");
        const https = requireSuccess(await runProgram({ stack: "global", config: certificatesFor("us-east-2") }));
        const witness = one(https, "aws:lambda/function:Function", "lease-witness-function");
        assert.equal(parseWitnessConfig(witness.inputs.environment.variables.WITNESS_CONFIG).url, "https://shop.example.com/api/health");
    });

    for (const [stack, region, leaseRegion, writer] of [
        ["primary", "us-east-2", "us-east-2", true],
        ["dr", "us-west-1", "us-west-2", false],
    ] as const) {
        it(`${stack}: an agent in the VPC, running every minute, renewing the lease in ${leaseRegion} with the controller's timing`, async () => {
            const run = await loadStack(stack);
            const fn = one(run, "aws:lambda/function:Function", "writer-agent-function");
            assert.equal(fn.inputs.handler, "index.agentHandler");
            assert.equal(fn.inputs.timeout, 90);
            const privateSubnets = run.resources.filter(
                (r) => r.type === "aws:ec2/subnet:Subnet" && r.inputs.tags.SubnetTier === "private",
            );
            assert.deepEqual([...fn.inputs.vpcConfig.subnetIds].sort(), privateSubnets.map((s) => s.id).sort());
            const config = parseAgentConfig(fn.inputs.environment.variables.AGENT_CONFIG);
            assert.deepEqual(
                [config.region, config.writerRegion, config.leaseRegion, config.leaseTable, config.appUser, config.appSchemas],
                [region, "us-east-2", leaseRegion, "ecommerce-writer-lease", "shop_app", ["ecommerce"]],
            );
            assert.deepEqual(
                [config.masterSecret, config.appSecret],
                ["ecommerce/us-east-2/mysql-master", "ecommerce/us-east-2/mysql-app"],
            );
            const controller = JSON.parse(
                one(run, "aws:lambda/function:Function", "failover-function").inputs.environment.variables.FAILOVER_CONFIG,
            );
            assert.deepEqual(config.timing, DEFAULT_LEASE_TIMING);
            assert.deepEqual(controller.leaseTiming, config.timing, "the controller waits out the lease the agent holds");
            // Both sites: a standby's agent must already run when a takeover makes it the holder.
            assert.equal(one(run, "aws:scheduler/schedule:Schedule", "writer-agent-schedule").inputs.state, "ENABLED");
            for (const name of ["failover-agent-renewal-gap", "failover-agent-fence-unarmed", "failover-agent-errors"]) {
                assert.equal(one(run, "aws:cloudwatch/metricAlarm:MetricAlarm", name).inputs.actionsEnabled, writer, name);
            }
            assert.equal(one(run, "aws:cloudwatch/metricAlarm:MetricAlarm", "failover-agent-renewal-gap").inputs.threshold, 12.5);
        });

        it(`${stack}: the agent may read its two secrets, renew the lease (never delete it), and reach only MySQL and HTTPS`, async () => {
            const run = await loadStack(stack);
            const statements = JSON.parse(one(run, "aws:iam/rolePolicy:RolePolicy", "writer-agent-permissions").inputs.policy).Statement;
            const secrets = ["mysql-master", "mysql-app"].map(
                (s) => `arn:aws:secretsmanager:${region}:123456789012:secret:ecommerce/us-east-2/${s}-??????`,
            );
            assert.deepEqual(statements.slice(1), [
                {
                    Sid: "WriterLease",
                    Effect: "Allow",
                    Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                    Resource: `arn:aws:dynamodb:${leaseRegion}:123456789012:table/ecommerce-writer-lease`,
                    Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["writer"] } },
                },
                { Sid: "DatabaseCredentials", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secrets },
                {
                    Sid: "DecryptTheCredentials",
                    Effect: "Allow",
                    Action: "kms:Decrypt",
                    Resource: `arn:aws:kms:${region}:123456789012:key/*`,
                    Condition: {
                        StringEquals: { "kms:ViaService": `secretsmanager.${region}.amazonaws.com` },
                        StringLike: { "kms:EncryptionContext:SecretARN": secrets },
                    },
                },
            ]);
            const sg = one(run, "aws:ec2/securityGroup:SecurityGroup", "writer-agent-sg");
            const egress = run.resources
                .filter((r) => r.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" && r.inputs.securityGroupId === sg.id)
                .map((r) => `${r.inputs.fromPort} ${r.inputs.cidrIpv4}`)
                .sort();
            assert.deepEqual(egress, [`3306 ${one(run, "aws:ec2/vpc:Vpc", "network-vpc").inputs.cidrBlock}`, "443 0.0.0.0/0"]);
            assert.equal(
                run.resources.filter(
                    (r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.inputs.securityGroupId === sg.id,
                ).length,
                0,
            );
        });
    }
});
