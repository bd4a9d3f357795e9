/**
 * Helm values of the monitoring charts (kube-prometheus-stack, prometheus-blackbox-exporter)
 * and the Alertmanager configuration. Pure functions: components hand them plain values
 * (names of Secrets, never their contents), tests check them without mocks.
 *
 * What is deliberately NOT in any values here: the Grafana admin password and the
 * Alertmanager webhook URL. Grafana reads its credentials from an existing Secret
 * (grafana.admin.existingSecret); Alertmanager reads its whole configuration from an
 * existing Secret (alertmanagerSpec.configSecret). Helm values end up in the release
 * record and in Pulumi state as plain text; Secrets do not.
 */
import { stringify } from "yaml";
import type { RuleFile } from "./alertRules";
import { blackboxModules } from "./probes";
import { PHASES } from "../failover/core/decision";
import { METRIC_DIMENSION, METRIC_NAMESPACE, METRICS } from "../failover/core/settings";

/** Helm repository of both charts. */
export const PROMETHEUS_COMMUNITY_REPO = "https://prometheus-community.github.io/helm-charts";
export const KUBE_PROMETHEUS_STACK_CHART = "kube-prometheus-stack";
export const BLACKBOX_EXPORTER_CHART = "prometheus-blackbox-exporter";

/** Helm release names (they prefix the objects the charts create). */
export const KUBE_PROMETHEUS_STACK_RELEASE = "kube-prometheus-stack";
export const BLACKBOX_EXPORTER_RELEASE = "blackbox-exporter";
/** fullnameOverride of the blackbox exporter: its Service's name. */
export const BLACKBOX_EXPORTER_SERVICE = "blackbox-exporter";
export const BLACKBOX_EXPORTER_PORT = 9115;
/** Service account of Prometheus (fixed so IAM or policies can name it). */
export const PROMETHEUS_SERVICE_ACCOUNT = "prometheus";

/** Service account of Grafana (fixed: its EKS Pod Identity association names it). */
export const GRAFANA_SERVICE_ACCOUNT = "grafana";
/** The label (value "1") of ConfigMaps whose dashboards Grafana's sidecar loads. */
export const GRAFANA_DASHBOARD_LABEL = "grafana_dashboard";
/** UID of the CloudWatch data source (dashboards refer to it). */
export const CLOUDWATCH_DATASOURCE_UID = "cloudwatch";

/** Keys of the Grafana admin Secret. */
export const GRAFANA_ADMIN_USER_KEY = "admin-user";
export const GRAFANA_ADMIN_PASSWORD_KEY = "admin-password";
/** Key of the Alertmanager configuration Secret the operator reads. */
export const ALERTMANAGER_CONFIG_KEY = "alertmanager.yaml";

const ZONE_KEY = "topology.kubernetes.io/zone";

/** In-cluster address (`host:port`) of the blackbox exporter in `namespace`. */
export function blackboxExporterAddress(namespace: string): string {
    return `${BLACKBOX_EXPORTER_SERVICE}.${namespace}.svc:${BLACKBOX_EXPORTER_PORT}`;
}

/**
 * Prometheus `retentionSize` for a volume of `storageGiB`: 85 % of it (Prometheus reads
 * "GB" as GiB), so size-based deletion starts before the volume fills up and the WAL and
 * compaction keep room to work.
 */
export function retentionSizeFor(storageGiB: number): string {
    if (!Number.isInteger(storageGiB) || storageGiB < 2) {
        throw new Error(`retentionSizeFor: storage ${storageGiB} GiB is not an integer of at least 2`);
    }
    return `${Math.floor(storageGiB * 0.85)}GB`;
}

function volumeClaim(storageClassName: string, sizeGiB: number): Record<string, unknown> {
    return {
        volumeClaimTemplate: {
            spec: {
                storageClassName,
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: `${sizeGiB}Gi` } },
            },
        },
    };
}

