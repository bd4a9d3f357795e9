import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { subnetCidr, SubnetTier, MAX_AZS } from "../lib/cidr";
import type { ZoneRef } from "../lib/lookups";
import { integerFrom, LOG_RETENTION_DAYS, NAT_GATEWAY_MODE, type NatGatewayMode, Problems, requireValidArgs } from "../lib/rules";
import type { Tags } from "../lib/tags";
import { PlatformComponent } from "./platformComponent";

export interface NetworkArgs {
    /** IPv4 CIDR of the VPC (/16 to /22); cut into fixed slots per tier and AZ (lib/cidr.ts). */
    readonly cidrBlock: string;
    /**
     * The zones to use, in placement order (2 or 3). Position i gets the i-th public,
     * private and data subnet, so adding a zone at the end never renumbers the others.
     */
    readonly zones: readonly ZoneRef[];
    /**
     * `perAz`: one NAT gateway per zone, each zone's private route table uses its own.
     * `single`: one NAT gateway in the first zone for all (cheaper; a zone outage there
     * cuts every zone's outbound traffic).
     * @default "perAz"
     */
    readonly natGateways?: NatGatewayMode;
    /**
     * Days CloudWatch Logs keeps the VPC flow logs (a value CloudWatch accepts).
     * @default 90
     */
    readonly flowLogRetentionDays?: number;
    /** Tags for every taggable child (a `Name` is added per resource). */
    readonly tags?: Tags;
}

/** Subnet IDs of one tier, in zone order. */
export interface TierSubnets {
    readonly ids: pulumi.Output<string>[];
    /** Zone of each subnet, same order as `ids`; known at deploy time. */
    readonly zones: readonly ZoneRef[];
    /** CIDR of each subnet, same order as `ids`; known at deploy time. */
    readonly cidrs: readonly string[];
}

/** Every problem with `args`, each naming the argument, the value received and what is allowed. */
export function networkArgsProblems(args: NetworkArgs): string[] {
    const p = new Problems();
    p.check("zones", args.zones.length, integerFrom(2, MAX_AZS, " Availability Zones"));
    p.checkOptional("natGateways", args.natGateways, NAT_GATEWAY_MODE);
    p.checkOptional("flowLogRetentionDays", args.flowLogRetentionDays, LOG_RETENTION_DAYS);
    return p.list;
}

/**
 * The regional network: a VPC with public, private and data subnets in each zone, an
 * internet gateway, NAT gateways, per-zone routing, a locked-down default security group
 * and VPC flow logs to CloudWatch Logs.
 */
export class Network extends PlatformComponent<NetworkArgs> {
    public readonly vpcId: pulumi.Output<string>;
    public readonly cidrBlock: string;
    public readonly zones: readonly ZoneRef[];
    /** Load balancers and NAT gateways. */
    public readonly publicSubnets: TierSubnets;
    /** Web servers and EKS nodes; outbound through NAT. */
    public readonly privateSubnets: TierSubnets;
    /** RDS and Redis; outbound through NAT (Redis pulls its image), never inbound from the internet. */
    public readonly dataSubnets: TierSubnets;
    public readonly natGatewayIds: pulumi.Output<string>[];
    public readonly flowLogGroupName: pulumi.Output<string>;

    private readonly vpc: aws.ec2.Vpc;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        requireValidArgs("Network", name, networkArgsProblems(args));
        super("ecommerce:network:Network", name, args, opts);
        this.vpc = this.createVpc();
        const internetGateway = new aws.ec2.InternetGateway(
            `${name}-igw`,
            { vpcId: this.vpc.id, tags: this.tagged(`${name}-igw`) },
            { parent: this },
        );
        const pub = this.createSubnets("public");
        const priv = this.createSubnets("private");
        const data = this.createSubnets("data");
        this.routePublicSubnets(pub.resources, internetGateway);
        const nats = this.createNatGateways(pub.resources, internetGateway);
        this.routePrivateSubnets(priv.resources, data.resources, nats);
        const logGroup = this.createFlowLogs();

