import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AL2023_AMI_ALIAS } from "../lib/amis";
import { parseCidr } from "../lib/cidr";
import { elbLogDeliveryPrincipal } from "../lib/elbLogDelivery";
import {
    ACCOUNT_ID,
    ACM_CERTIFICATE_ARN,
    AMI_NAME_FILTER,
    AMI_OWNER,
    atLeast,
    DAYS_KEPT,
    HEALTH_CHECK_GRACE_SECONDS,
    HEALTH_CHECK_PATH,
    Problems,
    requireValidArgs,
    ROOT_VOLUME_GIB,
    rule,
    WEB_INSTANCE_COUNT,
    X86_INSTANCE_TYPE,
} from "../lib/rules";
import type { Tags } from "../lib/tags";
import { serviceTrustPolicy } from "../lib/iam";
import { PlatformComponent } from "./platformComponent";
import { parseReleaseUri, renderWebUserData, userDataProblems, WebAppSource } from "../lib/webUserData";

export const DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
export const DEFAULT_HEALTH_CHECK_PATH = "/api/health";
export const DEFAULT_ROOT_VOLUME_GIB = 30;

export interface WebTierArgs {
    /** VPC of the load balancer and the servers. */
    readonly vpcId: pulumi.Input<string>;
    /** IPv4 CIDR of the VPC: the servers may reach Redis (6379, Sentinel 26379) and MySQL (3306) inside it. */
    readonly vpcCidr: string;
    /**
     * Private subnets, one per zone (at least two): the internal load balancer lives in them,
     * and the Auto Scaling group spreads the servers over all of them itself (5 over 3 zones is
     * 2/2/1, over 2 zones 3/2).
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
     * Owner of the baked AMI (`self`, `amazon`, `aws-marketplace` or an account ID); used with amiNameFilter.
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
     * Non-secret settings for the app (hostnames, secret names), written to /etc/ecommerce/api.env.
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

const VPC_CIDR = rule<string>("the VPC's IPv4 CIDR such as 10.10.0.0/16", (v) => (parseCidr(v)?.prefix ?? 0) > 0);
const TWO_SUBNETS = (why: string) => rule<number>(`at least 2 (${why})`, (n) => n >= 2);

/**
 * Every problem with `args`, each naming the argument, the value received and what is allowed.
 * The constructor throws them all at once, before any child exists.
 */
export function webTierArgsProblems(args: WebTierArgs): string[] {
    const p = new Problems();
    p.check("instanceCount", args.instanceCount, WEB_INSTANCE_COUNT);
    p.check("maxInstanceCount", args.maxInstanceCount, atLeast("instanceCount", Math.max(1, args.instanceCount)));
    p.check("instanceType", args.instanceType, X86_INSTANCE_TYPE);
    p.check(
        "privateSubnetIds.length",
        args.privateSubnetIds.length,
        TWO_SUBNETS("the servers must survive the loss of a zone, and an Application Load Balancer needs two"),
    );
    p.check("vpcCidr", args.vpcCidr, VPC_CIDR);
    const healthPathOk = p.checkOptional("healthCheckPath", args.healthCheckPath, HEALTH_CHECK_PATH);
    p.checkOptional("rootVolumeGiB", args.rootVolumeGiB, ROOT_VOLUME_GIB);
    p.checkOptional("healthCheckGracePeriodSeconds", args.healthCheckGracePeriodSeconds, HEALTH_CHECK_GRACE_SECONDS);
    p.checkOptional("amiNameFilter", args.amiNameFilter, AMI_NAME_FILTER);
    p.checkOptional("amiOwner", args.amiOwner, AMI_OWNER);
    if (args.artifactUri !== undefined && args.amiNameFilter !== undefined) {
        p.reject("artifactUri", args.artifactUri, "unset when amiNameFilter is set (a baked AMI carries the application)");
    } else if (args.artifactUri !== undefined && !parseReleaseUri(args.artifactUri)) {
        p.reject("artifactUri", args.artifactUri, "s3://<bucket>/<key>.tar.gz (key of letters, digits and ._=+-/)");
    }
    p.checkOptional("certificateArn", args.certificateArn, ACM_CERTIFICATE_ARN);
    p.check("accountId", args.accountId, ACCOUNT_ID);
    p.checkOptional("accessLogRetentionDays", args.accessLogRetentionDays, DAYS_KEPT);
    // What the renderer would refuse (secret-looking settings, unsafe characters).
    const environmentProblems = userDataProblems({
        source: appSource(args),
        healthCheckPath: healthPathOk ? (args.healthCheckPath ?? DEFAULT_HEALTH_CHECK_PATH) : DEFAULT_HEALTH_CHECK_PATH,
        environment: args.appEnvironment,
    });
    p.add(...environmentProblems.map((x) => `appEnvironment: ${x}`));
    return p.list;
}

function appSource(args: WebTierArgs): WebAppSource {
    return args.amiNameFilter !== undefined ? "bakedAmi" : "releaseBundle";
}

/** The image servers boot from, and whether it is a concrete AMI ID (not an SSM alias resolved at launch). */
interface ServerImage {
    readonly imageId: pulumi.Input<string>;
    readonly rootDeviceName: pulumi.Input<string>;
    readonly concrete: boolean;
}

/**
 * The web/API tier of one region: an internet-facing Application Load Balancer (HTTPS with
 * HTTP redirecting when a certificate is given), a target group with a real health check,
 * a launch template (IMDSv2 only, encrypted gp3, no public IP, SSM instead of SSH) and an
 * Auto Scaling group over every private subnet with rolling instance refresh. Only the load
 * balancer is reachable from the internet, and only on 80 and 443; the servers accept traffic
 * from the load balancer alone.
 */
export class WebTier extends PlatformComponent<WebTierArgs> {
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
        requireValidArgs("WebTier", name, webTierArgsProblems(args));
        super("ecommerce:web:WebTier", name, args, opts);
        const { albSg, instanceSg } = this.createSecurityGroups();
        const logs = (args.accessLogs ?? true) ? this.createAccessLogBucket() : undefined;
        const alb = this.createLoadBalancer(albSg, logs);
        const targetGroup = this.createTargetGroup();
        this.createListeners(alb, targetGroup);
        const { role, profile } = this.createInstanceRole();
        const image = this.serverImage();
        const launchTemplate = this.createLaunchTemplate(image, instanceSg, profile);
        const group = this.createAutoScalingGroup(launchTemplate, targetGroup, image);

