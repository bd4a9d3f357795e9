/**
 * What the mocks know of the world: the account, each region's Availability Zones, and
 * for every resource type the program creates, the computed outputs AWS (or the remote
 * component) would return. A type or provider function missing here fails the run: a
 * mock that silently returned nothing would make dependents vanish.
 */
import * as crypto from "crypto";
import { GLOBAL_ACCELERATOR_HOSTED_ZONE_ID } from "../lib/accelerator";
import { GLOBAL_REGION } from "../lib/regions";

export const ACCOUNT_ID = "123456789012";
export const PARTITION = "aws";

export interface Zone {
    readonly name: string;
    readonly zoneId: string;
}

/**
 * Usable zones per region, as `aws ec2 describe-availability-zones` reports them to a
 * typical account. Names map to IDs differently per account: us-west-1b is usw1-az3 here,
 * so code that confuses names with IDs shows up in the tests. us-west-1 offers two.
 */
export const REGION_ZONES: Readonly<Record<string, readonly Zone[]>> = {
    "us-east-2": [
        { name: "us-east-2a", zoneId: "use2-az1" },
        { name: "us-east-2b", zoneId: "use2-az2" },
        { name: "us-east-2c", zoneId: "use2-az3" },
    ],
    "us-west-1": [
        { name: "us-west-1b", zoneId: "usw1-az3" },
        { name: "us-west-1c", zoneId: "usw1-az1" },
    ],
    "us-west-2": [
        { name: "us-west-2a", zoneId: "usw2-az1" },
        { name: "us-west-2b", zoneId: "usw2-az2" },
        { name: "us-west-2c", zoneId: "usw2-az3" },
        { name: "us-west-2d", zoneId: "usw2-az4" },
    ],
    "us-east-1": [
        { name: "us-east-1a", zoneId: "use1-az6" },
        { name: "us-east-1b", zoneId: "use1-az1" },
        { name: "us-east-1c", zoneId: "use1-az2" },
        { name: "us-east-1d", zoneId: "use1-az4" },
        { name: "us-east-1f", zoneId: "use1-az5" },
    ],
};

export function zonesOf(region: string): readonly Zone[] {
    const zones = REGION_ZONES[region];
    if (!zones) {
        throw new Error(`the mocks know no zones of region ${region}: add it to REGION_ZONES in offline/awsModel.ts`);
    }
    return zones;
}

/** Deterministic hex for mock IDs: the same program gives the same IDs on every run. */
export function hex(seed: string, length: number): string {
    return crypto.createHash("sha256").update(seed).digest("hex").slice(0, length);
}

/** What a computed-output function gets: the resource and where it is. */
export interface ModelArgs {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, any>;
    readonly region: string;
    /** Deterministic hex seeded by region, type and name. */
    readonly hex: (length: number) => string;
}

export interface Computed {
    /** The provider ID (undefined for components). */
    readonly id?: string;
    /** Outputs the provider computes; inputs are passed through besides these. */
    readonly outputs: Record<string, unknown>;
}

type Model = (a: ModelArgs) => Computed;

const arn = (service: string, region: string, resource: string) => `arn:${PARTITION}:${service}:${region}:${ACCOUNT_ID}:${resource}`;
const globalArn = (service: string, resource: string) => `arn:${PARTITION}:${service}::${ACCOUNT_ID}:${resource}`;
/** Name the provider would generate when none is given: logical name + random suffix. */
const autoName = (a: ModelArgs, max = 64) => `${a.name}-${a.hex(7)}`.slice(0, max);

function zoneByIdOrName(region: string, idOrName: string | undefined): Zone | undefined {
    return zonesOf(region).find((z) => z.zoneId === idOrName || z.name === idOrName);
}

/** AWS resource types, by Pulumi type token. */
// --- Global Accelerator ---------------------------------------------------------------------
// Its API lives in us-west-2 only and the provider sends every call there; its ARNs carry no
// region. IDs derive from the accelerator's name, so a site stack's lookup of the listener the
// global stack published (an SSM parameter in us-west-2) finds the ARN the global stack made.

/** Global Accelerator's API region (lib/regions.ts says where that is documented). */
export const GLOBAL_ACCELERATOR_API_REGION = GLOBAL_REGION;

