/**
 * S3 buckets: encrypted at rest and with every public access blocked. The settings live in
 * their own resources (aws v7), related to their bucket through dependencies.
 */
import type { PolicyResource } from "@pulumi/policy";
import { dependenciesOf, stackPolicy } from "./kit";

const BLOCKS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

function settingsOf(resources: readonly PolicyResource[], type: string, bucket: PolicyResource): PolicyResource[] {
    return resources.filter((r) => r.type === type && dependenciesOf(r, "bucket").some((b) => b.urn === bucket.urn));
}

export const s3Encrypted = stackPolicy({
    name: "s3-encrypted",
    description: "Every S3 bucket has a server-side encryption configuration.",
    enforcementLevel: "mandatory",
    validate: (args, report) => {
        const buckets = args.resources.filter((r) => r.type === "aws:s3/bucket:Bucket");
        for (const bucket of buckets) {
            const configs = settingsOf(
                args.resources,
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                bucket,
            );
            const rules = configs.flatMap((c) => (Array.isArray(c.props.rules) ? c.props.rules : []));
            if (
                !rules.some((r: any) => ["AES256", "aws:kms", "aws:kms:dsse"].includes(r?.applyServerSideEncryptionByDefault?.sseAlgorithm))
            ) {
                report(`S3 bucket ${bucket.name} has no server-side encryption configuration`, bucket.urn);
            }
        }
        return buckets.length;
    },
});

export const s3PublicAccessBlocked = stackPolicy({
    name: "s3-public-access-blocked",
    description: "Every S3 bucket has a public access block with all four settings on.",
    enforcementLevel: "mandatory",
    validate: (args, report) => {
        const buckets = args.resources.filter((r) => r.type === "aws:s3/bucket:Bucket");
        for (const bucket of buckets) {
            const blocks = settingsOf(args.resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket);
            const off = BLOCKS.filter((k) => !blocks.some((b) => b.props[k] === true));
            if (blocks.length === 0) {
                report(`S3 bucket ${bucket.name} has no public access block`, bucket.urn);
            } else if (off.length > 0) {
                report(`S3 bucket ${bucket.name} does not block public access: ${off.join(", ")} off`, bucket.urn);
            }
        }
        return buckets.length;
    },
});
