/**
 * The dated advisory tables, one home for what AWS no longer creates or only sells as paid
 * Extended Support, which Kubernetes versions EKS supports until when, which Lambda runtimes are deprecated when, and which container
 * images carry known critical CVEs. Each row names its source. Config validation (lib/config.ts),
 * the components and the policy pack (policies/versions.ts) all read these tables; revisit them
 * when AWS's calendars or the CVE feeds move.
 */

export const ADVISORIES_AS_OF = "2026-12-02";

export interface EngineAdvisory {
    readonly engine: string;
    /** major.minor */
    readonly version: string;
    readonly status: string;
    readonly source: string;
}

const RDS_MYSQL_CALENDAR = "https://docs.aws.amazon.com/AmazonRDS/latest/MySQLReleaseNotes/mysql-release-calendar.html";

export const ENGINE_ADVISORIES: readonly EngineAdvisory[] = [
    { engine: "mysql", version: "5.6", status: "RDS no longer creates it (end of life 2022-03-01)", source: RDS_MYSQL_CALENDAR },
    {
        engine: "mysql",
        version: "5.7",
        status: "paid RDS Extended Support only (standard support ended 2024-02-29)",
        source: RDS_MYSQL_CALENDAR,
    },
    { engine: "mysql", version: "8.0", status: "paid RDS Extended Support only since 2026-08-01", source: RDS_MYSQL_CALENDAR },
];

/** An exact version tag: x.y.z, optionally v-prefixed or with a build suffix (6.2.20-alpine). */
export const EXACT_TAG = /^v?\d+\.\d+\.\d+([.-][0-9A-Za-z.-]+)?$/;

export interface ImageAdvisory {
    /** Matches the image repository (registry and path). */
    readonly repository: RegExp;
    /** major.minor line the row covers. */
    readonly line: string;
    /** First fixed patch of the line; undefined: no fix in this line (end of life). */
    readonly fixedIn?: string;
    readonly advisory: string;
    readonly source: string;
}

const REDIS = /(^|\/)redis$/;
const CVE_2025_49844 = "CVE-2025-49844 (Lua use-after-free, remote code execution, CVSS 10.0)";
const NVD_49844 = "https://nvd.nist.gov/vuln/detail/CVE-2025-49844";

export const IMAGE_ADVISORIES: readonly ImageAdvisory[] = [
    { repository: REDIS, line: "6.2", fixedIn: "6.2.20", advisory: CVE_2025_49844, source: NVD_49844 },
    { repository: REDIS, line: "7.2", fixedIn: "7.2.11", advisory: CVE_2025_49844, source: NVD_49844 },
    { repository: REDIS, line: "7.4", fixedIn: "7.4.6", advisory: CVE_2025_49844, source: NVD_49844 },
    { repository: REDIS, line: "8.0", fixedIn: "8.0.4", advisory: CVE_2025_49844, source: NVD_49844 },
    { repository: REDIS, line: "8.2", fixedIn: "8.2.2", advisory: CVE_2025_49844, source: NVD_49844 },
    { repository: REDIS, line: "6.0", advisory: `${CVE_2025_49844}; the 6.0 line is end of life and gets no fix`, source: NVD_49844 },
    { repository: REDIS, line: "7.0", advisory: `${CVE_2025_49844}; the 7.0 line is end of life and gets no fix`, source: NVD_49844 },
];

export interface ImageRef {
    readonly repository: string;
    readonly tag?: string;
    readonly digest?: string;
}

export function parseImage(ref: string): ImageRef {
    const [name, digest] = ref.split("@");
    const slash = name.lastIndexOf("/");
    const colon = name.lastIndexOf(":");
    return colon > slash ? { repository: name.slice(0, colon), tag: name.slice(colon + 1), digest } : { repository: name, digest };
}

