import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
    finalSnapshotIdentifier,
    kmsAliasName,
    masterSecretName,
    parameterGroupFamily,
    readerRecordName,
    replicaIdentifier,
    replicaZones,
    writerArn,
    writerIdentifier,
    writerRecordName,
} from "../lib/dbNaming";
import { named, Tags } from "../lib/tags";

/** `writer`: this region holds the source of truth. `standby`: this region replicates it. */
export type DatabaseRole = "writer" | "standby";

export interface DatabaseClusterArgs {
    /**
     * `writer`: the writer is a primary instance with the master credentials of this region.
     * `standby`: the writer is a cross-region read replica of the writer region's writer,
     * with its own backups, feeding this region's replicas (cascaded), ready to be promoted.
     */
    readonly role: DatabaseRole;
    /** This stack's region. */
    readonly region: string;
    /** Region whose stack holds the writer (this region in the `writer` role, the peer in `standby`). */
    readonly writerRegion: string;
    /** The other site's region: the master secret is replicated there. */
    readonly peerRegion: string;
    /** Account of both regions' databases (the standby derives the writer's ARN from it). */
    readonly accountId: string;
    /**
     * AWS partition of the account.
     * @default "aws"
     */
    readonly partition?: string;
    /** Base of the RDS identifiers: the writer is `<base>-<region>`, replica n `<base>-<region>-replica-<n>`. */
    readonly identifierBase: string;
    /** Prefix of the master secret's name (`<prefix>/<region>/mysql-master`), e.g. the project name. */
    readonly secretNamePrefix: string;
    /** VPC of the instances, the security group and the private DNS zone. */
    readonly vpcId: pulumi.Input<string>;
    /** Data subnets (one per zone, at least two) of the DB subnet group, in zone order. */
    readonly subnetIds: pulumi.Input<string>[];
    /** Zone name of each subnet in `subnetIds`, same order. Replicas are pinned to these names. */
    readonly zoneNames: readonly string[];
    /**
     * Security groups allowed to connect on 3306 (one ingress rule each). Nothing else can
     * reach the database; an empty list leaves it reachable by nobody.
     */
    readonly clientSecurityGroupIds: pulumi.Input<string>[];
    /** Private hosted zone (associated with `vpcId`) that gets the `writer.` and `reader.` names. */
    readonly privateZoneName: string;
    /** RDS instance class of the writer and the replicas, e.g. `db.t3.2xlarge`. */
    readonly instanceClass: string;
    /**
     * Read replicas, each pinned to a zone (round-robin over `zoneNames`: distinct while
     * there are enough zones). In `standby` they replicate from this region's writer.
     * @default 2
     */
    readonly replicaCount?: number;
    /**
     * RDS MySQL version (major.minor, minors applied automatically, or an exact x.y.z).
     * @default "8.4"
     */
    readonly engineVersion?: string;
    /**
     * Synchronous standby of the writer in a second zone (RDS picks both zones).
     * @default true
     */
    readonly multiAz?: boolean;
    /**
     * Initial gp3 storage of the writer (replicas inherit it).
     * @default 200
     */
    readonly allocatedStorageGiB?: number;
    /**
     * Storage autoscaling ceiling of every instance; at least `allocatedStorageGiB`.
     * @default 1000
     */
    readonly maxAllocatedStorageGiB?: number;
    /**
     * Automated backup retention of the writer, in both roles (a standby writer needs its own
     * backups to be promoted and to feed replicas), 7 to 35. Replicas keep no backups.
     * @default 14
     */
    readonly backupRetentionDays?: number;
    /** Application database created with the writer (writer role). */
    readonly dbName: string;
    /** Master user name (writer role; a replica inherits its source's). */
    readonly masterUsername: string;
    /**
     * Performance Insights (7 days, the free tier), encrypted with the database key.
     * @default true
     */
    readonly performanceInsightsEnabled?: boolean;
    /**
     * Enhanced Monitoring interval in seconds (0, 1, 5, 10, 15, 30 or 60; 0 turns it off and
     * creates no monitoring role).
     * @default 60
     */
    readonly monitoringIntervalSeconds?: number;
    /**
     * TTL of the `writer.` and `reader.` records: how long clients may keep a stale answer.
     * @default 30
     */
    readonly recordTtlSeconds?: number;
    /** Tags for every taggable child (a `Name` is added per resource). */
    readonly tags?: Tags;
}