export interface KubePrometheusStackSettings {
    /** The probing region: external label `source_region` of this Prometheus. */
    readonly region: string;
    /** Name of the EKS cluster (external label `cluster`). */
    readonly clusterName: string;
    /** StorageClass of every volume (the encrypted gp3 class). */
    readonly storageClassName: string;
    readonly prometheusRetentionDays: number;
    readonly prometheusStorageGiB: number;
    readonly grafanaStorageGiB: number;
    readonly alertmanagerStorageGiB: number;
    /** Prometheus and Alertmanager replicas (one per node, spread over zones where possible). */
    readonly replicas: number;
    /** Secret with the Grafana admin user and password (keys GRAFANA_ADMIN_*_KEY). */
    readonly grafanaAdminSecretName: string;
    /** Secret holding the complete Alertmanager configuration (key ALERTMANAGER_CONFIG_KEY). */
    readonly alertmanagerConfigSecretName: string;
    /** Extra scrape configs (synthetic probes, application metrics). */
    readonly additionalScrapeConfigs: readonly Record<string, unknown>[];
    /** The platform's alert rules. */
    readonly rules: RuleFile;
    /**
     * Add a CloudWatch data source, default region this one (credentials: the Grafana service
     * account's Pod Identity role).
     * @default no CloudWatch data source
     */
    readonly cloudWatch?: boolean;
}

/** Values of the kube-prometheus-stack chart. */
export function kubePrometheusStackValues(s: KubePrometheusStackSettings): Record<string, unknown> {
    if (!Number.isInteger(s.replicas) || s.replicas < 1) {
        throw new Error(`kubePrometheusStackValues: replicas ${s.replicas} is not a positive integer`);
    }
    const spread = { podAntiAffinity: "soft", podAntiAffinityTopologyKey: ZONE_KEY };
    return {
        crds: { enabled: true },
        // The EKS control plane is managed by AWS: its components cannot be scraped, and
        // kube-proxy binds its metrics to localhost. Their targets would only raise alerts.
        kubeControllerManager: { enabled: false },
        kubeScheduler: { enabled: false },
        kubeEtcd: { enabled: false },
        kubeProxy: { enabled: false },
        defaultRules: {
            create: true,
            rules: {
                etcd: false,
                kubeControllerManager: false,
                kubeSchedulerAlerting: false,
                kubeSchedulerRecording: false,
                kubeProxy: false,
                windows: false,
            },
        },
        additionalPrometheusRulesMap: {
            "ecommerce-platform": { groups: s.rules.groups },
        },
        prometheus: {
            serviceAccount: { create: true, name: PROMETHEUS_SERVICE_ACCOUNT },
            podDisruptionBudget: { enabled: s.replicas > 1, maxUnavailable: 1 },
            prometheusSpec: {
                replicas: s.replicas,
                ...spread,
                retention: `${s.prometheusRetentionDays}d`,
                retentionSize: retentionSizeFor(s.prometheusStorageGiB),
                storageSpec: volumeClaim(s.storageClassName, s.prometheusStorageGiB),
                externalLabels: { source_region: s.region, cluster: s.clusterName },
                // Pick up every ServiceMonitor, PodMonitor, Probe and rule in the cluster, not
                // only those labelled with this release.
                serviceMonitorSelectorNilUsesHelmValues: false,
                podMonitorSelectorNilUsesHelmValues: false,
                probeSelectorNilUsesHelmValues: false,
                ruleSelectorNilUsesHelmValues: false,
                scrapeConfigSelectorNilUsesHelmValues: false,
                additionalScrapeConfigs: s.additionalScrapeConfigs,
                resources: { requests: { cpu: "250m", memory: "1536Mi" }, limits: { memory: "3Gi" } },
            },
        },
        alertmanager: {
            podDisruptionBudget: { enabled: s.replicas > 1, maxUnavailable: 1 },
            alertmanagerSpec: {
                replicas: s.replicas,
                ...spread,
                // The configuration (with the receiver's webhook URL) comes from a Secret the
                // program writes; the chart renders none.
                useExistingSecret: true,
                configSecret: s.alertmanagerConfigSecretName,
                retention: "120h",
                storage: volumeClaim(s.storageClassName, s.alertmanagerStorageGiB),
                resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "256Mi" } },
            },
        },
        grafana: {
            replicas: 1,
            admin: {
                existingSecret: s.grafanaAdminSecretName,
                userKey: GRAFANA_ADMIN_USER_KEY,
                passwordKey: GRAFANA_ADMIN_PASSWORD_KEY,
            },
            persistence: {
                enabled: true,
                type: "pvc",
                storageClassName: s.storageClassName,
                accessModes: ["ReadWriteOnce"],
                size: `${s.grafanaStorageGiB}Gi`,
            },
            // A ReadWriteOnce volume attaches to one node: the old pod must stop first.
            deploymentStrategy: { type: "Recreate" },
            service: { type: "ClusterIP" },
            serviceAccount: { create: true, name: GRAFANA_SERVICE_ACCOUNT },
            // Dashboards from labelled ConfigMaps in Grafana's namespace (the failover dashboard).
            sidecar: { dashboards: { enabled: true, label: GRAFANA_DASHBOARD_LABEL, labelValue: "1" } },
            // authType "default": the AWS SDK's default chain, which reads the container
            // credentials EKS Pod Identity injects. No keys in the values. Grafana takes Pod
            // Identity's credentials only from 11.6.6 / 12.0.5 on (its AWS SDK v2 move; older
            // ones refuse the agent's link-local URL: grafana/grafana#100801): keep
            // kubePrometheusStackVersion at a chart that ships one.
            additionalDataSources: s.cloudWatch
                ? [
                      {
                          name: "CloudWatch",
                          type: "cloudwatch",
                          uid: CLOUDWATCH_DATASOURCE_UID,
                          editable: false,
                          jsonData: { authType: "default", defaultRegion: s.region },
                      },
                  ]
                : [],
            "grafana.ini": {
                analytics: { check_for_updates: false, reporting_enabled: false },
                users: { allow_sign_up: false },
                "auth.anonymous": { enabled: false },
            },
            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
        },
    };
}

