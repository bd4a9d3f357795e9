import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { type PinnedNode, pinnedNodes, survivesZoneLoss } from "../lib/placement";
import { AL2023_AMI_PARAMETER } from "../lib/amis";
import {
    DEFAULT_MASTER_NAME,
    maxmemoryMib,
    redisClusterProblems,
    renderRedisCloudConfig,
    REDIS_PORT,
    SENTINEL_PORT,
} from "../lib/redisConfig";
import { DIGEST_PINNED_IMAGE, K8S_NAME, Problems, redisRollNodes, requireValidArgs } from "../lib/rules";
import type { Tags } from "../lib/tags";
import { readSecretPolicy, serviceTrustPolicy } from "../lib/iam";
import { PlatformComponent } from "./platformComponent";
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
     * Security groups allowed to reach Redis (6379) and Sentinel (26379), keyed by what they
     * are (`web`, `monitoring`): each gets its own ingress rule per port, named after its key
     * (`<name>-in-web-redis`), so reordering or adding clients never replaces a rule.
     */
    readonly clientSecurityGroupIds: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * IAM roles of the clients that may read the password, keyed like the security groups
     * (`web`): each gets an inline policy allowing GetSecretValue on this secret only (and
     * kms:Decrypt through Secrets Manager when kmsKeyArn is set), `<name>-password-to-web`.
     * @default {} (only the nodes read it)
     */
    readonly clientRoleNames?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Redis image pinned by digest (and tag), e.g. `public.ecr.aws/docker/library/redis:6.2.24@sha256:...` (lib/pins.ts). */
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
     * @default DEFAULT_MASTER_NAME, "ecommerce-cache"
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
    /**
     * Nodes (1-based) to move to the current Amazon Linux 2023 AMI on this update: their AMI is
     * no longer ignored, so a newer image replaces them (deleteBeforeReplace: the node's address
     * returns on its successor). At most one, so the cache keeps its majority.
     * @default [] (every node keeps the AMI it was created with)
     */
    readonly rollNodes?: readonly number[];
    /** Tags for every taggable child (a `Name` is added per resource). */
    readonly tags?: Tags;
}

/** The defaults of the optional arguments, in one place. */
const DEFAULTS = {
    instanceType: "t3.large",
    nodeCount: 3,
    maxmemoryPercent: 70,
    rootVolumeGiB: 20,
    masterName: DEFAULT_MASTER_NAME,
} as const;

/** The arguments with every default applied (the quorum defaults to a strict majority). */
function settingsOf(args: RedisClusterArgs) {
    const nodeCount = args.nodeCount ?? DEFAULTS.nodeCount;
    return {
        instanceType: args.instanceType ?? DEFAULTS.instanceType,
        nodeCount,
        sentinelQuorum: args.sentinelQuorum ?? Math.floor(nodeCount / 2) + 1,
        maxmemoryPercent: args.maxmemoryPercent ?? DEFAULTS.maxmemoryPercent,
        rootVolumeGiB: args.rootVolumeGiB ?? DEFAULTS.rootVolumeGiB,
        masterName: args.masterName ?? DEFAULTS.masterName,
        rollNodes: args.rollNodes ?? [],
    };
}

