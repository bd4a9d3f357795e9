/**
 * Tags. Every taggable resource carries the base tags (project, stack, tier, managed-by)
 * plus the configured extra tags; components add `Name`. The `Tier` tag is how the policy
 * pack knows which size, count and spread rules apply to a resource.
 */
import type { PlatformConfig } from "./config";

export type Tier = "network" | "web" | "redis" | "db" | "monitoring";

export const TIERS: readonly Tier[] = ["network", "web", "redis", "db", "monitoring"];

export type Tags = Readonly<Record<string, string>>;

export function tierTags(cfg: PlatformConfig, tier: Tier): Tags {
    return { ...cfg.tags, Project: cfg.project, Stack: cfg.stack, Tier: tier, ManagedBy: "pulumi" };
}

/** A child's tags: the component's tags plus a Name. */
export function named(tags: Tags | undefined, name: string): Record<string, string> {
    return { ...(tags ?? {}), Name: name };
}
