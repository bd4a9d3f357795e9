import { hostAddress } from "./cidr";

/**
 * Placement of a tier's nodes over the region's Availability Zones. Pure functions.
 */

/**
 * Zone positions (0-based) for `count` nodes over `zoneCount` zones, round-robin in
 * config order: 3 nodes over 3 zones -> [0, 1, 2]; over 2 zones -> [0, 1, 0].
 * Round-robin is what keeps any one zone from holding more than ceil(count / zoneCount).
 */
export function spreadOverZones(count: number, zoneCount: number): number[] {
    if (!Number.isInteger(count) || count < 0) {
        throw new Error(`spreadOverZones: node count ${count} is not a non-negative integer`);
    }
    if (!Number.isInteger(zoneCount) || zoneCount < 1) {
        throw new Error(`spreadOverZones: zone count ${zoneCount} is not a positive integer`);
    }
    return Array.from({ length: count }, (_, i) => i % zoneCount);
}

/** Nodes per zone position for a placement from spreadOverZones. */
export function nodesPerZone(placement: readonly number[], zoneCount: number): number[] {
    const counts = new Array<number>(zoneCount).fill(0);
    for (const zone of placement) {
        counts[zone] += 1;
    }
    return counts;
}

/**
 * True when losing the single busiest zone still leaves a strict majority of `count` nodes:
 * the condition for a quorum-based system (Redis Sentinel) to survive a zone outage.
 */
export function survivesZoneLoss(placement: readonly number[], zoneCount: number): boolean {
    const worst = Math.max(...nodesPerZone(placement, zoneCount));
    return placement.length - worst > placement.length / 2;
}

/** A node pinned to a zone and a fixed private address, known before deployment. */
export interface PinnedNode {
    /** 0-based node index. */
    readonly index: number;
    /** Zone position (index into the zone list). */
    readonly zoneIndex: number;
    readonly address: string;
}

/** Host offset of the first pinned node in a data subnet (AWS reserves .0-.3). */
export const FIRST_PINNED_HOST = 10;

/**
 * Fixed addresses for `count` nodes spread round-robin over the zones' data subnets
 * (`subnetCidrs[i]` is the data subnet of zone i). Node n gets host FIRST_PINNED_HOST + n
 * of its zone's subnet, so two nodes sharing a zone never collide and a replaced node
 * keeps its address (peers and clients need no update).
 */
export function pinnedNodes(count: number, subnetCidrs: readonly string[]): PinnedNode[] {
    return spreadOverZones(count, subnetCidrs.length).map((zoneIndex, index) => ({
        index,
        zoneIndex,
        address: hostAddress(subnetCidrs[zoneIndex], FIRST_PINNED_HOST + index),
    }));
}
