/**
 * The virtual IP: one accelerator (global stack) with a TCP listener for 80 and 443, and in
 * each site stack one endpoint group in the site's own region that either serves (its load
 * balancer weighted, traffic dial above 0) or holds no endpoint at all (the standby), with
 * client IP preservation on every endpoint. lib/accelerator.ts says why a standby group holds
 * no endpoint rather than one at weight 0.
 */
import { regionOf, resourcePolicy, siteRole, stackKindOf, stackPolicy } from "./kit";

const ACCELERATOR = "aws:globalaccelerator/accelerator:Accelerator";
const LISTENER = "aws:globalaccelerator/listener:Listener";
const ENDPOINT_GROUP = "aws:globalaccelerator/endpointGroup:EndpointGroup";
const REQUIRED_PORTS = [80, 443];

interface EndpointConfiguration {
    readonly endpointId?: string;
    readonly weight?: number;
    readonly clientIpPreservationEnabled?: boolean;
}

const endpointsOf = (props: Record<string, any>): EndpointConfiguration[] =>
    Array.isArray(props.endpointConfigurations) ? (props.endpointConfigurations as EndpointConfiguration[]) : [];

export const oneAccelerator = stackPolicy({
    name: "one-accelerator",
    description: "Exactly one Global Accelerator, in the global stack, with a TCP listener for ports 80 and 443; a site stack holds none.",
    enforcementLevel: "mandatory",
    kinds: ["global", "site"],
    validate: (args, report) => {
        const accelerators = args.resources.filter((r) => r.type === ACCELERATOR);
        if (stackKindOf(args.resources.map((r) => r.type)) === "site") {
            for (const a of accelerators) {
                report(
                    `accelerator ${a.name} in a site stack: the virtual IP is the global stack's alone (a second one would be a second pair of IPs)`,
                    a.urn,
                );
            }
            // A site: every resource was looked at for being an accelerator.
            return args.resources.length;
        }
        if (accelerators.length !== 1) {
            report(
                `expected exactly one accelerator (the virtual IP), found ${accelerators.length}: ${accelerators.map((a) => a.name).join(", ")}`,
            );
        }
        const listeners = args.resources.filter((r) => r.type === LISTENER);
        const ports = new Set(
            listeners
                .filter((l) => l.props.protocol === "TCP")
                .flatMap((l) => (Array.isArray(l.props.portRanges) ? l.props.portRanges : []))
                .flatMap((p: any) => (Number.isInteger(p?.fromPort) && Number.isInteger(p?.toPort) ? range(p.fromPort, p.toPort) : [])),
        );
        const missing = REQUIRED_PORTS.filter((p) => !ports.has(p));
        if (missing.length > 0) {
            report(
                `the accelerator has no TCP listener for port ${missing.join(" and ")}: shoppers reach the site on ${REQUIRED_PORTS.join(" and ")}`,
            );
        }
        return accelerators.length;
    },
});

function range(from: number, to: number): number[] {
    return to - from > 65535 || to < from ? [] : Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

export const endpointGroupPerSite = stackPolicy({
    name: "endpoint-group-per-site",
    description: "A site stack attaches exactly one endpoint group to the virtual IP, in the site's own region.",
    enforcementLevel: "mandatory",
    validate: (args, report) => {
        const groups = args.resources.filter((r) => r.type === ENDPOINT_GROUP);
        if (groups.length !== 1) {
            report(`expected exactly one endpoint group (this site's, on the virtual IP's listener), found ${groups.length}`);
        }
        for (const group of groups) {
            const site = regionOf(group);
            const region = group.props.endpointGroupRegion;
            if (typeof region !== "string") {
                report(
                    `endpoint group ${group.name} does not set endpointGroupRegion (it would default to the provider's region)`,
                    group.urn,
                );
            } else if (site !== undefined && region !== site) {
                report(`endpoint group ${group.name} is in ${region}, not in this site's region ${site}`, group.urn);
            }
        }
        return groups.length;
    },
});

/**
 * Serving follows the site's role as its database shows it: the writer region's writer
 * replicates from nothing, the standby's from the writer (`replicateSourceDb`).
 */
export const standbyGetsNoTraffic = stackPolicy({
    name: "standby-gets-no-traffic",
    description:
        "The writer site's endpoint group serves (traffic dial above 0, every endpoint weighted above 0); the standby's holds no endpoint " +
        "at all and dial 0: a weight-0 endpoint still receives traffic when Global Accelerator fails open.",
    enforcementLevel: "mandatory",
    validate: (args, report) => {
        const groups = args.resources.filter((r) => r.type === ENDPOINT_GROUP);
        const role = siteRole(args.resources);
        for (const group of groups) {
            const dial = group.props.trafficDialPercentage;
            const endpoints = endpointsOf(group.props);
            if (typeof dial !== "number") {
                report(
                    `endpoint group ${group.name} does not set trafficDialPercentage (the API's default is 100): say whether it serves`,
                    group.urn,
                );
                continue;
            }
            if (role === "standby" && (dial > 0 || endpoints.length > 0)) {
                report(
                    `endpoint group ${group.name} of the standby site (its database replicates from the writer) has traffic dial ${dial} and ` +
                        `${endpoints.length} endpoint(s): a standby group holds none and dial 0 ` +
                        "(Global Accelerator ignores dials on failover and may send traffic to a weight-0 endpoint when it fails open)",
                    group.urn,
                );
                continue;
            }
            if (role === "writer" && (dial === 0 || endpoints.length === 0)) {
                report(
                    `endpoint group ${group.name} of the writer site has traffic dial ${dial} and ${endpoints.length} endpoint(s): it would serve nothing`,
                    group.urn,
                );
            }
            for (const e of endpoints.filter((x) => typeof x.weight !== "number" || x.weight <= 0)) {
                report(
                    `endpoint group ${group.name}: endpoint ${e.endpointId ?? "(unknown)"} has weight ${JSON.stringify(e.weight)}; ` +
                        "an endpoint in a group is there to serve: set a weight above 0 (the provider sends 0 for a missing weight)",
                    group.urn,
                );
            }
        }
        return groups.length;
    },
});

export const clientIpPreservation = resourcePolicy({
    name: "accelerator-client-ip-preservation",
    description: "Every load balancer behind the virtual IP sees the client's address (client IP preservation on).",
    enforcementLevel: "mandatory",
    types: [ENDPOINT_GROUP],
    validate: (args, report) => {
        for (const e of endpointsOf(args.props).filter((x) => x.clientIpPreservationEnabled !== true)) {
            report(
                `endpoint group ${args.name}: endpoint ${e.endpointId ?? "(unknown)"} does not preserve client IPs (clientIpPreservationEnabled must be true)`,
            );
        }
    },
});

export const noPublicOrigin = resourcePolicy({
    name: "no-public-origin",
    description:
        "Every application load balancer is internal: shoppers reach a site only through the virtual IP, so fencing a site there fences it for every shopper.",
    enforcementLevel: "mandatory",
    types: ["aws:lb/loadBalancer:LoadBalancer"],
    validate: (args, report) => {
        if ((args.props.loadBalancerType ?? "application") === "application" && args.props.internal !== true) {
            report(
                `load balancer ${args.name} is internet-facing (internal must be true): a fenced site would still take writes that reach it by its origin name`,
            );
        }
    },
});
