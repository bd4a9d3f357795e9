/**
 * What each stack costs a month: every resource the offline run recorded, priced with the
 * table of lib/prices.ts (on-demand list prices) and the usage assumptions of the stack's
 * config (lib/config.ts parseCostAssumptions). Components are the subtotals (tiers).
 *
 * Nothing is silently zero: a resource is priced, known to be free (lib/prices.ts FREE_TYPES,
 * or a kind that costs nothing by itself), or listed as not priced with the reason. A price
 * that depends on usage says what it assumed, with the config key to change it.
 */
import { COST_ASSUMPTION_KEYS, type CostAssumptions, parseCostAssumptions } from "../lib/config";
import {
    FREE_TYPES,
    HOURS_PER_MONTH,
    PRICE_TABLE_MAX_AGE_DAYS,
    PRICED_REGIONS,
    type PricedRegion,
    priceRow,
    priceTableAgeDays,
    PRICES_READ_ON,
} from "../lib/prices";
import { type RecordedResource, type StackRun, UNKNOWN } from "./run";

export interface CostItem {
    readonly what: string;
    readonly quantity: number;
    readonly unit: string;
    /** The lib/prices.ts row and the region it was read for. */
    readonly priceKey: string;
    readonly region: string;
    readonly rateUsd: number;
    readonly monthlyUsd: number;
}

export interface ResourceCost {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** The component it belongs to (`WebTier web`), or "(stack)". */
    readonly tier: string;
    readonly monthlyUsd: number;
    readonly items: readonly CostItem[];
    /** Why a priced kind costs nothing here (a disabled schedule, a function run on demand only). */
    readonly note?: string;
}

export interface NotPriced {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly tier: string;
    readonly reason: string;
}

export interface TierCost {
    readonly tier: string;
    readonly monthlyUsd: number;
}

export interface UsedAssumption {
    readonly key: string;
    readonly value: number;
    readonly meaning: string;
}

export interface StackCost {
    readonly stack: string;
    readonly region: string;
    readonly role: string;
    readonly monthlyUsd: number;
    readonly tiers: readonly TierCost[];
    readonly resources: readonly ResourceCost[];
    readonly notPriced: readonly NotPriced[];
    readonly assumptions: readonly UsedAssumption[];
}

/** Not priced, and why: a missing row, a region the table lacks, a setting the estimate does not model. */
class NotPricedError extends Error {}

const MEANING: Readonly<Record<keyof CostAssumptions, string>> = {
    shopperEgressGiB: "GB a month sent to shoppers (the writer's stack only)",
    albLcu: "average LCUs of the writer's load balancer (the standby's: none)",
    natGiB: "GB a month out through the NAT gateways, per site",
    replicationGiB: "GB a month replicated to another region (binary log, backup changes)",
    backupGiB: "GB of one compressed backup, one a day",
    logsGiB: "GB of logs ingested a month, per stack",
    dynamoDbMillionRequests: "million writes and as many reads a month, per DynamoDB table",
};

const round2 = (n: number) => Math.round(n * 100) / 100;
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Everything one stack's pricing needs, and the assumptions it used. */
class Pricer {
    readonly used = new Set<keyof CostAssumptions>();
    private readonly byUrn: Map<string, RecordedResource>;

    constructor(
        readonly run: StackRun,
        readonly region: string,
        readonly role: string,
        private readonly assumptions: CostAssumptions,
    ) {
        this.byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    }

    assume(name: keyof CostAssumptions): number {
        this.used.add(name);
        return this.assumptions[name];
    }

    get writer(): boolean {
        return this.role === "writer";
    }

    of(type: string): RecordedResource[] {
        return this.run.resources.filter((r) => r.type === type);
    }

    /** The resource an input was built from (its property dependency), if of `type`. */
    source(r: RecordedResource, property: string, type: string): RecordedResource | undefined {
        return (r.propertyDependencies[property] ?? []).map((urn) => this.byUrn.get(urn)).find((x) => x?.type === type);
    }

