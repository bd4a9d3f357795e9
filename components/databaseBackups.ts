import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { backupBucketName, backupKeyAlias } from "../lib/backupNaming";
import type { BackupSettings, StackRole } from "../lib/config";
import { AWS_REGION, oneOf, Problems, PROJECT_NAME, requireValidArgs, STACK_ROLE } from "../lib/rules";
import type { Tags } from "../lib/tags";
import { BACKUP_METRIC_DIMENSION, BACKUP_METRIC_NAMESPACE, BACKUP_METRICS } from "../backup/metrics";
import { PlatformComponent } from "./platformComponent";

export interface DatabaseBackupsArgs extends Omit<BackupSettings, "schedule" | "maxAgeHours" | "image"> {
    readonly project: string;
    /** The site's region: the backups' source. */
    readonly region: string;
    readonly role: StackRole;
    readonly accountId: string;
    readonly partition: string;
    /** The site's writer (its automated backups are replicated while this site is the writer). */
    readonly writerArn: pulumi.Input<string>;
    /** Roles that write and read the backups (the backup job's): granted the buckets and their keys, nothing else. */
    readonly writerRoleNames?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Where the alarm on missing backups goes. */
    readonly alarmTopicArn?: pulumi.Input<string>;
    /** The backup RPO: the alarm fires when no backup completed for this long. */
    readonly maxAgeHours: number;
    /** The database whose backups the alarm watches (the metric's dimension). */
    readonly database: string;
    readonly tags?: Tags;
}

export interface BackupBucket {
    readonly region: string;
    readonly bucket: pulumi.Output<string>;
    readonly arn: pulumi.Output<string>;
    readonly kmsKeyArn: pulumi.Output<string>;
}

function backupArgsProblems(a: DatabaseBackupsArgs): string[] {
    const p = new Problems();
    p.check("project", a.project, PROJECT_NAME);
    p.check("region", a.region, AWS_REGION);
    p.check("role", a.role, STACK_ROLE);
    p.check("objectLockMode", a.objectLockMode, oneOf(["GOVERNANCE", "COMPLIANCE"]));
    a.regions.forEach((r, i) => p.check(`regions[${i}]`, r, AWS_REGION));
    if (a.regions.length < 2) {
        p.reject("regions", a.regions, "at least two backup regions");
    }
    if (a.regions.includes(a.region)) {
        p.reject("regions", a.regions, `regions other than the source region ${a.region}`);
    }
    if (a.expirationDays < a.retentionDays) {
        p.reject("expirationDays", a.expirationDays, `at least retentionDays (${a.retentionDays})`);
    }
    return p.list;
}

/**
 * The database's backups away from both sites: in every backup region, a KMS key and an S3
 * bucket for the logical dumps (backup/), immutable under Object Lock; and, while this site is
 * the writer, its RDS automated backups replicated to the first backup region for
 * point-in-time restore.
 *
 * AWS's rules, checked here or in the mocks, with their sources:
 * - Object Lock can only be turned on when the bucket is created (`objectLockEnabled`; turning
 *   it on later replaces the bucket: terraform-provider-aws#36529). It turns versioning on and
 *   neither can be turned off again. Default retention is BucketObjectLockConfiguration.
 * - SSE-KMS needs a key in the bucket's own region (S3 user guide, UsingKMSEncryption).
 * - Uploads into an Object Lock bucket need a checksum or Content-MD5 (PutObject reference):
 *   backup/store.ts sends SHA-256.
 * - Lifecycle cannot delete a locked version before its retention ends: expiration is refused
 *   below the retention (lib/config.ts).
 * - RDS backup replication is created in the destination region, with a KMS key there
 *   ("Encrypted instances require a valid KMS key ID"); its source needs backups on (the
 *   writer keeps them 14 days). A read replica as its source is not documented, so the
 *   standby site (whose writer is a replica) replicates nothing until it becomes the writer.
 */
export class DatabaseBackups extends PlatformComponent<DatabaseBackupsArgs> {
    public readonly buckets: BackupBucket[];
    /** The region the writer's automated backups go to, while this site is the writer. */
    public readonly replicationRegion?: string;

    constructor(name: string, args: DatabaseBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        requireValidArgs("DatabaseBackups", name, backupArgsProblems(args));
        super("ecommerce:backups:DatabaseBackups", name, args, opts);
        this.buckets = args.regions.map((region) => this.createBucket(region));
        if (args.role === "writer") {
            this.replicationRegion = args.regions[0];
            this.replicateAutomatedBackups(this.buckets[0]);
        }
        this.grantWriters();
        this.alarmOnMissingBackups();
        this.registerOutputs({
            buckets: this.buckets.map((b) => ({ region: b.region, bucket: b.bucket })),
            replicationRegion: this.replicationRegion,
        });
    }

