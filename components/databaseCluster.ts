import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
    appCredentialsSecretName,
    appSecretName,
    credentialsSecretName,
    MYSQL_PORT,
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
import type { StackRole } from "../lib/config";
import { APP_DB_USER } from "../lib/failoverNaming";
import {
    ACCOUNT_ID,
    DB_BACKUP_RETENTION_DAYS,
    DB_REPLICA_COUNT,
    DB_STORAGE_GIB,
    DNS_TTL_SECONDS,
    K8S_NAME,
    Problems,
    RDS_MONITORING_INTERVAL,
    requireValidArgs,
    rule,
    STACK_ROLE,
} from "../lib/rules";
import type { Tags } from "../lib/tags";
import { PlatformComponent } from "./platformComponent";
import { readSecretPolicy, serviceTrustPolicy } from "../lib/iam";

export interface DatabaseClusterArgs {
    /**
     * `writer`: the writer is a primary instance with the master credentials of this region.
     * `standby`: the writer is a cross-region read replica of the writer region's writer,
     * with its own backups, feeding this region's replicas (cascaded), ready to be promoted.
     */
    readonly role: StackRole;
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
     * Security groups allowed to connect on 3306, keyed by what they are (`web`, `monitoring`):
     * one ingress rule each, `<name>-mysql-from-<key>`, so reordering or adding clients never
     * replaces a rule. Nothing else can reach the database; an empty map leaves it reachable by
     * nobody.
     */
    readonly clientSecurityGroupIds: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * IAM roles of the applications that connect, keyed like the security groups (`web`): each
     * may read the credentials secret clients use (`credentialsSecretName`) and nothing else,
     * `<name>-credentials-to-<key>`; with the writer region's customer key, kms:Decrypt through
     * Secrets Manager only.
     * @default {}
     */
    readonly clientRoleNames?: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * Roles that may read the application's secret (`appCredentialsSecretName`) and nothing
     * else, by client name: the application's own account, fenced by the writer lease.
     * @default {}
     */
    readonly appClientRoleNames?: Readonly<Record<string, pulumi.Input<string>>>;
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
     * Each read replica a Multi-AZ instance (a synchronous standby in a second zone, placed by
     * RDS, so unpinned: RDS refuses an AvailabilityZone with MultiAZ, CreateDBInstance's
     * AvailabilityZone parameter). Off by default: the replicas sit in distinct zones behind one
     * weighted reader name, so a zone's loss stops one replica of two until the zone returns;
     * Multi-AZ would make that a 60-120 s failover at about twice each replica's instance and
     * storage price. See docs/architecture.md, "Read replicas: single-AZ, and why".
     * @default false
     */
    readonly replicaMultiAz?: boolean;
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
    // The writer lease's fence is an event that runs every second (failover/agent/fence.ts). ON is
    // MySQL 8.4's default and the variable is dynamic (MySQL manual, events-configuration); the
    // master user cannot SET GLOBAL it on RDS (no SYSTEM_VARIABLES_ADMIN), so the group says it.
    // The agent's heartbeat records whether it is on (`armed`), and an alarm fires when it is not.
    { name: "event_scheduler", value: "ON", applyMethod: "immediate" },
    // Row-based, full-image binlog: deterministic replication, usable for point-in-time recovery.
    { name: "binlog_format", value: "ROW", applyMethod: "immediate" },
    { name: "binlog_row_image", value: "full", applyMethod: "immediate" },
    { name: "enforce_gtid_consistency", value: "ON", applyMethod: "pending-reboot" },
    { name: "gtid-mode", value: "ON", applyMethod: "pending-reboot" },
];