export function compareVersions(a: string, b: string): number {
    const pa = a.split(/[.-]/).map((x) => parseInt(x, 10));
    const pb = b.split(/[.-]/).map((x) => parseInt(x, 10));
    for (let i = 0; i < 3; i++) {
        if ((pa[i] || 0) !== (pb[i] || 0)) {
            return (pa[i] || 0) - (pb[i] || 0);
        }
    }
    return 0;
}

/** Why an image reference is refused, or undefined. */
export function imageProblem(reference: string): string | undefined {
    const image = parseImage(reference);
    if (!image.digest && (!image.tag || !EXACT_TAG.test(image.tag))) {
        return `image ${reference} uses a floating tag (${image.tag ?? "none, i.e. latest"}); pin an exact version or a digest`;
    }
    const version = image.tag?.replace(/^v/, "");
    if (!version || !EXACT_TAG.test(image.tag!)) {
        return undefined; // digest-only: the advisory table cannot read a version from it
    }
    const line = version.split(".").slice(0, 2).join(".");
    const row = IMAGE_ADVISORIES.find((a) => a.repository.test(image.repository) && a.line === line);
    if (row && (row.fixedIn === undefined || compareVersions(version, row.fixedIn) < 0)) {
        return `image ${reference} is exposed to ${row.advisory}${row.fixedIn ? `: use ${row.fixedIn} or later` : ""} (${row.source}, as of ${ADVISORIES_AS_OF})`;
    }
    return undefined;
}

// --- EKS: Kubernetes versions and their standard support ------------------------------------

export interface EksVersionRow {
    /** Kubernetes minor version, e.g. "1.35". */
    readonly version: string;
    /** When EKS released it (ISO date). */
    readonly released: string;
    /**
     * The calendar's "end of standard support" (ISO date): from the start of that day (UTC) the
     * version is in extended support (paid, 12 months) or, with supportType STANDARD, upgraded.
     */
    readonly endOfStandardSupport: string;
    readonly source: string;
}

const EKS_CALENDAR = "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html (release calendar)";
/** endoflife.date reads the calendar's table into products/amazon-eks.md (commit a70eca337600, 2026-08-22). */
const EKS_CALENDAR_VIA_EOL = `${EKS_CALENDAR}, as read by endoflife.date products/amazon-eks.md`;

/**
 * EKS versions, newest first. Standard support lasts 14 months from the EKS release. With
 * `upgradePolicy.supportType: STANDARD` EKS upgrades the control plane by itself when it ends,
 * and every later `pulumi up` would plan a downgrade that EKS refuses: move before that day.
 * Only rows whose dates were verified are listed; add a newer version here with its source.
 */
export const EKS_VERSIONS: readonly EksVersionRow[] = [
    { version: "1.36", released: "2026-06-02", endOfStandardSupport: "2027-08-02", source: EKS_CALENDAR_VIA_EOL },
    { version: "1.35", released: "2026-01-27", endOfStandardSupport: "2027-03-27", source: EKS_CALENDAR },
    { version: "1.34", released: "2025-10-02", endOfStandardSupport: "2026-12-02", source: EKS_CALENDAR },
    { version: "1.33", released: "2025-05-29", endOfStandardSupport: "2026-07-29", source: EKS_CALENDAR },
    { version: "1.32", released: "2025-01-23", endOfStandardSupport: "2026-03-23", source: EKS_CALENDAR },
    { version: "1.31", released: "2024-09-26", endOfStandardSupport: "2025-11-26", source: EKS_CALENDAR },
];

/** Days before the end of standard support from which a version is reported as ending. */
export const EKS_SUPPORT_WARNING_DAYS = 60;

export type EksSupport =
    | { readonly status: "unknown" }
    | { readonly status: "standard" | "ending" | "ended"; readonly row: EksVersionRow; readonly daysLeft: number };

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whole UTC days from `date` to the start of `isoDay` (0 on that day, negative after it). */
function daysUntil(isoDay: string, date: Date): number {
    const today = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
    return Math.round((Date.parse(`${isoDay}T00:00:00Z`) - today) / DAY_MS);
}

