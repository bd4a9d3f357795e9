/**
 * Synthetic monitoring plan: what the blackbox exporter probes from a region, and the
 * Prometheus scrape configs that drive it. Pure functions, no Pulumi.
 *
 * Every probe series carries three labels the alert rules and dashboards rely on:
 *   kind           site | api | redis | db
 *   region         where the target lives (`global` for the public name on the virtual IP)
 *   source_region  the region whose monitoring probed it (an outage is seen from both sides)
 * plus `endpoint` (origin, public, alb, node, writer, reader): how the target was reached.
 */
import { HEALTH_CHECK_PATH, HOSTNAME, problem } from "./rules";

export type ProbeKind = "site" | "api" | "redis" | "db";
export type ProbeEndpoint = "origin" | "public" | "alb" | "node" | "writer" | "reader";
/** Blackbox exporter modules (see blackboxModules). */
export type ProbeModule = "http_2xx" | "tcp_connect";

export const PROBE_KINDS: readonly ProbeKind[] = ["site", "api", "redis", "db"];

/** Region label of targets reached through the global virtual IP (either site may answer). */
export const PUBLIC_NAME_LABEL = "global";

export interface ProbeTarget {
    readonly kind: ProbeKind;
    /** Region the target lives in, or `global`. */
    readonly region: string;
    readonly endpoint: ProbeEndpoint;
    readonly module: ProbeModule;
    /** What the exporter probes: a URL for HTTP modules, `host:port` for TCP. */
    readonly target: string;
    /**
     * Host header and TLS server name for the probe when they differ from the target's
     * host (the load balancer's AWS name carries no certificate of its own).
     */
    readonly hostname?: string;
}

export interface ProbePlan {
    /** The region doing the probing (becomes `source_region`). */
    readonly sourceRegion: string;
    /** Public name of the shop (the CNAME to the virtual IP). */
    readonly siteHostname: string;
    /** Origin hostname of every site region, this one and the peer(s). */
    readonly originHostnames: Readonly<Record<string, string>>;
    /**
     * The regions whose load balancer has a certificate (and so answers HTTPS, redirecting
     * HTTP). The others listen on HTTP only: an https:// probe of them fails every time.
     */
    readonly httpsRegions: readonly string[];
    /** The writer region: the public name reaches its site, so it takes that site's scheme. */
    readonly writerRegion: string;
    /** Path of the API health endpoint (e.g. /api/health). */
    readonly healthCheckPath: string;
    /** This region's load balancer, probed by its own AWS name (bypassing DNS of the shop). */
    readonly loadBalancer?: { readonly dnsName: string; readonly protocol: "HTTP" | "HTTPS" };
    /** Private addresses of this region's Redis nodes. */
    readonly redisAddresses: readonly string[];
    /** @default 6379 */
    readonly redisPort?: number;
    /** Private DNS names of this region's database writer and (load-balanced) readers. */
    readonly databaseHostnames: { readonly writer: string; readonly reader: string };
    /** @default 3306 */
    readonly databasePort?: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function checkPort(what: string, port: number): void {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(`${what} ${port} is not a TCP port (1-65535)`);
    }
}

/**
 * The scheme a site answers on: HTTPS where its load balancer has a certificate (HTTP then
 * redirects, and a probe follows no redirect), HTTP where it has none (no listener on 443).
 * The public name reaches the writer's site through the accelerator, so it takes the writer's.
 */
export function siteScheme(region: string, httpsRegions: readonly string[]): "http" | "https" {
    return httpsRegions.includes(region) ? "https" : "http";
}

/**
 * Every target a region probes, in a stable order: the origins of all site regions (this
 * region first), the public site, this region's load balancer, its Redis nodes, its database.
 */
