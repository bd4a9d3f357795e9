import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AlertRuleOptions, renderAlertRules } from "../lib/alertRules";
import {
    atLeast,
    AWS_REGION,
    EC2_INSTANCE_TYPE,
    EKS_ACCESS_POLICIES,
    EKS_ACCESS_POLICY,
    EKS_CLUSTER_NAME,
    EKS_NODE_COUNT,
    EKS_NODE_DISK_GIB,
    EKS_PRINCIPAL_ARN,
    EKS_VERSION,
    EXACT_VERSION,
    K8S_NAME,
    K8S_NAMESPACES,
    LOG_RETENTION_DAYS,
    Problems,
    PROMETHEUS_RETENTION_DAYS,
    PROMETHEUS_STORAGE_GIB,
    PUBLIC_API_CIDR,
    requireValidArgs,
    rule,
    SECRET_NAME,
    SMALL_VOLUME_GIB,
    TCP_PORT,
} from "../lib/rules";
import {
    ALERTMANAGER_CONFIG_KEY,
    alertmanagerConfig,
    BLACKBOX_EXPORTER_CHART,
    BLACKBOX_EXPORTER_RELEASE,
    failoverDashboard,
    GRAFANA_DASHBOARD_LABEL,
    GRAFANA_SERVICE_ACCOUNT,
    blackboxExporterAddress,
    blackboxExporterValues,
    GRAFANA_ADMIN_PASSWORD_KEY,
    GRAFANA_ADMIN_USER_KEY,
    KUBE_PROMETHEUS_STACK_CHART,
    KUBE_PROMETHEUS_STACK_RELEASE,
    kubePrometheusStackValues,
    PROMETHEUS_COMMUNITY_REPO,
    PROMETHEUS_SERVICE_ACCOUNT,
    toYaml,
} from "../lib/monitoringValues";
import { buildProbeTargets, ProbeTarget, renderApplicationScrapeConfig, renderProbeScrapeConfigs } from "../lib/probes";
import type { Tags } from "../lib/tags";
import { serviceTrustPolicy } from "../lib/iam";
import { BACKUP_CRONJOB, backupCronJobs, BackupJobSpec, BACKUP_SERVICE_ACCOUNT, BACKUP_VERIFY_CRONJOB } from "../lib/backupJob";
import { BACKUP_METRIC_NAMESPACE } from "../backup/metrics";
import { PlatformComponent } from "./platformComponent";

/** What the blackbox exporter probes (lib/probes.ts builds the target list from it). */
export interface MonitoringProbeArgs {
    /** Public name of the shop (through the virtual IP). */
    readonly siteHostname: string;
    /** Origin hostname of every site region: both regions' sites are probed from here. */
    readonly originHostnames: Readonly<Record<string, string>>;
    /** The site regions whose load balancer has a certificate (probed over HTTPS; the others over HTTP). */
    readonly httpsRegions: readonly string[];
    /** The writer region: the public name reaches its site. */
    readonly writerRegion: string;
    /** The API health path, probed on every origin and on this region's load balancer. */
    readonly healthCheckPath: string;
    /** This region's load balancer, probed by its AWS DNS name over its listener's protocol. */
    readonly loadBalancer?: { readonly dnsName: pulumi.Input<string>; readonly protocol: "HTTP" | "HTTPS" };
    /** Private addresses of this region's Redis nodes (pinned, known before Redis exists). */
    readonly redisAddresses: readonly string[];
    /** Private DNS names of this region's database writer and readers. */
    readonly databaseHostnames: { readonly writer: string; readonly reader: string };
}

/** Scraping the application's own metrics from its instances (optional). */
export interface ApplicationMetricsArgs {
    /** Security group of the instances: the component admits the cluster's nodes on `port`. */
    readonly instanceSecurityGroupId: pulumi.Input<string>;
    /** Port the instances serve Prometheus metrics on. */
    readonly port: number;
    /**
     * HTTP path of the metrics.
     * @default "/metrics"
     */
    readonly path?: string;
    /** EC2 tags selecting the instances, e.g. { Tier: "web", Stack: "primary" }. */
    readonly instanceTags: Readonly<Record<string, string>>;
}

/** An EKS access entry: who, with which access policy, where. */
export interface MonitoringAccessEntry {
    /** IAM role or user ARN (with its path), never an sts assumed-role ARN. */
    readonly principalArn: string;
    /** `cluster-admin`, `admin`, `edit` or `view` (lib/rules.ts EKS_ACCESS_POLICIES). */
    readonly accessPolicy: string;
    /** Limit the policy to these namespaces; empty or absent: the whole cluster. */
    readonly namespaces?: readonly string[];
}

