import { strict as assert } from "assert";
import { parse } from "yaml";
import { loadStack, requireSuccess, runProgram, RecordedResource, StackRun } from "../offline/run";
import { byIdOrArn, childrenOf, one, ofType } from "./support/query";
import { AL2023_AMI_PARAMETER } from "../lib/amis";
import { hex } from "../offline/awsModel";
import { RedisClusterArgs, redisClusterArgsProblems } from "../components/redisCluster";
import { NODE_PATHS, PASSWORD_PLACEHOLDER } from "../lib/redisConfig";

const INSTANCE = "aws:ec2/instance:Instance";
const ENI = "aws:ec2/networkInterface:NetworkInterface";
const SG = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const COMPONENT = "ecommerce:redis:RedisCluster";

/** The cluster's resources of `type`, in creation order. */
function redisOfType(run: StackRun, type: string): RecordedResource[] {
    const cluster = one(run, COMPONENT, "redis");
    return childrenOf(run, cluster).filter((r) => r.type === type);
}

/** The instances in node order (redis-node-1, -2, ...). */
function nodes(run: StackRun, count = 3): RecordedResource[] {
    return Array.from({ length: count }, (_, i) => one(run, INSTANCE, `redis-node-${i + 1}`));
}

/** A file of an instance's cloud-config user data. */
function userDataFile(instance: RecordedResource, filePath: string): string {
    const doc = parse(instance.inputs.userData) as { write_files: { path: string; content: string }[] };
    const file = doc.write_files.find((f) => f.path === filePath);
    assert.ok(file, `${instance.name} user data writes ${filePath}`);
    return file.content;
}

function configLines(text: string): string[] {
    return text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
}

