import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AGENT_HANDLER, LAMBDA_RUNTIME, REPLICA_READER_HANDLER } from "../failover/lambda/bundle";
import type { AgentConfig } from "../failover/lambda/agentConfig";
import { DEFAULT_LEASE_TIMING } from "../failover/core/writerLease";
import { DEFAULT_FENCE_SCHEMA } from "../failover/agent/fence";
import { APP_DB_USER, leaseStoreRegion, leaseTableArn, leaseTableName, replicaReaderName, writerAgentName } from "../lib/failoverNaming";
import { serviceTrustPolicy } from "../lib/iam";
import { Problems, requireValidArgs } from "../lib/rules";
import type { Tags } from "../lib/tags";
import { PlatformComponent } from "./platformComponent";
import { checkFailoverSite, FailoverSiteArgs, lambdaCode, scheduleEveryMinute } from "./schedule";

export interface WriterAgentArgs extends FailoverSiteArgs {
    /** The VPC and the private subnets the function runs in (it reaches the database and, through NAT, DynamoDB and Secrets Manager). */
    readonly vpcId: pulumi.Input<string>;
    readonly vpcCidr: pulumi.Input<string>;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** This region's writer, by its private DNS name, and the port. */
    readonly dbHost: string;
    readonly dbPort: number;
    /** The secrets it reads (in this region): the master user's and the application's (the writer region's, replicated here). */
    readonly masterSecretName: string;
    readonly appSecretName: string;
    /** The application's schemas (the account's grants). */
    readonly appSchemas: readonly string[];
    /** @default 30 */
    readonly logRetentionDays?: number;
    readonly tags?: Tags;
}

function agentArgsProblems(args: WriterAgentArgs): string[] {
    const p = new Problems();
    checkFailoverSite(p, args);
    if (args.appSchemas.length === 0) {
        p.reject("appSchemas", args.appSchemas, "at least one schema the application uses");
    }
    return p.list;
}

/**
 * The writer agent of this site (failover/agent): a VPC function beside the database, run every
 * minute in BOTH sites (each run overlaps the next). Where its region holds the writer lease it
 * renews it, moves the database's own deadline forward and beats; everywhere else it waits, so
 * that after a takeover the new writer's agent is already running. Its security group is a
 * client of the database (port 3306) and reaches AWS's APIs over HTTPS.
 * Its alarms are the failover controller's, on the same topic (components/failoverController.ts).
 */
export class WriterAgent extends PlatformComponent<WriterAgentArgs> {
    public readonly functionName: pulumi.Output<string>;
    /** The replica reader beside the database: the failover controller invokes it for the loss window. */
    public readonly replicaReaderName: pulumi.Output<string>;
    public readonly securityGroupId: pulumi.Output<string>;
    public readonly roleName: pulumi.Output<string>;
    /** Where this site reaches the writer lease. */
    public readonly leaseRegion: string;

    constructor(name: string, args: WriterAgentArgs, opts?: pulumi.ComponentResourceOptions) {
        requireValidArgs("WriterAgent", name, agentArgsProblems(args));
        super("ecommerce:failover:WriterAgent", name, args, opts);
        this.leaseRegion = leaseStoreRegion(args.region);
        const sg = this.createSecurityGroup();
        const logGroup = new aws.cloudwatch.LogGroup(
            `${this.name}-logs`,
            { name: `/aws/lambda/${this.prefix}`, retentionInDays: args.logRetentionDays ?? 30, tags: this.tagged(`${this.name}-logs`) },
            { parent: this },
        );
        const role = this.createRole(logGroup);
        const fn = this.createFunction(role, sg, logGroup);
        const reader = this.createReplicaReader(sg);
        scheduleEveryMinute(this, this.name, {
            scheduleName: this.prefix,
            accountId: args.accountId,
            fn,
            description: `Runs the writer agent of ${args.region} every minute (it renews the writer lease while ${args.region} holds it)`,
            // Both sites: the standby's agent must already run when a takeover makes it the holder.
            state: "ENABLED",
            tagged: (n) => this.tagged(n),
        });
        this.functionName = fn.name;
        this.replicaReaderName = reader.name;
        this.securityGroupId = sg.id;
        this.roleName = role.name;
        this.registerOutputs({
            functionName: this.functionName,
            replicaReaderName: this.replicaReaderName,
            securityGroupId: this.securityGroupId,
        });
    }

    private get prefix(): string {
        return writerAgentName(this.args.project);
    }