export interface BlackboxExporterSettings {
    /** Exporter replicas (stateless; spread over zones). */
    readonly replicas: number;
}

/** Values of the prometheus-blackbox-exporter chart. */
export function blackboxExporterValues(s: BlackboxExporterSettings): Record<string, unknown> {
    if (!Number.isInteger(s.replicas) || s.replicas < 1) {
        throw new Error(`blackboxExporterValues: replicas ${s.replicas} is not a positive integer`);
    }
    return {
        fullnameOverride: BLACKBOX_EXPORTER_SERVICE,
        replicas: s.replicas,
        podDisruptionBudget: s.replicas > 1 ? { maxUnavailable: 1 } : {},
        config: { modules: blackboxModules() },
        service: { type: "ClusterIP", port: BLACKBOX_EXPORTER_PORT },
        affinity: {
            podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                    {
                        weight: 100,
                        podAffinityTerm: {
                            topologyKey: ZONE_KEY,
                            labelSelector: { matchLabels: { "app.kubernetes.io/name": BLACKBOX_EXPORTER_CHART } },
                        },
                    },
                ],
            },
        },
        resources: { requests: { cpu: "25m", memory: "32Mi" }, limits: { memory: "128Mi" } },
    };
}

export interface AlertmanagerSettings {
    /** Where every alert goes (a secret: only ever rendered into a Kubernetes Secret). */
    readonly webhookUrl: string;
    /** @default "4h" */
    readonly repeatInterval?: string;
}

/**
 * The complete Alertmanager configuration. Alerts are grouped per alert, target and
 * probing region, and sent to one webhook; kube-prometheus-stack's always-firing
 * `Watchdog` and `InfoInhibitor` go nowhere; a critical probe alert silences the
 * warnings of the same target seen from the same region (a down site also answers 5xx).
 */
