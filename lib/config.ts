/**
 * The one place that reads configuration. `parseConfig` turns the raw key/value pairs the
 * Pulumi CLI gives the program (project defaults from Pulumi.yaml, then the stack file)
 * into a typed, validated PlatformConfig. Every problem is reported at once, each with
 * the key, the value received and what is allowed, before any resource exists. The rules
 * themselves live in lib/rules.ts, shared with the components' own argument checks.
 * Components never read config: index.ts hands them what they need from here.
 */
import { runtime as pulumiRuntime, getStack as pulumiGetStack } from "@pulumi/pulumi";
import { pinnedRedisImage } from "./pins";
import { azIdBelongsTo, GLOBAL_REGION } from "./regions";
import * as failoverSettings from "../failover/core/settings";
import { cidrsOverlap, parseCidr, MAX_AZS } from "./cidr";
import {
    ACCOUNT_ID,
    ACM_CERTIFICATE_ARN,
    AMI_NAME_FILTER,
    AMI_OWNER,
    AWS_REGION,
    CRON_SCHEDULE,
    PINNED_IMAGE,
    DB_BACKUP_RETENTION_DAYS,
    DB_IDENTIFIER_BASE,
    DB_MASTER_USERNAME,
    DB_NAME,
    DB_REPLICA_COUNT,
    DB_STORAGE_GIB,
    DNS_ZONE_NAME,
    EC2_INSTANCE_TYPE,
    EKS_ACCESS_POLICY,
    EKS_NODE_COUNT,
    EKS_PRINCIPAL_ARN,
    EKS_VERSION,
    EXACT_VERSION,
    HEALTH_CHECK_PATH,
    HOSTNAME,
    IMAGE_REPOSITORY,
    integerFrom,
    K8S_NAME,
    K8S_NAMESPACES,
    LOG_RETENTION_DAYS,
    MAXMEMORY_PERCENT,
    MYSQL_VERSION,
    NAT_GATEWAY_MODE,
    type NatGatewayMode,
    oneOf,
    Problems,
    PROMETHEUS_RETENTION_DAYS,
    PROMETHEUS_STORAGE_GIB,
    PUBLIC_API_CIDR,
    RDS_INSTANCE_CLASS,
    REDIS_INSTANCE_TYPE,
    REDIS_NODE_COUNT,
    redisRollNodes,
    REDIS_VERSION,
    ROOT_VOLUME_GIB,
    Rule,
    rule,
    SECRET_NAME,
    sentinelQuorum,
    SMALL_VOLUME_GIB,
    WEB_INSTANCE_COUNT,
    WEB_MAX_INSTANCE_COUNT,
    X86_INSTANCE_TYPE,
    ACCELERATOR_CLIENT_AFFINITY,
    ACCELERATOR_HEALTH_CHECK_INTERVAL,
    ACCELERATOR_THRESHOLD_COUNT,
    HOSTED_ZONE_ID_OR_EMPTY,
} from "./rules";
import { RESERVED_TAG_KEYS } from "./tags";
import { parseReleaseUri } from "./webUserData";
import { PROJECT } from "./project";

export { PROJECT };

/** `writer`: holds the DB writer and takes traffic. `standby`: the warm DR site. */
export type StackRole = "writer" | "standby";
/** A site stack (one region of the platform) or the global stack (the virtual IP). */
export type StackKind = "site" | "global";
export type { NatGatewayMode } from "./rules";

export interface NetworkSettings {
    readonly vpcCidr: string;
    /** AZ IDs of this region, in config order (the order fixes subnet numbering). */
    readonly azIds: readonly string[];
    readonly natGateways: NatGatewayMode;
    readonly flowLogRetentionDays: number;
}

export interface WebSettings {
    readonly instanceType: string;
    readonly instanceCount: number;
    readonly maxInstanceCount: number;
    readonly amiNameFilter?: string;
    readonly amiOwner: string;
    /** Release bundle (s3://bucket/key.tar.gz, `{region}` already replaced); only without a baked AMI. */
    readonly artifactUri?: string;
    readonly rootVolumeGiB: number;
    readonly healthCheckPath: string;
    /** This stack's region's certificate (its load balancer then listens on HTTPS). */
    readonly certificateArn?: string;
    /** Every site region's certificate, keyed by region: which sites answer HTTPS. */
    readonly certificateArns: Readonly<Record<string, string>>;
}

export interface RedisSettings {
    readonly instanceType: string;
    readonly nodeCount: number;
    /** Full image reference, `repository:version@sha256:<digest>` (lib/pins.ts). */
    readonly image: string;
    /** Nodes (1-based) whose AMI is rolled on this update (at most one). */
    readonly rollNodes: readonly number[];
    readonly sentinelQuorum: number;
    readonly maxmemoryPercent: number;
}

