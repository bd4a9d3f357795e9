import { strict as assert } from "assert";
import { loadStack, runProgram, requireSuccess } from "../offline/run";
import { Network, networkArgsProblems, type NetworkArgs } from "../components/network";
import type { NatGatewayMode } from "../lib/rules";
import { expectCount, one, ofType } from "./support/query";

describe("Network", () => {
    const expectations = [
        {
            stack: "primary",
            region: "us-east-2",
            cidr: "10.10.0.0/16",
            zones: ["us-east-2a", "us-east-2b", "us-east-2c"],
            ids: ["use2-az1", "use2-az2", "use2-az3"],
        },
        // us-west-1 offers two zones; names map to IDs differently per account.
        { stack: "dr", region: "us-west-1", cidr: "10.20.0.0/16", zones: ["us-west-1c", "us-west-1b"], ids: ["usw1-az1", "usw1-az3"] },
    ];
    for (const e of expectations) {
        describe(`stack ${e.stack}`, () => {
            it(`creates one VPC ${e.cidr} with DNS support`, async () => {
                const run = await loadStack(e.stack);
                const [vpc] = expectCount(run, "aws:ec2/vpc:Vpc", 1);
                assert.equal(vpc.inputs.cidrBlock, e.cidr);
                assert.equal(vpc.inputs.enableDnsHostnames, true);
                assert.equal(vpc.inputs.enableDnsSupport, true);
            });

            it(`puts a public, private and data subnet in each of ${e.ids.join(", ")}`, async () => {
                const run = await loadStack(e.stack);
                const subnets = expectCount(run, "aws:ec2/subnet:Subnet", 3 * e.ids.length);
                for (const tier of ["public", "private", "data"]) {
                    const ofTier = subnets.filter((s) => s.inputs.tags.SubnetTier === tier);
                    assert.deepEqual(
                        ofTier.map((s) => s.inputs.availabilityZoneId),
                        e.ids,
                        tier,
                    );
                    assert.deepEqual(
                        ofTier.map((s) => s.outputs.availabilityZone),
                        e.zones,
                        tier,
                    );
                }
                assert.ok(
                    subnets.every((s) => s.inputs.mapPublicIpOnLaunch === false),
                    "no subnet assigns public IPs",
                );
            });

            it("routes each zone's private and data subnets through that zone's own NAT gateway", async () => {
                const run = await loadStack(e.stack);
                const nats = expectCount(run, "aws:ec2/natGateway:NatGateway", e.ids.length);
                const publicSubnetIds = ofType(run, "aws:ec2/subnet:Subnet")
                    .filter((s) => s.inputs.tags.SubnetTier === "public")
                    .map((s) => s.id);
                assert.deepEqual(
                    nats.map((n) => n.inputs.subnetId),
                    publicSubnetIds,
                );
                e.ids.forEach((_, i) => {
                    const table = one(run, "aws:ec2/routeTable:RouteTable", `network-private-rt-${i + 1}`);
                    const route = one(run, "aws:ec2/route:Route", `network-private-default-${i + 1}`);
                    assert.equal(route.inputs.routeTableId, table.id);
                    assert.equal(route.inputs.natGatewayId, nats[i].id);
                    for (const tier of ["private", "data"]) {
                        const subnet = one(run, "aws:ec2/subnet:Subnet", `network-${tier}-${i + 1}`);
                        const assoc = one(run, "aws:ec2/routeTableAssociation:RouteTableAssociation", `network-${tier}-${i + 1}`);
                        assert.equal(assoc.inputs.subnetId, subnet.id);
                        assert.equal(assoc.inputs.routeTableId, table.id);
                    }
                });
            });

            it("sends only the public subnets to the internet gateway", async () => {
                const run = await loadStack(e.stack);
                const igw = one(run, "aws:ec2/internetGateway:InternetGateway", "network-igw");
                const igwRoutes = ofType(run, "aws:ec2/route:Route").filter((r) => r.inputs.gatewayId === igw.id);
                assert.deepEqual(
                    igwRoutes.map((r) => r.name),
                    ["network-public-default"],
                );
                const publicTable = one(run, "aws:ec2/routeTable:RouteTable", "network-public-rt");
                const publicAssocs = ofType(run, "aws:ec2/routeTableAssociation:RouteTableAssociation").filter(
                    (a) => a.inputs.routeTableId === publicTable.id,
                );
                assert.equal(publicAssocs.length, e.ids.length);
                assert.ok(publicAssocs.every((a) => a.name.startsWith("network-public-")));
            });

            it("strips every rule from the default security group", async () => {
                const run = await loadStack(e.stack);
                const [sg] = expectCount(run, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", 1);
                assert.deepEqual(sg.inputs.ingress, []);
                assert.deepEqual(sg.inputs.egress, []);
            });

            it("logs all VPC traffic to CloudWatch for 90 days", async () => {
                const run = await loadStack(e.stack);
                const [flowLog] = expectCount(run, "aws:ec2/flowLog:FlowLog", 1);
                const group = one(run, "aws:cloudwatch/logGroup:LogGroup", "network-flow-logs");
                const role = one(run, "aws:iam/role:Role", "network-flow-logs");
                assert.equal(flowLog.inputs.trafficType, "ALL");
                assert.equal(flowLog.inputs.vpcId, one(run, "aws:ec2/vpc:Vpc", "network-vpc").id);
                assert.equal(flowLog.inputs.logDestination, group.outputs.arn);
                assert.equal(flowLog.inputs.iamRoleArn, role.outputs.arn);
                assert.equal(group.inputs.retentionInDays, 90);
            });

            it("gives the flow-log role AWS's documented trust and permissions, limited to this account, region and log group", async () => {
                const run = await loadStack(e.stack);
                const group = one(run, "aws:cloudwatch/logGroup:LogGroup", "network-flow-logs");
                const role = one(run, "aws:iam/role:Role", "network-flow-logs");
                const policy = one(run, "aws:iam/rolePolicy:RolePolicy", "network-flow-logs");
                assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy), {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                            Action: "sts:AssumeRole",
                            Condition: {
                                StringEquals: { "aws:SourceAccount": "123456789012" },
                                ArnLike: { "aws:SourceArn": `arn:aws:ec2:${e.region}:123456789012:vpc-flow-log/*` },
                            },
                        },
                    ],
                });
                const arn: string = group.outputs.arn;
                assert.deepEqual(JSON.parse(policy.inputs.policy), {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "WriteFlowLogs",
                            Effect: "Allow",
                            Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            Resource: [arn, `${arn}:*`],
                        },
                        {
                            Sid: "FindTheLogGroup",
                            Effect: "Allow",
                            // An action without a resource type (Service Authorization Reference): only "*" grants it.
                            Action: "logs:DescribeLogGroups",
                            Resource: "*",
                        },
                    ],
                });
                assert.equal(policy.inputs.role, role.id);
                // The flow log waits for its permissions.
                assert.ok(one(run, "aws:ec2/flowLog:FlowLog", "network-flow-logs").dependencies.includes(policy.urn));
            });
        });
    }

    it("uses a single NAT gateway for every zone when natGateways is single", async () => {
        const run = requireSuccess(await runProgram({ stack: "primary", config: { "ecommerce:natGateways": "single" } }));
        const [nat] = expectCount(run, "aws:ec2/natGateway:NatGateway", 1);
        const routes = ofType(run, "aws:ec2/route:Route").filter((r) => r.inputs.natGatewayId !== undefined);
        assert.equal(routes.length, 3);
        assert.ok(routes.every((r) => r.inputs.natGatewayId === nat.id));
    });

    it("fails before creating anything when a pinned AZ ID is not offered by the region", async () => {
        const run = await runProgram({
            stack: "dr",
            config: { "ecommerce:azIds": JSON.stringify({ "us-east-2": ["use2-az1", "use2-az2"], "us-west-1": ["usw1-az1", "usw1-az2"] }) },
        });
        assert.deepEqual(run.errors, [
            'Invalid configuration for stack "dr":\n  - ecommerce:azIds.us-west-1 = ["usw1-az1","usw1-az2"]: expected zones that us-west-1 offers this account (usw1-az3, usw1-az1); not available: usw1-az2',
        ]);
        assert.deepEqual(
            run.resources.map((r) => r.type),
            ["pulumi:pulumi:Stack"],
        );
    });
});

