/**
 * What a flip of ecommerce:writerRegion does to a stack, read from two recorded runs of the
 * same stack (before and after the flip): every input that changes, and for data-bearing
 * resources what the provider would do with the change. Mocks cannot see the provider's
 * diff, so the replace-only inputs are listed here from the provider's schema.
 */
import { PROTECTED_TYPES } from "../policies/kit";
import type { RecordedResource, StackRun } from "./run";

export interface ReplaceOnly {
    /** Inputs a change of which replaces the resource (the provider's ForceNew). */
    readonly fields: readonly string[];
    readonly source: string;
}

/**
 * Replace-only inputs of the data-bearing types the program creates. Source: the provider's
 * schema (terraform-provider-aws internal/service/rds/instance.go, ForceNew; `identifier` is
 * updatable since v5), which pulumi-aws 7 bridges unchanged.
 */
export const REPLACE_ONLY: Readonly<Record<string, ReplaceOnly>> = {
    "aws:rds/instance:Instance": {
        fields: [
            "availabilityZone",
            "backupTarget",
            "characterSetName",
            "customIamInstanceProfile",
            "dbName",
            "engine",
            "kmsKeyId",
            "ncharCharacterSetName",
            "restoreToPointInTime",
            "s3Import",
            "snapshotIdentifier",
            "storageEncrypted",
            "timezone",
            "username",
        ],
        source: "terraform-provider-aws internal/service/rds/instance.go (ForceNew)",
    },
    "aws:kms/key:Key": {
        fields: ["customerMasterKeySpec", "keySpec", "multiRegion", "xksKeyId"],
        source: "terraform-provider-aws internal/service/kms/key.go (ForceNew)",
    },
    "aws:secretsmanager/secret:Secret": {
        fields: ["name", "namePrefix"],
        source: "terraform-provider-aws internal/service/secretsmanager/secret.go (ForceNew)",
    },
    "aws:secretsmanager/secretVersion:SecretVersion": {
        fields: ["secretId", "secretString", "secretBinary"],
        source: "terraform-provider-aws internal/service/secretsmanager/secret_version.go (ForceNew)",
    },
    "random:index/randomPassword:RandomPassword": {
        fields: [
            "length",
            "special",
            "upper",
            "lower",
            "numeric",
            "minLower",
            "minUpper",
            "minNumeric",
            "minSpecial",
            "overrideSpecial",
            "keepers",
        ],
        source: "terraform-provider-random password (RequiresReplace on every argument)",
    },
    "aws:s3/bucket:Bucket": {
        fields: ["bucket", "bucketPrefix", "objectLockEnabled"],
        source: "terraform-provider-aws internal/service/s3/bucket.go (ForceNew)",
    },
};

/** What the provider does with one changed input. */
export type FlipEffect =
    | "update in place"
    | "replace (ignored: resource option ignoreChanges)"
    | "replace"
    | "promote: RDS PromoteReadReplica makes the replica a standalone writer"
    | "refused: RDS cannot turn an existing instance into a replica (the provider answers: cannot elect new source database for replication)";

export interface FlipChange {
    readonly type: string;
    readonly name: string;
    readonly field: string;
    readonly before: unknown;
    readonly after: unknown;
    /** For data-bearing resources; undefined for the rest. */
    readonly effect?: FlipEffect;
}

function effectOf(r: RecordedResource, field: string, after: unknown): FlipEffect {
    if (r.type === "aws:rds/instance:Instance" && field === "replicateSourceDb") {
        return after === undefined
            ? "promote: RDS PromoteReadReplica makes the replica a standalone writer"
            : "refused: RDS cannot turn an existing instance into a replica (the provider answers: cannot elect new source database for replication)";
    }
    if (REPLACE_ONLY[r.type]?.fields.includes(field)) {
        return r.ignoreChanges.includes(field) ? "replace (ignored: resource option ignoreChanges)" : "replace";
    }
    return "update in place";
}

/** Top-level inputs whose values differ between the two runs of one stack, in resource order. */
export function flipChanges(before: StackRun, after: StackRun): FlipChange[] {
    const afterByUrn = new Map(after.resources.map((r) => [r.urn, r]));
    const changes: FlipChange[] = [];
    for (const r of before.resources) {
        const flipped = afterByUrn.get(r.urn);
        if (!flipped) {
            changes.push({ type: r.type, name: r.name, field: "(resource)", before: "present", after: "absent" });
            continue;
        }
        for (const field of [...new Set([...Object.keys(r.inputs), ...Object.keys(flipped.inputs)])].sort()) {
            const [x, y] = [r.inputs[field], flipped.inputs[field]];
            if (JSON.stringify(x) !== JSON.stringify(y)) {
                const dataBearing = PROTECTED_TYPES.includes(r.type);
                changes.push({
                    type: r.type,
                    name: r.name,
                    field,
                    before: x,
                    after: y,
                    ...(dataBearing ? { effect: effectOf(r, field, y) } : {}),
                });
            }
        }
    }
    for (const r of after.resources.filter((x) => !before.resources.some((b) => b.urn === x.urn))) {
        changes.push({ type: r.type, name: r.name, field: "(resource)", before: "absent", after: "present" });
    }
    return changes;
}