    /** The top-level component a resource belongs to, as `WebTier web`. */
    tier(r: RecordedResource): string {
        let top: RecordedResource | undefined;
        for (let at: RecordedResource | undefined = r; at !== undefined; at = at.parent ? this.byUrn.get(at.parent) : undefined) {
            if (at.type.startsWith("ecommerce:")) {
                top = at;
            }
        }
        return top === undefined ? "(stack)" : `${top.type.split(":")[2]} ${top.name}`;
    }

    regionOf(r: RecordedResource): string {
        return typeof r.inputs.region === "string" ? r.inputs.region : this.region;
    }

    item(what: string, quantity: number, unit: string, priceKey: string, region: string): CostItem {
        const row = priceRow(priceKey);
        if (row === undefined) {
            throw new NotPricedError(`lib/prices.ts has no row ${priceKey}`);
        }
        if (!(PRICED_REGIONS as readonly string[]).includes(region)) {
            throw new NotPricedError(`lib/prices.ts has no prices for ${region} (it covers ${PRICED_REGIONS.join(", ")})`);
        }
        const rateUsd = row.usd[region as PricedRegion];
        return { what, quantity, unit, priceKey, region, rateUsd, monthlyUsd: quantity * rateUsd };
    }

    hours(what: string, priceKey: string, region: string, count = 1): CostItem {
        return this.item(what, count * HOURS_PER_MONTH, "hours", priceKey, region);
    }
}

/** The price row of data sent from one region to another (us-east-1 and us-east-2 have their own). */
function transferKey(from: string, to: string): string {
    return [from, to].sort().join("-") === "us-east-1-us-east-2" ? "transfer:us-east-1-us-east-2" : "transfer:inter-region";
}

/** A count that must be a whole number of things: a preview's unknown or a missing setting is not priced. */
function countOf(value: unknown, what: string): number {
    const n = Number(value);
    if (value === undefined || value === null || value === UNKNOWN || !Number.isFinite(n) || n < 0) {
        throw new NotPricedError(`${what} is unknown (${String(value)})`);
    }
    return n;
}

/** A volume's items: gp3 (with IOPS and throughput above its baseline) or gp2, `count` of them. */
function volumeItems(p: Pricer, what: string, region: string, v: Record<string, any>, count = 1, defaultType = "gp3"): CostItem[] {
    const type = String(v.volumeType ?? defaultType);
    const size = Number(v.volumeSize);
    if (!Number.isFinite(size)) {
        throw new NotPricedError(`${what}: its size is unknown`);
    }
    if (type === "gp2") {
        return [p.item(`${what}: ${count} x ${size} GB gp2`, count * size, "GB-month", "ebs:gp2", region)];
    }
    if (type !== "gp3") {
        throw new NotPricedError(`${what}: volume type ${type} is not in the table (gp3, gp2)`);
    }
    const items = [p.item(`${what}: ${count} x ${size} GB gp3`, count * size, "GB-month", "ebs:gp3", region)];
    const iops = Number(v.iops ?? 3000) - 3000;
    if (iops > 0) {
        items.push(p.item(`${what}: IOPS above 3000`, count * iops, "IOPS-month", "ebs:gp3-iops", region));
    }
    const throughput = Number(v.throughput ?? 125) - 125;
    if (throughput > 0) {
        items.push(p.item(`${what}: throughput above 125 MiB/s`, count * throughput, "MiB/s-month", "ebs:gp3-throughput", region));
    }
    return items;
}

