/**
 * Availability Zone spread per tier. Zones are read from inputs known before anything
 * exists (subnets' pinned AZ IDs, instances' AZ names) and related through dependencies,
 * so a first preview gives the same verdict as an update.
 *
 *   web         the Auto Scaling group's subnets span min(3, usable) zones (at least 2); the
 *               group balances, so no zone holds a majority where three exist
 *   redis       the nodes span min(3, usable) zones; where three exist, no zone holds a majority
 *   db          the subnet group spans min(3, usable) zones; the writer is Multi-AZ (AWS picks
 *               its zone and puts the standby in another); replicas sit in distinct zones
 *               where the region has enough, or are Multi-AZ themselves (config
 *               dbReplicaMultiAz). Single-AZ replicas are a choice, not a gap: each is in its
 *               own zone behind one weighted reader name, so a zone's loss stops one replica
 *               of two, while Multi-AZ replicas would double their instance and storage
 *               price (docs/architecture.md, "Read replicas: single-AZ, and why"). A
 *               generic rule such as AWSGuard's rds-instance-multi-az-enabled flags them.
 *   monitoring  each EKS node group's subnets span min(3, usable) zones (at least 2)
 */
import type { PolicyResource, ReportViolation } from "@pulumi/policy";
import { configOf, dependenciesOf, isRdsWriter, nodeGroups, regionOf, stackPolicy, tierOf, zonesOfSubnets } from "./kit";

export interface SpreadConfig {
    /** Usable Availability Zones per region (what `aws ec2 describe-availability-zones` offers the account). */
    readonly usableZones: Readonly<Record<string, number>>;
}

export const DEFAULT_USABLE_ZONES: SpreadConfig = { usableZones: { "us-east-2": 3, "us-west-1": 2, "us-west-2": 4, "us-east-1": 6 } };

