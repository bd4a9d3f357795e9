/**
 * The one place that reads configuration. `parseConfig` turns the raw key/value pairs the
 * Pulumi CLI gives the program (project defaults from Pulumi.yaml, then the stack file)
 * into a typed, validated PlatformConfig. Every problem is reported at once, each with
 * the key, the value received and what is allowed, before any resource exists.
 * Components never read config: index.ts hands them what they need from here.
 */
import { runtime as pulumiRuntime, getStack as pulumiGetStack } from "@pulumi/pulumi";
import { AWS_REGIONS, azIdBelongsTo } from "./regions";
import { cidrsOverlap, parseCidr, MAX_AZS } from "./cidr";
import { EC2_INSTANCE_TYPE, INSTANCE_MEMORY_MIB, RDS_INSTANCE_CLASS } from "./instanceTypes";
import { parseReleaseUri } from "./webUserData";

export const PROJECT = "ecommerce";

/** `writer`: holds the DB writer and takes traffic. `standby`: the warm DR site. */
export type StackRole = "writer" | "standby";
export type NatGatewayMode = "perAz" | "single";

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
    readonly certificateArn?: string;
}

export interface RedisSettings {
    readonly instanceType: string;
    readonly nodeCount: number;
    readonly version: string;
    /** Full image reference, `repository:version`. */
    readonly image: string;
    readonly sentinelQuorum: number;
    readonly maxmemoryPercent: number;
}

export interface DatabaseSettings {
    readonly instanceClass: string;
    readonly replicaCount: number;
    readonly engineVersion: string;
    readonly multiAz: boolean;
    readonly allocatedStorageGiB: number;
    readonly maxAllocatedStorageGiB: number;
    readonly backupRetentionDays: number;
    /** Base of the RDS identifiers (`<identifierBase>-<region>` is a region's writer). */
    readonly identifierBase: string;
    readonly name: string;
    readonly masterUsername: string;
    readonly privateZoneName: string;
}

export interface MonitoringSettings {
    readonly eksVersion: string;
    readonly nodeInstanceType: string;
    readonly nodeCount: number;
    readonly apiAllowedCidrs: readonly string[];
    readonly kubePrometheusStackVersion: string;
    readonly blackboxExporterVersion: string;
    readonly prometheusRetentionDays: number;
    readonly prometheusStorageGiB: number;
    readonly grafanaStorageGiB: number;
    readonly alertmanagerStorageGiB: number;
    readonly alertReceiverSecretName: string;
}

export interface FailoverSettings {
    readonly intervalSeconds: number;
    readonly maxFail: number;
}

export interface PlatformConfig {
    readonly project: string;
    readonly stack: string;
    /** This stack's region (`aws:region`). */
    readonly region: string;
    /** The other site's region. */
    readonly peerRegion: string;
    readonly role: StackRole;
    readonly primaryRegion: string;
    readonly drRegion: string;
    readonly writerRegion: string;
    readonly backupRegions: readonly string[];
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
    readonly failover: FailoverSettings;
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

const CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const EXACT_VERSION = /^\d+\.\d+\.\d+$/;
const TAG_KEY = /^[\w .:/=+@-]{1,128}$/;

/** Collects problems while reading typed values out of the raw config. */
class Reader {
    readonly problems: string[] = [];

    constructor(private readonly raw: RawConfig) {}

    /** Records a problem: key, the value received (as JSON), what is allowed. */
    reject(key: string, value: unknown, allowed: string): undefined {
        this.problems.push(`${key} = ${JSON.stringify(value)}: expected ${allowed}`);
        return undefined;
    }

    private present(key: string, allowed: string): string | undefined {
        const value = this.raw(key);
        if (value === undefined) {
            this.problems.push(`${key} is not set: expected ${allowed}`);
        }
        return value;
    }

    private json(key: string, allowed: string): unknown {
        const text = this.present(key, allowed);
        if (text === undefined) {
            return undefined;
        }
        try {
            return JSON.parse(text);
        } catch {
            return this.reject(key, text, allowed);
        }
    }

