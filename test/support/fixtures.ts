/**
 * Hand-built stacks for policy tests: a few resources with the inputs, options and
 * dependencies a test needs, in the same shape the harness records from the program.
 */
import type { RecordedResource, StackRun } from "../../offline/run";

export interface FixtureOptions {
    readonly protect?: boolean;
    readonly parent?: RecordedResource;
    /** Input property -> the resources its value came from. */
    readonly deps?: Readonly<Record<string, readonly RecordedResource[]>>;
    /** Outputs besides the inputs (what the provider computed). */
    readonly outputs?: Record<string, unknown>;
    /** An explicit provider resource. */
    readonly provider?: RecordedResource;
}

export function res(type: string, name: string, inputs: Record<string, any>, o: FixtureOptions = {}): RecordedResource {
    const propertyDependencies = Object.fromEntries(Object.entries(o.deps ?? {}).map(([k, rs]) => [k, rs.map((r) => r.urn)]));
    return {
        urn: `urn:pulumi:test::ecommerce::${type}::${name}`,
        type,
        name,
        custom: !type.startsWith("ecommerce:") && !type.startsWith("eks:index:"),
        parent: o.parent?.urn,
        provider: o.provider ? `${o.provider.urn}::${o.provider.id}` : undefined,
        protect: o.protect ?? false,
        deleteBeforeReplace: false,
        retainOnDelete: false,
        ignoreChanges: [],
        dependencies: [...new Set(Object.values(propertyDependencies).flat())],
        propertyDependencies,
        inputs,
        secretPaths: [],
        id: `${name}-id`,
        outputs: { ...inputs, ...(o.outputs ?? {}) },
    };
}

/** A stack of the given resources in `region` (its default AWS provider's region). */
export function stackOf(resources: readonly RecordedResource[], region = "us-east-2"): StackRun {
    return { stack: "test", preview: false, config: { "aws:region": region }, resources, invokes: [], outputs: {}, errors: [] };
}

/** Three subnets pinned to the zones of `region`, for spread fixtures. */
export function subnets(zoneIds: readonly string[]): RecordedResource[] {
    return zoneIds.map((z, i) => res("aws:ec2/subnet:Subnet", `subnet-${i + 1}`, { availabilityZoneId: z, cidrBlock: `10.0.${i}.0/24` }));
}

export const tags = (tier: string, extra: Record<string, string> = {}) => ({ Tier: tier, ...extra });

/** An ACM certificate ARN of `region` (the shape config accepts). */
export function certificateArn(region: string): string {
    return `arn:aws:acm:${region}:123456789012:certificate/11111111-2222-3333-4444-555555555555`;
}

/** Config giving each of `regions` a certificate (its load balancer then listens on HTTPS). */
export function certificatesFor(...regions: string[]): Record<string, string> {
    return { "ecommerce:certificateArns": JSON.stringify(Object.fromEntries(regions.map((r) => [r, certificateArn(r)]))) };
}
