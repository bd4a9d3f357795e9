import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { AlertRule, alertNames, alertRulesYaml, AlertRuleOptions, renderAlertRules, RuleFile } from "../lib/alertRules";
import { requireTool } from "./support/tools";

/** Writes files into a fresh temporary directory, runs promtool there, removes the directory. */
function promtool(args: string[], files: Record<string, string>): { status: number | null; output: string } {
    const promtoolPath = requireTool("promtool", "prometheus");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "alert-rules-"));
    try {
        for (const [name, content] of Object.entries(files)) {
            fs.writeFileSync(path.join(dir, name), content);
        }
        const result = spawnSync(promtoolPath, args, { cwd: dir, encoding: "utf8", timeout: 30000 });
        return { status: result.status, output: `${result.stdout}${result.stderr}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function alerts(rules: RuleFile): AlertRule[] {
    return rules.groups.flatMap((g) => g.rules.filter((r): r is AlertRule => "alert" in r));
}

const SITE =
    'probe_success{job="synthetic-http",kind="site",instance="https://origin-us-west-1.shop.example.com/",region="us-west-1",endpoint="origin",source_region="us-east-2"}';
const API =
    'probe_success{job="synthetic-http",kind="api",instance="https://origin-us-west-1.shop.example.com/api/health",region="us-west-1",endpoint="origin",source_region="us-east-2"}';
const site = {
    job: "synthetic-http",
    kind: "site",
    instance: "https://origin-us-west-1.shop.example.com/",
    region: "us-west-1",
    endpoint: "origin",
    source_region: "us-east-2",
};
const redis = (n: number) => ({
    job: "synthetic-tcp",
    kind: "redis",
    instance: `10.10.${64 + 16 * n}.${10 + n}:6379`,
    region: "us-east-2",
    endpoint: "node",
    source_region: "us-east-2",
});
const series = (name: string, labels: Record<string, string>) =>
    `${name}{${Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(",")}}`;

/** promtool unit tests: each alert fires on synthetic series that should trigger it, and only then. */
const UNIT_TESTS = {
    rule_files: ["rules.yaml"],
    evaluation_interval: "1m",
    tests: [
        {
            // The site's origin fails every probe; its API keeps answering.
            interval: "1m",
            input_series: [
                { series: SITE, values: "0x10" },
                { series: API, values: "1x10" },
            ],
            alert_rule_test: [
                { eval_time: "2m", alertname: "SiteDown", exp_alerts: [] },
                {
                    eval_time: "4m",
                    alertname: "SiteDown",
                    exp_alerts: [
                        {
                            exp_labels: { ...site, severity: "critical" },
                            exp_annotations: {
                                summary: "Site https://origin-us-west-1.shop.example.com/ is down",
                                description:
                                    "https://origin-us-west-1.shop.example.com/ (region us-west-1, via origin) has failed every probe for 3m, as probed from us-east-2.",
                            },
                        },
                    ],
                },
                { eval_time: "10m", alertname: "ApiDown", exp_alerts: [] },
            ],
        },
        {
            // Two of three Redis nodes unreachable: each node alert, and the majority alert.
            interval: "1m",
            input_series: [
                { series: series("probe_success", redis(0)), values: "0x10" },
                { series: series("probe_success", redis(1)), values: "0x10" },
                { series: series("probe_success", redis(2)), values: "1x10" },
            ],
            alert_rule_test: [
                {
                    eval_time: "5m",
                    alertname: "RedisMajorityDown",
                    exp_alerts: [
                        {
                            exp_labels: { region: "us-east-2", source_region: "us-east-2", severity: "critical" },
                            exp_annotations: {
                                summary: "Most Redis nodes in us-east-2 are unreachable",
                                description:
                                    "2 Redis nodes in us-east-2 are unreachable, as probed from us-east-2: Sentinel has no majority, so no failover can happen.",
                            },
                        },
                    ],
                },
            ],
        },
        {
            // One of three down: a warning for that node, no majority alert.
            interval: "1m",
            input_series: [
                { series: series("probe_success", redis(0)), values: "0x10" },
                { series: series("probe_success", redis(1)), values: "1x10" },
                { series: series("probe_success", redis(2)), values: "1x10" },
            ],
            alert_rule_test: [
                { eval_time: "5m", alertname: "RedisMajorityDown", exp_alerts: [] },
                {
                    eval_time: "5m",
                    alertname: "RedisNodeDown",
                    exp_alerts: [
                        {
                            exp_labels: { ...redis(0), severity: "warning" },
                            exp_annotations: {
                                summary: "Redis node 10.10.64.10:6379 is unreachable",
                                description:
                                    "No TCP connection to Redis node 10.10.64.10:6379 (region us-east-2) for 2m, as probed from us-east-2. Sentinel fails over while a majority is up.",
                            },
                        },
                    ],
                },
            ],
        },
        {
            // The writer's name stops accepting connections.
            interval: "1m",
            input_series: [
                {
                    series: series("probe_success", {
                        job: "synthetic-tcp",
                        kind: "db",
                        instance: "writer.db.ecommerce.internal:3306",
                        region: "us-east-2",
                        endpoint: "writer",
                        source_region: "us-east-2",
                    }),
                    values: "1 1 0x10",
                },
            ],
            alert_rule_test: [
                { eval_time: "3m", alertname: "DatabaseWriterUnreachable", exp_alerts: [] },
                {
                    eval_time: "5m",
                    alertname: "DatabaseWriterUnreachable",
                    exp_alerts: [
                        {
                            exp_labels: {
                                job: "synthetic-tcp",
                                kind: "db",
                                instance: "writer.db.ecommerce.internal:3306",
                                region: "us-east-2",
                                endpoint: "writer",
                                source_region: "us-east-2",
                                severity: "critical",
                            },
                            exp_annotations: {
                                summary: "The database writer writer.db.ecommerce.internal:3306 is unreachable",
                                description:
                                    "No TCP connection to writer.db.ecommerce.internal:3306 (region us-east-2) for 2m, as probed from us-east-2.",
                            },
                        },
                    ],
                },
            ],
        },
        {
            // 10 % of the API's requests fail with 500, and every request takes 0.5-2 s.
            interval: "1m",
            input_series: [
                { series: 'flask_http_request_total{job="application",method="GET",status="500"}', values: "0+6x30" },
                { series: 'flask_http_request_total{job="application",method="GET",status="200"}', values: "0+54x30" },
                {
                    series: 'flask_http_request_duration_seconds_bucket{job="application",method="GET",path="/api/products",status="200",le="0.5"}',
                    values: "0x30",
                },
                {
                    series: 'flask_http_request_duration_seconds_bucket{job="application",method="GET",path="/api/products",status="200",le="2"}',
                    values: "0+10x30",
                },
                {
                    series: 'flask_http_request_duration_seconds_bucket{job="application",method="GET",path="/api/products",status="200",le="+Inf"}',
                    values: "0+10x30",
                },
            ],
            alert_rule_test: [
                { eval_time: "5m", alertname: "ApiHighErrorRatio", exp_alerts: [] },
                {
                    eval_time: "15m",
                    alertname: "ApiHighErrorRatio",
                    exp_alerts: [
                        {
                            exp_labels: { job: "application", severity: "critical" },
                            exp_annotations: {
                                summary: "The API answers more than 5% of requests with 5xx",
                                description:
                                    "10% of the requests served by job application in the last 5 minutes failed with a 5xx status.",
                            },
                        },
                    ],
                },
                {
                    eval_time: "15m",
                    alertname: "ApiLatencyP95High",
                    exp_alerts: [
                        {
                            exp_labels: { job: "application", severity: "warning" },
                            exp_annotations: {
                                summary: "API p95 latency is above 1s",
                                // Linear interpolation in the 0.5-2 s bucket: 0.5 + 1.5 * 0.95.
                                description: "The 95th percentile of request durations of job application is 1.925s.",
                            },
                        },
                    ],
                },
            ],
        },
        {
            // The site answers 503, slowly: the probe fails, the 5xx and latency alerts fire.
            interval: "1m",
            input_series: [
                { series: series("probe_http_status_code", site), values: "503x20" },
                { series: series("probe_duration_seconds", site), values: "3x20" },
            ],
            alert_rule_test: [
                {
                    eval_time: "15m",
                    alertname: "SyntheticServerErrors",
                    exp_alerts: [
                        {
                            exp_labels: { ...site, severity: "warning" },
                            exp_annotations: {
                                summary: "https://origin-us-west-1.shop.example.com/ answers synthetic probes with 5xx",
                                description:
                                    "More than 5% of the probes of https://origin-us-west-1.shop.example.com/ in the last 10 minutes got a 5xx answer (100%), as probed from us-east-2.",
                            },
                        },
                    ],
                },
                {
                    eval_time: "15m",
                    alertname: "SyntheticLatencyHigh",
                    exp_alerts: [
                        {
                            exp_labels: { ...site, severity: "warning" },
                            exp_annotations: {
                                summary: "https://origin-us-west-1.shop.example.com/ is slow",
                                description:
                                    "The 95th percentile of probe durations of https://origin-us-west-1.shop.example.com/ over 10 minutes is 3s (threshold 2s), as probed from us-east-2.",
                            },
                        },
                    ],
                },
            ],
        },
        {
            // The exporter cannot be scraped for a target: its probe alerts are blind.
            interval: "1m",
            input_series: [{ series: 'up{job="synthetic-tcp",instance="reader.db.ecommerce.internal:3306"}', values: "0x10" }],
            alert_rule_test: [
                {
                    eval_time: "6m",
                    alertname: "SyntheticProbesFailing",
                    exp_alerts: [
                        {
                            exp_labels: { job: "synthetic-tcp", instance: "reader.db.ecommerce.internal:3306", severity: "warning" },
                            exp_annotations: {
                                summary: "Synthetic probes of reader.db.ecommerce.internal:3306 are not running",
                                description:
                                    "Prometheus cannot scrape the blackbox exporter for reader.db.ecommerce.internal:3306: the probe alerts for it are blind.",
                            },
                        },
                    ],
                },
            ],
        },
    ],
};

describe("lib/alertRules", () => {
    const rules = renderAlertRules();

    it("renders the synthetic, application and data groups with every required alert", () => {
        assert.deepEqual(
            rules.groups.map((g) => g.name),
            ["ecommerce-synthetic", "ecommerce-application", "ecommerce-data"],
        );
        assert.deepEqual(alertNames(rules), [
            "SiteDown",
            "ApiDown",
            "SyntheticServerErrors",
            "SyntheticLatencyHigh",
            "SyntheticProbesFailing",
            "ApiHighErrorRatio",
            "ApiLatencyP95High",
            "RedisNodeDown",
            "RedisMajorityDown",
            "DatabaseWriterUnreachable",
            "DatabaseReaderUnreachable",
        ]);
    });

    it("gives every alert a severity, a for duration, a summary and a description", () => {
        for (const rule of alerts(rules)) {
            assert.ok(["critical", "warning"].includes(rule.labels.severity), `${rule.alert} severity ${rule.labels.severity}`);
            assert.match(rule.for, /^\d+[smh]$/, rule.alert);
            assert.ok(rule.annotations.summary.length > 0, `${rule.alert} summary`);
            assert.ok(rule.annotations.description.length > 0, `${rule.alert} description`);
        }
    });

    it("pages (critical) for a down site, API, database writer or Redis majority", () => {
        const critical = alerts(rules)
            .filter((r) => r.labels.severity === "critical")
            .map((r) => r.alert);
        assert.deepEqual(critical, ["SiteDown", "ApiDown", "ApiHighErrorRatio", "RedisMajorityDown", "DatabaseWriterUnreachable"]);
    });

    it("uses both the synthetic 5xx status and the application's flask 5xx ratio", () => {
        const exprs = rules.groups
            .flatMap((g) => g.rules)
            .map((r) => r.expr)
            .join("\n");
        assert.match(exprs, /probe_http_status_code\{[^}]*\} >= bool 500/);
        assert.match(exprs, /flask_http_request_total\{status=~"5\.\."\}/);
        assert.match(exprs, /histogram_quantile\(0\.95, sum by \(job, le\) \(rate\(flask_http_request_duration_seconds_bucket\[5m\]\)\)\)/);
        assert.match(exprs, /quantile_over_time\(0\.95, probe_duration_seconds/);
    });

    it("applies the configured thresholds and durations", () => {
        const custom = renderAlertRules({
            probeDownFor: "5m",
            dataDownFor: "90s",
            errorRatioThreshold: 0.02,
            latencyP95Seconds: 0.5,
            probeLatencyP95Seconds: 4,
        });
        const byName = new Map(alerts(custom).map((r) => [r.alert, r]));
        assert.equal(byName.get("SiteDown")!.for, "5m");
        assert.equal(byName.get("ApiDown")!.for, "5m");
        assert.equal(byName.get("RedisNodeDown")!.for, "90s");
        assert.equal(byName.get("DatabaseWriterUnreachable")!.for, "90s");
        assert.match(byName.get("ApiHighErrorRatio")!.expr, / > 0\.02$/);
        assert.match(byName.get("SyntheticServerErrors")!.expr, / > 0\.02$/);
        assert.match(byName.get("ApiLatencyP95High")!.expr, / > 0\.5$/);
        assert.match(byName.get("SyntheticLatencyHigh")!.expr, / > 4$/);
    });

    const rejections: [string, AlertRuleOptions, RegExp][] = [
        [
            "a probe duration that is not a Prometheus duration",
            { probeDownFor: "3 minutes" },
            /probeDownFor "3 minutes" is not a Prometheus duration/,
        ],
        ["a data duration that is not a Prometheus duration", { dataDownFor: "" }, /dataDownFor "" is not a Prometheus duration/],
        ["an error ratio given as a percentage", { errorRatioThreshold: 5 }, /errorRatioThreshold 5 is not a fraction between 0 and 1/],
        ["a zero latency threshold", { latencyP95Seconds: 0 }, /latencyP95Seconds 0 is not a positive number of seconds/],
        [
            "a negative probe latency threshold",
            { probeLatencyP95Seconds: -1 },
            /probeLatencyP95Seconds -1 is not a positive number of seconds/,
        ],
    ];
    for (const [what, options, message] of rejections) {
        it(`rejects ${what}`, () => {
            assert.throws(() => renderAlertRules(options), message);
        });
    }

    it("passes promtool check rules", () => {
        const result = promtool(["check", "rules", "rules.yaml"], { "rules.yaml": alertRulesYaml(rules) });
        assert.equal(result.status, 0, result.output);
        assert.match(result.output, /SUCCESS: 12 rules found/);
    });

    it("fires each alert on synthetic series that should trigger it, and not otherwise (promtool test rules)", () => {
        const result = promtool(["test", "rules", "tests.yaml"], {
            "rules.yaml": alertRulesYaml(rules),
            "tests.yaml": stringify(UNIT_TESTS),
        });
        assert.equal(result.status, 0, result.output);
        assert.match(result.output, /SUCCESS/);
    });

    it("fails promtool test rules when a rule is broken (the unit tests can fail)", () => {
        const broken: RuleFile = {
            groups: rules.groups.map((g) => ({
                ...g,
                rules: g.rules.map((r) =>
                    "alert" in r && r.alert === "SiteDown" ? { ...r, expr: `${r.expr} and on() vector(0) == 1` } : r,
                ),
            })),
        };
        const result = promtool(["test", "rules", "tests.yaml"], {
            "rules.yaml": alertRulesYaml(broken),
            "tests.yaml": stringify(UNIT_TESTS),
        });
        assert.notEqual(result.status, 0, result.output);
        assert.match(result.output, /SiteDown/);
    });
});
