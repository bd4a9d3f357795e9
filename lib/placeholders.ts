/**
 * Values that make the offline plan work out of the box but guarantee a failed deploy: a
 * documentation CIDR for the EKS API (Helm releases then time out once the cluster exists)
 * example hostnames for the probes and the public name, and the example backup image (no such
 * image exists: every nightly backup would fail to pull it). The deploy wrapper refuses a real
 * preview or update while any is configured; the offline plan lists them as warnings. Pure.
 */
import { parseCidr, cidrsOverlap } from "./cidr";
import type { GlobalConfig, PlatformConfig } from "./config";

export interface Placeholder {
    /** The config key, e.g. `ecommerce:eksApiAllowedCidrs`. */
    readonly key: string;
    readonly value: unknown;
    /** Why it cannot work. */
    readonly problem: string;
    /** What to set instead. */
    readonly fix: string;
}

/** IPv4 documentation ranges (RFC 5737): never routed on the internet. */
export const DOCUMENTATION_CIDRS: readonly string[] = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"];

/**
 * Names reserved for examples (RFC 2606: example.com, .net, .org and the .example TLD) and
 * test or invalid names (RFC 6761: .test, .invalid, .localhost).
 */
export function isExampleHostname(hostname: string): boolean {
    const name = hostname.toLowerCase().replace(/\.$/, "");
    return /(^|\.)example\.(com|net|org)$/.test(name) || /\.(example|test|invalid|localhost)$/.test(name);
}

/**
 * The repository of Pulumi.yaml's example `backupImage` (a test keeps the two together): no
 * registry serves it, so the backup CronJobs could never start a pod.
 */
export const EXAMPLE_BACKUP_IMAGE_REPOSITORY = "public.ecr.aws/acme-retail/ecommerce-backup";

/** A CIDR inside a documentation range (a wider one holds real addresses too). */
function isDocumentationCidr(cidr: string): boolean {
    const parsed = parseCidr(cidr);
    return (
        parsed !== undefined &&
        DOCUMENTATION_CIDRS.some((doc) => parsed.prefix >= parseCidr(doc)!.prefix && cidrsOverlap(parsed, parseCidr(doc)!))
    );
}

/** Every placeholder in the stack's configuration, in key order. */
export function placeholdersIn(cfg: PlatformConfig | GlobalConfig): Placeholder[] {
    const found: Placeholder[] = [];
    if (cfg.kind === "global") {
        // The global stack creates the public record (when a zone is configured) for this name.
        return isExampleHostname(cfg.siteHostname)
            ? [
                  {
                      key: "ecommerce:siteHostname",
                      value: cfg.siteHostname,
                      problem: "an example name (RFC 2606): the record would not be the shop's",
                      fix: "the shop's public name (on the virtual IP)",
                  },
              ]
            : [];
    }
    const documentation = cfg.monitoring.apiAllowedCidrs.filter(isDocumentationCidr);
    if (documentation.length > 0) {
        found.push({
            key: "ecommerce:eksApiAllowedCidrs",
            value: cfg.monitoring.apiAllowedCidrs,
            problem: `${documentation.join(", ")} ${documentation.length === 1 ? "is a documentation range" : "are documentation ranges"} (RFC 5737): nobody can reach the EKS API from there, so the Helm releases time out after the cluster is built`,
            fix: "the egress CIDRs of wherever pulumi runs (CI runners, the operators' VPN)",
        });
    }
    if (isExampleHostname(cfg.siteHostname)) {
        found.push({
            key: "ecommerce:siteHostname",
            value: cfg.siteHostname,
            problem: "an example name (RFC 2606): the probes would watch a site that is not the shop",
            fix: "the shop's public name (the CNAME to the virtual IP)",
        });
    }
    const exampleOrigins = Object.entries(cfg.originHostnames).filter(([, host]) => isExampleHostname(host));
    if (exampleOrigins.length > 0) {
        found.push({
            key: "ecommerce:originHostnames",
            value: Object.fromEntries(exampleOrigins),
            problem: "example names (RFC 2606): each region's synthetic probes of its own origin would watch nothing real",
            fix: "each site region's origin name of its internal load balancer (a private record that resolves inside its VPC)",
        });
    }
    if (cfg.backups.image.split(/[:@]/)[0] === EXAMPLE_BACKUP_IMAGE_REPOSITORY) {
        found.push({
            key: "ecommerce:backupImage",
            value: cfg.backups.image,
            problem:
                "the example image, which no registry serves: the nightly dump and the verification would never start, and no logical backup would be taken",
            fix: "the image built from backup/Dockerfile, pushed to a registry the monitoring nodes pull from (an ECR repository of each site region), pinned by tag or digest",
        });
    }
    return found;
}

/**
 * What offline cannot check: the baked AMI the web tier looks up must exist in the stack's
 * region (the deploy wrapper asks EC2 before a real preview or up).
 */
export function bakedAmiReminder(cfg: PlatformConfig): string | undefined {
    const filter = cfg.web.amiNameFilter;
    return filter === undefined
        ? undefined
        : `ecommerce:webAmiNameFilter = ${JSON.stringify(filter)}: an available x86_64 AMI owned by ${cfg.web.amiOwner} must match it in ${cfg.region} ` +
              "(the pipeline copies it to every site region; the deploy wrapper checks with EC2 DescribeImages)";
}

/** One line per placeholder: the key, the value, the problem and what to set. */
export function describePlaceholder(p: Placeholder): string {
    return `${p.key} = ${JSON.stringify(p.value)}: ${p.problem}; set ${p.fix}`;
}