const uuid = (seed: string) => {
    const h = hex(seed, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

export function acceleratorArnFor(acceleratorName: string): string {
    return globalArn("globalaccelerator", `accelerator/${uuid(`accelerator|${acceleratorName}`)}`);
}

/** The listener of an accelerator (the program makes one per accelerator). */
export function listenerArnFor(acceleratorArn: string): string {
    return `${acceleratorArn}/listener/${hex(`listener|${acceleratorArn}`, 8)}`;
}

const GA_LISTENER_ARN = /^arn:aws:globalaccelerator::\d{12}:accelerator\/[0-9a-f-]{36}\/listener\/[0-9a-z]{8}$/;

function acceleratorIps(acceleratorArn: string): string[] {
    // Global Accelerator hands out two addresses from separate network zones (Amazon's pool).
    const n = parseInt(hex(`ips|${acceleratorArn}`, 8), 16);
    return [`75.2.${(n >> 8) & 0xff}.${n & 0xff}`, `99.83.${(n >> 24) & 0xff}.${(n >> 16) & 0xff}`];
}

/** The endpoint group's inputs checked as the Global Accelerator API checks them. */
function checkEndpointGroup(inputs: Record<string, any>): void {
    if (typeof inputs.listenerArn !== "string" || !GA_LISTENER_ARN.test(inputs.listenerArn)) {
        throw new Error(`listenerArn ${JSON.stringify(inputs.listenerArn)} is not a Global Accelerator listener ARN`);
    }
    if (typeof inputs.endpointGroupRegion !== "string") {
        throw new Error("endpointGroupRegion must be set (left out it defaults to the provider's region; changing it replaces the group)");
    }
    const dial = inputs.trafficDialPercentage ?? 100;
    if (!(dial >= 0 && dial <= 100)) {
        throw new Error(`trafficDialPercentage ${dial}: the API takes 0-100`);
    }
    if (inputs.healthCheckIntervalSeconds !== undefined && ![10, 30].includes(inputs.healthCheckIntervalSeconds)) {
        throw new Error(`healthCheckIntervalSeconds ${inputs.healthCheckIntervalSeconds}: the API takes 10 or 30`);
    }
    if (
        inputs.thresholdCount !== undefined &&
        !(Number.isInteger(inputs.thresholdCount) && inputs.thresholdCount >= 1 && inputs.thresholdCount <= 10)
    ) {
        throw new Error(`thresholdCount ${inputs.thresholdCount}: the API takes 1-10`);
    }
    const endpoints: any[] = inputs.endpointConfigurations ?? [];
    if (endpoints.length > 10) {
        throw new Error(`${endpoints.length} endpoints: an endpoint group takes at most 10`);
    }
    for (const e of endpoints) {
        if (!(Number.isInteger(e.weight) && e.weight >= 0 && e.weight <= 255)) {
            throw new Error(
                `endpoint ${e.endpointId}: weight ${JSON.stringify(e.weight)}; the API takes 0-255 (and the provider sends 0 when it is left out)`,
            );
        }
        if (
            typeof e.endpointId === "string" &&
            e.endpointId.startsWith("arn:") &&
            e.endpointId.split(":")[3] !== inputs.endpointGroupRegion
        ) {
            throw new Error(`endpoint ${e.endpointId} is not in the group's region ${inputs.endpointGroupRegion}`);
        }
    }
}

const AWS_MODELS: Readonly<Record<string, Model>> = {
    "aws:globalaccelerator/accelerator:Accelerator": (a) => {
        const acceleratorArn = acceleratorArnFor(a.inputs.name);
        return {
            id: acceleratorArn,
            outputs: {
                arn: acceleratorArn,
                dnsName: `a${hex(`dns|${acceleratorArn}`, 16)}.awsglobalaccelerator.com`,
                dualStackDnsName: `a${hex(`dns|${acceleratorArn}`, 16)}.dualstack.awsglobalaccelerator.com`,
                hostedZoneId: GLOBAL_ACCELERATOR_HOSTED_ZONE_ID,
                ipSets: [{ ipFamily: "IPv4", ipAddresses: acceleratorIps(acceleratorArn) }],
            },
        };
    },
    "aws:globalaccelerator/listener:Listener": (a) => {
        const listenerArn = listenerArnFor(a.inputs.acceleratorArn);
        return { id: listenerArn, outputs: { arn: listenerArn } };
    },
    "aws:globalaccelerator/endpointGroup:EndpointGroup": (a) => {
        checkEndpointGroup(a.inputs);
        const groupArn = `${a.inputs.listenerArn}/endpoint-group/${hex(`group|${a.inputs.listenerArn}|${a.inputs.endpointGroupRegion}`, 12)}`;
        return { id: groupArn, outputs: { arn: groupArn } };
    },
    "aws:sns/topic:Topic": (a) => {
        const name = a.inputs.name ?? autoName(a, 256);
        return { id: arn("sns", a.region, name), outputs: { name, arn: arn("sns", a.region, name) } };
    },
    "aws:dynamodb/table:Table": (a) => {
        const name = a.inputs.name ?? autoName(a, 255);
        return { id: name, outputs: { name, arn: arn("dynamodb", a.region, `table/${name}`) } };
    },
    "aws:lambda/function:Function": (a) => {
        const name = a.inputs.name ?? autoName(a, 64);
        const fnArn = arn("lambda", a.region, `function:${name}`);
        return {
            id: name,
            outputs: {
                name,
                arn: fnArn,
                invokeArn: `arn:${PARTITION}:apigateway:${a.region}:lambda:path/2015-03-31/functions/${fnArn}/invocations`,
                version: "$LATEST",
            },
        };
    },
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": (a) => ({ id: String(a.inputs.functionName), outputs: {} }),
    "aws:scheduler/schedule:Schedule": (a) => {
        const name = a.inputs.name ?? autoName(a, 64);
        const group = a.inputs.groupName ?? "default";
        return { id: `${group}/${name}`, outputs: { name, arn: arn("scheduler", a.region, `schedule/${group}/${name}`) } };
    },
    "aws:scheduler/scheduleGroup:ScheduleGroup": (a) => {
        const name = a.inputs.name ?? autoName(a, 64);
        return { id: name, outputs: { name, arn: arn("scheduler", a.region, `schedule-group/${name}`) } };
    },
    "aws:ssm/parameter:Parameter": (a) => ({
        id: a.inputs.name,
        outputs: { arn: arn("ssm", a.region, `parameter${a.inputs.name}`), version: 1, tier: "Standard", dataType: "text" },
    }),
    // --- network -----------------------------------------------------------------------
    "aws:ec2/vpc:Vpc": (a) => {
        const id = `vpc-${a.hex(17)}`;
        return {
            id,
            outputs: {
                arn: arn("ec2", a.region, `vpc/${id}`),
                ownerId: ACCOUNT_ID,
                defaultSecurityGroupId: `sg-${a.hex(16)}1`,
                mainRouteTableId: `rtb-${a.hex(16)}1`,
                defaultNetworkAclId: `acl-${a.hex(16)}1`,
            },
        };
    },
    "aws:ec2/subnet:Subnet": (a) => {
        const id = `subnet-${a.hex(17)}`;
        const zone = zoneByIdOrName(a.region, a.inputs.availabilityZoneId ?? a.inputs.availabilityZone);
        if (!zone) {
            throw new Error(
                `Subnet ${a.name}: zone ${a.inputs.availabilityZoneId ?? a.inputs.availabilityZone} does not exist in ${a.region}`,
            );
        }
        return {
            id,
            outputs: {
                arn: arn("ec2", a.region, `subnet/${id}`),
                availabilityZone: zone.name,
                availabilityZoneId: zone.zoneId,
                ownerId: ACCOUNT_ID,
            },
        };
    },
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": (a) => ({ id: `sg-${a.hex(17)}`, outputs: { name: "default" } }),
    "aws:ec2/internetGateway:InternetGateway": (a) => ({
        id: `igw-${a.hex(17)}`,
        outputs: { arn: arn("ec2", a.region, `internet-gateway/igw-${a.hex(17)}`) },
    }),
    "aws:ec2/eip:Eip": (a) => ({
        id: `eipalloc-${a.hex(17)}`,
        outputs: { allocationId: `eipalloc-${a.hex(17)}`, publicIp: `198.51.100.${(parseInt(a.hex(2), 16) % 250) + 1}` },
    }),
    "aws:ec2/natGateway:NatGateway": (a) => ({ id: `nat-${a.hex(17)}`, outputs: { networkInterfaceId: `eni-${a.hex(17)}` } }),
    "aws:ec2/routeTable:RouteTable": (a) => ({
        id: `rtb-${a.hex(17)}`,
        outputs: { arn: arn("ec2", a.region, `route-table/rtb-${a.hex(17)}`) },
    }),
    "aws:ec2/route:Route": (a) => ({ id: `r-${a.inputs.routeTableId}${a.hex(8)}`, outputs: {} }),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (a) => ({ id: `rtbassoc-${a.hex(17)}`, outputs: {} }),
    "aws:ec2/flowLog:FlowLog": (a) => ({ id: `fl-${a.hex(17)}`, outputs: { arn: arn("ec2", a.region, `vpc-flow-log/fl-${a.hex(17)}`) } }),
    "aws:ec2/securityGroup:SecurityGroup": (a) => {
        const id = `sg-${a.hex(17)}`;
        return {
            id,
            outputs: { arn: arn("ec2", a.region, `security-group/${id}`), name: a.inputs.name ?? autoName(a, 255), ownerId: ACCOUNT_ID },
        };
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (a) => ({
        id: `sgr-${a.hex(17)}`,
        outputs: { securityGroupRuleId: `sgr-${a.hex(17)}` },
    }),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (a) => ({
        id: `sgr-${a.hex(17)}`,
        outputs: { securityGroupRuleId: `sgr-${a.hex(17)}` },
    }),
    "aws:ec2/networkInterface:NetworkInterface": (a) => {
        const ips: string[] | undefined = a.inputs.privateIpLists ?? a.inputs.privateIps;
        return {
            id: `eni-${a.hex(17)}`,
            outputs: { privateIp: ips?.[0] ?? `10.255.0.${(parseInt(a.hex(2), 16) % 250) + 4}`, macAddress: "0a:00:00:00:00:01" },
        };
    },
    "aws:ec2/instance:Instance": (a) => {
        const id = `i-${a.hex(17)}`;
        const zone = zoneByIdOrName(a.region, a.inputs.availabilityZone) ?? zonesOf(a.region)[0];
        return {
            id,
            outputs: {
                arn: arn("ec2", a.region, `instance/${id}`),
                availabilityZone: a.inputs.availabilityZone ?? zone.name,
                privateIp: a.inputs.privateIp ?? `10.255.1.${(parseInt(a.hex(2), 16) % 250) + 4}`,
                primaryNetworkInterfaceId: a.inputs.primaryNetworkInterface?.networkInterfaceId ?? `eni-${a.hex(17)}`,
                instanceState: "running",
            },
        };
    },
    "aws:ec2/launchTemplate:LaunchTemplate": (a) => {
        const id = `lt-${a.hex(17)}`;
        return {
            id,
            outputs: {
                arn: arn("ec2", a.region, `launch-template/${id}`),
                latestVersion: 1,
                defaultVersion: 1,
                name: a.inputs.name ?? autoName(a, 128),
            },
        };
    },

    // --- load balancing and scaling ------------------------------------------------------
    "aws:lb/loadBalancer:LoadBalancer": (a) => {
        const name = a.inputs.name ?? `${a.name.slice(0, 24)}-${a.hex(7)}`;
        const suffix = `app/${name}/${a.hex(16)}`;
        return {
            id: arn("elasticloadbalancing", a.region, `loadbalancer/${suffix}`),
            outputs: {
                arn: arn("elasticloadbalancing", a.region, `loadbalancer/${suffix}`),
                arnSuffix: suffix,
                name,
                dnsName: `${name}-${parseInt(a.hex(8), 16)}.${a.region}.elb.amazonaws.com`,
                zoneId: "Z3AADJGX6KTTL2",
            },
        };
    },
    "aws:lb/targetGroup:TargetGroup": (a) => {
        const name = a.inputs.name ?? `${a.name.slice(0, 24)}-${a.hex(7)}`;
        const suffix = `targetgroup/${name}/${a.hex(16)}`;
        return {
            id: arn("elasticloadbalancing", a.region, suffix),
            outputs: { arn: arn("elasticloadbalancing", a.region, suffix), arnSuffix: suffix, name },
        };
    },
    "aws:lb/listener:Listener": (a) => {
        const listenerArn = arn("elasticloadbalancing", a.region, `listener/app/${a.hex(12)}/${a.hex(16)}`);
        return { id: listenerArn, outputs: { arn: listenerArn } };
    },
    "aws:autoscaling/group:Group": (a) => {
        const name = a.inputs.name ?? autoName(a, 255);
        return {
            id: name,
            outputs: { name, arn: arn("autoscaling", a.region, `autoScalingGroup:${a.hex(8)}:autoScalingGroupName/${name}`) },
        };
    },

    // --- identity and keys ----------------------------------------------------------------
    "aws:iam/role:Role": (a) => {
        const name = a.inputs.name ?? autoName(a);
        return { id: name, outputs: { name, arn: globalArn("iam", `role/${name}`), uniqueId: `AROA${a.hex(17).toUpperCase()}` } };
    },
    "aws:iam/rolePolicy:RolePolicy": (a) => ({
        id: `${a.inputs.role}:${a.inputs.name ?? autoName(a)}`,
        outputs: { name: a.inputs.name ?? autoName(a) },
    }),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (a) => ({ id: `${a.inputs.role}-${a.hex(8)}`, outputs: {} }),
    "aws:iam/policy:Policy": (a) => {
        const name = a.inputs.name ?? autoName(a);
        return {
            id: globalArn("iam", `policy/${name}`),
            outputs: { name, arn: globalArn("iam", `policy/${name}`), policyId: `ANPA${a.hex(17).toUpperCase()}` },
        };
    },
    "aws:iam/instanceProfile:InstanceProfile": (a) => {
        const name = a.inputs.name ?? autoName(a);
        return {
            id: name,
            outputs: { name, arn: globalArn("iam", `instance-profile/${name}`), uniqueId: `AIPA${a.hex(17).toUpperCase()}` },
        };
    },
    "aws:kms/key:Key": (a) => {
        const keyId = `${a.hex(8)}-${a.hex(4)}-4${a.hex(3)}-8${a.hex(3)}-${a.hex(12)}`;
        return { id: keyId, outputs: { keyId, arn: arn("kms", a.region, `key/${keyId}`) } };
    },
    "aws:kms/alias:Alias": (a) => ({
        id: a.inputs.name,
        outputs: { arn: arn("kms", a.region, a.inputs.name), targetKeyArn: arn("kms", a.region, `key/${a.inputs.targetKeyId}`) },
    }),
    "aws:secretsmanager/secret:Secret": (a) => {
        const name = a.inputs.name ?? autoName(a, 512);
        const secretArn = arn("secretsmanager", a.region, `secret:${name}-${a.hex(6)}`);
        return { id: secretArn, outputs: { arn: secretArn, name } };
    },
    "aws:secretsmanager/secretVersion:SecretVersion": (a) => {
        const versionId = `${a.hex(8)}-${a.hex(4)}-${a.hex(4)}-${a.hex(4)}-${a.hex(12)}`;
        return { id: `${a.inputs.secretId}|${versionId}`, outputs: { arn: a.inputs.secretId, versionId, versionStages: ["AWSCURRENT"] } };
    },

    // --- logs -------------------------------------------------------------------------------
    "aws:cloudwatch/logGroup:LogGroup": (a) => {
        const name = a.inputs.name ?? autoName(a, 512);
        return { id: name, outputs: { name, arn: arn("logs", a.region, `log-group:${name}`) } };
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": (a) => {
        const name = a.inputs.name ?? autoName(a, 255);
        return { id: name, outputs: { name, arn: arn("cloudwatch", a.region, `alarm:${name}`) } };
    },

    // --- storage ------------------------------------------------------------------------------
    "aws:s3/bucket:Bucket": (a) => {
        const bucket = a.inputs.bucket ?? `${a.name}-${a.hex(7)}`.slice(0, 63);
        return {
            id: bucket,
            outputs: {
                bucket,
                arn: `arn:${PARTITION}:s3:::${bucket}`,
                bucketDomainName: `${bucket}.s3.amazonaws.com`,
                bucketRegionalDomainName: `${bucket}.s3.${a.region}.amazonaws.com`,
                region: a.inputs.region ?? a.region,
            },
        };
    },
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (a) => ({ id: a.inputs.bucket, outputs: {} }),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (a) => ({ id: a.inputs.bucket, outputs: {} }),
    "aws:s3/bucketVersioning:BucketVersioning": (a) => ({ id: a.inputs.bucket, outputs: {} }),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (a) => ({ id: a.inputs.bucket, outputs: {} }),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (a) => ({ id: a.inputs.bucket, outputs: {} }),
    "aws:s3/bucketPolicy:BucketPolicy": (a) => ({ id: a.inputs.bucket, outputs: {} }),
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": (a) => {
        const retention = a.inputs.rule?.defaultRetention;
        if (retention !== undefined && (retention.days === undefined) === (retention.years === undefined)) {
            throw new Error("defaultRetention takes days or years, exactly one (S3 PutObjectLockConfiguration)");
        }
        return { id: a.inputs.bucket, outputs: {} };
    },

    // --- database ------------------------------------------------------------------------------
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": (a) => {
        // Created in the destination region, with a key of that region (RDS
        // StartDBInstanceAutomatedBackupsReplication; "Encrypted instances require a valid KMS key ID").
        // (In a preview the ARNs are unknown: nothing to check yet.)
        const regionOfArn = (v: unknown) => (typeof v === "string" && v.startsWith("arn:") ? v.split(":")[3] : undefined);
        const sourceRegion = regionOfArn(a.inputs.sourceDbInstanceArn);
        if (sourceRegion !== undefined && sourceRegion === a.region) {
            throw new Error(`the replication is created in its destination region, not the source's (${sourceRegion})`);
        }
        const keyRegion = regionOfArn(a.inputs.kmsKeyId);
        if (keyRegion !== undefined && keyRegion !== a.region) {
            throw new Error(`kmsKeyId must be a key in the destination region ${a.region}, got one in ${keyRegion}`);
        }
        if (a.inputs.kmsKeyId === undefined) {
            throw new Error("kmsKeyId is required for an encrypted source (RDS: Encrypted instances require a valid KMS key ID)");
        }
        const id = arn("rds", a.region, `auto-backup:ab-${a.hex(26)}`);
        return { id, outputs: { retentionPeriod: a.inputs.retentionPeriod ?? 7 } };
    },
    "aws:rds/subnetGroup:SubnetGroup": (a) => {
        const name = a.inputs.name ?? autoName(a, 255);
        return { id: name, outputs: { name, arn: arn("rds", a.region, `subgrp:${name}`) } };
    },
    "aws:rds/parameterGroup:ParameterGroup": (a) => {
        const name = a.inputs.name ?? autoName(a, 255);
        return { id: name, outputs: { name, arn: arn("rds", a.region, `pg:${name}`) } };
    },
    "aws:rds/instance:Instance": (a) => {
        const identifier = a.inputs.identifier ?? `${a.name}-${a.hex(7)}`;
        const address = `${identifier}.c${a.hex(11)}.${a.region}.rds.amazonaws.com`;
        const resourceId = `db-${a.hex(26).toUpperCase()}`;
        const zone = zoneByIdOrName(a.region, a.inputs.availabilityZone) ?? zonesOf(a.region)[0];
        return {
            id: resourceId,
            outputs: {
                identifier,
                resourceId,
                arn: arn("rds", a.region, `db:${identifier}`),
                address,
                endpoint: `${address}:3306`,
                port: 3306,
                hostedZoneId: "Z2XHWR1WZ565X2",
                availabilityZone: zone.name,
                engineVersionActual: a.inputs.engineVersion === "8.4" ? "8.4.7" : a.inputs.engineVersion,
                status: "available",
            },
        };
    },
    "aws:route53/zone:Zone": (a) => {
        const zoneId = `Z${a.hex(20).toUpperCase()}`;
        return {
            id: zoneId,
            outputs: { zoneId, arn: `arn:${PARTITION}:route53:::hostedzone/${zoneId}`, nameServers: [`ns-${a.hex(3)}.awsdns-01.com`] },
        };
    },
    "aws:route53/record:Record": (a) => ({
        id: `${a.inputs.zoneId}_${a.inputs.name}_${a.inputs.type}_${a.inputs.setIdentifier ?? ""}`,
        outputs: { fqdn: a.inputs.name },
    }),

    // --- EKS (plain AWS resources) ------------------------------------------------------------------
    "aws:eks/addon:Addon": (a) => ({
        id: `${a.inputs.clusterName}:${a.inputs.addonName}`,
        outputs: {
            arn: arn("eks", a.region, `addon/${a.inputs.clusterName}/${a.inputs.addonName}/${a.hex(8)}`),
            addonVersion: a.inputs.addonVersion ?? "v1.0.0-eksbuild.1",
        },
    }),
    "aws:eks/accessEntry:AccessEntry": (a) => ({
        id: `${a.inputs.clusterName}:${a.inputs.principalArn}`,
        outputs: {
            accessEntryArn: arn("eks", a.region, `access-entry/${a.inputs.clusterName}/role/${ACCOUNT_ID}/${a.hex(8)}`),
            kubernetesGroups: [],
            userName: a.inputs.principalArn,
            type: a.inputs.type ?? "STANDARD",
        },
    }),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (a) => ({
        id: `${a.inputs.clusterName}#${a.inputs.principalArn}#${a.inputs.policyArn}`,
        outputs: { associatedAt: "2026-11-30T00:00:00Z", modifiedAt: "2026-11-30T00:00:00Z" },
    }),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (a) => {
        const associationId = `a-${a.hex(17)}`;
        return {
            id: `${a.inputs.clusterName},${associationId}`,
            outputs: {
                associationId,
                associationArn: arn("eks", a.region, `podidentityassociation/${a.inputs.clusterName}/${associationId}`),
            },
        };
    },
};

/** A kubeconfig as @pulumi/eks renders it, pointing at a cluster that does not exist. */
function kubeconfigFor(clusterName: string, region: string, endpoint: string): Record<string, unknown> {
    return {
        apiVersion: "v1",
        kind: "Config",
        clusters: [
            { name: "kubernetes", cluster: { server: endpoint, "certificate-authority-data": Buffer.from("mock-ca").toString("base64") } },
        ],
        contexts: [{ name: "aws", context: { cluster: "kubernetes", user: "aws" } }],
        "current-context": "aws",
        users: [
            {
                name: "aws",
                user: {
                    exec: {
                        apiVersion: "client.authentication.k8s.io/v1beta1",
                        command: "aws",
                        args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region],
                    },
                },
            },
        ],
    };
}