export interface DatabaseSettings {
    readonly instanceClass: string;
    readonly replicaCount: number;
    readonly engineVersion: string;
    readonly multiAz: boolean;
    /** Each read replica Multi-AZ (placed by RDS) instead of single-AZ in its own pinned zone. */
    readonly replicaMultiAz: boolean;
    readonly allocatedStorageGiB: number;
    readonly maxAllocatedStorageGiB: number;
    readonly backupRetentionDays: number;
    /** Base of the RDS identifiers (`<identifierBase>-<region>` is a region's writer). */
    readonly identifierBase: string;
    readonly name: string;
    readonly masterUsername: string;
    readonly privateZoneName: string;
}

/** Who may use the monitoring cluster (an EKS access entry and its access policy). */
export interface EksAccessEntry {
    /** IAM role or user ARN, `{account}` replaced by the stack's account when it is known. */
    readonly principalArn: string;
    /** One of EKS_ACCESS_POLICIES' keys: cluster-admin, admin, edit, view. */
    readonly accessPolicy: string;
    /** Limit the policy to these namespaces; empty: the whole cluster. */
    readonly namespaces: readonly string[];
}

export interface MonitoringSettings {
    readonly eksVersion: string;
    readonly nodeInstanceType: string;
    readonly nodeCount: number;
    readonly apiAllowedCidrs: readonly string[];
    /** Keyed by a name that becomes part of the resource names. */
    readonly accessEntries: Readonly<Record<string, EksAccessEntry>>;
    readonly kubePrometheusStackVersion: string;
    readonly blackboxExporterVersion: string;
    readonly prometheusRetentionDays: number;
    readonly prometheusStorageGiB: number;
    readonly grafanaStorageGiB: number;
    readonly alertmanagerStorageGiB: number;
    readonly alertReceiverSecretName: string;
}

/** The failover controller each site deploys (failover/, ranges in failover/core/settings.ts). */
export interface FailoverSettings {
    readonly intervalSeconds: number;
    readonly maxFail: number;
    readonly quorum: number;
    readonly timeoutSeconds: number;
    readonly maxLagSeconds: number;
    readonly lagWaitSeconds: number;
    readonly recoveryBlockSeconds: number;
}

/** The database backups: their buckets, their immutability and life, the job. */
export interface BackupSettings {
    /** Bucket regions, neither site region, at least two; the first receives the RDS backup replication. */
    readonly regions: readonly string[];
    readonly objectLockMode: "GOVERNANCE" | "COMPLIANCE";
    readonly retentionDays: number;
    readonly transitionDays: number;
    readonly expirationDays: number;
    /** Cron, UTC. */
    readonly schedule: string;
    readonly maxAgeHours: number;
    readonly image: string;
    readonly replicationRetentionDays: number;
}

/** The virtual IP (Global Accelerator) and the public name on it. */
export interface TrafficSettings {
    /** Route 53 hosted zone of siteHostname; empty: no record (the plan says so). */
    readonly publicZoneId: string;
    readonly clientAffinity: "NONE" | "SOURCE_IP";
    readonly healthCheckIntervalSeconds: 10 | 30;
    readonly thresholdCount: number;
}

/** The global stack's configuration: what the accelerator, its listener and the record need. */
export interface GlobalConfig {
    readonly project: string;
    readonly stack: string;
    readonly kind: "global";
    readonly region: string;
    readonly primaryRegion: string;
    readonly drRegion: string;
    readonly writerRegion: string;
    readonly stateBackend: string;
    readonly siteHostname: string;
    /** The shop's health path and the site regions with a certificate: what the witness probes, and how. */
    readonly healthCheckPath: string;
    readonly httpsRegions: readonly string[];
    readonly tags: Readonly<Record<string, string>>;
    readonly traffic: TrafficSettings;
}

export interface PlatformConfig {
    readonly project: string;
    readonly kind: "site";
    readonly stack: string;
    /** This stack's region (`aws:region`). */
    readonly region: string;
    /** The other site's region. */
    readonly peerRegion: string;
    readonly role: StackRole;
    readonly primaryRegion: string;
    readonly drRegion: string;
    readonly writerRegion: string;
    readonly stateBackend: string;
    readonly siteHostname: string;
    /** Origin hostname of each site region. */
    readonly originHostnames: Readonly<Record<string, string>>;
    readonly tags: Readonly<Record<string, string>>;
    readonly network: NetworkSettings;
    readonly web: WebSettings;
    readonly redis: RedisSettings;
    readonly db: DatabaseSettings;
    readonly monitoring: MonitoringSettings;
    readonly traffic: TrafficSettings;
    readonly failover: FailoverSettings;
    readonly backups: BackupSettings;
}

/** Raw config lookup by fully qualified key (`ecommerce:webInstanceCount`, `aws:region`). */
export type RawConfig = (key: string) => string | undefined;