const MYSQL_PORT = 3306;
const MONITORING_INTERVALS = [0, 1, 5, 10, 15, 30, 60];

/**
 * MySQL settings of every instance. Values as RDS stores them (0/1 for booleans), so a
 * refresh shows no drift. GTIDs make re-pointing replicas after a promotion safe; they are
 * static parameters, applied at creation or the next reboot.
 */
const MYSQL_PARAMETERS: readonly { name: string; value: string; applyMethod: "immediate" | "pending-reboot" }[] = [
    // Clients must use TLS (RDS serves its CA-signed certificate).
    { name: "require_secure_transport", value: "1", applyMethod: "immediate" },
    // Slow queries to a file, which RDS exports to CloudWatch Logs (`slowquery`).
    { name: "slow_query_log", value: "1", applyMethod: "immediate" },
    { name: "long_query_time", value: "1", applyMethod: "immediate" },
    { name: "log_output", value: "FILE", applyMethod: "immediate" },
    // Row-based, full-image binlog: deterministic replication, usable for point-in-time recovery.
    { name: "binlog_format", value: "ROW", applyMethod: "immediate" },
    { name: "binlog_row_image", value: "full", applyMethod: "immediate" },
    { name: "enforce_gtid_consistency", value: "ON", applyMethod: "pending-reboot" },
    { name: "gtid-mode", value: "ON", applyMethod: "pending-reboot" },
];

/**
 * The regional MySQL database: a Multi-AZ writer and read replicas pinned to distinct
 * zones, encrypted with a per-region KMS key, backed up, deletion-protected, reachable only
 * from the client security groups, with private DNS names `writer.<zone>` and `reader.<zone>`
 * (weighted over the replicas).
 *
 * Master credentials: a generated password in a Secrets Manager secret of this region
 * (`<prefix>/<region>/mysql-master`, replicated to the peer region). The writer uses it in
 * the `writer` role. In the `standby` role the writer is a replica and inherits the writer
 * region's credentials: clients read `credentialsSecretName` (the writer region's secret,
 * present here as a replica); after a promotion and the role flip in config, this region's
 * own secret becomes the credential (Pulumi sets it as the promoted writer's password).
 *
 * Both roles create the same resources under the same names, so a failover flips inputs,
 * never the resource set.
 */
export class DatabaseCluster extends pulumi.ComponentResource {
    public readonly role: DatabaseRole;
    /** This region's writer (in `standby`, the replica that a promotion turns into the writer). */
    public readonly writerIdentifier: string;
    public readonly writerArn: pulumi.Output<string>;
    /** RDS endpoint address of the writer (TLS certificates name this host). */
    public readonly writerAddress: pulumi.Output<string>;
    /** `writer.<zone>`: CNAME to the writer. */
    public readonly writerEndpointName: string;
    /** `reader.<zone>`: weighted CNAMEs over the replicas (the writer when there are none). */
    public readonly readerEndpointName: string;
    public readonly port: number;
    public readonly replicaIdentifiers: string[];
    /** Zone name of each replica, same order as `replicaIdentifiers`. */
    public readonly replicaZones: string[];
    public readonly kmsKeyArn: pulumi.Output<string>;
    public readonly securityGroupId: pulumi.Output<string>;
    /** Secret consumers read: the writer region's master secret (replicated into this region). */
    public readonly credentialsSecretName: string;
    /** This region's own master secret (the credential after a promotion here). */
    public readonly masterSecretName: string;
    public readonly masterSecretArn: pulumi.Output<string>;
    public readonly privateZoneId: pulumi.Output<string>;
    /** What this region's writer replicates from: the derived writer ARN in `standby`, undefined in `writer`. */
    public readonly sourceDbArn: string | undefined;