export interface MonitoringStackArgs {
    /** The stack's region: the `source_region` of every probe and alert from here. */
    readonly region: string;
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets (at least two zones): the nodes and the control plane's network interfaces. */
    readonly privateSubnetIds: pulumi.Input<string>[];
    /**
     * Public subnets, only for internet-facing load balancers of Kubernetes Services. Nothing
     * here is exposed publicly (Grafana is reached through `kubectl port-forward`).
     * @default none: the cluster uses private subnets only
     */
    readonly publicSubnetIds?: pulumi.Input<string>[];
    /**
     * Physical name of the EKS cluster (also names its control-plane log group).
     * @default the component's name
     */
    readonly clusterName?: string;
    /** Kubernetes version of the cluster and its nodes, one of the EKS calendar in lib/advisories.ts, e.g. "1.36". */
    readonly eksVersion: string;
    /** Instance type of the managed nodes, e.g. t3.large. */
    readonly nodeInstanceType: string;
    /** Nodes (min = desired), at least 2, spread over every private subnet's zone. */
    readonly nodeCount: number;
    /**
     * Upper bound of the node group (room for rolling updates).
     * @default 2 * nodeCount
     */
    readonly maxNodeCount?: number;
    /**
     * Encrypted gp3 root volume of each node, in GiB.
     * @default 50
     */
    readonly nodeDiskGiB?: number;
    /** CIDRs allowed to reach the public API endpoint (never 0.0.0.0/0); the private endpoint is always on. */
    readonly apiAllowedCidrs: readonly string[];
    /**
     * Who may use the cluster besides its creator, keyed by a short name: an EKS access entry
     * per principal and its access policy (`cluster-admin`, `admin`, `edit` or `view`), on the
     * whole cluster or on `namespaces`. Named `<name>-access-<key>`.
     * @default {} (only the identity that created the cluster)
     */
    readonly accessEntries?: Readonly<Record<string, MonitoringAccessEntry>>;
    /**
     * Days CloudWatch keeps the control plane's api, audit and authenticator logs.
     * @default 90
     */
    readonly controlPlaneLogRetentionDays?: number;
    /**
     * Refuse to delete the EKS cluster until this is turned off.
     * @default true
     */
    readonly deletionProtection?: boolean;
    /**
     * Namespace of the monitoring workloads.
     * @default "monitoring"
     */
    readonly namespace?: string;
    /**
     * Name of the encrypted gp3 StorageClass (made the cluster default).
     * @default "gp3"
     */
    readonly storageClassName?: string;
    /** Exact kube-prometheus-stack chart version. */
    readonly kubePrometheusStackVersion: string;
    /** Exact prometheus-blackbox-exporter chart version. */
    readonly blackboxExporterVersion: string;
    /** Days of metrics Prometheus keeps (a size limit below the volume applies as well). */
    readonly prometheusRetentionDays: number;
    /** Volume of each Prometheus replica, in GiB. */
    readonly prometheusStorageGiB: number;
    /** Volume of Grafana, in GiB. */
    readonly grafanaStorageGiB: number;
    /** Volume of each Alertmanager replica, in GiB. */
    readonly alertmanagerStorageGiB: number;
    /** Secrets Manager secret (in this region) holding the webhook URL alerts are sent to. */
    readonly alertReceiverSecretName: string;
    /** The synthetic probes. */
    readonly probes: MonitoringProbeArgs;
    /**
     * Thresholds of the alert rules.
     * @default the defaults of lib/alertRules.ts
     */
    readonly alertRules?: AlertRuleOptions;
    /**
     * Scrape the application's metrics (the flask_* series the API alerts use).
     * @default not scraped: the API error-ratio and latency alerts stay silent
     */
    readonly applicationMetrics?: ApplicationMetricsArgs;
    /**
     * Show the failover controllers of these regions (their CloudWatch metrics, namespace
     * Ecommerce/Failover) on a Grafana dashboard, through a CloudWatch data source whose
     * read-only role Grafana gets by EKS Pod Identity.
     * @default no CloudWatch data source, no failover dashboard
     */
    readonly failoverControllerRegions?: readonly string[];
    /**
     * The scheduled logical backup of the database (lib/backupJob.ts): its role here may
     * publish its metric; the database grants it the credentials, the backup buckets grant it
     * their objects (DatabaseBackups). Its failure alerts through Alertmanager.
     * @default no backup job
     */
    readonly backupJob?: Omit<BackupJobSpec, "scratchStorageClassName">;
    /** Tags for every taggable child (a `Name` is added per resource). */
    readonly tags?: Tags;
}

const EKS_PRINCIPAL_IN_ARGS = rule<string>(
    EKS_PRINCIPAL_ARN.allowed.replace(" or {account}", ""),
    (v) => EKS_PRINCIPAL_ARN.accepts(v) && !v.includes("{account}"),
);

/**
 * Every problem with `args`, each naming the argument, the value received and what is allowed.
 * The constructor throws them all at once, before any child exists.
 */