        this.vpcId = this.vpc.id;
        this.cidrBlock = args.cidrBlock;
        this.zones = args.zones;
        this.publicSubnets = pub.tierSubnets;
        this.privateSubnets = priv.tierSubnets;
        this.dataSubnets = data.tierSubnets;
        this.natGatewayIds = nats.map((n) => n.id);
        this.flowLogGroupName = logGroup.name;
        this.registerOutputs({
            vpcId: this.vpcId,
            publicSubnetIds: this.publicSubnets.ids,
            privateSubnetIds: this.privateSubnets.ids,
            dataSubnetIds: this.dataSubnets.ids,
            natGatewayIds: this.natGatewayIds,
            flowLogGroupName: this.flowLogGroupName,
        });
    }

    private createVpc(): aws.ec2.Vpc {
        const vpc = new aws.ec2.Vpc(
            `${this.name}-vpc`,
            { cidrBlock: this.args.cidrBlock, enableDnsHostnames: true, enableDnsSupport: true, tags: this.tagged(`${this.name}-vpc`) },
            { parent: this },
        );
        // The default security group allows all traffic between its members: strip it so
        // nothing can rely on it by accident (CIS AWS 5.4).
        new aws.ec2.DefaultSecurityGroup(
            `${this.name}-default-sg`,
            { vpcId: vpc.id, ingress: [], egress: [], tags: this.tagged(`${this.name}-default-sg-unused`) },
            { parent: this },
        );
        return vpc;
    }

    private createSubnets(tier: SubnetTier): { resources: aws.ec2.Subnet[]; tierSubnets: TierSubnets } {
        const zones = this.args.zones;
        const cidrs = zones.map((_, i) => subnetCidr(this.args.cidrBlock, tier, i));
        const resources = zones.map(
            (zone, i) =>
                new aws.ec2.Subnet(
                    `${this.name}-${tier}-${i + 1}`,
                    {
                        vpcId: this.vpc.id,
                        cidrBlock: cidrs[i],
                        availabilityZoneId: zone.id,
                        mapPublicIpOnLaunch: false,
                        tags: {
                            ...this.tagged(`${this.name}-${tier}-${zone.name}`),
                            SubnetTier: tier,
                            // Where the AWS load balancer controller may put load balancers.
                            ...(tier === "public" ? { "kubernetes.io/role/elb": "1" } : {}),
                            ...(tier === "private" ? { "kubernetes.io/role/internal-elb": "1" } : {}),
                        },
                    },
                    { parent: this },
                ),
        );
        return { resources, tierSubnets: { ids: resources.map((s) => s.id), zones, cidrs } };
    }

    private routePublicSubnets(subnets: readonly aws.ec2.Subnet[], internetGateway: aws.ec2.InternetGateway): void {
        const table = new aws.ec2.RouteTable(
            `${this.name}-public-rt`,
            { vpcId: this.vpc.id, tags: this.tagged(`${this.name}-public`) },
            { parent: this },
        );
        new aws.ec2.Route(
            `${this.name}-public-default`,
            { routeTableId: table.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id },
            { parent: this },
        );
        subnets.forEach((subnet, i) => {
            new aws.ec2.RouteTableAssociation(
                `${this.name}-public-${i + 1}`,
                { subnetId: subnet.id, routeTableId: table.id },
                { parent: this },
            );
        });
    }

    /** One NAT gateway per zone (`perAz`) or one in the first zone (`single`). */
    private createNatGateways(publicSubnets: readonly aws.ec2.Subnet[], internetGateway: aws.ec2.InternetGateway): aws.ec2.NatGateway[] {
        const count = (this.args.natGateways ?? "perAz") === "perAz" ? this.args.zones.length : 1;
        return Array.from({ length: count }, (_, i) => {
            const zoneName = this.args.zones[i].name;
            const eip = new aws.ec2.Eip(
                `${this.name}-nat-${i + 1}`,
                { domain: "vpc", tags: this.tagged(`${this.name}-nat-${zoneName}`) },
                { parent: this },
            );
            return new aws.ec2.NatGateway(
                `${this.name}-nat-${i + 1}`,
                {
                    allocationId: eip.id,
                    subnetId: publicSubnets[i].id,
                    connectivityType: "public",
                    tags: this.tagged(`${this.name}-nat-${zoneName}`),
                },
                { parent: this, dependsOn: [internetGateway] },
            );
        });
    }

    /**
     * One private route table per zone, its default route through the zone's own NAT gateway;
     * data subnets share it (Redis nodes pull images and packages at boot).
     */
    private routePrivateSubnets(
        privateSubnets: readonly aws.ec2.Subnet[],
        dataSubnets: readonly aws.ec2.Subnet[],
        nats: readonly aws.ec2.NatGateway[],
    ): void {
        this.args.zones.forEach((zone, i) => {
            const table = new aws.ec2.RouteTable(
                `${this.name}-private-rt-${i + 1}`,
                { vpcId: this.vpc.id, tags: this.tagged(`${this.name}-private-${zone.name}`) },
                { parent: this },
            );
            new aws.ec2.Route(
                `${this.name}-private-default-${i + 1}`,
                { routeTableId: table.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nats[Math.min(i, nats.length - 1)].id },
                { parent: this },
            );
            new aws.ec2.RouteTableAssociation(
                `${this.name}-private-${i + 1}`,
                { subnetId: privateSubnets[i].id, routeTableId: table.id },
                { parent: this },
            );
            new aws.ec2.RouteTableAssociation(
                `${this.name}-data-${i + 1}`,
                { subnetId: dataSubnets[i].id, routeTableId: table.id },
                { parent: this },
            );
        });
    }

    /** Every accepted and rejected flow of the VPC, to CloudWatch Logs. */
    private createFlowLogs(): aws.cloudwatch.LogGroup {
        const name = `${this.name}-flow-logs`;
        const logGroup = new aws.cloudwatch.LogGroup(
            name,
            {
                name: pulumi.interpolate`/ecommerce/vpc-flow-logs/${this.vpc.id}`,
                retentionInDays: this.args.flowLogRetentionDays ?? 90,
                tags: this.tagged(name),
            },
            { parent: this },
        );
        // The trust and permission policies documented for flow logs to CloudWatch Logs (VPC
        // user guide, "IAM role for publishing flow logs to CloudWatch Logs"): the service may
        // assume the role only for this account's flow logs of this region (confused-deputy
        // conditions), and write only into this log group. Region, account and partition come
        // from the log group's ARN (arn:<partition>:logs:<region>:<account>:log-group:<name>).
        const arnParts = logGroup.arn.apply((arn) => {
            const [, partition, , region, account] = arn.split(":");
            return { partition, region, account };
        });
        const role = new aws.iam.Role(
            name,
            {
                description: "VPC flow logs: delivery to their CloudWatch Logs group",
                assumeRolePolicy: arnParts.apply(({ partition, region, account }) =>
                    JSON.stringify(flowLogTrustPolicy(partition, region, account)),
                ),
                tags: this.tagged(name),
            },
            { parent: this },
        );
        const permissions = new aws.iam.RolePolicy(
            name,
            {
                role: role.id,
                policy: logGroup.arn.apply((arn) => JSON.stringify(flowLogPermissions(arn))),
            },
            { parent: this },
        );
        new aws.ec2.FlowLog(
            name,
            {
                vpcId: this.vpc.id,
                trafficType: "ALL",
                logDestinationType: "cloud-watch-logs",
                logDestination: logGroup.arn,
                iamRoleArn: role.arn,
                maxAggregationInterval: 60,
                tags: this.tagged(name),
            },
            // The role must be allowed to write before the first delivery.
            { parent: this, dependsOn: [permissions] },
        );
        return logGroup;
    }
}

/** Trust of the flow-log delivery role: vpc-flow-logs.amazonaws.com, for this account's flow logs in `region` only. */
export function flowLogTrustPolicy(partition: string, region: string, account: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                    StringEquals: { "aws:SourceAccount": account },
                    ArnLike: { "aws:SourceArn": `arn:${partition}:ec2:${region}:${account}:vpc-flow-log/*` },
                },
            },
        ],
    };
}

/**
 * The documented flow-log permissions (VPC user guide, "IAM role for publishing flow logs to
 * CloudWatch Logs"), the writes on this log group. logs:DescribeLogGroups authorizes no resource
 * type (Service Authorization Reference, CloudWatch Logs: its resource types column is empty),
 * so a grant scoped to a log-group ARN gives nothing: it is on "*", as AWS's own policy has it.
 */
export function flowLogPermissions(logGroupArn: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "WriteFlowLogs",
                Effect: "Allow",
                Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                Resource: [logGroupArn, `${logGroupArn}:*`],
            },
            {
                Sid: "FindTheLogGroup",
                Effect: "Allow",
                Action: "logs:DescribeLogGroups",
                Resource: "*",
            },
        ],
    };
}