export function alertmanagerConfig(s: AlertmanagerSettings): Record<string, unknown> {
    let url: URL;
    try {
        url = new URL(s.webhookUrl);
    } catch {
        throw new Error("alertmanagerConfig: the webhook URL from the alert receiver secret is not a URL (its value is not shown)");
    }
    if (url.protocol !== "https:") {
        throw new Error(
            `alertmanagerConfig: the webhook URL must use https, got ${url.protocol.replace(":", "")} (the rest of the URL is secret and not shown)`,
        );
    }
    return {
        global: { resolve_timeout: "5m" },
        route: {
            receiver: "platform-webhook",
            group_by: ["alertname", "source_region", "region", "instance"],
            group_wait: "30s",
            group_interval: "5m",
            repeat_interval: s.repeatInterval ?? "4h",
            routes: [
                { receiver: "null", matchers: ['alertname = "Watchdog"'] },
                { receiver: "null", matchers: ['alertname = "InfoInhibitor"'] },
            ],
        },
        inhibit_rules: [
            {
                source_matchers: ['severity = "critical"', 'kind =~ ".+"'],
                target_matchers: ['severity = "warning"', 'kind =~ ".+"'],
                equal: ["instance", "source_region"],
            },
        ],
        receivers: [{ name: "null" }, { name: "platform-webhook", webhook_configs: [{ url: s.webhookUrl, send_resolved: true }] }],
    };
}

/** A configuration object as YAML. */
export function toYaml(value: unknown): string {
    return stringify(value, { lineWidth: 0 });
}

/**
 * A Grafana dashboard of the failover controllers of `regions` (the metrics their Lambda
 * publishes, failover/lambda/handler.ts): the phase (named, from the controller's own list),
 * readiness and the RPO guard's hold, one series per controller region.
 */
export function failoverDashboard(regions: readonly string[]): Record<string, unknown> {
    if (regions.length === 0) {
        throw new Error("failoverDashboard: no controller regions");
    }
    const datasource = { type: "cloudwatch", uid: CLOUDWATCH_DATASOURCE_UID };
    const panel = (id: number, title: string, metricName: string, statistic: string, description: string, mappings: unknown[]) => ({
        id,
        type: "state-timeline",
        title,
        description,
        datasource,
        gridPos: { x: 0, y: (id - 1) * 8, w: 24, h: 8 },
        fieldConfig: { defaults: { mappings }, overrides: [] },
        options: { showValue: "auto", mergeValues: true },
        targets: regions.map((region, i) => ({
            refId: String.fromCharCode(65 + i),
            datasource,
            queryMode: "Metrics",
            metricQueryType: 0,
            metricEditorMode: 0,
            region,
            namespace: METRIC_NAMESPACE,
            metricName,
            dimensions: { [METRIC_DIMENSION]: region },
            matchExact: true,
            statistic,
            period: "60",
            label: `controller in ${region}`,
        })),
    });
    const valueText = (texts: readonly string[]) => [
        { type: "value", options: Object.fromEntries(texts.map((text, index) => [String(index), { text, index }])) },
    ];
    return {
        uid: "ecommerce-failover",
        title: "Failover controllers",
        tags: ["ecommerce", "failover"],
        editable: false,
        schemaVersion: 39,
        time: { from: "now-24h", to: "now" },
        refresh: "1m",
        panels: [
            panel(
                1,
                "Phase",
                METRICS.phase,
                "Maximum",
                "Where each controller stands: healthy, suspect (failed rounds), failing over, failed over.",
                valueText(PHASES),
            ),
            panel(
                2,
                "Ready",
                METRICS.ready,
                "Minimum",
                "Could a failover succeed now (every readiness check passed).",
                valueText(["not ready", "ready"]),
            ),
            panel(
                3,
                "Held by the RPO guard",
                METRICS.held,
                "Maximum",
                "A failover waits for an operator: the replication lag is over budget.",
                valueText(["no", "held"]),
            ),
        ],
    };
}
