/**
 * The database's backups: immutable, encrypted copies in regions that are neither the site's
 * nor each other's, and (while the site is the writer) its RDS automated backups replicated
 * away from it. The backup buckets are the S3 buckets marked Tier=db.
 */
import type { PolicyResource } from "@pulumi/policy";
import { configOf, dependenciesOf, regionOf, siteRole, stackPolicy, tierOf } from "./kit";

const BUCKET = "aws:s3/bucket:Bucket";
const REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication";

interface BackupConfig {
    /** Backup regions each site needs, other than its own. */
    readonly minRegions: number;
}
const DEFAULT_BACKUPS: BackupConfig = { minRegions: 2 };

function settingsOf(resources: readonly PolicyResource[], type: string, bucket: PolicyResource): PolicyResource[] {
    return resources.filter((r) => r.type === type && dependenciesOf(r, "bucket").some((b) => b.urn === bucket.urn));
}

/** The site's own region: its database writer's. */
function siteRegion(resources: readonly PolicyResource[]): string | undefined {
    const writer = resources.find((r) => r.type === "aws:rds/instance:Instance" && r.name === "db-writer");
    return writer === undefined ? undefined : regionOf(writer);
}

export const backupBucketsElsewhere = stackPolicy({
    name: "backup-buckets-elsewhere",
    description:
        "The database backups are in buckets of at least two regions other than the site's, each created with Object Lock (with a default " +
        "retention), versioned, and encrypted with a KMS key of its own region.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { minRegions: { type: "integer", minimum: 1, default: DEFAULT_BACKUPS.minRegions } } },
    validate: (args, report) => {
        const { minRegions } = configOf<BackupConfig>(args, DEFAULT_BACKUPS);
        const home = siteRegion(args.resources);
        const buckets = args.resources.filter((r) => r.type === BUCKET && tierOf(r.props) === "db");
        const good = new Set<string>();
        for (const bucket of buckets) {
            const region = regionOf(bucket);
            const problems: string[] = [];
            if (bucket.props.objectLockEnabled !== true) {
                problems.push("not created with Object Lock (it can only be turned on at creation)");
            }
            const locks = settingsOf(args.resources, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", bucket);
            if (!locks.some((l) => ["GOVERNANCE", "COMPLIANCE"].includes(l.props.rule?.defaultRetention?.mode))) {
                problems.push("no default Object Lock retention");
            }
            const versioning = settingsOf(args.resources, "aws:s3/bucketVersioning:BucketVersioning", bucket);
            if (!versioning.some((v) => v.props.versioningConfiguration?.status === "Enabled")) {
                problems.push("versioning not enabled");
            }
            const sse = settingsOf(
                args.resources,
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                bucket,
            );
            const keys = sse.flatMap((c) => dependenciesOf(c, "rules")).filter((k) => k.type === "aws:kms/key:Key");
            const kms = sse.some((c) =>
                (Array.isArray(c.props.rules) ? c.props.rules : []).some(
                    (x: any) => x?.applyServerSideEncryptionByDefault?.sseAlgorithm === "aws:kms",
                ),
            );
            if (!kms || keys.length === 0) {
                problems.push("not encrypted with a customer KMS key");
            } else if (keys.some((k) => regionOf(k) !== region)) {
                problems.push(`its KMS key is not in the bucket's region ${region} (S3 refuses a key of another region)`);
            }
            if (region === home) {
                problems.push(`it is in the site's own region ${home}: a backup must survive the loss of the region`);
            }
            if (problems.length > 0) {
                report(`backup bucket ${bucket.name} (${region}): ${problems.join("; ")}`, bucket.urn);
            } else if (region !== undefined) {
                good.add(region);
            }
        }
        if (good.size < minRegions) {
            report(
                `the database backups are in ${good.size} region(s) other than ${home ?? "the site's"} with Object Lock, versioning and KMS ` +
                    `(${[...good].join(", ") || "none"}); at least ${minRegions} are required`,
            );
        }
        return buckets.length;
    },
});

export const rdsBackupsReplicated = stackPolicy({
    name: "rds-backups-replicated",
    description:
        "While the site is the writer, its RDS writer's automated backups are replicated to another region (point-in-time restore without " +
        "the site's region); the standby's writer is a replica and replicates none.",
    enforcementLevel: "mandatory",
    validate: (args, report) => {
        const role = siteRole(args.resources);
        const writer = args.resources.find((r) => r.type === "aws:rds/instance:Instance" && r.name === "db-writer");
        const replications = args.resources.filter((r) => r.type === REPLICATION);
        if (writer === undefined) {
            return 0;
        }
        const ofWriter = replications.filter((r) => dependenciesOf(r, "sourceDbInstanceArn").some((d) => d.urn === writer.urn));
        if (role === "writer" && ofWriter.length === 0) {
            report(
                "the writer's automated backups are not replicated to another region (aws.rds.InstanceAutomatedBackupsReplication)",
                writer.urn,
            );
        }
        for (const r of ofWriter.filter((x) => regionOf(x) === regionOf(writer))) {
            report(`${r.name} replicates the writer's backups into its own region ${regionOf(writer)}: choose a backup region`, r.urn);
        }
        if (role === "standby") {
            for (const r of replications) {
                report(`${r.name}: the standby's writer is a read replica; replicate backups from the writer site only`, r.urn);
            }
        }
        return 1 + replications.length;
    },
});
