/**
 * Versions: what AWS no longer creates or only sells as paid Extended Support, images with
 * known critical CVEs, and floating tags. The advisory table is dated; each row names its
 * source. Revisit it when AWS's calendar or the CVE feeds move.
 */
import {
    ADVISORIES_AS_OF,
    EKS_SUPPORT_WARNING_DAYS,
    eksSupport,
    ENGINE_ADVISORIES,
    EXACT_TAG,
    imageProblem,
    LAMBDA_RUNTIME_WARNING_DAYS,
    lambdaRuntimeSupport,
} from "../lib/advisories";
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
    /**
     * The day support windows are judged on (YYYY-MM-DD); empty: today. Lets a pull request ask
     * "would this still pass on the day we deploy?" and keeps the tests independent of the clock.
     */
    readonly evaluationDate: string;
}

const VERSION_DEFAULTS: VersionConfig = { allowedEngineVersions: [], evaluationDate: "" };
const EVALUATION_DATE_SCHEMA = { type: "string", pattern: "^(\\d{4}-\\d{2}-\\d{2})?$", default: "" } as const;

/** Policy config that judges every support window of the pack on `date` (YYYY-MM-DD). */
export function judgedOn(date: string): Record<string, { evaluationDate: string }> {
    return {
        "approved-versions": { evaluationDate: date },
        "eks-standard-support-ending": { evaluationDate: date },
        "lambda-runtime-deprecation-ending": { evaluationDate: date },
    };
}

/** The day `evaluationDate` names, or today. */
export function evaluationDay(config: Pick<VersionConfig, "evaluationDate">): Date {
    return config.evaluationDate ? new Date(`${config.evaluationDate}T00:00:00Z`) : new Date();
}

/** EKS clusters and node groups, whichever way the engine shows them (remote component or child). */
const EKS_TYPES = ["eks:index:Cluster", "aws:eks/cluster:Cluster", "eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup"];

const LAMBDA_FUNCTION = "aws:lambda/function:Function";

/** A zip function's runtime (a container image function has none). */
function lambdaRuntimeOf(props: Record<string, any>): string | undefined {
    return typeof props.runtime === "string" && props.runtime !== "" ? props.runtime : undefined;
}

/** The Kubernetes version of an EKS cluster or node group, if it names one. */
function kubernetesVersion(props: Record<string, any>): string | undefined {
    return typeof props.version === "string" ? props.version : undefined;
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
    description: `Refuses RDS MySQL versions AWS no longer creates or only sells as paid Extended Support, RDS instances enrolled in Extended Support, container images with known critical CVEs, floating image tags or chart versions, EKS versions past the end of standard support or missing from the EKS calendar, and Lambda runtimes deprecated or missing from the Lambda calendar (advisories as of ${ADVISORIES_AS_OF}).`,
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedEngineVersions: { type: "array", items: { type: "string" }, default: [] },
            evaluationDate: EVALUATION_DATE_SCHEMA,
        },
    },
    types: [
        "aws:rds/instance:Instance",
        "aws:ec2/instance:Instance",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "kubernetes:helm.sh/v3:Release",
        LAMBDA_FUNCTION,
        ...EKS_TYPES,
    ],
    validate: (args, report) => {
        const p = args.props;
        if (EKS_TYPES.includes(args.type)) {
            const version = kubernetesVersion(p);
            if (version === undefined) {
                args.notApplicable("no Kubernetes version set (EKS picks its default)");
            }
            const support = eksSupport(version!, evaluationDay(configOf<VersionConfig>(args, VERSION_DEFAULTS)));
            if (support.status === "unknown") {
                report(
                    `EKS ${args.name} runs Kubernetes ${version}, which the EKS calendar of lib/advisories.ts does not list (as of ${ADVISORIES_AS_OF}); add its row with its end of standard support`,
                );
            } else if (support.status === "ended") {
                report(
                    `EKS ${args.name} runs Kubernetes ${version}, out of EKS standard support since ${support.row.endOfStandardSupport} (${support.row.source}): EKS upgrades such a cluster by itself and every later pulumi up plans a downgrade it refuses; move to a supported version`,
                );
            }
            return;
        }
        if (args.type === LAMBDA_FUNCTION) {
            const runtime = lambdaRuntimeOf(p);
            if (runtime === undefined) {
                args.notApplicable("a container-image function: its image carries the runtime");
            }
            const support = lambdaRuntimeSupport(runtime!, evaluationDay(configOf<VersionConfig>(args, VERSION_DEFAULTS)));
            if (support.status === "unknown") {
                report(
                    `Lambda function ${args.name} runs ${runtime}, which the Lambda calendar of lib/advisories.ts does not list (as of ${ADVISORIES_AS_OF}); add its row with its deprecation dates`,
                );
            } else if (support.status === "deprecated") {
                const r = support.row;
                report(
                    `Lambda function ${args.name} runs ${runtime}, deprecated since ${r.deprecated} (function creation refused from ${r.blockCreate}, updates from ${r.blockUpdate}; ${r.source}): move to a runtime in standard support`,
                );
            }
            return;
        }
        if (args.type === "aws:rds/instance:Instance") {
            const allowed = configOf<VersionConfig>(args, VERSION_DEFAULTS).allowedEngineVersions;
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

export const eksStandardSupportEnding = resourcePolicy({
    name: "eks-standard-support-ending",
    description: `Warns when an EKS cluster's Kubernetes version leaves EKS standard support within ${EKS_SUPPORT_WARNING_DAYS} days (from that day approved-versions refuses it).`,
    enforcementLevel: "advisory",
    configSchema: { properties: { evaluationDate: EVALUATION_DATE_SCHEMA } },
    types: EKS_TYPES,
    validate: (args, report) => {
        const version = kubernetesVersion(args.props);
        if (version === undefined) {
            args.notApplicable("no Kubernetes version set (EKS picks its default)");
        }
        const support = eksSupport(version!, evaluationDay(configOf<Pick<VersionConfig, "evaluationDate">>(args, { evaluationDate: "" })));
        if (support.status === "ending") {
            report(
                `EKS ${args.name} runs Kubernetes ${version}, whose EKS standard support ends on ${support.row.endOfStandardSupport} (in ${support.daysLeft} days, ${support.row.source}): plan the upgrade (ecommerce:eksVersion) before EKS upgrades the cluster by itself`,
            );
        }
    },
});

export const lambdaRuntimeDeprecationEnding = resourcePolicy({
    name: "lambda-runtime-deprecation-ending",
    description: `Warns when a Lambda function's runtime is deprecated within ${LAMBDA_RUNTIME_WARNING_DAYS} days (from that day approved-versions refuses it).`,
    enforcementLevel: "advisory",
    configSchema: { properties: { evaluationDate: EVALUATION_DATE_SCHEMA } },
    types: [LAMBDA_FUNCTION],
    validate: (args, report) => {
        const runtime = lambdaRuntimeOf(args.props);
        if (runtime === undefined) {
            args.notApplicable("a container-image function: its image carries the runtime");
        }
        const support = lambdaRuntimeSupport(
            runtime!,
            evaluationDay(configOf<Pick<VersionConfig, "evaluationDate">>(args, { evaluationDate: "" })),
        );
        if (support.status === "ending") {
            const r = support.row;
            report(
                `Lambda function ${args.name} runs ${runtime}, deprecated on ${r.deprecated} (in ${support.daysLeft} days; creation refused from ${r.blockCreate}, updates from ${r.blockUpdate}; ${r.source}): move to a newer runtime before then`,
            );
        }
    },
});
