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
import { PROJECT_DIR, listStacks, readStackFile } from "../offline/stackConfig";

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

export const DEPLOY_USAGE = `usage: npm run preview -- <stack> [pulumi args]
       npm run up -- <stack> [pulumi args]
       npm run stack -- <${COMMANDS.join("|")}> <stack> [pulumi args]

Runs the Pulumi CLI for one stack (primary, dr, global) against that stack's own state backend
(ecommerce:stateBackend in Pulumi.<stack>.yaml), with the policy pack on preview and up. Before
preview, up and preflight it checks, without creating anything, that the stack's config holds
no placeholder, that its web AMI exists in its region, and (sites) that ecommerce:writerRegion
agrees with where the virtual IP sends traffic. Arguments after the stack go to pulumi, e.g.
npm run preview -- dr --diff (pulumi's own help: pulumi preview --help).

  init        pulumi stack init <stack> with the stack's KMS secrets provider
  preview     pulumi preview --stack <stack> --policy-pack policies
  up          pulumi up --stack <stack> --policy-pack policies
  refresh     pulumi refresh --stack <stack>
  preflight   the checks alone, without pulumi

Exit status: pulumi's; 2 bad usage or a failed preflight; 127 no Pulumi CLI.`;

async function main(argv: readonly string[]): Promise<number> {
    const [command, stack, ...extra] = argv;
    // Anywhere on the line: `up dr --help` must not run the preflight's AWS calls first.
    if (argv.some((a) => a === "--help" || a === "-h")) {
        process.stdout.write(`${DEPLOY_USAGE}\n`);
        return 0;
    }
    if (command === "preflight" && extra.length > 0) {
        process.stderr.write(`deploy: preflight takes no arguments after the stack, got ${extra.join(" ")} (--help says more)\n`);
        return 2;
    }
    let invocation: Invocation;
    try {
        invocation = planInvocation(command ?? "", stack, extra);
    } catch (err) {
        process.stderr.write(`deploy: ${(err as Error).message} (--help says more)\n`);
        return 2;
    }
    if (CHECKED_COMMANDS.includes(command)) {
        // Loaded only here: the AWS SDK clients take a while to load, and planInvocation alone
        // (the pull-request workflow's backend step) needs none of them.
        const { preflight } = await import("./preflight");
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
