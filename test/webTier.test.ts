import { strict as assert } from "assert";
import { parse } from "yaml";
import { webTierArgsProblems, WebTier, WebTierArgs } from "../components/webTier";
import { AL2023_AMI_PARAMETER } from "../lib/amis";
import { parseConfig } from "../lib/config";
import { resolveStackConfig } from "../offline/stackConfig";
import { hex } from "../offline/awsModel";
import { cloudInitSchema } from "./support/cloudInit";
import { childrenOf, expectCount, one, ofType } from "./support/query";
import { loadStack, RecordedResource, requireSuccess, runProgram, StackRun } from "../offline/run";

const WEB = "ecommerce:web:WebTier";
const LB = "aws:lb/loadBalancer:LoadBalancer";
const TG = "aws:lb/targetGroup:TargetGroup";
const LISTENER = "aws:lb/listener:Listener";
const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const ASG = "aws:autoscaling/group:Group";
const SG = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const GET_AMI = "aws:ec2/getAmi:getAmi";

/** Types that take no tags (sub-resources of a bucket, IAM attachments). */
const UNTAGGABLE = new Set([
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
]);

const certArn = (region: string) => `arn:aws:acm:${region}:123456789012:certificate/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d`;

const variantRuns = new Map<string, Promise<StackRun>>();

/** Arguments for a WebTier built directly (not from config), at the seed's sizing. */
const SEED_ARGS: WebTierArgs = {
    vpcId: "vpc-1",
    vpcCidr: "10.10.0.0/16",
    privateSubnetIds: ["subnet-c", "subnet-d"],
    region: "us-east-2",
    accountId: "123456789012",
    instanceType: "t3.xlarge",
    instanceCount: 5,
    maxInstanceCount: 10,
};

const RELEASE = "s3://ecommerce-releases-{region}/web/web-1.4.2.tar.gz";

function variant(key: string, stack: string, config: Record<string, string>): Promise<StackRun> {
    let run = variantRuns.get(`${key}|${stack}`);
    if (!run) {
        run = runProgram({ stack, config }).then(requireSuccess);
        variantRuns.set(`${key}|${stack}`, run);
    }
    return run;
}

/** The stack with a certificate for its region. */
function withCertificate(stack: string, region: string): Promise<StackRun> {
    return variant("certificate", stack, { "ecommerce:certificateArns": JSON.stringify({ [region]: certArn(region) }) });
}

/** The stack without a baked AMI: Amazon Linux 2023 installing the release bundle at boot. */
function fromReleaseBundle(stack: string): Promise<StackRun> {
    return variant("release", stack, { "ecommerce:webAmiNameFilter": "", "ecommerce:webArtifactUri": RELEASE });
}

function webResources(run: StackRun): RecordedResource[] {
    return childrenOf(run, one(run, WEB, "web"), true);
}

function subnetsOf(run: StackRun, tier: string): RecordedResource[] {
    return ofType(run, "aws:ec2/subnet:Subnet").filter((s) => s.inputs.tags.SubnetTier === tier);
}

/** The tier's one launch template (other tiers may have their own). */
function launchTemplateOf(run: StackRun): RecordedResource {
    const templates = webResources(run).filter((r) => r.type === LT);
    assert.deepEqual(
        templates.map((t) => t.name),
        ["web-lt"],
        "the tier has exactly one launch template",
    );
    return templates[0];
}

function userDataOf(run: StackRun): string {
    return Buffer.from(launchTemplateOf(run).inputs.userData, "base64").toString("utf8");
}

/** The value at a recorded secret path such as `password` or `data.redis-password` or `a[0].b`. */
function valueAt(obj: unknown, dotted: string): unknown {
    return dotted
        .split(/\.|\[(\d+)\]/)
        .filter((p) => p !== undefined && p !== "")
        .reduce<unknown>((v, key) => (v as any)?.[key], obj);
}

/** Rules of `type` on the security group `sg`, as comparable strings. */
function rulesOf(run: StackRun, type: string, sg: RecordedResource): string[] {
    return ofType(run, type)
        .filter((r) => r.inputs.securityGroupId === sg.id)
        .map((r) => {
            const peer =
                r.inputs.cidrIpv4 ??
                r.inputs.cidrIpv6 ??
                (r.inputs.referencedSecurityGroupId === undefined ? "?" : `sg:${byId(run, r.inputs.referencedSecurityGroupId).name}`);
            return `${r.inputs.ipProtocol} ${r.inputs.fromPort}-${r.inputs.toPort} ${peer}`;
        })
        .sort();
}