/**
 * Remote components (their children exist only in the real engine): the outputs the
 * program reads from them. `eksCluster` and `core` come back as plain objects.
 */
const REMOTE_COMPONENT_MODELS: Readonly<Record<string, Model>> = {
    "eks:index:Cluster": (a) => {
        const clusterName = a.inputs.name ?? `${a.name}-eksCluster-${a.hex(7)}`;
        const endpoint = `https://${a.hex(32).toUpperCase()}.gr7.${a.region}.eks.amazonaws.com`;
        const kubeconfig = kubeconfigFor(clusterName, a.region, endpoint);
        const oidcId = a.hex(32).toUpperCase();
        const oidcUrl = `oidc.eks.${a.region}.amazonaws.com/id/${oidcId}`;
        return {
            outputs: {
                kubeconfig,
                kubeconfigJson: JSON.stringify(kubeconfig),
                clusterSecurityGroupId: `sg-${a.hex(16)}c`,
                nodeSecurityGroupId: `sg-${a.hex(16)}n`,
                clusterIngressRuleId: `sgr-${a.hex(17)}`,
                oidcProviderArn: globalArn("iam", `oidc-provider/${oidcUrl}`),
                oidcProviderUrl: oidcUrl,
                oidcIssuer: `https://${oidcUrl}`,
                eksCluster: {
                    name: clusterName,
                    arn: arn("eks", a.region, `cluster/${clusterName}`),
                    endpoint,
                    version: a.inputs.version,
                    vpcConfig: { clusterSecurityGroupId: `sg-${a.hex(16)}e`, vpcId: a.inputs.vpcId },
                },
                core: { cluster: { name: clusterName }, endpoint },
            },
        };
    },
    "eks:index:ManagedNodeGroup": (a) => {
        const nodeGroupName = a.inputs.nodeGroupName ?? `${a.name}-${a.hex(7)}`;
        return {
            outputs: {
                nodeGroup: {
                    nodeGroupName,
                    arn: arn("eks", a.region, `nodegroup/${a.inputs.clusterName ?? "cluster"}/${nodeGroupName}/${a.hex(8)}`),
                    status: "ACTIVE",
                },
            },
        };
    },
};

