import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parseCidr } from "../lib/cidr";
import { elbLogDeliveryPrincipal } from "../lib/elbLogDelivery";
import { EC2_INSTANCE_TYPE } from "../lib/instanceTypes";
import { named, Tags } from "../lib/tags";
import { parseReleaseUri, renderWebUserData, userDataProblems, WebAppSource } from "../lib/webUserData";

/** Latest Amazon Linux 2023 (x86_64), resolved by EC2 at every launch from AWS's public parameter. */
export const AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
export const DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

export interface WebTierArgs {
    /** VPC of the load balancer and the servers. */
    readonly vpcId: pulumi.Input<string>;
    /** IPv4 CIDR of the VPC: the servers may reach Redis (6379, Sentinel 26379) and MySQL (3306) inside it. */
    readonly vpcCidr: string;
    /** Public subnets, one per zone (at least two): where the internet-facing load balancer lives. */
    readonly publicSubnetIds: pulumi.Input<string>[];
    /**
     * Private subnets, one per zone (at least two): the Auto Scaling group spreads the servers
     * over all of them itself (5 over 3 zones is 2/2/1, over 2 zones 3/2).
     */
    readonly privateSubnetIds: pulumi.Input<string>[];
    /** Region of the stack: picks who delivers the load balancer's access logs. */
    readonly region: string;
    /** Account of the stack: the access-log bucket accepts logs for this account only. */
    readonly accountId: string;
    /** EC2 instance type of the servers (x86_64: the AMIs are x86_64). */
    readonly instanceType: string;
    /** Servers to run: the Auto Scaling group's minimum and desired capacity. */
    readonly instanceCount: number;
    /** Auto Scaling group maximum (headroom for scale-out); at least instanceCount. */
    readonly maxInstanceCount: number;
    /**
     * Name filter of the team's baked AMI (newest match wins, resolved at deploy time). The AMI
     * carries nginx, the app and the `ecommerce-api` unit; user data only starts them.
     * @default unset: the latest Amazon Linux 2023, resolved by EC2 at launch from AWS's public SSM parameter, with the app installed by user data
     */
    readonly amiNameFilter?: string;
    /**
     * Owner of the baked AMI (`self`, `amazon` or an account ID); used with amiNameFilter.
     * @default "self"
     */
    readonly amiOwner?: string;
    /**
     * Release bundle the servers install at boot (s3://bucket/key.tar.gz; see lib/webUserData.ts
     * for its layout); only without amiNameFilter. The servers may read exactly this object.
     * @default unset: nothing is installed and the health check fails until a release exists
     */
    readonly artifactUri?: string;
    /**
     * Non-secret settings for the app (hostnames, secret ARNs), written to /etc/ecommerce/api.env.
     * Names that look like secrets are refused.
     * @default {}
     */
    readonly appEnvironment?: Readonly<Record<string, string>>;
    /**
     * Size of the encrypted gp3 root volume.
     * @default 30
     */
    readonly rootVolumeGiB?: number;
    /**
     * Path the target group probes; answered by Flask through nginx, so 200 means the server can serve.
     * @default "/api/health"
     */
    readonly healthCheckPath?: string;
    /**
     * Seconds after launch before failed load balancer health checks replace a server (also the
     * instance warm-up of scaling and instance refresh).
     * @default 300 with a baked AMI, 600 when user data installs the release
     */
    readonly healthCheckGracePeriodSeconds?: number;
    /**
     * ACM certificate (in the stack's region) of an HTTPS listener; HTTP then redirects to HTTPS.
     * @default unset: a plain HTTP listener forwards to the servers
     */
    readonly certificateArn?: string;
    /**
     * TLS policy of the HTTPS listener.
     * @default "ELBSecurityPolicy-TLS13-1-2-2021-06" (TLS 1.3 and 1.2 only)
     */
    readonly sslPolicy?: string;
    /**
     * Write load balancer access logs to a dedicated, private, SSE-S3 encrypted bucket.
     * @default true
     */
    readonly accessLogs?: boolean;
    /**
     * Days the access logs are kept.
     * @default 90
     */
    readonly accessLogRetentionDays?: number;
    /**
     * Deletion protection of the load balancer.
     * @default true
     */
    readonly deletionProtection?: boolean;
    /** Tags for every taggable child (a `Name` is added per resource); the Tier tag marks the tier. */
    readonly tags?: Tags;
}