    string(key: string, allowed: string, ok: (v: string) => boolean): string | undefined {
        const value = this.present(key, allowed);
        if (value === undefined) {
            return undefined;
        }
        return ok(value) ? value : this.reject(key, value, allowed);
    }

    oneOf<T extends string>(key: string, choices: readonly T[]): T | undefined {
        const allowed = `one of ${choices.join(", ")}`;
        return this.string(key, allowed, (v) => (choices as readonly string[]).includes(v)) as T | undefined;
    }

    integer(key: string, min: number, max: number): number | undefined {
        const allowed = `an integer from ${min} to ${max}`;
        const text = this.present(key, allowed);
        if (text === undefined) {
            return undefined;
        }
        const value = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
        if (!Number.isSafeInteger(value) || value < min || value > max) {
            return this.reject(key, /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text, allowed);
        }
        return value;
    }

    boolean(key: string): boolean | undefined {
        const text = this.present(key, "true or false");
        if (text === undefined) {
            return undefined;
        }
        if (text !== "true" && text !== "false") {
            return this.reject(key, text, "true or false");
        }
        return text === "true";
    }

    stringArray(key: string, allowed: string, itemOk: (v: string) => boolean, minItems: number): string[] | undefined {
        const value = this.json(key, allowed);
        if (value === undefined) {
            return undefined;
        }
        if (!Array.isArray(value) || value.length < minItems || !value.every((v) => typeof v === "string" && itemOk(v))) {
            return this.reject(key, value, allowed);
        }
        return value as string[];
    }

    stringMap(key: string, allowed: string): Record<string, unknown> | undefined {
        const value = this.json(key, allowed);
        if (value === undefined) {
            return undefined;
        }
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            return this.reject(key, value, allowed);
        }
        return value as Record<string, unknown>;
    }
}

function isRegion(v: string): boolean {
    return AWS_REGIONS.includes(v);
}