    private createBucket(region: string): BackupBucket {
        const a = this.args;
        const base = `${this.name}-${region}`;
        // Every resource of a backup region names it: the provider's region stays the site's.
        const key = new aws.kms.Key(
            `${base}-key`,
            {
                region,
                description: `Database backups of ${a.region}, kept in ${region}`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                tags: this.tagged(`${base}-key`),
            },
            { parent: this, protect: true },
        );
        new aws.kms.Alias(
            `${base}-key-alias`,
            { region, name: backupKeyAlias(a.project, a.region), targetKeyId: key.keyId },
            { parent: this },
        );
        const name = backupBucketName(a.project, a.accountId, a.region, region);
        const bucket = new aws.s3.Bucket(
            base,
            { region, bucket: name, objectLockEnabled: true, forceDestroy: false, tags: this.tagged(base) },
            { parent: this, protect: true },
        );
        const on = { bucket: bucket.id, region };
        const versioning = new aws.s3.BucketVersioning(base, { ...on, versioningConfiguration: { status: "Enabled" } }, { parent: this });
        new aws.s3.BucketObjectLockConfiguration(
            base,
            { ...on, rule: { defaultRetention: { mode: a.objectLockMode, days: a.retentionDays } } },
            { parent: this, dependsOn: [versioning] },
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            base,
            {
                ...on,
                rules: [
                    { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn }, bucketKeyEnabled: true },
                ],
            },
            { parent: this },
        );
        new aws.s3.BucketPublicAccessBlock(
            base,
            { ...on, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            { parent: this },
        );
        new aws.s3.BucketOwnershipControls(base, { ...on, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: this });
        new aws.s3.BucketPolicy(
            base,
            {
                ...on,
                policy: bucket.arn.apply((arn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Sid: "TlsOnly",
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
            { parent: this },
        );
        new aws.s3.BucketLifecycleConfiguration(
            base,
            {
                ...on,
                rules: [
                    {
                        id: "backups",
                        status: "Enabled",
                        filter: { prefix: "" },
                        transitions: [{ days: a.transitionDays, storageClass: "GLACIER_IR" }],
                        // A current version past this age gets a delete marker; the version itself goes
                        // a day later, once its Object Lock retention (shorter, lib/config.ts) is over.
                        expiration: { days: a.expirationDays },
                        noncurrentVersionExpiration: { noncurrentDays: 1 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
                    },
                    { id: "delete-markers", status: "Enabled", filter: { prefix: "" }, expiration: { expiredObjectDeleteMarker: true } },
                ],
            },
            { parent: this, dependsOn: [versioning] },
        );
        return { region, bucket: bucket.bucket, arn: bucket.arn, kmsKeyArn: key.arn };
    }

    /**
     * The backup job's role: list, put and get objects in the backup buckets, through their
     * keys (SSE-KMS writes need GenerateDataKey, reads Decrypt, and only via S3 in the key's
     * region). No delete, no retention or legal-hold change, no bypass of governance mode.
     */
    private grantWriters(): void {
        const policy = pulumi
            .all(this.buckets.map((b) => pulumi.all([b.arn, b.kmsKeyArn]).apply(([arn, key]) => ({ region: b.region, arn, key }))))
            .apply((buckets) =>
                JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Sid: "ListBackups", Effect: "Allow", Action: "s3:ListBucket", Resource: buckets.map((b) => b.arn) },
                        {
                            Sid: "WriteAndReadBackups",
                            Effect: "Allow",
                            // AbortMultipartUpload: a failed upload cleans up after itself (lib-storage aborts it).
                            Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                            Resource: buckets.map((b) => `${b.arn}/*`),
                        },
                        ...buckets.map((b, i) => ({
                            Sid: `BackupKey${i + 1}`,
                            Effect: "Allow",
                            Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                            Resource: b.key,
                            Condition: { StringEquals: { "kms:ViaService": `s3.${b.region}.amazonaws.com` } },
                        })),
                    ],
                }),
            );
        for (const [who, roleName] of Object.entries(this.args.writerRoleNames ?? {})) {
            new aws.iam.RolePolicy(`${this.name}-to-${who}`, { role: roleName, policy }, { parent: this });
        }
    }

    /**
     * No completed backup in ceil(`maxAgeHours` / 24) days: an alarm in the site's region on
     * the metric the job publishes (backup/metrics.ts). No data is a breach: a job that never
     * runs alarms too. CloudWatch allows periods x evaluation periods of at most 7 days.
     */
    private alarmOnMissingBackups(): void {
        const periods = Math.ceil(this.args.maxAgeHours / 24);
        if (periods < 1 || periods > 7) {
            throw new Error(
                `DatabaseBackups ${this.name}: maxAgeHours ${this.args.maxAgeHours}: expected 1 to 168 hours (CloudWatch evaluates at most 7 days)`,
            );
        }
        new aws.cloudwatch.MetricAlarm(
            `${this.name}-missing`,
            {
                alarmDescription: `No database backup of ${this.args.database} completed in ${periods * 24} h (backup RPO ${this.args.maxAgeHours} h): npm run backup -- verify, and the job's logs.`,
                namespace: BACKUP_METRIC_NAMESPACE,
                metricName: BACKUP_METRICS.completed,
                dimensions: { [BACKUP_METRIC_DIMENSION]: this.args.database },
                statistic: "Sum",
                // CloudWatch evaluates at most one day per period.
                period: 86400,
                evaluationPeriods: periods,
                comparisonOperator: "LessThanThreshold",
                threshold: 1,
                treatMissingData: "breaching",
                alarmActions: this.args.alarmTopicArn ? [this.args.alarmTopicArn] : [],
                okActions: this.args.alarmTopicArn ? [this.args.alarmTopicArn] : [],
                tags: this.tagged(`${this.name}-missing`),
            },
            { parent: this },
        );
    }

    private replicateAutomatedBackups(destination: BackupBucket): void {
        new aws.rds.InstanceAutomatedBackupsReplication(
            `${this.name}-rds-replication`,
            {
                region: destination.region,
                sourceDbInstanceArn: this.args.writerArn,
                kmsKeyId: destination.kmsKeyArn,
                retentionPeriod: this.args.replicationRetentionDays,
            },
            { parent: this },
        );
    }
}