    private createSecurityGroup(): aws.ec2.SecurityGroup {
        const sg = new aws.ec2.SecurityGroup(
            `${this.name}-sg`,
            {
                vpcId: this.args.vpcId,
                description: "Writer agent: MySQL in the VPC, HTTPS to AWS APIs; no ingress",
                tags: this.tagged(`${this.name}-sg`),
            },
            { parent: this },
        );
        new aws.vpc.SecurityGroupEgressRule(
            `${this.name}-out-mysql`,
            {
                securityGroupId: sg.id,
                cidrIpv4: this.args.vpcCidr,
                ipProtocol: "tcp",
                fromPort: this.args.dbPort,
                toPort: this.args.dbPort,
                description: "MySQL inside the VPC",
                tags: this.tagged(`${this.name}-out-mysql`),
            },
            { parent: this },
        );
        new aws.vpc.SecurityGroupEgressRule(
            `${this.name}-out-https`,
            {
                securityGroupId: sg.id,
                cidrIpv4: "0.0.0.0/0",
                ipProtocol: "tcp",
                fromPort: 443,
                toPort: 443,
                description: "DynamoDB (the lease, maybe in another region) and Secrets Manager, through NAT",
                tags: this.tagged(`${this.name}-out-https`),
            },
            { parent: this },
        );
        return sg;
    }

