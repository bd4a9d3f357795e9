/**
 * The e-commerce platform. Three stacks run this same program; what differs is the region
 * (aws:region) and what follows from it. In a site region (primary, dr) it builds one site
 * of the platform, whose role (writer or standby) derives from the region and
 * ecommerce:writerRegion. In the global region (us-west-2, stack `global`) it builds the
 * virtual IP: the accelerator, its listener and the public name.
 *
 * Thin on purpose: read and validate config, look up the facts it depends on, create the
 * components, export what operators and the other tools need.
 *
 * Order: Network -> WebTier -> MonitoringStack -> RedisCluster -> DatabaseCluster. The
 * monitoring stack probes Redis and the database at addresses known before they exist
 * (pinned Redis addresses, the database's private DNS names), so Redis and the database
 * can admit the monitoring nodes' security group without a cycle.
 */
import * as aws from "@pulumi/aws";
import { GlobalConfig, loadConfig, PlatformConfig, withAccount } from "./lib/config";
import { listenerArnParameterName } from "./lib/accelerator";
import { siteScheme } from "./lib/probes";
import { GLOBAL_REGION } from "./lib/regions";
import { AcceleratorEndpoint } from "./components/acceleratorEndpoint";
import { VirtualIp } from "./components/virtualIp";
import { FailoverController } from "./components/failoverController";
import { LeaseStore } from "./components/leaseStore";
import { WriterAgent } from "./components/writerAgent";
import { DatabaseBackups } from "./components/databaseBackups";
import { resolveAccount, resolveZones } from "./lib/lookups";
import { tierTags } from "./lib/tags";
import { Network } from "./components/network";
import { RedisCluster } from "./components/redisCluster";
import { WebTier } from "./components/webTier";
import {
    appCredentialsSecretName,
    credentialsSecretName,
    MYSQL_PORT,
    readerRecordName,
    writerIdentifier,
    writerRecordName,
} from "./lib/dbNaming";
import { backupBucketName } from "./lib/backupNaming";
import { DatabaseCluster } from "./components/databaseCluster";
import { MonitoringStack } from "./components/monitoringStack";
import { pinnedNodes } from "./lib/placement";
import { DEFAULT_MASTER_NAME, SENTINEL_PORT } from "./lib/redisConfig";

export = async () => {
    const cfg = loadConfig();
    return cfg.kind === "global" ? globalStack(cfg) : siteStack(cfg);
};

/** The virtual IP and the writer lease's store with its witness, once for both sites. */
async function globalStack(cfg: GlobalConfig) {
    const account = await resolveAccount();
    const vip = new VirtualIp("vip", {
        project: cfg.project,
        siteHostname: cfg.siteHostname,
        publicZoneId: cfg.traffic.publicZoneId,
        clientAffinity: cfg.traffic.clientAffinity,
        tags: tierTags(cfg, "traffic"),
    });
    // The witness looks at the shop as a shopper would: its public name, through the accelerator,
    // in the scheme the writer's site answers on.
    const lease = new LeaseStore("lease", {
        project: cfg.project,
        region: cfg.region,
        accountId: account.accountId,
        partition: account.partition,
        witnessUrl: `${siteScheme(cfg.writerRegion, cfg.httpsRegions)}://${cfg.siteHostname}${cfg.healthCheckPath}`,
        tags: tierTags(cfg, "traffic"),
    });
    return {
        region: cfg.region,
        role: "global",
        writerLeaseTable: lease.tableName,
        witnessFunction: lease.witnessFunctionName,
        writerRegion: cfg.writerRegion,
        acceleratorArn: vip.acceleratorArn,
        listenerArn: vip.listenerArn,
        listenerArnParameter: vip.listenerArnParameterName,
        staticIps: vip.staticIps,
        acceleratorDnsName: vip.dnsName,
        siteHostname: cfg.siteHostname,
        // Without a zone the record is the operator's: a CNAME to acceleratorDnsName (or A records to staticIps).
        publicRecord:
            vip.publicRecordFqdn ?? `not created (ecommerce:publicZoneId is empty): point ${cfg.siteHostname} at the accelerator yourself`,
    };
}