/** Kubernetes objects: metadata the API server fills in. */
function kubernetesModel(a: ModelArgs): Computed {
    const metadata = (a.inputs.metadata ?? {}) as Record<string, unknown>;
    const name = (metadata.name as string | undefined) ?? `${a.name}-${a.hex(8)}`;
    const namespace = metadata.namespace as string | undefined;
    if (a.type === "kubernetes:helm.sh/v3:Release") {
        const releaseName = a.inputs.name ?? `${a.name}-${a.hex(8)}`;
        return {
            id: `${a.inputs.namespace ?? "default"}/${releaseName}`,
            outputs: {
                name: releaseName,
                status: { name: releaseName, namespace: a.inputs.namespace, status: "deployed", revision: 1, version: a.inputs.version },
            },
        };
    }
    return {
        id: namespace ? `${namespace}/${name}` : name,
        outputs: { metadata: { ...metadata, name, uid: `${a.hex(8)}-${a.hex(4)}-${a.hex(4)}-${a.hex(4)}-${a.hex(12)}` } },
    };
}

export type ResourceKind = "aws" | "remote" | "kubernetes" | "random" | "provider" | "component";

/**
 * The model for `type`, or undefined when the mocks do not know it.
 * `ecommerce:*` components and the root stack have no outputs of their own.
 */