export class ConfigError extends Error {
    constructor(
        readonly stack: string,
        readonly problems: readonly string[],
    ) {
        super(`Invalid configuration for stack "${stack}":\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/** `ecommerce:<name>`. */
const key = (name: string) => `${PROJECT}:${name}`;

const TAG_KEY = /^[\w .:/=+@-]{1,128}$/;
const STATE_BACKEND = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/[^?]*)?\?(.*)$/;

/** Reads typed values out of the raw config, collecting every problem. */
class Reader {
    readonly problems = new Problems();

    constructor(private readonly raw: RawConfig) {}

    reject(k: string, value: unknown, allowed: string): undefined {
        this.problems.reject(k, value, allowed);
        return undefined;
    }

    private present(k: string, allowed: string): string | undefined {
        const value = this.raw(k);
        if (value === undefined) {
            this.problems.add(`${k} is not set: expected ${allowed}`);
        }
        return value;
    }

    private json(k: string, allowed: string): unknown {
        const text = this.present(k, allowed);
        if (text === undefined) {
            return undefined;
        }
        try {
            return JSON.parse(text);
        } catch {
            return this.reject(k, text, allowed);
        }
    }

    string(k: string, r: Rule<string>): string | undefined {
        const value = this.present(k, r.allowed);
        return value !== undefined && this.problems.check(k, value, r) ? value : undefined;
    }

    /** A string that may be empty (meaning: not used), else satisfies `r`. */
    /** "" when empty (not used), undefined when unset or refused. */
    optionalString(k: string, r: Rule<string>): string | undefined {
        const value = this.present(k, `empty, or ${r.allowed}`);
        if (value === undefined || value === "") {
            return value;
        }
        return this.problems.check(k, value, rule(`empty, or ${r.allowed}`, r.accepts)) ? value : undefined;
    }

    integer(k: string, r: Rule<number>): number | undefined {
        const text = this.present(k, r.allowed);
        if (text === undefined) {
            return undefined;
        }
        const trimmed = text.trim();
        if (!/^-?\d+$/.test(trimmed)) {
            return this.reject(k, /^-?\d+\.\d+$/.test(trimmed) ? Number(trimmed) : text, r.allowed);
        }
        const value = Number(trimmed);
        return this.problems.check(k, value, r) ? value : undefined;
    }

    boolean(k: string): boolean | undefined {
        const text = this.present(k, "true or false");
        if (text === undefined) {
            return undefined;
        }
        return text === "true" || text === "false" ? text === "true" : this.reject(k, text, "true or false");
    }

    stringArray(k: string, allowed: string, itemOk: (v: string) => boolean, minItems: number): string[] | undefined {
        const value = this.json(k, allowed);
        if (value === undefined) {
            return undefined;
        }
        if (!Array.isArray(value) || value.length < minItems || !value.every((v) => typeof v === "string" && itemOk(v))) {
            return this.reject(k, value, allowed);
        }
        return value as string[];
    }

    /** A JSON array of integers that satisfies `r` as a whole. */
    integerArray(k: string, r: Rule<readonly number[]>): number[] | undefined {
        const value = this.json(k, r.allowed);
        if (value === undefined) {
            return undefined;
        }
        if (!Array.isArray(value)) {
            return this.reject(k, value, r.allowed);
        }
        return this.problems.check(k, value as number[], r) ? (value as number[]) : undefined;
    }

    object(k: string, allowed: string): Record<string, unknown> | undefined {
        const value = this.json(k, allowed);
        if (value === undefined) {
            return undefined;
        }
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            return this.reject(k, value, allowed);
        }
        return value as Record<string, unknown>;
    }

    /**
     * A region-keyed map with a valid entry for each site region (extra regions are allowed:
     * a map may be prepared for a future site).
     */
    regionMap<T>(
        k: string,
        sites: Sites | undefined,
        itemAllowed: string,
        itemOk: (value: unknown, region: string) => boolean,
    ): Record<string, T> | undefined {
        const map = this.object(k, `a map from region to ${itemAllowed}`);
        if (!map || !sites) {
            return undefined;
        }
        let ok = true;
        for (const site of sites.both) {
            if (!(site in map)) {
                this.reject(k, map, `an entry for each site region (${sites.both.join(", ")}); ${site} is missing`);
                ok = false;
            } else if (!itemOk(map[site], site)) {
                this.reject(`${k}.${site}`, map[site], itemAllowed);
                ok = false;
            }
        }
        return ok ? (map as Record<string, T>) : undefined;
    }
}

/** The two site regions, once both are valid and distinct. */
interface Sites {
    readonly primary: string;
    readonly dr: string;
    readonly both: readonly [string, string];
}

/** A settings object some of whose values may have been refused (undefined). */
type Draft<T> = { readonly [K in keyof T]: T[K] | undefined };

/** Parses and validates the raw config of `stack`. Throws ConfigError listing every problem. */
export function parseConfig(raw: RawConfig, stack: string): PlatformConfig {
    const r = new Reader(raw);
    const regions = readRegions(r, "site");
    const naming = readNaming(r, regions.sites);
    const network = readNetwork(r, regions.sites, regions.region);
    const web = readWeb(r, regions.sites, regions.region);
    const redis = readRedis(r);
    const db = readDatabase(r);
    const monitoring = readMonitoring(r);
    const traffic = readTraffic(r);
    const failover = readFailover(r);
    const backups = readBackups(r, regions.sites);
    if (r.problems.list.length > 0) {
        throw new ConfigError(stack, r.problems.list);
    }
    // Every value below was checked: a refused one would have thrown above.
    const region = regions.region!;
    const writerRegion = regions.writerRegion!;
    const sites = regions.sites!;
    return {
        project: PROJECT,
        kind: "site",
        stack,
        region,
        peerRegion: sites.both.find((s) => s !== region)!,
        role: region === writerRegion ? "writer" : "standby",
        primaryRegion: sites.primary,
        drRegion: sites.dr,
        writerRegion,
        stateBackend: regions.stateBackend!,
        ...(naming as NamingSettings),
        network: network as NetworkSettings,
        web: { ...(web as WebSettings), artifactUri: web.artifactUri?.replace(/\{region\}/g, region) },
        redis: redis as RedisSettings,
        db: db as DatabaseSettings,
        monitoring: monitoring as MonitoringSettings,
        traffic: traffic as TrafficSettings,
        failover: failover as FailoverSettings,
        backups: backups as BackupSettings,
    };
}

function readBackups(r: Reader, sites: Sites | undefined): Draft<BackupSettings> {
    const regions = r.stringArray(
        key("backupRegions"),
        "a list of at least two distinct AWS regions, neither site region",
        AWS_REGION.accepts,
        2,
    );
    if (regions !== undefined) {
        if (new Set(regions).size !== regions.length) {
            r.reject(key("backupRegions"), regions, "distinct regions (each listed once)");
        } else if (sites !== undefined && regions.some((region) => sites.both.includes(region))) {
            r.reject(
                key("backupRegions"),
                regions,
                `regions other than the sites' (${sites.both.join(", ")}): a backup must survive the loss of both sites' regions`,
            );
        }
    }
    const retentionDays = r.integer(key("backupRetentionDays"), integerFrom(1, 3650));
    const transitionDays = r.integer(key("backupTransitionDays"), integerFrom(0, 3650));
    const expirationDays = r.integer(key("backupExpirationDays"), integerFrom(1, 36500));
    if (retentionDays !== undefined && expirationDays !== undefined && expirationDays < retentionDays) {
        r.reject(
            key("backupExpirationDays"),
            expirationDays,
            `at least ecommerce:backupRetentionDays (${retentionDays}): locked objects cannot expire earlier`,
        );
    }
    if (transitionDays !== undefined && expirationDays !== undefined && transitionDays >= expirationDays) {
        r.reject(key("backupTransitionDays"), transitionDays, `below ecommerce:backupExpirationDays (${expirationDays})`);
    }
    return {
        regions,
        objectLockMode: r.string(key("backupObjectLockMode"), oneOf(["GOVERNANCE", "COMPLIANCE"])) as
            BackupSettings["objectLockMode"] | undefined,
        retentionDays,
        transitionDays,
        expirationDays,
        schedule: r.string(key("backupSchedule"), CRON_SCHEDULE),
        // At most 7 days: the alarm's periods of a day may span no more (CloudWatch PutMetricAlarm).
        maxAgeHours: r.integer(key("backupMaxAgeHours"), integerFrom(1, 168)),
        image: r.string(key("backupImage"), PINNED_IMAGE),
        replicationRetentionDays: r.integer(key("dbBackupReplicationRetentionDays"), integerFrom(1, 35)),
    };
}

/** A failover range (failover/core/settings.ts) as a config rule. */
function rangeRule(range: failoverSettings.Range): Rule<number> {
    return rule(
        `${range.integer ? "an integer" : "a number"} from ${range.min} to ${range.max}`,
        (v) => failoverSettings.checkRange("", v, range) === undefined,
    );
}

function readFailover(r: Reader): Draft<FailoverSettings> {
    // Within one invocation of the deployed controller (rounds for about 50 s a minute): an
    // interval of at most 30 s gives every invocation rounds, a timeout of at most 10 s keeps a
    // round short, and the RPO guard's wait (at most 30 s) fits beside them.
    const intervalSeconds = r.integer(key("failoverIntervalSeconds"), rangeRule({ min: 1, max: 30, integer: true }));
    const timeoutSeconds = r.integer(key("failoverTimeoutSeconds"), rangeRule({ min: 1, max: 10, integer: true }));
    if (intervalSeconds !== undefined && timeoutSeconds !== undefined && timeoutSeconds > intervalSeconds) {
        r.reject(key("failoverTimeoutSeconds"), timeoutSeconds, `at most ecommerce:failoverIntervalSeconds (${intervalSeconds})`);
    }
    return {
        intervalSeconds,
        maxFail: r.integer(key("failoverMaxFail"), rangeRule(failoverSettings.MAX_FAIL)),
        // Three vantage points (origin, public name, the accelerator's endpoint health).
        quorum: r.integer(key("failoverQuorum"), integerFrom(1, 3, " (of the three vantage points)")),
        timeoutSeconds,
        maxLagSeconds: r.integer(key("failoverMaxLagSeconds"), rangeRule({ ...failoverSettings.MAX_LAG_SECONDS, integer: true })),
        lagWaitSeconds: r.integer(key("failoverLagWaitSeconds"), rangeRule(failoverSettings.DEPLOYED_LAG_WAIT_SECONDS)),
        recoveryBlockSeconds: r.integer(
            key("failoverRecoveryBlockSeconds"),
            rangeRule({ ...failoverSettings.RECOVERY_BLOCK_SECONDS, integer: true }),
        ),
    };
}

/** Which kind of stack the raw config describes: the global stack is the one in GLOBAL_REGION. */
export function stackKindOf(raw: RawConfig): StackKind {
    return raw("aws:region") === GLOBAL_REGION ? "global" : "site";
}

/** Parses and validates the global stack's raw config. Throws ConfigError listing every problem. */
export function parseGlobalConfig(raw: RawConfig, stack: string): GlobalConfig {
    const r = new Reader(raw);
    const regions = readRegions(r, "global");
    const naming = readNaming(r, regions.sites);
    const traffic = readTraffic(r);
    const healthCheckPath = r.string(key("healthCheckPath"), HEALTH_CHECK_PATH);
    const { certificateArns } = readCertificateArns(r, regions.sites, undefined);
    if (r.problems.list.length > 0) {
        throw new ConfigError(stack, r.problems.list);
    }
    return {
        project: PROJECT,
        stack,
        kind: "global",
        healthCheckPath: healthCheckPath!,
        httpsRegions: Object.keys(certificateArns),
        region: regions.region!,
        primaryRegion: regions.sites!.primary,
        drRegion: regions.sites!.dr,
        writerRegion: regions.writerRegion!,
        stateBackend: regions.stateBackend!,
        siteHostname: naming.siteHostname!,
        tags: naming.tags!,
        traffic: traffic as TrafficSettings,
    };
}

function readTraffic(r: Reader): Draft<TrafficSettings> {
    return {
        publicZoneId: r.string(key("publicZoneId"), HOSTED_ZONE_ID_OR_EMPTY),
        clientAffinity: r.string(key("acceleratorClientAffinity"), ACCELERATOR_CLIENT_AFFINITY) as
            TrafficSettings["clientAffinity"] | undefined,
        healthCheckIntervalSeconds: r.integer(key("acceleratorHealthCheckIntervalSeconds"), ACCELERATOR_HEALTH_CHECK_INTERVAL) as
            10 | 30 | undefined,
        thresholdCount: r.integer(key("acceleratorThresholdCount"), ACCELERATOR_THRESHOLD_COUNT),
    };
}

function readRegions(r: Reader, kind: StackKind) {
    const primaryRegion = r.string(key("primaryRegion"), AWS_REGION);
    const drRegion = r.string(key("drRegion"), AWS_REGION);
    if (primaryRegion && drRegion && primaryRegion === drRegion) {
        r.reject(key("drRegion"), drRegion, `a region other than ecommerce:primaryRegion (${primaryRegion})`);
    }
    for (const [name, value] of [
        ["primaryRegion", primaryRegion],
        ["drRegion", drRegion],
    ] as const) {
        if (value === GLOBAL_REGION) {
            r.reject(key(name), value, `a region other than ${GLOBAL_REGION} (the global stack's: Global Accelerator's API region)`);
        }
    }
    const sites: Sites | undefined =
        primaryRegion && drRegion && primaryRegion !== drRegion
            ? { primary: primaryRegion, dr: drRegion, both: [primaryRegion, drRegion] }
            : undefined;
    const site = sites
        ? oneOf(sites.both, `one of ${sites.both.join(", ")} (ecommerce:primaryRegion, ecommerce:drRegion)`)
        : rule<string>("a site region", AWS_REGION.accepts);
    const region = r.string("aws:region", kind === "global" ? oneOf([GLOBAL_REGION], `${GLOBAL_REGION} (the global stack)`) : site);
    const writerRegion = r.string(key("writerRegion"), site);
    const stateBackend = r.string(
        key("stateBackend"),
        rule(`s3://<bucket>?region=${region ?? "<the stack's region>"} (state lives in the stack's own region)`, (v) => {
            const m = STATE_BACKEND.exec(v);
            // The region is compared only once aws:region itself is valid (else that is the problem).
            return m !== null && (region === undefined || new URLSearchParams(m[3]).get("region") === region);
        }),
    );
    return { sites, region, writerRegion, stateBackend };
}