    private createRole(logGroup: aws.cloudwatch.LogGroup): aws.iam.Role {
        const role = new aws.iam.Role(
            `${this.name}-role`,
            { assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"), tags: this.tagged(`${this.name}-role`) },
            { parent: this },
        );
        // A VPC function's network interfaces: AWS's managed policy for exactly that.
        new aws.iam.RolePolicyAttachment(
            `${this.name}-vpc-access`,
            { role: role.name, policyArn: `arn:${this.args.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole` },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${this.name}-permissions`,
            {
                role: role.id,
                policy: logGroup.arn.apply((logGroupArn) =>
                    JSON.stringify(
                        writerAgentPolicy({
                            partition: this.args.partition,
                            accountId: this.args.accountId,
                            region: this.args.region,
                            leaseTableArn: leaseTableArn(this.args.partition, this.args.accountId, this.leaseRegion, this.args.project),
                            logGroupArn,
                            secretNames: [this.args.masterSecretName, this.args.appSecretName],
                        }),
                    ),
                ),
            },
            { parent: this },
        );
        return role;
    }

    /** The agent's configuration, which the replica reader shares (its database, its master secret, the fence's schema). */
    private agentConfig(): AgentConfig {
        const a = this.args;
        return {
            region: a.region,
            writerRegion: a.writerRegion,
            leaseTable: leaseTableName(a.project),
            leaseRegion: this.leaseRegion,
            masterSecret: a.masterSecretName,
            appSecret: a.appSecretName,
            appUser: APP_DB_USER,
            appSchemas: a.appSchemas,
            dbHost: a.dbHost,
            dbPort: a.dbPort,
            schema: DEFAULT_FENCE_SCHEMA,
            timing: DEFAULT_LEASE_TIMING,
        };
    }

    /**
     * The replica reader: a small VPC function beside the database, in the agent's security
     * group, that the failover controller (outside the VPC) invokes to read the standby's replica
     * for the loss window (failover/lambda/replicaHandler.ts). Reads only, with the master user
     * (SHOW REPLICA STATUS needs REPLICATION CLIENT, which RDS grants the master user: "Master
     * user account privileges", UsingWithRDS.MasterAccounts.html). Not scheduled: invoked.
     */
    private createReplicaReader(sg: aws.ec2.SecurityGroup): aws.lambda.Function {
        const a = this.args;
        const name = replicaReaderName(a.project);
        const logGroup = new aws.cloudwatch.LogGroup(
            `${this.name}-reader-logs`,
            { name: `/aws/lambda/${name}`, retentionInDays: a.logRetentionDays ?? 30, tags: this.tagged(`${this.name}-reader-logs`) },
            { parent: this },
        );
        const role = new aws.iam.Role(
            `${this.name}-reader-role`,
            { assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"), tags: this.tagged(`${this.name}-reader-role`) },
            { parent: this },
        );
        const vpcAccess = new aws.iam.RolePolicyAttachment(
            `${this.name}-reader-vpc-access`,
            { role: role.name, policyArn: `arn:${a.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole` },
            { parent: this },
        );
        const permissions = new aws.iam.RolePolicy(
            `${this.name}-reader-permissions`,
            {
                role: role.id,
                policy: logGroup.arn.apply((logGroupArn) =>
                    JSON.stringify(
                        replicaReaderPolicy({
                            partition: a.partition,
                            accountId: a.accountId,
                            region: a.region,
                            logGroupArn,
                            masterSecretName: a.masterSecretName,
                        }),
                    ),
                ),
            },
            { parent: this },
        );
        return new aws.lambda.Function(
            `${this.name}-reader-function`,
            {
                name,
                runtime: LAMBDA_RUNTIME,
                handler: REPLICA_READER_HANDLER,
                code: lambdaCode(),
                role: role.arn,
                memorySize: 256,
                timeout: REPLICA_READER_TIMEOUT_SECONDS,
                vpcConfig: { subnetIds: a.subnetIds, securityGroupIds: [sg.id] },
                environment: { variables: { AGENT_CONFIG: JSON.stringify(this.agentConfig()) } },
                loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
                tags: this.tagged(`${this.name}-reader-function`),
            },
            // The role's network-interface rights must be there when Lambda creates the VPC function.
            { parent: this, dependsOn: [logGroup, vpcAccess, permissions] },
        );
    }

    private createFunction(role: aws.iam.Role, sg: aws.ec2.SecurityGroup, logGroup: aws.cloudwatch.LogGroup): aws.lambda.Function {
        const a = this.args;
        const config = this.agentConfig();
        return new aws.lambda.Function(
            `${this.name}-function`,
            {
                name: this.prefix,
                runtime: LAMBDA_RUNTIME,
                handler: AGENT_HANDLER,
                code: lambdaCode(),
                role: role.arn,
                memorySize: 256,
                // Each run renews for 75 s (failover/lambda/agentHandler.ts AGENT_RUN_MS): longer
                // than the schedule's minute, so two runs overlap; 90 s leaves time to close.
                timeout: 90,
                vpcConfig: { subnetIds: a.subnetIds, securityGroupIds: [sg.id] },
                environment: { variables: { AGENT_CONFIG: JSON.stringify(config) } },
                loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
                tags: this.tagged(`${this.name}-function`),
            },
            { parent: this, dependsOn: [logGroup] },
        );
    }
}

/** The replica reader's time: its longest wait (failover/lambda/replicaHandler.ts REPLICA_READ_MAX_WAIT_MS) and a connection. */
const REPLICA_READER_TIMEOUT_SECONDS = 60;

/** Reading this region's database secrets: the secrets, and their key only through Secrets Manager. */
function credentialStatements(p: { partition: string; accountId: string; region: string; secretNames: readonly string[] }): object[] {
    const secretArns = p.secretNames.map((n) => `arn:${p.partition}:secretsmanager:${p.region}:${p.accountId}:secret:${n}-??????`);
    return [
        { Sid: "DatabaseCredentials", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArns },
        // The writer region's secrets are under the database's customer key: decrypt only
        // through Secrets Manager here, and only for these secrets (the encryption context
        // Secrets Manager sends names the secret).
        {
            Sid: "DecryptTheCredentials",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: `arn:${p.partition}:kms:${p.region}:${p.accountId}:key/*`,
            Condition: {
                StringEquals: { "kms:ViaService": `secretsmanager.${p.region}.amazonaws.com` },
                StringLike: { "kms:EncryptionContext:SecretARN": secretArns },
            },
        },
    ];
}

/** The replica reader's permissions: its logs and the master user's secret; no lease, no writes anywhere. */
export function replicaReaderPolicy(p: {
    partition: string;
    accountId: string;
    region: string;
    logGroupArn: string;
    masterSecretName: string;
}): object {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${p.logGroupArn}:*` },
            ...credentialStatements({ ...p, secretNames: [p.masterSecretName] }),
        ],
    };
}

/** The agent's permissions, each on the exact resources. */
export function writerAgentPolicy(p: {
    partition: string;
    accountId: string;
    region: string;
    leaseTableArn: string;
    logGroupArn: string;
    secretNames: readonly string[];
}): object {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${p.logGroupArn}:*` },
            // Read, establish (PutItem, only where absent), renew (UpdateItem): never delete.
            {
                Sid: "WriterLease",
                Effect: "Allow",
                Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                Resource: p.leaseTableArn,
                Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["writer"] } },
            },
            ...credentialStatements(p),
        ],
    };
}