export function buildProbeTargets(plan: ProbePlan): ProbeTarget[] {
    const redisPort = plan.redisPort ?? 6379;
    const databasePort = plan.databasePort ?? 3306;
    checkPort("buildProbeTargets: redisPort", redisPort);
    checkPort("buildProbeTargets: databasePort", databasePort);
    if (!(plan.sourceRegion in plan.originHostnames)) {
        throw new Error(
            `buildProbeTargets: originHostnames has no entry for the probing region ${plan.sourceRegion} (has ${Object.keys(plan.originHostnames).join(", ") || "none"})`,
        );
    }
    if (!HEALTH_CHECK_PATH.accepts(plan.healthCheckPath)) {
        throw new Error(`buildProbeTargets: ${problem("healthCheckPath", plan.healthCheckPath, HEALTH_CHECK_PATH.allowed)}`);
    }
    for (const [what, host] of [
        ["siteHostname", plan.siteHostname],
        ["databaseHostnames.writer", plan.databaseHostnames.writer],
        ["databaseHostnames.reader", plan.databaseHostnames.reader],
        ...Object.entries(plan.originHostnames).map(([r, h]) => [`originHostnames.${r}`, h]),
    ]) {
        if (!HOSTNAME.accepts(host)) {
            throw new Error(`buildProbeTargets: ${what} "${host}" is not a DNS hostname`);
        }
    }
    const badAddress = plan.redisAddresses.find((a) => {
        const m = IPV4.exec(a);
        return !m || m.slice(1).some((octet) => Number(octet) > 255);
    });
    if (badAddress !== undefined) {
        throw new Error(`buildProbeTargets: Redis address "${badAddress}" is not an IPv4 address`);
    }

    // Only this region's origin: the load balancers are internal (the origin is closed, shoppers
    // come through the virtual IP), so another region's origin is out of reach; that site is
    // seen through the public name, and from its own region's monitoring.
    const regions = [plan.sourceRegion];
    const targets: ProbeTarget[] = [];
    for (const region of regions) {
        const origin = plan.originHostnames[region];
        const scheme = siteScheme(region, plan.httpsRegions);
        targets.push({ kind: "site", region, endpoint: "origin", module: "http_2xx", target: `${scheme}://${origin}/` });
        targets.push({
            kind: "api",
            region,
            endpoint: "origin",
            module: "http_2xx",
            target: `${scheme}://${origin}${plan.healthCheckPath}`,
        });
    }
    targets.push({
        kind: "site",
        region: PUBLIC_NAME_LABEL,
        endpoint: "public",
        module: "http_2xx",
        target: `${siteScheme(plan.writerRegion, plan.httpsRegions)}://${plan.siteHostname}/`,
    });
    if (plan.loadBalancer) {
        const https = plan.loadBalancer.protocol === "HTTPS";
        targets.push({
            kind: "api",
            region: plan.sourceRegion,
            endpoint: "alb",
            module: "http_2xx",
            target: `${https ? "https" : "http"}://${plan.loadBalancer.dnsName}${plan.healthCheckPath}`,
            // The certificate names the origin, not the load balancer's AWS name: verify it
            // against the origin name (TLS server name and Host header).
            ...(https ? { hostname: plan.originHostnames[plan.sourceRegion] } : {}),
        });
    }
    for (const address of plan.redisAddresses) {
        targets.push({
            kind: "redis",
            region: plan.sourceRegion,
            endpoint: "node",
            module: "tcp_connect",
            target: `${address}:${redisPort}`,
        });
    }
    for (const role of ["writer", "reader"] as const) {
        targets.push({
            kind: "db",
            region: plan.sourceRegion,
            endpoint: role,
            module: "tcp_connect",
            target: `${plan.databaseHostnames[role]}:${databasePort}`,
        });
    }
    return targets;
}

/** Job name of the scrape config that runs a module's probes. */
export function probeJobName(module: ProbeModule): string {
    return module === "http_2xx" ? "synthetic-http" : "synthetic-tcp";
}

/**
 * The blackbox exporter modules the targets use. Timeouts stay under the scrape timeout
 * (renderProbeScrapeConfigs) so a slow target fails its probe instead of the scrape.
 */
export function blackboxModules(): Record<ProbeModule, Record<string, unknown>> {
    return {
        http_2xx: {
            prober: "http",
            timeout: "10s",
            http: {
                valid_http_versions: ["HTTP/1.1", "HTTP/2.0"],
                // Any 2xx; redirects (HTTP -> HTTPS) are followed and the final answer counts.
                valid_status_codes: [],
                follow_redirects: true,
                preferred_ip_protocol: "ip4",
                ip_protocol_fallback: false,
            },
        },
        tcp_connect: {
            prober: "tcp",
            timeout: "5s",
            tcp: { preferred_ip_protocol: "ip4", ip_protocol_fallback: false },
        },
    };
}

