import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AlertRuleOptions, renderAlertRules } from "../lib/alertRules";
import { parseCidr } from "../lib/cidr";
import { EC2_INSTANCE_TYPE } from "../lib/instanceTypes";
import {
    ALERTMANAGER_CONFIG_KEY,
    alertmanagerConfig,
    BLACKBOX_EXPORTER_CHART,
    BLACKBOX_EXPORTER_RELEASE,
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
import { named, Tags } from "../lib/tags";

/** What the blackbox exporter probes (lib/probes.ts builds the target list from it). */
export interface MonitoringProbeArgs {
    /** Public name of the shop (through the virtual IP). */
    readonly siteHostname: string;
    /** Origin hostname of every site region: both regions' sites are probed from here. */
    readonly originHostnames: Readonly<Record<string, string>>;
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
    /** Kubernetes version of the cluster and its nodes, e.g. "1.34". */
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
    /** Tags for every taggable child (a `Name` is added per resource). */
    readonly tags?: Tags;
}

const EXACT_VERSION = /^\d+\.\d+\.\d+$/;
const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/**
 * Every problem with `args`, each naming the argument, the value received and what is allowed.
 * The constructor throws them all at once, before any child exists.
 */
export function monitoringStackArgsProblems(args: MonitoringStackArgs): string[] {
    const problems: string[] = [];
    const bad = (arg: string, value: unknown, allowed: string) => problems.push(`${arg} = ${JSON.stringify(value)}: expected ${allowed}`);
    if (!Number.isInteger(args.nodeCount) || args.nodeCount < 2) {
        bad("nodeCount", args.nodeCount, "an integer of at least 2 (one node may fail or be replaced)");
    }
    const maxNodeCount = args.maxNodeCount ?? 2 * args.nodeCount;
    if (!Number.isInteger(maxNodeCount) || maxNodeCount < args.nodeCount) {
        bad("maxNodeCount", maxNodeCount, `an integer of at least nodeCount (${args.nodeCount})`);
    }
    if (args.privateSubnetIds.length < 2) {
        bad("privateSubnetIds", `${args.privateSubnetIds.length} subnet(s)`, "at least 2, in different zones (EKS requires two zones)");
    }
    if (args.publicSubnetIds !== undefined && args.publicSubnetIds.length < 2) {
        bad("publicSubnetIds", `${args.publicSubnetIds.length} subnet(s)`, "at least 2, or unset (private only)");
    }
    if (!EC2_INSTANCE_TYPE.test(args.nodeInstanceType)) {
        bad("nodeInstanceType", args.nodeInstanceType, "an EC2 instance type such as t3.large");
    }
    if (!/^1\.\d{2}$/.test(args.eksVersion)) {
        bad("eksVersion", args.eksVersion, "a Kubernetes minor version such as 1.34");
    }
    const disk = args.nodeDiskGiB ?? 50;
    if (!Number.isInteger(disk) || disk < 20 || disk > 16384) {
        bad("nodeDiskGiB", disk, "an integer from 20 to 16384");
    }
    if (args.apiAllowedCidrs.length === 0) {
        bad("apiAllowedCidrs", args.apiAllowedCidrs, "at least one CIDR (where deploys and operators come from)");
    }
    for (const cidr of args.apiAllowedCidrs) {
        const parsed = parseCidr(cidr);
        if (!parsed) {
            bad("apiAllowedCidrs", cidr, "an IPv4 CIDR such as 203.0.113.0/24");
        } else if (parsed.prefix === 0) {
            bad("apiAllowedCidrs", cidr, "a CIDR narrower than 0.0.0.0/0 (the API endpoint must not be open to the internet)");
        }
    }
    const logDays = args.controlPlaneLogRetentionDays ?? 90;
    if (!CLOUDWATCH_RETENTION_DAYS.includes(logDays)) {
        bad("controlPlaneLogRetentionDays", logDays, `a CloudWatch Logs retention (${CLOUDWATCH_RETENTION_DAYS.join(", ")})`);
    }
    for (const [arg, value] of [
        ["namespace", args.namespace ?? "monitoring"],
        ["storageClassName", args.storageClassName ?? "gp3"],
    ] as const) {
        if (!K8S_NAME.test(value)) {
            bad(arg, value, "a Kubernetes name (lowercase letters, digits and hyphens, at most 63)");
        }
    }
    if (args.clusterName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(args.clusterName)) {
        bad("clusterName", args.clusterName, "an EKS cluster name (letter or digit first, then letters, digits, - and _, at most 100)");
    }
    for (const [arg, value] of [
        ["kubePrometheusStackVersion", args.kubePrometheusStackVersion],
        ["blackboxExporterVersion", args.blackboxExporterVersion],
    ] as const) {
        if (!EXACT_VERSION.test(value)) {
            bad(arg, value, "an exact chart version x.y.z (no ranges, no latest)");
        }
    }
    if (!Number.isInteger(args.prometheusRetentionDays) || args.prometheusRetentionDays < 1) {
        bad("prometheusRetentionDays", args.prometheusRetentionDays, "a whole number of days, at least 1");
    }
    for (const [arg, value, min] of [
        ["prometheusStorageGiB", args.prometheusStorageGiB, 10],
        ["grafanaStorageGiB", args.grafanaStorageGiB, 1],
        ["alertmanagerStorageGiB", args.alertmanagerStorageGiB, 1],
    ] as const) {
        if (!Number.isInteger(value) || value < min || value > 16384) {
            bad(arg, value, `an integer from ${min} to 16384 (GiB)`);
        }
    }
    if (!/^[\w/+=.@-]{1,512}$/.test(args.alertReceiverSecretName)) {
        bad("alertReceiverSecretName", args.alertReceiverSecretName, "a Secrets Manager secret name (letters, digits, /_+=.@-)");
    }
    if (args.applicationMetrics) {
        const port = args.applicationMetrics.port;
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
            bad("applicationMetrics.port", port, "a TCP port (1-65535)");
        }
        if (Object.keys(args.applicationMetrics.instanceTags).length === 0) {
            bad(
                "applicationMetrics.instanceTags",
                args.applicationMetrics.instanceTags,
                "at least one tag (an empty filter would scrape every instance)",
            );
        }
    }
    // What the probe planner would refuse (hostnames, addresses, paths).
    try {
        buildProbeTargets({ ...args.probes, sourceRegion: args.region, loadBalancer: undefined });
    } catch (err) {
        problems.push(`probes: ${(err as Error).message}`);
    }
    return problems;
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
export class MonitoringStack extends pulumi.ComponentResource {
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

    constructor(name: string, args: MonitoringStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:monitoring:MonitoringStack", name, {}, opts);
        const problems = monitoringStackArgsProblems(args);
        if (problems.length > 0) {
            throw new Error(`MonitoringStack ${name}: invalid arguments:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        }
        const tags = args.tags;
        const parent = { parent: this };
        const clusterName = args.clusterName ?? name;
        const namespaceName = args.namespace ?? "monitoring";
        const storageClassName = args.storageClassName ?? "gp3";
        const replicas = Math.min(args.nodeCount, 2);
        const partition = aws.getPartitionOutput({}, parent).partition;

        // --- control plane --------------------------------------------------------------------
        const secretsKey = new aws.kms.Key(
            `${name}-eks-secrets`,
            {
                description: `Envelope encryption of Kubernetes secrets of EKS cluster ${clusterName}`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                tags: named(tags, `${name}-eks-secrets`),
                // Losing this key makes every Kubernetes secret of the cluster unreadable.
            },
            { parent: this, protect: true },
        );
        // Created before the cluster, so EKS writes into it and the retention applies (EKS
        // would otherwise create the group itself, keeping logs forever).
        const controlPlaneLogs = new aws.cloudwatch.LogGroup(
            `${name}-control-plane-logs`,
            {
                name: `/aws/eks/${clusterName}/cluster`,
                retentionInDays: args.controlPlaneLogRetentionDays ?? 90,
                tags: named(tags, `${name}-control-plane-logs`),
            },
            parent,
        );
        const cluster = new eks.Cluster(
            `${name}-eks`,
            {
                name: clusterName,
                version: args.eksVersion,
                vpcId: args.vpcId,
                privateSubnetIds: args.privateSubnetIds,
                ...(args.publicSubnetIds ? { publicSubnetIds: args.publicSubnetIds } : {}),
                skipDefaultNodeGroup: true,
                // Managed nodes use the cluster security group EKS creates; the extra groups
                // pulumi-eks would add (with 0.0.0.0/0 egress) are not needed.
                skipDefaultSecurityGroups: true,
                authenticationMode: eks.AuthenticationMode.Api,
                endpointPrivateAccess: true,
                endpointPublicAccess: true,
                publicAccessCidrs: [...args.apiAllowedCidrs],
                enabledClusterLogTypes: ["api", "audit", "authenticator"],
                encryptionConfigKeyArn: secretsKey.arn,
                createOidcProvider: false,
                deletionProtection: args.deletionProtection ?? true,
                // Standard support only: an ageing version fails loudly instead of silently
                // moving to paid extended support.
                upgradePolicy: { supportType: "STANDARD" },
                tags: named(tags, clusterName),
            },
            { parent: this, dependsOn: [controlPlaneLogs] },
        );
        const eksCluster = cluster.eksCluster;
        const eksClusterName = eksCluster.apply((c) => pulumi.output(c.name));
        const clusterSecurityGroupId = eksCluster.apply((c) => pulumi.output(c.vpcConfig)).apply((v) => v.clusterSecurityGroupId);

        // --- nodes ----------------------------------------------------------------------------
        const nodeRole = new aws.iam.Role(
            `${name}-node`,
            {
                description: `Managed nodes of EKS cluster ${clusterName}`,
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
                tags: named(tags, `${name}-node`),
            },
            parent,
        );
        const nodePolicies = NODE_POLICIES.map(
            (policy) =>
                new aws.iam.RolePolicyAttachment(
                    `${name}-node-${policy}`,
                    {
                        role: nodeRole.name,
                        policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}`,
                    },
                    parent,
                ),
        );
        // A launch template only for what the node group API cannot say itself: encrypted
        // gp3 root volumes, IMDSv2 and tags on the instances and volumes. No image and no
        // user data: EKS picks the AL2023 AMI of `version` and bootstraps the nodes. Hop
        // limit 2: the EBS CSI node plugin reads instance metadata from its pod.
        const launchTemplate = new aws.ec2.LaunchTemplate(
            `${name}-nodes`,
            {
                description: `Managed nodes of EKS cluster ${clusterName}`,
                updateDefaultVersion: true,
                blockDeviceMappings: [
                    {
                        deviceName: "/dev/xvda",
                        ebs: { volumeSize: args.nodeDiskGiB ?? 50, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
                    },
                ],
                metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 },
                tagSpecifications: ["instance", "volume", "network-interface"].map((resourceType) => ({
                    resourceType,
                    tags: named(tags, `${name}-node`),
                })),
                tags: named(tags, `${name}-nodes`),
            },
            parent,
        );
        const nodeGroup = new eks.ManagedNodeGroup(
            `${name}-nodes`,
            {
                cluster,
                nodeRole,
                version: args.eksVersion,
                amiType: "AL2023_x86_64_STANDARD",
                capacityType: "ON_DEMAND",
                instanceTypes: [args.nodeInstanceType],
                subnetIds: args.privateSubnetIds,
                scalingConfig: { minSize: args.nodeCount, desiredSize: args.nodeCount, maxSize: args.maxNodeCount ?? 2 * args.nodeCount },
                launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply((v) => `${v}`) },
                labels: { "ecommerce/tier": tags?.Tier ?? "monitoring" },
                tags: named(tags, `${name}-nodes`),
            },
            { parent: this, dependsOn: nodePolicies },
        );

        // --- add-ons: Pod Identity agent, EBS CSI driver ----------------------------------------
        const podIdentityAgent = new aws.eks.Addon(
            `${name}-pod-identity-agent`,
            {
                clusterName: eksClusterName,
                addonName: "eks-pod-identity-agent",
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                tags: named(tags, `${name}-pod-identity-agent`),
            },
            { parent: this, dependsOn: [nodeGroup] },
        );
        const podTrust = JSON.stringify({
            Version: "2012-10-17",
            Statement: [
                { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] },
            ],
        });
        const ebsCsiRole = new aws.iam.Role(
            `${name}-ebs-csi`,
            {
                description: `EBS CSI controller of EKS cluster ${clusterName} (EKS Pod Identity)`,
                assumeRolePolicy: podTrust,
                tags: named(tags, `${name}-ebs-csi`),
            },
            parent,
        );
        const ebsCsiPolicy = new aws.iam.RolePolicyAttachment(
            `${name}-ebs-csi`,
            {
                role: ebsCsiRole.name,
                policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy`,
            },
            parent,
        );
        const ebsCsi = new aws.eks.Addon(
            `${name}-ebs-csi`,
            {
                clusterName: eksClusterName,
                addonName: "aws-ebs-csi-driver",
                podIdentityAssociations: [{ roleArn: ebsCsiRole.arn, serviceAccount: "ebs-csi-controller-sa" }],
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                tags: named(tags, `${name}-ebs-csi`),
            },
            { parent: this, dependsOn: [nodeGroup, podIdentityAgent, ebsCsiPolicy] },
        );

        // --- Kubernetes: provider, namespace, storage -------------------------------------------
        const provider = new k8s.Provider(
            `${name}-k8s`,
            {
                kubeconfig: cluster.kubeconfigJson,
                enableServerSideApply: true,
            },
            parent,
        );
        const k8sOpts = { parent: this, provider };
        const labels = {
            "app.kubernetes.io/part-of": "ecommerce",
            "app.kubernetes.io/managed-by": "pulumi",
            "ecommerce/tier": tags?.Tier ?? "monitoring",
        };
        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
                metadata: { name: namespaceName, labels },
            },
            k8sOpts,
        );
        // Volume tags carry the tier mark too (the EBS CSI driver applies tagSpecification_N).
        const volumeTags = Object.entries({ ...(tags ?? {}), Name: `${name}-volume` });
        const storageClass = new k8s.storage.v1.StorageClass(
            `${name}-gp3`,
            {
                metadata: {
                    name: storageClassName,
                    labels,
                    annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
                },
                provisioner: "ebs.csi.aws.com",
                parameters: {
                    type: "gp3",
                    encrypted: "true",
                    "csi.storage.k8s.io/fstype": "ext4",
                    ...Object.fromEntries(volumeTags.map(([key, value], i) => [`tagSpecification_${i + 1}`, `${key}=${value}`])),
                },
                // Monitoring data outlives its claim: a deleted PVC leaves the volume to recover.
                reclaimPolicy: "Retain",
                // Create each volume in the zone where its pod is scheduled.
                volumeBindingMode: "WaitForFirstConsumer",
                allowVolumeExpansion: true,
            },
            { ...k8sOpts, dependsOn: [ebsCsi] },
        );

        // --- secrets: Grafana admin, Alertmanager configuration ---------------------------------
        // Protected: replacing it would change the Grafana admin password under the operators.
        const grafanaPassword = new random.RandomPassword(
            `${name}-grafana-admin`,
            { length: 32, special: false },
            { parent: this, protect: true },
        );
        const grafanaSecret = new k8s.core.v1.Secret(
            `${name}-grafana-admin`,
            {
                metadata: { name: `${name}-grafana-admin`, namespace: namespace.metadata.name, labels },
                type: "Opaque",
                stringData: { [GRAFANA_ADMIN_USER_KEY]: "admin", [GRAFANA_ADMIN_PASSWORD_KEY]: grafanaPassword.result },
            },
            k8sOpts,
        );
        // The receiver's URL is read from Secrets Manager (created at bootstrap in each region)
        // and only ever written into this Secret.
        const webhookUrl = aws.secretsmanager.getSecretVersionOutput({ secretId: args.alertReceiverSecretName }, parent).secretString;
        const alertmanagerSecret = new k8s.core.v1.Secret(
            `${name}-alertmanager-config`,
            {
                metadata: { name: `${name}-alertmanager-config`, namespace: namespace.metadata.name, labels },
                type: "Opaque",
                stringData: {
                    [ALERTMANAGER_CONFIG_KEY]: pulumi.secret(webhookUrl).apply((url) => toYaml(alertmanagerConfig({ webhookUrl: url }))),
                },
            },
            k8sOpts,
        );

        // --- optional: the application's metrics ------------------------------------------------
        const extraDependencies: pulumi.Resource[] = [];
        if (args.applicationMetrics) {
            const app = args.applicationMetrics;
            const prometheusRole = new aws.iam.Role(
                `${name}-prometheus`,
                {
                    description: `Prometheus of EKS cluster ${clusterName}: EC2 service discovery (EKS Pod Identity)`,
                    assumeRolePolicy: podTrust,
                    tags: named(tags, `${name}-prometheus`),
                },
                parent,
            );
            new aws.iam.RolePolicy(
                `${name}-prometheus-ec2-discovery`,
                {
                    role: prometheusRole.id,
                    policy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"], Resource: "*" }],
                    }),
                },
                parent,
            );
            extraDependencies.push(
                new aws.eks.PodIdentityAssociation(
                    `${name}-prometheus`,
                    {
                        clusterName: eksClusterName,
                        namespace: namespaceName,
                        serviceAccount: PROMETHEUS_SERVICE_ACCOUNT,
                        roleArn: prometheusRole.arn,
                        tags: named(tags, `${name}-prometheus`),
                    },
                    { parent: this, dependsOn: [podIdentityAgent] },
                ),
            );
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-app-metrics`,
                {
                    securityGroupId: app.instanceSecurityGroupId,
                    referencedSecurityGroupId: clusterSecurityGroupId,
                    ipProtocol: "tcp",
                    fromPort: app.port,
                    toPort: app.port,
                    description: `Prometheus metrics scrape from the monitoring cluster ${clusterName}`,
                    tags: named(tags, `${name}-app-metrics`),
                },
                parent,
            );
        }

        // --- charts -------------------------------------------------------------------------------
        const probeTargets = pulumi.output(args.probes.loadBalancer?.dnsName).apply((dnsName) =>
            buildProbeTargets({
                ...args.probes,
                sourceRegion: args.region,
                loadBalancer:
                    dnsName !== undefined && args.probes.loadBalancer
                        ? { dnsName, protocol: args.probes.loadBalancer.protocol }
                        : undefined,
            }),
        );
        const scrapeConfigs = probeTargets.apply((targets) => [
            ...renderProbeScrapeConfigs(targets, { blackboxAddress: blackboxExporterAddress(namespaceName), sourceRegion: args.region }),
            ...(args.applicationMetrics ? [renderApplicationScrapeConfig({ ...args.applicationMetrics, region: args.region })] : []),
        ]);
        const chartDependencies = [nodeGroup, ebsCsi, storageClass];
        const stackValues = pulumi
            .all([grafanaSecret.metadata.name, alertmanagerSecret.metadata.name, scrapeConfigs, eksClusterName])
            .apply(([grafanaAdminSecretName, alertmanagerConfigSecretName, additionalScrapeConfigs, actualClusterName]) =>
                kubePrometheusStackValues({
                    region: args.region,
                    clusterName: actualClusterName,
                    storageClassName,
                    prometheusRetentionDays: args.prometheusRetentionDays,
                    prometheusStorageGiB: args.prometheusStorageGiB,
                    grafanaStorageGiB: args.grafanaStorageGiB,
                    alertmanagerStorageGiB: args.alertmanagerStorageGiB,
                    replicas,
                    grafanaAdminSecretName,
                    alertmanagerConfigSecretName,
                    additionalScrapeConfigs,
                    rules: renderAlertRules(args.alertRules),
                }),
            );
        new k8s.helm.v3.Release(
            `${name}-kube-prometheus-stack`,
            {
                name: KUBE_PROMETHEUS_STACK_RELEASE,
                chart: KUBE_PROMETHEUS_STACK_CHART,
                version: args.kubePrometheusStackVersion,
                repositoryOpts: { repo: PROMETHEUS_COMMUNITY_REPO },
                namespace: namespace.metadata.name,
                values: stackValues,
                atomic: true,
                cleanupOnFail: true,
                timeout: 900,
                maxHistory: 10,
            },
            { ...k8sOpts, dependsOn: [...chartDependencies, grafanaSecret, alertmanagerSecret, ...extraDependencies] },
        );
        new k8s.helm.v3.Release(
            `${name}-blackbox-exporter`,
            {
                name: BLACKBOX_EXPORTER_RELEASE,
                chart: BLACKBOX_EXPORTER_CHART,
                version: args.blackboxExporterVersion,
                repositoryOpts: { repo: PROMETHEUS_COMMUNITY_REPO },
                namespace: namespace.metadata.name,
                values: blackboxExporterValues({ replicas }),
                atomic: true,
                cleanupOnFail: true,
                timeout: 600,
                maxHistory: 10,
            },
            { ...k8sOpts, dependsOn: [nodeGroup] },
        );

        this.clusterName = eksClusterName;
        this.kubeconfig = pulumi.secret(cluster.kubeconfigJson);
        this.nodeSecurityGroupId = clusterSecurityGroupId;
        this.namespace = namespace.metadata.name;
        this.grafanaAdminSecretName = grafanaSecret.metadata.name;
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
}