/**
 * Where `version` stands in EKS standard support on `date` (UTC days): `daysLeft` counts the
 * days of standard support left, so on the end date itself it is 0 and the version has ended.
 */
export function eksSupport(version: string, date: Date): EksSupport {
    const row = EKS_VERSIONS.find((r) => r.version === version);
    if (!row) {
        return { status: "unknown" };
    }
    const daysLeft = daysUntil(row.endOfStandardSupport, date);
    const status = daysLeft <= 0 ? "ended" : daysLeft <= EKS_SUPPORT_WARNING_DAYS ? "ending" : "standard";
    return { status, row, daysLeft };
}

// --- Lambda: managed runtimes and their deprecation -----------------------------------------

export interface LambdaRuntimeRow {
    /** Runtime identifier, e.g. "nodejs24.x". */
    readonly runtime: string;
    /** Deprecation (ISO date): from that day no security patches, and the policy pack refuses it. */
    readonly deprecated: string;
    /** From this day CreateFunction with the runtime is refused. */
    readonly blockCreate: string;
    /** From this day UpdateFunctionConfiguration/UpdateFunctionCode on it is refused. */
    readonly blockUpdate: string;
    readonly source: string;
}

const LAMBDA_CALENDAR = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html (supported and deprecated runtimes)";
/**
 * The block dates of deprecated runtimes have moved several times (nodejs20.x: June/July 2026
 * in AWS's Health notice of November 2025, February/March 2027 on the page in June 2026);
 * cfn-lint's copy of the table (LmbdRuntimeLifecycle.json, PR #4532, 2026-06-02) is the latest read.
 */
const LAMBDA_CALENDAR_VIA_CFN_LINT = `${LAMBDA_CALENDAR}, as read by cfn-lint LmbdRuntimeLifecycle.json (2026-06-02)`;

/**
 * The Node.js runtimes Lambda lists, newest first. A deprecated runtime first stops getting
 * patches, then stops taking new functions, then stops taking updates: after a failover the
 * `writerRegion` flip updates the controller's function, so an update block breaks recovery.
 * Add a newer runtime here with its source.
 */
export const LAMBDA_RUNTIMES: readonly LambdaRuntimeRow[] = [
    { runtime: "nodejs24.x", deprecated: "2028-04-30", blockCreate: "2028-06-01", blockUpdate: "2028-07-01", source: LAMBDA_CALENDAR },
    { runtime: "nodejs22.x", deprecated: "2027-04-30", blockCreate: "2027-06-01", blockUpdate: "2027-07-01", source: LAMBDA_CALENDAR },
    {
        runtime: "nodejs20.x",
        deprecated: "2026-04-30",
        blockCreate: "2027-02-01",
        blockUpdate: "2027-03-03",
        source: LAMBDA_CALENDAR_VIA_CFN_LINT,
    },
    {
        runtime: "nodejs18.x",
        deprecated: "2025-09-01",
        blockCreate: "2027-02-01",
        blockUpdate: "2027-03-03",
        source: LAMBDA_CALENDAR_VIA_CFN_LINT,
    },
];

/** Days before a runtime's deprecation from which it is reported as ending. */
export const LAMBDA_RUNTIME_WARNING_DAYS = 60;

export type LambdaRuntimeSupport =
    | { readonly status: "unknown" }
    | { readonly status: "supported" | "ending" | "deprecated"; readonly row: LambdaRuntimeRow; readonly daysLeft: number };

/** Where `runtime` stands on `date` (UTC days): `daysLeft` counts the days until its deprecation. */
export function lambdaRuntimeSupport(runtime: string, date: Date): LambdaRuntimeSupport {
    const row = LAMBDA_RUNTIMES.find((r) => r.runtime === runtime);
    if (!row) {
        return { status: "unknown" };
    }
    const daysLeft = daysUntil(row.deprecated, date);
    const status = daysLeft <= 0 ? "deprecated" : daysLeft <= LAMBDA_RUNTIME_WARNING_DAYS ? "ending" : "supported";
    return { status, row, daysLeft };
}
