/**
 * The offline plan's engine: runs each stack's program under the mocks, runs the policy pack
 * against it, compares the two stacks, and describes the result as plain data (what
 * tools/plan.ts prints as text or JSON). No output of its own.
 */
import { ConfigError, GlobalConfig, parseStackConfig, PlatformConfig } from "../lib/config";
import { bakedAmiReminder, describePlaceholder, placeholdersIn } from "../lib/placeholders";
import { pinnedNodes, survivesZoneLoss } from "../lib/placement";
import { subnetCidr } from "../lib/cidr";
import { ALL_POLICIES } from "../policies/all";
import { judgedOn } from "../policies/versions";
import { type CostEstimate, estimate } from "./cost";
import { compareStacks, formatDifference } from "./parity";
import { PARITY_ALLOW_LIST } from "./parityAllowList";
import { PolicyVerdict, runPolicies } from "./policyRunner";
import { RecordedResource, runProgram, StackRun, UNKNOWN } from "./run";

export interface PlanOptions {
    readonly stacks: readonly string[];
    readonly preview: boolean;
    /** Config overrides (what-if), fully qualified keys. */
    readonly config: Readonly<Record<string, string>>;
    /** The day support windows are judged on (YYYY-MM-DD); undefined: today. */
    readonly evaluationDate?: string;
}

/** A resource's settings worth seeing: size, counts, zones, addresses, versions, exposure, protection. */
export interface ResourceSettings {
    size?: string;
    min?: number;
    desired?: number;
    max?: number;
    /** AZ IDs of the subnets a group spans. */
    zones?: string[];
    zone?: string;
    cidr?: string;
    engine?: string;
    multiAz?: boolean;
    replicates?: string;
    chart?: string;
    kubernetes?: string;
    apiAllowedCidrs?: string[];
    addresses?: string[];
    port?: string;
    /** Where a security-group rule admits from (ingress) or reaches to (egress): a CIDR or a group's name. */
    from?: string;
    to?: string;
    region?: string;
    replicaRegions?: string[];
    /** An endpoint group's traffic dial (percent) and its endpoints' weights ("none": no endpoint). */
    trafficDial?: number;
    weights?: string;
    /** A Lambda function's runtime (lib/advisories.ts's Lambda calendar judges it). */
    runtime?: string;
    /** The failover controller: what it watches and how, and whether its schedule runs. */
    watches?: string;
    /** The writer agent: what it renews, and when its database closes without it. */
    renews?: string;
    schedule?: string;
    /** An accelerator's static IPs and DNS name. */
    staticIps?: string[];
    dnsName?: string;
    /** Backups: a bucket created with Object Lock, its default retention, its lifecycle. */
    objectLock?: boolean;
    retention?: string;
    lifecycle?: string;
    protected?: boolean;
}

export interface PlannedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly parent?: string;
    readonly settings: ResourceSettings;
}

/** A violation, with the config key that decides it where there is one. */
export interface PlanViolation {
    readonly policy: string;
    readonly message: string;
    readonly configKey?: string;
}

export interface StackPlan {
    readonly stack: string;
    readonly region: string;
    readonly role: string;
    readonly resources: readonly PlannedResource[];
    readonly verdicts: readonly PolicyVerdict[];
    /** Mandatory violations, each with its config key. */
    readonly violations: readonly PlanViolation[];
    /** Known limits of this stack's placement (e.g. Redis in a two-zone region). */
    readonly limits: readonly string[];
    /** Config that passes offline but fails a real deploy (the deploy wrapper refuses it). */
    readonly warnings: readonly string[];
    readonly errors: readonly string[];
}

export interface Plan {
    readonly stacks: readonly StackPlan[];
    readonly parity?: { readonly unexplained: readonly string[]; readonly staleEntries: readonly string[]; readonly explained: number };
    /** What each stack costs a month (offline/cost.ts); absent when an assumption was refused. */
    readonly cost?: CostEstimate;
    readonly ok: boolean;
    readonly summary: string;
}

const VALUE = (v: unknown) => (v === UNKNOWN ? "(known after apply)" : String(v));

function subnetZones(run: StackRun, r: RecordedResource, property: string): string[] {
    return (r.propertyDependencies[property] ?? [])
        .map((urn) => run.resources.find((x) => x.urn === urn))
        .filter((x): x is RecordedResource => x?.type === "aws:ec2/subnet:Subnet")
        .map((s) => String(s.inputs.availabilityZoneId));
}

