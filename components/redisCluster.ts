import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { pinnedNodes, survivesZoneLoss } from "../lib/placement";
import { AL2023_AMI, maxmemoryMib, redisClusterProblems, renderRedisCloudConfig, REDIS_PORT, SENTINEL_PORT } from "../lib/redisConfig";
import { named, Tags } from "../lib/tags";
import type { TierSubnets } from "./network";

export interface RedisClusterArgs {
    /** VPC of the nodes and of their security group. */
    readonly vpcId: pulumi.Input<string>;
    /**
     * The data subnets, one per zone in placement order (Network.dataSubnets). Node n sits in
     * zone n mod zones, at host 10 + n of that zone's subnet (lib/placement.ts pinnedNodes).
     */
    readonly subnets: TierSubnets;
    /**
     * Security groups allowed to reach Redis (6379) and Sentinel (26379): the application
     * servers and the monitoring nodes. Each gets its own ingress rule per port.
     */
    readonly clientSecurityGroupIds: pulumi.Input<string>[];
    /**
     * IAM roles of the clients (e.g. the web servers' instance role) that may read the
     * password: each gets an inline policy allowing GetSecretValue on this secret only (and
     * kms:Decrypt through Secrets Manager when kmsKeyArn is set).
     * @default [] (only the nodes read it)
     */
    readonly clientRoleNames?: pulumi.Input<string>[];
    /** Redis image pinned to an exact version or digest, e.g. `public.ecr.aws/docker/library/redis:6.2.20`. */
    readonly image: string;
    /**
     * EC2 instance type of the nodes; it must have a known memory size (lib/instanceTypes.ts)
     * because maxmemory is derived from it.
     * @default "t3.large"
     */
    readonly instanceType?: string;
    /**
     * Nodes: the first starts as master, the rest as its replicas; each also runs a Sentinel.
     * Odd, at least 3.
     * @default 3
     */
    readonly nodeCount?: number;
    /**
     * Sentinels that must agree the master is down before a failover; a majority of nodeCount.
     * @default a strict majority of nodeCount (2 of 3)
     */
    readonly sentinelQuorum?: number;
    /**
     * Share of the instance's memory Redis may use (maxmemory); the rest is for the OS,
     * docker and the fork of a full resync.
     * @default 70
     */
    readonly maxmemoryPercent?: number;
    /**
     * Name under which the sentinels know the master; clients ask the sentinels for it.
     * @default "ecommerce-cache"
     */
    readonly masterName?: string;
    /**
     * Name of the Secrets Manager secret holding the password. A fixed name lets clients
     * created before the cluster (the web tier) be told where to read it, and keeps the
     * nodes' user data known at preview time (policies can read it on a first preview).
     */
    readonly passwordSecretName: string;
    /** Region of the cluster (where the nodes ask Secrets Manager for the password). */
    readonly region: string;
    /**
     * Size of each node's encrypted gp3 root volume (OS, docker images, replication buffers).
     * @default 20
     */
    readonly rootVolumeGiB?: number;
    /**
     * KMS key (ARN) for the password secret and the root volumes. The node role is then
     * allowed to decrypt with it through Secrets Manager only.
     * @default the AWS managed keys (aws/secretsmanager, aws/ebs)
     */
    readonly kmsKeyArn?: pulumi.Input<string>;
    /**
     * Milliseconds a node must be unreachable before a sentinel considers it down (1000 to
     * 600000).
     * @default 5000
     */
    readonly downAfterMilliseconds?: number;
    /** Tags for every taggable child (a `Name` is added per resource). */
    readonly tags?: Tags;
}

/**
 * The Redis cache: `nodeCount` EC2 nodes, each running Redis and Sentinel in docker with
 * host networking, at fixed private addresses in the data subnets (one zone per node where
 * the region has enough zones). The password is generated, kept in Secrets Manager and read
 * by each node at boot through its instance role; it never appears in user data.
 *
 * Known limit: with fewer zones than nodes (us-west-1 has two), one zone holds two of the
 * three sentinels, and losing that zone loses the sentinel majority: the surviving node keeps
 * serving what it has, but no failover can happen until the zone returns. `survivesZoneLoss`
 * says whether this placement has that limit.
 */