        this.albDnsName = alb.dnsName;
        this.albZoneId = alb.zoneId;
        this.albArn = alb.arn;
        this.albArnSuffix = alb.arnSuffix;
        this.targetGroupArn = targetGroup.arn;
        this.targetGroupArnSuffix = targetGroup.arnSuffix;
        this.autoScalingGroupName = group.name;
        this.launchTemplateId = launchTemplate.id;
        this.instanceSecurityGroupId = instanceSg.id;
        this.albSecurityGroupId = albSg.id;
        this.instanceRoleName = role.name;
        this.instanceRoleArn = role.arn;
        this.listenerProtocol = args.certificateArn !== undefined ? "HTTPS" : "HTTP";
        this.accessLogBucketName = logs?.bucket.bucket;
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

    private get baked(): boolean {
        return appSource(this.args) === "bakedAmi";
    }

    private get healthCheckPath(): string {
        return this.args.healthCheckPath ?? DEFAULT_HEALTH_CHECK_PATH;
    }

    private get gracePeriodSeconds(): number {
        return this.args.healthCheckGracePeriodSeconds ?? (this.baked ? 300 : 600);
    }

    /** Security groups with every rule a separate resource, none inline. */
    private createSecurityGroups(): { albSg: aws.ec2.SecurityGroup; instanceSg: aws.ec2.SecurityGroup } {
        const name = this.name;
        const albSg = new aws.ec2.SecurityGroup(
            `${name}-alb-sg`,
            {
                vpcId: this.args.vpcId,
                description: "Web tier load balancer (internal, behind the virtual IP): HTTP and HTTPS in, out to the web servers only",
                revokeRulesOnDelete: true,
                tags: this.tagged(`${name}-alb`),
            },
            { parent: this },
        );
        const instanceSg = new aws.ec2.SecurityGroup(
            `${name}-instance-sg`,
            {
                vpcId: this.args.vpcId,
                description: "Web servers: HTTP from the load balancer only; out to HTTPS, Redis and MySQL",
                revokeRulesOnDelete: true,
                tags: this.tagged(`${name}-instance`),
            },
            { parent: this },
        );
        // The load balancer is internal: it has no public address, so only the virtual IP (Global
        // Accelerator's network interfaces in these subnets) and the VPC itself can reach it. Its
        // rules still admit any source: Global Accelerator always preserves the client's IP for
        // an internal ALB ("Preserve client IP addresses", GA developer guide), so shoppers
        // arrive with their own addresses. Tighter would be the `GlobalAccelerator` security
        // group GA creates in the VPC as the only source ("Best practices", GA developer guide),
        // but it exists only once the first endpoint is added, so one `pulumi up` could not
        // name it. The network is IPv4 only today; the ::/0 rules keep a later dual-stack switch
        // from silently dropping IPv6 clients.
        const world = { ipv4: { cidrIpv4: "0.0.0.0/0" }, ipv6: { cidrIpv6: "::/0" } };
        for (const port of [80, 443]) {
            for (const [family, cidr] of Object.entries(world)) {
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-alb-in-${port}-${family}`,
                    {
                        securityGroupId: albSg.id,
                        description: `${port === 443 ? "HTTPS" : "HTTP"} from shoppers through the virtual IP (client IPs preserved)`,
                        ipProtocol: "tcp",
                        fromPort: port,
                        toPort: port,
                        ...cidr,
                        tags: this.tagged(`${name}-alb-in-${port}-${family}`),
                    },
                    { parent: this },
                );
            }
        }
        this.allowTcp(
            `${name}-alb-out-instances`,
            "egress",
            albSg,
            80,
            { referencedSecurityGroupId: instanceSg.id },
            "HTTP to the web servers (traffic and health checks)",
        );
        this.allowTcp(
            `${name}-instance-in-alb`,
            "ingress",
            instanceSg,
            80,
            { referencedSecurityGroupId: albSg.id },
            "HTTP from the load balancer",
        );
        const cidr = this.args.vpcCidr;
        // Packages, the release bundle (S3), SSM Session Manager, Secrets Manager: all HTTPS.
        this.allowTcp(
            `${name}-instance-out-https`,
            "egress",
            instanceSg,
            443,
            { cidrIpv4: "0.0.0.0/0" },
            "HTTPS to AWS APIs, S3 and package repositories",
        );
        this.allowTcp(`${name}-instance-out-redis`, "egress", instanceSg, 6379, { cidrIpv4: cidr }, "Redis inside the VPC");
        this.allowTcp(
            `${name}-instance-out-sentinel`,
            "egress",
            instanceSg,
            26379,
            { cidrIpv4: cidr },
            "Redis Sentinel inside the VPC (master discovery)",
        );
        this.allowTcp(`${name}-instance-out-mysql`, "egress", instanceSg, 3306, { cidrIpv4: cidr }, "MySQL inside the VPC");
        return { albSg, instanceSg };
    }

    /** One TCP port, in or out of `group`, to a CIDR or another group. */
    private allowTcp(
        ruleName: string,
        direction: "ingress" | "egress",
        group: aws.ec2.SecurityGroup,
        port: number,
        peer: { cidrIpv4: string } | { referencedSecurityGroupId: pulumi.Input<string> },
        description: string,
    ): void {
        const ruleArgs = {
            securityGroupId: group.id,
            description,
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
            ...peer,
            tags: this.tagged(ruleName),
        };
        if (direction === "ingress") {
            new aws.vpc.SecurityGroupIngressRule(ruleName, ruleArgs, { parent: this });
        } else {
            new aws.vpc.SecurityGroupEgressRule(ruleName, ruleArgs, { parent: this });
        }
    }

    /** A private, SSE-S3 bucket only the region's load balancer log delivery may write to. */
    private createAccessLogBucket(): { bucket: aws.s3.Bucket; policy: aws.s3.BucketPolicy; prefix: string } {
        const name = `${this.name}-alb-logs`;
        const prefix = "alb";
        // Protected: the access logs are the record of who reached the shop.
        const bucket = new aws.s3.Bucket(name, { forceDestroy: false, tags: this.tagged(name) }, { parent: this, protect: true });
        // Load balancers can only write to SSE-S3 buckets (not SSE-KMS).
        new aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
            { parent: this },
        );
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            name,
            { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            { parent: this },
        );
        new aws.s3.BucketOwnershipControls(name, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: this });
        new aws.s3.BucketLifecycleConfiguration(
            name,
            {
                bucket: bucket.id,
                rules: [
                    {
                        id: "expire-access-logs",
                        status: "Enabled",
                        filter: { prefix: "" },
                        expiration: { days: this.args.accessLogRetentionDays ?? 90 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                    },
                ],
            },
            { parent: this },
        );
        const principal = elbLogDeliveryPrincipal(this.args.region);
        const policy = new aws.s3.BucketPolicy(
            name,
            {
                bucket: bucket.id,
                policy: bucket.arn.apply((arn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Sid: "LoadBalancerAccessLogs",
                                Effect: "Allow",
                                Principal: principal,
                                Action: "s3:PutObject",
                                Resource: `${arn}/${prefix}/AWSLogs/${this.args.accountId}/*`,
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
        return { bucket, policy, prefix };
    }

    private createLoadBalancer(
        albSg: aws.ec2.SecurityGroup,
        logs: { bucket: aws.s3.Bucket; policy: aws.s3.BucketPolicy; prefix: string } | undefined,
    ): aws.lb.LoadBalancer {
        return new aws.lb.LoadBalancer(
            `${this.name}-alb`,
            {
                loadBalancerType: "application",
                // The origin is closed: shoppers reach the site only through the virtual IP, so
                // fencing a site in Global Accelerator fences it for every shopper. The VPC keeps
                // its internet gateway, which GA requires for an internal endpoint ("Secure VPC
                // connections", GA developer guide); the private subnets are GA's best practice
                // for "traffic delivered only by Global Accelerator". `internal` cannot change in
                // place: an existing internet-facing ALB is replaced (docs/architecture.md, Known limits).
                internal: true,
                ipAddressType: "ipv4",
                subnets: this.args.privateSubnetIds,
                securityGroups: [albSg.id],
                dropInvalidHeaderFields: true,
                enableDeletionProtection: this.args.deletionProtection ?? true,
                enableHttp2: true,
                idleTimeout: 60,
                accessLogs: logs ? { bucket: logs.bucket.id, prefix: logs.prefix, enabled: true } : undefined,
                tags: this.tagged(`${this.name}-alb`),
            },
            // The load balancer checks at creation that it may write its logs.
            { parent: this, dependsOn: logs ? [logs.policy] : [] },
        );
    }

    private createTargetGroup(): aws.lb.TargetGroup {
        return new aws.lb.TargetGroup(
            `${this.name}-tg`,
            {
                vpcId: this.args.vpcId,
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
                    path: this.healthCheckPath,
                    matcher: "200",
                    interval: 15,
                    timeout: 5,
                    healthyThreshold: 2,
                    unhealthyThreshold: 3,
                },
                tags: this.tagged(`${this.name}-tg`),
            },
            { parent: this },
        );
    }

    /** HTTPS forwarding and HTTP redirecting with a certificate; plain HTTP forwarding without. */
    private createListeners(alb: aws.lb.LoadBalancer, targetGroup: aws.lb.TargetGroup): void {
        const listener = (suffix: string, listenerArgs: Omit<aws.lb.ListenerArgs, "loadBalancerArn" | "tags">) =>
            new aws.lb.Listener(
                `${this.name}-${suffix}`,
                { loadBalancerArn: alb.arn, ...listenerArgs, tags: this.tagged(`${this.name}-${suffix}`) },
                { parent: this },
            );
        const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
        if (this.args.certificateArn === undefined) {
            listener("http", { protocol: "HTTP", port: 80, defaultActions: forward });
            return;
        }
        listener("https", {
            protocol: "HTTPS",
            port: 443,
            sslPolicy: this.args.sslPolicy ?? DEFAULT_SSL_POLICY,
            certificateArn: this.args.certificateArn,
            defaultActions: forward,
        });
        listener("http", {
            protocol: "HTTP",
            port: 80,
            defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
        });
    }

    /** SSM Session Manager instead of SSH; reading the release bundle when one is installed. */
    private createInstanceRole(): { role: aws.iam.Role; profile: aws.iam.InstanceProfile } {
        const name = `${this.name}-instance`;
        const role = new aws.iam.Role(
            name,
            {
                description: "Web servers: SSM Session Manager, reading the release bundle",
                assumeRolePolicy: serviceTrustPolicy("ec2.amazonaws.com"),
                tags: this.tagged(name),
            },
            { parent: this },
        );
        new aws.iam.RolePolicyAttachment(
            `${name}-ssm`,
            { role: role.name, policyArn: aws.iam.ManagedPolicy.AmazonSSMManagedInstanceCore },
            { parent: this },
        );
        const release = this.args.artifactUri !== undefined ? parseReleaseUri(this.args.artifactUri) : undefined;
        if (release) {
            new aws.iam.RolePolicy(
                `${name}-release`,
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
                { parent: this },
            );
        }
        const profile = new aws.iam.InstanceProfile(name, { role: role.name, tags: this.tagged(name) }, { parent: this });
        return { role, profile };
    }

    /**
     * The baked AMI is looked up at deploy time (newest match): a concrete ID, so a new AMI is a
     * new template version and an instance refresh. Without one, the template names AWS's public
     * SSM parameter and EC2 resolves it at every launch: new servers get the latest Amazon Linux
     * without a template change. Launch templates accept `resolve:ssm:` (EC2 user guide, "Use a
     * Systems Manager parameter instead of an AMI ID"; the provider passes it through, unlike
     * aws_instance, terraform-provider-aws#43488); Auto Scaling refuses it with attribute-based
     * instance selection (terraform-provider-aws#38767), which this group does not use.
     */
    private serverImage(): ServerImage {
        if (this.args.amiNameFilter === undefined) {
            return { imageId: AL2023_AMI_ALIAS, rootDeviceName: "/dev/xvda", concrete: false };
        }
        const ami = aws.ec2.getAmiOutput(
            {
                mostRecent: true,
                owners: [this.args.amiOwner ?? "self"],
                filters: [
                    { name: "name", values: [this.args.amiNameFilter] },
                    { name: "architecture", values: ["x86_64"] },
                    { name: "state", values: ["available"] },
                ],
            },
            { parent: this },
        );
        // The mapping must name the AMI's own root device, or the root volume keeps the
        // snapshot's settings (maybe unencrypted) and an extra empty volume is attached.
        return { imageId: ami.id, rootDeviceName: ami.rootDeviceName, concrete: true };
    }

    private createLaunchTemplate(
        image: ServerImage,
        instanceSg: aws.ec2.SecurityGroup,
        profile: aws.iam.InstanceProfile,
    ): aws.ec2.LaunchTemplate {
        const userData = renderWebUserData({
            source: appSource(this.args),
            healthCheckPath: this.healthCheckPath,
            artifactUri: this.args.artifactUri,
            environment: this.args.appEnvironment,
        });
        const serverTags = this.tagged(`${this.name}-server`);
        return new aws.ec2.LaunchTemplate(
            `${this.name}-lt`,
            {
                description: `Web/API servers (${this.baked ? `baked AMI ${this.args.amiNameFilter}` : "Amazon Linux 2023 + release bundle"})`,
                imageId: image.imageId,
                instanceType: this.args.instanceType,
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
                        deviceName: image.rootDeviceName,
                        ebs: {
                            volumeType: "gp3",
                            volumeSize: this.args.rootVolumeGiB ?? DEFAULT_ROOT_VOLUME_GIB,
                            iops: 3000,
                            throughput: 125,
                            encrypted: "true",
                            deleteOnTermination: "true",
                        },
                    },
                ],
                // No public address: the servers live in private subnets and leave through NAT.
                networkInterfaces: [
                    { deviceIndex: 0, associatePublicIpAddress: "false", deleteOnTermination: "true", securityGroups: [instanceSg.id] },
                ],
                monitoring: { enabled: true },
                ebsOptimized: "true",
                userData: Buffer.from(userData, "utf8").toString("base64"),
                tagSpecifications: ["instance", "volume", "network-interface"].map((resourceType) => ({ resourceType, tags: serverTags })),
                updateDefaultVersion: true,
                tags: this.tagged(`${this.name}-lt`),
            },
            { parent: this },
        );
    }

    private createAutoScalingGroup(
        launchTemplate: aws.ec2.LaunchTemplate,
        targetGroup: aws.lb.TargetGroup,
        image: ServerImage,
    ): aws.autoscaling.Group {
        const grace = this.gracePeriodSeconds;
        const serverTags = this.tagged(`${this.name}-server`);
        return new aws.autoscaling.Group(
            `${this.name}-asg`,
            {
                minSize: this.args.instanceCount,
                desiredCapacity: this.args.instanceCount,
                maxSize: this.args.maxInstanceCount,
                vpcZoneIdentifiers: this.args.privateSubnetIds,
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
                        // Auto Scaling cannot roll back a refresh whose launch template names its
                        // image by an SSM parameter (EC2 Auto Scaling user guide, "Undo changes
                        // with a rollback": not supported when the template uses an alias): the
                        // refresh would fail to start. Only a concrete AMI ID rolls back.
                        autoRollback: image.concrete,
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
            { parent: this },
        );
    }
}
