/**
 * Every expected difference between the `primary` and `dr` stacks' inputs, with its reason.
 * Anything not listed here fails test/parity.test.ts (and the offline plan); an entry that
 * explains nothing fails too. Keep entries narrow: a type and a name or a name pattern, and
 * the one field that differs.
 *
 * Three sources of difference only:
 *   region  - the region itself, its AZs, CIDRs, AMIs and account-level IDs per region;
 *   zones   - us-east-2 has three usable AZs, us-west-1 two (per-AZ resources, lists of subnets);
 *   role    - writer or standby (ecommerce:writerRegion), which only the database and the
 *             virtual IP's endpoint group reflect.
 */
import { AllowedDifference, PRESENCE } from "./parity";

const R = "region";
const Z = "zones";
const ROLE = "role";

export const PARITY_ALLOW_LIST: readonly AllowedDifference[] = [
    // --- every stack names itself in its tags ---------------------------------------------
    { type: "*", name: "*", field: /(^|\.)tags\.Stack$/, reason: `${R}: the Stack tag names the stack (cost allocation per site)` },
    {
        type: "aws:autoscaling/group:Group",
        name: "web-asg",
        field: /^tags\[\d+\]\.value$/,
        reason: `${R}: the Stack tag, propagated to instances (ASG tags are a list)`,
    },
    {
        type: "kubernetes:storage.k8s.io/v1:StorageClass",
        name: /^monitoring-gp3(-scratch)?$/,
        field: /^parameters\.tagSpecification_\d+$/,
        reason: `${R}: the Stack tag on EBS volumes the CSI driver creates`,
    },

    // --- a third AZ exists only in us-east-2 --------------------------------------------------
    {
        type: "*",
        name: /^network-(public|private|data|nat|private-rt|private-default)-3$/,
        field: PRESENCE,
        reason: `${Z}: subnets, NAT gateway and routing of the third AZ (us-west-1 has two)`,
    },
    {
        type: "*",
        name: "*",
        field: /^(subnets|vpcZoneIdentifiers|privateSubnetIds|subnetIds)\[2\]$/,
        reason: `${Z}: load balancer, web servers, EKS and the DB span every AZ of the region`,
    },
    {
        type: "aws:ec2/networkInterface:NetworkInterface",
        name: "redis-node-3",
        field: "subnetId",
        reason: `${Z}: the third Redis node shares the first AZ where there are only two`,
    },
    {
        type: "aws:ec2/instance:Instance",
        name: /^redis-node-\d$/,
        field: "availabilityZone",
        reason: `${Z}: Redis nodes go round-robin over the region's zones (the third shares the first where there are only two)`,
    },
    {
        type: "aws:rds/instance:Instance",
        name: /^db-replica-\d$/,
        field: "availabilityZone",
        reason: `${R}: replicas are pinned to distinct zones of the region`,
    },
    { type: "*", name: /^network-/, field: "tags.Name", reason: `${R}: per-AZ network resources are named after their zone` },

    // --- addressing and zones of the region ------------------------------------------------------
    {
        type: "aws:ec2/vpc:Vpc",
        name: "network-vpc",
        field: "cidrBlock",
        reason: `${R}: each region has its own non-overlapping VPC CIDR (ecommerce:vpcCidrs)`,
    },
    { type: "aws:ec2/subnet:Subnet", name: "*", field: "cidrBlock", reason: `${R}: subnets are cut from the region's VPC CIDR` },
    {
        type: "aws:ec2/subnet:Subnet",
        name: "*",
        field: "availabilityZoneId",
        reason: `${R}: subnets are pinned to the region's AZ IDs (ecommerce:azIds)`,
    },
    {
        type: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        name: /^web-instance-out-(redis|sentinel|mysql)$/,
        field: "cidrIpv4",
        reason: `${R}: the web servers reach Redis and MySQL inside their own VPC CIDR`,
    },
    {
        type: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        name: "writer-agent-out-mysql",
        field: "cidrIpv4",
        reason: `${R}: the writer agent reaches its database inside its own VPC CIDR`,
    },
    {
        type: "aws:lambda/function:Function",
        name: /^writer-agent-(reader-)?function$/,
        field: "vpcConfig.subnetIds[2]",
        reason: `${Z}: the writer agent and the replica reader run in every private subnet (us-west-1 has two)`,
    },
    {
        type: "aws:ec2/networkInterface:NetworkInterface",
        name: /^redis-node-\d$/,
        field: "privateIps",
        reason: `${R}: Redis nodes are pinned to addresses of the region's data subnets`,
    },
    {
        type: "aws:ec2/instance:Instance",
        name: /^redis-node-\d$/,
        field: "userData",
        reason: `${R}: the nodes' cloud-config carries the region and the pinned addresses of its peers`,
    },
    {
        type: "aws:ec2/launchTemplate:LaunchTemplate",
        name: "web-lt",
        field: "imageId",
        reason: `${R}: AMI IDs are regional (the baked AMI is copied to each site region)`,
    },
    {
        type: "aws:ec2/launchTemplate:LaunchTemplate",
        name: "web-lt",
        field: "userData",
        reason: `${R}: the app's environment names its region and its region's Redis addresses and secret`,
    },
    {
        type: "aws:secretsmanager/secret:Secret",
        name: "redis-password",
        field: "name",
        reason: `${R}: secret names carry the region (ecommerce/<region>/redis-password)`,
    },
    {
        type: "aws:s3/bucketPolicy:BucketPolicy",
        name: "web-alb-logs",
        field: "policy",
        reason: `${R}: the ELB log-delivery account differs per region`,
    },

    // --- backups: each site's buckets and keys carry its region; replication follows the role ----
    {
        type: "*",
        name: /^backups-[a-z0-9-]+$/,
        field: "bucket",
        reason: `${R}: a backup bucket's name holds its source region (ecommerce-db-backups-<account>-<source>-<backup region>)`,
    },
    {
        type: "aws:kms/key:Key",
        name: /^backups-[a-z0-9-]+-key$/,
        field: "description",
        reason: `${R}: the backup key's description names the source region`,
    },
    {
        type: "aws:kms/alias:Alias",
        name: /^backups-[a-z0-9-]+-key-alias$/,
        field: "name",
        reason: `${R}: a backup key's alias holds its source region (both sites' keys live in each backup region)`,
    },
    {
        type: "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
        name: "backups-rds-replication",
        field: PRESENCE,
        reason: `${ROLE}: only the writer's automated backups are replicated (the standby's writer is a read replica)`,
    },

    // --- database: identifiers follow the region, the writer follows the role --------------------
    {
        type: "aws:rds/instance:Instance",
        name: /^db-(writer|replica-\d)$/,
        field: "identifier",
        reason: `${R}: RDS identifiers are <dbIdentifier>-<region>, so the standby can derive the writer's ARN`,
    },
    { type: "aws:rds/instance:Instance", name: /^db-(writer|replica-\d)$/, field: "tags.Name", reason: `${R}: named after the identifier` },
    {
        type: "aws:rds/instance:Instance",
        name: /^db-replica-\d$/,
        field: "replicateSourceDb",
        reason: `${R}: replicas follow the identifier of their region's writer`,
    },
    {
        type: "aws:route53/record:Record",
        name: /^db-reader-\d$/,
        field: "setIdentifier",
        reason: `${R}: weighted records are named after the replica identifiers`,
    },
    { type: "*", name: /^db-/, field: /^(description|comment)$/, reason: `${R}: descriptions name the region's database` },
    {
        type: "aws:secretsmanager/secret:Secret",
        name: "db-master-secret",
        field: /^(name|tags\.Name)$/,
        reason: `${R}: each region keeps its own master credential (ecommerce/<region>/mysql-master)`,
    },
    {
        type: "aws:secretsmanager/secret:Secret",
        name: "db-master-secret",
        field: "replicas[0].region",
        reason: `${R}: the credential is replicated to the peer region`,
    },
    {
        type: "aws:secretsmanager/secret:Secret",
        name: "db-app-secret",
        field: /^(name|tags\.Name|replicas\[0\]\.region)$/,
        reason: `${R}: each region keeps its own application credential (ecommerce/<region>/mysql-app), replicated to the peer region`,
    },
    {
        type: "aws:secretsmanager/secretVersion:SecretVersion",
        name: "db-master-secret",
        field: "secretString",
        reason: `${R}: the credential names its region's DB identifier`,
    },
    { type: "aws:kms/alias:Alias", name: "db-key-alias", field: "name", reason: `${R}: key aliases name the region's database` },
    {
        type: "aws:rds/instance:Instance",
        name: "db-writer",
        field: "replicateSourceDb",
        reason: `${ROLE}: the standby's writer replicates from the writer region's writer (derived ARN)`,
    },
    {
        type: "aws:rds/instance:Instance",
        name: "db-writer",
        field: /^(username|password|dbName|allocatedStorage)$/,
        reason: `${ROLE}: a cross-region replica inherits credentials, schema and storage from its source`,
    },
    {
        type: "aws:rds/instance:Instance",
        name: "db-writer",
        field: /^(skipFinalSnapshot|finalSnapshotIdentifier)$/,
        reason: `${ROLE}: RDS takes no final snapshot of a replica (its automated backups are kept)`,
    },

    // --- monitoring: the cluster is named after the stack, probes label their source -------------
    {
        type: "eks:index:Cluster",
        name: "monitoring-eks",
        field: /^(name|tags\.Name)$/,
        reason: `${R}: the cluster is named <project>-<stack>-monitoring`,
    },
    {
        type: "aws:cloudwatch/logGroup:LogGroup",
        name: "monitoring-control-plane-logs",
        field: "name",
        reason: `${R}: EKS fixes the log group name from the cluster name`,
    },
    {
        type: "aws:eks/addon:Addon",
        name: /^monitoring-/,
        field: "clusterName",
        reason: `${R}: add-ons attach to the stack's cluster by name`,
    },
    {
        type: "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        name: /^monitoring-/,
        field: "clusterName",
        reason: `${R}: Pod Identity associations belong to the stack's cluster by name`,
    },
    { type: "*", name: /^monitoring-/, field: "description", reason: `${R}: descriptions name the stack's cluster` },
    {
        type: "pulumi:providers:kubernetes",
        name: "monitoring-k8s",
        field: "kubeconfig",
        reason: `${R}: the kubeconfig names the stack's cluster and region`,
    },
    {
        type: "kubernetes:helm.sh/v3:Release",
        name: "monitoring-kube-prometheus-stack",
        field: /^values\.prometheus\.prometheusSpec\.externalLabels\.(cluster|source_region)$/,
        reason: `${R}: metrics are labelled with the stack's cluster and region`,
    },
    {
        type: "kubernetes:helm.sh/v3:Release",
        name: "monitoring-kube-prometheus-stack",
        field: /^values\.grafana\.additionalDataSources\[\d+\]\.jsonData\.defaultRegion$/,
        reason: `${R}: Grafana's CloudWatch data source defaults to the stack's region`,
    },
    {
        type: "kubernetes:helm.sh/v3:Release",
        name: "monitoring-kube-prometheus-stack",
        field: /^values\.prometheus\.prometheusSpec\.additionalScrapeConfigs\[\d+\]\.static_configs\[\d+\]\.(labels\.(region|source_region)|targets\[\d+\])$/,
        reason: `${R}: each region probes its own targets first, then the peer's; Redis targets are the region's pinned addresses`,
    },

    // --- per-region policy documents and images, role-dependent credentials ----------------------
    {
        type: "aws:ec2/instance:Instance",
        name: /^redis-node-\d$/,
        field: "ami",
        reason: `${R}: AMI IDs are regional (the latest Amazon Linux 2023 of the region, read from AWS's public SSM parameter)`,
    },
    {
        type: "aws:iam/role:Role",
        name: "network-flow-logs",
        field: "assumeRolePolicy",
        reason: `${R}: the flow-log service may assume the role only for flow logs of the stack's region`,
    },
    {
        type: "aws:iam/rolePolicy:RolePolicy",
        name: /^db-(credentials-to-backup|app-credentials-to-web)$/,
        field: "policy",
        reason: `${ROLE}: the app and the backup job read the writer region's credentials: its own secret and key as the writer, the replica of the writer region's secret as the standby`,
    },
    {
        type: "aws:iam/rolePolicy:RolePolicy",
        name: "writer-agent-permissions",
        field: "policy",
        reason: `${R}: the agent reads its region's copy of the writer region's secrets and reaches the writer lease in its lease region (us-east-2 holds a replica; us-west-1 uses us-west-2's)`,
    },
    {
        type: "aws:lambda/function:Function",
        name: /^writer-agent-(reader-)?function$/,
        field: "environment.variables.AGENT_CONFIG",
        reason: `${R}: the agent's region and the region it reaches the writer lease in (the replica reader shares the agent's configuration)`,
    },
    {
        type: "aws:iam/rolePolicy:RolePolicy",
        name: "writer-agent-reader-permissions",
        field: "policy",
        reason: `${R}: the replica reader reads its region's copy of the writer region's master secret`,
    },
    {
        type: "aws:scheduler/schedule:Schedule",
        name: "writer-agent-schedule",
        field: "description",
        reason: `${R}: the description names the agent's region`,
    },
    {
        type: "aws:cloudwatch/metricAlarm:MetricAlarm",
        name: /^failover-agent-(renewal-gap|fence-unarmed|errors)$/,
        field: /^(actionsEnabled|treatMissingData)$/,
        reason: `${ROLE}: the agent's alarms act only in the writer region (a standby's agent renews nothing)`,
    },
    {
        type: "aws:cloudwatch/metricAlarm:MetricAlarm",
        name: /^failover-agent-(renewal-gap|fence-unarmed)$/,
        field: "dimensions.ControllerRegion",
        reason: `${R}: the agent's metrics carry its region`,
    },
    {
        type: "kubernetes:batch/v1:CronJob",
        name: /^monitoring-db-backup(-verify)?-job$/,
        field: /^spec\.jobTemplate\.spec\.template\.spec\.containers\[0\]\.(env\[0\]\.value|args\[\d+\])$/,
        reason: `${R}: the backup job runs in its site's region (AWS_REGION, the secret's region) and writes to its site's buckets (named from the source region)`,
    },

    // --- the virtual IP: each site's endpoint group, serving or holding nothing ------------------
    {
        type: "aws:globalaccelerator/endpointGroup:EndpointGroup",
        name: "vip-endpoint-group",
        field: "endpointGroupRegion",
        reason: `${R}: each site's endpoint group is in the site's region (one group per region per listener)`,
    },
    {
        type: "aws:globalaccelerator/endpointGroup:EndpointGroup",
        name: "vip-endpoint-group",
        field: "trafficDialPercentage",
        reason: `${ROLE}: the writer's group takes all traffic (100), the standby's none (0)`,
    },
    {
        type: "aws:globalaccelerator/endpointGroup:EndpointGroup",
        name: "vip-endpoint-group",
        field: /^endpointConfigurations(\[0\]\.(endpointId|weight|clientIpPreservationEnabled))?$/,
        reason: `${ROLE}: the writer's group holds its load balancer (weight 128); the standby's holds no endpoint, so no request can reach it (lib/accelerator.ts)`,
    },

    // --- the failover controller: watching in the standby region, off in the writer's ------------
    {
        type: "aws:dynamodb/table:Table",
        name: "failover-state",
        field: "name",
        reason: `${R}: the controller's table is named after its region`,
    },
    {
        type: "aws:iam/rolePolicy:RolePolicy",
        name: "failover-permissions",
        field: "policy",
        reason: `${ROLE}: the standby writer it may promote and the old writer it may fence are this region's and the writer region's (the same instance in the writer region)`,
    },
    {
        type: "aws:lambda/function:Function",
        name: "failover-function",
        field: "environment.variables.FAILOVER_CONFIG",
        reason: `${ROLE}: the controller's region, table and standby writer, and the writer it watches`,
    },
    {
        type: "aws:scheduler/schedule:Schedule",
        name: "failover-schedule",
        field: /^(state|description)$/,
        reason: `${ROLE}: the controller runs only where the standby is (the description names both regions)`,
    },
    {
        type: "aws:cloudwatch/metricAlarm:MetricAlarm",
        name: /^failover-(missed-schedule|not-ready|failing-over|held)$/,
        field: /^(actionsEnabled|treatMissingData)$/,
        reason: `${ROLE}: the controller's alarms act only where it watches (quiet in the writer region, whose schedule is off)`,
    },
    {
        type: "aws:cloudwatch/metricAlarm:MetricAlarm",
        name: /^failover-(not-ready|failing-over|held)$/,
        field: "dimensions.ControllerRegion",
        reason: `${R}: the controller's metrics carry its region`,
    },
];
