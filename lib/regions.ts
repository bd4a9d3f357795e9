/**
 * AWS commercial regions this program may be configured with, and the short codes AWS uses
 * in Availability Zone IDs (`use2-az1` belongs to us-east-2).
 */
export const AWS_REGIONS: readonly string[] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "ca-west-1",
    "mx-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "ap-south-1",
    "ap-south-2",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "me-south-1",
    "me-central-1",
    "il-central-1",
    "af-south-1",
];

/**
 * The global stack's region: Global Accelerator's API lives only in us-west-2 ("you must
 * specify the US West (Oregon) Region to create, update, or otherwise work with
 * accelerators", AWS General Reference, Global Accelerator endpoints), and the provider sends
 * every Global Accelerator call there whatever its region (terraform-provider-aws
 * internal/service/globalaccelerator/service_package.go). The accelerator, its listener, the
 * public record and the global stack's state live there, a region neither site depends on.
 */
export const GLOBAL_REGION = "us-west-2";

const DIRECTION_CODES: Readonly<Record<string, string>> = {
    east: "e",
    west: "w",
    north: "n",
    south: "s",
    central: "c",
    northeast: "ne",
    northwest: "nw",
    southeast: "se",
    southwest: "sw",
};

/** `us-east-2` -> `use2`, `ap-southeast-1` -> `apse1`: the prefix of the region's AZ IDs. */
export function regionCode(region: string): string {
    const match = /^([a-z]{2})-([a-z]+)-(\d+)$/.exec(region);
    const direction = match ? DIRECTION_CODES[match[2]] : undefined;
    if (!match || direction === undefined) {
        throw new Error(`regionCode: "${region}" is not an AWS region name like us-east-2`);
    }
    return `${match[1]}${direction}${match[3]}`;
}

/** True when `azId` (e.g. `usw1-az3`) names a zone of `region`. */
export function azIdBelongsTo(azId: string, region: string): boolean {
    return new RegExp(`^${regionCode(region)}-az\\d+$`).test(azId);
}