/** `count` instances of a launch template: its instance type (or `type`) and its root volume. */
function fleetItems(p: Pricer, r: RecordedResource, count: number, typeOverride?: string): CostItem[] {
    const template = p.source(r, "launchTemplate", "aws:ec2/launchTemplate:LaunchTemplate");
    const type = typeOverride ?? template?.inputs.instanceType;
    if (typeof type !== "string") {
        throw new NotPricedError("its instance type is unknown (no launch template with one)");
    }
    const region = p.regionOf(r);
    const items = [p.hours(`${count} x ${type}`, `ec2:${type}`, region, count)];
    const ebs = template?.inputs.blockDeviceMappings?.[0]?.ebs;
    if (ebs !== undefined) {
        items.push(...volumeItems(p, "root volumes", region, ebs, count));
    } else if (r.inputs.diskSize !== undefined) {
        items.push(...volumeItems(p, "node disks", region, { volumeSize: r.inputs.diskSize }, count, "gp2"));
    }
    return items;
}

/** Runs a month of a `rate(N unit)` schedule; undefined for a cron expression. */
function perMonth(expression: string): { runs: number; periodSeconds: number } | undefined {
    const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
    if (!m) {
        return undefined;
    }
    const unitSeconds = m[2].startsWith("minute") ? 60 : m[2].startsWith("hour") ? 3600 : 86_400;
    const periodSeconds = Number(m[1]) * unitSeconds;
    return { runs: (HOURS_PER_MONTH * 3600) / periodSeconds, periodSeconds };
}

/** "100Gi" -> 100 (GiB). */
function gib(size: unknown): number | undefined {
    const m = /^(\d+(?:\.\d+)?)(Gi|Ti|Mi)$/.exec(String(size));
    return m ? Number(m[1]) * (m[2] === "Ti" ? 1024 : m[2] === "Mi" ? 1 / 1024 : 1) : undefined;
}

/** The persistent volumes a Helm release's values claim: volume claim templates (times their replicas) and `persistence` blocks. */
function claimedVolumes(
    values: unknown,
    replicas = 1,
    found: { where: string; gib: number; count: number }[] = [],
    path = "",
): typeof found {
    if (values === null || typeof values !== "object" || Array.isArray(values)) {
        return found;
    }
    const v = values as Record<string, any>;
    const here = typeof v.replicas === "number" ? v.replicas : replicas;
    const template = gib(v.volumeClaimTemplate?.spec?.resources?.requests?.storage);
    if (template !== undefined) {
        found.push({ where: path, gib: template, count: here });
    }
    if (v.persistence?.enabled === true && gib(v.persistence.size) !== undefined) {
        found.push({ where: `${path}.persistence`, gib: gib(v.persistence.size)!, count: here });
    }
    for (const [k, child] of Object.entries(v)) {
        if (k !== "volumeClaimTemplate" && k !== "persistence") {
            claimedVolumes(child, here, found, path ? `${path}.${k}` : k);
        }
    }
    return found;
}

