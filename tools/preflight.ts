/**
 * The deploy wrapper's preflight: why a real preview or update of a stack would fail before
 * it starts, asked of the config and of AWS (with the caller's credentials) before Pulumi
 * runs. tools/deploy.ts runs it before `preview` and `up`, and alone as `preflight`.
 */
import { DescribeImagesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GlobalAcceleratorClient, ListEndpointGroupsCommand, type EndpointGroup } from "@aws-sdk/client-global-accelerator";
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { DescribeSourceRegionsCommand, RDSClient } from "@aws-sdk/client-rds";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { listenerArnParameterName } from "../lib/accelerator";
import { ConfigError, GlobalConfig, parseStackConfig, PlatformConfig } from "../lib/config";
import { FAILOVER_RESERVED_CONCURRENCY, failoverName, minimumUnreservedConcurrency } from "../lib/failoverNaming";
import { describePlaceholder, placeholdersIn } from "../lib/placeholders";
import { GLOBAL_REGION } from "../lib/regions";
import { PROJECT_DIR, resolveStackConfig } from "../offline/stackConfig";

/**
 * Why a real preview or update of `stack` would fail before it starts: config problems,
 * placeholders, a baked AMI missing from the region, all at once. Empty when it may go ahead.
 * The EC2 client is the caller's (tests pass a mocked one); an AWS error is a problem too
 * (the check could not be made), naming the call, the region and the filter.
 */
/** The AWS clients the preflight uses, by region (tests pass mocked ones). */
export interface AwsClients {
    readonly ec2: (region: string) => EC2Client;
    readonly lambda: (region: string) => LambdaClient;
    readonly rds: (region: string) => RDSClient;
    readonly ssm: (region: string) => SSMClient;
    readonly globalAccelerator: () => GlobalAcceleratorClient;
}

const DEFAULT_CLIENTS: AwsClients = {
    ec2: (region) => new EC2Client({ region, maxAttempts: 5 }),
    lambda: (region) => new LambdaClient({ region, maxAttempts: 5 }),
    rds: (region) => new RDSClient({ region, maxAttempts: 5 }),
    ssm: (region) => new SSMClient({ region, maxAttempts: 5 }),
    // Global Accelerator's API answers only in us-west-2.
    globalAccelerator: () => new GlobalAcceleratorClient({ region: GLOBAL_REGION, maxAttempts: 5 }),
};

export async function preflight(stack: string, clients: Partial<AwsClients> = {}, dir = PROJECT_DIR): Promise<string[]> {
    const aws: AwsClients = { ...DEFAULT_CLIENTS, ...clients };
    const raw = resolveStackConfig(stack, dir);
    let cfg: PlatformConfig | GlobalConfig;
    try {
        cfg = parseStackConfig((k) => raw[k], stack);
    } catch (err) {
        if (err instanceof ConfigError) {
            return [...err.problems];
        }
        throw err;
    }
    const problems = placeholdersIn(cfg).map(describePlaceholder);
    if (cfg.kind === "global") {
        return problems; // no servers, no AMI
    }
    const found = await Promise.all([
        bakedAmiProblem(cfg, aws.ec2(cfg.region)),
        trafficProblem(cfg, aws),
        concurrencyProblem(cfg, aws.lambda(cfg.region)),
        backupReplicationProblem(cfg, aws),
    ]);
    return [...problems, ...found.filter((p): p is string => p !== undefined)];
}

/** A group serves when its dial is above 0 and it holds an endpoint weighted above 0. */
function serves(group: EndpointGroup): boolean {
    return (group.TrafficDialPercentage ?? 100) > 0 && (group.EndpointDescriptions ?? []).some((e) => (e.Weight ?? 0) > 0);
}

/**
 * Where the virtual IP sends traffic now, against ecommerce:writerRegion. The program sets a
 * site's endpoint group from writerRegion; if the controller has moved traffic and the config
 * does not say so yet, a `pulumi up` that updates the group (a refresh, any changed input of
 * it) would move traffic back to the old writer, or empty the new writer's group. Before the
 * global stack or any group exists there is nothing to disagree with. A failed lookup refuses
 * too: the check could not be made.
 */
async function trafficProblem(cfg: PlatformConfig, aws: AwsClients): Promise<string | undefined> {
    const name = listenerArnParameterName(cfg.project);
    let listenerArn: string | undefined;
    try {
        const result = await aws.ssm(GLOBAL_REGION).send(new GetParameterCommand({ Name: name }));
        listenerArn = result.Parameter?.Value;
    } catch (err) {
        if ((err as Error).name === "ParameterNotFound") {
            return `the virtual IP's listener is not published (SSM parameter ${name} in ${GLOBAL_REGION}): deploy the global stack first (npm run up -- global)`;
        }
        return `could not read which listener the virtual IP uses: SSM GetParameter ${name} in ${GLOBAL_REGION} failed: ${(err as Error).message}`;
    }
    const groups: EndpointGroup[] = [];
    try {
        let token: string | undefined;
        do {
            const page = await aws.globalAccelerator().send(new ListEndpointGroupsCommand({ ListenerArn: listenerArn, NextToken: token }));
            groups.push(...(page.EndpointGroups ?? []));
            token = page.NextToken;
        } while (token !== undefined);
    } catch (err) {
        return `could not check where the virtual IP sends traffic: Global Accelerator ListEndpointGroups (${listenerArn}) in ${GLOBAL_REGION} failed: ${(err as Error).message}`;
    }
    if (groups.length === 0) {
        return undefined;
    }
    const serving = groups.filter(serves).map((g) => g.EndpointGroupRegion ?? "?");
    if (serving.length === 1 && serving[0] === cfg.writerRegion) {
        return undefined;
    }
    if (serving.length === 0) {
        return (
            `ecommerce:writerRegion = ${JSON.stringify(cfg.writerRegion)}, but the virtual IP serves no site now (a failover stopped between its fence and its move?): ` +
            "finish the failover (npm run failover -- status, then watch or failover to resume it) before any pulumi up"
        );
    }
    return (
        `ecommerce:writerRegion = ${JSON.stringify(cfg.writerRegion)}, but the virtual IP sends traffic to ${serving.join(" and ")}: ` +
        `after a failover set writerRegion: ${serving[0]} in Pulumi.yaml first (docs/RUNBOOK.md, "After a failover"), or this ${cfg.stack} update could move traffic back`
    );
}