type NamingSettings = Pick<PlatformConfig, "siteHostname" | "originHostnames" | "tags">;

function readNaming(r: Reader, sites: Sites | undefined): Draft<NamingSettings> {
    const siteHostname = r.string(key("siteHostname"), HOSTNAME);
    const originHostnames = r.regionMap<string>(
        key("originHostnames"),
        sites,
        "a DNS hostname",
        (v) => typeof v === "string" && HOSTNAME.accepts(v),
    );
    const tagsRaw = r.object(key("tags"), "a map of tag key to string value");
    let tags: Record<string, string> | undefined;
    if (tagsRaw) {
        const bad = Object.entries(tagsRaw).find(([k, value]) => !TAG_KEY.test(k) || typeof value !== "string" || value.length > 256);
        const reserved = Object.keys(tagsRaw).find((k) => RESERVED_TAG_KEYS.includes(k));
        if (bad) {
            r.reject(key("tags"), tagsRaw, "tag keys of 1-128 letters, digits, spaces or _.:/=+-@ with string values up to 256 characters");
        } else if (reserved) {
            r.reject(key("tags"), tagsRaw, `no reserved key (${reserved} is set by the program: ${RESERVED_TAG_KEYS.join(", ")})`);
        } else {
            tags = tagsRaw as Record<string, string>;
        }
    }
    return { siteHostname, originHostnames, tags };
}