export function modelFor(type: string): { kind: ResourceKind; model: Model } | undefined {
    if (type in AWS_MODELS) {
        return { kind: "aws", model: AWS_MODELS[type] };
    }
    if (type in REMOTE_COMPONENT_MODELS) {
        return { kind: "remote", model: REMOTE_COMPONENT_MODELS[type] };
    }
    if (
        /^kubernetes:(core\/v1|batch\/v1|storage\.k8s\.io\/v1|helm\.sh\/v3|monitoring\.coreos\.com\/v1|rbac\.authorization\.k8s\.io\/v1):/.test(
            type,
        )
    ) {
        return { kind: "kubernetes", model: kubernetesModel };
    }
    if (type === "random:index/randomPassword:RandomPassword") {
        return {
            kind: "random",
            model: (a) => ({
                id: "none",
                outputs: { result: `mock-${a.hex(Math.max(8, (a.inputs.length ?? 32) - 5))}`, bcryptHash: `$2a$10$${a.hex(53)}` },
            }),
        };
    }
    if (type.startsWith("pulumi:providers:")) {
        return { kind: "provider", model: (a) => ({ id: `${a.name}-provider-id`, outputs: {} }) };
    }
    if (type.startsWith("ecommerce:") || type === "pulumi:pulumi:Stack") {
        return { kind: "component", model: () => ({ outputs: {} }) };
    }
    return undefined;
}