describe("RedisCluster", () => {
    const expectations = [
        {
            stack: "primary",
            zones: ["us-east-2a", "us-east-2b", "us-east-2c"],
            zoneIds: ["use2-az1", "use2-az2", "use2-az3"],
            addresses: ["10.10.64.10", "10.10.80.11", "10.10.96.12"],
            survivesZoneLoss: true,
        },
        {
            // Config order usw1-az1 (us-west-1c here), usw1-az3 (us-west-1b): node 3 shares node 1's zone.
            stack: "dr",
            zones: ["us-west-1c", "us-west-1b", "us-west-1c"],
            zoneIds: ["usw1-az1", "usw1-az3", "usw1-az1"],
            addresses: ["10.20.64.10", "10.20.80.11", "10.20.64.12"],
            survivesZoneLoss: false,
        },
    ];
    for (const e of expectations) {
        describe(`stack ${e.stack}`, () => {
            it("creates exactly 3 t3.large instances, all in the RedisCluster component", async () => {
                const run = await loadStack(e.stack);
                const instances = redisOfType(run, INSTANCE);
                assert.deepEqual(
                    instances.map((i) => i.name),
                    ["redis-node-1", "redis-node-2", "redis-node-3"],
                );
                assert.ok(instances.every((i) => i.inputs.instanceType === "t3.large"));
                assert.ok(
                    instances.every((i) => i.inputs.tags.Tier === "redis"),
                    "Tier tag on every node",
                );
                const allInstances = ofType(run, INSTANCE).filter((i) => i.inputs.tags?.Tier === "redis");
                assert.equal(allInstances.length, 3);
            });

            it(`places the nodes in ${e.zones.join(", ")}`, async () => {
                const run = await loadStack(e.stack);
                const instances = nodes(run);
                assert.deepEqual(
                    instances.map((i) => i.inputs.availabilityZone),
                    e.zones,
                );
                // The interface's subnet decides where the instance really runs: it must agree.
                const subnets = instances.map((i) =>
                    byIdOrArn(run, byIdOrArn(run, i.inputs.primaryNetworkInterface.networkInterfaceId).inputs.subnetId),
                );
                assert.deepEqual(
                    subnets.map((s) => s.outputs.availabilityZone),
                    e.zones,
                );
                assert.deepEqual(
                    subnets.map((s) => s.inputs.availabilityZoneId),
                    e.zoneIds,
                );
            });

            it(`pins the nodes to ${e.addresses.join(", ")} on their own interfaces in the data subnets`, async () => {
                const run = await loadStack(e.stack);
                const sg = one(run, SG, "redis-sg");
                const enis = nodes(run).map((instance) => {
                    const eni = byIdOrArn(run, instance.inputs.primaryNetworkInterface.networkInterfaceId);
                    assert.equal(eni.type, ENI);
                    assert.equal(eni.name, instance.name);
                    return eni;
                });
                assert.deepEqual(
                    enis.map((n) => n.inputs.privateIps),
                    e.addresses.map((a) => [a]),
                );
                assert.deepEqual(
                    enis.map((n) => n.outputs.privateIp),
                    e.addresses,
                );
                for (const eni of enis) {
                    const subnet = byIdOrArn(run, eni.inputs.subnetId);
                    assert.equal(subnet.inputs.tags.SubnetTier, "data", `${eni.name} in a data subnet`);
                    assert.deepEqual(eni.inputs.securityGroups, [sg.id]);
                    assert.equal(eni.deleteBeforeReplace, true, `${eni.name} deleteBeforeReplace`);
                }
                assert.equal(redisOfType(run, ENI).length, 3);
            });

            it("replaces an instance before creating its successor, keeps the AMI it launched with, and applies new user data by replacement", async () => {
                const run = await loadStack(e.stack);
                for (const instance of nodes(run)) {
                    assert.equal(instance.deleteBeforeReplace, true);
                    assert.deepEqual(instance.ignoreChanges, ["ami"]);
                    // The AMI ID the public parameter names at deploy time, never the resolve:ssm: alias
                    // (the provider's DescribeImages fails on it, terraform-provider-aws#43488).
                    assert.equal(
                        instance.inputs.ami,
                        `ami-${hex(`${e.stack === "primary" ? "us-east-2" : "us-west-1"}|${AL2023_AMI_PARAMETER}`, 17)}`,
                    );
                    // Readable in previews and state: the public parameter's value, not a [secret].
                    assert.ok(!instance.secretPaths.includes("ami"), `${instance.name}: ami is recorded as a secret`);
                    assert.equal(instance.inputs.userDataReplaceOnChange, true);
                }
                // One node after another, so a change rolls through them instead of all at once.
                const [n1, n2, n3] = nodes(run);
                assert.ok(n2.dependencies.includes(n1.urn) && n3.dependencies.includes(n2.urn));
            });

            it("requires IMDSv2, encrypts a gp3 root volume, enables detailed monitoring and gives no public address", async () => {
                const run = await loadStack(e.stack);
                for (const instance of nodes(run)) {
                    assert.deepEqual(instance.inputs.metadataOptions, {
                        httpEndpoint: "enabled",
                        httpTokens: "required",
                        httpPutResponseHopLimit: 1,
                        instanceMetadataTags: "disabled",
                    });
                    assert.equal(instance.inputs.rootBlockDevice.encrypted, true);
                    assert.equal(instance.inputs.rootBlockDevice.volumeType, "gp3");
                    assert.equal(instance.inputs.rootBlockDevice.volumeSize, 20);
                    assert.equal(instance.inputs.monitoring, true);
                    assert.equal(instance.inputs.associatePublicIpAddress, undefined);
                    const eni = byIdOrArn(run, instance.inputs.primaryNetworkInterface.networkInterfaceId);
                    assert.equal(byIdOrArn(run, eni.inputs.subnetId).inputs.mapPublicIpOnLaunch, false);
                }
            });

            it("gives the nodes a role with SSM core and read access to the password secret only", async () => {
                const run = await loadStack(e.stack);
                const role = one(run, "aws:iam/role:Role", "redis-node");
                assert.deepEqual(
                    JSON.parse(role.inputs.assumeRolePolicy).Statement.map((s: any) => s.Principal.Service),
                    ["ec2.amazonaws.com"],
                );
                const profile = one(run, "aws:iam/instanceProfile:InstanceProfile", "redis-node");
                assert.equal(profile.inputs.role, role.outputs.name);
                assert.ok(nodes(run).every((i) => i.inputs.iamInstanceProfile === profile.outputs.name));
                const attachments = ofType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter(
                    (a) => a.inputs.role === role.outputs.name,
                );
                assert.deepEqual(
                    attachments.map((a) => a.inputs.policyArn),
                    ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"],
                );
                const inline = ofType(run, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.inputs.role === role.id);
                assert.equal(inline.length, 1);
                const secret = one(run, "aws:secretsmanager/secret:Secret", "redis-password");
                assert.deepEqual(JSON.parse(inline[0].inputs.policy).Statement, [
                    { Sid: "ReadRedisPassword", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secret.outputs.arn },
                ]);
            });

            it("lets the web servers' role read the password secret, nothing else", async () => {
                const run = await loadStack(e.stack);
                const policy = one(run, "aws:iam/rolePolicy:RolePolicy", "redis-password-to-web");
                const webRole = ofType(run, "aws:iam/role:Role").find((r) => r.outputs.name === policy.inputs.role);
                assert.ok(webRole, "the client policy is on an existing role");
                assert.ok(webRole.name.startsWith("web"), webRole.name);
                const secret = one(run, "aws:secretsmanager/secret:Secret", "redis-password");
                assert.deepEqual(
                    JSON.parse(policy.inputs.policy).Statement.map((s: any) => [s.Action, s.Resource]),
                    [["secretsmanager:GetSecretValue", secret.outputs.arn]],
                );
            });

            it("keeps the generated password in Secrets Manager as a secret input, with the secret and password protected", async () => {
                const run = await loadStack(e.stack);
                const password = one(run, "random:index/randomPassword:RandomPassword", "redis-password");
                const secret = one(run, "aws:secretsmanager/secret:Secret", "redis-password");
                const version = one(run, "aws:secretsmanager/secretVersion:SecretVersion", "redis-password");
                assert.ok(password.inputs.length >= 32);
                assert.equal(password.inputs.special, false);
                assert.equal(version.inputs.secretId, secret.id);
                assert.equal(version.inputs.secretString, password.outputs.result);
                assert.deepEqual(version.secretPaths, ["secretString"]);
                assert.equal(password.protect, true);
                assert.equal(secret.protect, true);
            });

            it("puts the secret's name and region in the user data, and the password nowhere but the secret version", async () => {
                const run = await loadStack(e.stack);
                const value = one(run, "random:index/randomPassword:RandomPassword", "redis-password").outputs.result;
                assert.ok(typeof value === "string" && value.length >= 32);
                const secret = one(run, "aws:secretsmanager/secret:Secret", "redis-password");
                for (const instance of nodes(run)) {
                    assert.ok(!JSON.stringify(instance.inputs).includes(value), `${instance.name} inputs contain the password`);
                    const env = userDataFile(instance, NODE_PATHS.env);
                    assert.ok(env.includes(`SECRET_ID='${secret.inputs.name}'`), env);
                    assert.ok(env.includes(`REGION='${run.config["aws:region"]}'`), env);
                    assert.ok(
                        configLines(userDataFile(instance, NODE_PATHS.redisTemplate)).includes(`requirepass ${PASSWORD_PLACEHOLDER}`),
                    );
                }
                const holders = run.resources.filter(
                    (r) => r.type !== "random:index/randomPassword:RandomPassword" && JSON.stringify(r.inputs).includes(value),
                );
                assert.deepEqual(
                    holders.map((r) => `${r.type} ${r.name}`),
                    ["aws:secretsmanager/secretVersion:SecretVersion redis-password"],
                );
                assert.ok(!JSON.stringify(run.outputs).includes(value), "stack outputs contain the password");
            });

            it("starts node 1 as master and the others as its replicas, sentinels watching it with quorum 2, maxmemory 70% of 8 GiB", async () => {
                const run = await loadStack(e.stack);
                nodes(run).forEach((instance, i) => {
                    const redisConf = configLines(userDataFile(instance, NODE_PATHS.redisTemplate));
                    assert.deepEqual(
                        redisConf.filter((l) => l.startsWith("replicaof")),
                        i === 0 ? [] : [`replicaof ${e.addresses[0]} 6379`],
                    );
                    assert.ok(redisConf.includes(`bind ${e.addresses[i]} 127.0.0.1`));
                    assert.ok(redisConf.includes("maxmemory 5734mb") && redisConf.includes("maxmemory-policy allkeys-lru"));
                    const sentinelConf = configLines(userDataFile(instance, NODE_PATHS.sentinelTemplate));
                    assert.ok(sentinelConf.includes(`sentinel monitor ecommerce-cache ${e.addresses[0]} 6379 2`));
                    // Pulled by tag and by the digest verified for it (lib/pins.ts).
                    assert.ok(
                        userDataFile(instance, NODE_PATHS.env).includes(
                            "IMAGE='public.ecr.aws/docker/library/redis:6.2.24@sha256:e7b96daa9a182b0a2639253fdab98244190ec2dca8a41da3fb31a147ef71a870'",
                        ),
                    );
                });
            });

            it("admits Redis and Sentinel only from the web servers, the monitoring nodes and the nodes themselves", async () => {
                const run = await loadStack(e.stack);
                const sg = one(run, SG, "redis-sg");
                assert.equal(sg.inputs.ingress, undefined);
                assert.equal(sg.inputs.egress, undefined);
                const webSg = one(run, SG, "web-instance-sg");
                // The EKS cluster security group, which the managed nodes carry.
                const eksSgId = one(run, "eks:index:Cluster", "monitoring-eks").outputs.eksCluster.vpcConfig.clusterSecurityGroupId;
                assert.ok(typeof eksSgId === "string" && eksSgId.startsWith("sg-"));
                const sources: Record<string, string> = { [sg.id!]: "self", [webSg.id!]: "web", [eksSgId]: "monitoring" };
                const describe = (rule: RecordedResource) => {
                    const source =
                        rule.inputs.cidrIpv4 ?? sources[rule.inputs.referencedSecurityGroupId] ?? rule.inputs.referencedSecurityGroupId;
                    return `${rule.inputs.ipProtocol} ${rule.inputs.fromPort}-${rule.inputs.toPort} ${source}`;
                };
                const ingress = ofType(run, INGRESS).filter((r) => r.inputs.securityGroupId === sg.id);
                assert.deepEqual(ingress.map(describe).sort(), [
                    "tcp 26379-26379 monitoring",
                    "tcp 26379-26379 self",
                    "tcp 26379-26379 web",
                    "tcp 6379-6379 monitoring",
                    "tcp 6379-6379 self",
                    "tcp 6379-6379 web",
                ]);
                const egress = ofType(run, EGRESS).filter((r) => r.inputs.securityGroupId === sg.id);
                assert.deepEqual(egress.map(describe).sort(), ["tcp 26379-26379 self", "tcp 443-443 0.0.0.0/0", "tcp 6379-6379 self"]);
            });

            it("exports the node addresses, the secret's ARN (not its value) and whether a zone loss keeps the Sentinel majority", async () => {
                const run = await loadStack(e.stack);
                const secret = one(run, "aws:secretsmanager/secret:Secret", "redis-password");
                assert.deepEqual(run.outputs.redisNodeAddresses, e.addresses);
                assert.equal(run.outputs.redisPasswordSecretArn, secret.outputs.arn);
                assert.equal(run.outputs.redisSentinelMasterName, "ecommerce-cache");
                assert.equal(run.outputs.redisSurvivesZoneLoss, e.survivesZoneLoss);
            });
        });
    }

    it("sizes maxmemory from the instance type (r6i.large: 70% of 16 GiB = 11468 MiB)", async () => {
        const run = requireSuccess(await runProgram({ stack: "primary", config: { "ecommerce:redisInstanceType": "r6i.large" } }));
        for (const instance of nodes(run)) {
            assert.equal(instance.inputs.instanceType, "r6i.large");
            assert.ok(configLines(userDataFile(instance, NODE_PATHS.redisTemplate)).includes("maxmemory 11468mb"));
        }
    });

    it("spreads 5 nodes with quorum 3 over the 3 zones, two per zone at most", async () => {
        const run = requireSuccess(
            await runProgram({ stack: "primary", config: { "ecommerce:redisNodeCount": "5", "ecommerce:redisSentinelQuorum": "3" } }),
        );
        const instances = nodes(run, 5);
        assert.equal(ofType(run, INSTANCE).filter((i) => i.inputs.tags?.Tier === "redis").length, 5);
        assert.deepEqual(
            instances.map((i) => i.inputs.availabilityZone),
            ["us-east-2a", "us-east-2b", "us-east-2c", "us-east-2a", "us-east-2b"],
        );
        const addresses = ["10.10.64.10", "10.10.80.11", "10.10.96.12", "10.10.64.13", "10.10.80.14"];
        assert.deepEqual(run.outputs.redisNodeAddresses, addresses);
        assert.ok(
            configLines(userDataFile(instances[4], NODE_PATHS.sentinelTemplate)).includes(
                "sentinel monitor ecommerce-cache 10.10.64.10 6379 3",
            ),
        );
        assert.ok(userDataFile(instances[4], NODE_PATHS.env).includes(`CLUSTER_ADDRESSES='${addresses.join(" ")}'`));
        assert.equal(run.outputs.redisSurvivesZoneLoss, true);
    });

    describe("argument validation", () => {
        const subnets = {
            ids: [],
            zones: [
                { id: "use2-az1", name: "us-east-2a" },
                { id: "use2-az2", name: "us-east-2b" },
            ],
            cidrs: ["10.10.64.0/20", "10.10.80.0/20"],
        };
        const valid: RedisClusterArgs = {
            vpcId: "vpc-1",
            subnets: { ...subnets, ids: ["subnet-a", "subnet-b"] } as unknown as RedisClusterArgs["subnets"],
            clientSecurityGroupIds: { web: "sg-1" },
            image: `public.ecr.aws/docker/library/redis:6.2.24@sha256:${"e".repeat(64)}`,
            passwordSecretName: "ecommerce/us-east-2/redis-password",
            region: "us-east-2",
        };

        it("accepts an image pinned by digest", () => assert.deepEqual(redisClusterArgsProblems(valid), []));

        it("rejects an image pinned by tag alone: the bytes under a tag can change", () => {
            assert.deepEqual(redisClusterArgsProblems({ ...valid, image: "public.ecr.aws/docker/library/redis:6.2.24" }), [
                'image = "public.ecr.aws/docker/library/redis:6.2.24": expected an image pinned by digest, repository[:x.y.z]@sha256:<64 hex digits> (lib/pins.ts has the verified ones)',
            ]);
        });

        it("rejects rolling two nodes at once, or a node that does not exist", () => {
            assert.deepEqual(redisClusterArgsProblems({ ...valid, rollNodes: [1, 2] }), [
                "rollNodes = [1,2]: expected at most one node number from 1 to 3 (one node at a time keeps the Sentinel majority)",
            ]);
            assert.deepEqual(redisClusterArgsProblems({ ...valid, rollNodes: [0] }), [
                "rollNodes = [0]: expected at most one node number from 1 to 3 (one node at a time keeps the Sentinel majority)",
            ]);
        });
    });
});
