/**
 * Instance sizes per tier. The tier comes from the resource's Tier mark, never its name.
 */
import type { ResourceValidationArgs } from "@pulumi/policy";
import { resourcePolicy, tierOf, configOf } from "./kit";

/** The seed's sizes (the platform owners' infrastructure description, table 1.1). */
export const SEED_SIZES: Readonly<Record<string, readonly string[]>> = {
    web: ["t3.xlarge"],
    redis: ["t3.large"],
    db: ["db.t3.2xlarge"],
    monitoring: ["t3.large"],
};

export interface SizeConfig {
    /** Allowed instance types (RDS: instance classes) per tier. */
    readonly allowedSizes: Readonly<Record<string, readonly string[]>>;
}

/** The instance types a resource asks for, and what to call it in a message. */
function sizesOf(args: ResourceValidationArgs): { what: string; sizes: string[] } | undefined {
    const p = args.props;
    switch (args.type) {
        case "aws:ec2/instance:Instance":
            return { what: "EC2 instance", sizes: [p.instanceType] };
        case "aws:ec2/launchTemplate:LaunchTemplate":
            // A node group's launch template may leave the type to the node group.
            return typeof p.instanceType === "string" ? { what: "launch template", sizes: [p.instanceType] } : undefined;
        case "aws:rds/instance:Instance":
            return { what: "RDS instance", sizes: [p.instanceClass] };
        default: // EKS node groups: the component and its child take the same list
            return { what: "EKS node group", sizes: Array.isArray(p.instanceTypes) ? p.instanceTypes : [] };
    }
}

export const instanceSizeByTier = resourcePolicy({
    name: "instance-size-by-tier",
    description:
        "Every instance, launch template, RDS instance and EKS node group uses an instance size allowed for its tier (seed: web t3.xlarge, Redis t3.large, DB db.t3.2xlarge, EKS nodes t3.large).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedSizes: { type: "object", default: SEED_SIZES, description: "Tier -> allowed instance types / RDS classes." },
        },
    },
    types: [
        "aws:ec2/instance:Instance",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:rds/instance:Instance",
        "aws:eks/nodeGroup:NodeGroup",
        "eks:index:ManagedNodeGroup",
    ],
    validate: (args, report) => {
        const found = sizesOf(args);
        if (!found) {
            args.notApplicable("sets no instance type");
        }
        const { what, sizes } = found!;
        const tier = tierOf(args.props) ?? args.props.labels?.["ecommerce/tier"];
        if (tier === undefined) {
            report(`${what} ${args.name} (${sizes.join(", ")}) has no Tier mark, so its size cannot be checked`);
            return;
        }
        const allowed = configOf<SizeConfig>(args, { allowedSizes: SEED_SIZES }).allowedSizes[tier];
        if (!allowed || allowed.length === 0) {
            report(`${what} ${args.name}: tier ${tier} allows no instance sizes (policy config allowedSizes.${tier})`);
            return;
        }
        if (sizes.length === 0) {
            report(`${what} ${args.name} (tier ${tier}) names no instance type; allowed: ${allowed.join(", ")}`);
        }
        for (const size of sizes.filter((s) => !allowed.includes(s))) {
            report(`${what} ${args.name} (tier ${tier}) is ${size}; allowed: ${allowed.join(", ")}`);
        }
    },
});