/** A resource's items, or a note on why a priced kind costs nothing here. Throws NotPricedError. */
function price(p: Pricer, r: RecordedResource): { items: CostItem[]; note?: string } | undefined {
    const i = r.inputs;
    const region = p.regionOf(r);
    switch (r.type) {
        case "aws:ec2/instance:Instance": {
            const items = [p.hours(`1 x ${i.instanceType}`, `ec2:${i.instanceType}`, region)];
            if (i.rootBlockDevice !== undefined) {
                items.push(...volumeItems(p, "root volume", region, i.rootBlockDevice));
            }
            return { items };
        }
        case "aws:autoscaling/group:Group":
            return { items: fleetItems(p, r, countOf(i.desiredCapacity ?? i.minSize, "its desired capacity")) };
        case "eks:index:ManagedNodeGroup":
            // pulumi-eks's default scaling is 2 nodes.
            return {
                items: fleetItems(
                    p,
                    r,
                    countOf(i.scalingConfig === undefined ? 2 : i.scalingConfig.desiredSize, "its desired size"),
                    i.instanceTypes?.[0],
                ),
            };
        case "eks:index:Cluster":
            return { items: [p.hours("control plane", "eks:cluster", region)] };
        case "aws:rds/instance:Instance":
            return { items: rdsItems(p, r, region) };
        case "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": {
            const source = sourceDatabase(p, String(i.sourceDbInstanceArn));
            const storage = allocatedGiB(p, source);
            return {
                items: [
                    p.item(
                        `automated backups kept in ${region}: one full copy, ${storage} GB`,
                        storage,
                        "GB-month",
                        "rds-backup-storage",
                        region,
                    ),
                    p.item(`changes copied to ${region}`, p.assume("replicationGiB"), "GB", transferKey(p.region, region), p.region),
                ],
            };
        }
        case "aws:ec2/natGateway:NatGateway": {
            const gateways = p.of(r.type).length;
            return {
                items: [
                    p.hours("gateway", "nat:hour", region),
                    p.item(`traffic processed (1/${gateways} of the site's)`, p.assume("natGiB") / gateways, "GB", "nat:processed", region),
                ],
            };
        }
        case "aws:ec2/eip:Eip":
            return { items: [p.hours("public IPv4 address", "public-ipv4", region)] };
        case "aws:lb/loadBalancer:LoadBalancer": {
            if ((i.loadBalancerType ?? "application") !== "application") {
                throw new NotPricedError(`load balancer type ${i.loadBalancerType}: the table prices application load balancers`);
            }
            const items = [p.hours("load balancer", "alb:hour", region)];
            const lcu = p.assume("albLcu");
            if (p.writer) {
                items.push(p.item(`${lcu} LCU on average`, lcu * HOURS_PER_MONTH, "LCU-hours", "alb:lcu", region));
                items.push(p.item("data sent to shoppers", p.assume("shopperEgressGiB"), "GB", "transfer:internet", region));
            }
            if (i.internal !== true) {
                const subnets = i.subnets ?? i.subnetMappings;
                if (!Array.isArray(subnets)) {
                    throw new NotPricedError(
                        "an internet-facing load balancer whose subnets are unknown: its public addresses cannot be counted",
                    );
                }
                const addresses = subnets.length;
                items.push(p.hours(`${addresses} public IPv4 addresses`, "public-ipv4", region, addresses));
            }
            return { items };
        }
        case "aws:globalaccelerator/accelerator:Accelerator":
            return {
                items: [
                    p.hours("accelerator", "accelerator:hour", region),
                    p.item(
                        "data transfer premium on the shop's traffic",
                        p.assume("shopperEgressGiB"),
                        "GB",
                        "accelerator:premium",
                        region,
                    ),
                ],
            };
        case "aws:kms/key:Key":
            return { items: [p.item("customer managed key", 1, "month", "kms:key", region)] };
        case "aws:secretsmanager/secret:Secret": {
            const copies = 1 + (Array.isArray(i.replicas) ? i.replicas.length : 0);
            return {
                items: [p.item(copies > 1 ? `secret and ${copies - 1} replica(s)` : "secret", copies, "secret-months", "secret", region)],
            };
        }
        case "aws:cloudwatch/metricAlarm:MetricAlarm": {
            const metrics = Array.isArray(i.metricQueries)
                ? Math.max(1, i.metricQueries.filter((q: { metric?: unknown }) => q.metric !== undefined).length)
                : 1;
            return { items: [p.item(`alarm on ${metrics} metric(s)`, metrics, "alarm-metric-months", "cloudwatch:alarm", region)] };
        }
        case "aws:cloudwatch/logGroup:LogGroup": {
            const groups = p.of(r.type).length;
            const ingested = p.assume("logsGiB") / groups;
            const days = Number(i.retentionInDays ?? 0);
            const kept = days > 0 ? (ingested * days) / 30 : ingested * 12;
            return {
                items: [
                    p.item(`logs ingested (1/${groups} of the stack's)`, ingested, "GB", "cloudwatch:logs-ingest", region),
                    p.item(
                        days > 0 ? `logs kept ${days} days` : "logs kept forever (a year's worth priced)",
                        kept,
                        "GB-month",
                        "cloudwatch:logs-storage",
                        region,
                    ),
                ],
            };
        }
        case "aws:s3/bucket:Bucket":
            return { items: bucketItems(p, r, region) };
        case "aws:dynamodb/table:Table": {
            if ((i.billingMode ?? "PROVISIONED") !== "PAY_PER_REQUEST") {
                throw new NotPricedError(`billing mode ${i.billingMode ?? "PROVISIONED"}: the table prices on-demand tables`);
            }
            const million = p.assume("dynamoDbMillionRequests");
            const replicas = Array.isArray(i.replicas) ? i.replicas.length : 0;
            const items = [
                p.item(`${million} million writes`, million, "million WRU", "dynamodb:write", region),
                p.item(`${million} million reads`, million, "million RRU", "dynamodb:read", region),
            ];
            if (replicas > 0) {
                items.push(
                    p.item(
                        `writes replicated to ${replicas} replica(s)`,
                        million * replicas,
                        "million rWRU",
                        "dynamodb:replicated-write",
                        region,
                    ),
                );
            }
            return { items };
        }
        case "aws:lambda/function:Function":
            return lambdaItems(p, r, region);
        case "aws:scheduler/schedule:Schedule": {
            const schedule = perMonth(String(i.scheduleExpression));
            if (i.state === "DISABLED") {
                return { items: [], note: "disabled in this stack" };
            }
            if (schedule === undefined) {
                throw new NotPricedError(`schedule ${i.scheduleExpression}: only rate() expressions are priced`);
            }
            return {
                items: [
                    p.item(
                        `${Math.round(schedule.runs)} invocations`,
                        schedule.runs / 1e6,
                        "million invocations",
                        "scheduler:invocations",
                        region,
                    ),
                ],
            };
        }
        case "aws:route53/zone:Zone":
            return { items: [p.item("hosted zone", 1, "month", "route53:zone", region)] };
        case "kubernetes:helm.sh/v3:Release": {
            if (i.values === UNKNOWN) {
                throw new NotPricedError("its values are known only after apply (a first preview): its volumes are not counted");
            }
            const volumes = claimedVolumes(i.values);
            if (volumes.length === 0) {
                return { items: [], note: "no persistent volume" };
            }
            return {
                items: volumes.flatMap((v) =>
                    volumeItems(p, `volume ${v.where}`, region, { volumeSize: v.gib, volumeType: "gp3" }, v.count),
                ),
            };
        }
        default:
            return undefined;
    }
}

