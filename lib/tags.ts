/**
 * Tags. Every taggable resource carries the base tags (project, stack, tier, managed-by)
 * plus the configured extra tags; components add `Name`. The `Tier` tag is how the policy
 * pack knows which size, count and spread rules apply to a resource.
 */
import type { PlatformConfig } from "./config";

/** The tiers; the policy pack reads the same list (policies/kit.ts). */
export const TIERS = ["network", "web", "redis", "db", "monitoring", "traffic"] as const;
export type Tier = (typeof TIERS)[number];

export type Tags = Readonly<Record<string, string>>;

/** Tag keys the program sets itself; config may not set them. */
export const RESERVED_TAG_KEYS: readonly string[] = ["Name", "Project", "Stack", "Tier", "ManagedBy"];

export function tierTags(cfg: Pick<PlatformConfig, "tags" | "project" | "stack">, tier: Tier): Tags {
    return { ...cfg.tags, Project: cfg.project, Stack: cfg.stack, Tier: tier, ManagedBy: "pulumi" };
}

/** A child's tags: the component's tags plus a Name. */
export function named(tags: Tags | undefined, name: string): Record<string, string> {
    return { ...(tags ?? {}), Name: name };
}
