/**
 * The price table: AWS on-demand list prices, in US dollars, for everything the stacks create
 * that costs money, in the four regions they use (us-east-2 and us-west-1 for the sites,
 * us-west-2 for the global stack and a backup copy, us-east-1 for the other backup copy).
 * One home: `npm run plan` prices the plan with it (offline/cost.ts) and nothing else holds a
 * price. Each row names the AWS page to check it against; PRICES_READ_ON is the day it was
 * entered (from AWS's published prices as known that day: this machine cannot reach the price
 * pages or the Price List API; docs/cost.md says how to refresh and what is least certain).
 *
 * How to refresh: `npm run prices` checks the EC2 and RDS rows against the AWS Price List API
 * (tools/prices.ts) and names those that differ; for the others, open each row's source, read
 * the four regions' figures, update the row and PRICES_READ_ON. The same figures come from the
 * AWS Price List API, e.g.
 *   aws pricing get-products --region us-east-1 --service-code AmazonEC2 --filters \
 *     Type=TERM_MATCH,Field=instanceType,Value=t3.xlarge Type=TERM_MATCH,Field=location,Value="US West (N. California)" \
 *     Type=TERM_MATCH,Field=operatingSystem,Value=Linux Type=TERM_MATCH,Field=tenancy,Value=Shared \
 *     Type=TERM_MATCH,Field=preInstalledSw,Value=NA Type=TERM_MATCH,Field=capacitystatus,Value=Used
 * test/cost.test.ts fails once the table is older than PRICE_TABLE_MAX_AGE_DAYS (an advisory,
 * as the version calendars of lib/advisories.ts are), and when a type the plan creates has no
 * row and is not known to be free.
 *
 * Free tiers are not subtracted (an account's free tier is shared with everything else it runs);
 * tiered prices use their first tier.
 */

export const PRICES_READ_ON = "2026-12-03";
/** The table's age past which the cost test fails: prices move a few times a year. */
export const PRICE_TABLE_MAX_AGE_DAYS = 120;
/** AWS's own month for hourly prices (its calculator's 730 hours). */
export const HOURS_PER_MONTH = 730;

export const PRICED_REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2"] as const;
export type PricedRegion = (typeof PRICED_REGIONS)[number];

export interface PriceRow {
    /** What is priced, e.g. `ec2:t3.xlarge`, `rds-storage:gp3`. */
    readonly key: string;
    /** Per what: `hour`, `GB-month`, `GB`, `month`, `million requests`, ... */
    readonly unit: string;
    /** us-east-1, us-east-2, us-west-1, us-west-2. */
    readonly usd: Readonly<Record<PricedRegion, number>>;
    readonly source: string;
}

const EC2_PAGE = "https://aws.amazon.com/ec2/pricing/on-demand/ (Linux, shared tenancy)";
const EBS_PAGE = "https://aws.amazon.com/ebs/pricing/";
const RDS_PAGE = "https://aws.amazon.com/rds/mysql/pricing/ (Single-AZ; Multi-AZ is twice the instance and the storage)";
const VPC_PAGE = "https://aws.amazon.com/vpc/pricing/";
const ELB_PAGE = "https://aws.amazon.com/elasticloadbalancing/pricing/ (Application Load Balancer)";
const EKS_PAGE = "https://aws.amazon.com/eks/pricing/ (standard support)";
const GA_PAGE = "https://aws.amazon.com/global-accelerator/pricing/";
const KMS_PAGE = "https://aws.amazon.com/kms/pricing/";
const SECRETS_PAGE = "https://aws.amazon.com/secrets-manager/pricing/ (a replica is billed as a secret)";
const CLOUDWATCH_PAGE = "https://aws.amazon.com/cloudwatch/pricing/";
const S3_PAGE = "https://aws.amazon.com/s3/pricing/";
const DYNAMODB_PAGE = "https://aws.amazon.com/dynamodb/pricing/on-demand/";
const LAMBDA_PAGE = "https://aws.amazon.com/lambda/pricing/ (x86)";
const SCHEDULER_PAGE = "https://aws.amazon.com/eventbridge/pricing/ (Scheduler)";
const ROUTE53_PAGE = "https://aws.amazon.com/route53/pricing/";
const TRANSFER_PAGE = "https://aws.amazon.com/ec2/pricing/on-demand/ (Data Transfer)";

/** A row whose price is the same in us-east-1, us-east-2 and us-west-2, another in us-west-1. */
function row(key: string, unit: string, east: number, westOne: number, source: string): PriceRow {
    return { key, unit, usd: { "us-east-1": east, "us-east-2": east, "us-west-1": westOne, "us-west-2": east }, source };
}

