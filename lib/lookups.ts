/**
 * Facts read from AWS before any resource is created: the region's usable Availability
 * Zones (checked against the pinned AZ IDs) and the account. Failing here fails the
 * deployment before it changes anything.
 */
import * as aws from "@pulumi/aws";
import { ConfigError, PlatformConfig } from "./config";

/** An Availability Zone by its stable ID and this account's name for it. */
export interface ZoneRef {
    readonly id: string;
    readonly name: string;
}

/** Resolves the configured AZ IDs of the stack's region to zones, in config order. */
export async function resolveZones(cfg: PlatformConfig): Promise<ZoneRef[]> {
    const offered = await aws.getAvailabilityZones({
        state: "available",
        filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
    });
    const byId = new Map(offered.zoneIds.map((id, i) => [id, offered.names[i]]));
    const missing = cfg.network.azIds.filter((id) => !byId.has(id));
    if (missing.length > 0) {
        throw new ConfigError(cfg.stack, [
            `ecommerce:azIds.${cfg.region} = ${JSON.stringify(cfg.network.azIds)}: expected zones that ${cfg.region} offers this account ` +
                `(${offered.zoneIds.join(", ")}); not available: ${missing.join(", ")}`,
        ]);
    }
    return cfg.network.azIds.map((id) => ({ id, name: byId.get(id)! }));
}

export interface Account {
    readonly accountId: string;
    readonly partition: string;
}

export async function resolveAccount(): Promise<Account> {
    const [identity, partition] = await Promise.all([aws.getCallerIdentity({}), aws.getPartition({})]);
    return { accountId: identity.accountId, partition: partition.partition };
}