describe("Network argument validation", () => {
    const zone = (n: number) => ({ id: `use2-az${n}`, name: `us-east-2${"abc"[n - 1]}` });
    const valid: NetworkArgs = { cidrBlock: "10.10.0.0/16", zones: [zone(1), zone(2)] };

    it("accepts two zones with the defaults", () => {
        assert.deepEqual(networkArgsProblems(valid), []);
    });

    const cases: [string, Partial<NetworkArgs>, string[]][] = [
        ["a single zone", { zones: [zone(1)] }, ["zones = 1: expected an integer from 2 to 3 Availability Zones"]],
        ["an unknown NAT mode", { natGateways: "none" as NatGatewayMode }, ['natGateways = "none": expected one of perAz, single']],
        [
            "a retention CloudWatch does not accept",
            { flowLogRetentionDays: 10 },
            [
                "flowLogRetentionDays = 10: expected a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
            ],
        ],
    ];
    for (const [title, change, problems] of cases) {
        it(`rejects ${title}`, () => assert.deepEqual(networkArgsProblems({ ...valid, ...change }), problems));
    }

    it("rejects bad arguments before registering anything, not even the component", async () => {
        const run = await runProgram({
            stack: "primary",
            program: () => new Network("net", { ...valid, zones: [zone(1)], flowLogRetentionDays: 10 }),
        });
        assert.deepEqual(run.errors, [
            "Network net: invalid arguments:\n" +
                "  - zones = 1: expected an integer from 2 to 3 Availability Zones\n" +
                "  - flowLogRetentionDays = 10: expected a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
        ]);
        assert.deepEqual(
            run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => r.name),
            [],
        );
    });
});