function readNetwork(r: Reader, sites: Sites | undefined, region: string | undefined): Draft<NetworkSettings> {
    const vpcCidrs = r.regionMap<string>(key("vpcCidrs"), sites, "an IPv4 CIDR from /16 to /22", (v) => {
        const c = typeof v === "string" ? parseCidr(v) : undefined;
        return c !== undefined && c.prefix >= 16 && c.prefix <= 22;
    });
    if (vpcCidrs && sites && cidrsOverlap(parseCidr(vpcCidrs[sites.primary])!, parseCidr(vpcCidrs[sites.dr])!)) {
        r.reject(key("vpcCidrs"), vpcCidrs, "non-overlapping CIDRs for the two regions (they must be routable to each other)");
    }
    const azIds = r.regionMap<string[]>(
        key("azIds"),
        sites,
        `2 to ${MAX_AZS} distinct AZ IDs of that region (e.g. use2-az1)`,
        (v, reg) =>
            Array.isArray(v) &&
            v.length >= 2 &&
            v.length <= MAX_AZS &&
            new Set(v).size === v.length &&
            v.every((id) => typeof id === "string" && azIdBelongsTo(id, reg)),
    );
    return {
        vpcCidr: region ? vpcCidrs?.[region] : undefined,
        azIds: region ? azIds?.[region] : undefined,
        natGateways: r.string(key("natGateways"), NAT_GATEWAY_MODE) as NatGatewayMode | undefined,
        flowLogRetentionDays: r.integer(key("flowLogRetentionDays"), LOG_RETENTION_DAYS),
    };
}