/** The name of the security group a rule refers to (through the dependency it was built from). */
function groupName(run: StackRun, r: RecordedResource): string | undefined {
    const urn = (r.propertyDependencies.referencedSecurityGroupId ?? [])[0];
    const source = urn ? run.resources.find((x) => x.urn === urn) : undefined;
    if (!source) {
        return undefined;
    }
    return source.type === "eks:index:Cluster" ? `${source.name} cluster security group` : `security group ${source.name}`;
}

/** The settings worth seeing for a resource, as fields. */
export function keySettings(run: StackRun, r: RecordedResource): ResourceSettings {
    const p = r.inputs;
    const s: ResourceSettings = {};
    const size = p.instanceType ?? p.instanceClass ?? p.instanceTypes;
    if (size !== undefined) {
        s.size = Array.isArray(size) ? size.join(",") : VALUE(size);
    }
    if (r.type === "aws:autoscaling/group:Group") {
        Object.assign(s, { min: p.minSize, desired: p.desiredCapacity, max: p.maxSize, zones: subnetZones(run, r, "vpcZoneIdentifiers") });
    }
    if (r.type === "eks:index:ManagedNodeGroup") {
        const c = p.scalingConfig ?? {};
        Object.assign(s, { min: c.minSize, desired: c.desiredSize, max: c.maxSize, zones: subnetZones(run, r, "subnetIds") });
    }
    if (r.type === "aws:ec2/subnet:Subnet") {
        s.cidr = p.cidrBlock;
        s.zone = `${p.availabilityZoneId} (${r.outputs.availabilityZone})`;
    } else if (typeof p.availabilityZone === "string") {
        s.zone = p.availabilityZone;
    }
    if (r.type === "aws:ec2/vpc:Vpc") {
        s.cidr = p.cidrBlock;
    }
    if (p.engine) {
        s.engine = `${p.engine} ${p.engineVersion}`;
    }
    if (p.multiAz === true) {
        s.multiAz = true;
    }
    if (typeof p.replicateSourceDb === "string") {
        s.replicates = VALUE(p.replicateSourceDb);
    }
    if (p.chart) {
        s.chart = `${p.chart} ${p.version}`;
    }
    if (r.type === "eks:index:Cluster") {
        s.kubernetes = p.version;
        s.apiAllowedCidrs = p.publicAccessCidrs;
    }
    if (r.type === "aws:ec2/networkInterface:NetworkInterface") {
        s.addresses = p.privateIps;
    }
    if (r.type.startsWith("aws:vpc/securityGroup")) {
        s.port = p.fromPort === p.toPort ? String(p.fromPort) : `${p.fromPort}-${p.toPort}`;
        const peer =
            p.cidrIpv4 ??
            p.cidrIpv6 ??
            groupName(run, r) ??
            (p.referencedSecurityGroupId !== undefined ? VALUE(p.referencedSecurityGroupId) : undefined);
        if (peer !== undefined) {
            s[r.type.includes("Egress") ? "to" : "from"] = peer;
        }
    }
    if (typeof p.region === "string") {
        s.region = p.region;
    }
    if (r.type === "aws:globalaccelerator/endpointGroup:EndpointGroup") {
        s.region = p.endpointGroupRegion;
        s.trafficDial = p.trafficDialPercentage;
        const endpoints: { weight?: number; clientIpPreservationEnabled?: boolean }[] = p.endpointConfigurations ?? [];
        s.weights = endpoints.length === 0 ? "none (no endpoint)" : endpoints.map((e) => `load balancer ${e.weight}`).join(", ");
    }
    if (r.type === "aws:globalaccelerator/accelerator:Accelerator") {
        s.staticIps = Array.isArray(r.outputs.ipSets)
            ? r.outputs.ipSets.flatMap((x: { ipAddresses?: string[] }) => x.ipAddresses ?? [])
            : undefined;
        s.dnsName = r.outputs.dnsName;
    }
    if (r.type === "aws:lambda/function:Function") {
        s.runtime = p.runtime;
    }
    if (r.type === "aws:lambda/function:Function" && typeof p.environment?.variables?.FAILOVER_CONFIG === "string") {
        try {
            const c = JSON.parse(p.environment.variables.FAILOVER_CONFIG) as Record<string, any>;
            const vantage = [...(c.httpProbes ?? []).map((x: { name: string }) => x.name), "accelerator-health", "witness"];
            const t = c.leaseTiming as { leaseMs: number; takeoverWaitMs: number } | undefined;
            const lease =
                t === undefined
                    ? ""
                    : ` once the writer lease (${c.leaseRegion}) is unrenewed for ${(t.leaseMs + t.takeoverWaitMs) / 1000}s`;
            s.watches = `${c.writerRegion} every ${c.intervalSeconds}s from ${vantage.join(",")}, quorum ${c.quorum}, fails over after ${c.maxFail} rounds${lease}, RPO budget ${c.maxLagSeconds}s`;
        } catch {
            s.watches = "(configuration unknown in a preview)";
        }
    }
    if (r.type === "aws:lambda/function:Function" && typeof p.environment?.variables?.AGENT_CONFIG === "string") {
        try {
            const c = JSON.parse(p.environment.variables.AGENT_CONFIG) as Record<string, any>;
            const t = c.timing as { leaseMs: number; marginMs: number; renewEveryMs: number };
            s.renews = `the writer lease (${c.leaseRegion}) every ${t.renewEveryMs / 1000}s while ${c.region} holds it; its database locks ${c.appUser} out ${(t.leaseMs - t.marginMs) / 1000}s after the last renewal`;
        } catch {
            s.renews = "(configuration unknown in a preview)";
        }
    }
    if (r.type === "aws:scheduler/schedule:Schedule") {
        s.schedule = `${p.scheduleExpression} ${p.state}`;
    }
    if (r.type === "aws:s3/bucket:Bucket" && p.objectLockEnabled === true) {
        s.objectLock = true;
    }
    if (r.type === "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration") {
        const d = p.rule?.defaultRetention ?? {};
        s.retention = `${d.mode} ${d.days !== undefined ? `${d.days} days` : `${d.years} years`}`;
    }
    if (r.type === "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration") {
        s.lifecycle = (p.rules ?? [])
            .flatMap((rule: { transitions?: { days: number; storageClass: string }[]; expiration?: { days?: number } }) => [
                ...(rule.transitions ?? []).map((t) => `${t.storageClass} after ${t.days} d`),
                ...(rule.expiration?.days !== undefined ? [`expire after ${rule.expiration.days} d`] : []),
            ])
            .join(", ");
    }
    if (r.type === "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication") {
        s.replicates = `${VALUE(p.sourceDbInstanceArn)}'s automated backups, kept ${p.retentionPeriod} d`;
    }
    if (r.type === "kubernetes:batch/v1:CronJob") {
        s.schedule = `${p.spec?.schedule} (${p.spec?.timeZone ?? "UTC"})`;
    }
    if (r.type === "aws:globalaccelerator/listener:Listener") {
        s.port = (p.portRanges ?? []).map((x: { fromPort: number }) => String(x.fromPort)).join(",");
    }
    if (Array.isArray(p.replicas)) {
        // A secret's replicas name their `region`, a DynamoDB global table's `regionName` (with
        // its consistency mode), and an MRSC table's witness stands beside them.
        s.replicaRegions = [
            ...p.replicas.map(
                (x: { region?: string; regionName?: string; consistencyMode?: string }) =>
                    `${String(x.region ?? x.regionName)}${x.consistencyMode !== undefined ? ` (${x.consistencyMode.toLowerCase()})` : ""}`,
            ),
            ...(p.globalTableWitness?.regionName !== undefined ? [`witness ${String(p.globalTableWitness.regionName)}`] : []),
        ];
    }
    if (r.protect) {
        s.protected = true;
    }
    return s;
}