export interface ScrapeOptions {
    /** `host:port` of the blackbox exporter service. */
    readonly blackboxAddress: string;
    /** The probing region (label `source_region` on every series). */
    readonly sourceRegion: string;
    /** @default "30s" */
    readonly scrapeInterval?: string;
    /** @default "15s" */
    readonly scrapeTimeout?: string;
}

/**
 * Prometheus scrape configs (one job per module) that send each target through the
 * blackbox exporter: the target becomes the `target` parameter and the `instance` label,
 * the exporter becomes the scrape address, and the target's labels ride along.
 */
export function renderProbeScrapeConfigs(targets: readonly ProbeTarget[], options: ScrapeOptions): Record<string, unknown>[] {
    const modules = [...new Set(targets.map((t) => t.module))].sort();
    return modules.map((module) => ({
        job_name: probeJobName(module),
        metrics_path: "/probe",
        params: { module: [module] },
        scrape_interval: options.scrapeInterval ?? "30s",
        scrape_timeout: options.scrapeTimeout ?? "15s",
        static_configs: targets
            .filter((t) => t.module === module)
            .map((t) => ({
                targets: [t.target],
                labels: {
                    kind: t.kind,
                    region: t.region,
                    endpoint: t.endpoint,
                    source_region: options.sourceRegion,
                    // `__param_*` labels become URL parameters of the probe request.
                    ...(t.hostname ? { __param_hostname: t.hostname } : {}),
                },
            })),
        relabel_configs: [
            { source_labels: ["__address__"], target_label: "__param_target" },
            { source_labels: ["__param_target"], target_label: "instance" },
            { target_label: "__address__", replacement: options.blackboxAddress },
        ],
    }));
}

/** Job name of the application (Flask API) metrics scrape. */
export const APPLICATION_JOB = "application";

export interface ApplicationScrapeSettings {
    /** Region of the instances (EC2 service discovery looks there). */
    readonly region: string;
    /** Port the instances serve their Prometheus metrics on. */
    readonly port: number;
    /** @default "/metrics" */
    readonly path?: string;
    /** EC2 tags that select the instances (all must match), e.g. { Tier: "web", Stack: "primary" }. */
    readonly instanceTags: Readonly<Record<string, string>>;
}

/**
 * Scrape config of the application's own metrics: the running instances that carry the
 * given tags, found through EC2 service discovery (Prometheus needs ec2:DescribeInstances),
 * scraped on their private address. `instance` is the instance ID (stable across restarts).
 */
export function renderApplicationScrapeConfig(s: ApplicationScrapeSettings): Record<string, unknown> {
    checkPort("renderApplicationScrapeConfig: port", s.port);
    const path = s.path ?? "/metrics";
    if (!/^\/[\w\-./]*$/.test(path)) {
        throw new Error(`renderApplicationScrapeConfig: path "${path}" is not an absolute URL path such as /metrics`);
    }
    if (Object.keys(s.instanceTags).length === 0) {
        throw new Error("renderApplicationScrapeConfig: instanceTags is empty: it would scrape every instance of the region");
    }
    return {
        job_name: APPLICATION_JOB,
        metrics_path: path,
        scrape_interval: "30s",
        ec2_sd_configs: [
            {
                region: s.region,
                port: s.port,
                refresh_interval: "60s",
                filters: [
                    { name: "instance-state-name", values: ["running"] },
                    ...Object.entries(s.instanceTags).map(([key, value]) => ({ name: `tag:${key}`, values: [value] })),
                ],
            },
        ],
        relabel_configs: [
            { source_labels: ["__meta_ec2_instance_id"], target_label: "instance" },
            { source_labels: ["__meta_ec2_availability_zone"], target_label: "availability_zone" },
            { target_label: "region", replacement: s.region },
        ],
    };
}