function readWeb(r: Reader, sites: Sites | undefined, region: string | undefined): Draft<WebSettings> {
    const instanceCount = r.integer(key("webInstanceCount"), WEB_INSTANCE_COUNT);
    const maxInstanceCount = r.integer(key("webMaxInstanceCount"), WEB_MAX_INSTANCE_COUNT);
    if (instanceCount !== undefined && maxInstanceCount !== undefined && maxInstanceCount < instanceCount) {
        r.reject(key("webMaxInstanceCount"), maxInstanceCount, `at least ecommerce:webInstanceCount (${instanceCount})`);
    }
    const amiNameFilter = r.optionalString(key("webAmiNameFilter"), AMI_NAME_FILTER);
    const artifactUri = r.optionalString(
        key("webArtifactUri"),
        rule(
            "a release bundle s3://<bucket>/<key>.tar.gz (`{region}` stands for the stack's region)",
            (v) =>
                // Checked with a real region in place of the placeholder.
                parseReleaseUri(v.replace(/\{region\}/g, "us-east-2")) !== undefined,
        ),
    );
    if (artifactUri && amiNameFilter) {
        r.reject(key("webArtifactUri"), artifactUri, "empty when ecommerce:webAmiNameFilter is set (a baked AMI carries the application)");
    }
    if (artifactUri === "" && amiNameFilter === "") {
        // Neither a baked AMI nor a release bundle: nothing would install the application,
        // every server would fail its health check and the group would replace them forever.
        r.reject(
            key("webArtifactUri"),
            artifactUri,
            "a release bundle s3://<bucket>/<key>.tar.gz when ecommerce:webAmiNameFilter is empty (something must install the application)",
        );
    }
    return {
        instanceType: r.string(key("webInstanceType"), X86_INSTANCE_TYPE),
        instanceCount,
        maxInstanceCount,
        amiNameFilter: amiNameFilter === "" ? undefined : amiNameFilter,
        amiOwner: r.string(key("webAmiOwner"), AMI_OWNER),
        artifactUri: artifactUri === "" ? undefined : artifactUri,
        rootVolumeGiB: r.integer(key("webRootVolumeGiB"), ROOT_VOLUME_GIB),
        healthCheckPath: r.string(key("healthCheckPath"), HEALTH_CHECK_PATH),
        ...readCertificateArns(r, sites, region),
    };
}

/** The region-keyed `certificateArns`, and this stack's region's certificate (may be absent). */
function readCertificateArns(
    r: Reader,
    sites: Sites | undefined,
    region: string | undefined,
): Pick<WebSettings, "certificateArn" | "certificateArns"> {
    const certificateArns = r.object(key("certificateArns"), "a map of region to ACM certificate ARN");
    for (const [reg, arn] of Object.entries(certificateArns ?? {})) {
        const ok = typeof arn === "string" && ACM_CERTIFICATE_ARN.accepts(arn) && arn.split(":")[3] === reg;
        if (!(sites?.both ?? [reg]).includes(reg) || !ok) {
            r.reject(
                `${key("certificateArns")}.${reg}`,
                arn,
                `an ACM certificate ARN in ${reg} (arn:aws:acm:${reg}:<account>:certificate/<id>), keyed by a site region`,
            );
        }
    }
    const all = (certificateArns ?? {}) as Record<string, string>;
    return { certificateArn: region ? all[region] : undefined, certificateArns: all };
}

