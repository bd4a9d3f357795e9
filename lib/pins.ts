/**
 * Pinned artifacts, each verified to exist, with where it was verified. An image is pulled by
 * tag and digest (`repository:version@sha256:...`): the digest fixes the exact bytes, the tag
 * keeps the reference readable. Mirrors that copy the official image (ECR Public's
 * docker/library) serve the same index digest.
 */

export interface ImagePin {
    readonly version: string;
    /** Digest of the multi-platform image index (what `docker pull redis:<version>` resolves). */
    readonly digest: string;
    readonly verified: string;
}

/**
 * The official Redis image, by version. Source: docker-library/repo-info
 * repos/redis/remote/6.2.24.md (the index `redis:6.2.24`, also `6.2-bookworm`, built
 * 2026-09-19; the newest 6.2 release there). Add a row to allow another version.
 */
export const REDIS_IMAGE_PINS: readonly ImagePin[] = [
    {
        version: "6.2.24",
        digest: "sha256:e7b96daa9a182b0a2639253fdab98244190ec2dca8a41da3fb31a147ef71a870",
        verified: "docker-library/repo-info repos/redis/remote/6.2.24.md, commit 0ae7309187d6, checked 2026-11-30",
    },
];

/** `repository:version@digest`, or undefined when no verified digest of `version` is known. */
export function pinnedRedisImage(repository: string, version: string): string | undefined {
    const pin = REDIS_IMAGE_PINS.find((p) => p.version === version);
    return pin ? `${repository}:${version}@${pin.digest}` : undefined;
}
