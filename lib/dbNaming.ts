/**
 * Names of the database tier, known before anything is deployed. Pure functions.
 *
 * The identifiers are deterministic on purpose: the standby stack derives the writer's ARN
 * from the account, the writer region and the identifier base, so it never has to read the
 * other stack's state (which lives in the other region, and may be unreachable).
 */
import { spreadOverZones } from "./placement";
import { ACCOUNT_ID, REGION_NAME } from "./rules";

/** MySQL's port: the database listens on it, its clients and probes reach it there. */
export const MYSQL_PORT = 3306;

/** RDS DB instance identifiers: letter first, letters/digits/hyphens, no `--`, no trailing `-`, at most 63. */
const RDS_IDENTIFIER = /^[a-z](?!.*--)[a-z0-9-]{0,62}$/;
const PARTITIONS = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];

/** Throws, naming `what`, unless `region` has the shape of an AWS region name. */
export function requireRegion(what: string, region: string): void {
    if (!REGION_NAME.accepts(region)) {
        throw new Error(`${what}: "${region}" is not an AWS region name like us-east-2`);
    }
}

function requireIdentifier(what: string, identifier: string): string {
    if (!RDS_IDENTIFIER.test(identifier) || identifier.endsWith("-")) {
        throw new Error(
            `${what}: "${identifier}" (${identifier.length} characters) is not a valid RDS instance identifier: ` +
                "1-63 lowercase letters, digits and single hyphens, starting with a letter, not ending with a hyphen " +
                "(shorten ecommerce:dbIdentifier)",
        );
    }
    return identifier;
}

/** The writer of `region`: `<base>-<region>`, e.g. `ecommerce-mysql-us-east-2`. */
export function writerIdentifier(base: string, region: string): string {
    requireRegion("writerIdentifier", region);
    return requireIdentifier("writerIdentifier", `${base}-${region}`);
}

/** Read replica `n` (from 1) of `region`'s writer: `<base>-<region>-replica-<n>`. */
export function replicaIdentifier(base: string, region: string, n: number): string {
    if (!Number.isInteger(n) || n < 1) {
        throw new Error(`replicaIdentifier: replica number ${n} is not an integer from 1`);
    }
    requireRegion("replicaIdentifier", region);
    return requireIdentifier("replicaIdentifier", `${base}-${region}-replica-${n}`);
}

export interface WriterArnArgs {
    /** `aws`, `aws-cn`, `aws-us-gov`, ... */
    readonly partition: string;
    readonly accountId: string;
    /** The region whose stack holds the writer. */
    readonly writerRegion: string;
    /** Base of the identifiers (ecommerce:dbIdentifier). */
    readonly identifierBase: string;
}

/**
 * ARN of the writer region's writer, derived (not looked up): what the standby region's
 * writer replicates from. `arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2`.
 */
export function writerArn(a: WriterArnArgs): string {
    if (!PARTITIONS.includes(a.partition)) {
        throw new Error(`writerArn: partition "${a.partition}" is not an AWS partition (${PARTITIONS.join(", ")})`);
    }
    if (!ACCOUNT_ID.accepts(a.accountId)) {
        throw new Error(`writerArn: account "${a.accountId}" is not a 12-digit AWS account ID`);
    }
    return `arn:${a.partition}:rds:${a.writerRegion}:${a.accountId}:db:${writerIdentifier(a.identifierBase, a.writerRegion)}`;
}

/** Name of the snapshot RDS takes when the writer is deleted. */
export function finalSnapshotIdentifier(identifier: string): string {
    return requireIdentifier("finalSnapshotIdentifier", identifier).concat("-final");
}

/**
 * Secrets Manager name of a region's master credentials: `<prefix>/<region>/mysql-master`.
 * Each region's stack owns its own secret and replicates it to the peer region, so the
 * names never collide.
 */
export function masterSecretName(prefix: string, region: string): string {
    requireRegion("masterSecretName", region);
    if (!/^[\w+=.@-]+(\/[\w+=.@-]+)*$/.test(prefix)) {
        throw new Error(`masterSecretName: prefix "${prefix}" may hold only letters, digits, /_+=.@- and no empty path segment`);
    }
    return `${prefix}/${region}/mysql-master`;
}

/**
 * The secret applications read, in any region: the writer region's master secret (in the
 * standby region, Secrets Manager's replica of it), the credential that stays valid when the
 * standby's replica is promoted. One home for the app's setting and the grant that allows it.
 */
export function credentialsSecretName(prefix: string, writerRegion: string): string {
    return masterSecretName(prefix, writerRegion);
}

/** The application account's secret of a region (failover/agent/fence.ts creates the account): `<prefix>/<region>/mysql-app`. */
export function appSecretName(prefix: string, region: string): string {
    return masterSecretName(prefix, region).replace(/mysql-master$/, "mysql-app");
}

/**
 * The secret the application reads, in any region: the writer region's application secret
 * (replicated into the peer region), for the account the writer's agent created and the
 * replica holds too. The writer lease's fence locks this account out, never the master user.
 */
export function appCredentialsSecretName(prefix: string, writerRegion: string): string {
    return appSecretName(prefix, writerRegion);
}

/** KMS alias of a region's database key: `alias/<base>-<region>`. */
export function kmsAliasName(base: string, region: string): string {
    return `alias/${writerIdentifier(base, region)}`;
}

/** `writer.<zone>`: always the region's writer (read-only while the region is the standby). */
export function writerRecordName(zone: string): string {
    return `writer.${zone}`;
}

/** `reader.<zone>`: weighted over the region's read replicas. */
export function readerRecordName(zone: string): string {
    return `reader.${zone}`;
}

/** RDS parameter group family of a MySQL version: `8.4` and `8.4.7` -> `mysql8.4`. */
export function parameterGroupFamily(engineVersion: string): string {
    const match = /^(\d+)\.(\d+)(\.\d+)?$/.exec(engineVersion);
    if (!match) {
        throw new Error(`parameterGroupFamily: "${engineVersion}" is not a MySQL version such as 8.4 or 8.4.7`);
    }
    return `mysql${match[1]}.${match[2]}`;
}

/**
 * Zone names of `count` replicas over the region's zones (in config order), round-robin:
 * distinct zones while count <= zones. RDS places instances by zone name.
 */
export function replicaZones(count: number, zoneNames: readonly string[]): string[] {
    return spreadOverZones(count, zoneNames.length).map((i) => zoneNames[i]);
}