/** The components in the order index.ts builds them (each depends on the ones before). */
const COMPONENT_ORDER = [
    "ecommerce:network:Network",
    "ecommerce:web:WebTier",
    "ecommerce:monitoring:MonitoringStack",
    "ecommerce:redis:RedisCluster",
    "ecommerce:db:DatabaseCluster",
    "ecommerce:backups:DatabaseBackups",
];

/**
 * Resources in a stable order (registration order varies run to run): components as the
 * program builds them, everything else by parent, type and name.
 */
function stableOrder(resources: readonly RecordedResource[]): RecordedResource[] {
    const rank = (r: RecordedResource) => {
        const i = COMPONENT_ORDER.indexOf(r.type);
        return i < 0 ? COMPONENT_ORDER.length : i;
    };
    return [...resources].sort(
        (a, b) =>
            (a.parent ?? "").localeCompare(b.parent ?? "") ||
            rank(a) - rank(b) ||
            a.type.localeCompare(b.type) ||
            a.name.localeCompare(b.name),
    );
}

/** The config key that decides a violation, where one does (per policy, and the resource's tier). */
export function configKeyOf(policy: string, resource: RecordedResource | undefined): string | undefined {
    const tier = resource?.inputs.tags?.Tier ?? resource?.inputs.labels?.["ecommerce/tier"];
    const byTier = (keys: Record<string, string>) => (typeof tier === "string" ? keys[tier] : undefined);
    switch (policy) {
        case "instance-size-by-tier":
            return byTier({
                web: "ecommerce:webInstanceType",
                redis: "ecommerce:redisInstanceType",
                db: "ecommerce:dbInstanceClass",
                monitoring: "ecommerce:eksNodeInstanceType",
            });
        case "tier-counts":
            return byTier({
                web: "ecommerce:webInstanceCount",
                redis: "ecommerce:redisNodeCount",
                db: "ecommerce:dbReplicaCount",
                monitoring: "ecommerce:eksNodeCount",
            });
        case "tier-az-spread":
            return "ecommerce:azIds";
        case "eks-endpoint-restricted":
            return "ecommerce:eksApiAllowedCidrs";
        case "rds-backups-and-deletion-protection":
            return "ecommerce:dbBackupRetentionDays";
        case "approved-versions":
            return resource?.type === "aws:rds/instance:Instance"
                ? "ecommerce:dbEngineVersion"
                : resource?.type.startsWith("eks:") || resource?.type.startsWith("aws:eks/")
                  ? "ecommerce:eksVersion"
                  : resource?.type === "aws:ec2/instance:Instance"
                    ? "ecommerce:redisVersion"
                    : undefined;
        default:
            return undefined;
    }
}