function sourceDatabase(p: Pricer, ref: string): RecordedResource | undefined {
    const id = ref.split(":db:").pop();
    return p.of("aws:rds/instance:Instance").find((d) => d.inputs.identifier === id || d.inputs.identifier === ref);
}

/** A database's storage: its own, its source's in this stack, or the stack's configured size (a replica inherits its source's). */
function allocatedGiB(p: Pricer, db: RecordedResource | undefined): number {
    const own = Number(db?.inputs.allocatedStorage);
    if (Number.isFinite(own) && own > 0) {
        return own;
    }
    const source = typeof db?.inputs.replicateSourceDb === "string" ? sourceDatabase(p, db.inputs.replicateSourceDb) : undefined;
    if (source !== undefined && source !== db) {
        return allocatedGiB(p, source);
    }
    const configured = Number(p.run.config["ecommerce:dbAllocatedStorageGiB"]);
    if (!Number.isFinite(configured)) {
        throw new NotPricedError("its storage size is unknown");
    }
    return configured;
}

function rdsItems(p: Pricer, r: RecordedResource, region: string): CostItem[] {
    const i = r.inputs;
    const copies = i.multiAz === true ? 2 : 1;
    const az = copies === 2 ? "Multi-AZ (two instances)" : "Single-AZ";
    const storage = allocatedGiB(p, r);
    const type = String(i.storageType ?? "gp2");
    const items = [
        p.hours(`${i.instanceClass}, ${az}`, `rds:${i.instanceClass}`, region, copies),
        p.item(`${storage} GB ${type}${copies === 2 ? " x 2" : ""}`, storage * copies, "GB-month", `rds-storage:${type}`, region),
    ];
    const source = typeof i.replicateSourceDb === "string" ? /^arn:aws:rds:([a-z0-9-]+):/.exec(i.replicateSourceDb)?.[1] : undefined;
    if (source !== undefined && source !== region) {
        // AWS bills it in the source region; it is the standby's cost, so it is counted here.
        items.push(
            p.item(`replication from ${source} (billed there)`, p.assume("replicationGiB"), "GB", transferKey(source, region), source),
        );
    }
    return items;
}

