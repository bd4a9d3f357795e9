/**
 * Deploy wrapper: runs the Pulumi CLI for one stack against that stack's own state
 * backend. Pulumi keeps backends outside stack files, so each stack file names its backend
 * in `ecommerce:stateBackend`; this wrapper exports it as PULUMI_BACKEND_URL, so `dr` is
 * always deployed from state that lives in us-west-1 and never touches us-east-2's.
 *
 *   npm run preview -- dr            pulumi preview --stack dr --policy-pack policies
 *   npm run up -- primary            pulumi up --stack primary --policy-pack policies
 *   npm run stack -- init dr         pulumi stack init dr --secrets-provider <from Pulumi.dr.yaml>
 *   npm run stack -- refresh dr      pulumi refresh --stack dr
 *   npm run stack -- preflight dr    the checks below, without running pulumi
 *
 * Before a preview or an update it refuses to start, before anything is created, while the
 * stack's config holds a placeholder that guarantees a failed deploy (lib/placeholders.ts),
 * names a baked AMI that does not exist in the stack's region (EC2 DescribeImages, with the
 * caller's AWS credentials), or, for a site, disagrees with where the virtual IP sends traffic
 * now (Global Accelerator ListEndpointGroups in us-west-2): after the failover controller has
 * moved traffic, an `up` before ecommerce:writerRegion is set would move it back. Extra
 * arguments after the stack name go to pulumi unchanged (e.g. `--diff`).
 */
import { spawnSync } from "child_process";
import { DescribeImagesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GlobalAcceleratorClient, ListEndpointGroupsCommand, type EndpointGroup } from "@aws-sdk/client-global-accelerator";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { listenerArnParameterName } from "../lib/accelerator";
import { GLOBAL_REGION } from "../lib/regions";
import { ConfigError, GlobalConfig, parseStackConfig, PlatformConfig } from "../lib/config";
import { describePlaceholder, placeholdersIn } from "../lib/placeholders";
import { PROJECT_DIR, listStacks, readStackFile, resolveStackConfig } from "../offline/stackConfig";

export const COMMANDS = ["init", "preview", "up", "refresh", "preflight"] as const;
/** Commands that talk to AWS through Pulumi: the preflight checks run first. */
const CHECKED_COMMANDS: readonly string[] = ["preview", "up", "preflight"];
export type Command = (typeof COMMANDS)[number];

export interface Invocation {
    readonly command: "pulumi";
    readonly args: readonly string[];
    /** Environment variables set on top of the caller's. */
    readonly env: Readonly<Record<string, string>>;
}

function regionOf(url: string): string | undefined {
    const query = url.split("?")[1];
    return query ? (new URLSearchParams(query).get("region") ?? undefined) : undefined;
}

/** What to run for `command` on `stack`; throws with a usage message on bad input. */
export function planInvocation(command: string, stack: string | undefined, extra: readonly string[] = [], dir = PROJECT_DIR): Invocation {
    const stacks = listStacks(dir);
    if (!(COMMANDS as readonly string[]).includes(command)) {
        throw new Error(`unknown command "${command}": expected one of ${COMMANDS.join(", ")}`);
    }
    if (!stack || !stacks.includes(stack)) {
        throw new Error(
            `stack ${stack === undefined ? "(missing)" : `"${stack}"`} is not one of ${stacks.join(", ")}: usage: npm run ${command} -- <stack> [pulumi args]`,
        );
    }
    const file = readStackFile(stack, dir);
    const region = file.config["aws:region"];
    const backend = file.config["ecommerce:stateBackend"];
    if (typeof backend !== "string" || !backend.startsWith("s3://")) {
        throw new Error(
            `Pulumi.${stack}.yaml: ecommerce:stateBackend = ${JSON.stringify(backend)}: expected the stack's s3:// state bucket`,
        );
    }
    if (regionOf(backend) !== region) {
        throw new Error(`Pulumi.${stack}.yaml: the state backend ${backend} is not in the stack's region ${String(region)}`);
    }
    const secrets = file.secretsprovider;
    if (!secrets || !secrets.startsWith("awskms://") || regionOf(secrets) !== region) {
        throw new Error(
            `Pulumi.${stack}.yaml: secretsprovider = ${JSON.stringify(secrets)}: expected an awskms:// key in ${String(region)}`,
        );
    }
    // The policy pack checks every preview and update, on laptops as in CI.
    const args: string[] =
        command === "init"
            ? ["stack", "init", stack, "--secrets-provider", secrets]
            : command === "refresh"
              ? ["refresh", "--stack", stack]
              : command === "preflight"
                ? []
                : [command, "--stack", stack, "--policy-pack", "policies"];
    return { command: "pulumi", args: [...args, ...extra], env: { PULUMI_BACKEND_URL: backend } };
}

/**
 * Why a real preview or update of `stack` would fail before it starts: config problems,
 * placeholders, a baked AMI missing from the region, all at once. Empty when it may go ahead.
 * The EC2 client is the caller's (tests pass a mocked one); an AWS error is a problem too
 * (the check could not be made), naming the call, the region and the filter.
 */
/** The AWS clients the preflight uses, by region (tests pass mocked ones). */
export interface AwsClients {
    readonly ec2: (region: string) => EC2Client;
    readonly ssm: (region: string) => SSMClient;
    readonly globalAccelerator: () => GlobalAcceleratorClient;
}

const DEFAULT_CLIENTS: AwsClients = {
    ec2: (region) => new EC2Client({ region, maxAttempts: 5 }),
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
    const [missingAmi, traffic] = await Promise.all([bakedAmiProblem(cfg, aws.ec2(cfg.region)), trafficProblem(cfg, aws)]);
    return [...problems, ...[missingAmi, traffic].filter((p): p is string => p !== undefined)];
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
        `after a failover set writerRegion: ${serving[0]} in Pulumi.yaml first (README, "After a failover"), or this ${cfg.stack} update could move traffic back`
    );
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

async function main(argv: readonly string[]): Promise<number> {
    const [command, stack, ...extra] = argv;
    let invocation: Invocation;
    try {
        invocation = planInvocation(command ?? "", stack, extra);
    } catch (err) {
        process.stderr.write(`deploy: ${(err as Error).message}\n`);
        return 2;
    }
    if (CHECKED_COMMANDS.includes(command)) {
        const problems = await preflight(stack);
        if (problems.length > 0) {
            process.stderr.write(
                `deploy: ${stack} is not ready for a real ${command}; nothing was started:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`,
            );
            return 2;
        }
        if (command === "preflight") {
            process.stderr.write(`deploy: preflight OK for ${stack}\n`);
            return 0;
        }
    }
    process.stderr.write(`deploy: PULUMI_BACKEND_URL=${invocation.env.PULUMI_BACKEND_URL} pulumi ${invocation.args.join(" ")}\n`);
    const result = spawnSync(invocation.command, invocation.args, {
        cwd: PROJECT_DIR,
        stdio: "inherit",
        env: { ...process.env, ...invocation.env },
    });
    if (result.error) {
        const missing = (result.error as NodeJS.ErrnoException).code === "ENOENT";
        process.stderr.write(
            `deploy: ${missing ? "the Pulumi CLI is not installed (https://www.pulumi.com/docs/install/)" : result.error.message}\n`,
        );
        return 127;
    }
    return result.status ?? 1;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err) => {
            process.stderr.write(`deploy: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(2);
        },
    );
}