/** Every problem with `args`, each naming the argument, the value received and what is allowed. */
export function databaseClusterArgsProblems(args: DatabaseClusterArgs): string[] {
    const p = new Problems();
    p.check("role", args.role, STACK_ROLE);
    p.check(
        "peerRegion",
        args.peerRegion,
        rule(`a region other than this one (${args.region})`, (v) => v !== args.region),
    );
    if (args.role === "writer") {
        p.check(
            "writerRegion",
            args.writerRegion,
            rule(`this region (${args.region}) in the writer role`, (v) => v === args.region),
        );
    } else if (args.role === "standby") {
        p.check(
            "writerRegion",
            args.writerRegion,
            rule(`the peer region (${args.peerRegion}) in the standby role`, (v) => v === args.peerRegion),
        );
    }
    p.check("accountId", args.accountId, ACCOUNT_ID);
    p.check(
        "zoneNames",
        args.zoneNames,
        rule<readonly string[]>(
            `at least 2 distinct zones, one per subnet in subnetIds (${args.subnetIds.length})`,
            (z) => z.length >= 2 && z.length === args.subnetIds.length && new Set(z).size === z.length,
        ),
    );
    p.checkOptional("replicaCount", args.replicaCount, DB_REPLICA_COUNT);
    const allocated = args.allocatedStorageGiB ?? DEFAULTS.allocatedStorageGiB;
    p.checkOptional("allocatedStorageGiB", args.allocatedStorageGiB, DB_STORAGE_GIB);
    p.checkOptional(
        "maxAllocatedStorageGiB",
        args.maxAllocatedStorageGiB,
        rule(`an integer from allocatedStorageGiB (${allocated}) to 65536`, (v) => DB_STORAGE_GIB.accepts(v) && v >= allocated),
    );
    p.checkOptional("backupRetentionDays", args.backupRetentionDays, DB_BACKUP_RETENTION_DAYS);
    p.checkOptional("monitoringIntervalSeconds", args.monitoringIntervalSeconds, RDS_MONITORING_INTERVAL);
    p.checkOptional("recordTtlSeconds", args.recordTtlSeconds, DNS_TTL_SECONDS);
    for (const client of new Set([
        ...Object.keys(args.clientSecurityGroupIds),
        ...Object.keys(args.clientRoleNames ?? {}),
        ...Object.keys(args.appClientRoleNames ?? {}),
    ])) {
        p.check("client key", client, K8S_NAME);
    }
    return p.list;
}

