/**
 * Security baseline on single resources: encryption at rest, IMDSv2, nothing data-bearing
 * public, RDS backups and deletion protection, a restricted EKS API endpoint, and Pulumi
 * `protect` on everything that holds data.
 */
import { configOf, isRdsWriter, PROTECTED_TYPES, resourcePolicy } from "./kit";

const truthy = (v: unknown) => v === true || v === "true";

export const encryptionAtRest = resourcePolicy({
    name: "encryption-at-rest",
    description: "RDS storage, EBS volumes (instances, launch templates, volumes) and Kubernetes EBS storage classes are encrypted.",
    enforcementLevel: "mandatory",
    types: [
        "aws:rds/instance:Instance",
        "aws:ec2/instance:Instance",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ebs/volume:Volume",
        "kubernetes:storage.k8s.io/v1:StorageClass",
    ],
    validate: (args, report) => {
        const p = args.props;
        switch (args.type) {
            case "aws:rds/instance:Instance":
                if (p.storageEncrypted !== true) {
                    report(`RDS instance ${args.name} does not encrypt its storage (storageEncrypted)`);
                }
                break;
            case "aws:ec2/instance:Instance":
                if (!truthy(p.rootBlockDevice?.encrypted)) {
                    report(`EC2 instance ${args.name} has an unencrypted root volume`);
                }
                for (const d of Array.isArray(p.ebsBlockDevices) ? p.ebsBlockDevices : []) {
                    if (!truthy(d?.encrypted)) {
                        report(`EC2 instance ${args.name} has an unencrypted EBS volume ${d?.deviceName}`);
                    }
                }
                break;
            case "aws:ec2/launchTemplate:LaunchTemplate": {
                const ebs = (Array.isArray(p.blockDeviceMappings) ? p.blockDeviceMappings : []).filter((m: any) => m?.ebs);
                if (ebs.length === 0) {
                    report(
                        `launch template ${args.name} does not declare its EBS volumes, so their encryption is the AMI's (declare them encrypted)`,
                    );
                }
                for (const m of ebs.filter((x: any) => !truthy(x.ebs.encrypted))) {
                    report(`launch template ${args.name} has an unencrypted EBS volume ${m.deviceName}`);
                }
                break;
            }
            case "aws:ebs/volume:Volume":
                if (p.encrypted !== true) {
                    report(`EBS volume ${args.name} is not encrypted`);
                }
                break;
            default:
                if (p.provisioner !== "ebs.csi.aws.com") {
                    args.notApplicable("not an EBS storage class");
                }
                if (p.parameters?.encrypted !== "true") {
                    report(`storage class ${args.name} creates unencrypted EBS volumes (parameters.encrypted must be "true")`);
                }
        }
    },
});

export const imdsv2Required = resourcePolicy({
    name: "imdsv2-required",
    description: "EC2 instances and launch templates require IMDSv2 session tokens for instance metadata.",
    enforcementLevel: "mandatory",
    types: ["aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate"],
    validate: (args, report) => {
        if (args.props.metadataOptions?.httpTokens !== "required") {
            report(
                `${args.type === "aws:ec2/instance:Instance" ? "EC2 instance" : "launch template"} ${args.name} does not require IMDSv2 (metadataOptions.httpTokens = "required")`,
            );
        }
    },
});

export const noPublicExposure = resourcePolicy({
    name: "no-public-exposure",
    description: "Databases, Redis and application instances get no public IP address and no public access.",
    enforcementLevel: "mandatory",
    types: ["aws:rds/instance:Instance", "aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate"],
    validate: (args, report) => {
        const p = args.props;
        if (args.type === "aws:rds/instance:Instance" && p.publiclyAccessible === true) {
            report(`RDS instance ${args.name} is publicly accessible`);
        }
        if (args.type === "aws:ec2/instance:Instance" && truthy(p.associatePublicIpAddress)) {
            report(`EC2 instance ${args.name} gets a public IP address`);
        }
        if (args.type === "aws:ec2/launchTemplate:LaunchTemplate") {
            for (const ni of Array.isArray(p.networkInterfaces) ? p.networkInterfaces : []) {
                if (truthy(ni?.associatePublicIpAddress)) {
                    report(`launch template ${args.name} gives its instances a public IP address`);
                }
            }
        }
    },
});

export interface BackupConfig {
    readonly minBackupRetentionDays: number;
}

export const rdsBackupsAndDeletionProtection = resourcePolicy({
    name: "rds-backups-and-deletion-protection",
    description:
        "Every RDS writer (a primary, or a cross-region replica that can be promoted) keeps automated backups for at least 7 days and is deletion-protected.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { minBackupRetentionDays: { type: "integer", default: 7 } } },
    types: ["aws:rds/instance:Instance"],
    validate: (args, report) => {
        if (!isRdsWriter(args.props)) {
            args.notApplicable("a same-region read replica (its writer keeps the backups)");
        }
        const min = configOf<BackupConfig>(args, { minBackupRetentionDays: 7 }).minBackupRetentionDays;
        const days = Number(args.props.backupRetentionPeriod ?? 0);
        if (days < min) {
            report(`RDS writer ${args.name} keeps backups for ${days} days; expected at least ${min}`);
        }
        if (args.props.deletionProtection !== true) {
            report(`RDS writer ${args.name} is not deletion-protected`);
        }
    },
});

export const eksEndpointRestricted = resourcePolicy({
    name: "eks-endpoint-restricted",
    description: "An EKS cluster's public API endpoint is off or limited to configured CIDRs, never open to the world.",
    enforcementLevel: "mandatory",
    types: ["eks:index:Cluster", "aws:eks/cluster:Cluster"],
    validate: (args, report) => {
        const p = args.type === "aws:eks/cluster:Cluster" ? (args.props.vpcConfig ?? {}) : args.props;
        // Both APIs default to a public endpoint open to 0.0.0.0/0.
        if (p.endpointPublicAccess === false) {
            return;
        }
        const cidrs: string[] = Array.isArray(p.publicAccessCidrs) ? p.publicAccessCidrs : [];
        if (cidrs.length === 0 || cidrs.includes("0.0.0.0/0")) {
            report(
                `EKS cluster ${args.name} has a public API endpoint open to the world (publicAccessCidrs ${cidrs.length === 0 ? "unset" : "includes 0.0.0.0/0"})`,
            );
        }
    },
});

export const protectDataResources = resourcePolicy({
    name: "protect-data-resources",
    description:
        "Resources that hold data (databases, keys, secrets, passwords, buckets, volumes) are Pulumi-protected against deletion and replacement.",
    enforcementLevel: "mandatory",
    types: PROTECTED_TYPES,
    validate: (args, report) => {
        if (args.opts.protect !== true) {
            report(`${args.type} ${args.name} holds data but is not protected (resource option protect: true)`);
        }
    },
});
