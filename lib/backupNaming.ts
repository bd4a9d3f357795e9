/**
 * Where the database backups live, known to both stacks and to the backup CLI without reading
 * any stack's state: one bucket per (source region, backup region), named from the account and
 * the two regions. Pure functions.
 */
import { requireRegion } from "./dbNaming";
import { ACCOUNT_ID } from "./rules";

/** S3 bucket names: 3-63 characters, lowercase letters, digits, hyphens. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** `<project>-db-backups-<account>-<source region>-<backup region>`, e.g. `ecommerce-db-backups-123456789012-us-east-2-us-west-2`. */
export function backupBucketName(project: string, accountId: string, sourceRegion: string, backupRegion: string): string {
    if (!ACCOUNT_ID.accepts(accountId)) {
        throw new Error(`backupBucketName: account "${accountId}" is not a 12-digit AWS account ID`);
    }
    requireRegion("backupBucketName", sourceRegion);
    requireRegion("backupBucketName", backupRegion);
    const name = `${project}-db-backups-${accountId}-${sourceRegion}-${backupRegion}`;
    if (!BUCKET_NAME.test(name)) {
        throw new Error(
            `backupBucketName: "${name}" (${name.length} characters) is not a valid S3 bucket name (3-63 lowercase letters, digits, hyphens): shorten the project name`,
        );
    }
    return name;
}

/** KMS alias of the backup key in a backup region, per source region: `alias/<project>-db-backups-<source region>`. */
export function backupKeyAlias(project: string, sourceRegion: string): string {
    requireRegion("backupKeyAlias", sourceRegion);
    return `alias/${project}-db-backups-${sourceRegion}`;
}

/** A plain MySQL database name (no quoting needed): what backups and restores accept. */
export const DATABASE_NAME = /^[A-Za-z0-9_$]{1,64}$/;
/** A backup ID: its UTC start to the second. */
export const BACKUP_ID = /^\d{8}T\d{6}Z$/;

/** The manifest's name in a backup's prefix (present: the backup is complete). */
export const MANIFEST_OBJECT = "manifest.json";

/** The objects of one backup: `<database>/<id>/dump.sql.gz`, its `.sha256` and `manifest.json`. */
export function backupObjectKeys(database: string, id: string): { dump: string; checksum: string; manifest: string } {
    if (!DATABASE_NAME.test(database)) {
        throw new Error(`backupObjectKeys: database "${database}" is not a plain MySQL database name`);
    }
    if (!BACKUP_ID.test(id)) {
        throw new Error(`backupObjectKeys: backup id "${id}" is not a UTC timestamp like 20261130T031700Z`);
    }
    const prefix = `${database}/${id}`;
    return { dump: `${prefix}/dump.sql.gz`, checksum: `${prefix}/dump.sql.gz.sha256`, manifest: `${prefix}/${MANIFEST_OBJECT}` };
}

/** The backup ID of a moment: its UTC time to the second, `20261130T031700Z` (sorts as it ages). */
export function backupId(at: Date): string {
    return at
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}Z$/, "Z");
}

/** The moment a backup ID names. */
export function backupTime(id: string): Date {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(id);
    if (!m) {
        throw new Error(`backupTime: "${id}" is not a backup ID like 20261130T031700Z`);
    }
    return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}
