import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { renderAlertRules } from "../lib/alertRules";
import {
    alertmanagerConfig,
    blackboxExporterAddress,
    blackboxExporterValues,
    kubePrometheusStackValues,
    KubePrometheusStackSettings,
    retentionSizeFor,
} from "../lib/monitoringValues";
import { buildProbeTargets, ProbePlan, renderApplicationScrapeConfig, renderProbeScrapeConfigs } from "../lib/probes";
import { requireTool } from "./support/tools";

const PLAN: ProbePlan = {
    sourceRegion: "us-east-2",
    siteHostname: "shop.example.com",
    originHostnames: { "us-west-1": "origin-us-west-1.shop.example.com", "us-east-2": "origin-us-east-2.shop.example.com" },
    httpsRegions: ["us-east-2"],
    writerRegion: "us-east-2",
    healthCheckPath: "/api/health",
    loadBalancer: { dnsName: "web-alb-1.us-east-2.elb.amazonaws.com", protocol: "HTTPS" },
    redisAddresses: ["10.10.64.10", "10.10.80.11", "10.10.96.12"],
    databaseHostnames: { writer: "writer.db.ecommerce.internal", reader: "reader.db.ecommerce.internal" },
};

/** `promtool check config` on a Prometheus configuration with these scrape configs. */
function checkScrapeConfigs(scrapeConfigs: unknown[]): { status: number | null; output: string } {
    const promtool = requireTool("promtool", "prometheus");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scrape-configs-"));
    try {
        fs.writeFileSync(
            path.join(dir, "prometheus.yml"),
            stringify({ global: { scrape_interval: "30s" }, scrape_configs: scrapeConfigs }),
        );
        const result = spawnSync(promtool, ["check", "config", "--syntax-only", "prometheus.yml"], {
            cwd: dir,
            encoding: "utf8",
            timeout: 30000,
        });
        return { status: result.status, output: `${result.stdout}${result.stderr}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("lib/probes", () => {
    it("probes site and API of its own region's origin (another's is internal, out of reach), the public site, the load balancer, Redis and the database", () => {
        assert.deepEqual(
            buildProbeTargets(PLAN).map((t) => `${t.kind} ${t.region} ${t.endpoint} ${t.module} ${t.target}`),
            [
                "site us-east-2 origin http_2xx https://origin-us-east-2.shop.example.com/",
                "api us-east-2 origin http_2xx https://origin-us-east-2.shop.example.com/api/health",
                "site global public http_2xx https://shop.example.com/",
                "api us-east-2 alb http_2xx https://web-alb-1.us-east-2.elb.amazonaws.com/api/health",
                "redis us-east-2 node tcp_connect 10.10.64.10:6379",
                "redis us-east-2 node tcp_connect 10.10.80.11:6379",
                "redis us-east-2 node tcp_connect 10.10.96.12:6379",
                "db us-east-2 writer tcp_connect writer.db.ecommerce.internal:3306",
                "db us-east-2 reader tcp_connect reader.db.ecommerce.internal:3306",
            ],
        );
    });

    it("probes each site in the scheme it answers on (HTTPS only with a certificate), the public name in the writer's", () => {
        const targets = (plan: Partial<ProbePlan>) =>
            buildProbeTargets({ ...PLAN, ...plan })
                .filter((t) => t.module === "http_2xx" && t.endpoint !== "alb")
                .map((t) => t.target.split(":")[0]);
        assert.deepEqual(targets({ httpsRegions: [] }), ["http", "http", "http"]);
        assert.deepEqual(targets({ httpsRegions: ["us-east-2"] }), ["https", "https", "https"]);
        assert.deepEqual(targets({ httpsRegions: ["us-west-1"] }), ["http", "http", "http"]);
        assert.deepEqual(targets({ httpsRegions: ["us-west-1"], writerRegion: "us-west-1" }), ["http", "http", "https"]);
    });

    it("verifies an HTTPS load balancer against the origin's name, and probes an HTTP one without", () => {
        const https = buildProbeTargets(PLAN).find((t) => t.endpoint === "alb")!;
        assert.equal(https.hostname, "origin-us-east-2.shop.example.com");
        const http = buildProbeTargets({
            ...PLAN,
            loadBalancer: { dnsName: "web-alb-1.us-east-2.elb.amazonaws.com", protocol: "HTTP" },
        }).find((t) => t.endpoint === "alb")!;
        assert.equal(http.target, "http://web-alb-1.us-east-2.elb.amazonaws.com/api/health");
        assert.equal(http.hostname, undefined);
    });

    const rejections: [string, Partial<ProbePlan>, RegExp][] = [
        [
            "an origin map without the probing region",
            { originHostnames: { "us-west-1": "origin-us-west-1.shop.example.com" } },
            /originHostnames has no entry for the probing region us-east-2 \(has us-west-1\)/,
        ],
        [
            "a health path that is not absolute",
            { healthCheckPath: "api/health" },
            /buildProbeTargets: healthCheckPath = "api\/health": expected an absolute URL path such as \/api\/health$/,
        ],
        [
            "a site name that is not a hostname",
            { siteHostname: "https://shop.example.com" },
            /siteHostname "https:\/\/shop.example.com" is not a DNS hostname/,
        ],
        ["a Redis address that is not IPv4", { redisAddresses: ["10.10.64.300"] }, /Redis address "10.10.64.300" is not an IPv4 address/],
        ["a database port out of range", { databasePort: 70000 }, /databasePort 70000 is not a TCP port/],
    ];
    for (const [what, change, message] of rejections) {
        it(`rejects ${what}`, () => {
            assert.throws(() => buildProbeTargets({ ...PLAN, ...change }), message);
        });
    }

    it("renders one scrape job per module that routes every target through the exporter with its labels", () => {
        const configs = renderProbeScrapeConfigs(buildProbeTargets(PLAN), {
            blackboxAddress: blackboxExporterAddress("monitoring"),
            sourceRegion: "us-east-2",
        }) as any[];
        assert.deepEqual(
            configs.map((c) => [c.job_name, c.params.module, c.static_configs.length]),
            [
                ["synthetic-http", ["http_2xx"], 4],
                ["synthetic-tcp", ["tcp_connect"], 5],
            ],
        );
        for (const config of configs) {
            assert.equal(config.metrics_path, "/probe");
            assert.deepEqual(config.relabel_configs.at(-1), {
                target_label: "__address__",
                replacement: "blackbox-exporter.monitoring.svc:9115",
            });
            for (const sc of config.static_configs) {
                assert.equal(sc.labels.source_region, "us-east-2");
                assert.ok(["site", "api", "redis", "db"].includes(sc.labels.kind));
                assert.ok(sc.labels.region);
            }
        }
        const alb = configs[0].static_configs.find((sc: any) => sc.labels.endpoint === "alb");
        assert.equal(alb.labels.__param_hostname, "origin-us-east-2.shop.example.com");
    });

    it("renders probe and application scrape configs that promtool check config accepts", () => {
        const configs = [
            ...renderProbeScrapeConfigs(buildProbeTargets(PLAN), {
                blackboxAddress: blackboxExporterAddress("monitoring"),
                sourceRegion: "us-east-2",
            }),
            renderApplicationScrapeConfig({ region: "us-east-2", port: 9200, instanceTags: { Tier: "web", Stack: "primary" } }),
        ];
        const result = checkScrapeConfigs(configs);
        assert.equal(result.status, 0, result.output);
        assert.match(result.output, /SUCCESS/);
    });

    it("fails promtool check config on a broken scrape config (the check can fail)", () => {
        const [http] = renderProbeScrapeConfigs(buildProbeTargets(PLAN), { blackboxAddress: "blackbox:9115", sourceRegion: "us-east-2" });
        const result = checkScrapeConfigs([{ ...http, scrape_timeout: "60s" }]);
        assert.notEqual(result.status, 0, result.output);
        assert.match(result.output, /scrape timeout greater than scrape interval/);
    });

    it("selects the application's running instances by tag and labels them by instance ID", () => {
        const config = renderApplicationScrapeConfig({
            region: "us-west-1",
            port: 9200,
            instanceTags: { Tier: "web", Stack: "dr" },
        }) as any;
        assert.equal(config.job_name, "application");
        assert.equal(config.metrics_path, "/metrics");
        assert.deepEqual(config.ec2_sd_configs[0].filters, [
            { name: "instance-state-name", values: ["running"] },
            { name: "tag:Tier", values: ["web"] },
            { name: "tag:Stack", values: ["dr"] },
        ]);
        assert.deepEqual(config.relabel_configs[0], { source_labels: ["__meta_ec2_instance_id"], target_label: "instance" });
    });

    it("rejects an application scrape without an instance filter", () => {
        assert.throws(() => renderApplicationScrapeConfig({ region: "us-west-1", port: 9200, instanceTags: {} }), /instanceTags is empty/);
    });
});

describe("lib/monitoringValues", () => {
    const retentionCases: [number, string][] = [
        [100, "85GB"],
        [10, "8GB"],
        [50, "42GB"],
        [1000, "850GB"],
    ];
    for (const [gib, expected] of retentionCases) {
        it(`retentionSizeFor(${gib} GiB) = ${expected}`, () => {
            assert.equal(retentionSizeFor(gib), expected);
        });
    }
    it("rejects a volume too small for a retention size", () => {
        assert.throws(() => retentionSizeFor(1), /storage 1 GiB is not an integer of at least 2/);
    });

    const settings: KubePrometheusStackSettings = {
        region: "us-east-2",
        clusterName: "ecommerce-primary-monitoring",
        storageClassName: "gp3",
        prometheusRetentionDays: 15,
        prometheusStorageGiB: 100,
        grafanaStorageGiB: 10,
        alertmanagerStorageGiB: 10,
        replicas: 2,
        grafanaAdminSecretName: "monitoring-grafana-admin",
        alertmanagerConfigSecretName: "monitoring-alertmanager-config",
        additionalScrapeConfigs: [],
        rules: renderAlertRules(),
    };

    it("keeps Prometheus, Alertmanager and Grafana on gp3 volumes of the configured sizes", () => {
        const v = kubePrometheusStackValues(settings) as any;
        const claim = (spec: any) => [
            spec.volumeClaimTemplate.spec.storageClassName,
            spec.volumeClaimTemplate.spec.resources.requests.storage,
        ];
        assert.deepEqual(claim(v.prometheus.prometheusSpec.storageSpec), ["gp3", "100Gi"]);
        assert.deepEqual(claim(v.alertmanager.alertmanagerSpec.storage), ["gp3", "10Gi"]);
        assert.deepEqual(
            [v.grafana.persistence.enabled, v.grafana.persistence.storageClassName, v.grafana.persistence.size],
            [true, "gp3", "10Gi"],
        );
        assert.equal(v.grafana.deploymentStrategy.type, "Recreate");
        assert.equal(v.prometheus.prometheusSpec.retention, "15d");
        assert.equal(v.prometheus.prometheusSpec.retentionSize, "85GB");
    });

    it("points Grafana and Alertmanager at existing Secrets instead of carrying credentials", () => {
        const v = kubePrometheusStackValues(settings) as any;
        assert.deepEqual(v.grafana.admin, {
            existingSecret: "monitoring-grafana-admin",
            userKey: "admin-user",
            passwordKey: "admin-password",
        });
        assert.equal(v.grafana.adminPassword, undefined);
        assert.equal(v.alertmanager.alertmanagerSpec.useExistingSecret, true);
        assert.equal(v.alertmanager.alertmanagerSpec.configSecret, "monitoring-alertmanager-config");
        assert.equal(v.alertmanager.config, undefined);
    });

    it("runs two Prometheus and Alertmanager replicas spread over zones where possible", () => {
        const v = kubePrometheusStackValues(settings) as any;
        for (const spec of [v.prometheus.prometheusSpec, v.alertmanager.alertmanagerSpec]) {
            assert.equal(spec.replicas, 2);
            assert.equal(spec.podAntiAffinity, "soft");
            assert.equal(spec.podAntiAffinityTopologyKey, "topology.kubernetes.io/zone");
        }
        assert.equal(v.grafana.replicas, 1);
    });

    it("installs the platform rules and labels the Prometheus with its region", () => {
        const v = kubePrometheusStackValues(settings) as any;
        assert.deepEqual(v.additionalPrometheusRulesMap["ecommerce-platform"].groups, settings.rules.groups);
        assert.deepEqual(v.prometheus.prometheusSpec.externalLabels, {
            source_region: "us-east-2",
            cluster: "ecommerce-primary-monitoring",
        });
    });

    it("gives the blackbox exporter the modules the probes use, behind a fixed service name", () => {
        const v = blackboxExporterValues({ replicas: 2 }) as any;
        assert.equal(v.fullnameOverride, "blackbox-exporter");
        assert.deepEqual(Object.keys(v.config.modules), ["http_2xx", "tcp_connect"]);
        assert.equal(v.config.modules.http_2xx.prober, "http");
        assert.equal(v.config.modules.tcp_connect.prober, "tcp");
        assert.equal(v.replicas, 2);
        assert.equal(blackboxExporterAddress("monitoring"), "blackbox-exporter.monitoring.svc:9115");
    });

    it("sends alerts to the webhook, drops the Watchdog and lets a critical probe alert inhibit its warnings", () => {
        const config = alertmanagerConfig({ webhookUrl: "https://hooks.example.invalid/services/T1/B1/x" }) as any;
        assert.equal(config.route.receiver, "platform-webhook");
        assert.deepEqual(config.receivers[1], {
            name: "platform-webhook",
            webhook_configs: [{ url: "https://hooks.example.invalid/services/T1/B1/x", send_resolved: true }],
        });
        assert.deepEqual(config.route.routes[0], { receiver: "null", matchers: ['alertname = "Watchdog"'] });
        assert.deepEqual(config.inhibit_rules[0].equal, ["instance", "source_region"]);
    });

    it("rejects a webhook URL that is not https without showing it", () => {
        assert.throws(
            () => alertmanagerConfig({ webhookUrl: "http://hooks.example.invalid/secret-token" }),
            (err: Error) => /must use https, got http/.test(err.message) && !err.message.includes("secret-token"),
        );
        assert.throws(
            () => alertmanagerConfig({ webhookUrl: "not a url secret-token" }),
            (err: Error) => /is not a URL/.test(err.message) && !err.message.includes("secret-token"),
        );
    });
});