/** A row with one price everywhere (a global service, or one AWS prices alike in every region). */
function flat(key: string, unit: string, usd: number, source: string): PriceRow {
    return row(key, unit, usd, usd, source);
}

export const PRICE_TABLE: readonly PriceRow[] = [
    // --- EC2 instances (the web tier, Redis, the EKS nodes) ---------------------------------
    row("ec2:t3.medium", "hour", 0.0416, 0.0496, EC2_PAGE),
    row("ec2:t3.large", "hour", 0.0832, 0.0992, EC2_PAGE),
    row("ec2:t3.xlarge", "hour", 0.1664, 0.1984, EC2_PAGE),
    row("ec2:t3.2xlarge", "hour", 0.3328, 0.3968, EC2_PAGE),
    row("ec2:m5.large", "hour", 0.096, 0.112, EC2_PAGE),
    row("ec2:m5.xlarge", "hour", 0.192, 0.224, EC2_PAGE),
    row("ec2:m5.2xlarge", "hour", 0.384, 0.448, EC2_PAGE),
    row("ec2:m6i.large", "hour", 0.096, 0.112, EC2_PAGE),
    row("ec2:m6i.xlarge", "hour", 0.192, 0.224, EC2_PAGE),
    row("ec2:m7i.large", "hour", 0.1008, 0.1176, EC2_PAGE),
    row("ec2:m7i.xlarge", "hour", 0.2016, 0.2352, EC2_PAGE),
    row("ec2:r5.large", "hour", 0.126, 0.14, EC2_PAGE),
    row("ec2:r5.xlarge", "hour", 0.252, 0.28, EC2_PAGE),
    row("ec2:r6i.large", "hour", 0.126, 0.14, EC2_PAGE),
    row("ec2:r6i.xlarge", "hour", 0.252, 0.28, EC2_PAGE),
    // --- EBS (root volumes, the monitoring stack's persistent volumes) ----------------------
    row("ebs:gp3", "GB-month", 0.08, 0.096, EBS_PAGE),
    row("ebs:gp3-iops", "IOPS-month above 3000", 0.005, 0.006, EBS_PAGE),
    row("ebs:gp3-throughput", "MiB/s-month above 125", 0.04, 0.048, EBS_PAGE),
    row("ebs:gp2", "GB-month", 0.1, 0.12, EBS_PAGE),
    // --- RDS for MySQL ------------------------------------------------------------------------
    row("rds:db.t3.medium", "hour", 0.068, 0.08, RDS_PAGE),
    row("rds:db.t3.large", "hour", 0.136, 0.16, RDS_PAGE),
    row("rds:db.t3.xlarge", "hour", 0.272, 0.32, RDS_PAGE),
    row("rds:db.t3.2xlarge", "hour", 0.544, 0.64, RDS_PAGE),
    row("rds:db.m5.large", "hour", 0.171, 0.199, RDS_PAGE),
    row("rds:db.m5.xlarge", "hour", 0.342, 0.398, RDS_PAGE),
    row("rds:db.m5.2xlarge", "hour", 0.684, 0.796, RDS_PAGE),
    row("rds:db.r5.large", "hour", 0.24, 0.28, RDS_PAGE),
    row("rds:db.r5.xlarge", "hour", 0.48, 0.56, RDS_PAGE),
    row("rds:db.r6i.large", "hour", 0.24, 0.28, RDS_PAGE),
    row("rds:db.r6i.xlarge", "hour", 0.48, 0.56, RDS_PAGE),
    row("rds-storage:gp3", "GB-month", 0.115, 0.138, RDS_PAGE),
    row("rds-storage:gp2", "GB-month", 0.115, 0.138, RDS_PAGE),
    /** Automated backups kept in another region (cross-Region automated backups). */
    row("rds-backup-storage", "GB-month", 0.095, 0.11, RDS_PAGE),
    // --- networking ---------------------------------------------------------------------------
    row("nat:hour", "hour", 0.045, 0.048, VPC_PAGE),
    row("nat:processed", "GB", 0.045, 0.048, VPC_PAGE),
    flat("public-ipv4", "hour", 0.005, `${VPC_PAGE} (public IPv4 addresses, in use or idle)`),
    row("alb:hour", "hour", 0.0225, 0.0252, ELB_PAGE),
    flat("alb:lcu", "LCU-hour", 0.008, ELB_PAGE),
    flat("transfer:inter-region", "GB", 0.02, `${TRANSFER_PAGE}: out to another AWS region`),
    flat("transfer:us-east-1-us-east-2", "GB", 0.01, `${TRANSFER_PAGE}: between US East (N. Virginia) and US East (Ohio), either way`),
    flat("transfer:internet", "GB", 0.09, `${TRANSFER_PAGE}: out to the internet, first 10 TB`),
    flat("accelerator:hour", "hour", 0.025, `${GA_PAGE} (fixed fee per accelerator)`),
    flat("accelerator:premium", "GB", 0.015, `${GA_PAGE} (data transfer premium, North America to North America)`),
    flat("route53:zone", "month", 0.5, `${ROUTE53_PAGE} (hosted zone, first 25)`),
    // --- managed services ---------------------------------------------------------------------
    flat("eks:cluster", "hour", 0.1, EKS_PAGE),
    flat("kms:key", "month", 1, `${KMS_PAGE} (customer managed key)`),
    flat("secret", "month", 0.4, SECRETS_PAGE),
    flat("cloudwatch:alarm", "month", 0.1, `${CLOUDWATCH_PAGE} (standard resolution metric alarm)`),
    row("cloudwatch:logs-ingest", "GB", 0.5, 0.57, `${CLOUDWATCH_PAGE} (logs, standard, collected)`),
    row("cloudwatch:logs-storage", "GB-month", 0.03, 0.033, `${CLOUDWATCH_PAGE} (logs, stored)`),
    row("s3:STANDARD", "GB-month", 0.023, 0.026, `${S3_PAGE} (S3 Standard, first 50 TB)`),
    row("s3:STANDARD_IA", "GB-month", 0.0125, 0.0138, `${S3_PAGE} (S3 Standard-Infrequent Access)`),
    row("s3:GLACIER_IR", "GB-month", 0.004, 0.005, `${S3_PAGE} (S3 Glacier Instant Retrieval)`),
    row("s3:GLACIER", "GB-month", 0.0036, 0.0045, `${S3_PAGE} (S3 Glacier Flexible Retrieval)`),
    row("s3:DEEP_ARCHIVE", "GB-month", 0.00099, 0.002, `${S3_PAGE} (S3 Glacier Deep Archive)`),
    row("dynamodb:write", "million write request units", 0.625, 0.6975, DYNAMODB_PAGE),
    row("dynamodb:read", "million read request units", 0.125, 0.1395, DYNAMODB_PAGE),
    row("dynamodb:replicated-write", "million replicated write request units", 0.625, 0.6975, DYNAMODB_PAGE),
    flat("lambda:requests", "million requests", 0.2, LAMBDA_PAGE),
    flat("lambda:compute", "GB-second", 0.0000166667, LAMBDA_PAGE),
    flat("scheduler:invocations", "million invocations", 1, `${SCHEDULER_PAGE} (past the 14 million free each month)`),
];

