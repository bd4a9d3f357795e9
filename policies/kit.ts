/**
 * What every policy of the pack shares: how a resource's tier is read, how resources are
 * related (through their dependencies, never through IDs, which are unknown on a first
 * preview), how a node group is counted once whether the engine shows the remote
 * component or its child, and the wrappers that make each policy report how many resources
 * it examined, so a policy that matched nothing cannot pass in silence.
 */
import type {
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

export { TIERS } from "../lib/tags";
export type { Tier } from "../lib/tags";

/** Resource types that run workloads: each must carry a tier mark. */
export const COMPUTE_TYPES = [
    "aws:ec2/instance:Instance",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:autoscaling/group:Group",
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "eks:index:Cluster",
    "eks:index:ManagedNodeGroup",
];
/** Resource types that hold data: each must carry a tier mark and be protected. */
export const DATA_TYPES = [
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:s3/bucket:Bucket",
    "aws:ebs/volume:Volume",
    "aws:kms/key:Key",
    "aws:secretsmanager/secret:Secret",
];
/** Data-bearing resources that must be protected (`protect: true`) besides DATA_TYPES. */
export const PROTECTED_TYPES = [
    ...DATA_TYPES,
    "aws:secretsmanager/secretVersion:SecretVersion",
    "random:index/randomPassword:RandomPassword",
];

/** The tags of a resource, from a tag map or an Auto Scaling group's tag list. */
export function tagsOf(props: Record<string, any>): Record<string, string> {
    const tags = props.tags;
    if (Array.isArray(tags)) {
        return Object.fromEntries(tags.filter((t) => t && typeof t.key === "string").map((t) => [t.key, String(t.value)]));
    }
    return tags !== null && typeof tags === "object" ? (tags as Record<string, string>) : {};
}

export function tierOf(props: Record<string, any>): string | undefined {
    return tagsOf(props).Tier;
}

// --- stack kinds ---------------------------------------------------------------------------

/**
 * A site stack (primary, dr: one region of the platform) or the global stack (the virtual
 * IP). A policy names the kinds it is meant for: there, examining nothing is a failure; in a
 * stack of another kind a stack policy is not applicable, and a resource policy still checks
 * whatever resources of its types exist.
 */
export type StackKind = "site" | "global";

/**
 * A site is the stack with a VPC; the global stack is the one without a VPC that holds the
 * accelerator. A stray accelerator in a site stack does not make it the global stack (that
 * would switch the site's policies off): one-accelerator fails it instead.
 */
const SITE_MARKER = "aws:ec2/vpc:Vpc";
const GLOBAL_MARKER = "aws:globalaccelerator/accelerator:Accelerator";

export function stackKindOf(types: Iterable<string>): StackKind {
    const all = new Set(types);
    return !all.has(SITE_MARKER) && all.has(GLOBAL_MARKER) ? "global" : "site";
}

const KINDS = new Map<string, readonly StackKind[]>();

/** The kinds of stack a policy is meant for (registered by the wrappers below). */
export function policyKinds(policy: string): readonly StackKind[] {
    return KINDS.get(policy) ?? ["site"];
}

// --- examined counts ---------------------------------------------------------------------

const examined = new Map<string, number>();

/** How many resources the named stack policy examined in its last run (offline runner). */
export function lastExamined(policy: string): number | undefined {
    return examined.get(policy);
}

interface PolicyBase {
    readonly name: string;
    readonly description: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly configSchema?: PolicyConfigSchema;
    /** The kinds of stack the policy is meant for. @default ["site"] */
    readonly kinds?: readonly StackKind[];
}

/**
 * A policy on single resources of `types`; every other type is reported not applicable, so
 * the offline runner counts what it examined as the resources it did not skip.
 */
export function resourcePolicy(
    base: PolicyBase & {
        /** Type tokens, or `{ prefix }` for a whole provider (e.g. `aws:`). */
        readonly types: readonly string[] | { readonly prefix: string };
        readonly validate: (args: ResourceValidationArgs, report: ReportViolation) => void;
    },
): ResourceValidationPolicy {
    const { types, validate, kinds, ...policy } = base;
    KINDS.set(policy.name, kinds ?? ["site"]);
    const applies = Array.isArray(types)
        ? (t: string) => types.includes(t)
        : (t: string) => t.startsWith((types as { prefix: string }).prefix);
    const scope = Array.isArray(types) ? types.join(", ") : `${(types as { prefix: string }).prefix}* resources`;
    return {
        ...policy,
        validateResource: (args, report) => {
            if (!applies(args.type)) {
                args.notApplicable(`applies to ${scope}`);
            }
            validate(args, report);
        },
    };
}

/**
 * A policy on the whole stack. `validate` returns how many resources it examined; a run that
 * examined none is itself a violation (the marks or resources it relies on are missing).
 */
export function stackPolicy(
    base: PolicyBase & {
        readonly validate: (args: StackValidationArgs, report: ReportViolation) => number;
    },
): StackValidationPolicy {
    const { validate, kinds, ...policy } = base;
    const meantFor = kinds ?? ["site"];
    KINDS.set(policy.name, meantFor);
    return {
        ...policy,
        validateStack: (args, report) => {
            examined.delete(policy.name);
            if (!meantFor.includes(stackKindOf(args.resources.map((r) => r.type)))) {
                args.notApplicable(`applies to ${meantFor.join(" and ")} stacks`);
            }
            const count = validate(args, report);
            examined.set(policy.name, count);
            if (count === 0) {
                report(`${policy.name} examined no resources: the resources it checks, or their Tier marks, are missing`);
            }
        },
    };
}

/** Policy config merged over the defaults (the engine passes only what was configured). */
export function configOf<T extends object>(args: { getConfig<C extends object>(): C }, defaults: T): T {
    return { ...defaults, ...args.getConfig<Partial<T>>() };
}

// --- relations -----------------------------------------------------------------------------

/** The resources an input property of `r` was built from (by URN, known in previews too). */
export function dependenciesOf(r: PolicyResource, property: string): PolicyResource[] {
    return r.propertyDependencies?.[property] ?? [];
}

/**
 * Reads a value that may be unknown in a preview; undefined when it is. (The analyzer's
 * proxy throws an UnknownValueError on access; its class is internal to @pulumi/policy.)
 */
export function ifKnown<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (err) {
        if (err instanceof Error && err.constructor.name === "UnknownValueError") {
            return undefined;
        }
        throw err;
    }
}