/**
 * The failover controller reserves concurrency; Lambda refuses a reservation that leaves less
 * than its minimum unreserved (lib/failoverNaming.ts), and the function's creation would fail
 * in the middle of the update. A function that already holds its reservation needs no more.
 */
async function concurrencyProblem(cfg: PlatformConfig, lambda: LambdaClient): Promise<string | undefined> {
    const functionName = failoverName(cfg.project);
    let quota: number, unreserved: number, held: number;
    try {
        const [settings, current] = await Promise.all([
            lambda.send(new GetAccountSettingsCommand({})),
            lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: functionName })).catch((err: Error) => {
                if (err.name === "ResourceNotFoundException") {
                    return { ReservedConcurrentExecutions: 0 }; // not deployed yet
                }
                throw err;
            }),
        ]);
        quota = settings.AccountLimit?.ConcurrentExecutions ?? 0;
        unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions ?? 0;
        held = current.ReservedConcurrentExecutions ?? 0;
    } catch (err) {
        return `could not check the Lambda concurrency the failover controller reserves: Lambda GetAccountSettings / GetFunctionConcurrency (${functionName}) in ${cfg.region} failed: ${(err as Error).message}`;
    }
    const needed = Math.max(0, FAILOVER_RESERVED_CONCURRENCY - held);
    const minimum = minimumUnreservedConcurrency(quota);
    if (unreserved - needed >= minimum) {
        return undefined;
    }
    return (
        `the failover controller (${functionName}) reserves ${FAILOVER_RESERVED_CONCURRENCY} concurrent execution, but ${cfg.region}'s Lambda account ` +
        `concurrency is ${quota} with ${unreserved} unreserved, and Lambda keeps at least ${minimum} unreserved: ask for a higher ` +
        `"Concurrent executions" quota in ${cfg.region} (Service Quotas, AWS Lambda, L-B99A9384) before deploying this stack`
    );
}

/**
 * The writer's RDS automated backups are replicated into the first backup region: RDS must
 * offer that pair (DescribeSourceRegions, asked in the destination:
 * SupportsDBInstanceAutomatedBackupsReplication), or the replication's creation fails in the
 * middle of the update. The standby replicates nothing: nothing to check.
 */
async function backupReplicationProblem(cfg: PlatformConfig, aws: AwsClients): Promise<string | undefined> {
    if (cfg.role !== "writer") {
        return undefined;
    }
    const destination = cfg.backups.regions[0];
    let supported: boolean | undefined;
    try {
        const out = await aws.rds(destination).send(new DescribeSourceRegionsCommand({ RegionName: cfg.region }));
        supported = out.SourceRegions?.find((r) => r.RegionName === cfg.region)?.SupportsDBInstanceAutomatedBackupsReplication;
    } catch (err) {
        return `could not check that RDS replicates automated backups from ${cfg.region} to ${destination}: RDS DescribeSourceRegions in ${destination} failed: ${(err as Error).message}`;
    }
    return supported === true
        ? undefined
        : `ecommerce:backupRegions = ${JSON.stringify(cfg.backups.regions)}: RDS does not replicate automated backups from ${cfg.region} to ${destination} ` +
              `(DescribeSourceRegions in ${destination}: SupportsDBInstanceAutomatedBackupsReplication ${supported ?? "not listed"}); put a supported destination first`;
}

/** The baked AMI the web tier would look up, checked the way it looks (newest x86_64 match, available). */
async function bakedAmiProblem(cfg: PlatformConfig, ec2: EC2Client): Promise<string | undefined> {
    const filter = cfg.web.amiNameFilter;
    if (filter === undefined) {
        return undefined;
    }
    let count: number;
    try {
        const found = await ec2.send(
            new DescribeImagesCommand({
                Owners: [cfg.web.amiOwner],
                Filters: [
                    { Name: "name", Values: [filter] },
                    { Name: "architecture", Values: ["x86_64"] },
                    { Name: "state", Values: ["available"] },
                ],
            }),
        );
        count = found.Images?.length ?? 0;
    } catch (err) {
        return (
            `ecommerce:webAmiNameFilter = ${JSON.stringify(filter)}: could not check that an AMI matches it in ${cfg.region}: ` +
            `EC2 DescribeImages (owner ${cfg.web.amiOwner}) failed: ${(err as Error).message}`
        );
    }
    return count > 0
        ? undefined
        : `ecommerce:webAmiNameFilter = ${JSON.stringify(filter)}: no available x86_64 AMI owned by ${cfg.web.amiOwner} matches it in ${cfg.region}; ` +
              `copy the pipeline's AMI to ${cfg.region}, or set ecommerce:webAmiNameFilter to "" and ecommerce:webArtifactUri to the release bundle`;
}