function readRedis(r: Reader): Draft<RedisSettings> {
    const nodeCount = r.integer(key("redisNodeCount"), REDIS_NODE_COUNT);
    const quorum = r.integer(key("redisSentinelQuorum"), integerFrom(1, 9));
    if (quorum !== undefined && nodeCount !== undefined) {
        r.problems.check(key("redisSentinelQuorum"), quorum, sentinelQuorum(nodeCount, `ecommerce:redisNodeCount`));
    }
    const version = r.string(key("redisVersion"), REDIS_VERSION);
    const repository = r.string(key("redisImageRepository"), IMAGE_REPOSITORY);
    let image: string | undefined;
    if (version && repository) {
        image = pinnedRedisImage(repository, version);
        if (image === undefined) {
            r.reject(
                key("redisVersion"),
                version,
                "a version with a verified image digest in lib/pins.ts (add the digest of a new version there)",
            );
        }
    }
    return {
        instanceType: r.string(key("redisInstanceType"), REDIS_INSTANCE_TYPE),
        nodeCount,
        image,
        sentinelQuorum: quorum,
        maxmemoryPercent: r.integer(key("redisMaxmemoryPercent"), MAXMEMORY_PERCENT),
        rollNodes: nodeCount === undefined ? undefined : r.integerArray(key("redisRollNodes"), redisRollNodes(nodeCount)),
    };
}

function readDatabase(r: Reader): Draft<DatabaseSettings> {
    const allocatedStorageGiB = r.integer(key("dbAllocatedStorageGiB"), DB_STORAGE_GIB);
    const maxAllocatedStorageGiB = r.integer(key("dbMaxAllocatedStorageGiB"), DB_STORAGE_GIB);
    if (allocatedStorageGiB !== undefined && maxAllocatedStorageGiB !== undefined && maxAllocatedStorageGiB < allocatedStorageGiB) {
        r.reject(
            key("dbMaxAllocatedStorageGiB"),
            maxAllocatedStorageGiB,
            `at least ecommerce:dbAllocatedStorageGiB (${allocatedStorageGiB})`,
        );
    }
    return {
        instanceClass: r.string(key("dbInstanceClass"), RDS_INSTANCE_CLASS),
        replicaCount: r.integer(key("dbReplicaCount"), DB_REPLICA_COUNT),
        engineVersion: r.string(key("dbEngineVersion"), MYSQL_VERSION),
        multiAz: r.boolean(key("dbMultiAz")),
        replicaMultiAz: r.boolean(key("dbReplicaMultiAz")),
        allocatedStorageGiB,
        maxAllocatedStorageGiB,
        backupRetentionDays: r.integer(key("dbBackupRetentionDays"), DB_BACKUP_RETENTION_DAYS),
        identifierBase: r.string(key("dbIdentifier"), DB_IDENTIFIER_BASE),
        name: r.string(key("dbName"), DB_NAME),
        masterUsername: r.string(key("dbMasterUsername"), DB_MASTER_USERNAME),
        privateZoneName: r.string(key("dbPrivateZoneName"), DNS_ZONE_NAME),
    };
}

function readMonitoring(r: Reader): Draft<MonitoringSettings> {
    return {
        eksVersion: r.string(key("eksVersion"), EKS_VERSION),
        nodeInstanceType: r.string(key("eksNodeInstanceType"), EC2_INSTANCE_TYPE),
        nodeCount: r.integer(key("eksNodeCount"), EKS_NODE_COUNT),
        apiAllowedCidrs: r.stringArray(
            key("eksApiAllowedCidrs"),
            `one or more CIDRs, each ${PUBLIC_API_CIDR.allowed}`,
            PUBLIC_API_CIDR.accepts,
            1,
        ),
        accessEntries: readAccessEntries(r),
        kubePrometheusStackVersion: r.string(key("kubePrometheusStackVersion"), EXACT_VERSION),
        blackboxExporterVersion: r.string(key("blackboxExporterVersion"), EXACT_VERSION),
        prometheusRetentionDays: r.integer(key("prometheusRetentionDays"), PROMETHEUS_RETENTION_DAYS),
        prometheusStorageGiB: r.integer(key("prometheusStorageGiB"), PROMETHEUS_STORAGE_GIB),
        grafanaStorageGiB: r.integer(key("grafanaStorageGiB"), SMALL_VOLUME_GIB),
        alertmanagerStorageGiB: r.integer(key("alertmanagerStorageGiB"), SMALL_VOLUME_GIB),
        alertReceiverSecretName: r.string(key("alertReceiverSecretName"), SECRET_NAME),
    };
}

