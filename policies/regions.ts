/**
 * Where resources may live: the two site regions and the two regions the design reserves for
 * the global resources and the backups (us-west-2, where Global Accelerator's API lives, and
 * us-east-1), nothing else.
 * Covers a resource's own region (its `region` input or its provider's) and the regions it
 * reaches into: Secrets Manager replicas and cross-region RDS replication sources.
 */
import { configOf, regionOf, resourcePolicy } from "./kit";

export interface RegionConfig {
    readonly allowedRegions: readonly string[];
}

/** ecommerce:primaryRegion and ecommerce:drRegion of Pulumi.yaml, and the regions of the global stack and the backups. */
export const DEFAULT_REGIONS: RegionConfig = { allowedRegions: ["us-east-2", "us-west-1", "us-west-2", "us-east-1"] };

const arnRegion = (arn: unknown) => (typeof arn === "string" && arn.startsWith("arn:") ? arn.split(":")[3] : undefined);

export const allowedRegions = resourcePolicy({
    name: "allowed-regions",
    description: "AWS resources live only in the primary, DR and backup regions, and replicate only between them.",
    enforcementLevel: "mandatory",
    kinds: ["site", "global"],
    configSchema: {
        properties: { allowedRegions: { type: "array", items: { type: "string" }, default: DEFAULT_REGIONS.allowedRegions } },
    },
    types: { prefix: "aws:" },
    validate: (args, report) => {
        const allowed = configOf<RegionConfig>(args, DEFAULT_REGIONS).allowedRegions;
        const region = regionOf(args);
        if (region === undefined) {
            report(`${args.type} ${args.name}: its region cannot be determined (no region input, no provider region)`);
        } else if (!allowed.includes(region)) {
            report(`${args.type} ${args.name} is in ${region}; allowed regions: ${allowed.join(", ")}`);
        }
        const reached = [
            ...(Array.isArray(args.props.replicas) ? args.props.replicas.map((r: any) => ({ what: "replica", region: r?.region })) : []),
            { what: "replication source", region: arnRegion(args.props.replicateSourceDb) },
            { what: "Global Accelerator endpoint group", region: args.props.endpointGroupRegion },
        ].filter((x): x is { what: string; region: string } => typeof x.region === "string");
        for (const { what, region: target } of reached.filter((x) => !allowed.includes(x.region))) {
            report(`${args.type} ${args.name} has a ${what} in ${target}; allowed regions: ${allowed.join(", ")}`);
        }
    },
});