function bucketItems(p: Pricer, r: RecordedResource, region: string): CostItem[] {
    const lifecycle = p
        .of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        .find((l) => (l.propertyDependencies.bucket ?? []).includes(r.urn));
    const rule = (lifecycle?.inputs.rules ?? []).find(
        (x: { transitions?: unknown[] }) => Array.isArray(x.transitions) && x.transitions.length > 0,
    );
    if (r.inputs.tags?.Tier !== "db" || rule === undefined) {
        throw new NotPricedError("what it stores is not assumed (only the database backup buckets are)");
    }
    // One backup a day, kept `expiration` days: `transition` of them in S3 Standard, the rest in the colder class.
    const size = p.assume("backupGiB");
    const expiration = countOf(rule.expiration?.days, "the backups' expiration (days)");
    const transition = countOf(rule.transitions[0].days, "the backups' transition (days)");
    const colder = String(rule.transitions[0].storageClass);
    const items = [
        p.item(
            `${Math.min(transition, expiration)} daily backups in S3 Standard`,
            size * Math.min(transition, expiration),
            "GB-month",
            "s3:STANDARD",
            region,
        ),
    ];
    if (expiration > transition) {
        items.push(
            p.item(
                `${expiration - transition} daily backups in ${colder}`,
                size * (expiration - transition),
                "GB-month",
                `s3:${colder}`,
                region,
            ),
        );
    }
    if (region !== p.region) {
        // The backup job runs on the EKS nodes in private subnets: a bucket in another region is
        // reached through the NAT gateways (a gateway endpoint serves its own region only).
        items.push(p.item(`a backup a day copied from ${p.region}`, size * 30, "GB", transferKey(p.region, region), p.region));
        items.push(p.item(`the copies through the NAT gateways`, size * 30, "GB", "nat:processed", p.region));
    }
    return items;
}

function lambdaItems(p: Pricer, r: RecordedResource, region: string): { items: CostItem[]; note?: string } {
    const i = r.inputs;
    const targeting = p
        .of("aws:scheduler/schedule:Schedule")
        .filter(
            (s) =>
                (s.propertyDependencies.target ?? []).includes(r.urn) ||
                (typeof s.inputs.target?.arn === "string" && s.inputs.target.arn.endsWith(`:function:${i.name}`)),
        );
    const schedules = targeting.filter((s) => s.inputs.state !== "DISABLED");
    if (schedules.length === 0) {
        return {
            items: [],
            note:
                targeting.length > 0
                    ? "its schedule is disabled in this stack"
                    : "invoked on demand only (a failover, a restore): not counted",
        };
    }
    const memoryGb = countOf(i.memorySize ?? 128, "its memory size") / 1024;
    return {
        items: schedules.flatMap((s) => {
            const schedule = perMonth(String(s.inputs.scheduleExpression));
            if (schedule === undefined) {
                throw new NotPricedError(`schedule ${s.inputs.scheduleExpression}: only rate() expressions are priced`);
            }
            // The watch loops run through their period: each run is priced at its whole period, capped by the timeout.
            const seconds = Math.min(countOf(i.timeout ?? 3, "its timeout"), schedule.periodSeconds);
            return [
                p.item(`${Math.round(schedule.runs)} invocations`, schedule.runs / 1e6, "million requests", "lambda:requests", region),
                p.item(
                    `${seconds} s at ${i.memorySize ?? 128} MB per run`,
                    schedule.runs * seconds * memoryGb,
                    "GB-seconds",
                    "lambda:compute",
                    region,
                ),
            ];
        }),
    };
}

