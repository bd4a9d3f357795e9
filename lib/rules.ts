/**
 * One home for every rule a setting must satisfy: the allowed range or pattern and the words
 * that tell a user what is allowed. Config parsing (lib/config.ts) and the components' own
 * argument checks read the same rule, so a config key and the component argument it feeds can
 * never disagree. Each non-obvious limit names where it comes from.
 */
import { EKS_VERSIONS, imageProblem, IMAGE_ADVISORIES } from "./advisories";
import { cidrsOverlap, parseCidr } from "./cidr";
import { INSTANCE_MEMORY_MIB } from "./instanceTypes";
import { AWS_REGIONS } from "./regions";

/** A rule a value must satisfy, and how to say what it allows. */
export interface Rule<T> {
    /** Completes "expected ...": `an integer from 1 to 100`. */
    readonly allowed: string;
    readonly accepts: (value: T) => boolean;
}

export function rule<T>(allowed: string, accepts: (value: T) => boolean): Rule<T> {
    return { allowed, accepts };
}

export function pattern(regex: RegExp, allowed: string): Rule<string> {
    return rule(allowed, (v) => typeof v === "string" && regex.test(v));
}

export function integerFrom(min: number, max: number, unit = ""): Rule<number> {
    return rule(`an integer from ${min} to ${max}${unit}`, (v) => Number.isInteger(v) && v >= min && v <= max);
}

export function oneOf(values: readonly string[], allowed = `one of ${values.join(", ")}`): Rule<string> {
    return rule(allowed, (v) => values.includes(v));
}

export function oneOfNumbers(values: readonly number[], allowed = `one of ${values.join(", ")}`): Rule<number> {
    return rule(allowed, (v) => values.includes(v));
}

/** A number at least as large as another setting's value (`named`, e.g. `instanceCount`). */
export function atLeast(named: string, min: number): Rule<number> {
    return rule(`an integer of at least ${named} (${min})`, (v) => Number.isInteger(v) && v >= min);
}

// --- collecting problems ---------------------------------------------------------------------

/** One problem: `<field> = <value as JSON>: expected <allowed>`. */
export function problem(field: string, value: unknown, allowed: string): string {
    return `${field} = ${JSON.stringify(value)}: expected ${allowed}`;
}

/** Collects every problem of a set of settings, so all are reported at once. */
export class Problems {
    readonly list: string[] = [];

    reject(field: string, value: unknown, allowed: string): void {
        this.list.push(problem(field, value, allowed));
    }

    /** True when `value` satisfies `r`; otherwise records the problem. */
    check<T>(field: string, value: T, r: Rule<T>): boolean {
        if (r.accepts(value)) {
            return true;
        }
        this.reject(field, value, r.allowed);
        return false;
    }

    /** Like check, for an optional argument: absent is fine. */
    checkOptional<T>(field: string, value: T | undefined, r: Rule<T>): boolean {
        return value === undefined || this.check(field, value, r);
    }

    add(...problems: string[]): void {
        this.list.push(...problems);
    }
}