/** Every problem with `args`, each naming the argument, the value received and what is allowed. */
export function redisClusterArgsProblems(args: RedisClusterArgs): string[] {
    const settings = settingsOf(args);
    const subnets = args.subnets;
    const p = new Problems();
    p.add(
        ...redisClusterProblems({
            ...settings,
            image: args.image,
            zoneCount: subnets.cidrs.length,
            downAfterMilliseconds: args.downAfterMilliseconds,
        }),
    );
    p.check("image", args.image, DIGEST_PINNED_IMAGE);
    p.check("rollNodes", settings.rollNodes, redisRollNodes(settings.nodeCount));
    if (subnets.ids.length !== subnets.cidrs.length || subnets.zones.length !== subnets.cidrs.length) {
        p.reject(
            "subnets",
            { ids: subnets.ids.length, zones: subnets.zones.length, cidrs: subnets.cidrs.length },
            "one ID, zone and CIDR per zone",
        );
    }
    for (const client of new Set([...Object.keys(args.clientSecurityGroupIds), ...Object.keys(args.clientRoleNames ?? {})])) {
        p.check("client key", client, K8S_NAME);
    }
    return p.list;
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
export class RedisCluster extends PlatformComponent<RedisClusterArgs> {
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
        requireValidArgs("RedisCluster", name, redisClusterArgsProblems(args));
        super("ecommerce:redis:RedisCluster", name, args, opts);
        const nodes = pinnedNodes(settingsOf(args).nodeCount, args.subnets.cidrs);
        const secret = this.createPassword();
        const sg = this.createSecurityGroup();
        const { profile, readPermission } = this.createNodeRole(secret.secret);
        this.grantClients(secret.secret);
        const instances = this.createNodes(nodes, sg, profile, [secret.version, readPermission]);

        this.nodeAddresses = nodes.map((n) => n.address);
        this.nodeZones = nodes.map((n) => args.subnets.zones[n.zoneIndex].name);
        this.instanceIds = instances.map((i) => i.id);
        this.securityGroupId = sg.id;
        this.passwordSecretArn = secret.secret.arn;
        this.masterAddress = this.nodeAddresses[0];
        this.masterName = settingsOf(args).masterName;
        this.port = REDIS_PORT;
        this.sentinelPort = SENTINEL_PORT;
        this.survivesZoneLoss = survivesZoneLoss(
            nodes.map((n) => n.zoneIndex),
            args.subnets.cidrs.length,
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

    /**
     * Letters and digits only: safe unquoted in redis.conf, in a shell substitution and in a
     * redis:// URL. 48 characters of [A-Za-z0-9] are about 285 bits.
     */
    private createPassword(): { secret: aws.secretsmanager.Secret; version: aws.secretsmanager.SecretVersion } {
        const name = `${this.name}-password`;
        const password = new random.RandomPassword(
            name,
            { length: 48, special: false, minUpper: 4, minLower: 4, minNumeric: 4 },
            { parent: this, protect: true },
        );
        const secret = new aws.secretsmanager.Secret(
            name,
            {
                name: this.args.passwordSecretName,
                description: `Password of the Redis cache ${this.name} (requirepass, masterauth and Sentinel), read by its nodes at boot`,
                kmsKeyId: this.args.kmsKeyArn,
                recoveryWindowInDays: 30,
                tags: this.tagged(name),
            },
            { parent: this, protect: true },
        );
        const version = new aws.secretsmanager.SecretVersion(
            name,
            { secretId: secret.id, secretString: password.result },
            { parent: this, protect: true },
        );
        return { secret, version };
    }

    /** Redis and Sentinel from each client and from the other nodes; HTTPS out. */
    private createSecurityGroup(): aws.ec2.SecurityGroup {
        const name = this.name;
        const sg = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId: this.args.vpcId,
                description: `Redis cache ${name}: Redis and Sentinel from the clients and the nodes themselves`,
                tags: this.tagged(`${name}-sg`),
            },
            { parent: this },
        );
        const sources: [string, pulumi.Input<string>, string][] = [
            ...Object.entries(this.args.clientSecurityGroupIds).map(([key, groupId]): [string, pulumi.Input<string>, string] => [
                key,
                groupId,
                `the ${key} tier`,
            ]),
            ["self", sg.id, "the other Redis nodes"],
        ];
        for (const [key, groupId, what] of sources) {
            for (const port of PORTS) {
                const ruleName = `${name}-in-${key}-${port.key}`;
                new aws.vpc.SecurityGroupIngressRule(
                    ruleName,
                    {
                        securityGroupId: sg.id,
                        referencedSecurityGroupId: groupId,
                        ipProtocol: "tcp",
                        fromPort: port.port,
                        toPort: port.port,
                        description: `${port.what} from ${what}`,
                        tags: this.tagged(ruleName),
                    },
                    { parent: this },
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
                tags: this.tagged(`${name}-out-https`),
            },
            { parent: this },
        );
        for (const port of PORTS) {
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-out-self-${port.key}`,
                {
                    securityGroupId: sg.id,
                    referencedSecurityGroupId: sg.id,
                    ipProtocol: "tcp",
                    fromPort: port.port,
                    toPort: port.port,
                    description: `${port.what} to the other Redis nodes (replication, sentinels)`,
                    tags: this.tagged(`${name}-out-self-${port.key}`),
                },
                { parent: this },
            );
        }
        return sg;
    }

    /** The policy that reads the password (and decrypts it through Secrets Manager with a customer key). */
    private readPasswordPolicy(secret: aws.secretsmanager.Secret): pulumi.Output<string> {
        return pulumi
            .all([secret.arn, this.args.kmsKeyArn])
            .apply(([secretArn, kmsKeyArn]) => JSON.stringify(readSecretPolicy("ReadRedisPassword", secretArn, kmsKeyArn)));
    }

    /** The nodes' role: SSM management, and the password secret only. */
    private createNodeRole(secret: aws.secretsmanager.Secret): { profile: aws.iam.InstanceProfile; readPermission: aws.iam.RolePolicy } {
        const name = `${this.name}-node`;
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        const role = new aws.iam.Role(
            name,
            {
                description: `Redis cache ${this.name} nodes: SSM management and the password secret`,
                assumeRolePolicy: serviceTrustPolicy("ec2.amazonaws.com"),
                tags: this.tagged(name),
            },
            { parent: this },
        );
        new aws.iam.RolePolicyAttachment(
            `${name}-ssm`,
            { role: role.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore` },
            { parent: this },
        );
        const readPermission = new aws.iam.RolePolicy(
            `${name}-password`,
            { role: role.id, policy: this.readPasswordPolicy(secret) },
            { parent: this },
        );
        const profile = new aws.iam.InstanceProfile(name, { role: role.name, tags: this.tagged(name) }, { parent: this });
        return { profile, readPermission };
    }

    /** Each client role may read the password: `<name>-password-to-<client>`. */
    private grantClients(secret: aws.secretsmanager.Secret): void {
        for (const [client, roleName] of Object.entries(this.args.clientRoleNames ?? {})) {
            new aws.iam.RolePolicy(
                `${this.name}-password-to-${client}`,
                { role: roleName, policy: this.readPasswordPolicy(secret) },
                { parent: this },
            );
        }
    }

    /**
     * Each node's address lives on its own network interface, created apart from the instance
     * and attached as its primary interface. Replacing an instance (new AMI, new user data) keeps
     * the interface, so the address (and the security group on it) never changes and peers,
     * sentinels and clients need no update; no other launch can take the address in between. The
     * instance must go before its replacement can attach the interface: deleteBeforeReplace.
     * (privateIp on the instance would also fix the address, but the address would be free while
     * no instance holds it.)
     */
    private createNodes(
        nodes: readonly PinnedNode[],
        sg: aws.ec2.SecurityGroup,
        profile: aws.iam.InstanceProfile,
        bootPrerequisites: pulumi.Resource[],
    ): aws.ec2.Instance[] {
        const args = this.args;
        const settings = settingsOf(args);
        const addresses = nodes.map((n) => n.address);
        const memoryMib = maxmemoryMib(settings.instanceType, settings.maxmemoryPercent);
        // `aws.ec2.Instance` cannot take the `resolve:ssm:` alias: the provider looks the literal
        // string up with DescribeImages and fails with InvalidAMIID.Malformed whenever a root
        // block device is set (terraform-provider-aws#43488, open). So the parameter is read at
        // deploy time and the instance gets the AMI ID itself.
        // The provider marks the parameter's `value` secret, and an invoke Output with any secret
        // field is secret as a whole: the AMI ID of every node would show as [secret] in previews
        // and state. The promise form returns plain values, and this parameter is public.
        const ami = pulumi.output(aws.ssm.getParameter({ name: AL2023_AMI_PARAMETER }, { parent: this })).apply((p) => p.insecureValue);
        const instances: aws.ec2.Instance[] = [];
        for (const node of nodes) {
            const zone = args.subnets.zones[node.zoneIndex];
            const nodeName = `${this.name}-node-${node.index + 1}`;
            const initialRole = node.index === 0 ? "initial master" : "initial replica";
            const nodeTags = {
                ...this.tagged(nodeName),
                RedisNode: String(node.index + 1),
                RedisInitialRole: node.index === 0 ? "master" : "replica",
            };
            const eni = new aws.ec2.NetworkInterface(
                nodeName,
                {
                    subnetId: args.subnets.ids[node.zoneIndex],
                    privateIps: [node.address],
                    securityGroups: [sg.id],
                    description: `Redis cache ${this.name} node ${node.index + 1} (${initialRole}), fixed address`,
                    tags: nodeTags,
                },
                { parent: this, deleteBeforeReplace: true },
            );
            const userData = renderRedisCloudConfig({
                address: node.address,
                clusterAddresses: addresses,
                maxmemoryMib: memoryMib,
                quorum: settings.sentinelQuorum,
                masterName: settings.masterName,
                image: args.image,
                passwordSecretId: args.passwordSecretName,
                region: args.region,
                downAfterMilliseconds: args.downAfterMilliseconds,
            });
            const instance = new aws.ec2.Instance(
                nodeName,
                {
                    ami,
                    instanceType: settings.instanceType,
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
                        volumeSize: settings.rootVolumeGiB,
                        encrypted: true,
                        kmsKeyId: args.kmsKeyArn,
                        deleteOnTermination: true,
                        tags: this.tagged(`${nodeName}-root`),
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
                    // The AMI ID is read at each deployment; without this, every AL2023 release
                    // would replace all cache nodes on the next `pulumi up`. Ignored inputs keep
                    // their old value even through a replacement (pulumi/pulumi#2657), so moving a
                    // node to the new image is deliberate: list it in rollNodes, one node per up
                    // (the runbook).
                    ignoreChanges: settings.rollNodes.includes(node.index + 1) ? [] : ["ami"],
                    // The password and the permission to read it exist before a node boots; each
                    // node after the previous one, so replacements roll one node at a time instead
                    // of taking the whole cache down at once.
                    dependsOn: [...bootPrerequisites, ...instances.slice(-1)],
                },
            );
            instances.push(instance);
        }
        return instances;
    }
}

const PORTS = [
    { key: "redis", port: REDIS_PORT, what: "Redis" },
    { key: "sentinel", port: SENTINEL_PORT, what: "Sentinel" },
];