export function monitoringStackArgsProblems(args: MonitoringStackArgs): string[] {
    const p = new Problems();
    p.check("nodeCount", args.nodeCount, EKS_NODE_COUNT);
    p.checkOptional("maxNodeCount", args.maxNodeCount, atLeast("nodeCount", args.nodeCount));
    p.check(
        "privateSubnetIds.length",
        args.privateSubnetIds.length,
        rule("at least 2, in different zones (EKS requires two zones)", (n: number) => n >= 2),
    );
    if (args.publicSubnetIds !== undefined) {
        p.check(
            "publicSubnetIds.length",
            args.publicSubnetIds.length,
            rule("at least 2, or unset (private only)", (n: number) => n >= 2),
        );
    }
    p.check("nodeInstanceType", args.nodeInstanceType, EC2_INSTANCE_TYPE);
    p.check("eksVersion", args.eksVersion, EKS_VERSION);
    p.checkOptional("nodeDiskGiB", args.nodeDiskGiB, EKS_NODE_DISK_GIB);
    p.check(
        "apiAllowedCidrs.length",
        args.apiAllowedCidrs.length,
        rule("at least one CIDR (where deploys and operators come from)", (n: number) => n >= 1),
    );
    args.apiAllowedCidrs.forEach((cidr, i) => p.check(`apiAllowedCidrs[${i}]`, cidr, PUBLIC_API_CIDR));
    p.checkOptional("controlPlaneLogRetentionDays", args.controlPlaneLogRetentionDays, LOG_RETENTION_DAYS);
    p.checkOptional("namespace", args.namespace, K8S_NAME);
    p.checkOptional("storageClassName", args.storageClassName, K8S_NAME);
    p.checkOptional("clusterName", args.clusterName, EKS_CLUSTER_NAME);
    p.check("kubePrometheusStackVersion", args.kubePrometheusStackVersion, EXACT_VERSION);
    p.check("blackboxExporterVersion", args.blackboxExporterVersion, EXACT_VERSION);
    p.check("prometheusRetentionDays", args.prometheusRetentionDays, PROMETHEUS_RETENTION_DAYS);
    p.check("prometheusStorageGiB", args.prometheusStorageGiB, PROMETHEUS_STORAGE_GIB);
    p.check("grafanaStorageGiB", args.grafanaStorageGiB, SMALL_VOLUME_GIB);
    p.check("alertmanagerStorageGiB", args.alertmanagerStorageGiB, SMALL_VOLUME_GIB);
    p.check("alertReceiverSecretName", args.alertReceiverSecretName, SECRET_NAME);
    (args.failoverControllerRegions ?? []).forEach((r, i) => p.check(`failoverControllerRegions[${i}]`, r, AWS_REGION));
    for (const [key, entry] of Object.entries(args.accessEntries ?? {})) {
        p.check("accessEntries key", key, K8S_NAME);
        p.check(`accessEntries.${key}.principalArn`, entry.principalArn, EKS_PRINCIPAL_IN_ARGS);
        p.check(`accessEntries.${key}.accessPolicy`, entry.accessPolicy, EKS_ACCESS_POLICY);
        p.checkOptional(`accessEntries.${key}.namespaces`, entry.namespaces, K8S_NAMESPACES);
    }
    if (args.applicationMetrics) {
        p.check("applicationMetrics.port", args.applicationMetrics.port, TCP_PORT);
        p.check(
            "applicationMetrics.instanceTags",
            args.applicationMetrics.instanceTags,
            rule(
                "at least one tag (an empty filter would scrape every instance)",
                (tags: Readonly<Record<string, string>>) => Object.keys(tags).length > 0,
            ),
        );
    }
    // What the probe planner would refuse (hostnames, addresses, paths).
    try {
        buildProbeTargets({ ...args.probes, sourceRegion: args.region, loadBalancer: undefined });
    } catch (err) {
        p.add(`probes: ${(err as Error).message}`);
    }
    return p.list;
}

/** AWS managed policies of the nodes: join the cluster, run the VPC CNI, pull images. */
const NODE_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"];

/**
 * The monitoring stack of one region: an EKS cluster (private and public API endpoint, the
 * public one limited to the given CIDRs; audit logs; secrets encrypted with a KMS key), a
 * managed node group over every private subnet, the EBS CSI driver with an encrypted gp3
 * default StorageClass, kube-prometheus-stack (Prometheus, Alertmanager, Grafana on
 * persistent volumes) and the blackbox exporter probing both regions' sites and APIs and
 * this region's load balancer, Redis nodes and database, with the platform's alert rules.
 *
 * Both charts are installed with `kubernetes.helm.v3.Release`, not `helm.v4.Chart`:
 * - a Release is one ordinary resource whose chart, exact version and values are its inputs,
 *   so tests and the policy pack see them the same way offline and under the real engine
 *   (a v4 Chart is a remote component: offline only its inputs exist, under the engine
 *   hundreds of rendered objects);
 * - Helm itself runs the charts' lifecycle: CRDs from crds/ first, hooks (the operator's
 *   admission-webhook certificate jobs), `--atomic` rollback of a failed upgrade, and a
 *   release history operators can inspect and roll back with `helm` in an incident.
 * The cost: Pulumi diffs show values, not the rendered objects, and Helm never upgrades CRDs
 * (apply the chart's CRDs before a major kube-prometheus-stack upgrade; see its UPGRADE.md).
 *
 * EBS CSI gets its AWS credentials through EKS Pod Identity, not IRSA: the role trusts the
 * fixed service principal pods.eks.amazonaws.com instead of this cluster's OIDC issuer, so
 * no OIDC provider is needed and the role's trust policy survives a cluster replacement;
 * the association is part of the add-on itself.
 */
export class MonitoringStack extends PlatformComponent<MonitoringStackArgs> {
    public readonly clusterName: pulumi.Output<string>;
    /** Kubeconfig of the cluster (AWS CLI token auth), as a secret. */
    public readonly kubeconfig: pulumi.Output<string>;
    /**
     * The EKS cluster security group, which the managed nodes (and so every pod) use: what
     * Redis and the database admit for the probes.
     */
    public readonly nodeSecurityGroupId: pulumi.Output<string>;
    public readonly namespace: pulumi.Output<string>;
    /** Kubernetes Secret with the Grafana admin user and password. */
    public readonly grafanaAdminSecretName: pulumi.Output<string>;
    /** Every target the blackbox exporter probes. */
    public readonly probeTargets: pulumi.Output<ProbeTarget[]>;
    /** The backup job's IAM role (what the database and the buckets grant), when there is a job. */
    public readonly backupRoleName?: pulumi.Output<string>;

