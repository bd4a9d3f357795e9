/**
 * The tier mark: every compute and data resource says which tier it belongs to (tag `Tier`,
 * or the `ecommerce/tier` label of an EKS node group), so no resource escapes the size,
 * count and spread rules by being unmarked.
 */
import { COMPUTE_TYPES, DATA_TYPES, resourcePolicy, tierOf, TIERS } from "./kit";

export const tierMarkRequired = resourcePolicy({
    name: "tier-mark-required",
    description: "Every compute and data resource carries a Tier mark naming one of the platform's tiers.",
    enforcementLevel: "mandatory",
    types: [...COMPUTE_TYPES, ...DATA_TYPES],
    validate: (args, report) => {
        const tier = tierOf(args.props) ?? args.props.labels?.["ecommerce/tier"];
        if (tier === undefined) {
            report(`${args.type} ${args.name} has no Tier mark (tag Tier: one of ${TIERS.join(", ")})`);
        } else if (!(TIERS as readonly string[]).includes(tier)) {
            report(`${args.type} ${args.name} is marked Tier=${tier}; expected one of ${TIERS.join(", ")}`);
        }
    },
});
