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