function byId(run: StackRun, id: string): RecordedResource {
    const found = run.resources.find((r) => r.id === id);
    assert.ok(found, `a resource with ID ${id}`);
    return found;
}

describe("WebTier", () => {
    const expectations = [
        {
            stack: "primary",
            region: "us-east-2",
            cidr: "10.10.0.0/16",
            ids: ["use2-az1", "use2-az2", "use2-az3"],
            elbAccount: "033677994240",
        },
        { stack: "dr", region: "us-west-1", cidr: "10.20.0.0/16", ids: ["usw1-az1", "usw1-az3"], elbAccount: "027434742980" },
    ];
    for (const e of expectations) {
        describe(`stack ${e.stack}`, () => {
            it(`creates exactly one internal ALB (the origin closed: shoppers come through the virtual IP) in the private subnets of all ${e.ids.length} zones`, async () => {
                const run = await loadStack(e.stack);
                const [alb] = expectCount(run, LB, 1);
                assert.equal(alb.inputs.loadBalancerType, "application");
                assert.equal(alb.inputs.internal, true);
                const publics = subnetsOf(run, "private");
                assert.deepEqual(
                    alb.inputs.subnets,
                    publics.map((s) => s.id),
                );
                assert.deepEqual(
                    publics.map((s) => s.inputs.availabilityZoneId),
                    e.ids,
                );
                assert.deepEqual(alb.inputs.securityGroups, [one(run, SG, "web-alb-sg").id]);
            });

            it("protects the ALB from deletion and drops invalid header fields", async () => {
                const alb = one(await loadStack(e.stack), LB, "web-alb");
                assert.equal(alb.inputs.enableDeletionProtection, true);
                assert.equal(alb.inputs.dropInvalidHeaderFields, true);
            });

            it(`runs min = desired = 5, max = 10 servers over all ${e.ids.length} private subnets`, async () => {
                const run = await loadStack(e.stack);
                const [asg] = expectCount(run, ASG, 1);
                assert.equal(asg.inputs.minSize, 5);
                assert.equal(asg.inputs.desiredCapacity, 5);
                assert.equal(asg.inputs.maxSize, 10);
                const privates = subnetsOf(run, "private");
                assert.deepEqual(
                    asg.inputs.vpcZoneIdentifiers,
                    privates.map((s) => s.id),
                );
                assert.deepEqual(
                    privates.map((s) => s.inputs.availabilityZoneId),
                    e.ids,
                );
            });

            it("replaces servers that fail the load balancer's health check, after a 300 s grace period (baked AMI)", async () => {
                const asg = one(await loadStack(e.stack), ASG, "web-asg");
                assert.equal(asg.inputs.healthCheckType, "ELB");
                assert.equal(asg.inputs.healthCheckGracePeriod, 300);
            });

            it("gives servers that install the release at boot a 600 s grace period", async () => {
                const asg = one(await fromReleaseBundle(e.stack), ASG, "web-asg");
                assert.equal(asg.inputs.healthCheckType, "ELB");
                assert.equal(asg.inputs.healthCheckGracePeriod, 600);
            });

            it("rolls new launch template versions out by instance refresh, keeping 80% (4 of 5) in service", async () => {
                const run = await loadStack(e.stack);
                const asg = one(run, ASG, "web-asg");
                const lt = one(run, LT, "web-lt");
                assert.deepEqual(asg.inputs.launchTemplate, { id: lt.id, version: String(lt.outputs.latestVersion) });
                assert.equal(asg.inputs.instanceRefresh.strategy, "Rolling");
                assert.equal(asg.inputs.instanceRefresh.preferences.minHealthyPercentage, 80);
                assert.equal(asg.inputs.instanceRefresh.preferences.maxHealthyPercentage, 100);
            });

            it("rolls a failed refresh back automatically when the template names a concrete AMI ID (the baked AMI)", async () => {
                const run = await loadStack(e.stack);
                assert.match(one(run, LT, "web-lt").inputs.imageId, /^ami-[0-9a-f]{17}$/);
                assert.equal(one(run, ASG, "web-asg").inputs.instanceRefresh.preferences.autoRollback, true);
            });

            it("does not ask for rollback when the template names its image by an SSM parameter (Auto Scaling refuses it)", async () => {
                const run = await fromReleaseBundle(e.stack);
                assert.match(one(run, LT, "web-lt").inputs.imageId, /^resolve:ssm:/);
                const asg = one(run, ASG, "web-asg");
                assert.equal(asg.inputs.instanceRefresh.preferences.autoRollback, false);
                // The alias is fine in a plain launch template, not with attribute-based instance selection.
                assert.equal(asg.inputs.mixedInstancesPolicy, undefined);
                assert.deepEqual(Object.keys(asg.inputs.launchTemplate).sort(), ["id", "version"]);
            });

            it("registers the servers in an HTTP 80 target group that probes /api/health for 200", async () => {
                const run = await loadStack(e.stack);
                const [tg] = expectCount(run, TG, 1);
                assert.deepEqual(one(run, ASG, "web-asg").inputs.targetGroupArns, [tg.outputs.arn]);
                assert.equal(tg.inputs.port, 80);
                assert.equal(tg.inputs.protocol, "HTTP");
                assert.equal(tg.inputs.targetType, "instance");
                assert.equal(tg.inputs.vpcId, one(run, "aws:ec2/vpc:Vpc", "network-vpc").id);
                assert.equal(tg.inputs.deregistrationDelay, 30);
                assert.deepEqual(tg.inputs.healthCheck, {
                    enabled: true,
                    protocol: "HTTP",
                    port: "traffic-port",
                    path: "/api/health",
                    matcher: "200",
                    interval: 15,
                    timeout: 5,
                    healthyThreshold: 2,
                    unhealthyThreshold: 3,
                });
            });

            it(`listens on plain HTTP 80 only, forwarding to the target group (no certificate for ${e.region})`, async () => {
                const run = await loadStack(e.stack);
                const [listener] = expectCount(run, LISTENER, 1);
                assert.equal(listener.inputs.loadBalancerArn, one(run, LB, "web-alb").outputs.arn);
                assert.equal(listener.inputs.protocol, "HTTP");
                assert.equal(listener.inputs.port, 80);
                assert.deepEqual(listener.inputs.defaultActions, [{ type: "forward", targetGroupArn: one(run, TG, "web-tg").outputs.arn }]);
            });

            it("launches t3.xlarge from the latest Amazon Linux 2023 SSM parameter, without an AMI lookup, when no baked AMI is configured", async () => {
                const run = await fromReleaseBundle(e.stack);
                const lt = launchTemplateOf(run);
                assert.equal(lt.inputs.instanceType, "t3.xlarge");
                assert.equal(lt.inputs.imageId, `resolve:ssm:${AL2023_AMI_PARAMETER}`);
                assert.equal(lt.inputs.imageId, "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64");
                assert.deepEqual(
                    run.invokes.filter((i) => i.token === GET_AMI),
                    [],
                );
            });

            it("requires IMDSv2 tokens with a hop limit of 1", async () => {
                const lt = one(await loadStack(e.stack), LT, "web-lt");
                assert.equal(lt.inputs.metadataOptions.httpEndpoint, "enabled");
                assert.equal(lt.inputs.metadataOptions.httpTokens, "required");
                assert.equal(lt.inputs.metadataOptions.httpPutResponseHopLimit, 1);
            });

            it("boots from an encrypted 30 GiB gp3 root volume at /dev/xvda", async () => {
                const lt = one(await loadStack(e.stack), LT, "web-lt");
                assert.deepEqual(lt.inputs.blockDeviceMappings, [
                    {
                        deviceName: "/dev/xvda",
                        ebs: {
                            volumeType: "gp3",
                            volumeSize: 30,
                            iops: 3000,
                            throughput: 125,
                            encrypted: "true",
                            deleteOnTermination: "true",
                        },
                    },
                ]);
            });

            it("gives the servers no public IP, no key pair, detailed monitoring and only their own security group", async () => {
                const run = await loadStack(e.stack);
                const lt = one(run, LT, "web-lt");
                assert.deepEqual(lt.inputs.networkInterfaces, [
                    {
                        deviceIndex: 0,
                        associatePublicIpAddress: "false",
                        deleteOnTermination: "true",
                        securityGroups: [one(run, SG, "web-instance-sg").id],
                    },
                ]);
                assert.equal(lt.inputs.keyName, undefined);
                assert.equal(lt.inputs.vpcSecurityGroupIds, undefined);
                assert.deepEqual(lt.inputs.monitoring, { enabled: true });
            });

            it("lets operators in through SSM Session Manager: an instance profile whose role has AmazonSSMManagedInstanceCore", async () => {
                const run = await loadStack(e.stack);
                const role = one(run, "aws:iam/role:Role", "web-instance");
                const profile = one(run, "aws:iam/instanceProfile:InstanceProfile", "web-instance");
                const attachment = one(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "web-instance-ssm");
                assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement, [
                    { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
                ]);
                assert.equal(attachment.inputs.role, role.outputs.name);
                assert.equal(attachment.inputs.policyArn, "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
                assert.equal(profile.inputs.role, role.outputs.name);
                assert.deepEqual(one(run, LT, "web-lt").inputs.iamInstanceProfile, { arn: profile.outputs.arn });
                // Without a release bundle the role may read nothing else.
                assert.deepEqual(
                    webResources(run).filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy"),
                    [],
                );
            });

            it("opens 0.0.0.0/0 and ::/0 only on the ALB's 80 and 443, nowhere else in the stack", async () => {
                const run = await loadStack(e.stack);
                const albSg = one(run, SG, "web-alb-sg");
                const world = ofType(run, INGRESS).filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0" || r.inputs.cidrIpv6 === "::/0");
                assert.ok(
                    world.every((r) => r.inputs.securityGroupId === albSg.id),
                    "world ingress only on the ALB's group",
                );
                assert.deepEqual(rulesOf(run, INGRESS, albSg), [
                    "tcp 443-443 0.0.0.0/0",
                    "tcp 443-443 ::/0",
                    "tcp 80-80 0.0.0.0/0",
                    "tcp 80-80 ::/0",
                ]);
                const inline = ofType(run, SG).filter((g) =>
                    (g.inputs.ingress ?? []).some(
                        (r: any) => (r.cidrBlocks ?? []).includes("0.0.0.0/0") || (r.ipv6CidrBlocks ?? []).includes("::/0"),
                    ),
                );
                assert.deepEqual(
                    inline.map((g) => g.name),
                    [],
                    "no inline world ingress",
                );
            });

            it("lets the ALB out only to the servers' security group on 80", async () => {
                const run = await loadStack(e.stack);
                assert.deepEqual(rulesOf(run, EGRESS, one(run, SG, "web-alb-sg")), ["tcp 80-80 sg:web-instance-sg"]);
            });

            it("admits only the ALB's security group to the servers, on 80", async () => {
                const run = await loadStack(e.stack);
                assert.deepEqual(rulesOf(run, INGRESS, one(run, SG, "web-instance-sg")), ["tcp 80-80 sg:web-alb-sg"]);
            });

            it(`lets the servers out to HTTPS anywhere and to Redis, Sentinel and MySQL inside ${e.cidr} only`, async () => {
                const run = await loadStack(e.stack);
                assert.deepEqual(rulesOf(run, EGRESS, one(run, SG, "web-instance-sg")), [
                    "tcp 26379-26379 " + e.cidr,
                    "tcp 3306-3306 " + e.cidr,
                    "tcp 443-443 0.0.0.0/0",
                    "tcp 6379-6379 " + e.cidr,
                ]);
            });

            it("keeps every rule of the tier's security groups out of the groups themselves (no inline rules)", async () => {
                const run = await loadStack(e.stack);
                const groups = webResources(run).filter((r) => r.type === SG);
                assert.deepEqual(groups.map((g) => g.name).sort(), ["web-alb-sg", "web-instance-sg"]);
                for (const g of groups) {
                    assert.equal(g.inputs.ingress, undefined, g.name);
                    assert.equal(g.inputs.egress, undefined, g.name);
                }
            });

            it("keeps secrets out of the user data", async () => {
                const run = await loadStack(e.stack);
                const lt = one(run, LT, "web-lt");
                assert.deepEqual(lt.secretPaths, []);
                const userData = userDataOf(run);
                const secrets = run.resources
                    .flatMap((r) => [
                        ...r.secretPaths.map((p) => valueAt(r.inputs, p)),
                        ...(r.type === "random:index/randomPassword:RandomPassword" ? [r.outputs.result] : []),
                    ])
                    .filter((v): v is string => typeof v === "string" && v.length >= 8);
                for (const secret of secrets) {
                    assert.ok(!userData.includes(secret), "user data contains a secret value of the stack");
                }
                assert.doesNotMatch(userData, /(password|passwd|secret_?key|token)\s*[=:]/i);
                assert.doesNotMatch(userData, /PRIVATE KEY|\bAKIA[0-9A-Z]{16}\b/);
            });

            it("renders user data that cloud-init schema accepts", async () => {
                const userData = userDataOf(await loadStack(e.stack));
                assert.equal(userData.split("\n")[0], "#cloud-config");
                const result = cloudInitSchema(userData);
                assert.equal(result.status, 0, result.output);
            });

            it(`tells the app (baked into the AMI) where the ${e.region} database is`, async () => {
                const doc = parse(userDataOf(await loadStack(e.stack)));
                const env = doc.write_files.find((f: any) => f.path === "/etc/ecommerce/api.env").content as string;
                assert.match(env, new RegExp(`^ECOMMERCE_REGION=${e.region}$`, "m"));
                assert.match(env, /^DB_WRITER_HOST=writer\.db\.ecommerce\.internal$/m);
                assert.match(env, /^DB_READER_HOST=reader\.db\.ecommerce\.internal$/m);
            });

            it("tells the app where the Redis sentinels are and which secret holds the Redis password", async () => {
                const run = await loadStack(e.stack);
                const env = parse(userDataOf(run)).write_files.find((f: any) => f.path === "/etc/ecommerce/api.env").content as string;
                const nodes = ofType(run, "aws:ec2/networkInterface:NetworkInterface")
                    .filter((n) => n.inputs.tags.Tier === "redis")
                    .sort((a, b) => a.name.localeCompare(b.name));
                assert.equal(nodes.length, 3);
                assert.match(
                    env,
                    new RegExp(
                        `^REDIS_SENTINELS=${nodes
                            .map((n) => `${n.inputs.privateIps[0]}:26379`)
                            .join(",")
                            .replace(/\./g, "\\.")}$`,
                        "m",
                    ),
                );
                assert.match(env, /^REDIS_MASTER_NAME=ecommerce-cache$/m);
                const secret = one(run, "aws:secretsmanager/secret:Secret", "redis-password");
                assert.equal(secret.inputs.name, `ecommerce/${e.region}/redis-password`);
                assert.match(env, new RegExp(`^REDIS_PASSWORD_SECRET_NAME=ecommerce/${e.region}/redis-password$`, "m"));
            });

            it("tags every taggable resource of the tier, the servers and their volumes with Tier=web", async () => {
                const run = await loadStack(e.stack);
                const children = webResources(run).filter((r) => r.custom);
                assert.ok(children.length >= 20, `the tier's resources exist (${children.length})`);
                for (const r of children) {
                    if (r.type === ASG) {
                        const tags = Object.fromEntries(r.inputs.tags.map((t: any) => [t.key, t]));
                        assert.deepEqual(tags.Tier, { key: "Tier", value: "web", propagateAtLaunch: true });
                        assert.deepEqual(tags.Name, { key: "Name", value: "web-server", propagateAtLaunch: true });
                    } else if (UNTAGGABLE.has(r.type)) {
                        assert.equal(r.inputs.tags, undefined, `${r.type} ${r.name}`);
                    } else {
                        assert.equal(r.inputs.tags?.Tier, "web", `${r.type} ${r.name}`);
                        assert.equal(typeof r.inputs.tags?.Name, "string", `${r.type} ${r.name}`);
                    }
                }
                const specs = one(run, LT, "web-lt").inputs.tagSpecifications as { resourceType: string; tags: Record<string, string> }[];
                for (const type of ["instance", "volume"]) {
                    const spec = specs.find((s) => s.resourceType === type);
                    assert.equal(spec?.tags.Tier, "web", type);
                    assert.equal(spec?.tags.Stack, e.stack, type);
                }
            });

            it(`writes access logs to a private SSE-S3 bucket with a lifecycle that only ${e.region}'s load balancers may write to`, async () => {
                const run = await loadStack(e.stack);
                const bucket = one(run, "aws:s3/bucket:Bucket", "web-alb-logs");
                assert.deepEqual(one(run, LB, "web-alb").inputs.accessLogs, { bucket: bucket.id, prefix: "alb", enabled: true });
                assert.deepEqual(
                    one(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "web-alb-logs")
                        .inputs.rules,
                    [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
                );
                const block = one(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "web-alb-logs").inputs;
                assert.deepEqual(
                    [block.bucket, block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets],
                    [bucket.id, true, true, true, true],
                );
                assert.equal(
                    one(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "web-alb-logs").inputs.rule.objectOwnership,
                    "BucketOwnerEnforced",
                );
                const [rule] = one(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "web-alb-logs").inputs.rules;
                assert.equal(rule.status, "Enabled");
                assert.equal(rule.expiration.days, 90);
                const policy = JSON.parse(one(run, "aws:s3/bucketPolicy:BucketPolicy", "web-alb-logs").inputs.policy);
                assert.deepEqual(policy.Statement[0], {
                    Sid: "LoadBalancerAccessLogs",
                    Effect: "Allow",
                    Principal: { AWS: `arn:aws:iam::${e.elbAccount}:root` },
                    Action: "s3:PutObject",
                    Resource: `${bucket.outputs.arn}/alb/AWSLogs/123456789012/*`,
                });
                assert.deepEqual(policy.Statement[1].Condition, { Bool: { "aws:SecureTransport": "false" } });
            });

            it("exports the ALB's DNS name and the Auto Scaling group's name", async () => {
                const run = await loadStack(e.stack);
                assert.equal(run.outputs.albDnsName, one(run, LB, "web-alb").outputs.dnsName);
                assert.match(run.outputs.albDnsName, new RegExp(`\\.${e.region}\\.elb\\.amazonaws\\.com$`));
                assert.equal(run.outputs.autoScalingGroupName, one(run, ASG, "web-asg").outputs.name);
            });

            it("resolves the baked AMI by name and owner with getAmi (the default), and only starts services", async () => {
                const run = await loadStack(e.stack);
                const lookups = run.invokes.filter((i) => i.token === GET_AMI);
                assert.equal(lookups.length, 1);
                assert.equal(lookups[0].args.mostRecent, true);
                assert.deepEqual(lookups[0].args.owners, ["self"]);
                assert.deepEqual(lookups[0].args.filters, [
                    { name: "name", values: ["ecommerce-web-*"] },
                    { name: "architecture", values: ["x86_64"] },
                    { name: "state", values: ["available"] },
                ]);
                const lt = one(run, LT, "web-lt");
                assert.equal(lt.inputs.imageId, `ami-${hex(`${e.region}|ecommerce-web-*`, 17)}`);
                assert.equal(lt.inputs.blockDeviceMappings[0].deviceName, "/dev/xvda");
                assert.equal(lt.inputs.blockDeviceMappings[0].ebs.encrypted, "true");
                assert.equal(one(run, ASG, "web-asg").inputs.healthCheckGracePeriod, 300);
                const doc = parse(userDataOf(run));
                assert.equal(doc.packages, undefined);
                assert.deepEqual(doc.runcmd, [["systemctl", "enable", "--now", "ecommerce-api.service", "nginx.service"]]);
                assert.equal(cloudInitSchema(userDataOf(run)).status, 0);
            });

            it(`adds HTTPS (TLS 1.3/1.2 policy) and redirects HTTP with 301 when certificateArns has ${e.region}`, async () => {
                const run = await withCertificate(e.stack, e.region);
                const albArn = one(run, LB, "web-alb").outputs.arn;
                const https = one(run, LISTENER, "web-https");
                const http = one(run, LISTENER, "web-http");
                expectCount(run, LISTENER, 2);
                assert.equal(https.inputs.loadBalancerArn, albArn);
                assert.equal(https.inputs.protocol, "HTTPS");
                assert.equal(https.inputs.port, 443);
                assert.equal(https.inputs.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06");
                assert.equal(https.inputs.certificateArn, certArn(e.region));
                assert.deepEqual(https.inputs.defaultActions, [{ type: "forward", targetGroupArn: one(run, TG, "web-tg").outputs.arn }]);
                assert.equal(http.inputs.loadBalancerArn, albArn);
                assert.equal(http.inputs.port, 80);
                assert.deepEqual(http.inputs.defaultActions, [
                    { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
                ]);
            });
        });
    }

    it("keeps plain HTTP in primary when certificateArns has only dr's region", async () => {
        const run = requireSuccess(
            await runProgram({
                stack: "primary",
                config: { "ecommerce:certificateArns": JSON.stringify({ "us-west-1": certArn("us-west-1") }) },
            }),
        );
        const [listener] = expectCount(run, LISTENER, 1);
        assert.equal(listener.inputs.protocol, "HTTP");
        assert.equal(listener.inputs.defaultActions[0].type, "forward");
    });

    it("installs its own region's release bundle and may read exactly that object when webArtifactUri is set", async () => {
        const run = requireSuccess(
            await runProgram({
                stack: "dr",
                config: { "ecommerce:webAmiNameFilter": "", "ecommerce:webArtifactUri": RELEASE },
            }),
        );
        assert.ok(parse(userDataOf(run)).packages.includes("nginx"), "installs nginx");
        const script = parse(userDataOf(run)).write_files.find((f: any) => f.path === "/usr/local/sbin/ecommerce-web-bootstrap").content;
        assert.match(script, /^artifact_uri="s3:\/\/ecommerce-releases-us-west-1\/web\/web-1\.4\.2\.tar\.gz"$/m);
        const policy = JSON.parse(one(run, "aws:iam/rolePolicy:RolePolicy", "web-instance-release").inputs.policy);
        assert.deepEqual(policy.Statement, [
            {
                Sid: "ReadReleaseBundle",
                Effect: "Allow",
                Action: "s3:GetObject",
                Resource: "arn:aws:s3:::ecommerce-releases-us-west-1/web/web-1.4.2.tar.gz",
            },
        ]);
        assert.equal(cloudInitSchema(userDataOf(run)).status, 0);
    });

    it("rejects webArtifactUri together with webAmiNameFilter before creating anything", async () => {
        const run = await runProgram({
            stack: "primary",
            config: { "ecommerce:webArtifactUri": "s3://b-1/web.tar.gz", "ecommerce:webAmiNameFilter": "ecommerce-web-*" },
        });
        assert.deepEqual(run.errors, [
            'Invalid configuration for stack "primary":\n  - ecommerce:webArtifactUri = "s3://b-1/web.tar.gz": expected empty when ecommerce:webAmiNameFilter is set (a baked AMI carries the application)',
        ]);
        assert.deepEqual(
            run.resources.map((r) => r.type),
            ["pulumi:pulumi:Stack"],
        );
    });

    it("rejects a webArtifactUri that is not an S3 tarball, naming the key", () => {
        const config: Record<string, string | undefined> = {
            ...resolveStackConfig("dr"),
            "ecommerce:webArtifactUri": "https://example.com/web.zip",
        };
        assert.throws(() => parseConfig((key) => config[key], "dr"), {
            message:
                'Invalid configuration for stack "dr":\n  - ecommerce:webArtifactUri = "https://example.com/web.zip": expected empty, or a release bundle s3://<bucket>/<key>.tar.gz (`{region}` stands for the stack\'s region)',
        });
    });

    it("fails in config, before creating anything, when the instance type is Graviton (t4g.xlarge cannot boot the x86_64 AMI)", async () => {
        const run = await runProgram({ stack: "primary", config: { "ecommerce:webInstanceType": "t4g.xlarge" } });
        assert.deepEqual(run.errors, [
            'Invalid configuration for stack "primary":\n  - ecommerce:webInstanceType = "t4g.xlarge": expected an x86_64 EC2 instance type such as t3.xlarge (the AMIs are x86_64; Graviton types cannot boot them)',
        ]);
        assert.deepEqual(
            run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"),
            [],
        );
    });

    it("refuses Graviton in the component too, before registering it, for callers that bypass config", async () => {
        const run = await runProgram({
            stack: "primary",
            program: () => new WebTier("web", { ...SEED_ARGS, instanceType: "t4g.xlarge" }),
        });
        assert.deepEqual(run.errors, [
            'WebTier web: invalid arguments:\n  - instanceType = "t4g.xlarge": expected an x86_64 EC2 instance type such as t3.xlarge (the AMIs are x86_64; Graviton types cannot boot them)',
        ]);
        assert.equal(ofType(run, WEB).length, 0);
    });

    it("registers the whole tier in a first preview, with IDs still unknown", async () => {
        const run = await loadStack("dr", true);
        const lt = one(run, LT, "web-lt");
        const asg = one(run, ASG, "web-asg");
        assert.equal(asg.inputs.launchTemplate.version, "<unknown>");
        assert.equal(asg.inputs.minSize, 5);
        // AMI lookups run during a preview too, so the image is known.
        assert.equal(lt.inputs.imageId, `ami-${hex("us-west-1|ecommerce-web-*", 17)}`);
        expectCount(run, LB, 1);
    });

    describe("argument validation", () => {
        const valid = SEED_ARGS;

        it("accepts the seed's sizing", () => {
            assert.deepEqual(webTierArgsProblems(valid), []);
        });

        const cases: [string, Partial<WebTierArgs>, string][] = [
            ["an instance count of 0", { instanceCount: 0, maxInstanceCount: 10 }, "instanceCount = 0: expected an integer from 1 to 100"],
            [
                "a maximum below the count",
                { maxInstanceCount: 4 },
                "maxInstanceCount = 4: expected an integer of at least instanceCount (5)",
            ],
            ["a fractional count", { instanceCount: 2.5 }, "instanceCount = 2.5: expected an integer from 1 to 100"],
            [
                "a Graviton instance type",
                { instanceType: "m7g.xlarge" },
                'instanceType = "m7g.xlarge": expected an x86_64 EC2 instance type such as t3.xlarge (the AMIs are x86_64; Graviton types cannot boot them)',
            ],
            [
                "a malformed instance type",
                { instanceType: "t3xlarge" },
                'instanceType = "t3xlarge": expected an x86_64 EC2 instance type such as t3.xlarge (the AMIs are x86_64; Graviton types cannot boot them)',
            ],
            [
                "a single private subnet",
                { privateSubnetIds: ["subnet-c"] },
                "privateSubnetIds.length = 1: expected at least 2 (the servers must survive the loss of a zone, and an Application Load Balancer needs two)",
            ],
            [
                "a health path without a leading slash",
                { healthCheckPath: "api/health" },
                'healthCheckPath = "api/health": expected an absolute URL path such as /api/health',
            ],
            ["a root volume below 8 GiB", { rootVolumeGiB: 4 }, "rootVolumeGiB = 4: expected an integer from 8 to 16384 (GiB, gp3)"],
            [
                "a release bundle with a baked AMI",
                { amiNameFilter: "ecommerce-web-*", artifactUri: "s3://b-1/web.tar.gz" },
                'artifactUri = "s3://b-1/web.tar.gz": expected unset when amiNameFilter is set (a baked AMI carries the application)',
            ],
            [
                "a certificate that is not an ACM ARN",
                { certificateArn: "arn:aws:iam::123456789012:server-certificate/shop" },
                'certificateArn = "arn:aws:iam::123456789012:server-certificate/shop": expected an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)',
            ],
            [
                "a VPC CIDR that is not one",
                { vpcCidr: "10.10.0.0" },
                'vpcCidr = "10.10.0.0": expected the VPC\'s IPv4 CIDR such as 10.10.0.0/16',
            ],
            [
                "a secret in the app settings",
                { appEnvironment: { DB_PASSWORD: "x" } },
                "appEnvironment: environment DB_PASSWORD looks like a secret: user data is readable by anyone who can describe the instance; pass the secret's ARN or name (e.g. DB_PASSWORD_ARN) and read it from Secrets Manager at runtime",
            ],
        ];
        for (const [title, change, problem] of cases) {
            it(`rejects ${title}`, () => {
                assert.deepEqual(webTierArgsProblems({ ...valid, ...change }), [problem]);
            });
        }
    });
});