/** Costs nothing by itself: a type of FREE_TYPES, our components, providers, generated values. */
function free(r: RecordedResource): boolean {
    return (
        FREE_TYPES.has(r.type) || r.type.startsWith("ecommerce:") || r.type.startsWith("pulumi:providers:") || r.type.startsWith("random:")
    );
}

/** Prices one stack's recorded run. Throws ConfigError for a bad assumption. */
export function stackCost(run: StackRun, role: string): StackCost {
    const region = run.config["aws:region"];
    const assumptions = parseCostAssumptions((k) => run.config[k], run.stack);
    const p = new Pricer(run, region, role, assumptions);
    const resources: ResourceCost[] = [];
    const notPriced: NotPriced[] = [];
    for (const r of run.resources) {
        const tier = p.tier(r);
        try {
            const priced = price(p, r);
            if (priced === undefined) {
                if (!free(r)) {
                    notPriced.push({
                        urn: r.urn,
                        type: r.type,
                        name: r.name,
                        tier,
                        reason: "no price row for this type, and it is not known to be free",
                    });
                }
                continue;
            }
            const monthlyUsd = sum(priced.items.map((x) => x.monthlyUsd));
            resources.push({
                urn: r.urn,
                type: r.type,
                name: r.name,
                tier,
                monthlyUsd,
                items: priced.items,
                ...(priced.note ? { note: priced.note } : {}),
            });
        } catch (err) {
            if (!(err instanceof NotPricedError)) {
                throw err;
            }
            notPriced.push({ urn: r.urn, type: r.type, name: r.name, tier, reason: err.message });
        }
    }
    // Registration order varies run to run: the lists are sorted, so the output is stable.
    const byPlace = (a: { tier: string; type: string; name: string }, b: { tier: string; type: string; name: string }) =>
        a.tier.localeCompare(b.tier) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name);
    resources.sort(byPlace);
    notPriced.sort(byPlace);
    const tierNames = [...new Set(resources.map((r) => r.tier))];
    const tiers = tierNames
        .map((tier) => ({ tier, monthlyUsd: round2(sum(resources.filter((r) => r.tier === tier).map((r) => r.monthlyUsd))) }))
        .sort((a, b) => b.monthlyUsd - a.monthlyUsd);
    return {
        stack: run.stack,
        region,
        role,
        monthlyUsd: round2(sum(resources.map((r) => r.monthlyUsd))),
        tiers,
        resources,
        notPriced,
        assumptions: [...p.used]
            .sort()
            .map((name) => ({ key: COST_ASSUMPTION_KEYS[name], value: assumptions[name], meaning: MEANING[name] })),
    };
}

export interface CostEstimate {
    readonly currency: "USD";
    readonly pricesReadOn: string;
    readonly pricesAgeDays: number;
    /** The table is older than PRICE_TABLE_MAX_AGE_DAYS: an advisory, the figures may have moved. */
    readonly pricesStale: boolean;
    readonly hoursPerMonth: number;
    readonly stacks: readonly StackCost[];
    readonly monthlyUsd: number;
    /** The standby site's stacks: their cost, and their share of the whole. */
    readonly standby?: { readonly stacks: readonly string[]; readonly monthlyUsd: number; readonly share: number };
    readonly pilotLight?: PilotLight;
}

export interface PilotLight {
    readonly stack: string;
    /** What a pilot light would stop paying for in the standby, with what it saves a month. */
    readonly savings: readonly { readonly what: string; readonly monthlyUsd: number }[];
    readonly warmStandbyUsd: number;
    readonly pilotLightUsd: number;
    readonly rto: { readonly warmStandby: string; readonly pilotLight: string };
}

/**
 * The same standby as a pilot light, for comparison only (the seed asks for identical stacks,
 * so this is never a config mode): the web fleet, Redis and the EKS nodes scaled to zero, the
 * two read replicas dropped (created again after a failover); the cross-region database
 * replica, the network, the load balancer, the EKS control plane and the failover machinery kept.
 */
