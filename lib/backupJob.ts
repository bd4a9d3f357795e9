/**
 * The scheduled logical backup as Kubernetes CronJobs on the monitoring cluster (one in each
 * site): `db-backup` dumps the database from the site's read replicas to every backup bucket
 * (backup/cli.ts `dump`), `db-backup-verify` checks the newest backup of every bucket
 * (`verify`). Pure: the component creates them, tests read them.
 *
 * Why there: the monitoring cluster already runs in both sites with nodes that may reach the
 * database (the probes do), Pod Identity gives the job its own role, kube-state-metrics and
 * Alertmanager already watch jobs, and in the standby site the reader endpoint is the DR
 * replicas: the same job keeps both sites' backups without anything new to run.
 */
import { CRON_SCHEDULE, PINNED_IMAGE } from "./rules";

export const BACKUP_CRONJOB = "db-backup";
export const BACKUP_VERIFY_CRONJOB = "db-backup-verify";
export const BACKUP_SERVICE_ACCOUNT = "db-backup";
/** Where the job's image keeps RDS's CA bundle (backup/Dockerfile puts it there): the database requires TLS. */
export const RDS_CA_BUNDLE = "/etc/ssl/rds/global-bundle.pem";
/**
 * How long a finished Job (and its pod, and the pod's scratch volume) is kept: a day, the window
 * in which DatabaseBackupFailed reads a failed Job (lib/alertRules.ts), and time to read its
 * logs. Then the TTL controller deletes the Job, its pod, and through the pod the ephemeral
 * claim, whose volume the scratch StorageClass (reclaimPolicy Delete) deletes with it.
 */
export const FINISHED_JOB_TTL_SECONDS = 86400;

/** The verification runs every six hours, off the hour. */
export const BACKUP_VERIFY_SCHEDULE = "47 */6 * * *";

export interface BackupJobSpec {
    readonly image: string;
    /** When the dump runs (cron, UTC). */
    readonly schedule: string;
    readonly sourceRegion: string;
    readonly database: string;
    /** The site's reader endpoint (its read replicas). */
    readonly readerHost: string;
    readonly port: number;
    /** The credentials secret (name) in the site's region. */
    readonly credentialsSecret: string;
    readonly buckets: readonly { readonly region: string; readonly bucket: string }[];
    readonly maxAgeHours: number;
    /** Scratch space for one compressed dump (a gp3 volume per dump run; size it for the database's ceiling). */
    readonly scratchGiB: number;
    /**
     * The StorageClass of the dump's scratch volume. Its reclaimPolicy must be Delete: a generic
     * ephemeral volume's claim goes with its pod, but a Retain class keeps the PersistentVolume
     * and its EBS volume, one per run, for ever (Kubernetes docs, "Ephemeral Volumes").
     */
    readonly scratchStorageClassName: string;
}

function problems(s: BackupJobSpec): string[] {
    const p: string[] = [];
    if (!PINNED_IMAGE.accepts(s.image)) {
        p.push(`image = ${JSON.stringify(s.image)}: expected ${PINNED_IMAGE.allowed}`);
    }
    if (!CRON_SCHEDULE.accepts(s.schedule)) {
        p.push(`schedule = ${JSON.stringify(s.schedule)}: expected ${CRON_SCHEDULE.allowed}`);
    }
    if (s.buckets.length === 0) {
        p.push("buckets = []: expected at least one backup bucket");
    }
    if (!(Number.isInteger(s.scratchGiB) && s.scratchGiB >= 1)) {
        p.push(`scratchGiB = ${s.scratchGiB}: expected a whole number of GiB`);
    }
    return p;
}

/** What /tmp is: a gp3 volume of its own for a dump, a small emptyDir for verify (it hashes as it downloads). */
type Scratch = "dump-volume" | "small";

function podSpec(s: BackupJobSpec, args: string[], scratch: Scratch): Record<string, unknown> {
    return {
        serviceAccountName: BACKUP_SERVICE_ACCOUNT,
        restartPolicy: "Never",
        securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            fsGroup: 10001,
            seccompProfile: { type: "RuntimeDefault" },
        },
        containers: [
            {
                name: "backup",
                image: s.image,
                args,
                // The SDK's default region (CloudWatch, Secrets Manager); each bucket names its own.
                env: [{ name: "AWS_REGION", value: s.sourceRegion }],
                resources: { requests: { cpu: "500m", memory: "512Mi" }, limits: { memory: "1Gi" } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                volumeMounts: [{ name: "scratch", mountPath: "/tmp" }],
            },
        ],
        volumes: [
            scratch === "small"
                ? { name: "scratch", emptyDir: { sizeLimit: "1Gi" } }
                : {
                      name: "scratch",
                      // A volume of its own per run, deleted with the pod: a dump can outgrow the node's disk.
                      ephemeral: {
                          volumeClaimTemplate: {
                              spec: {
                                  accessModes: ["ReadWriteOnce"],
                                  storageClassName: s.scratchStorageClassName,
                                  resources: { requests: { storage: `${s.scratchGiB}Gi` } },
                              },
                          },
                      },
                  },
        ],
    };
}

/** A CronJob's spec (the fields of k8s batch/v1 CronJobSpec it sets). */
export interface CronJobSpec {
    readonly schedule: string;
    readonly jobTemplate: Record<string, unknown>;
    readonly [field: string]: unknown;
}

function cronJob(s: BackupJobSpec, schedule: string, args: string[], deadlineSeconds: number, scratch: Scratch): CronJobSpec {
    return {
        schedule,
        timeZone: "Etc/UTC",
        // Never two at once; a run missed by more than an hour is skipped, not made up.
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 5,
        jobTemplate: {
            spec: {
                backoffLimit: 2,
                activeDeadlineSeconds: deadlineSeconds,
                ttlSecondsAfterFinished: FINISHED_JOB_TTL_SECONDS,
                template: { spec: podSpec(s, args, scratch) },
            },
        },
    };
}

/** The two CronJobs' specs, and the arguments they run. Throws on a bad spec, naming each problem. */
export function backupCronJobs(s: BackupJobSpec): { dump: CronJobSpec; verify: CronJobSpec } {
    const found = problems(s);
    if (found.length > 0) {
        throw new Error(`backupCronJobs: ${found.join("; ")}`);
    }
    const buckets = s.buckets.flatMap((b) => ["--bucket", `${b.region}=${b.bucket}`]);
    const common = ["--database", s.database];
    return {
        dump: cronJob(
            s,
            s.schedule,
            [
                "dump",
                ...common,
                "--host",
                s.readerHost,
                "--port",
                String(s.port),
                "--ssl-ca",
                RDS_CA_BUNDLE,
                "--credentials-secret",
                s.credentialsSecret,
                "--secret-region",
                s.sourceRegion,
                "--source-region",
                s.sourceRegion,
                ...buckets,
                "--publish-metric",
            ],
            6 * 3600,
            "dump-volume",
        ),
        verify: cronJob(
            s,
            BACKUP_VERIFY_SCHEDULE,
            ["verify", ...common, ...buckets, "--max-age-hours", String(s.maxAgeHours)],
            3 * 3600,
            "small",
        ),
    };
}