/** The region most of the tier-marked resources live in (the stack's region). */
function stackRegion(resources: readonly PolicyResource[]): string | undefined {
    const counts = new Map<string, number>();
    for (const r of resources) {
        const region = tierOf(r.props) !== undefined ? regionOf(r) : undefined;
        if (region) {
            counts.set(region, (counts.get(region) ?? 0) + 1);
        }
    }
    return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

function majority(perZone: Map<string, number>, total: number): [string, number] | undefined {
    return [...perZone.entries()].find(([, n]) => n * 2 > total);
}

export const tierAzSpread = stackPolicy({
    name: "tier-az-spread",
    description:
        "Each tier spans min(3, usable) Availability Zones, no zone holds a majority of a tier's nodes where three exist, the DB writer is Multi-AZ, and read replicas sit in distinct zones (single-AZ by choice: a zone's loss costs one reader of the weighted reader name, where Multi-AZ replicas would double their price) or are Multi-AZ.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            usableZones: { type: "object", default: DEFAULT_USABLE_ZONES.usableZones, description: "Region -> usable AZ count." },
        },
    },
    validate: (args, report: ReportViolation) => {
        const resources = args.resources;
        const region = stackRegion(resources);
        const usable = region ? configOf<SpreadConfig>(args, DEFAULT_USABLE_ZONES).usableZones[region] : undefined;
        if (!region || usable === undefined) {
            report(`cannot tell how many zones region ${region ?? "(unknown)"} offers: add it to policy config usableZones`);
            return 0;
        }
        const need = Math.min(3, usable);
        const needAtLeast = Math.max(2, need);
        let examined = 0;
        const span = (tier: string, what: string, zones: readonly string[], minimum: number, urn: string) => {
            if (zones.length < minimum) {
                report(
                    `${tier} tier: ${what} spans ${zones.length} AZ${zones.length === 1 ? "" : "s"} (${zones.join(", ") || "none"}); expected at least ${minimum} (${region} has ${usable} usable)`,
                    urn,
                );
            }
        };

        // web: subnets of the Auto Scaling group; the group balances its instances over them.
        for (const g of resources.filter((r) => r.type === "aws:autoscaling/group:Group" && tierOf(r.props) === "web")) {
            examined += 1;
            const zones = zonesOfSubnets(g, "vpcZoneIdentifiers");
            span("web", `Auto Scaling group ${g.name}`, zones, needAtLeast, g.urn);
            const desired = Number(g.props.desiredCapacity ?? 0);
            if (usable >= 3 && zones.length > 0 && Math.ceil(desired / zones.length) * 2 > desired) {
                report(
                    `web tier: Auto Scaling group ${g.name} puts ${Math.ceil(desired / zones.length)} of ${desired} instances in one zone, a majority`,
                    g.urn,
                );
            }
        }

        // redis: each node's zone.
        const redis = resources.filter((r) => r.type === "aws:ec2/instance:Instance" && tierOf(r.props) === "redis");
        if (redis.length > 0) {
            examined += redis.length;
            const perZone = new Map<string, number>();
            for (const node of redis) {
                // Its pinned zone, else the zone of the subnet it (or its primary interface) is in.
                const eni = dependenciesOf(node, "primaryNetworkInterface")[0];
                const zone = node.props.availabilityZone ?? zonesOfSubnets(eni ?? node, "subnetId")[0];
                if (typeof zone !== "string") {
                    report(`redis tier: instance ${node.name} is pinned to no zone`, node.urn);
                    continue;
                }
                perZone.set(zone, (perZone.get(zone) ?? 0) + 1);
            }
            span("redis", `${redis.length} nodes`, [...perZone.keys()], need, redis[0].urn);
            const most = majority(perZone, redis.length);
            if (usable >= 3 && most) {
                report(`redis tier: ${most[0]} holds ${most[1]} of ${redis.length} nodes, a majority`);
            }
        }

        // db: the writer is Multi-AZ, pinned instances distinct, the subnet group wide enough.
        const db = resources.filter((r) => r.type === "aws:rds/instance:Instance" && tierOf(r.props) === "db");
        examined += db.length;
        for (const writer of db.filter((r) => isRdsWriter(r.props))) {
            if (writer.props.multiAz !== true) {
                report(`db tier: writer ${writer.name} is not Multi-AZ (no standby in a second zone)`, writer.urn);
            }
            const groups = dependenciesOf(writer, "dbSubnetGroupName").filter((d) => d.type === "aws:rds/subnetGroup:SubnetGroup");
            for (const group of groups) {
                span("db", `subnet group ${group.name}`, zonesOfSubnets(group, "subnetIds"), needAtLeast, group.urn);
            }
            if (groups.length === 0) {
                report(`db tier: writer ${writer.name} names no subnet group of this stack, so its zones cannot be checked`, writer.urn);
            }
        }
        // Replicas are pinned, or Multi-AZ (AWS picks both zones, as for the writer).
        const replicas = db.filter((r) => !isRdsWriter(r.props));
        const byZone = new Map<string, string[]>();
        for (const r of replicas) {
            const zone = r.props.availabilityZone;
            // A Multi-AZ replica's zones are RDS's choice, like the writer's (once created, it
            // reports its current zone: not a pin to compare).
            if (r.props.multiAz === true) {
                continue;
            }
            if (typeof zone !== "string") {
                report(`db tier: replica ${r.name} is pinned to no zone and not Multi-AZ`, r.urn);
                continue;
            }
            byZone.set(zone, [...(byZone.get(zone) ?? []), r.name]);
        }
        if (replicas.length <= usable) {
            for (const [zone, names] of byZone) {
                if (names.length > 1) {
                    report(`db tier: ${names.join(" and ")} share ${zone}; ${region} has ${usable} zones, so each can have its own`);
                }
            }
        }

        // monitoring: each node group's subnets.
        for (const g of nodeGroups(resources).filter((n) => n.tier === "monitoring")) {
            examined += 1;
            span("monitoring", `EKS node group ${g.resource.name}`, g.zones, needAtLeast, g.resource.urn);
        }
        return examined;
    },
});