export function pilotLight(standby: StackCost, config: Readonly<Record<string, string>> = {}): PilotLight {
    const stopped = (r: ResourceCost): string | undefined => {
        if (r.type === "aws:autoscaling/group:Group" && r.tier.startsWith("WebTier")) {
            return "the web fleet (instances and root volumes)";
        }
        if (r.type === "aws:ec2/instance:Instance" && r.tier.startsWith("RedisCluster")) {
            return "the Redis nodes";
        }
        if (r.type === "eks:index:ManagedNodeGroup") {
            return "the EKS nodes (Prometheus and Grafana rebuilt after a failover)";
        }
        if (r.type === "aws:rds/instance:Instance" && r.name.startsWith("db-replica")) {
            return "the two read replicas";
        }
        return undefined;
    };
    const savings = new Map<string, number>();
    for (const r of standby.resources) {
        const what = stopped(r);
        if (what !== undefined) {
            savings.set(what, (savings.get(what) ?? 0) + r.monthlyUsd);
        }
    }
    const saved = sum([...savings.values()]);
    return {
        stack: standby.stack,
        savings: [...savings].map(([what, monthlyUsd]) => ({ what, monthlyUsd: round2(monthlyUsd) })),
        warmStandbyUsd: standby.monthlyUsd,
        pilotLightUsd: round2(standby.monthlyUsd - saved),
        rto: {
            warmStandby: `minutes: ${decides(config)}, the writer lease's lapse, then the RDS replica's promotion; the web fleet, Redis and monitoring already run`,
            pilotLight: `add 10-20 minutes, an estimate, not measured: launch ${config["ecommerce:webInstanceCount"] ?? "the"} web instances and ${config["ecommerce:redisNodeCount"] ?? "the"} Redis nodes, re-form the Sentinel quorum with cold caches, scale the EKS nodes; read traffic on the writer alone until new read replicas are created`,
        },
    };
}

/** How the controller decides, from the stack's config: `3 failed rounds of 10 s`. */
function decides(config: Readonly<Record<string, string>>): string {
    const rounds = config["ecommerce:failoverMaxFail"];
    const interval = config["ecommerce:failoverIntervalSeconds"];
    return rounds !== undefined && interval !== undefined ? `${rounds} failed rounds of ${interval} s` : "the controller's failed rounds";
}

/** Prices every stack of a plan; `roles` is each stack's role (writer, standby, global). */
export function estimate(
    runs: readonly StackRun[],
    roles: Readonly<Record<string, string>>,
    today: string | Date = new Date(),
): CostEstimate {
    const stacks = runs.filter((r) => r.errors.length === 0).map((run) => stackCost(run, roles[run.stack] ?? "unknown"));
    const monthlyUsd = round2(sum(stacks.map((s) => s.monthlyUsd)));
    const standbys = stacks.filter((s) => s.role === "standby");
    const age = priceTableAgeDays(today);
    return {
        currency: "USD",
        pricesReadOn: PRICES_READ_ON,
        pricesAgeDays: age,
        pricesStale: age > PRICE_TABLE_MAX_AGE_DAYS,
        hoursPerMonth: HOURS_PER_MONTH,
        stacks,
        monthlyUsd,
        // A share of the whole only when the whole is more than the standby (one stack planned says nothing).
        ...(standbys.length > 0 && standbys.length < stacks.length && monthlyUsd > 0
            ? {
                  standby: {
                      stacks: standbys.map((s) => s.stack),
                      monthlyUsd: round2(sum(standbys.map((s) => s.monthlyUsd))),
                      share: sum(standbys.map((s) => s.monthlyUsd)) / monthlyUsd,
                  },
              }
            : {}),
        ...(standbys.length === 1 ? { pilotLight: pilotLight(standbys[0], runs.find((r) => r.stack === standbys[0].stack)?.config) } : {}),
    };
}
