/**
 * Node counts per tier, over the whole stack: the seed's 5 web servers, 3 Redis nodes,
 * 1 DB writer with 2 replicas, and at least 2 EKS nodes.
 */
import type { PolicyResource } from "@pulumi/policy";
import { configOf, isRdsWriter, nodeGroups, stackPolicy, tierOf } from "./kit";

export interface CountConfig {
    readonly webInstances: number;
    readonly redisNodes: number;
    readonly dbWriters: number;
    readonly dbReplicas: number;
    readonly monitoringMinNodes: number;
}

export const SEED_COUNTS: CountConfig = { webInstances: 5, redisNodes: 3, dbWriters: 1, dbReplicas: 2, monitoringMinNodes: 2 };

const ofTier = (resources: readonly PolicyResource[], type: string, tier: string) =>
    resources.filter((r) => r.type === type && tierOf(r.props) === tier);

export const tierCounts = stackPolicy({
    name: "tier-counts",
    description:
        "Each tier runs the seed's node count: web Auto Scaling group min and desired 5, Redis 3 nodes, DB 1 writer + 2 replicas, EKS at least 2 nodes.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            webInstances: { type: "integer", default: SEED_COUNTS.webInstances },
            redisNodes: { type: "integer", default: SEED_COUNTS.redisNodes },
            dbWriters: { type: "integer", default: SEED_COUNTS.dbWriters },
            dbReplicas: { type: "integer", default: SEED_COUNTS.dbReplicas },
            monitoringMinNodes: { type: "integer", default: SEED_COUNTS.monitoringMinNodes },
        },
    },
    validate: (args, report) => {
        const want = configOf<CountConfig>(args, SEED_COUNTS);
        const resources = args.resources;

        const groups = ofTier(resources, "aws:autoscaling/group:Group", "web");
        if (groups.length !== 1) {
            report(`web tier: expected 1 Auto Scaling group, found ${groups.length}`);
        }
        for (const g of groups) {
            if (g.props.minSize !== want.webInstances || g.props.desiredCapacity !== want.webInstances) {
                report(
                    `web tier: Auto Scaling group ${g.name} runs min ${g.props.minSize} / desired ${g.props.desiredCapacity}; expected ${want.webInstances} and ${want.webInstances}`,
                    g.urn,
                );
            }
        }

        const redis = ofTier(resources, "aws:ec2/instance:Instance", "redis");
        if (redis.length !== want.redisNodes) {
            report(`redis tier: expected ${want.redisNodes} instances, found ${redis.length}`);
        }

        const db = ofTier(resources, "aws:rds/instance:Instance", "db");
        const writers = db.filter((r) => isRdsWriter(r.props)).length;
        const replicas = db.length - writers;
        if (writers !== want.dbWriters || replicas !== want.dbReplicas) {
            report(
                `db tier: expected ${want.dbWriters} writer and ${want.dbReplicas} replicas, found ${writers} writer and ${replicas} replicas`,
            );
        }

        const groupsOfNodes = nodeGroups(resources).filter((g) => g.tier === "monitoring");
        const minNodes = groupsOfNodes.reduce((sum, g) => sum + g.minSize, 0);
        const desiredNodes = groupsOfNodes.reduce((sum, g) => sum + g.desiredSize, 0);
        if (minNodes < want.monitoringMinNodes || desiredNodes < want.monitoringMinNodes) {
            report(
                `monitoring tier: EKS node groups run min ${minNodes} / desired ${desiredNodes} nodes; expected at least ${want.monitoringMinNodes}`,
            );
        }

        return groups.length + redis.length + db.length + groupsOfNodes.length;
    },
});