const HEALTH_PATH = /^\/[\w\-./~%]*$/;
/** Graviton (arm64) families: a1, t4g, m7g, c6gn, x2gd, im4gn, ... */
const ARM_FAMILY = /^(a1|[a-z]+\d+[a-z-]*g[a-z]*)\./;
const ACM_ARN = /^arn:aws[\w-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/;

/**
 * Every problem with `args`, each naming the argument, the value received and what is allowed.
 * The constructor throws them all at once, before any child exists.
 */
export function webTierArgsProblems(args: WebTierArgs): string[] {
    const problems: string[] = [];
    const bad = (arg: string, value: unknown, allowed: string) => problems.push(`${arg} = ${JSON.stringify(value)}: expected ${allowed}`);
    if (!Number.isInteger(args.instanceCount) || args.instanceCount < 1) {
        bad("instanceCount", args.instanceCount, "an integer of at least 1");
    }
    if (!Number.isInteger(args.maxInstanceCount) || args.maxInstanceCount < Math.max(1, args.instanceCount)) {
        bad("maxInstanceCount", args.maxInstanceCount, `an integer of at least instanceCount (${args.instanceCount})`);
    }
    if (!EC2_INSTANCE_TYPE.test(args.instanceType)) {
        bad("instanceType", args.instanceType, "an EC2 instance type such as t3.xlarge");
    } else if (ARM_FAMILY.test(args.instanceType)) {
        bad("instanceType", args.instanceType, "an x86_64 instance type (the AMIs are x86_64; Graviton types cannot boot them)");
    }
    if (args.publicSubnetIds.length < 2) {
        bad("publicSubnetIds", `${args.publicSubnetIds.length} subnet(s)`, "at least 2 (an Application Load Balancer needs two zones)");
    }
    if (args.privateSubnetIds.length < 2) {
        bad("privateSubnetIds", `${args.privateSubnetIds.length} subnet(s)`, "at least 2 (the servers must survive the loss of a zone)");
    }
    const cidr = parseCidr(args.vpcCidr);
    if (!cidr || cidr.prefix === 0) {
        bad("vpcCidr", args.vpcCidr, "the VPC's IPv4 CIDR such as 10.10.0.0/16");
    }
    const healthCheckPath = args.healthCheckPath ?? "/api/health";
    if (!HEALTH_PATH.test(healthCheckPath)) {
        bad("healthCheckPath", healthCheckPath, "an absolute URL path starting with / such as /api/health");
    }
    const rootVolumeGiB = args.rootVolumeGiB ?? 30;
    if (!Number.isInteger(rootVolumeGiB) || rootVolumeGiB < 8 || rootVolumeGiB > 16384) {
        bad("rootVolumeGiB", rootVolumeGiB, "an integer from 8 to 16384");
    }
    const grace = args.healthCheckGracePeriodSeconds;
    if (grace !== undefined && (!Number.isInteger(grace) || grace < 0 || grace > 7200)) {
        bad("healthCheckGracePeriodSeconds", grace, "an integer from 0 to 7200");
    }
    if (args.amiNameFilter !== undefined && args.amiNameFilter.trim() === "") {
        bad("amiNameFilter", args.amiNameFilter, "a name filter such as ecommerce-web-*, or unset for Amazon Linux 2023");
    }
    if (args.amiOwner !== undefined && !/^(self|amazon|aws-marketplace|\d{12})$/.test(args.amiOwner)) {
        bad("amiOwner", args.amiOwner, "self, amazon, aws-marketplace or a 12-digit account ID");
    }
    if (args.artifactUri !== undefined) {
        if (args.amiNameFilter !== undefined) {
            bad("artifactUri", args.artifactUri, "unset when amiNameFilter is set (a baked AMI carries the application)");
        } else if (!parseReleaseUri(args.artifactUri)) {
            bad("artifactUri", args.artifactUri, "s3://<bucket>/<key>.tar.gz (key of letters, digits and ._=+-/)");
        }
    }
    if (args.certificateArn !== undefined && !ACM_ARN.test(args.certificateArn)) {
        bad("certificateArn", args.certificateArn, "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)");
    }
    if (!/^\d{12}$/.test(args.accountId)) {
        bad("accountId", args.accountId, "a 12-digit AWS account ID");
    }
    const retention = args.accessLogRetentionDays ?? 90;
    if (!Number.isInteger(retention) || retention < 1) {
        bad("accessLogRetentionDays", retention, "a whole number of days, at least 1");
    }
    // What the renderer would refuse (secret-looking settings, unsafe characters).
    const source: WebAppSource = args.amiNameFilter !== undefined ? "bakedAmi" : "releaseBundle";
    problems.push(
        ...userDataProblems({
            source,
            healthCheckPath: HEALTH_PATH.test(healthCheckPath) ? healthCheckPath : "/",
            environment: args.appEnvironment,
        }).map((p) => `appEnvironment: ${p}`),
    );
    return problems;
}

/**
 * The web/API tier of one region: an internet-facing Application Load Balancer (HTTPS with
 * HTTP redirecting when a certificate is given), a target group with a real health check,
 * a launch template (IMDSv2 only, encrypted gp3, no public IP, SSM instead of SSH) and an
 * Auto Scaling group over every private subnet with rolling instance refresh. Only the load
 * balancer is reachable from the internet, and only on 80 and 443; the servers accept traffic
 * from the load balancer alone.
 */
export class WebTier extends pulumi.ComponentResource {
    public readonly albDnsName: pulumi.Output<string>;
    public readonly albZoneId: pulumi.Output<string>;
    public readonly albArn: pulumi.Output<string>;
    /** For CloudWatch metrics (`app/<name>/<id>`). */
    public readonly albArnSuffix: pulumi.Output<string>;
    public readonly targetGroupArn: pulumi.Output<string>;
    /** For CloudWatch metrics (`targetgroup/<name>/<id>`). */
    public readonly targetGroupArnSuffix: pulumi.Output<string>;
    public readonly autoScalingGroupName: pulumi.Output<string>;
    public readonly launchTemplateId: pulumi.Output<string>;
    public readonly instanceSecurityGroupId: pulumi.Output<string>;
    public readonly albSecurityGroupId: pulumi.Output<string>;
    /** Role of the servers: attach policies here for what the app must read (e.g. its DB secret). */
    public readonly instanceRoleName: pulumi.Output<string>;
    public readonly instanceRoleArn: pulumi.Output<string>;
    /** Protocol clients use: HTTPS when a certificate was given, else HTTP. */
    public readonly listenerProtocol: "HTTPS" | "HTTP";
    /** Bucket of the load balancer's access logs (undefined when disabled). */
    public readonly accessLogBucketName: pulumi.Output<string> | undefined;

    constructor(name: string, args: WebTierArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:web:WebTier", name, {}, opts);
        const problems = webTierArgsProblems(args);
        if (problems.length > 0) {
            throw new Error(`WebTier ${name}: invalid arguments:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        }
        const tags = args.tags;
        const parent = { parent: this };
        const baked = args.amiNameFilter !== undefined;
        const healthCheckPath = args.healthCheckPath ?? "/api/health";
        const grace = args.healthCheckGracePeriodSeconds ?? (baked ? 300 : 600);
        const accessLogs = args.accessLogs ?? true;

        // --- security groups: rules as separate resources, none inline --------------------------
        const albSg = new aws.ec2.SecurityGroup(
            `${name}-alb-sg`,
            {
                vpcId: args.vpcId,
                description: "Web tier load balancer: HTTP and HTTPS from the internet, out to the web servers only",
                revokeRulesOnDelete: true,
                tags: named(tags, `${name}-alb`),
            },
            parent,
        );
        const instanceSg = new aws.ec2.SecurityGroup(
            `${name}-instance-sg`,
            {
                vpcId: args.vpcId,
                description: "Web servers: HTTP from the load balancer only; out to HTTPS, Redis and MySQL",
                revokeRulesOnDelete: true,
                tags: named(tags, `${name}-instance`),
            },
            parent,
        );

        // The network is IPv4 only today; the ::/0 rules keep a later dual-stack switch of the
        // load balancer from silently dropping IPv6 clients.
        const world = [
            { suffix: "ipv4", cidr: { cidrIpv4: "0.0.0.0/0" } },
            { suffix: "ipv6", cidr: { cidrIpv6: "::/0" } },
        ];
        for (const port of [80, 443]) {
            for (const w of world) {
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-alb-in-${port}-${w.suffix}`,
                    {
                        securityGroupId: albSg.id,
                        description: `${port === 443 ? "HTTPS" : "HTTP"} from the internet`,
                        ipProtocol: "tcp",
                        fromPort: port,
                        toPort: port,
                        ...w.cidr,
                        tags: named(tags, `${name}-alb-in-${port}-${w.suffix}`),
                    },
                    parent,
                );
            }
        }
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-alb-out-instances`,
            {
                securityGroupId: albSg.id,
                description: "HTTP to the web servers (traffic and health checks)",
                ipProtocol: "tcp",
                fromPort: 80,
                toPort: 80,
                referencedSecurityGroupId: instanceSg.id,
                tags: named(tags, `${name}-alb-out-instances`),
            },
            parent,
        );
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-instance-in-alb`,
            {
                securityGroupId: instanceSg.id,
                description: "HTTP from the load balancer",
                ipProtocol: "tcp",
                fromPort: 80,
                toPort: 80,
                referencedSecurityGroupId: albSg.id,
                tags: named(tags, `${name}-instance-in-alb`),
            },
            parent,
        );
        const egress: { suffix: string; port: number; cidr: string; what: string }[] = [
            // Packages, the release bundle (S3), SSM Session Manager, Secrets Manager: all HTTPS.
            { suffix: "https", port: 443, cidr: "0.0.0.0/0", what: "HTTPS to AWS APIs, S3 and package repositories" },
            { suffix: "redis", port: 6379, cidr: args.vpcCidr, what: "Redis inside the VPC" },
            { suffix: "sentinel", port: 26379, cidr: args.vpcCidr, what: "Redis Sentinel inside the VPC (master discovery)" },
            { suffix: "mysql", port: 3306, cidr: args.vpcCidr, what: "MySQL inside the VPC" },
        ];
        for (const e of egress) {
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-instance-out-${e.suffix}`,
                {
                    securityGroupId: instanceSg.id,
                    description: e.what,
                    ipProtocol: "tcp",
                    fromPort: e.port,
                    toPort: e.port,
                    cidrIpv4: e.cidr,
                    tags: named(tags, `${name}-instance-out-${e.suffix}`),
                },
                parent,
            );
        }

        // --- access logs ------------------------------------------------------------------------
        let logBucket: aws.s3.Bucket | undefined;
        let logPolicy: aws.s3.BucketPolicy | undefined;
        const logPrefix = "alb";
        if (accessLogs) {
            // Protected: the access logs are the record of who reached the shop.
            logBucket = new aws.s3.Bucket(
                `${name}-alb-logs`,
                { forceDestroy: false, tags: named(tags, `${name}-alb-logs`) },
                { parent: this, protect: true },
            );
            // Load balancers can only write to SSE-S3 buckets (not SSE-KMS).
            new aws.s3.BucketServerSideEncryptionConfiguration(
                `${name}-alb-logs`,
                {
                    bucket: logBucket.id,
                    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
                },
                parent,
            );
            const publicAccess = new aws.s3.BucketPublicAccessBlock(
                `${name}-alb-logs`,
                {
                    bucket: logBucket.id,
                    blockPublicAcls: true,
                    blockPublicPolicy: true,
                    ignorePublicAcls: true,
                    restrictPublicBuckets: true,
                },
                parent,
            );
            new aws.s3.BucketOwnershipControls(
                `${name}-alb-logs`,
                {
                    bucket: logBucket.id,
                    rule: { objectOwnership: "BucketOwnerEnforced" },
                },
                parent,
            );
            new aws.s3.BucketLifecycleConfiguration(
                `${name}-alb-logs`,
                {
                    bucket: logBucket.id,
                    rules: [
                        {
                            id: "expire-access-logs",
                            status: "Enabled",
                            filter: { prefix: "" },
                            expiration: { days: args.accessLogRetentionDays ?? 90 },
                            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                        },
                    ],
                },
                parent,
            );
            const principal = elbLogDeliveryPrincipal(args.region);
            logPolicy = new aws.s3.BucketPolicy(
                `${name}-alb-logs`,
                {
                    bucket: logBucket.id,
                    policy: logBucket.arn.apply((arn) =>
                        JSON.stringify({
                            Version: "2012-10-17",
                            Statement: [
                                {
                                    Sid: "LoadBalancerAccessLogs",
                                    Effect: "Allow",
                                    Principal: principal,
                                    Action: "s3:PutObject",
                                    Resource: `${arn}/${logPrefix}/AWSLogs/${args.accountId}/*`,
                                },
                                {
                                    Sid: "DenyInsecureTransport",
                                    Effect: "Deny",
                                    Principal: "*",
                                    Action: "s3:*",
                                    Resource: [arn, `${arn}/*`],
                                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                                },
                            ],
                        }),
                    ),
                },
                { parent: this, dependsOn: [publicAccess] },
            );
        }

        // --- load balancer, target group, listeners ----------------------------------------------
        const alb = new aws.lb.LoadBalancer(
            `${name}-alb`,
            {
                loadBalancerType: "application",
                internal: false,
                ipAddressType: "ipv4",
                subnets: args.publicSubnetIds,
                securityGroups: [albSg.id],
                dropInvalidHeaderFields: true,
                enableDeletionProtection: args.deletionProtection ?? true,
                enableHttp2: true,
                idleTimeout: 60,
                accessLogs: logBucket ? { bucket: logBucket.id, prefix: logPrefix, enabled: true } : undefined,
                tags: named(tags, `${name}-alb`),
            },
            { parent: this, dependsOn: logPolicy ? [logPolicy] : [] },
        );

        const targetGroup = new aws.lb.TargetGroup(
            `${name}-tg`,
            {
                vpcId: args.vpcId,
                targetType: "instance",
                protocol: "HTTP",
                port: 80,
                protocolVersion: "HTTP1",
                // API calls are short: 30 s lets in-flight requests finish without slowing refreshes.
                deregistrationDelay: 30,
                healthCheck: {
                    enabled: true,
                    protocol: "HTTP",
                    port: "traffic-port",
                    path: healthCheckPath,
                    matcher: "200",
                    interval: 15,
                    timeout: 5,
                    healthyThreshold: 2,
                    unhealthyThreshold: 3,
                },
                tags: named(tags, `${name}-tg`),
            },
            parent,
        );

        const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
        if (args.certificateArn !== undefined) {
            new aws.lb.Listener(
                `${name}-https`,
                {
                    loadBalancerArn: alb.arn,
                    protocol: "HTTPS",
                    port: 443,
                    sslPolicy: args.sslPolicy ?? DEFAULT_SSL_POLICY,
                    certificateArn: args.certificateArn,
                    defaultActions: forward,
                    tags: named(tags, `${name}-https`),
                },
                parent,
            );
            new aws.lb.Listener(
                `${name}-http`,
                {
                    loadBalancerArn: alb.arn,
                    protocol: "HTTP",
                    port: 80,
                    defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
                    tags: named(tags, `${name}-http`),
                },
                parent,
            );
        } else {
            new aws.lb.Listener(
                `${name}-http`,
                {
                    loadBalancerArn: alb.arn,
                    protocol: "HTTP",
                    port: 80,
                    defaultActions: forward,
                    tags: named(tags, `${name}-http`),
                },
                parent,
            );
        }

        // --- identity: SSM Session Manager instead of SSH ------------------------------------------
        const role = new aws.iam.Role(
            `${name}-instance`,
            {
                description: "Web servers: SSM Session Manager, reading the release bundle",
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
                tags: named(tags, `${name}-instance`),
            },
            parent,
        );
        new aws.iam.RolePolicyAttachment(
            `${name}-instance-ssm`,
            {
                role: role.name,
                policyArn: aws.iam.ManagedPolicy.AmazonSSMManagedInstanceCore,
            },
            parent,
        );
        const release = args.artifactUri !== undefined ? parseReleaseUri(args.artifactUri) : undefined;
        if (release) {
            new aws.iam.RolePolicy(
                `${name}-instance-release`,
                {
                    role: role.id,
                    policy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Sid: "ReadReleaseBundle",
                                Effect: "Allow",
                                Action: "s3:GetObject",
                                Resource: `arn:aws:s3:::${release.bucket}/${release.key}`,
                            },
                        ],
                    }),
                },
                parent,
            );
        }
        const profile = new aws.iam.InstanceProfile(`${name}-instance`, { role: role.name, tags: named(tags, `${name}-instance`) }, parent);

        // --- launch template -----------------------------------------------------------------------
        let imageId: pulumi.Input<string>;
        let rootDeviceName: pulumi.Input<string>;
        if (baked) {
            const ami = aws.ec2.getAmiOutput(
                {
                    mostRecent: true,
                    owners: [args.amiOwner ?? "self"],
                    filters: [
                        { name: "name", values: [args.amiNameFilter] },
                        { name: "architecture", values: ["x86_64"] },
                        { name: "state", values: ["available"] },
                    ],
                },
                parent,
            );
            imageId = ami.id;
            // The mapping must name the AMI's own root device, or the root volume keeps the
            // snapshot's settings (maybe unencrypted) and an extra empty volume is attached.
            rootDeviceName = ami.rootDeviceName;
        } else {
            imageId = `resolve:ssm:${AL2023_AMI_PARAMETER}`;
            rootDeviceName = "/dev/xvda";
        }
        const userData = renderWebUserData({
            source: baked ? "bakedAmi" : "releaseBundle",
            healthCheckPath,
            artifactUri: args.artifactUri,
            environment: args.appEnvironment,
        });
        const serverTags = named(tags, `${name}-server`);
        const launchTemplate = new aws.ec2.LaunchTemplate(
            `${name}-lt`,
            {
                description: `Web/API servers (${baked ? `baked AMI ${args.amiNameFilter}` : "Amazon Linux 2023 + release bundle"})`,
                imageId,
                instanceType: args.instanceType,
                iamInstanceProfile: { arn: profile.arn },
                // IMDSv2 only. Hop limit 1: nothing on these hosts runs in containers, so the token
                // never needs to cross a second network hop, and a forwarded request cannot get one.
                metadataOptions: {
                    httpEndpoint: "enabled",
                    httpTokens: "required",
                    httpPutResponseHopLimit: 1,
                    httpProtocolIpv6: "disabled",
                    instanceMetadataTags: "disabled",
                },
                blockDeviceMappings: [
                    {
                        deviceName: rootDeviceName,
                        ebs: {
                            volumeType: "gp3",
                            volumeSize: args.rootVolumeGiB ?? 30,
                            iops: 3000,
                            throughput: 125,
                            encrypted: "true",
                            deleteOnTermination: "true",
                        },
                    },
                ],
                // No public address: the servers live in private subnets and leave through NAT.
                networkInterfaces: [
                    {
                        deviceIndex: 0,
                        associatePublicIpAddress: "false",
                        deleteOnTermination: "true",
                        securityGroups: [instanceSg.id],
                    },
                ],
                monitoring: { enabled: true },
                ebsOptimized: "true",
                userData: Buffer.from(userData, "utf8").toString("base64"),
                tagSpecifications: ["instance", "volume", "network-interface"].map((resourceType) => ({ resourceType, tags: serverTags })),
                updateDefaultVersion: true,
                tags: named(tags, `${name}-lt`),
            },
            parent,
        );

        // --- Auto Scaling group --------------------------------------------------------------------
        const asg = new aws.autoscaling.Group(
            `${name}-asg`,
            {
                minSize: args.instanceCount,
                desiredCapacity: args.instanceCount,
                maxSize: args.maxInstanceCount,
                vpcZoneIdentifiers: args.privateSubnetIds,
                // A new template version (AMI, user data, size) starts an instance refresh; "$Latest"
                // would not.
                launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
                targetGroupArns: [targetGroup.arn],
                healthCheckType: "ELB",
                healthCheckGracePeriod: grace,
                defaultInstanceWarmup: grace,
                // At least 80% stay in service: of 5 servers, one at a time is replaced.
                instanceRefresh: {
                    strategy: "Rolling",
                    preferences: {
                        minHealthyPercentage: 80,
                        maxHealthyPercentage: 100,
                        instanceWarmup: String(grace),
                        skipMatching: true,
                        autoRollback: true,
                    },
                },
                enabledMetrics: [
                    "GroupMinSize",
                    "GroupMaxSize",
                    "GroupDesiredCapacity",
                    "GroupInServiceInstances",
                    "GroupPendingInstances",
                    "GroupStandbyInstances",
                    "GroupTerminatingInstances",
                    "GroupTotalInstances",
                ],
                metricsGranularity: "1Minute",
                tags: Object.entries(serverTags).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
            },
            parent,
        );

        this.albDnsName = alb.dnsName;
        this.albZoneId = alb.zoneId;
        this.albArn = alb.arn;
        this.albArnSuffix = alb.arnSuffix;
        this.targetGroupArn = targetGroup.arn;
        this.targetGroupArnSuffix = targetGroup.arnSuffix;
        this.autoScalingGroupName = asg.name;
        this.launchTemplateId = launchTemplate.id;
        this.instanceSecurityGroupId = instanceSg.id;
        this.albSecurityGroupId = albSg.id;
        this.instanceRoleName = role.name;
        this.instanceRoleArn = role.arn;
        this.listenerProtocol = args.certificateArn !== undefined ? "HTTPS" : "HTTP";
        this.accessLogBucketName = logBucket?.bucket;
        this.registerOutputs({
            albDnsName: this.albDnsName,
            albZoneId: this.albZoneId,
            albArn: this.albArn,
            albArnSuffix: this.albArnSuffix,
            targetGroupArn: this.targetGroupArn,
            targetGroupArnSuffix: this.targetGroupArnSuffix,
            autoScalingGroupName: this.autoScalingGroupName,
            launchTemplateId: this.launchTemplateId,
            instanceSecurityGroupId: this.instanceSecurityGroupId,
            albSecurityGroupId: this.albSecurityGroupId,
            instanceRoleName: this.instanceRoleName,
            instanceRoleArn: this.instanceRoleArn,
            listenerProtocol: this.listenerProtocol,
            accessLogBucketName: this.accessLogBucketName,
        });
    }
}