// --- how Global Accelerator routes a request --------------------------------------------------

/** An endpoint group as Global Accelerator sees it when routing. */
export interface RoutedGroup {
    readonly region: string;
    readonly trafficDialPercentage: number;
    readonly endpoints: readonly { readonly id: string; readonly weight: number }[];
}

/**
 * The endpoints a client's request may reach, by Global Accelerator's documented rules
 * (developer guide, "Traffic dials", "Endpoint weights", "Failover for unhealthy endpoints"):
 *  1. the groups whose traffic dial is above 0, nearest first: a healthy endpoint with
 *     weight above 0 there (a dial below 100 spills the rest to the next such group);
 *  2. none: fail over to a healthy endpoint with weight above 0 in the nearest of the other
 *     groups, up to three of them, **ignoring traffic dials**;
 *  3. none: "fail open", a random endpoint of the nearest group, **whatever its weight or
 *     health**. AWS says "the endpoint group that is closest to the client"; that a group
 *     with no endpoint is passed over for the nearest one that has endpoints is our
 *     assumption (a group without endpoints has nothing to send to).
 * `nearest` lists regions from the client's nearest; `healthy` holds healthy endpoint IDs.
 */
export function acceleratorRoutes(groups: readonly RoutedGroup[], healthy: ReadonlySet<string>, nearest: readonly string[]): Set<string> {
    const byDistance = nearest.map((region) => groups.find((g) => g.region === region)).filter((g): g is RoutedGroup => g !== undefined);
    const usable = (g: RoutedGroup) => g.endpoints.filter((e) => e.weight > 0 && healthy.has(e.id)).map((e) => e.id);
    const dialled = byDistance.filter((g) => g.trafficDialPercentage > 0);
    for (const group of dialled) {
        const targets = usable(group);
        if (targets.length > 0) {
            // A dial below 100 sends the rest of this group's share on to the next dialled group.
            const spill = group.trafficDialPercentage < 100 ? dialled.slice(dialled.indexOf(group) + 1).flatMap(usable) : [];
            return new Set([...targets, ...spill]);
        }
    }
    for (const group of byDistance.slice(0, 3)) {
        const targets = usable(group);
        if (targets.length > 0) {
            return new Set(targets);
        }
    }
    const open = byDistance.find((g) => g.endpoints.length > 0);
    return new Set(open ? open.endpoints.map((e) => e.id) : []);
}
