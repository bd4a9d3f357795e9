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
import { RedisCluster } from "./components/redisCluster";
import { WebTier } from "./components/webTier";
import { readerRecordName, writerRecordName } from "./lib/dbNaming";
import { DatabaseCluster } from "./components/databaseCluster";
import { MonitoringStack } from "./components/monitoringStack";
import { pinnedNodes } from "./lib/placement";

/** Sentinel's name for the Redis master group. */
const REDIS_MASTER_NAME = "ecommerce-cache";

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

    // Redis's addresses and password secret are fixed before Redis exists, so the web tier
    // (created first: Redis admits its security group) can be told where they are.
    const redisNodes = pinnedNodes(cfg.redis.nodeCount, network.dataSubnets.cidrs);
    const redisPasswordSecretName = `${cfg.project}/${cfg.region}/redis-password`;

    // <web>
    const web = new WebTier("web", {
        vpcId: network.vpcId,
        vpcCidr: network.cidrBlock,
        publicSubnetIds: network.publicSubnets.ids,
        privateSubnetIds: network.privateSubnets.ids,
        region: cfg.region,
        accountId: account.accountId,
        instanceType: cfg.web.instanceType,
        instanceCount: cfg.web.instanceCount,
        maxInstanceCount: cfg.web.maxInstanceCount,
        amiNameFilter: cfg.web.amiNameFilter,
        amiOwner: cfg.web.amiOwner,
        artifactUri: cfg.web.artifactUri,
        rootVolumeGiB: cfg.web.rootVolumeGiB,
        healthCheckPath: cfg.web.healthCheckPath,
        certificateArn: cfg.web.certificateArn,
        // Where the app finds its data, known before those tiers exist; never a secret. Nothing
        // here changes on a failover (a change would refresh every server).
        appEnvironment: {
            ECOMMERCE_REGION: cfg.region,
            DB_WRITER_HOST: writerRecordName(cfg.db.privateZoneName),
            DB_READER_HOST: readerRecordName(cfg.db.privateZoneName),
            DB_NAME: cfg.db.name,
            REDIS_SENTINELS: redisNodes.map((n) => `${n.address}:26379`).join(","),
            REDIS_MASTER_NAME: REDIS_MASTER_NAME,
            REDIS_PASSWORD_SECRET_NAME: redisPasswordSecretName,
        },
        tags: tierTags(cfg, "web"),
    });
    // </web>

    // <monitoring>
    const monitoring = new MonitoringStack("monitoring", {
        region: cfg.region,
        clusterName: `${cfg.project}-${cfg.stack}-monitoring`,
        vpcId: network.vpcId,
        privateSubnetIds: network.privateSubnets.ids,
        eksVersion: cfg.monitoring.eksVersion,
        nodeInstanceType: cfg.monitoring.nodeInstanceType,
        nodeCount: cfg.monitoring.nodeCount,
        apiAllowedCidrs: cfg.monitoring.apiAllowedCidrs,
        kubePrometheusStackVersion: cfg.monitoring.kubePrometheusStackVersion,
        blackboxExporterVersion: cfg.monitoring.blackboxExporterVersion,
        prometheusRetentionDays: cfg.monitoring.prometheusRetentionDays,
        prometheusStorageGiB: cfg.monitoring.prometheusStorageGiB,
        grafanaStorageGiB: cfg.monitoring.grafanaStorageGiB,
        alertmanagerStorageGiB: cfg.monitoring.alertmanagerStorageGiB,
        alertReceiverSecretName: cfg.monitoring.alertReceiverSecretName,
        probes: {
            siteHostname: cfg.siteHostname,
            originHostnames: cfg.originHostnames,
            healthCheckPath: cfg.web.healthCheckPath,
            loadBalancer: { dnsName: web.albDnsName, protocol: web.listenerProtocol },
            // Known before Redis and the database exist (pinned addresses, fixed DNS names).
            redisAddresses: redisNodes.map((n) => n.address),
            databaseHostnames: { writer: writerRecordName(cfg.db.privateZoneName), reader: readerRecordName(cfg.db.privateZoneName) },
        },
        tags: tierTags(cfg, "monitoring"),
    });
    // </monitoring>

    // <redis>
    // Three nodes at fixed addresses in the data subnets, one zone each where the region has
    // three. In a two-zone region (dr) one zone holds two of the three sentinels: losing it
    // loses the Sentinel majority (exported as redisSurvivesZoneLoss).
    const redis = new RedisCluster("redis", {
        vpcId: network.vpcId,
        subnets: network.dataSubnets,
        // The app servers use the cache; the monitoring nodes probe Redis and Sentinel.
        clientSecurityGroupIds: [web.instanceSecurityGroupId, monitoring.nodeSecurityGroupId],
        clientRoleNames: [web.instanceRoleName],
        masterName: REDIS_MASTER_NAME,
        passwordSecretName: redisPasswordSecretName,
        region: cfg.region,
        image: cfg.redis.image,
        instanceType: cfg.redis.instanceType,
        nodeCount: cfg.redis.nodeCount,
        sentinelQuorum: cfg.redis.sentinelQuorum,
        maxmemoryPercent: cfg.redis.maxmemoryPercent,
        tags: tierTags(cfg, "redis"),
    });
    // </redis>

    // <db>
    const db = new DatabaseCluster("db", {
        role: cfg.role,
        region: cfg.region,
        writerRegion: cfg.writerRegion,
        peerRegion: cfg.peerRegion,
        accountId: account.accountId,
        partition: account.partition,
        identifierBase: cfg.db.identifierBase,
        secretNamePrefix: cfg.project,
        vpcId: network.vpcId,
        subnetIds: network.dataSubnets.ids,
        zoneNames: network.dataSubnets.zones.map((z) => z.name),
        // The web servers and the monitoring nodes (probes, exporters) are the only clients.
        clientSecurityGroupIds: [web.instanceSecurityGroupId, monitoring.nodeSecurityGroupId],
        privateZoneName: cfg.db.privateZoneName,
        instanceClass: cfg.db.instanceClass,
        replicaCount: cfg.db.replicaCount,
        engineVersion: cfg.db.engineVersion,
        multiAz: cfg.db.multiAz,
        allocatedStorageGiB: cfg.db.allocatedStorageGiB,
        maxAllocatedStorageGiB: cfg.db.maxAllocatedStorageGiB,
        backupRetentionDays: cfg.db.backupRetentionDays,
        dbName: cfg.db.name,
        masterUsername: cfg.db.masterUsername,
        tags: tierTags(cfg, "db"),
    });
    // </db>

    return {
        region: cfg.region,
        role: cfg.role,
        peerRegion: cfg.peerRegion,
        accountId: account.accountId,
        availabilityZones: zones.map((z) => `${z.name} (${z.id})`),
        vpcId: network.vpcId,
        // <outputs-web>
        albDnsName: web.albDnsName,
        autoScalingGroupName: web.autoScalingGroupName,
        // </outputs-web>
        // <outputs-monitoring>
        monitoringClusterName: monitoring.clusterName,
        // </outputs-monitoring>
        // <outputs-redis>
        redisNodeAddresses: redis.nodeAddresses,
        redisSentinelMasterName: redis.masterName,
        redisPasswordSecretArn: redis.passwordSecretArn,
        redisSurvivesZoneLoss: redis.survivesZoneLoss,
        // </outputs-redis>
        // <outputs-db>
        dbWriterEndpoint: db.writerEndpointName,
        dbReaderEndpoint: db.readerEndpointName,
        dbWriterIdentifier: db.writerIdentifier,
        dbCredentialsSecretName: db.credentialsSecretName,
        ...(db.sourceDbArn !== undefined ? { dbReplicationSourceArn: db.sourceDbArn } : {}),
        // </outputs-db>
    };
};
