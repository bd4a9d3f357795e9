/**
 * Versions: what AWS no longer creates or only sells as paid Extended Support, images with
 * known critical CVEs, and floating tags. The advisory table is dated; each row names its
 * source. Revisit it when AWS's calendar or the CVE feeds move.
 */
import { configOf, resourcePolicy } from "./kit";

export const ADVISORIES_AS_OF = "2026-11-25";

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

/**
 * Container images named literally in user data or scripts: `IMAGE=<ref>`, `image: <ref>`
 * and `docker pull <ref>`. (`docker run ... "$IMAGE"` names a variable, found at its assignment.)
 */
export function imagesIn(text: string): string[] {
    const ref = "([a-z0-9][a-z0-9._\\-/]*(?::[A-Za-z0-9._-]+)?(?:@sha256:[a-f0-9]{64})?)";
    const patterns = [
        new RegExp(`\\b(?:IMAGE|image)\\s*[=:]\\s*['"]?${ref}`, "g"),
        new RegExp(`\\bdocker\\s+pull\\s+(?:--quiet\\s+|-q\\s+)?['"]?${ref}`, "g"),
    ];
    return [...new Set(patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1])))];
}

const EXACT_TAG = /^v?\d+\.\d+\.\d+([.-][0-9A-Za-z.-]+)?$/;

function compareVersions(a: string, b: string): number {
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

export interface VersionConfig {
    /** Engine versions (major.minor) allowed despite their advisory row, e.g. ["8.0"] during a migration. */
    readonly allowedEngineVersions: readonly string[];
}

function decoded(userData: unknown): string {
    if (typeof userData !== "string") {
        return "";
    }
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(userData.replace(/\s/g, "")) && !userData.startsWith("#")) {
        return Buffer.from(userData, "base64").toString("utf8");
    }
    return userData;
}

export const approvedVersions = resourcePolicy({
    name: "approved-versions",
    description: `Refuses RDS MySQL versions AWS no longer creates or only sells as paid Extended Support, RDS instances enrolled in Extended Support, container images with known critical CVEs, and floating image tags or chart versions (advisories as of ${ADVISORIES_AS_OF}).`,
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { allowedEngineVersions: { type: "array", items: { type: "string" }, default: [] } },
    },
    types: [
        "aws:rds/instance:Instance",
        "aws:ec2/instance:Instance",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "kubernetes:helm.sh/v3:Release",
    ],
    validate: (args, report) => {
        const p = args.props;
        if (args.type === "aws:rds/instance:Instance") {
            const allowed = configOf<VersionConfig>(args, { allowedEngineVersions: [] }).allowedEngineVersions;
            const version = String(p.engineVersion ?? "");
            const line = version.split(".").slice(0, 2).join(".");
            const row = ENGINE_ADVISORIES.find((a) => a.engine === p.engine && a.version === line);
            if (row && !allowed.includes(line)) {
                report(
                    `RDS instance ${args.name} runs ${p.engine} ${version}: ${row.status} (${row.source}, as of ${ADVISORIES_AS_OF}); allow it with policy config allowedEngineVersions`,
                );
            }
            if (p.engineLifecycleSupport !== "open-source-rds-extended-support-disabled") {
                report(
                    `RDS instance ${args.name} would be enrolled in paid RDS Extended Support when its version ages; set engineLifecycleSupport to open-source-rds-extended-support-disabled`,
                );
            }
            return;
        }
        if (args.type === "kubernetes:helm.sh/v3:Release") {
            if (typeof p.version !== "string" || !EXACT_TAG.test(p.version)) {
                report(
                    `Helm release ${args.name} installs chart ${p.chart} at a floating version (${p.version ?? "latest"}); pin an exact x.y.z`,
                );
            }
            return;
        }
        for (const image of imagesIn(decoded(p.userData))) {
            const problem = imageProblem(image);
            if (problem) {
                report(`${args.name}: ${problem}`);
            }
        }
    },
});