/** Parses and validates the raw config of `stack`. Throws ConfigError listing every problem. */
export function parseConfig(raw: RawConfig, stack: string): PlatformConfig {
    const r = new Reader(raw);
    const k = (name: string) => `${PROJECT}:${name}`;
    const regionList = `an AWS region (${AWS_REGIONS.slice(0, 4).join(", ")}, ...)`;

    // --- regions and role -------------------------------------------------------------
    const primaryRegion = r.string(k("primaryRegion"), regionList, isRegion);
    const drRegion = r.string(k("drRegion"), regionList, isRegion);
    if (primaryRegion && drRegion && primaryRegion === drRegion) {
        r.reject(k("drRegion"), drRegion, `a region other than ecommerce:primaryRegion (${primaryRegion})`);
    }
    const sites = primaryRegion && drRegion && primaryRegion !== drRegion ? [primaryRegion, drRegion] : undefined;
    const siteList = sites ? `one of ${sites.join(", ")} (ecommerce:primaryRegion, ecommerce:drRegion)` : "a site region";
    const region = r.string("aws:region", siteList, (v) => (sites ? sites.includes(v) : isRegion(v)));
    const writerRegion = r.string(k("writerRegion"), siteList, (v) => (sites ? sites.includes(v) : isRegion(v)));
    const backupRegions = r.stringArray(
        k("backupRegions"),
        `at least two distinct AWS regions other than the site regions${sites ? ` (${sites.join(", ")})` : ""}`,
        (v) => isRegion(v) && !(sites ?? []).includes(v),
        2,
    );
    if (backupRegions && new Set(backupRegions).size !== backupRegions.length) {
        r.reject(k("backupRegions"), backupRegions, "distinct regions (a region is listed twice)");
    }
    const stateBackend = r.string(
        k("stateBackend"),
        `s3://<bucket>?region=${region ?? "<the stack's region>"} (state lives in the stack's own region)`,
        (v) => {
            const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/[^?]*)?\?(.*)$/.exec(v);
            // The region is compared only once aws:region itself is valid (else that is the problem).
            return m !== null && (region === undefined || new URLSearchParams(m[3]).get("region") === region);
        },
    );

    // --- hostnames and tags -----------------------------------------------------------
    const siteHostname = r.string(k("siteHostname"), "a DNS hostname such as shop.example.com", (v) => HOSTNAME.test(v));
    const originHostnames = regionMap(
        r,
        k("originHostnames"),
        sites,
        "a DNS hostname",
        (v) => typeof v === "string" && HOSTNAME.test(v),
    ) as Record<string, string> | undefined;
    const tagsRaw = r.stringMap(k("tags"), "a map of tag key to string value");
    let tags: Record<string, string> | undefined;
    if (tagsRaw) {
        const bad = Object.entries(tagsRaw).find(([key, value]) => !TAG_KEY.test(key) || typeof value !== "string" || value.length > 256);
        const reserved = Object.keys(tagsRaw).find((key) => ["Name", "Project", "Stack", "Tier", "ManagedBy"].includes(key));
        if (bad) {
            r.reject(k("tags"), tagsRaw, "tag keys of 1-128 letters, digits, spaces or _.:/=+-@ with string values up to 256 characters");
        } else if (reserved) {
            r.reject(k("tags"), tagsRaw, `no reserved key (${reserved} is set by the program: Name, Project, Stack, Tier, ManagedBy)`);
        } else {
            tags = tagsRaw as Record<string, string>;
        }
    }

    // --- network ----------------------------------------------------------------------
    const vpcCidrs = regionMap(r, k("vpcCidrs"), sites, "an IPv4 CIDR from /16 to /22", (v) => {
        const c = typeof v === "string" ? parseCidr(v) : undefined;
        return c !== undefined && c.prefix >= 16 && c.prefix <= 22;
    }) as Record<string, string> | undefined;
    if (vpcCidrs && sites && cidrsOverlap(parseCidr(vpcCidrs[sites[0]])!, parseCidr(vpcCidrs[sites[1]])!)) {
        r.reject(k("vpcCidrs"), vpcCidrs, "non-overlapping CIDRs for the two regions (they must be routable to each other)");
    }
    const azIds = regionMap(
        r,
        k("azIds"),
        sites,
        `2 to ${MAX_AZS} distinct AZ IDs of that region (e.g. use2-az1)`,
        (v, reg) =>
            Array.isArray(v) &&
            v.length >= 2 &&
            v.length <= MAX_AZS &&
            new Set(v).size === v.length &&
            v.every((id) => typeof id === "string" && azIdBelongsTo(id, reg)),
    ) as Record<string, string[]> | undefined;
    const natGateways = r.oneOf<NatGatewayMode>(k("natGateways"), ["perAz", "single"]);
    const flowLogRetentionDays = r.integer(k("flowLogRetentionDays"), 1, 3653);
    if (flowLogRetentionDays !== undefined && !CLOUDWATCH_RETENTION_DAYS.includes(flowLogRetentionDays)) {
        r.reject(k("flowLogRetentionDays"), flowLogRetentionDays, `a CloudWatch Logs retention (${CLOUDWATCH_RETENTION_DAYS.join(", ")})`);
    }

    // --- web --------------------------------------------------------------------------
    const ec2Type = "an EC2 instance type such as t3.xlarge";
    const webInstanceType = r.string(k("webInstanceType"), ec2Type, (v) => EC2_INSTANCE_TYPE.test(v));
    const webInstanceCount = r.integer(k("webInstanceCount"), 1, 100);
    const webMaxInstanceCount = r.integer(k("webMaxInstanceCount"), 1, 200);
    if (webInstanceCount !== undefined && webMaxInstanceCount !== undefined && webMaxInstanceCount < webInstanceCount) {
        r.reject(k("webMaxInstanceCount"), webMaxInstanceCount, `at least ecommerce:webInstanceCount (${webInstanceCount})`);
    }
    const webAmiNameFilter = r.string(k("webAmiNameFilter"), "empty, or an AMI name filter such as ecommerce-web-*", (v) =>
        /^[\w.*?()[\]/@' -]{0,128}$/.test(v),
    );
    const webAmiOwner = r.string(k("webAmiOwner"), "self, amazon or a 12-digit account ID", (v) => /^(self|amazon|\d{12})$/.test(v));
    const webArtifactUri = r.string(
        k("webArtifactUri"),
        "empty, or a release bundle s3://<bucket>/<key>.tar.gz (`{region}` stands for the stack's region)",
        (v) => v === "" || parseReleaseUri(v.replace(/\{region\}/g, "us-east-2")) !== undefined,
    );
    if (webArtifactUri && webAmiNameFilter) {
        r.reject(k("webArtifactUri"), webArtifactUri, "empty when ecommerce:webAmiNameFilter is set (a baked AMI carries the application)");
    }
    if (webArtifactUri === "" && webAmiNameFilter === "") {
        // Neither a baked AMI nor a release bundle: nothing would install the application,
        // every server would fail its health check and the group would replace them forever.
        r.reject(
            k("webArtifactUri"),
            webArtifactUri,
            "a release bundle s3://<bucket>/<key>.tar.gz when ecommerce:webAmiNameFilter is empty (something must install the application)",
        );
    }
    const webRootVolumeGiB = r.integer(k("webRootVolumeGiB"), 8, 1024);
    const healthCheckPath = r.string(
        k("healthCheckPath"),
        "an absolute URL path such as /api/health",
        (v) => /^\/[\w\-./~%]*$/.test(v) && v.length <= 1024,
    );
    const certificateArns = r.stringMap(k("certificateArns"), "a map of region to ACM certificate ARN");
    let certificateArn: string | undefined;
    if (certificateArns) {
        for (const [reg, arn] of Object.entries(certificateArns)) {
            const ok = typeof arn === "string" && new RegExp(`^arn:aws:acm:${reg}:\\d{12}:certificate/[0-9a-f-]{36}$`).test(arn);
            if (!(sites ?? [reg]).includes(reg) || !ok) {
                r.reject(
                    `${k("certificateArns")}.${reg}`,
                    arn,
                    `an ACM certificate ARN in ${reg} (arn:aws:acm:${reg}:<account>:certificate/<id>), keyed by a site region`,
                );
            }
        }
        certificateArn = region ? (certificateArns[region] as string | undefined) : undefined;
    }

    // --- redis ------------------------------------------------------------------------
    const known = Object.keys(INSTANCE_MEMORY_MIB).join(", ");
    const redisInstanceType = r.string(
        k("redisInstanceType"),
        `an instance type with known memory (${known})`,
        (v) => v in INSTANCE_MEMORY_MIB,
    );
    const redisNodeCount = r.integer(k("redisNodeCount"), 3, 9);
    if (redisNodeCount !== undefined && redisNodeCount % 2 === 0) {
        r.reject(k("redisNodeCount"), redisNodeCount, "an odd number (Sentinel needs a strict majority)");
    }
    const redisVersion = r.string(
        k("redisVersion"),
        "an exact 6.2.x release, 6.2.20 or later (CVE-2025-49844)",
        (v) => EXACT_VERSION.test(v) && v.startsWith("6.2.") && Number(v.split(".")[2]) >= 20,
    );
    const redisImageRepository = r.string(k("redisImageRepository"), "an image repository without tag or digest", (v) =>
        /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/.test(v),
    );
    const redisSentinelQuorum = r.integer(k("redisSentinelQuorum"), 1, 9);
    if (redisSentinelQuorum !== undefined && redisNodeCount !== undefined && redisNodeCount % 2 === 1) {
        const majority = Math.floor(redisNodeCount / 2) + 1;
        if (redisSentinelQuorum < majority || redisSentinelQuorum > redisNodeCount) {
            r.reject(
                k("redisSentinelQuorum"),
                redisSentinelQuorum,
                `a majority of ecommerce:redisNodeCount (${majority} to ${redisNodeCount})`,
            );
        }
    }
    const redisMaxmemoryPercent = r.integer(k("redisMaxmemoryPercent"), 10, 90);

    // --- database ---------------------------------------------------------------------
    const dbInstanceClass = r.string(k("dbInstanceClass"), "an RDS instance class such as db.t3.2xlarge", (v) =>
        RDS_INSTANCE_CLASS.test(v),
    );
    const dbReplicaCount = r.integer(k("dbReplicaCount"), 0, 5);
    const dbEngineVersion = r.string(
        k("dbEngineVersion"),
        "an RDS MySQL 8.4 version (8.4 or 8.4.x); 5.6, 5.7 and 8.0 are end of life or paid Extended Support",
        (v) => /^8\.4(\.\d+)?$/.test(v),
    );
    const dbMultiAz = r.boolean(k("dbMultiAz"));
    const dbAllocatedStorageGiB = r.integer(k("dbAllocatedStorageGiB"), 20, 65536);
    const dbMaxAllocatedStorageGiB = r.integer(k("dbMaxAllocatedStorageGiB"), 20, 65536);
    if (dbAllocatedStorageGiB !== undefined && dbMaxAllocatedStorageGiB !== undefined && dbMaxAllocatedStorageGiB < dbAllocatedStorageGiB) {
        r.reject(
            k("dbMaxAllocatedStorageGiB"),
            dbMaxAllocatedStorageGiB,
            `at least ecommerce:dbAllocatedStorageGiB (${dbAllocatedStorageGiB})`,
        );
    }
    const dbBackupRetentionDays = r.integer(k("dbBackupRetentionDays"), 7, 35);
    const dbIdentifier = r.string(
        k("dbIdentifier"),
        "lowercase letters, digits and single hyphens, starting with a letter, at most 40 characters",
        (v) => /^[a-z](?!.*--)[a-z0-9-]{0,39}$/.test(v) && !v.endsWith("-"),
    );
    const dbName = r.string(k("dbName"), "a MySQL database name (letter, then letters, digits, _; at most 64)", (v) =>
        /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(v),
    );
    const dbMasterUsername = r.string(
        k("dbMasterUsername"),
        "a MySQL user name (letter, then letters, digits, _; at most 16; not rdsadmin)",
        (v) => /^[A-Za-z][A-Za-z0-9_]{0,15}$/.test(v) && v.toLowerCase() !== "rdsadmin",
    );
    const dbPrivateZoneName = r.string(k("dbPrivateZoneName"), "a DNS zone name such as db.ecommerce.internal", (v) =>
        /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(v),
    );

    // --- monitoring -------------------------------------------------------------------
    const eksVersion = r.string(k("eksVersion"), "a Kubernetes minor version such as 1.34", (v) => /^1\.(2[89]|3\d)$/.test(v));
    const eksNodeInstanceType = r.string(k("eksNodeInstanceType"), ec2Type, (v) => EC2_INSTANCE_TYPE.test(v));
    const eksNodeCount = r.integer(k("eksNodeCount"), 2, 20);
    const eksApiAllowedCidrs = r.stringArray(
        k("eksApiAllowedCidrs"),
        "one or more IPv4 CIDRs, none of them 0.0.0.0/0",
        (v) => parseCidr(v) !== undefined && parseCidr(v)!.prefix > 0,
        1,
    );
    const chartVersion = "an exact chart version x.y.z";
    const kubePrometheusStackVersion = r.string(k("kubePrometheusStackVersion"), chartVersion, (v) => EXACT_VERSION.test(v));
    const blackboxExporterVersion = r.string(k("blackboxExporterVersion"), chartVersion, (v) => EXACT_VERSION.test(v));
    const prometheusRetentionDays = r.integer(k("prometheusRetentionDays"), 1, 365);
    const prometheusStorageGiB = r.integer(k("prometheusStorageGiB"), 10, 16384);
    const grafanaStorageGiB = r.integer(k("grafanaStorageGiB"), 1, 1024);
    const alertmanagerStorageGiB = r.integer(k("alertmanagerStorageGiB"), 1, 1024);
    const alertReceiverSecretName = r.string(
        k("alertReceiverSecretName"),
        "a Secrets Manager secret name (letters, digits, /_+=.@-)",
        (v) => /^[\w/+=.@-]{1,512}$/.test(v),
    );

    // --- failover ---------------------------------------------------------------------
    const failoverIntervalSeconds = r.integer(k("failoverIntervalSeconds"), 5, 3600);
    const failoverMaxFail = r.integer(k("failoverMaxFail"), 1, 100);

    if (r.problems.length > 0) {
        throw new ConfigError(stack, r.problems);
    }
    // Every value below was checked above; the assertions only narrow the types.
    const thisRegion = region!;
    const peerRegion = sites!.find((s) => s !== thisRegion)!;
    return {
        project: PROJECT,
        stack,
        region: thisRegion,
        peerRegion,
        role: thisRegion === writerRegion ? "writer" : "standby",
        primaryRegion: primaryRegion!,
        drRegion: drRegion!,
        writerRegion: writerRegion!,
        backupRegions: backupRegions!,
        stateBackend: stateBackend!,
        siteHostname: siteHostname!,
        originHostnames: originHostnames!,
        tags: tags!,
        network: {
            vpcCidr: vpcCidrs![thisRegion],
            azIds: azIds![thisRegion],
            natGateways: natGateways!,
            flowLogRetentionDays: flowLogRetentionDays!,
        },
        web: {
            instanceType: webInstanceType!,
            instanceCount: webInstanceCount!,
            maxInstanceCount: webMaxInstanceCount!,
            amiNameFilter: webAmiNameFilter === "" ? undefined : webAmiNameFilter,
            amiOwner: webAmiOwner!,
            artifactUri: webArtifactUri ? webArtifactUri.replace(/\{region\}/g, thisRegion) : undefined,
            rootVolumeGiB: webRootVolumeGiB!,
            healthCheckPath: healthCheckPath!,
            certificateArn,
        },
        redis: {
            instanceType: redisInstanceType!,
            nodeCount: redisNodeCount!,
            version: redisVersion!,
            image: `${redisImageRepository}:${redisVersion}`,
            sentinelQuorum: redisSentinelQuorum!,
            maxmemoryPercent: redisMaxmemoryPercent!,
        },
        db: {
            instanceClass: dbInstanceClass!,
            replicaCount: dbReplicaCount!,
            engineVersion: dbEngineVersion!,
            multiAz: dbMultiAz!,
            allocatedStorageGiB: dbAllocatedStorageGiB!,
            maxAllocatedStorageGiB: dbMaxAllocatedStorageGiB!,
            backupRetentionDays: dbBackupRetentionDays!,
            identifierBase: dbIdentifier!,
            name: dbName!,
            masterUsername: dbMasterUsername!,
            privateZoneName: dbPrivateZoneName!,
        },
        monitoring: {
            eksVersion: eksVersion!,
            nodeInstanceType: eksNodeInstanceType!,
            nodeCount: eksNodeCount!,
            apiAllowedCidrs: eksApiAllowedCidrs!,
            kubePrometheusStackVersion: kubePrometheusStackVersion!,
            blackboxExporterVersion: blackboxExporterVersion!,
            prometheusRetentionDays: prometheusRetentionDays!,
            prometheusStorageGiB: prometheusStorageGiB!,
            grafanaStorageGiB: grafanaStorageGiB!,
            alertmanagerStorageGiB: alertmanagerStorageGiB!,
            alertReceiverSecretName: alertReceiverSecretName!,
        },
        failover: { intervalSeconds: failoverIntervalSeconds!, maxFail: failoverMaxFail! },
    };
}

/**
 * Reads a region-keyed map that must have a valid entry for each site region (extra
 * regions are allowed: a map may be prepared for a future site).
 */
function regionMap(
    r: Reader,
    key: string,
    sites: readonly string[] | undefined,
    itemAllowed: string,
    itemOk: (value: unknown, region: string) => boolean,
): Record<string, unknown> | undefined {
    const map = r.stringMap(key, `a map from region to ${itemAllowed}`);
    if (!map || !sites) {
        return undefined;
    }
    let ok = true;
    for (const site of sites) {
        if (!(site in map)) {
            r.reject(key, map, `an entry for each site region (${sites.join(", ")}); ${site} is missing`);
            ok = false;
        } else if (!itemOk(map[site], site)) {
            r.reject(`${key}.${site}`, map[site], itemAllowed);
            ok = false;
        }
    }
    return ok ? map : undefined;
}

/** Reads and validates the running stack's configuration (the Pulumi CLI supplies it). */
export function loadConfig(): PlatformConfig {
    return parseConfig((key) => pulumiRuntime.getConfig(key), pulumiGetStack());
}
