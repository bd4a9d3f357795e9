/**
 * The platform's Prometheus alert rules, rendered as a rule file (the `groups` that
 * `promtool check rules` reads and a PrometheusRule's spec holds). Pure functions.
 *
 * Metrics the rules use:
 * - Synthetic, from the blackbox exporter (lib/probes.ts labels them kind, region,
 *   endpoint, source_region): probe_success, probe_http_status_code, probe_duration_seconds,
 *   and `up` of the synthetic-* scrape jobs.
 * - Application, ASSUMED from the Flask API: the names prometheus-flask-exporter exports
 *   by default (PrometheusMetrics(app)): flask_http_request_total{method,status} (counter) and
 *   flask_http_request_duration_seconds_bucket{method,path,status,le} (histogram). The ALB's
 *   own 5xx and latency figures live in CloudWatch, not in Prometheus.
 */
import { stringify } from "yaml";
import { FINISHED_JOB_TTL_SECONDS } from "./backupJob";
import { probeJobName } from "./probes";

export interface AlertRule {
    readonly alert: string;
    readonly expr: string;
    readonly for: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
}

export interface RecordingRule {
    readonly record: string;
    readonly expr: string;
}

export interface RuleGroup {
    readonly name: string;
    readonly rules: readonly (AlertRule | RecordingRule)[];
}

export interface RuleFile {
    readonly groups: readonly RuleGroup[];
}

export type Severity = "critical" | "warning";

