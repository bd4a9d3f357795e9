import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { subnetCidr, SubnetTier, MAX_AZS } from "../lib/cidr";
import type { ZoneRef } from "../lib/lookups";
import { named, Tags } from "../lib/tags";

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
    readonly natGateways?: "perAz" | "single";
    /**
     * Days CloudWatch Logs keeps the VPC flow logs.
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

/**
 * The regional network: a VPC with public, private and data subnets in each zone, an
 * internet gateway, NAT gateways, per-zone routing, a locked-down default security group
 * and VPC flow logs to CloudWatch Logs.
 */
export class Network extends pulumi.ComponentResource {
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

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:network:Network", name, {}, opts);
        if (args.zones.length < 2 || args.zones.length > MAX_AZS) {
            throw new Error(
                `Network ${name}: zones must list 2 to ${MAX_AZS} Availability Zones, got ${args.zones.length} (${args.zones.map((z) => z.id).join(", ")})`,
            );
        }
        const natMode = args.natGateways ?? "perAz";
        const retentionDays = args.flowLogRetentionDays ?? 90;
        const tags = args.tags;
        const parent = { parent: this };

        const vpc = new aws.ec2.Vpc(
            `${name}-vpc`,
            {
                cidrBlock: args.cidrBlock,
                enableDnsHostnames: true,
                enableDnsSupport: true,
                tags: named(tags, `${name}-vpc`),
            },
            parent,
        );

        // The default security group allows all traffic between its members: strip it so
        // nothing can rely on it by accident (CIS AWS 5.4).
        new aws.ec2.DefaultSecurityGroup(
            `${name}-default-sg`,
            {
                vpcId: vpc.id,
                ingress: [],
                egress: [],
                tags: named(tags, `${name}-default-sg-unused`),
            },
            parent,
        );

        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: named(tags, `${name}-igw`) }, parent);

        const subnets = (tier: SubnetTier): { resources: aws.ec2.Subnet[]; tierSubnets: TierSubnets } => {
            const cidrs = args.zones.map((_, i) => subnetCidr(args.cidrBlock, tier, i));
            const resources = args.zones.map(
                (zone, i) =>
                    new aws.ec2.Subnet(
                        `${name}-${tier}-${i + 1}`,
                        {
                            vpcId: vpc.id,
                            cidrBlock: cidrs[i],
                            availabilityZoneId: zone.id,
                            mapPublicIpOnLaunch: false,
                            tags: {
                                ...named(tags, `${name}-${tier}-${zone.name}`),
                                SubnetTier: tier,
                                // Where the AWS load balancer controller may put load balancers.
                                ...(tier === "public" ? { "kubernetes.io/role/elb": "1" } : {}),
                                ...(tier === "private" ? { "kubernetes.io/role/internal-elb": "1" } : {}),
                            },
                        },
                        parent,
                    ),
            );
            return { resources, tierSubnets: { ids: resources.map((s) => s.id), zones: args.zones, cidrs } };
        };
        const pub = subnets("public");
        const priv = subnets("private");
        const data = subnets("data");

        const publicRoutes = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: vpc.id, tags: named(tags, `${name}-public`) }, parent);
        new aws.ec2.Route(
            `${name}-public-default`,
            { routeTableId: publicRoutes.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
            parent,
        );
        pub.resources.forEach((subnet, i) => {
            new aws.ec2.RouteTableAssociation(`${name}-public-${i + 1}`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, parent);
        });

        const natCount = natMode === "perAz" ? args.zones.length : 1;
        const nats = Array.from({ length: natCount }, (_, i) => {
            const eip = new aws.ec2.Eip(
                `${name}-nat-${i + 1}`,
                { domain: "vpc", tags: named(tags, `${name}-nat-${args.zones[i].name}`) },
                parent,
            );
            return new aws.ec2.NatGateway(
                `${name}-nat-${i + 1}`,
                {
                    allocationId: eip.id,
                    subnetId: pub.resources[i].id,
                    connectivityType: "public",
                    tags: named(tags, `${name}-nat-${args.zones[i].name}`),
                },
                { parent: this, dependsOn: [igw] },
            );
        });

        // One private route table per zone, its default route through the zone's own NAT
        // gateway; data subnets share it (Redis nodes pull images and packages at boot).
        args.zones.forEach((zone, i) => {
            const table = new aws.ec2.RouteTable(
                `${name}-private-rt-${i + 1}`,
                { vpcId: vpc.id, tags: named(tags, `${name}-private-${zone.name}`) },
                parent,
            );
            new aws.ec2.Route(
                `${name}-private-default-${i + 1}`,
                {
                    routeTableId: table.id,
                    destinationCidrBlock: "0.0.0.0/0",
                    natGatewayId: nats[natMode === "perAz" ? i : 0].id,
                },
                parent,
            );
            new aws.ec2.RouteTableAssociation(
                `${name}-private-${i + 1}`,
                { subnetId: priv.resources[i].id, routeTableId: table.id },
                parent,
            );
            new aws.ec2.RouteTableAssociation(`${name}-data-${i + 1}`, { subnetId: data.resources[i].id, routeTableId: table.id }, parent);
        });

        // VPC flow logs: every accepted and rejected flow, to CloudWatch Logs.
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-flow-logs`,
            {
                name: pulumi.interpolate`/ecommerce/vpc-flow-logs/${vpc.id}`,
                retentionInDays: retentionDays,
                tags: named(tags, `${name}-flow-logs`),
            },
            parent,
        );
        const flowRole = new aws.iam.Role(
            `${name}-flow-logs`,
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "vpc-flow-logs.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
                tags: named(tags, `${name}-flow-logs`),
            },
            parent,
        );
        new aws.iam.RolePolicy(
            `${name}-flow-logs`,
            {
                role: flowRole.id,
                policy: logGroup.arn.apply((arn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                Resource: [arn, `${arn}:*`],
                            },
                        ],
                    }),
                ),
            },
            parent,
        );
        new aws.ec2.FlowLog(
            `${name}-flow-logs`,
            {
                vpcId: vpc.id,
                trafficType: "ALL",
                logDestinationType: "cloud-watch-logs",
                logDestination: logGroup.arn,
                iamRoleArn: flowRole.arn,
                maxAggregationInterval: 60,
                tags: named(tags, `${name}-flow-logs`),
            },
            parent,
        );

        this.vpcId = vpc.id;
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
}