const DEFAULTS = {
    replicaCount: 2,
    replicaMultiAz: false,
    engineVersion: "8.4",
    allocatedStorageGiB: 200,
    maxAllocatedStorageGiB: 1000,
    backupRetentionDays: 14,
    monitoringIntervalSeconds: 60,
    recordTtlSeconds: 30,
} as const;

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
 * present here as a replica), which stays valid after a promotion (a promoted replica keeps
 * the user table it replicated); after the role flip in config, this region's own secret
 * becomes the credential (Pulumi sets it as the promoted writer's password).
 *
 * Both roles create the same resources under the same names, so a failover flips inputs,
 * never the resource set.
 */
export class DatabaseCluster extends PlatformComponent<DatabaseClusterArgs> {
    public readonly role: StackRole;
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
    /** The zone each replica is pinned to, in `replicaIdentifiers`' order; empty when the replicas are Multi-AZ (RDS places them). */
    public readonly replicaZones: string[];
    public readonly kmsKeyArn: pulumi.Output<string>;
    public readonly securityGroupId: pulumi.Output<string>;
    /** Secret clients read: the writer region's master secret (replicated into this region). */
    public readonly credentialsSecretName: string;
    /**
     * The secret clients read, in this region, as IAM matches it: its ARN as the writer, the
     * pattern `<name>-??????` (the suffix Secrets Manager adds) as the standby.
     */
    public readonly credentialsSecretArnPattern: pulumi.Output<string>;
    /** Secret the application reads: the writer region's application secret (replicated into this region). */
    public readonly appCredentialsSecretName: string;
    /** This region's own master secret (the credential after a promotion here). */
    public readonly masterSecretName: string;
    public readonly masterSecretArn: pulumi.Output<string>;
    public readonly privateZoneId: pulumi.Output<string>;
    /** What this region's writer replicates from: the derived writer ARN in `standby`, undefined in `writer`. */
    public readonly sourceDbArn: string | undefined;

    private readonly partition: string;
    private readonly writerId: string;

    constructor(name: string, args: DatabaseClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        // A bad argument registers nothing, not even the component.
        requireValidArgs("DatabaseCluster", name, databaseClusterArgsProblems(args));
        super("ecommerce:db:DatabaseCluster", name, args, opts);
        this.partition = args.partition ?? "aws";
        this.writerId = writerIdentifier(args.identifierBase, args.region);
        const standby = args.role === "standby";
        const replicaCount = args.replicaCount ?? DEFAULTS.replicaCount;
        const replicaIds = Array.from({ length: replicaCount }, (_, i) => replicaIdentifier(args.identifierBase, args.region, i + 1));
        const replicaMultiAz = args.replicaMultiAz ?? DEFAULTS.replicaMultiAz;
        const zonesOfReplicas = replicaMultiAz ? [] : replicaZones(replicaCount, args.zoneNames);
        const sourceArn = standby
            ? writerArn({
                  partition: this.partition,
                  accountId: args.accountId,
                  writerRegion: args.writerRegion,
                  identifierBase: args.identifierBase,
              })
            : undefined;

        const key = this.createKey();
        const { password, secret } = this.createMasterSecret(key);
        const appSecret = this.createAppSecret(key);
        const sg = this.createSecurityGroup();
        const common = this.instanceSettings(key, sg);
        const writer = this.createWriter(common, password, sourceArn);
        const replicas = replicaIds.map((identifier, i) =>
            this.createReplica(common, writer, identifier, i + 1, replicaMultiAz ? "multi-az" : zonesOfReplicas[i]),
        );
        this.storeCredentials(secret, password);
        const zone = this.createDnsNames(writer, replicas, replicaIds);
        const credentials = this.credentialsSecret(secret, key, credentialsSecretName);
        this.grantClients(credentials, this.args.clientRoleNames ?? {}, "credentials");
        const appCredentials = this.credentialsSecret(appSecret, key, appCredentialsSecretName);
        this.grantClients(appCredentials, this.args.appClientRoleNames ?? {}, "app-credentials");

        this.role = args.role;
        this.writerIdentifier = this.writerId;
        this.writerArn = writer.arn;
        this.writerAddress = writer.address;
        this.writerEndpointName = writerRecordName(args.privateZoneName);
        this.readerEndpointName = readerRecordName(args.privateZoneName);
        this.port = MYSQL_PORT;
        this.replicaIdentifiers = replicaIds;
        this.replicaZones = zonesOfReplicas;
        this.kmsKeyArn = key.arn;
        this.securityGroupId = sg.id;
        this.credentialsSecretName = credentials.name;
        this.credentialsSecretArnPattern = credentials.arnPattern;
        this.appCredentialsSecretName = appCredentials.name;
        this.masterSecretName = masterSecretName(args.secretNamePrefix, args.region);
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
            credentialsSecretArnPattern: this.credentialsSecretArnPattern,
            appCredentialsSecretName: this.appCredentialsSecretName,
            masterSecretName: this.masterSecretName,
            masterSecretArn: this.masterSecretArn,
            privateZoneId: this.privateZoneId,
            sourceDbArn: this.sourceDbArn,
        });
    }

    /** One key per region: a cross-region replica needs a key of its own region. */
    private createKey(): aws.kms.Key {
        const key = new aws.kms.Key(
            `${this.name}-key`,
            {
                description: `RDS MySQL ${this.writerId}: storage, Performance Insights and master secret`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AccountAdministersTheKey",
                            Effect: "Allow",
                            Principal: { AWS: `arn:${this.partition}:iam::${this.args.accountId}:root` },
                            Action: "kms:*",
                            Resource: "*",
                        },
                    ],
                }),
                tags: this.tagged(`${this.name}-key`),
            },
            { parent: this, protect: true },
        );
        new aws.kms.Alias(
            `${this.name}-key-alias`,
            { name: kmsAliasName(this.args.identifierBase, this.args.region), targetKeyId: key.keyId },
            { parent: this },
        );
        return key;
    }

    /** A generated password, kept in Secrets Manager and replicated to the peer region. */
    private createMasterSecret(key: aws.kms.Key): { password: random.RandomPassword; secret: aws.secretsmanager.Secret } {
        const password = new random.RandomPassword(
            `${this.name}-master-password`,
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
            { parent: this, protect: true },
        );
        const secretName = masterSecretName(this.args.secretNamePrefix, this.args.region);
        const secret = new aws.secretsmanager.Secret(
            `${this.name}-master-secret`,
            {
                name: secretName,
                description: `Master credentials of ${this.writerId} (MySQL). Replicated to ${this.args.peerRegion}.`,
                kmsKeyId: key.arn,
                recoveryWindowInDays: 30,
                // The replica is encrypted with aws/secretsmanager of the peer region: this stack
                // must not depend on a key that only the peer stack creates.
                replicas: [{ region: this.args.peerRegion }],
                tags: this.tagged(secretName),
            },
            { parent: this, protect: true },
        );
        return { password, secret };
    }

    /**
     * The application's account: a generated password in `<prefix>/<region>/mysql-app`
     * (replicated to the peer region). The writer agent creates the account from it, locked,
     * and opens it only while its region holds the writer lease (failover/agent/fence.ts).
     */
    private createAppSecret(key: aws.kms.Key): aws.secretsmanager.Secret {
        const password = new random.RandomPassword(
            `${this.name}-app-password`,
            // Letters and digits: the agent quotes it into CREATE USER, and no client must escape it.
            { length: 40, special: false, minLower: 1, minUpper: 1, minNumeric: 1 },
            { parent: this, protect: true },
        );
        const secretName = appSecretName(this.args.secretNamePrefix, this.args.region);
        const secret = new aws.secretsmanager.Secret(
            `${this.name}-app-secret`,
            {
                name: secretName,
                description: `The application's account on ${this.writerId} (MySQL), fenced by the writer lease. Replicated to ${this.args.peerRegion}.`,
                kmsKeyId: key.arn,
                recoveryWindowInDays: 30,
                replicas: [{ region: this.args.peerRegion }],
                tags: this.tagged(secretName),
            },
            { parent: this, protect: true },
        );
        new aws.secretsmanager.SecretVersion(
            `${this.name}-app-secret`,
            {
                secretId: secret.id,
                secretString: pulumi.secret(
                    pulumi.jsonStringify({
                        username: APP_DB_USER,
                        password: password.result,
                        engine: "mysql",
                        host: writerRecordName(this.args.privateZoneName),
                        port: MYSQL_PORT,
                        dbname: this.args.dbName,
                    }),
                ),
            },
            { parent: this, protect: true },
        );
        return secret;
    }

    /** The subnet group, and a security group admitting each client on 3306. */
    private createSecurityGroup(): aws.ec2.SecurityGroup {
        const sg = new aws.ec2.SecurityGroup(
            `${this.name}-sg`,
            {
                vpcId: this.args.vpcId,
                description: `MySQL ${this.writerId}: ${MYSQL_PORT} from the client security groups only`,
                tags: this.tagged(`${this.name}-sg`),
            },
            { parent: this },
        );
        for (const [client, groupId] of Object.entries(this.args.clientSecurityGroupIds)) {
            const ruleName = `${this.name}-mysql-from-${client}`;
            new aws.vpc.SecurityGroupIngressRule(
                ruleName,
                {
                    securityGroupId: sg.id,
                    referencedSecurityGroupId: groupId,
                    ipProtocol: "tcp",
                    fromPort: MYSQL_PORT,
                    toPort: MYSQL_PORT,
                    description: `MySQL from the ${client} tier`,
                    tags: this.tagged(ruleName),
                },
                { parent: this },
            );
        }
        return sg;
    }

    /** Settings every instance shares: engine, storage, encryption, network, monitoring. */
    private instanceSettings(key: aws.kms.Key, sg: aws.ec2.SecurityGroup) {
        const performanceInsights = this.args.performanceInsightsEnabled ?? true;
        const monitoringInterval = this.args.monitoringIntervalSeconds ?? DEFAULTS.monitoringIntervalSeconds;
        const engineVersion = this.args.engineVersion ?? DEFAULTS.engineVersion;
        const params = new aws.rds.ParameterGroup(
            `${this.name}-params`,
            {
                family: parameterGroupFamily(engineVersion),
                description: `MySQL settings of ${this.args.identifierBase}: TLS only, slow query log, row binlog, GTIDs`,
                parameters: MYSQL_PARAMETERS.map((p) => ({ ...p })),
                tags: this.tagged(`${this.name}-params`),
            },
            { parent: this },
        );
        return {
            engine: "mysql",
            engineVersion,
            instanceClass: this.args.instanceClass,
            engineLifecycleSupport: "open-source-rds-extended-support-disabled",
            autoMinorVersionUpgrade: true,
            allowMajorVersionUpgrade: false,
            storageType: "gp3",
            storageEncrypted: true,
            kmsKeyId: key.arn,
            maxAllocatedStorage: this.args.maxAllocatedStorageGiB ?? DEFAULTS.maxAllocatedStorageGiB,
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
            monitoringRoleArn: monitoringInterval > 0 ? this.createMonitoringRole() : undefined,
        };
    }

    /** Enhanced Monitoring's role; the instances use it only once it may act. */
    private createMonitoringRole(): pulumi.Output<string> {
        const role = new aws.iam.Role(
            `${this.name}-monitoring`,
            {
                description: `Enhanced Monitoring of ${this.writerId} and its replicas`,
                assumeRolePolicy: serviceTrustPolicy("monitoring.rds.amazonaws.com"),
                tags: this.tagged(`${this.name}-monitoring`),
            },
            { parent: this },
        );
        const attachment = new aws.iam.RolePolicyAttachment(
            `${this.name}-monitoring`,
            { role: role.name, policyArn: `arn:${this.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole` },
            { parent: this },
        );
        return pulumi.all([role.arn, attachment.id]).apply(([roleArn]) => roleArn);
    }

    /**
     * The writer. Multi-AZ: RDS picks its zone and its standby's, so no availabilityZone. In
     * `standby` it is a cross-region replica of the writer region's writer, by derived ARN.
     */
    private createWriter(
        common: ReturnType<DatabaseCluster["instanceSettings"]>,
        password: random.RandomPassword,
        sourceArn: string | undefined,
    ): aws.rds.Instance {
        const subnetGroup = new aws.rds.SubnetGroup(
            `${this.name}-subnets`,
            {
                description: `Data subnets of ${this.writerId} and its replicas`,
                subnetIds: this.args.subnetIds,
                tags: this.tagged(`${this.name}-subnets`),
            },
            { parent: this },
        );
        return new aws.rds.Instance(
            `${this.name}-writer`,
            {
                ...common,
                identifier: this.writerId,
                multiAz: this.args.multiAz ?? true,
                // A cross-region replica must name its subnet group (else: the default VPC).
                dbSubnetGroupName: subnetGroup.name,
                backupRetentionPeriod: this.args.backupRetentionDays ?? DEFAULTS.backupRetentionDays,
                deleteAutomatedBackups: false,
                ...(sourceArn !== undefined
                    ? {
                          // Its storage is encrypted with this region's key. RDS refuses a final
                          // snapshot of a replica; its retained automated backups stay.
                          replicateSourceDb: sourceArn,
                          skipFinalSnapshot: true,
                      }
                    : {
                          allocatedStorage: this.args.allocatedStorageGiB ?? DEFAULTS.allocatedStorageGiB,
                          dbName: this.args.dbName,
                          username: this.args.masterUsername,
                          password: pulumi.secret(password.result),
                          skipFinalSnapshot: false,
                          finalSnapshotIdentifier: finalSnapshotIdentifier(this.writerId),
                      }),
                tags: this.tagged(this.writerId),
            },
            // Create-only settings that a role flip adds or removes: never replace a database over them.
            { parent: this, protect: true, ignoreChanges: ["username", "dbName"] },
        );
    }

    /**
     * A same-region replica of the writer, by identifier (cascaded in `standby`), pinned to a
     * zone, or Multi-AZ and placed by RDS (`"multi-az"`: RDS refuses an AvailabilityZone with
     * MultiAZ); it inherits the writer's subnet group and keeps no backups of its own.
     */
    private createReplica(
        common: ReturnType<DatabaseCluster["instanceSettings"]>,
        writer: aws.rds.Instance,
        identifier: string,
        n: number,
        placement: string,
    ): aws.rds.Instance {
        const multiAz = placement === "multi-az";
        return new aws.rds.Instance(
            `${this.name}-replica-${n}`,
            {
                ...common,
                identifier,
                replicateSourceDb: writer.identifier,
                availabilityZone: multiAz ? undefined : placement,
                multiAz,
                backupRetentionPeriod: 0,
                skipFinalSnapshot: true,
                tags: this.tagged(identifier),
            },
            { parent: this, protect: true },
        );
    }

    /**
     * The credentials document. `host` is the private DNS name, not the RDS address: the secret
     * is replicated to the peer region, where the same name resolves to that region's writer,
     * and it follows a promotion. (Clients that verify the server's identity in TLS use
     * writerAddress.)
     */
    private storeCredentials(secret: aws.secretsmanager.Secret, password: random.RandomPassword): void {
        new aws.secretsmanager.SecretVersion(
            `${this.name}-master-secret`,
            {
                secretId: secret.id,
                secretString: pulumi.secret(
                    pulumi.jsonStringify({
                        username: this.args.masterUsername,
                        password: password.result,
                        engine: "mysql",
                        host: writerRecordName(this.args.privateZoneName),
                        port: MYSQL_PORT,
                        dbname: this.args.dbName,
                        dbInstanceIdentifier: this.writerId,
                    }),
                ),
            },
            { parent: this, protect: true },
        );
    }

    /** Private DNS: stable names for the writer and for load-balanced reads. */
    private createDnsNames(
        writer: aws.rds.Instance,
        replicas: readonly aws.rds.Instance[],
        replicaIds: readonly string[],
    ): aws.route53.Zone {
        const ttl = this.args.recordTtlSeconds ?? DEFAULTS.recordTtlSeconds;
        const readerName = readerRecordName(this.args.privateZoneName);
        const zone = new aws.route53.Zone(
            `${this.name}-zone`,
            {
                name: this.args.privateZoneName,
                comment: `Database names of ${this.args.region} (writer, reader)`,
                vpcs: [{ vpcId: this.args.vpcId }],
                tags: this.tagged(`${this.name}-zone`),
            },
            { parent: this },
        );
        const record = (suffix: string, recordArgs: Omit<aws.route53.RecordArgs, "zoneId" | "type" | "ttl">) =>
            new aws.route53.Record(`${this.name}-${suffix}`, { zoneId: zone.zoneId, type: "CNAME", ttl, ...recordArgs }, { parent: this });
        record("writer", { name: writerRecordName(this.args.privateZoneName), records: [writer.address] });
        if (replicas.length === 0) {
            record("reader", { name: readerName, records: [writer.address] });
        }
        replicas.forEach((replica, i) => {
            record(`reader-${i + 1}`, {
                name: readerName,
                setIdentifier: replicaIds[i],
                weightedRoutingPolicies: [{ weight: 100 }],
                records: [replica.address],
            });
        });
        return zone;
    }

    /**
     * The secret clients read, in this region. As the writer: this region's own secret,
     * encrypted with the database key. As the standby: the replica of the writer region's
     * secret, which Secrets Manager keeps in this region under the same name and suffix, with
     * the AWS managed key aws/secretsmanager (no key grant needed); its ARN is not known to
     * this stack, so grants match the six characters Secrets Manager appends (`-??????`, as
     * its user guide recommends for ARNs in policies).
     */
    private credentialsSecret(
        ownSecret: aws.secretsmanager.Secret,
        key: aws.kms.Key,
        nameOf: (prefix: string, writerRegion: string) => string,
    ): { name: string; arnPattern: pulumi.Output<string>; kmsKeyArn?: pulumi.Output<string> } {
        const name = nameOf(this.args.secretNamePrefix, this.args.writerRegion);
        if (this.args.role === "writer") {
            return { name, arnPattern: ownSecret.arn, kmsKeyArn: key.arn };
        }
        return {
            name,
            arnPattern: pulumi.output(
                `arn:${this.partition}:secretsmanager:${this.args.region}:${this.args.accountId}:secret:${name}-??????`,
            ),
        };
    }

    /** Each role may read its secret, and nothing else: `<name>-<what>-to-<client>`. */
    private grantClients(
        credentials: { arnPattern: pulumi.Output<string>; kmsKeyArn?: pulumi.Output<string> },
        roles: Readonly<Record<string, pulumi.Input<string>>>,
        what: string,
    ): void {
        const policy = pulumi
            .all([credentials.arnPattern, credentials.kmsKeyArn])
            .apply(([arn, kmsKeyArn]) => JSON.stringify(readSecretPolicy("ReadDatabaseCredentials", arn, kmsKeyArn)));
        for (const [client, roleName] of Object.entries(roles)) {
            new aws.iam.RolePolicy(`${this.name}-${what}-to-${client}`, { role: roleName, policy }, { parent: this });
        }
    }
}