    private readonly partition: pulumi.Output<string>;

    /** The encrypted gp3 StorageClass every volume of the cluster uses. */
    private get storageClassName(): string {
        return this.args.storageClassName ?? "gp3";
    }

    /** The scratch StorageClass (reclaimPolicy Delete) of the backup job's per-run volumes. */
    private get scratchStorageClassName(): string {
        return `${this.storageClassName}-scratch`;
    }

    constructor(name: string, args: MonitoringStackArgs, opts?: pulumi.ComponentResourceOptions) {
        requireValidArgs("MonitoringStack", name, monitoringStackArgsProblems(args));
        super("ecommerce:monitoring:MonitoringStack", name, args, opts);
        this.partition = aws.getPartitionOutput({}, { parent: this }).partition;
        const cluster = this.createControlPlane();
        const clusterName = cluster.eksCluster.apply((c) => pulumi.output(c.name));
        const clusterSecurityGroupId = cluster.eksCluster.apply((c) => pulumi.output(c.vpcConfig)).apply((v) => v.clusterSecurityGroupId);
        this.grantAccess(clusterName);
        const nodeGroup = this.createNodes(cluster);
        const { podIdentityAgent, ebsCsi } = this.createAddons(clusterName, nodeGroup);
        const k8sOpts = {
            parent: this,
            provider: new k8s.Provider(
                `${name}-k8s`,
                { kubeconfig: cluster.kubeconfigJson, enableServerSideApply: true },
                { parent: this },
            ),
        };
        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: this.namespaceName, labels: this.labels } },
            k8sOpts,
        );
        const storageClass = this.createStorageClass(k8sOpts, ebsCsi);
        const secrets = this.createSecrets(k8sOpts, namespace);
        const metricsAccess = this.args.applicationMetrics
            ? [this.admitApplicationScrapes(this.args.applicationMetrics, clusterName, clusterSecurityGroupId, podIdentityAgent)]
            : [];
        const dashboards = this.args.failoverControllerRegions?.length
            ? this.showFailoverControllers(this.args.failoverControllerRegions, k8sOpts, namespace, clusterName, podIdentityAgent)
            : [];
        const probeTargets = this.planProbes();
        this.installCharts(k8sOpts, namespace, clusterName, probeTargets, secrets, nodeGroup, [
            ebsCsi,
            storageClass,
            ...metricsAccess,
            ...dashboards,
        ]);
        if (this.args.backupJob) {
            const scratch = this.createScratchStorageClass(k8sOpts, ebsCsi);
            this.backupRoleName = this.scheduleBackups(this.args.backupJob, k8sOpts, namespace, clusterName, podIdentityAgent, [
                scratch,
                ebsCsi,
            ]);
        }

        this.clusterName = clusterName;
        this.kubeconfig = pulumi.secret(cluster.kubeconfigJson);
        this.nodeSecurityGroupId = clusterSecurityGroupId;
        this.namespace = namespace.metadata.name;
        this.grafanaAdminSecretName = secrets.grafana.metadata.name;
        this.probeTargets = probeTargets;
        this.registerOutputs({
            clusterName: this.clusterName,
            kubeconfig: this.kubeconfig,
            nodeSecurityGroupId: this.nodeSecurityGroupId,
            namespace: this.namespace,
            grafanaAdminSecretName: this.grafanaAdminSecretName,
            probeTargets: this.probeTargets,
        });
    }

    private get clusterNameOrDefault(): string {
        return this.args.clusterName ?? this.name;
    }

    private get namespaceName(): string {
        return this.args.namespace ?? "monitoring";
    }

    private get labels(): Record<string, string> {
        return {
            "app.kubernetes.io/part-of": "ecommerce",
            "app.kubernetes.io/managed-by": "pulumi",
            "ecommerce/tier": this.args.tags?.Tier ?? "monitoring",
        };
    }

    /** Prometheus and Alertmanager replicas: two where there are two nodes. */
    private get replicas(): number {
        return Math.min(this.args.nodeCount, 2);
    }

    /** Secrets envelope key, control-plane log group, and the cluster itself (API endpoint limited to the allowed CIDRs). */
    private createControlPlane(): eks.Cluster {
        const name = this.name;
        const clusterName = this.clusterNameOrDefault;
        // Losing this key makes every Kubernetes secret of the cluster unreadable.
        const secretsKey = new aws.kms.Key(
            `${name}-eks-secrets`,
            {
                description: `Envelope encryption of Kubernetes secrets of EKS cluster ${clusterName}`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                tags: this.tagged(`${name}-eks-secrets`),
            },
            { parent: this, protect: true },
        );
        // Created before the cluster, so EKS writes into it and the retention applies (EKS
        // would otherwise create the group itself, keeping logs forever).
        const controlPlaneLogs = new aws.cloudwatch.LogGroup(
            `${name}-control-plane-logs`,
            {
                name: `/aws/eks/${clusterName}/cluster`,
                retentionInDays: this.args.controlPlaneLogRetentionDays ?? 90,
                tags: this.tagged(`${name}-control-plane-logs`),
            },
            { parent: this },
        );
        return new eks.Cluster(
            `${name}-eks`,
            {
                name: clusterName,
                version: this.args.eksVersion,
                vpcId: this.args.vpcId,
                privateSubnetIds: this.args.privateSubnetIds,
                ...(this.args.publicSubnetIds ? { publicSubnetIds: this.args.publicSubnetIds } : {}),
                skipDefaultNodeGroup: true,
                // Managed nodes use the cluster security group EKS creates; the extra groups
                // pulumi-eks would add (with 0.0.0.0/0 egress) are not needed.
                skipDefaultSecurityGroups: true,
                authenticationMode: eks.AuthenticationMode.Api,
                endpointPrivateAccess: true,
                endpointPublicAccess: true,
                publicAccessCidrs: [...this.args.apiAllowedCidrs],
                enabledClusterLogTypes: ["api", "audit", "authenticator"],
                encryptionConfigKeyArn: secretsKey.arn,
                createOidcProvider: false,
                deletionProtection: this.args.deletionProtection ?? true,
                // Standard support only: when it ends EKS upgrades the control plane by itself
                // (never into paid extended support); the policy pack's approved-versions warns 60
                // days before that day (lib/advisories.ts EKS_VERSIONS).
                upgradePolicy: { supportType: "STANDARD" },
                tags: this.tagged(clusterName),
            },
            { parent: this, dependsOn: [controlPlaneLogs] },
        );
    }

    /**
     * EKS access entries for the configured principals (API authentication mode), each with its
     * access policy. The association names the entry's principal through the entry's output, so
     * it is created after the entry exists (AssociateAccessPolicy answers "principalArn could not
     * be found" otherwise, terraform-aws-modules/terraform-aws-eks#3024).
     */
    private grantAccess(clusterName: pulumi.Output<string>): void {
        for (const [key, entry] of Object.entries(this.args.accessEntries ?? {})) {
            const entryName = `${this.name}-access-${key}`;
            const accessEntry = new aws.eks.AccessEntry(
                entryName,
                { clusterName, principalArn: entry.principalArn, type: "STANDARD", tags: this.tagged(entryName) },
                { parent: this },
            );
            const namespaces = entry.namespaces ?? [];
            new aws.eks.AccessPolicyAssociation(
                entryName,
                {
                    clusterName,
                    principalArn: accessEntry.principalArn,
                    policyArn: pulumi.interpolate`arn:${this.partition}:eks::aws:cluster-access-policy/${EKS_ACCESS_POLICIES[entry.accessPolicy]}`,
                    accessScope: namespaces.length > 0 ? { type: "namespace", namespaces: [...namespaces] } : { type: "cluster" },
                },
                { parent: this },
            );
        }
    }

    /**
     * The node role, a launch template only for what the node group API cannot say itself
     * (encrypted gp3 root volumes, IMDSv2, tags on the instances and volumes; no image and no
     * user data: EKS picks the AL2023 AMI of `version` and bootstraps the nodes), and the
     * managed node group over every private subnet. Hop limit 2: the EBS CSI node plugin reads
     * instance metadata from its pod.
     */
    private createNodes(cluster: eks.Cluster): eks.ManagedNodeGroup {
        const name = this.name;
        const clusterName = this.clusterNameOrDefault;
        const nodeRole = new aws.iam.Role(
            `${name}-node`,
            {
                description: `Managed nodes of EKS cluster ${clusterName}`,
                assumeRolePolicy: serviceTrustPolicy("ec2.amazonaws.com"),
                tags: this.tagged(`${name}-node`),
            },
            { parent: this },
        );
        const nodePolicies = NODE_POLICIES.map(
            (policy) =>
                new aws.iam.RolePolicyAttachment(
                    `${name}-node-${policy}`,
                    { role: nodeRole.name, policyArn: pulumi.interpolate`arn:${this.partition}:iam::aws:policy/${policy}` },
                    { parent: this },
                ),
        );
        const launchTemplate = new aws.ec2.LaunchTemplate(
            `${name}-nodes`,
            {
                description: `Managed nodes of EKS cluster ${clusterName}`,
                updateDefaultVersion: true,
                blockDeviceMappings: [
                    {
                        deviceName: "/dev/xvda",
                        ebs: { volumeSize: this.args.nodeDiskGiB ?? 50, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
                    },
                ],
                metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 },
                tagSpecifications: ["instance", "volume", "network-interface"].map((resourceType) => ({
                    resourceType,
                    tags: this.tagged(`${name}-node`),
                })),
                tags: this.tagged(`${name}-nodes`),
            },
            { parent: this },
        );
        return new eks.ManagedNodeGroup(
            `${name}-nodes`,
            {
                cluster,
                nodeRole,
                version: this.args.eksVersion,
                amiType: "AL2023_x86_64_STANDARD",
                capacityType: "ON_DEMAND",
                instanceTypes: [this.args.nodeInstanceType],
                subnetIds: this.args.privateSubnetIds,
                scalingConfig: {
                    minSize: this.args.nodeCount,
                    desiredSize: this.args.nodeCount,
                    maxSize: this.args.maxNodeCount ?? 2 * this.args.nodeCount,
                },
                launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply((v) => `${v}`) },
                labels: { "ecommerce/tier": this.args.tags?.Tier ?? "monitoring" },
                tags: this.tagged(`${name}-nodes`),
            },
            { parent: this, dependsOn: nodePolicies },
        );
    }

    /** The Pod Identity agent, and the EBS CSI driver with its role through Pod Identity. */
    private createAddons(
        clusterName: pulumi.Output<string>,
        nodeGroup: eks.ManagedNodeGroup,
    ): { podIdentityAgent: aws.eks.Addon; ebsCsi: aws.eks.Addon } {
        const name = this.name;
        const podIdentityAgent = new aws.eks.Addon(
            `${name}-pod-identity-agent`,
            {
                clusterName,
                addonName: "eks-pod-identity-agent",
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                tags: this.tagged(`${name}-pod-identity-agent`),
            },
            { parent: this, dependsOn: [nodeGroup] },
        );
        const ebsCsiRole = new aws.iam.Role(
            `${name}-ebs-csi`,
            {
                description: `EBS CSI controller of EKS cluster ${this.clusterNameOrDefault} (EKS Pod Identity)`,
                assumeRolePolicy: POD_IDENTITY_TRUST,
                tags: this.tagged(`${name}-ebs-csi`),
            },
            { parent: this },
        );
        const ebsCsiPolicy = new aws.iam.RolePolicyAttachment(
            `${name}-ebs-csi`,
            {
                role: ebsCsiRole.name,
                policyArn: pulumi.interpolate`arn:${this.partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy`,
            },
            { parent: this },
        );
        const ebsCsi = new aws.eks.Addon(
            `${name}-ebs-csi`,
            {
                clusterName,
                addonName: "aws-ebs-csi-driver",
                podIdentityAssociations: [{ roleArn: ebsCsiRole.arn, serviceAccount: "ebs-csi-controller-sa" }],
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                tags: this.tagged(`${name}-ebs-csi`),
            },
            { parent: this, dependsOn: [nodeGroup, podIdentityAgent, ebsCsiPolicy] },
        );
        return { podIdentityAgent, ebsCsi };
    }

    /** The encrypted gp3 default StorageClass: monitoring data outlives its claim (Retain). */
    private createStorageClass(k8sOpts: pulumi.CustomResourceOptions, ebsCsi: aws.eks.Addon): k8s.storage.v1.StorageClass {
        // A deleted PVC leaves the volume to recover; each volume is made in its pod's zone.
        return this.gp3StorageClass("gp3", this.storageClassName, "Retain", k8sOpts, ebsCsi, { allowVolumeExpansion: true });
    }

    /**
     * The backup dump's scratch class: the same encrypted gp3 volumes, but reclaimPolicy Delete.
     * A generic ephemeral claim is deleted with its pod; under the default class (Retain) its
     * PersistentVolume and EBS volume would outlive every run, one volume the size of the
     * database per night (lib/backupJob.ts).
     */
    private createScratchStorageClass(k8sOpts: pulumi.CustomResourceOptions, ebsCsi: aws.eks.Addon): k8s.storage.v1.StorageClass {
        return this.gp3StorageClass("gp3-scratch", this.scratchStorageClassName, "Delete", k8sOpts, ebsCsi);
    }

    /** An encrypted gp3 class of the EBS CSI driver; volume tags carry the tier mark too (tagSpecification_N). */
    private gp3StorageClass(
        key: string,
        className: string,
        reclaimPolicy: "Retain" | "Delete",
        k8sOpts: pulumi.CustomResourceOptions,
        ebsCsi: aws.eks.Addon,
        extra: { allowVolumeExpansion?: boolean } = {},
    ): k8s.storage.v1.StorageClass {
        const volumeTags = Object.entries(this.tagged(`${this.name}-volume`));
        const isDefault = className === this.storageClassName;
        return new k8s.storage.v1.StorageClass(
            `${this.name}-${key}`,
            {
                metadata: {
                    name: className,
                    labels: this.labels,
                    ...(isDefault ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } : {}),
                },
                provisioner: "ebs.csi.aws.com",
                parameters: {
                    type: "gp3",
                    encrypted: "true",
                    "csi.storage.k8s.io/fstype": "ext4",
                    ...Object.fromEntries(volumeTags.map(([k, value], i) => [`tagSpecification_${i + 1}`, `${k}=${value}`])),
                },
                reclaimPolicy,
                volumeBindingMode: "WaitForFirstConsumer",
                ...extra,
            },
            { ...k8sOpts, dependsOn: [ebsCsi] },
        );
    }

    /**
     * The Grafana admin password (generated, protected: replacing it would change it under the
     * operators) and the Alertmanager configuration, whose receiver URL is read from Secrets
     * Manager (created at bootstrap in each region) and only ever written into this Secret.
     */
    private createSecrets(
        k8sOpts: pulumi.CustomResourceOptions,
        namespace: k8s.core.v1.Namespace,
    ): { grafana: k8s.core.v1.Secret; alertmanager: k8s.core.v1.Secret } {
        const name = this.name;
        const grafanaPassword = new random.RandomPassword(
            `${name}-grafana-admin`,
            { length: 32, special: false },
            { parent: this, protect: true },
        );
        const grafana = new k8s.core.v1.Secret(
            `${name}-grafana-admin`,
            {
                metadata: { name: `${name}-grafana-admin`, namespace: namespace.metadata.name, labels: this.labels },
                type: "Opaque",
                stringData: { [GRAFANA_ADMIN_USER_KEY]: "admin", [GRAFANA_ADMIN_PASSWORD_KEY]: grafanaPassword.result },
            },
            k8sOpts,
        );
        const webhookUrl = aws.secretsmanager.getSecretVersionOutput(
            { secretId: this.args.alertReceiverSecretName },
            { parent: this },
        ).secretString;
        const alertmanager = new k8s.core.v1.Secret(
            `${name}-alertmanager-config`,
            {
                metadata: { name: `${name}-alertmanager-config`, namespace: namespace.metadata.name, labels: this.labels },
                type: "Opaque",
                stringData: {
                    [ALERTMANAGER_CONFIG_KEY]: pulumi.secret(webhookUrl).apply((url) => toYaml(alertmanagerConfig({ webhookUrl: url }))),
                },
            },
            k8sOpts,
        );
        return { grafana, alertmanager };
    }

    /** Optional: Prometheus discovers the app's instances (Pod Identity role) and may scrape them. */
    private admitApplicationScrapes(
        app: ApplicationMetricsArgs,
        clusterName: pulumi.Output<string>,
        clusterSecurityGroupId: pulumi.Output<string>,
        podIdentityAgent: aws.eks.Addon,
    ): aws.eks.PodIdentityAssociation {
        const name = this.name;
        const association = this.podIdentityRole({
            key: "prometheus",
            policyKey: "prometheus-ec2-discovery",
            serviceAccount: PROMETHEUS_SERVICE_ACCOUNT,
            description: "EC2 service discovery",
            statements: [{ Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"], Resource: "*" }],
            clusterName,
            podIdentityAgent,
        });
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-app-metrics`,
            {
                securityGroupId: app.instanceSecurityGroupId,
                referencedSecurityGroupId: clusterSecurityGroupId,
                ipProtocol: "tcp",
                fromPort: app.port,
                toPort: app.port,
                description: `Prometheus metrics scrape from the monitoring cluster ${this.clusterNameOrDefault}`,
                tags: this.tagged(`${name}-app-metrics`),
            },
            { parent: this },
        );
        return association;
    }

    /** An IAM role for one service account of the monitoring namespace, by EKS Pod Identity. */
    private podIdentityRole(p: {
        key: string;
        policyKey: string;
        serviceAccount: string;
        description: string;
        statements: object[];
        clusterName: pulumi.Output<string>;
        podIdentityAgent: aws.eks.Addon;
    }): aws.eks.PodIdentityAssociation & { readonly roleName: pulumi.Output<string> } {
        const name = `${this.name}-${p.key}`;
        const role = new aws.iam.Role(
            name,
            {
                description: `${p.serviceAccount[0].toUpperCase()}${p.serviceAccount.slice(1)} of EKS cluster ${this.clusterNameOrDefault}: ${p.description} (EKS Pod Identity)`,
                assumeRolePolicy: POD_IDENTITY_TRUST,
                tags: this.tagged(name),
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${this.name}-${p.policyKey}`,
            { role: role.id, policy: JSON.stringify({ Version: "2012-10-17", Statement: p.statements }) },
            { parent: this },
        );
        const association = new aws.eks.PodIdentityAssociation(
            name,
            {
                clusterName: p.clusterName,
                namespace: this.namespaceName,
                serviceAccount: p.serviceAccount,
                roleArn: role.arn,
                tags: this.tagged(name),
            },
            { parent: this, dependsOn: [p.podIdentityAgent] },
        );
        return Object.assign(association, { roleName: role.name });
    }

    /**
     * The failover controllers' dashboard: Grafana's role (CloudWatch metrics, read only; neither
     * call has resource-level permissions) by Pod Identity, and the dashboard as a ConfigMap
     * its sidecar loads. The association exists before the chart installs Grafana: Pod
     * Identity injects credentials only into pods created after it.
     */
    private showFailoverControllers(
        regions: readonly string[],
        k8sOpts: pulumi.CustomResourceOptions,
        namespace: k8s.core.v1.Namespace,
        clusterName: pulumi.Output<string>,
        podIdentityAgent: aws.eks.Addon,
    ): pulumi.Resource[] {
        const name = this.name;
        const association = this.podIdentityRole({
            key: "grafana",
            policyKey: "grafana-cloudwatch",
            serviceAccount: GRAFANA_SERVICE_ACCOUNT,
            description: "CloudWatch metrics, read only",
            statements: [
                { Sid: "ReadMetrics", Effect: "Allow", Action: ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"], Resource: "*" },
            ],
            clusterName,
            podIdentityAgent,
        });
        const dashboard = new k8s.core.v1.ConfigMap(
            `${name}-failover-dashboard`,
            {
                metadata: {
                    name: "failover-dashboard",
                    namespace: namespace.metadata.name,
                    labels: { ...this.labels, [GRAFANA_DASHBOARD_LABEL]: "1" },
                },
                data: { "failover.json": JSON.stringify(failoverDashboard(regions)) },
            },
            k8sOpts,
        );
        return [association, dashboard];
    }

    /**
     * The backup CronJobs, their service account and its Pod Identity role (PutMetricData in
     * the backups' namespace only: CloudWatch has no resource-level permissions for it).
     */
    private scheduleBackups(
        job: Omit<BackupJobSpec, "scratchStorageClassName">,
        k8sOpts: pulumi.CustomResourceOptions,
        namespace: k8s.core.v1.Namespace,
        clusterName: pulumi.Output<string>,
        podIdentityAgent: aws.eks.Addon,
        storage: pulumi.Resource[],
    ): pulumi.Output<string> {
        const specs = backupCronJobs({ ...job, scratchStorageClassName: this.scratchStorageClassName });
        const association = this.podIdentityRole({
            key: "db-backup",
            policyKey: "db-backup-metrics",
            serviceAccount: BACKUP_SERVICE_ACCOUNT,
            description: "the database backup job",
            statements: [
                {
                    Sid: "PublishBackupMetrics",
                    Effect: "Allow",
                    Action: "cloudwatch:PutMetricData",
                    Resource: "*",
                    Condition: { StringEquals: { "cloudwatch:namespace": BACKUP_METRIC_NAMESPACE } },
                },
            ],
            clusterName,
            podIdentityAgent,
        });
        const account = new k8s.core.v1.ServiceAccount(
            `${this.name}-db-backup`,
            { metadata: { name: BACKUP_SERVICE_ACCOUNT, namespace: namespace.metadata.name, labels: this.labels } },
            k8sOpts,
        );
        for (const [key, name, spec] of [
            ["db-backup-job", BACKUP_CRONJOB, specs.dump],
            ["db-backup-verify-job", BACKUP_VERIFY_CRONJOB, specs.verify],
        ] as const) {
            new k8s.batch.v1.CronJob(
                `${this.name}-${key}`,
                { metadata: { name, namespace: namespace.metadata.name, labels: this.labels }, spec },
                { ...k8sOpts, dependsOn: [account, association, ...storage] },
            );
        }
        return association.roleName;
    }

    /** Every probe target, once this region's load balancer has its DNS name. */
    private planProbes(): pulumi.Output<ProbeTarget[]> {
        const probes = this.args.probes;
        return pulumi.output(probes.loadBalancer?.dnsName).apply((dnsName) =>
            buildProbeTargets({
                ...probes,
                sourceRegion: this.args.region,
                loadBalancer:
                    dnsName !== undefined && probes.loadBalancer ? { dnsName, protocol: probes.loadBalancer.protocol } : undefined,
            }),
        );
    }

    /** kube-prometheus-stack (with the probes' scrape configs and the alert rules) and the blackbox exporter. */
    private installCharts(
        k8sOpts: pulumi.CustomResourceOptions,
        namespace: k8s.core.v1.Namespace,
        clusterName: pulumi.Output<string>,
        probeTargets: pulumi.Output<ProbeTarget[]>,
        secrets: { grafana: k8s.core.v1.Secret; alertmanager: k8s.core.v1.Secret },
        nodeGroup: eks.ManagedNodeGroup,
        stackPrerequisites: pulumi.Resource[],
    ): void {
        const args = this.args;
        const scrapeConfigs = probeTargets.apply((targets) => [
            ...renderProbeScrapeConfigs(targets, {
                blackboxAddress: blackboxExporterAddress(this.namespaceName),
                sourceRegion: args.region,
            }),
            ...(args.applicationMetrics ? [renderApplicationScrapeConfig({ ...args.applicationMetrics, region: args.region })] : []),
        ]);
        const stackValues = pulumi
            .all([secrets.grafana.metadata.name, secrets.alertmanager.metadata.name, scrapeConfigs, clusterName])
            .apply(([grafanaAdminSecretName, alertmanagerConfigSecretName, additionalScrapeConfigs, actualClusterName]) =>
                kubePrometheusStackValues({
                    region: args.region,
                    clusterName: actualClusterName,
                    storageClassName: this.storageClassName,
                    prometheusRetentionDays: args.prometheusRetentionDays,
                    prometheusStorageGiB: args.prometheusStorageGiB,
                    grafanaStorageGiB: args.grafanaStorageGiB,
                    alertmanagerStorageGiB: args.alertmanagerStorageGiB,
                    replicas: this.replicas,
                    grafanaAdminSecretName,
                    alertmanagerConfigSecretName,
                    additionalScrapeConfigs,
                    rules: renderAlertRules({
                        ...args.alertRules,
                        backupJob: args.backupJob
                            ? { namespace: this.namespaceName, cronJob: BACKUP_CRONJOB, maxAgeHours: args.backupJob.maxAgeHours }
                            : undefined,
                    }),
                    cloudWatch: (args.failoverControllerRegions ?? []).length > 0,
                }),
            );
        const release = (suffix: string, releaseArgs: k8s.helm.v3.ReleaseArgs, dependsOn: pulumi.Resource[]) =>
            new k8s.helm.v3.Release(
                `${this.name}-${suffix}`,
                {
                    repositoryOpts: { repo: PROMETHEUS_COMMUNITY_REPO },
                    namespace: namespace.metadata.name,
                    atomic: true,
                    cleanupOnFail: true,
                    maxHistory: 10,
                    ...releaseArgs,
                },
                { ...k8sOpts, dependsOn },
            );
        release(
            "kube-prometheus-stack",
            {
                name: KUBE_PROMETHEUS_STACK_RELEASE,
                chart: KUBE_PROMETHEUS_STACK_CHART,
                version: args.kubePrometheusStackVersion,
                values: stackValues,
                timeout: 900,
            },
            [nodeGroup, ...stackPrerequisites, secrets.grafana, secrets.alertmanager],
        );
        release(
            "blackbox-exporter",
            {
                name: BLACKBOX_EXPORTER_RELEASE,
                chart: BLACKBOX_EXPORTER_CHART,
                version: args.blackboxExporterVersion,
                values: blackboxExporterValues({ replicas: this.replicas }),
                timeout: 600,
            },
            [nodeGroup],
        );
    }
}

/** Trust of roles that pods assume through EKS Pod Identity. */
const POD_IDENTITY_TRUST = serviceTrustPolicy("pods.eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]);