/** The stack's own config, parsed (undefined when the program itself refused it). */
function configOf(run: StackRun): PlatformConfig | GlobalConfig | undefined {
    try {
        return parseStackConfig((k) => run.config[k], run.stack);
    } catch (err) {
        if (err instanceof ConfigError) {
            return undefined;
        }
        throw err;
    }
}

/** What the global stack leaves to the operator: the public name, when no zone is configured. */
function globalLimitsOf(cfg: GlobalConfig): string[] {
    if (cfg.traffic.publicZoneId !== "") {
        return [];
    }
    return [
        `Public name: ecommerce:publicZoneId is empty, so no record is created for ${cfg.siteHostname}: point it at the accelerator yourself, ` +
            "a CNAME to the stack output acceleratorDnsName or A records to the two staticIps (they never change).",
    ];
}

/** Known limits of a placement: a zone whose loss takes the Sentinel majority with it. */
function limitsOf(cfg: PlatformConfig): string[] {
    const zoneCount = cfg.network.azIds.length;
    const cidrs = cfg.network.azIds.map((_, i) => subnetCidr(cfg.network.vpcCidr, "data", i));
    const nodes = pinnedNodes(cfg.redis.nodeCount, cidrs);
    if (
        survivesZoneLoss(
            nodes.map((n) => n.zoneIndex),
            zoneCount,
        )
    ) {
        return [];
    }
    return [
        `Redis: ${cfg.region} has ${zoneCount} usable AZs, so two of the three Redis/Sentinel nodes share one; losing that zone loses the Sentinel majority (no automatic Redis failover until it returns).`,
    ];
}

function planStack(run: StackRun, evaluationDate: string | undefined): StackPlan {
    const cfg = configOf(run);
    const verdicts = run.errors.length === 0 ? runPolicies(run, ALL_POLICIES, evaluationDate ? judgedOn(evaluationDate) : {}) : [];
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const violations = verdicts
        .filter((v) => v.enforcementLevel === "mandatory")
        .flatMap((v) =>
            v.violations.map((x) => ({
                policy: v.policy,
                message: x.message,
                configKey: configKeyOf(v.policy, x.urn ? byUrn.get(x.urn) : undefined),
            })),
        );
    return {
        stack: run.stack,
        region: run.config["aws:region"],
        role: cfg === undefined ? "(config refused)" : cfg.kind === "global" ? "global" : cfg.role,
        resources: stableOrder(run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).map((r) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            parent: r.parent,
            settings: keySettings(run, r),
        })),
        verdicts,
        violations,
        limits: cfg === undefined ? [] : cfg.kind === "global" ? globalLimitsOf(cfg) : limitsOf(cfg),
        warnings:
            cfg === undefined
                ? []
                : [
                      ...placeholdersIn(cfg).map(describePlaceholder),
                      ...(cfg.kind === "site" ? [bakedAmiReminder(cfg)].filter((w): w is string => w !== undefined) : []),
                  ],
        errors: run.errors,
    };
}