    constructor(name: string, args: DatabaseClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        // Defaults and validation first: a bad argument registers nothing, not even the component.
        const partition = args.partition ?? "aws";
        const replicaCount = args.replicaCount ?? 2;
        const engineVersion = args.engineVersion ?? "8.4";
        const multiAz = args.multiAz ?? true;
        const allocatedStorage = args.allocatedStorageGiB ?? 200;
        const maxAllocatedStorage = args.maxAllocatedStorageGiB ?? 1000;
        const backupRetentionDays = args.backupRetentionDays ?? 14;
        const performanceInsights = args.performanceInsightsEnabled ?? true;
        const monitoringInterval = args.monitoringIntervalSeconds ?? 60;
        const ttl = args.recordTtlSeconds ?? 30;
        validate(name, args, { replicaCount, allocatedStorage, maxAllocatedStorage, backupRetentionDays, monitoringInterval, ttl });
        const standby = args.role === "standby";
        const writerId = writerIdentifier(args.identifierBase, args.region);
        const replicaIds = Array.from({ length: replicaCount }, (_, i) => replicaIdentifier(args.identifierBase, args.region, i + 1));
        const zonesOfReplicas = replicaZones(replicaCount, args.zoneNames);
        const sourceArn = standby
            ? writerArn({ partition, accountId: args.accountId, writerRegion: args.writerRegion, identifierBase: args.identifierBase })
            : undefined;
        const ownSecretName = masterSecretName(args.secretNamePrefix, args.region);
        const credentialsSecretName = masterSecretName(args.secretNamePrefix, args.writerRegion);
        const family = parameterGroupFamily(engineVersion);

        super("ecommerce:db:DatabaseCluster", name, {}, opts);
        const tags = args.tags;
        const parent = { parent: this };
        const protect = { parent: this, protect: true };

        // --- encryption: one key per region (a cross-region replica needs a key of its own region)
        const key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `RDS MySQL ${writerId}: storage, Performance Insights and master secret`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AccountAdministersTheKey",
                            Effect: "Allow",
                            Principal: { AWS: `arn:${partition}:iam::${args.accountId}:root` },
                            Action: "kms:*",
                            Resource: "*",
                        },
                    ],
                }),
                tags: named(tags, `${name}-key`),
            },
            protect,
        );
        new aws.kms.Alias(`${name}-key-alias`, { name: kmsAliasName(args.identifierBase, args.region), targetKeyId: key.keyId }, parent);

        // --- master credentials: generated, kept in Secrets Manager, replicated to the peer region
        const password = new random.RandomPassword(
            `${name}-master-password`,
            {
                length: 32,
                special: true,
                // RDS refuses '/', '@', '"' and spaces in MySQL master passwords.
                overrideSpecial: "!#$%&*()-_=+[]{}<>:?",
                minLower: 1,
                minUpper: 1,
                minNumeric: 1,
                minSpecial: 1,
            },
            protect,
        );
        const secret = new aws.secretsmanager.Secret(
            `${name}-master-secret`,
            {
                name: ownSecretName,
                description: `Master credentials of ${writerId} (MySQL). Replicated to ${args.peerRegion}.`,
                kmsKeyId: key.arn,
                recoveryWindowInDays: 30,
                // The replica is encrypted with aws/secretsmanager of the peer region: this stack
                // must not depend on a key that only the peer stack creates.
                replicas: [{ region: args.peerRegion }],
                tags: named(tags, ownSecretName),
            },
            protect,
        );

        // --- network placement and access
        const subnetGroup = new aws.rds.SubnetGroup(
            `${name}-subnets`,
            {
                description: `Data subnets of ${writerId} and its replicas`,
                subnetIds: args.subnetIds,
                tags: named(tags, `${name}-subnets`),
            },
            parent,
        );
        const sg = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId: args.vpcId,
                description: `MySQL ${writerId}: ${MYSQL_PORT} from the client security groups only`,
                tags: named(tags, `${name}-sg`),
            },
            parent,
        );
        args.clientSecurityGroupIds.forEach((clientSg, i) => {
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-mysql-from-${i + 1}`,
                {
                    securityGroupId: sg.id,
                    referencedSecurityGroupId: clientSg,
                    ipProtocol: "tcp",
                    fromPort: MYSQL_PORT,
                    toPort: MYSQL_PORT,
                    description: "MySQL from a client tier",
                    tags: named(tags, `${name}-mysql-from-${i + 1}`),
                },
                parent,
            );
        });

        const params = new aws.rds.ParameterGroup(
            `${name}-params`,
            {
                family,
                description: `MySQL settings of ${args.identifierBase}: TLS only, slow query log, row binlog, GTIDs`,
                parameters: MYSQL_PARAMETERS.map((p) => ({ ...p })),
                tags: named(tags, `${name}-params`),
            },
            parent,
        );

        let monitoringRoleArn: pulumi.Output<string> | undefined;
        if (monitoringInterval > 0) {
            const monitoringRole = new aws.iam.Role(
                `${name}-monitoring`,
                {
                    description: `Enhanced Monitoring of ${writerId} and its replicas`,
                    assumeRolePolicy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Principal: { Service: "monitoring.rds.amazonaws.com" }, Action: "sts:AssumeRole" }],
                    }),
                    tags: named(tags, `${name}-monitoring`),
                },
                parent,
            );
            const attachment = new aws.iam.RolePolicyAttachment(
                `${name}-monitoring`,
                {
                    role: monitoringRole.name,
                    policyArn: `arn:${partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole`,
                },
                parent,
            );
            // The instance must not use the role before it may act.
            monitoringRoleArn = pulumi.all([monitoringRole.arn, attachment.id]).apply(([roleArn]) => roleArn);
        }

        // Settings every instance shares.
        const common = {
            engine: "mysql",
            engineVersion,
            instanceClass: args.instanceClass,
            engineLifecycleSupport: "open-source-rds-extended-support-disabled",
            autoMinorVersionUpgrade: true,
            allowMajorVersionUpgrade: false,
            storageType: "gp3",
            storageEncrypted: true,
            kmsKeyId: key.arn,
            maxAllocatedStorage,
            publiclyAccessible: false,
            vpcSecurityGroupIds: [sg.id],
            parameterGroupName: params.name,
            port: MYSQL_PORT,
            deletionProtection: true,
            copyTagsToSnapshot: true,
            enabledCloudwatchLogsExports: ["error", "slowquery"],
            performanceInsightsEnabled: performanceInsights,
            performanceInsightsKmsKeyId: performanceInsights ? key.arn : undefined,
            performanceInsightsRetentionPeriod: performanceInsights ? 7 : undefined,
            monitoringInterval,
            monitoringRoleArn,
        };

        // --- the writer. Multi-AZ: RDS picks its zone and its standby's, so no availabilityZone.
        const writer = new aws.rds.Instance(
            `${name}-writer`,
            {
                ...common,
                identifier: writerId,
                multiAz,
                // A cross-region replica must name its subnet group (else: the default VPC).
                dbSubnetGroupName: subnetGroup.name,
                backupRetentionPeriod: backupRetentionDays,
                deleteAutomatedBackups: false,
                ...(standby
                    ? {
                          // Cross-region replica of the writer region's writer, by derived ARN; its
                          // storage is encrypted with this region's key. RDS refuses a final
                          // snapshot of a replica; its retained automated backups stay.
                          replicateSourceDb: sourceArn,
                          skipFinalSnapshot: true,
                      }
                    : {
                          allocatedStorage,
                          dbName: args.dbName,
                          username: args.masterUsername,
                          password: pulumi.secret(password.result),
                          skipFinalSnapshot: false,
                          finalSnapshotIdentifier: finalSnapshotIdentifier(writerId),
                      }),
                tags: named(tags, writerId),
            },
            {
                ...protect,
                // Create-only settings that a role flip adds or removes: never replace a database over them.
                ignoreChanges: ["username", "dbName"],
            },
        );

        // --- replicas: same region, from the writer by identifier (cascaded in `standby`);
        // they inherit the writer's subnet group and keep no backups of their own.
        const replicas = replicaIds.map(
            (identifier, i) =>
                new aws.rds.Instance(
                    `${name}-replica-${i + 1}`,
                    {
                        ...common,
                        identifier,
                        replicateSourceDb: writer.identifier,
                        availabilityZone: zonesOfReplicas[i],
                        multiAz: false,
                        backupRetentionPeriod: 0,
                        skipFinalSnapshot: true,
                        tags: named(tags, identifier),
                    },
                    protect,
                ),
        );

        const writerName = writerRecordName(args.privateZoneName);
        const readerName = readerRecordName(args.privateZoneName);
        // `host` is the private DNS name, not the RDS address: the secret is replicated to the
        // peer region, where the same name resolves to that region's writer, and it follows a
        // promotion. (Clients that verify the server's identity in TLS use writerAddress.)
        new aws.secretsmanager.SecretVersion(
            `${name}-master-secret`,
            {
                secretId: secret.id,
                secretString: pulumi.secret(
                    pulumi.jsonStringify({
                        username: args.masterUsername,
                        password: password.result,
                        engine: "mysql",
                        host: writerName,
                        port: MYSQL_PORT,
                        dbname: args.dbName,
                        dbInstanceIdentifier: writerId,
                    }),
                ),
            },
            protect,
        );

        // --- private DNS: stable names for the writer and for load-balanced reads
        const zone = new aws.route53.Zone(
            `${name}-zone`,
            {
                name: args.privateZoneName,
                comment: `Database names of ${args.region} (writer, reader)`,
                vpcs: [{ vpcId: args.vpcId }],
                tags: named(tags, `${name}-zone`),
            },
            parent,
        );
        new aws.route53.Record(
            `${name}-writer`,
            {
                zoneId: zone.zoneId,
                name: writerName,
                type: "CNAME",
                ttl,
                records: [writer.address],
            },
            parent,
        );
        if (replicas.length === 0) {
            new aws.route53.Record(
                `${name}-reader`,
                { zoneId: zone.zoneId, name: readerName, type: "CNAME", ttl, records: [writer.address] },
                parent,
            );
        }
        replicas.forEach((replica, i) => {
            new aws.route53.Record(
                `${name}-reader-${i + 1}`,
                {
                    zoneId: zone.zoneId,
                    name: readerName,
                    type: "CNAME",
                    ttl,
                    setIdentifier: replicaIds[i],
                    weightedRoutingPolicies: [{ weight: 100 }],
                    records: [replica.address],
                },
                parent,
            );
        });

        this.role = args.role;
        this.writerIdentifier = writerId;
        this.writerArn = writer.arn;
        this.writerAddress = writer.address;
        this.writerEndpointName = writerName;
        this.readerEndpointName = readerName;
        this.port = MYSQL_PORT;
        this.replicaIdentifiers = replicaIds;
        this.replicaZones = zonesOfReplicas;
        this.kmsKeyArn = key.arn;
        this.securityGroupId = sg.id;
        this.credentialsSecretName = credentialsSecretName;
        this.masterSecretName = ownSecretName;
        this.masterSecretArn = secret.arn;
        this.privateZoneId = zone.zoneId;
        this.sourceDbArn = sourceArn;
        this.registerOutputs({
            role: this.role,
            writerIdentifier: this.writerIdentifier,
            writerArn: this.writerArn,
            writerAddress: this.writerAddress,
            writerEndpointName: this.writerEndpointName,
            readerEndpointName: this.readerEndpointName,
            port: this.port,
            replicaIdentifiers: this.replicaIdentifiers,
            replicaZones: this.replicaZones,
            kmsKeyArn: this.kmsKeyArn,
            securityGroupId: this.securityGroupId,
            credentialsSecretName: this.credentialsSecretName,
            masterSecretName: this.masterSecretName,
            masterSecretArn: this.masterSecretArn,
            privateZoneId: this.privateZoneId,
            sourceDbArn: this.sourceDbArn,
        });
    }
}

interface Resolved {
    readonly replicaCount: number;
    readonly allocatedStorage: number;
    readonly maxAllocatedStorage: number;
    readonly backupRetentionDays: number;
    readonly monitoringInterval: number;
    readonly ttl: number;
}

/** Throws on contradictory or out-of-range args, before any child exists. */
function validate(name: string, args: DatabaseClusterArgs, r: Resolved): void {
    const fail = (what: string, value: unknown, allowed: string) => {
        throw new Error(`DatabaseCluster ${name}: ${what} = ${JSON.stringify(value)}: expected ${allowed}`);
    };
    if (args.role !== "writer" && args.role !== "standby") {
        fail("role", args.role, "writer or standby");
    }
    if (args.region === args.peerRegion) {
        fail("peerRegion", args.peerRegion, `a region other than this one (${args.region})`);
    }
    if (args.role === "writer" && args.writerRegion !== args.region) {
        fail("writerRegion", args.writerRegion, `this region (${args.region}) in the writer role`);
    }
    if (args.role === "standby" && args.writerRegion !== args.peerRegion) {
        fail("writerRegion", args.writerRegion, `the peer region (${args.peerRegion}) in the standby role`);
    }
    if (
        args.zoneNames.length < 2 ||
        args.zoneNames.length !== args.subnetIds.length ||
        new Set(args.zoneNames).size !== args.zoneNames.length
    ) {
        fail("zoneNames", args.zoneNames, `at least 2 distinct zones, one per subnet in subnetIds (${args.subnetIds.length})`);
    }
    if (!Number.isInteger(r.replicaCount) || r.replicaCount < 0 || r.replicaCount > 5) {
        fail("replicaCount", r.replicaCount, "an integer from 0 to 5");
    }
    if (!Number.isInteger(r.allocatedStorage) || r.allocatedStorage < 20 || r.allocatedStorage > 65536) {
        fail("allocatedStorageGiB", r.allocatedStorage, "an integer from 20 to 65536");
    }
    if (!Number.isInteger(r.maxAllocatedStorage) || r.maxAllocatedStorage < r.allocatedStorage || r.maxAllocatedStorage > 65536) {
        fail("maxAllocatedStorageGiB", r.maxAllocatedStorage, `an integer from allocatedStorageGiB (${r.allocatedStorage}) to 65536`);
    }
    if (!Number.isInteger(r.backupRetentionDays) || r.backupRetentionDays < 7 || r.backupRetentionDays > 35) {
        fail("backupRetentionDays", r.backupRetentionDays, "an integer from 7 to 35");
    }
    if (!MONITORING_INTERVALS.includes(r.monitoringInterval)) {
        fail("monitoringIntervalSeconds", r.monitoringInterval, `one of ${MONITORING_INTERVALS.join(", ")}`);
    }
    if (!Number.isInteger(r.ttl) || r.ttl < 1 || r.ttl > 300) {
        fail("recordTtlSeconds", r.ttl, "an integer from 1 to 300 (clients must follow a promotion quickly)");
    }
}