/**
 * Resource types that cost nothing by themselves: what they carry is priced where it runs
 * (a launch template's instances on their Auto Scaling group, a log group's flow logs on the
 * log group, a Kubernetes workload's pods on the nodes), or AWS charges nothing for them (IAM,
 * security groups, route tables, ...). Not here, so listed as not priced until a rule prices
 * them: a PersistentVolumeClaim (an EBS volume) or a Service (of type LoadBalancer, a load balancer).
 */
export const FREE_TYPES: ReadonlySet<string> = new Set([
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:storage.k8s.io/v1:StorageClass",
    "kubernetes:batch/v1:CronJob",
    "kubernetes:batch/v1:Job",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    "pulumi:pulumi:Stack",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/route:Route",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/networkInterface:NetworkInterface",
    "aws:ec2/flowLog:FlowLog",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:kms/alias:Alias",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:lb/targetGroup:TargetGroup",
    "aws:lb/listener:Listener",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:route53/record:Record",
    "aws:ssm/parameter:Parameter",
    "aws:sns/topic:Topic",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    "aws:lambda/permission:Permission",
    "aws:scheduler/scheduleGroup:ScheduleGroup",
    "aws:globalaccelerator/listener:Listener",
    "aws:globalaccelerator/endpointGroup:EndpointGroup",
    "aws:eks/addon:Addon",
    "aws:eks/accessEntry:AccessEntry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation",
]);

/** The row for `key`, or undefined where the table has none. */
export function priceRow(key: string): PriceRow | undefined {
    return PRICE_TABLE.find((r) => r.key === key);
}

/** Days from the table's reading to `today` (YYYY-MM-DD or a Date). */
export function priceTableAgeDays(today: string | Date): number {
    const day =
        typeof today === "string"
            ? Date.parse(`${today}T00:00:00Z`)
            : Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
    return Math.floor((day - Date.parse(`${PRICES_READ_ON}T00:00:00Z`)) / 86_400_000);
}