export async function plan(options: PlanOptions): Promise<{ plan: Plan; runs: StackRun[] }> {
    const runs: StackRun[] = [];
    for (const stack of options.stacks) {
        runs.push(await runProgram({ stack, preview: options.preview, config: options.config }));
    }
    const stacks = runs.map((run) => planStack(run, options.evaluationDate));
    let parity: Plan["parity"];
    const primary = runs.find((r) => r.stack === "primary");
    const dr = runs.find((r) => r.stack === "dr");
    if (primary && dr && primary.errors.length === 0 && dr.errors.length === 0) {
        const report = compareStacks(primary, dr, PARITY_ALLOW_LIST);
        parity = {
            unexplained: report.unexplained.map(formatDifference),
            // In a preview, a value unknown in both stacks cannot differ: an entry explaining it
            // is idle, not stale. Staleness is judged on update runs (and by the tests).
            staleEntries: options.preview ? [] : report.unusedEntries.map((e) => `${e.type} ${String(e.name)} ${String(e.field)}`),
            explained: report.explained.length,
        };
    }
    let cost: CostEstimate | undefined;
    const costProblems: string[] = [];
    try {
        cost = estimate(runs, Object.fromEntries(stacks.map((s) => [s.stack, s.role])), options.evaluationDate ?? new Date());
    } catch (err) {
        if (!(err instanceof ConfigError)) {
            throw err;
        }
        costProblems.push(`${err.stack}: the cost estimate's assumptions: ${err.problems.join("; ")}`);
    }
    const problems = [...stacks.flatMap(stackProblems), ...parityProblems(parity), ...costProblems];
    const ok = problems.length === 0;
    const summary = ok
        ? `plan OK: ${stacks.map(stackSummary).join(", ")}${parity ? `; parity OK (${parity.explained} allowed differences)` : ""}`
        : `plan FAILED: ${problems.join("; ")}`;
    return { plan: { stacks, parity, cost, ok, summary }, runs };
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/** `dr (125 resources, 16 policies passed, 1 advisory warning, 3 deploy warnings)`. */
function stackSummary(s: StackPlan): string {
    const passed = s.verdicts.filter((v) => v.violations.length === 0 && v.notApplicable === undefined).length;
    const notApplicable = s.verdicts.filter((v) => v.notApplicable !== undefined).length;
    const advisory = s.verdicts.filter((v) => v.enforcementLevel !== "mandatory").reduce((n, v) => n + v.violations.length, 0);
    const parts = [
        count(s.resources.length, "resource"),
        `${passed} ${passed === 1 ? "policy" : "policies"} passed`,
        ...(notApplicable > 0 ? [`${notApplicable} not applicable`] : []),
        ...(advisory > 0 ? [count(advisory, "advisory warning")] : []),
        ...(s.warnings.length > 0 ? [count(s.warnings.length, "deploy warning")] : []),
    ];
    return `${s.stack} (${parts.join(", ")})`;
}

function stackProblems(s: StackPlan): string[] {
    const problems: string[] = [];
    if (s.errors.length > 0) {
        // The reason itself (the key, the value, what is allowed), not only that it failed.
        // An error that lists its problems ("Invalid configuration ...:" then "  - key = value: ...")
        // is summed up by them; any other by its first line.
        const first = s.errors
            .flatMap((e) => {
                const lines = e.split("\n").map((l) => l.trim());
                const listed = lines.filter((l) => l.startsWith("- ")).map((l) => l.slice(2));
                return listed.length > 0 ? listed : [lines[0]];
            })
            .filter((e) => e !== "");
        const more = first.length > 2 ? ` (and ${first.length - 2} more)` : "";
        problems.push(`${s.stack}: the program failed: ${first.slice(0, 2).join("; ")}${more}`);
    }
    if (s.violations.length > 0) {
        const byPolicy = new Map<string, Set<string>>();
        for (const v of s.violations) {
            const keys = byPolicy.get(v.policy) ?? new Set<string>();
            if (v.configKey) {
                keys.add(v.configKey);
            }
            byPolicy.set(v.policy, keys);
        }
        const policies = [...byPolicy].map(([policy, keys]) => (keys.size > 0 ? `${policy}: ${[...keys].join(", ")}` : policy));
        problems.push(
            `${s.stack}: ${s.violations.length} mandatory violation${s.violations.length === 1 ? "" : "s"} (${policies.join("; ")})`,
        );
    }
    const vacuous = s.verdicts.filter((v) => v.examined === 0 && v.notApplicable === undefined).map((v) => v.policy);
    if (vacuous.length > 0) {
        problems.push(`${s.stack}: policies that examined nothing: ${vacuous.join(", ")}`);
    }
    return problems;
}

function parityProblems(parity: Plan["parity"]): string[] {
    if (!parity || (parity.unexplained.length === 0 && parity.staleEntries.length === 0)) {
        return [];
    }
    const stale = parity.staleEntries.length;
    return [`parity: ${parity.unexplained.length} unexplained difference(s), ${stale} stale allow-list entr${stale === 1 ? "y" : "ies"}`];
}