/** One site of the platform: the writer or the warm standby. */
async function siteStack(cfg: PlatformConfig) {
    const [zones, account] = await Promise.all([resolveZones(cfg), resolveAccount()]);

    const network = new Network("network", {
        cidrBlock: cfg.network.vpcCidr,
        zones,
        natGateways: cfg.network.natGateways,
        flowLogRetentionDays: cfg.network.flowLogRetentionDays,
        tags: tierTags(cfg, "network"),
    });

    // Known before Redis and the database exist, so the web tier (created first: both admit its
    // security group) can be told where they are: Redis's pinned addresses and password secret,
    // the database's private names and the credentials secret (the writer region's, replicated
    // into this region: valid here before and after a promotion).
    const redisNodes = pinnedNodes(cfg.redis.nodeCount, network.dataSubnets.cidrs);
    const redisPasswordSecretName = `${cfg.project}/${cfg.region}/redis-password`;
    const db = { writer: writerRecordName(cfg.db.privateZoneName), reader: readerRecordName(cfg.db.privateZoneName) };
    const dbCredentialsSecretName = credentialsSecretName(cfg.project, cfg.writerRegion);
    // The application's own account (the writer lease's fence locks it out; never the master user).
    const appDbSecretName = appCredentialsSecretName(cfg.project, cfg.writerRegion);

    const web = new WebTier("web", {
        vpcId: network.vpcId,
        vpcCidr: network.cidrBlock,
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
        // Where the app finds its data; never a secret, only secret names. Nothing here changes
        // on a failover but DB_CREDENTIALS_SECRET_NAME (docs/architecture.md, Known limits: the flip table).
        appEnvironment: {
            ECOMMERCE_REGION: cfg.region,
            DB_WRITER_HOST: db.writer,
            DB_READER_HOST: db.reader,
            DB_NAME: cfg.db.name,
            DB_CREDENTIALS_SECRET_NAME: appDbSecretName,
            REDIS_SENTINELS: redisNodes.map((n) => `${n.address}:${SENTINEL_PORT}`).join(","),
            REDIS_MASTER_NAME: DEFAULT_MASTER_NAME,
            REDIS_PASSWORD_SECRET_NAME: redisPasswordSecretName,
        },
        tags: tierTags(cfg, "web"),
    });

    const monitoring = new MonitoringStack("monitoring", {
        region: cfg.region,
        clusterName: `${cfg.project}-${cfg.stack}-monitoring`,
        vpcId: network.vpcId,
        privateSubnetIds: network.privateSubnets.ids,
        eksVersion: cfg.monitoring.eksVersion,
        nodeInstanceType: cfg.monitoring.nodeInstanceType,
        nodeCount: cfg.monitoring.nodeCount,
        apiAllowedCidrs: cfg.monitoring.apiAllowedCidrs,
        accessEntries: Object.fromEntries(
            Object.entries(cfg.monitoring.accessEntries).map(([key, entry]) => [
                key,
                { ...entry, principalArn: withAccount(entry.principalArn, account.accountId) },
            ]),
        ),
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
            httpsRegions: Object.keys(cfg.web.certificateArns),
            writerRegion: cfg.writerRegion,
            healthCheckPath: cfg.web.healthCheckPath,
            loadBalancer: { dnsName: web.albDnsName, protocol: web.listenerProtocol },
            redisAddresses: redisNodes.map((n) => n.address),
            databaseHostnames: db,
        },
        // Both sites' controllers, in the same order in both stacks (this region's watches only while it is the standby).
        failoverControllerRegions: [cfg.region, cfg.peerRegion].sort(),
        // The logical backup, from this site's read replicas, to every backup bucket.
        backupJob: {
            image: cfg.backups.image,
            schedule: cfg.backups.schedule,
            sourceRegion: cfg.region,
            database: cfg.db.name,
            readerHost: db.reader,
            port: MYSQL_PORT,
            credentialsSecret: dbCredentialsSecretName,
            buckets: cfg.backups.regions.map((region) => ({
                region,
                bucket: backupBucketName(cfg.project, account.accountId, cfg.region, region),
            })),
            maxAgeHours: cfg.backups.maxAgeHours,
            // A compressed dump stays well below the database's storage, whatever autoscaling grows it to.
            scratchGiB: cfg.db.maxAllocatedStorageGiB,
        },
        tags: tierTags(cfg, "monitoring"),
    });

    // The writer agent, beside the database in both sites: it keeps the database open for the
    // application only while this region holds the writer lease (failover/agent). Before the
    // database, whose security group admits it; its alarms are the controller's (below).
    // The site the failover's functions belong to (the agent's and the controller's).
    const failoverSite = {
        project: cfg.project,
        region: cfg.region,
        writerRegion: cfg.writerRegion,
        role: cfg.role,
        accountId: account.accountId,
        partition: account.partition,
    };
    const writerAgent = new WriterAgent("writer-agent", {
        ...failoverSite,
        vpcId: network.vpcId,
        vpcCidr: network.cidrBlock,
        subnetIds: network.privateSubnets.ids,
        dbHost: db.writer,
        dbPort: MYSQL_PORT,
        masterSecretName: dbCredentialsSecretName,
        appSecretName: appDbSecretName,
        appSchemas: [cfg.db.name],
        tags: tierTags(cfg, "db"),
    });

    // The app servers use the cache and the database; the monitoring nodes probe both; the
    // writer agent keeps the database's fence.
    const clientSecurityGroupIds = { web: web.instanceSecurityGroupId, monitoring: monitoring.nodeSecurityGroupId };

    // Three nodes at fixed addresses in the data subnets, one zone each where the region has
    // three. In a two-zone region (dr) one zone holds two of the three sentinels: losing it
    // loses the Sentinel majority (exported as redisSurvivesZoneLoss).
    const redis = new RedisCluster("redis", {
        vpcId: network.vpcId,
        subnets: network.dataSubnets,
        clientSecurityGroupIds,
        clientRoleNames: { web: web.instanceRoleName },
        masterName: DEFAULT_MASTER_NAME,
        passwordSecretName: redisPasswordSecretName,
        region: cfg.region,
        image: cfg.redis.image,
        instanceType: cfg.redis.instanceType,
        nodeCount: cfg.redis.nodeCount,
        sentinelQuorum: cfg.redis.sentinelQuorum,
        maxmemoryPercent: cfg.redis.maxmemoryPercent,
        rollNodes: cfg.redis.rollNodes,
        tags: tierTags(cfg, "redis"),
    });

    const database = new DatabaseCluster("db", {
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
        clientSecurityGroupIds: { ...clientSecurityGroupIds, agent: writerAgent.securityGroupId },
        // The application reads its own account's secret; the backup job the master's (it locks nothing).
        clientRoleNames: { backup: monitoring.backupRoleName! },
        appClientRoleNames: { web: web.instanceRoleName },
        privateZoneName: cfg.db.privateZoneName,
        instanceClass: cfg.db.instanceClass,
        replicaCount: cfg.db.replicaCount,
        engineVersion: cfg.db.engineVersion,
        multiAz: cfg.db.multiAz,
        replicaMultiAz: cfg.db.replicaMultiAz,
        allocatedStorageGiB: cfg.db.allocatedStorageGiB,
        maxAllocatedStorageGiB: cfg.db.maxAllocatedStorageGiB,
        backupRetentionDays: cfg.db.backupRetentionDays,
        dbName: cfg.db.name,
        masterUsername: cfg.db.masterUsername,
        tags: tierTags(cfg, "db"),
    });

    // The virtual IP's listener, as the global stack published it in its region (us-west-2,
    // where Global Accelerator's API lives): no StackReference, nothing read from the other
    // site. The promise form and insecureValue: the output form marks the whole result
    // secret (the provider calls `value` secret whatever it holds), and an ARN is not a secret.
    const listenerArn = aws.ssm
        .getParameter({ name: listenerArnParameterName(cfg.project), region: GLOBAL_REGION })
        .then((parameter) => parameter.insecureValue);
    const endpoint = new AcceleratorEndpoint("vip-endpoint", {
        listenerArn,
        region: cfg.region,
        role: cfg.role,
        loadBalancerArn: web.albArn,
        healthCheckPath: cfg.web.healthCheckPath,
        healthCheckProtocol: web.listenerProtocol,
        healthCheckIntervalSeconds: cfg.traffic.healthCheckIntervalSeconds,
        thresholdCount: cfg.traffic.thresholdCount,
        tags: tierTags(cfg, "traffic"),
    });

    // The controller of this site, watching the writer site with one vote per failure domain
    // (docs/failover.md, "The writer lease"), and failing over only once the writer lease has lapsed.
    // Enabled only in the standby region.
    const writerScheme = siteScheme(cfg.writerRegion, Object.keys(cfg.web.certificateArns));
    const failover = new FailoverController("failover", {
        ...failoverSite,
        loadBalancerArn: web.albArn,
        listenerArn,
        standbyIdentifier: writerIdentifier(cfg.db.identifierBase, cfg.region),
        oldWriterIdentifier: writerIdentifier(cfg.db.identifierBase, cfg.writerRegion),
        credentialsSecretName: database.credentialsSecretName,
        credentialsSecretArnPattern: database.credentialsSecretArnPattern,
        // One vote per failure domain: this region's look at the public name through the
        // accelerator (the function adds the accelerator's endpoint health and the witness's
        // post from us-west-2). In the scheme the writer's site answers on: a probe in the wrong
        // one fails every round (the default config has no certificate: HTTP only).
        writerAgentFunctionName: writerAgent.functionName,
        httpProbes: [{ name: "standby", url: `${writerScheme}://${cfg.siteHostname}${cfg.web.healthCheckPath}` }],
        ...cfg.failover,
        tags: tierTags(cfg, "traffic"),
    });

    // Backups away from both sites: buckets in every backup region (named from the account and
    // the regions, so neither stack reads the other's state), and the writer's RDS backups
    // replicated while this site is the writer.
    const backups = new DatabaseBackups("backups", {
        project: cfg.project,
        region: cfg.region,
        role: cfg.role,
        accountId: account.accountId,
        partition: account.partition,
        writerArn: database.writerArn,
        regions: cfg.backups.regions,
        objectLockMode: cfg.backups.objectLockMode,
        retentionDays: cfg.backups.retentionDays,
        transitionDays: cfg.backups.transitionDays,
        expirationDays: cfg.backups.expirationDays,
        replicationRetentionDays: cfg.backups.replicationRetentionDays,
        writerRoleNames: { backup: monitoring.backupRoleName! },
        alarmTopicArn: failover.topicArn,
        maxAgeHours: cfg.backups.maxAgeHours,
        database: cfg.db.name,
        tags: tierTags(cfg, "db"),
    });

    return {
        region: cfg.region,
        role: cfg.role,
        peerRegion: cfg.peerRegion,
        accountId: account.accountId,
        availabilityZones: zones.map((z) => `${z.name} (${z.id})`),
        vpcId: network.vpcId,
        albDnsName: web.albDnsName,
        autoScalingGroupName: web.autoScalingGroupName,
        monitoringClusterName: monitoring.clusterName,
        redisNodeAddresses: redis.nodeAddresses,
        redisSentinelMasterName: redis.masterName,
        redisPasswordSecretArn: redis.passwordSecretArn,
        redisSurvivesZoneLoss: redis.survivesZoneLoss,
        dbWriterEndpoint: database.writerEndpointName,
        dbReaderEndpoint: database.readerEndpointName,
        dbWriterIdentifier: database.writerIdentifier,
        // What the application reads: its own account, which the writer lease's fence locks out.
        dbCredentialsSecretName: database.appCredentialsSecretName,
        ...(database.sourceDbArn !== undefined ? { dbReplicationSourceArn: database.sourceDbArn } : {}),
        endpointGroupArn: endpoint.endpointGroupArn,
        trafficDialPercentage: endpoint.trafficDialPercentage,
        endpointWeight: endpoint.endpointWeight ?? "none (no endpoint: standby)",
        failoverFunction: failover.functionName,
        failoverTable: failover.tableName,
        failoverTopicArn: failover.topicArn,
        failoverSchedule: failover.scheduleState,
        backupBuckets: backups.buckets.map((b) => ({ region: b.region, bucket: b.bucket })),
        backupRdsReplicationRegion: backups.replicationRegion ?? "none (the standby's writer is a replica)",
    };
}