export class RedisCluster extends pulumi.ComponentResource {
    /** Fixed private address of each node, in node order; the first is the initial master. */
    public readonly nodeAddresses: string[];
    /** Zone name of each node, in node order. */
    public readonly nodeZones: string[];
    public readonly instanceIds: pulumi.Output<string>[];
    /** Security group of the nodes (clients are admitted by their own security groups). */
    public readonly securityGroupId: pulumi.Output<string>;
    /** Secrets Manager secret holding the password as a plain SecretString. */
    public readonly passwordSecretArn: pulumi.Output<string>;
    /** The master at creation; after a failover, ask a sentinel (SENTINEL get-master-addr-by-name). */
    public readonly masterAddress: string;
    /** Name of the master in Sentinel. */
    public readonly masterName: string;
    public readonly port: number;
    public readonly sentinelPort: number;
    /** False when losing one zone loses the Sentinel majority (fewer zones than nodes, e.g. 3 nodes in 2 zones). */
    public readonly survivesZoneLoss: boolean;

    constructor(name: string, args: RedisClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:redis:RedisCluster", name, {}, opts);
        const instanceType = args.instanceType ?? "t3.large";
        const nodeCount = args.nodeCount ?? 3;
        const quorum = args.sentinelQuorum ?? Math.floor(nodeCount / 2) + 1;
        const maxmemoryPercent = args.maxmemoryPercent ?? 70;
        const masterName = args.masterName ?? "ecommerce-cache";
        const rootVolumeGiB = args.rootVolumeGiB ?? 20;
        const subnets = args.subnets;
        const problems = redisClusterProblems({
            instanceType,
            nodeCount,
            image: args.image,
            sentinelQuorum: quorum,
            maxmemoryPercent,
            masterName,
            rootVolumeGiB,
            zoneCount: subnets.cidrs.length,
            downAfterMilliseconds: args.downAfterMilliseconds,
        });
        if (subnets.ids.length !== subnets.cidrs.length || subnets.zones.length !== subnets.cidrs.length) {
            problems.push(
                `subnets: ${subnets.ids.length} IDs, ${subnets.zones.length} zones and ${subnets.cidrs.length} CIDRs: expected one of each per zone`,
            );
        }
        if (problems.length > 0) {
            throw new Error(`RedisCluster ${name}: invalid arguments:\n  - ${problems.join("\n  - ")}`);
        }
        const tags = args.tags;
        const parent = { parent: this };
        const nodes = pinnedNodes(nodeCount, subnets.cidrs);
        const addresses = nodes.map((n) => n.address);
        const memoryMib = maxmemoryMib(instanceType, maxmemoryPercent);

        // --- the password ---------------------------------------------------------------
        // Letters and digits only: safe unquoted in redis.conf, in a shell substitution and
        // in a redis:// URL. 48 characters of [A-Za-z0-9] are about 285 bits.
        const password = new random.RandomPassword(
            `${name}-password`,
            {
                length: 48,
                special: false,
                minUpper: 4,
                minLower: 4,
                minNumeric: 4,
            },
            { parent: this, protect: true },
        );
        const secret = new aws.secretsmanager.Secret(
            `${name}-password`,
            {
                name: args.passwordSecretName,
                description: `Password of the Redis cache ${name} (requirepass, masterauth and Sentinel), read by its nodes at boot`,
                kmsKeyId: args.kmsKeyArn,
                recoveryWindowInDays: 30,
                tags: named(tags, `${name}-password`),
            },
            { parent: this, protect: true },
        );
        const secretVersion = new aws.secretsmanager.SecretVersion(
            `${name}-password`,
            {
                secretId: secret.id,
                secretString: password.result,
            },
            { parent: this, protect: true },
        );

        // --- network access -------------------------------------------------------------
        const sg = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId: args.vpcId,
                description: `Redis cache ${name}: Redis and Sentinel from the clients and the nodes themselves`,
                tags: named(tags, `${name}-sg`),
            },
            parent,
        );
        const ports = [
            { key: "redis", port: REDIS_PORT, what: "Redis" },
            { key: "sentinel", port: SENTINEL_PORT, what: "Sentinel" },
        ];
        const sources: { key: string; groupId: pulumi.Input<string>; what: string }[] = [
            ...args.clientSecurityGroupIds.map((groupId, i) => ({ key: `client-${i + 1}`, groupId, what: `client group ${i + 1}` })),
            { key: "self", groupId: sg.id, what: "the other Redis nodes" },
        ];
        for (const source of sources) {
            for (const p of ports) {
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-in-${source.key}-${p.key}`,
                    {
                        securityGroupId: sg.id,
                        referencedSecurityGroupId: source.groupId,
                        ipProtocol: "tcp",
                        fromPort: p.port,
                        toPort: p.port,
                        description: `${p.what} from ${source.what}`,
                        tags: named(tags, `${name}-in-${source.key}-${p.key}`),
                    },
                    parent,
                );
            }
        }
        // HTTPS out: the image registry (ECR Public), Secrets Manager, SSM and the package
        // repositories, all through the zone's NAT gateway. DNS, NTP and instance metadata go
        // to link-local or VPC resolver addresses that security groups do not filter.
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-out-https`,
            {
                securityGroupId: sg.id,
                cidrIpv4: "0.0.0.0/0",
                ipProtocol: "tcp",
                fromPort: 443,
                toPort: 443,
                description: "HTTPS: image pulls, Secrets Manager, SSM, packages",
                tags: named(tags, `${name}-out-https`),
            },
            parent,
        );
        for (const p of ports) {
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-out-self-${p.key}`,
                {
                    securityGroupId: sg.id,
                    referencedSecurityGroupId: sg.id,
                    ipProtocol: "tcp",
                    fromPort: p.port,
                    toPort: p.port,
                    description: `${p.what} to the other Redis nodes (replication, sentinels)`,
                    tags: named(tags, `${name}-out-self-${p.key}`),
                },
                parent,
            );
        }

        // --- the node role: SSM, and the password secret only -------------------------------
        const partition = aws.getPartitionOutput({}, parent).partition;
        const role = new aws.iam.Role(
            `${name}-node`,
            {
                description: `Redis cache ${name} nodes: SSM management and the password secret`,
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
                tags: named(tags, `${name}-node`),
            },
            parent,
        );
        new aws.iam.RolePolicyAttachment(
            `${name}-node-ssm`,
            {
                role: role.name,
                policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
            },
            parent,
        );
        const readPasswordPolicy = pulumi.all([secret.arn, args.kmsKeyArn]).apply(([secretArn, kmsKeyArn]) =>
            JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    { Sid: "ReadRedisPassword", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArn },
                    ...(kmsKeyArn
                        ? [
                              {
                                  Sid: "DecryptThroughSecretsManager",
                                  Effect: "Allow",
                                  Action: "kms:Decrypt",
                                  Resource: kmsKeyArn,
                                  Condition: {
                                      StringEquals: { "kms:ViaService": `secretsmanager.${regionOfArn(secretArn)}.amazonaws.com` },
                                  },
                              },
                          ]
                        : []),
                ],
            }),
        );
        const secretPolicy = new aws.iam.RolePolicy(`${name}-node-password`, { role: role.id, policy: readPasswordPolicy }, parent);
        (args.clientRoleNames ?? []).forEach((clientRole, i) => {
            new aws.iam.RolePolicy(`${name}-client-${i + 1}-password`, { role: clientRole, policy: readPasswordPolicy }, parent);
        });
        const profile = new aws.iam.InstanceProfile(`${name}-node`, { role: role.name, tags: named(tags, `${name}-node`) }, parent);

        // --- the nodes ------------------------------------------------------------------------
        // Each node's address lives on its own network interface, created apart from the
        // instance and attached as its primary interface. Replacing an instance (new AMI, new
        // user data) keeps the interface, so the address (and the security group on it) never
        // changes and peers, sentinels and clients need no update; no other launch can take the
        // address in between. The instance must go before its replacement can attach the
        // interface: deleteBeforeReplace. (privateIp on the instance would also fix the
        // address, but the address would be free while no instance holds it.)
        const instances: aws.ec2.Instance[] = [];
        nodes.forEach((node) => {
            const zone = subnets.zones[node.zoneIndex];
            const nodeName = `${name}-node-${node.index + 1}`;
            const initialRole = node.index === 0 ? "initial master" : "initial replica";
            const nodeTags = {
                ...named(tags, nodeName),
                RedisNode: String(node.index + 1),
                RedisInitialRole: node.index === 0 ? "master" : "replica",
            };
            const eni = new aws.ec2.NetworkInterface(
                nodeName,
                {
                    subnetId: subnets.ids[node.zoneIndex],
                    privateIps: [node.address],
                    securityGroups: [sg.id],
                    description: `Redis cache ${name} node ${node.index + 1} (${initialRole}), fixed address`,
                    tags: nodeTags,
                },
                { parent: this, deleteBeforeReplace: true },
            );
            const userData = renderRedisCloudConfig({
                address: node.address,
                clusterAddresses: addresses,
                maxmemoryMib: memoryMib,
                quorum,
                masterName,
                image: args.image,
                passwordSecretId: args.passwordSecretName,
                region: args.region,
                downAfterMilliseconds: args.downAfterMilliseconds,
            });
            const instance = new aws.ec2.Instance(
                nodeName,
                {
                    ami: AL2023_AMI,
                    instanceType,
                    availabilityZone: zone.name,
                    // No public address: the interface is in a data subnet (no public IPs mapped)
                    // and an interface created on its own never gets one.
                    primaryNetworkInterface: { networkInterfaceId: eni.id },
                    iamInstanceProfile: profile.name,
                    metadataOptions: {
                        httpEndpoint: "enabled",
                        httpTokens: "required",
                        // 1: containers on a bridge network cannot reach the credentials (ours
                        // use the host network and do not need them either).
                        httpPutResponseHopLimit: 1,
                        instanceMetadataTags: "disabled",
                    },
                    monitoring: true,
                    rootBlockDevice: {
                        volumeType: "gp3",
                        volumeSize: rootVolumeGiB,
                        encrypted: true,
                        kmsKeyId: args.kmsKeyArn,
                        deleteOnTermination: true,
                        tags: named(tags, `${nodeName}-root`),
                    },
                    userData,
                    // cloud-init applies user data once per instance: a changed config is applied
                    // by a new instance, never left unapplied on a stopped-and-started one.
                    userDataReplaceOnChange: true,
                    tags: nodeTags,
                },
                {
                    parent: this,
                    deleteBeforeReplace: true,
                    // `ami` resolves to the newest AL2023 image at each deployment; without this,
                    // every AL2023 release would replace all cache nodes on the next `pulumi up`.
                    // Rolling nodes to a new image is deliberate: `pulumi up --replace <urn>`, one
                    // node at a time (the runbook).
                    ignoreChanges: ["ami"],
                    // The password and the permission to read it exist before a node boots; each
                    // node after the previous one, so replacements roll one node at a time instead
                    // of taking the whole cache down at once.
                    dependsOn: [secretVersion, secretPolicy, ...instances.slice(-1)],
                },
            );
            instances.push(instance);
        });

        this.nodeAddresses = addresses;
        this.nodeZones = nodes.map((n) => subnets.zones[n.zoneIndex].name);
        this.instanceIds = instances.map((i) => i.id);
        this.securityGroupId = sg.id;
        this.passwordSecretArn = secret.arn;
        this.masterAddress = addresses[0];
        this.masterName = masterName;
        this.port = REDIS_PORT;
        this.sentinelPort = SENTINEL_PORT;
        this.survivesZoneLoss = survivesZoneLoss(
            nodes.map((n) => n.zoneIndex),
            subnets.cidrs.length,
        );
        this.registerOutputs({
            nodeAddresses: this.nodeAddresses,
            nodeZones: this.nodeZones,
            instanceIds: this.instanceIds,
            securityGroupId: this.securityGroupId,
            passwordSecretArn: this.passwordSecretArn,
            masterAddress: this.masterAddress,
            masterName: this.masterName,
            port: this.port,
            sentinelPort: this.sentinelPort,
            survivesZoneLoss: this.survivesZoneLoss,
        });
    }
}

/** The region field of an ARN (`arn:partition:service:region:account:resource`). */
function regionOfArn(arn: string): string {
    return arn.split(":")[3];
}
