/**
 * The e-commerce platform of one region. Both stacks run this same program; what differs
 * is the region (aws:region) and what follows from it: the stack's role (writer or
 * standby) derives from the region and ecommerce:writerRegion.
 *
 * Thin on purpose: read and validate config, look up the facts it depends on, create the
 * components, export what operators and the other tools need.
 */
import { loadConfig } from "./lib/config";
import { resolveZones } from "./lib/lookups";
import { tierTags } from "./lib/tags";
import { Network } from "./components/network";

export = async () => {
    const cfg = loadConfig();
    const zones = await resolveZones(cfg);

    const network = new Network("network", {
        cidrBlock: cfg.network.vpcCidr,
        zones,
        natGateways: cfg.network.natGateways,
        flowLogRetentionDays: cfg.network.flowLogRetentionDays,
        tags: tierTags(cfg, "network"),
    });

    return {
        region: cfg.region,
        role: cfg.role,
        peerRegion: cfg.peerRegion,
        availabilityZones: zones.map((z) => `${z.name} (${z.id})`),
        vpcId: network.vpcId,
    };
};
