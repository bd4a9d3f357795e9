/**
 * The e-commerce platform of one region. Both stacks run this same program; what differs
 * is the region (aws:region) and what follows from it: the stack's role (writer or
 * standby) derives from the region and ecommerce:writerRegion.
 *
 * Thin on purpose: read and validate config, look up the facts it depends on, create the
 * components, export what operators and the other tools need.
 *
 * Order: Network -> WebTier -> MonitoringStack -> RedisCluster -> DatabaseCluster. The
 * monitoring stack probes Redis and the database at addresses known before they exist
 * (pinned Redis addresses, the database's private DNS names), so Redis and the database
 * can admit the monitoring nodes' security group without a cycle.
 */
import { loadConfig } from "./lib/config";
import { resolveAccount, resolveZones } from "./lib/lookups";
import { tierTags } from "./lib/tags";
import { Network } from "./components/network";

export = async () => {
    const cfg = loadConfig();
    const [zones, account] = await Promise.all([resolveZones(cfg), resolveAccount()]);

    const network = new Network("network", {
        cidrBlock: cfg.network.vpcCidr,
        zones,
        natGateways: cfg.network.natGateways,
        flowLogRetentionDays: cfg.network.flowLogRetentionDays,
        tags: tierTags(cfg, "network"),
    });

    // <web>
    // </web>

    // <monitoring>
    // </monitoring>

    // <redis>
    // </redis>

    // <db>
    // </db>

    return {
        region: cfg.region,
        role: cfg.role,
        peerRegion: cfg.peerRegion,
        accountId: account.accountId,
        availabilityZones: zones.map((z) => `${z.name} (${z.id})`),
        vpcId: network.vpcId,
        // <outputs-web>
        // </outputs-web>
        // <outputs-monitoring>
        // </outputs-monitoring>
        // <outputs-redis>
        // </outputs-redis>
        // <outputs-db>
        // </outputs-db>
    };
};