export interface AlertRuleOptions {
    /**
     * How long a site or API probe must fail before it pages.
     * @default "3m"
     */
    readonly probeDownFor?: string;
    /**
     * Share of 5xx answers (application requests, or synthetic probes over 10 minutes) above
     * which an alert fires, as a fraction.
     * @default 0.05
     */
    readonly errorRatioThreshold?: number;
    /**
     * p95 latency of API requests, in seconds, above which an alert fires.
     * @default 1
     */
    readonly latencyP95Seconds?: number;
    /**
     * p95 over 10 minutes of synthetic probe durations (DNS, TLS and transfer included), in
     * seconds, above which an alert fires.
     * @default 2
     */
    readonly probeLatencyP95Seconds?: number;
    /**
     * How long a Redis node or the database must be unreachable before an alert fires.
     * @default "2m"
     */
    readonly dataDownFor?: string;
    /**
     * The scheduled database backup (a CronJob): alert when a run fails, or when the last
     * success is older than the backup RPO.
     * @default no backup alerts
     */
    readonly backupJob?: { readonly namespace: string; readonly cronJob: string; readonly maxAgeHours: number };
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

function checkDuration(key: string, value: string): void {
    if (!DURATION.test(value)) {
        throw new Error(`renderAlertRules: ${key} "${value}" is not a Prometheus duration such as 3m or 1h30m`);
    }
}

function checkRatio(key: string, value: number): void {
    if (!(value > 0 && value < 1)) {
        throw new Error(`renderAlertRules: ${key} ${value} is not a fraction between 0 and 1 (exclusive)`);
    }
}

function checkPositive(key: string, value: number): void {
    if (!(Number.isFinite(value) && value > 0)) {
        throw new Error(`renderAlertRules: ${key} ${value} is not a positive number of seconds`);
    }
}

function alert(
    name: string,
    expr: string,
    forDuration: string,
    severity: Severity,
    summary: string,
    description: string,
    extraLabels: Record<string, string> = {},
): AlertRule {
    return { alert: name, expr, for: forDuration, labels: { severity, ...extraLabels }, annotations: { summary, description } };
}

/** Name of the recording rule that marks each synthetic HTTP probe answering 5xx (1) or not (0). */
export const PROBE_5XX_RECORD = "ecommerce:probe_http_5xx:bool";

/** The platform's rule groups: synthetic probes, the application, and the data tier. */
export function renderAlertRules(options: AlertRuleOptions = {}): RuleFile {
    const probeDownFor = options.probeDownFor ?? "3m";
    const dataDownFor = options.dataDownFor ?? "2m";
    const errorRatio = options.errorRatioThreshold ?? 0.05;
    const latencyP95 = options.latencyP95Seconds ?? 1;
    const probeLatencyP95 = options.probeLatencyP95Seconds ?? 2;
    checkDuration("probeDownFor", probeDownFor);
    checkDuration("dataDownFor", dataDownFor);
    checkRatio("errorRatioThreshold", errorRatio);
    checkPositive("latencyP95Seconds", latencyP95);
    checkPositive("probeLatencyP95Seconds", probeLatencyP95);
    const percent = `${+(errorRatio * 100).toFixed(2)}%`;
    const httpJob = probeJobName("http_2xx");
    const tcpJob = probeJobName("tcp_connect");
    const from = "as probed from {{ $labels.source_region }}";

    const synthetic: RuleGroup = {
        name: "ecommerce-synthetic",
        rules: [
            alert(
                "SiteDown",
                `probe_success{job="${httpJob}",kind="site"} == 0`,
                probeDownFor,
                "critical",
                "Site {{ $labels.instance }} is down",
                `{{ $labels.instance }} (region {{ $labels.region }}, via {{ $labels.endpoint }}) has failed every probe for ${probeDownFor}, ${from}.`,
            ),
            alert(
                "ApiDown",
                `probe_success{job="${httpJob}",kind="api"} == 0`,
                probeDownFor,
                "critical",
                "API health check {{ $labels.instance }} is failing",
                `{{ $labels.instance }} (region {{ $labels.region }}, via {{ $labels.endpoint }}) has failed every probe for ${probeDownFor}, ${from}.`,
            ),
            { record: PROBE_5XX_RECORD, expr: `probe_http_status_code{job="${httpJob}",kind=~"site|api"} >= bool 500` },
            alert(
                "SyntheticServerErrors",
                `avg_over_time(${PROBE_5XX_RECORD}[10m]) > ${errorRatio}`,
                "5m",
                "warning",
                "{{ $labels.instance }} answers synthetic probes with 5xx",
                `More than ${percent} of the probes of {{ $labels.instance }} in the last 10 minutes got a 5xx answer ({{ $value | humanizePercentage }}), ${from}.`,
            ),
            alert(
                "SyntheticLatencyHigh",
                `quantile_over_time(0.95, probe_duration_seconds{job="${httpJob}",kind=~"site|api"}[10m]) > ${probeLatencyP95}`,
                "10m",
                "warning",
                "{{ $labels.instance }} is slow",
                `The 95th percentile of probe durations of {{ $labels.instance }} over 10 minutes is {{ $value | humanizeDuration }} (threshold ${probeLatencyP95}s), ${from}.`,
            ),
            alert(
                "SyntheticProbesFailing",
                `up{job=~"${httpJob}|${tcpJob}"} == 0`,
                "5m",
                "warning",
                "Synthetic probes of {{ $labels.instance }} are not running",
                "Prometheus cannot scrape the blackbox exporter for {{ $labels.instance }}: the probe alerts for it are blind.",
            ),
        ],
    };

    const application: RuleGroup = {
        name: "ecommerce-application",
        rules: [
            alert(
                "ApiHighErrorRatio",
                `sum by (job) (rate(flask_http_request_total{status=~"5.."}[5m])) / sum by (job) (rate(flask_http_request_total[5m])) > ${errorRatio}`,
                "10m",
                "critical",
                "The API answers more than " + percent + " of requests with 5xx",
                `{{ $value | humanizePercentage }} of the requests served by job {{ $labels.job }} in the last 5 minutes failed with a 5xx status.`,
            ),
            alert(
                "ApiLatencyP95High",
                `histogram_quantile(0.95, sum by (job, le) (rate(flask_http_request_duration_seconds_bucket[5m]))) > ${latencyP95}`,
                "10m",
                "warning",
                "API p95 latency is above " + latencyP95 + "s",
                "The 95th percentile of request durations of job {{ $labels.job }} is {{ $value | humanizeDuration }}.",
            ),
        ],
    };

    const data: RuleGroup = {
        name: "ecommerce-data",
        rules: [
            alert(
                "RedisNodeDown",
                `probe_success{job="${tcpJob}",kind="redis"} == 0`,
                dataDownFor,
                "warning",
                "Redis node {{ $labels.instance }} is unreachable",
                `No TCP connection to Redis node {{ $labels.instance }} (region {{ $labels.region }}) for ${dataDownFor}, ${from}. Sentinel fails over while a majority is up.`,
            ),
            alert(
                "RedisMajorityDown",
                `count by (region, source_region) (probe_success{job="${tcpJob}",kind="redis"} == 0) > count by (region, source_region) (probe_success{job="${tcpJob}",kind="redis"}) / 2`,
                "1m",
                "critical",
                "Most Redis nodes in {{ $labels.region }} are unreachable",
                `{{ $value }} Redis nodes in {{ $labels.region }} are unreachable, ${from}: Sentinel has no majority, so no failover can happen.`,
            ),
            alert(
                "DatabaseWriterUnreachable",
                `probe_success{job="${tcpJob}",kind="db",endpoint="writer"} == 0`,
                dataDownFor,
                "critical",
                "The database writer {{ $labels.instance }} is unreachable",
                `No TCP connection to {{ $labels.instance }} (region {{ $labels.region }}) for ${dataDownFor}, ${from}.`,
            ),
            alert(
                "DatabaseReaderUnreachable",
                `probe_success{job="${tcpJob}",kind="db",endpoint="reader"} == 0`,
                dataDownFor,
                "warning",
                "The database readers {{ $labels.instance }} are unreachable",
                `No TCP connection to {{ $labels.instance }} (region {{ $labels.region }}) for ${dataDownFor}, ${from}.`,
            ),
        ],
    };

    return { groups: [synthetic, application, data, ...(options.backupJob ? [backupRules(options.backupJob)] : [])] };
}

/** The backup job's alerts, from kube-state-metrics' job and CronJob series. */
function backupRules(b: NonNullable<AlertRuleOptions["backupJob"]>): RuleGroup {
    if (!(Number.isInteger(b.maxAgeHours) && b.maxAgeHours > 0)) {
        throw new Error(`renderAlertRules: backupJob.maxAgeHours ${b.maxAgeHours} is not a positive whole number of hours`);
    }
    const cron = `namespace="${b.namespace}",cronjob="${b.cronJob}"`;
    return {
        name: "ecommerce-backups",
        rules: [
            alert(
                "DatabaseBackupFailed",
                // Jobs of the dump and the verify CronJobs (named <cronjob>-<scheduled minute>)
                // that failed for good (after their retries: a pod that failed and was retried
                // successfully does not count), while they are less than a day old: as long as the
                // TTL controller keeps a finished Job.
                `kube_job_status_condition{namespace="${b.namespace}",job_name=~"${b.cronJob}(-verify)?-[0-9]+",condition="Failed",status="true"} == 1 ` +
                    `and on (namespace, job_name) (time() - kube_job_created{namespace="${b.namespace}"} < ${FINISHED_JOB_TTL_SECONDS})`,
                "1m",
                "critical",
                "The database backup job {{ $labels.job_name }} failed",
                `Job {{ $labels.job_name }} in {{ $labels.namespace }} failed: a dump that did not reach the buckets, or a verification that found a backup missing, stale or corrupt. Its logs say which (kubectl logs -n ${b.namespace} job/{{ $labels.job_name }}); then the restore runbook's verify step.`,
            ),
            alert(
                "DatabaseBackupTooOld",
                `time() - kube_cronjob_status_last_successful_time{${cron}} > ${b.maxAgeHours * 3600}`,
                "10m",
                "critical",
                `The last successful database backup is older than ${b.maxAgeHours} h`,
                `CronJob ${b.cronJob} last succeeded {{ $value | humanizeDuration }} ago: the backup RPO (${b.maxAgeHours} h) is broken.`,
            ),
            alert(
                "DatabaseBackupNeverSucceeded",
                `absent(kube_cronjob_status_last_successful_time{${cron}})`,
                `${b.maxAgeHours}h`,
                "critical",
                `No successful database backup in ${b.maxAgeHours} h`,
                `CronJob ${b.cronJob} has no successful run on record for ${b.maxAgeHours} h.`,
            ),
        ],
    };
}

/** The rule file as YAML (what `promtool check rules` reads). */
export function alertRulesYaml(rules: RuleFile): string {
    return stringify(rules, { lineWidth: 0 });
}

/** Names of every alert in a rule file. */
export function alertNames(rules: RuleFile): string[] {
    return rules.groups.flatMap((g) => g.rules.filter((r): r is AlertRule => "alert" in r).map((r) => r.alert));
}
