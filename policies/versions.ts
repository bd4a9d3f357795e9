/**
 * Versions: what AWS no longer creates or only sells as paid Extended Support, images with
 * known critical CVEs, and floating tags. The advisory table is dated; each row names its
 * source. Revisit it when AWS's calendar or the CVE feeds move.
 */
import { ADVISORIES_AS_OF, ENGINE_ADVISORIES, EXACT_TAG, imageProblem } from "../lib/advisories";
import { configOf, resourcePolicy } from "./kit";

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