/** A component refused its arguments; thrown before any of its resources exists. */
export class InvalidArgumentsError extends Error {
    constructor(
        readonly component: string,
        readonly resourceName: string,
        readonly problems: readonly string[],
    ) {
        super(`${component} ${resourceName}: invalid arguments:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "InvalidArgumentsError";
    }
}

/** Throws InvalidArgumentsError when there is any problem. */
export function requireValidArgs(component: string, name: string, problems: readonly string[]): void {
    if (problems.length > 0) {
        throw new InvalidArgumentsError(component, name, problems);
    }
}

// --- regions, names, addresses ---------------------------------------------------------------

export const AWS_REGION = rule<string>(`an AWS region (${AWS_REGIONS.slice(0, 4).join(", ")}, ...)`, (v) => AWS_REGIONS.includes(v));
export const ACCOUNT_ID = pattern(/^\d{12}$/, "a 12-digit AWS account ID");
/** The shape of a region name (any partition's), where the list of AWS_REGION would be too narrow. */
export const REGION_NAME = pattern(/^[a-z]{2}(-[a-z]+)+-\d+$/, "an AWS region name like us-east-2");
/** RFC 1123 hostname with a top-level domain. */
export const HOSTNAME = pattern(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    "a DNS hostname such as shop.example.com",
);
/** Address ranges that never reach a public endpoint: private (RFC 1918), shared (RFC 6598), loopback, link-local. */
const NON_PUBLIC_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"].map((c) =>
    parseCidr(c)!,
);
/**
 * Who may reach the EKS API's public endpoint: public IPv4 CIDRs narrower than the internet.
 * The public endpoint sees only public source addresses, and EKS refuses private ranges in
 * publicAccessCidrs (UpdateClusterConfig: InvalidParameterException); in-VPC callers use the
 * private endpoint.
 */
export const PUBLIC_API_CIDR = rule<string>(
    "a public IPv4 CIDR narrower than 0.0.0.0/0 (not private, shared, loopback or link-local)",
    (v) => {
        const cidr = parseCidr(v);
        return cidr !== undefined && cidr.prefix > 0 && !NON_PUBLIC_CIDRS.some((range) => cidrsOverlap(cidr, range));
    },
);
/** Secrets Manager names: 1-512 of letters, digits and /_+=.@- (Secrets Manager API, CreateSecret Name). */
export const SECRET_NAME = pattern(/^[\w/+=.@-]{1,512}$/, "a Secrets Manager secret name (letters, digits, /_+=.@-)");
/** Kubernetes object names (RFC 1123 label). */
export const K8S_NAME = pattern(
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    "a Kubernetes name (lowercase letters, digits and hyphens, at most 63)",
);
/** EKS CreateCluster name: 1-100 characters, a letter or digit first. */
export const EKS_CLUSTER_NAME = pattern(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/,
    "an EKS cluster name (letter or digit first, then letters, digits, - and _, at most 100)",
);
/** An ACM certificate ARN. */
export const ACM_CERTIFICATE_ARN = pattern(
    /^arn:aws[\w-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/,
    "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
);

// --- network ---------------------------------------------------------------------------------

export const NAT_GATEWAY_MODES = ["perAz", "single"] as const;
export type NatGatewayMode = (typeof NAT_GATEWAY_MODES)[number];
export const NAT_GATEWAY_MODE = oneOf(NAT_GATEWAY_MODES);

// --- compute ---------------------------------------------------------------------------------

/** An EC2 instance type such as `t3.large` or `m7i-flex.xlarge`. */
export const EC2_INSTANCE_TYPE = pattern(
    /^[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|metal|\d*xlarge)$/,
    "an EC2 instance type such as t3.xlarge",
);
/** Graviton (arm64) families: a1, t4g, m7g, c6gn, x2gd, im4gn, ... */
const ARM_FAMILY = /^(a1|[a-z]+\d+[a-z-]*g[a-z]*)\./;
/** The AMIs of this platform are x86_64. */
export const X86_INSTANCE_TYPE = rule<string>(
    "an x86_64 EC2 instance type such as t3.xlarge (the AMIs are x86_64; Graviton types cannot boot them)",
    (v) => EC2_INSTANCE_TYPE.accepts(v) && !ARM_FAMILY.test(v),
);
/** Redis maxmemory is derived from the instance's memory, so the type must be one whose memory is known. */
export const REDIS_INSTANCE_TYPE = rule<string>(
    `an instance type with known memory (${Object.keys(INSTANCE_MEMORY_MIB).join(", ")})`,
    (v) => v in INSTANCE_MEMORY_MIB,
);
/** DescribeImages owners: an account ID or an alias (EC2 API reference, DescribeImages Owners). */
export const AMI_OWNER = pattern(/^(self|amazon|aws-marketplace|\d{12})$/, "self, amazon, aws-marketplace or a 12-digit account ID");
/** An AMI name filter (AMI names: 3-128 of letters, digits and ()[]./-'@_ plus the * and ? wildcards). */
export const AMI_NAME_FILTER = pattern(/^[\w.*?()[\]/@' -]{1,128}$/, "an AMI name filter such as ecommerce-web-*");
/**
 * Root volumes: gp3 volumes are 1 GiB to 16 TiB (EBS volume types), and a root volume cannot be
 * smaller than its AMI's snapshot (8 GiB for Amazon Linux 2023).
 */
export const ROOT_VOLUME_GIB = integerFrom(8, 16384, " (GiB, gp3)");
/** EKS-optimized AL2023 AMIs have a 20 GiB root snapshot. */
export const EKS_NODE_DISK_GIB = integerFrom(20, 16384, " (GiB, gp3)");
/** Seconds an Auto Scaling group waits before health checks count (CreateAutoScalingGroup allows 0-7200 for ELB). */
export const HEALTH_CHECK_GRACE_SECONDS = integerFrom(0, 7200, " (seconds)");

// --- web -------------------------------------------------------------------------------------

export const WEB_INSTANCE_COUNT = integerFrom(1, 100);
export const WEB_MAX_INSTANCE_COUNT = integerFrom(1, 200);
/**
 * The path the load balancer, the probes and the failover controller ask. Target group health
 * check paths are at most 1024 characters (ELB API, HealthCheckPath).
 */
export const HEALTH_CHECK_PATH = rule<string>(
    "an absolute URL path such as /api/health",
    (v) => typeof v === "string" && /^\/[\w\-./~%]*$/.test(v) && v.length <= 1024,
);
export const DAYS_KEPT = integerFrom(1, 3650, " (days)");

// --- logs ------------------------------------------------------------------------------------

/** The only retention values CloudWatch Logs accepts (PutRetentionPolicy retentionInDays). */
export const CLOUDWATCH_RETENTION_DAYS: readonly number[] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
export const LOG_RETENTION_DAYS = oneOfNumbers(
    CLOUDWATCH_RETENTION_DAYS,
    `a CloudWatch Logs retention (${CLOUDWATCH_RETENTION_DAYS.join(", ")})`,
);

// --- versions --------------------------------------------------------------------------------

/** A five-field cron schedule (minute hour day-of-month month day-of-week), as Kubernetes CronJobs take it. */
export const CRON_SCHEDULE = pattern(
    /^(\*|[\d,/*-]+)\s+(\*|[\d,/*-]+)\s+(\*|[\d,/*-]+)\s+(\*|[\d,/*-]+)\s+(\*|[\d,/*-]+)$/,
    'a five-field cron schedule such as "17 3 * * *"',
);
export const EXACT_VERSION = pattern(/^\d+\.\d+\.\d+$/, "an exact version x.y.z (no ranges, no latest)");
const REDIS_LINE = IMAGE_ADVISORIES.find((a) => a.line === "6.2" && a.fixedIn !== undefined)!;
/**
 * The seed runs Redis 6.2; any exact 6.2 release the advisory table (lib/advisories.ts) does
 * not refuse.
 */
export const REDIS_VERSION = rule<string>(
    `an exact 6.2.x release, ${REDIS_LINE.fixedIn} or later (CVE-2025-49844)`,
    (v) => /^6\.2\.\d+$/.test(v) && imageProblem(`redis:${v}`) === undefined,
);
export const IMAGE_REPOSITORY = pattern(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/, "an image repository without tag or digest");
/** An image pinned to an exact x.y.z tag, a digest, or both; `latest` and `6.2` are refused. */
export const PINNED_IMAGE = pattern(
    /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+(:\d+\.\d+\.\d+(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$/,
    "an image pinned to an exact x.y.z tag or an @sha256 digest (no floating tags such as latest or 6.2)",
);
/** An image pinned by digest, with or without its tag: the bytes cannot change under a tag. */
export const DIGEST_PINNED_IMAGE = pattern(
    /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+(:\d+\.\d+\.\d+)?@sha256:[a-f0-9]{64}$/,
    "an image pinned by digest, repository[:x.y.z]@sha256:<64 hex digits> (lib/pins.ts has the verified ones)",
);
/** A sha256 content digest of an image (or its multi-platform index). */
export const IMAGE_DIGEST = pattern(/^sha256:[a-f0-9]{64}$/, "an image digest sha256:<64 hex digits>");
/** Kubernetes versions of the EKS calendar table (lib/advisories.ts); its dates are the policy pack's business. */
export const EKS_VERSION = oneOf(
    EKS_VERSIONS.map((r) => r.version),
    `a Kubernetes version of the EKS calendar in lib/advisories.ts (${EKS_VERSIONS.map((r) => r.version).join(", ")}); add a row for a newer one`,
);
/** RDS MySQL 8.4 (the LTS line); 5.6, 5.7 and 8.0 are refused by the advisory table. */
export const MYSQL_VERSION = pattern(
    /^8\.4(\.\d+)?$/,
    "an RDS MySQL 8.4 version (8.4 or 8.4.x); 5.6, 5.7 and 8.0 are end of life or paid Extended Support",
);

// --- redis -----------------------------------------------------------------------------------

/** Sentinel needs a strict majority, so an odd count. */
export const REDIS_NODE_COUNT = rule<number>(
    "an odd integer from 3 to 9 (Sentinel needs a strict majority)",
    (v) => Number.isInteger(v) && v >= 3 && v <= 9 && v % 2 === 1,
);
/** A majority of `nodeCount` sentinels, at most all of them. */
export function sentinelQuorum(nodeCount: number, named = "nodeCount"): Rule<number> {
    const majority = Math.floor(nodeCount / 2) + 1;
    return rule(`a majority of ${named} (${majority} to ${nodeCount})`, (v) => Number.isInteger(v) && v >= majority && v <= nodeCount);
}
export const MAXMEMORY_PERCENT = integerFrom(10, 90, " (the rest is for the OS, docker and forks)");
export const REDIS_MASTER_NAME_RULE = pattern(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
);
/**
 * Redis nodes to roll to a new AMI in one update: node numbers of the cluster, at most one, so
 * two of three nodes (the Sentinel majority) keep serving while it is replaced.
 */
export function redisRollNodes(nodeCount: number): Rule<readonly number[]> {
    return rule(
        `at most one node number from 1 to ${nodeCount} (one node at a time keeps the Sentinel majority)`,
        (v) => Array.isArray(v) && v.length <= 1 && v.every((n) => Number.isInteger(n) && n >= 1 && n <= nodeCount),
    );
}
/** Sentinel down-after-milliseconds: shorter than a second fails over on network blips. */
export const SENTINEL_DOWN_AFTER_MS = integerFrom(1000, 600000, " (milliseconds; shorter fails over on network blips)");

// --- database --------------------------------------------------------------------------------

/** An RDS instance class such as `db.t3.2xlarge`. */
export const RDS_INSTANCE_CLASS = pattern(
    /^db\.[a-z][a-z0-9-]*\.(micro|small|medium|large|\d*xlarge)$/,
    "an RDS instance class such as db.t3.2xlarge",
);
/** Read replicas per writer: RDS MySQL allows 15 per source; 5 is this platform's ceiling (each is a full db.t3.2xlarge). */
export const DB_REPLICA_COUNT = integerFrom(0, 5);
/** gp3 storage of RDS MySQL: 20 GiB to 64 TiB (RDS storage types). */
export const DB_STORAGE_GIB = integerFrom(20, 65536, " (GiB)");
/** At least a week of point-in-time recovery; RDS allows at most 35 days. */
export const DB_BACKUP_RETENTION_DAYS = integerFrom(7, 35, " (days)");
/** Base of the RDS identifiers: the longest, `<base>-<region>-replica-<n>`, must stay within 63 characters. */
export const DB_IDENTIFIER_BASE = rule<string>(
    "lowercase letters, digits and single hyphens, starting with a letter, at most 40 characters",
    (v) => /^[a-z](?!.*--)[a-z0-9-]{0,39}$/.test(v) && !v.endsWith("-"),
);
export const DB_NAME = pattern(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "a MySQL database name (letter, then letters, digits, _; at most 64)");
/** RDS MySQL master user names: 1-16 characters, not a reserved word such as rdsadmin. */
export const DB_MASTER_USERNAME = rule<string>(
    "a MySQL user name (letter, then letters, digits, _; at most 16; not rdsadmin)",
    (v) => /^[A-Za-z][A-Za-z0-9_]{0,15}$/.test(v) && v.toLowerCase() !== "rdsadmin",
);
export const DNS_ZONE_NAME = pattern(
    /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    "a DNS zone name such as db.ecommerce.internal",
);
/** Enhanced Monitoring intervals RDS accepts (0 turns it off). */
export const RDS_MONITORING_INTERVAL = oneOfNumbers([0, 1, 5, 10, 15, 30, 60]);
export const DNS_TTL_SECONDS = integerFrom(1, 300, " (seconds; clients must follow a promotion quickly)");

// --- monitoring ------------------------------------------------------------------------------

export const EKS_NODE_COUNT = integerFrom(2, 20);
/**
 * EKS access policies by the names config uses (EKS user guide, "Review access policy
 * permissions"). Each is associated with the cluster, or with the listed namespaces.
 */
export const EKS_ACCESS_POLICIES: Readonly<Record<string, string>> = {
    "cluster-admin": "AmazonEKSClusterAdminPolicy",
    admin: "AmazonEKSAdminPolicy",
    edit: "AmazonEKSEditPolicy",
    view: "AmazonEKSViewPolicy",
};
export const EKS_ACCESS_POLICY = oneOf(Object.keys(EKS_ACCESS_POLICIES));
/**
 * The principal of an EKS access entry: an IAM role or user ARN, with its path (SSO roles live
 * under aws-reserved/sso.amazonaws.com/). Not an assumed-role (sts) ARN and not a service-linked
 * role: CreateAccessEntry refuses both (terraform-provider-aws#36447, appmod-blueprints#319).
 * `{account}` stands for the stack's account.
 */
export const EKS_PRINCIPAL_ARN = rule<string>(
    "an IAM role or user ARN (arn:aws:iam::<account or {account}>:role/<path/name>), not an sts assumed-role ARN nor a service-linked role",
    (v) =>
        typeof v === "string" &&
        /^arn:aws[\w-]*:iam::(\d{12}|\{account\}):(role|user)\/[\w+=,.@/-]{1,512}$/.test(v) &&
        !v.includes(":role/aws-service-role/"),
);
export const K8S_NAMESPACES = rule<readonly string[]>(
    `a list of Kubernetes namespaces (each ${K8S_NAME.allowed})`,
    (v) => Array.isArray(v) && v.every((n: unknown) => typeof n === "string" && K8S_NAME.accepts(n)),
);
export const PROMETHEUS_RETENTION_DAYS = integerFrom(1, 365, " (days)");
export const PROMETHEUS_STORAGE_GIB = integerFrom(10, 16384, " (GiB)");
export const SMALL_VOLUME_GIB = integerFrom(1, 16384, " (GiB)");
export const TCP_PORT = integerFrom(1, 65535);

// --- virtual IP (Global Accelerator) ---------------------------------------------------------

/** A Route 53 hosted zone ID (Z + 1-31 upper-case letters or digits), or empty for none. */
export const HOSTED_ZONE_ID_OR_EMPTY = rule<string>(
    "a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ, or empty (no record: configure the name where its zone lives)",
    (v) => typeof v === "string" && (v === "" || /^Z[A-Z0-9]{1,31}$/.test(v)),
);
/** Listener client affinity (Global Accelerator API, Listener.ClientAffinity). */
export const ACCELERATOR_CLIENT_AFFINITY = oneOf(["NONE", "SOURCE_IP"]);
/**
 * The endpoint group's health-check interval: the API takes 10 or 30 seconds only (the
 * provider's own check would pass 10-30: terraform-provider-aws endpoint_group.go), and a
 * threshold of 1-10 consecutive checks (API EndpointGroup.ThresholdCount).
 */
export const ACCELERATOR_HEALTH_CHECK_INTERVAL = oneOfNumbers([10, 30]);
export const ACCELERATOR_THRESHOLD_COUNT = integerFrom(1, 10);
/**
 * An endpoint's weight (0-255). The API's default is 128, but the provider sends the field
 * always, so an endpoint without a weight would get 0 (terraform-provider-aws#31254, PR
 * #31767): every endpoint names its weight.
 */
export const ACCELERATOR_ENDPOINT_WEIGHT = integerFrom(0, 255);

/** A site's role (lib/config.ts StackRole). */
export const STACK_ROLE = oneOf(["writer", "standby"]);

/** The project's name as a prefix of AWS resource names. */
export const PROJECT_NAME = pattern(/^[a-z][a-z0-9-]{0,31}$/, "a lower-case name of up to 32 letters, digits or hyphens");