/**
 * The region a resource lives in: its own `region` property, else its provider's region.
 * A region a provider will compute (unknown in a preview) is the provider's.
 */
export function regionOf(r: { props: Record<string, any>; provider?: { props: Record<string, any> } }): string | undefined {
    const own = ifKnown(() => r.props.region);
    if (typeof own === "string") {
        return own;
    }
    const fromProvider = r.provider?.props.region;
    return typeof fromProvider === "string" ? fromProvider : undefined;
}

/** Zone (ID or name) of a subnet resource, from its inputs. */
export function subnetZone(subnet: PolicyResource): string | undefined {
    const zone = subnet.props.availabilityZoneId ?? subnet.props.availabilityZone;
    return typeof zone === "string" ? zone : undefined;
}

/** The distinct zones of the subnets an input property was built from. */
export function zonesOfSubnets(r: PolicyResource, property: string): string[] {
    const zones = dependenciesOf(r, property)
        .filter((d) => d.type === "aws:ec2/subnet:Subnet")
        .map(subnetZone)
        .filter((z): z is string => z !== undefined);
    return [...new Set(zones)];
}

/** An EKS node group, counted once: the engine's child resource, else the remote component. */
export interface NodeGroupView {
    readonly resource: PolicyResource;
    readonly instanceTypes: readonly string[];
    readonly minSize: number;
    readonly desiredSize: number;
    readonly tier: string | undefined;
    /** Distinct zones of its subnets. */
    readonly zones: readonly string[];
}

export function nodeGroups(resources: readonly PolicyResource[]): NodeGroupView[] {
    const children = resources.filter((r) => r.type === "aws:eks/nodeGroup:NodeGroup");
    const components = resources.filter((r) => r.type === "eks:index:ManagedNodeGroup" && !children.some((c) => c.parent?.urn === r.urn));
    return [...children, ...components].map((r) => ({
        resource: r,
        instanceTypes: Array.isArray(r.props.instanceTypes) ? r.props.instanceTypes : [],
        minSize: Number(r.props.scalingConfig?.minSize ?? 0),
        desiredSize: Number(r.props.scalingConfig?.desiredSize ?? 0),
        tier: tierOf(r.props) ?? r.props.labels?.["ecommerce/tier"],
        zones: zonesOfSubnets(r, "subnetIds"),
    }));
}

/** An EKS cluster, counted once: the engine's aws:eks/cluster:Cluster child, else the component. */
export function eksClusters(resources: readonly PolicyResource[]): PolicyResource[] {
    const children = resources.filter((r) => r.type === "aws:eks/cluster:Cluster");
    const components = resources.filter((r) => r.type === "eks:index:Cluster" && !children.some((c) => c.parent?.urn === r.urn));
    return [...children, ...components];
}

/** A site's role, from its database writer: a replica of another region's writer is the standby. */
export function siteRole(resources: readonly PolicyResource[]): "writer" | "standby" | undefined {
    const writer = resources.find((r) => r.type === "aws:rds/instance:Instance" && r.name === "db-writer");
    if (writer === undefined) {
        return undefined;
    }
    return typeof writer.props.replicateSourceDb === "string" && writer.props.replicateSourceDb !== "" ? "standby" : "writer";
}

/** True for an RDS instance that keeps the data itself: a primary, or a cross-region replica (promotable writer). */
export function isRdsWriter(props: Record<string, any>): boolean {
    const source = props.replicateSourceDb;
    return typeof source !== "string" || source === "" || source.startsWith("arn:");
}