/** `eksAccessEntries`: name -> { principalArn, accessPolicy, namespaces? }. */
function readAccessEntries(r: Reader): Record<string, EksAccessEntry> | undefined {
    const k = key("eksAccessEntries");
    const map = r.object(k, "a map of name to { principalArn, accessPolicy, namespaces? }");
    if (!map) {
        return undefined;
    }
    const problemsBefore = r.problems.list.length;
    const entries: Record<string, EksAccessEntry> = {};
    for (const [name, value] of Object.entries(map)) {
        const at = `${k}.${name}`;
        const fields =
            typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
        if (!K8S_NAME.accepts(name) || !fields || Object.keys(fields).some((f) => !ACCESS_ENTRY_FIELDS.includes(f))) {
            r.reject(at, value, `an entry named ${K8S_NAME.allowed}: { ${ACCESS_ENTRY_FIELDS.join(", ")} } (namespaces optional)`);
            continue;
        }
        const namespaces = fields.namespaces ?? [];
        const ok = [
            r.problems.check(`${at}.principalArn`, fields.principalArn as string, EKS_PRINCIPAL_ARN),
            r.problems.check(`${at}.accessPolicy`, fields.accessPolicy as string, EKS_ACCESS_POLICY),
            r.problems.check(`${at}.namespaces`, namespaces as string[], K8S_NAMESPACES),
        ];
        if (ok.every(Boolean)) {
            entries[name] = {
                principalArn: fields.principalArn as string,
                accessPolicy: fields.accessPolicy as string,
                namespaces: namespaces as string[],
            };
        }
    }
    const principals = Object.values(entries).map((e) => e.principalArn);
    const repeated = principals.find((p, i) => principals.indexOf(p) !== i);
    if (repeated) {
        // EKS keeps one access entry per principal (CreateAccessEntry answers ResourceInUseException).
        r.reject(k, map, `each principalArn at most once (${repeated} is listed twice; give one entry several namespaces instead)`);
    }
    return r.problems.list.length === problemsBefore ? entries : undefined;
}

const ACCESS_ENTRY_FIELDS = ["principalArn", "accessPolicy", "namespaces"];

/** `{account}` in an access entry's principal, replaced once the account is known. */
export function withAccount(arn: string, accountId: string): string {
    if (!ACCOUNT_ID.accepts(accountId)) {
        throw new Error(`withAccount: ${JSON.stringify(accountId)} is not a 12-digit AWS account ID`);
    }
    return arn.replace(/\{account\}/g, accountId);
}

/** Parses a site or the global stack's raw config, whichever its region makes it. */
export function parseStackConfig(raw: RawConfig, stack: string): PlatformConfig | GlobalConfig {
    return stackKindOf(raw) === "global" ? parseGlobalConfig(raw, stack) : parseConfig(raw, stack);
}

/** Reads and validates the running stack's configuration (the Pulumi CLI supplies it). */
export function loadConfig(): PlatformConfig | GlobalConfig {
    return parseStackConfig((k) => pulumiRuntime.getConfig(k), pulumiGetStack());
}

/**
 * What the cost estimate assumes of usage (npm run plan, offline/cost.ts): the program builds
 * nothing from these, the estimate prices traffic, logs and backups with them.
 */
export interface CostAssumptions {
    readonly shopperEgressGiB: number;
    readonly albLcu: number;
    readonly natGiB: number;
    readonly replicationGiB: number;
    readonly backupGiB: number;
    readonly logsGiB: number;
    readonly dynamoDbMillionRequests: number;
}

/** The config key of each assumption. */
export const COST_ASSUMPTION_KEYS: Readonly<Record<keyof CostAssumptions, string>> = {
    shopperEgressGiB: key("costShopperEgressGiB"),
    albLcu: key("costAlbLcu"),
    natGiB: key("costNatGiB"),
    replicationGiB: key("costReplicationGiB"),
    backupGiB: key("costBackupGiB"),
    logsGiB: key("costLogsGiB"),
    dynamoDbMillionRequests: key("costDynamoDbMillionRequests"),
};

/** Parses the cost assumptions of `stack`'s raw config. Throws ConfigError listing every problem. */
export function parseCostAssumptions(raw: RawConfig, stack: string): CostAssumptions {
    const r = new Reader(raw);
    const read = (name: keyof CostAssumptions, max: number, unit: string) =>
        r.integer(COST_ASSUMPTION_KEYS[name], integerFrom(0, max, unit));
    const parsed = {
        shopperEgressGiB: read("shopperEgressGiB", 10_000_000, " (GB a month)"),
        albLcu: read("albLcu", 100_000, " (LCU)"),
        natGiB: read("natGiB", 10_000_000, " (GB a month)"),
        replicationGiB: read("replicationGiB", 10_000_000, " (GB a month)"),
        backupGiB: read("backupGiB", 1_000_000, " (GB)"),
        logsGiB: read("logsGiB", 10_000_000, " (GB a month)"),
        dynamoDbMillionRequests: read("dynamoDbMillionRequests", 1_000_000, " (millions a month)"),
    };
    if (r.problems.list.length > 0) {
        throw new ConfigError(stack, r.problems.list);
    }
    return parsed as CostAssumptions;
}
