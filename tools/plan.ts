/**
 * The offline plan: what each stack would build and whether it complies, with no AWS
 * account and no Pulumi CLI. It runs the real program under the offline engine's mocks
 * (offline/, the same mocks and runner the tests use) and prints
 *   - the resources grouped by component, with their key settings (size, AZ, region, ...),
 *   - the verdicts of the policy pack (the same policies `pulumi preview --policy-pack
 *     policies` runs), with enforcement levels and how many resources each examined,
 *   - the known limits and the deploy warnings (placeholders the deploy wrapper refuses),
 *   - the differences between primary and dr beyond the allow-list.
 * It exits 1 when a mandatory policy fails, a policy examines nothing, parity breaks or the
 * program fails; 2 on a bad argument.
 */
import { parseArgs as parseCommandLine } from "util";
import { closest } from "fastest-levenshtein";
import { ConfigError } from "../lib/config";
import { estimate } from "../offline/cost";
import { type CostDiff, diffCosts, RefError, resolveCommit, runsAtRef, withAssumptionsOf } from "../offline/costDiff";
import { Plan, plan, PlanOptions, ResourceSettings, StackPlan } from "../offline/plan";
import { renderCost, renderCostDiff } from "./costText";
import type { RecordedResource, StackRun } from "../offline/run";
import { listStacks, readProjectFile, resolveStackConfig } from "../offline/stackConfig";

export const USAGE = `usage: npm run plan -- [options]

  --stack <stack>        one stack (repeatable); default: every stack (${listStacks().join(", ")})
  --preview              as a first preview sees it (IDs and computed values unknown)
  --set <key>=<value>    a config override, what-if (repeatable), e.g. ecommerce:webInstanceType=t3.large;
                         the value is taken as the stack file would hold it: text for a string,
                         number or boolean key, JSON for a list or map key (quote it for the
                         shell), e.g. 'ecommerce:eksApiAllowedCidrs=["198.51.100.7/32"]' 
  --as-of <YYYY-MM-DD>   judge version support windows (and the price table's age) on that day instead of today
  --cost-diff <git-ref>  also price the plan at that commit (its own program and stack files, this
                         commit's prices) and print what changes a month, per stack, component and
                         resource; --set applies to this side only, e.g. --cost-diff origin/main
  --cost-only            print only the cost (and the cost change) and the summary line, not the
                         trees, the policies and the parity (with --json: only cost, costDiff, ok
                         and summary)
  --json                 the plan as JSON on stdout; from npm use: npm run --silent plan -- --json
  --help                 this text

exit status: 0 plan OK, 1 a mandatory violation, a policy that examined nothing, broken parity
or a failed program, 2 a bad argument`;

/** The stacks a plan covers by default, in bootstrap order: the virtual IP, then the sites. */
const ALL_STACKS = ["global", "primary", "dr"];

export interface CliOptions extends PlanOptions {
    readonly json: boolean;
    readonly help: boolean;
    readonly costDiff?: string;
    readonly costOnly: boolean;
}

/** Every key a --set may name: the project's declared keys and the stacks' own. */
function knownKeys(): string[] {
    return [...new Set(listStacks().flatMap((stack) => Object.keys(resolveStackConfig(stack))))].sort();
}

/**
 * A list or map key takes JSON, as Pulumi stores it; a plain value there would reach the
 * program as text and fail for a reason that hides this one (a CIDR list read as one string).
 */
function structuredValueProblem(key: string, value: string): string | undefined {
    const project = readProjectFile();
    const [namespace, name] = key.split(":");
    if (namespace !== project.name) {
        return undefined;
    }
    const decl = (project.config as Record<string, { type?: string; value?: unknown; default?: unknown }>)[name];
    const sample = decl?.value ?? decl?.default;
    const kind =
        decl?.type === "array" || (decl?.type === undefined && Array.isArray(sample))
            ? "list"
            : decl?.type === "object" || (decl?.type === undefined && sample !== null && typeof sample === "object")
              ? "map"
              : undefined;
    if (kind === undefined) {
        return undefined;
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch {
        parsed = undefined;
    }
    const fits = kind === "list" ? Array.isArray(parsed) : parsed !== null && typeof parsed === "object" && !Array.isArray(parsed);
    if (fits) {
        return undefined;
    }
    // A comma list is the likeliest plain value for a list: each item becomes one element.
    const items = value
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v !== "");
    const example = kind === "list" ? `'${key}=${JSON.stringify(items)}'` : `'${key}={"us-east-2": ...}'`;
    return `${key} is a ${kind} key: give its value as JSON ${kind === "list" ? "(a list)" : "(an object)"}, quoted for the shell, e.g. --set ${example}`;
}

export function parseArgs(argv: readonly string[]): CliOptions {
    let parsed;
    try {
        parsed = parseCommandLine({
            args: [...argv],
            options: {
                stack: { type: "string", multiple: true },
                json: { type: "boolean" },
                preview: { type: "boolean" },
                set: { type: "string", multiple: true },
                "as-of": { type: "string" },
                "cost-diff": { type: "string" },
                "cost-only": { type: "boolean" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: false,
        }).values;
    } catch (err) {
        throw new Error(`${(err as Error).message}\n\n${USAGE}`, { cause: err });
    }
    const stacks = parsed.stack ?? [];
    for (const stack of stacks) {
        if (!listStacks().includes(stack)) {
            throw new Error(`--stack ${stack}: expected one of ${listStacks().join(", ")}`);
        }
    }
    const config: Record<string, string> = {};
    const keys = knownKeys();
    for (const pair of parsed.set ?? []) {
        const eq = pair.indexOf("=");
        const key = pair.slice(0, eq);
        if (eq <= 0 || !key.includes(":")) {
            throw new Error(`--set ${pair}: expected <namespace:key>=<value>, e.g. ecommerce:webInstanceType=t3.large`);
        }
        if (!keys.includes(key)) {
            throw new Error(`--set ${pair}: ${key} is not a config key of this project (did you mean ${closest(key, keys)}?)`);
        }
        const value = pair.slice(eq + 1);
        const problem = structuredValueProblem(key, value);
        if (problem !== undefined) {
            throw new Error(`--set ${pair}: ${problem}`);
        }
        config[key] = value;
    }
    const asOf = parsed["as-of"];
    if (asOf !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(Date.parse(`${asOf}T00:00:00Z`)))) {
        throw new Error(`--as-of ${asOf}: expected a date YYYY-MM-DD`);
    }
    return {
        evaluationDate: asOf,
        stacks: stacks.length > 0 ? stacks : ALL_STACKS.filter((s) => listStacks().includes(s)),
        json: parsed.json ?? false,
        preview: parsed.preview ?? false,
        help: parsed.help ?? false,
        costDiff: parsed["cost-diff"],
        costOnly: parsed["cost-only"] ?? false,
        config,
    };
}

// --- text -------------------------------------------------------------------------------------

/** `aws:ec2/launchTemplate:LaunchTemplate` -> `aws.ec2.LaunchTemplate`, `eks:index:Cluster` -> `eks.Cluster`. */
function short(type: string): string {
    const [pkg, mod, name] = type.split(":");
    const module = (mod ?? "").split("/")[0];
    return `${pkg === "kubernetes" ? "k8s" : pkg}.${module === "index" || module === "" ? "" : `${module}.`}${name ?? ""}`;
}

/** The settings as the tree shows them: `size t3.large; AZ us-west-1c`. */
export function describeSettings(s: ResourceSettings): string {
    const parts: string[] = [];
    const add = (label: string, v: string | number | readonly string[] | undefined) => {
        if (v !== undefined && v !== "" && !(Array.isArray(v) && v.length === 0)) {
            parts.push(`${label} ${Array.isArray(v) ? v.join(",") : String(v)}`);
        }
    };
    add("size", s.size);
    if (s.min !== undefined) {
        parts.push(`min ${s.min} desired ${s.desired} max ${s.max}`);
    }
    add("AZs", s.zones);
    add("cidr", s.cidr);
    add("AZ", s.zone);
    add("engine", s.engine);
    add("multi-AZ", s.multiAz ? "yes" : undefined);
    add("replicates", s.replicates);
    add("chart", s.chart);
    add("k8s", s.kubernetes);
    add("api", s.apiAllowedCidrs);
    add("ip", s.addresses);
    add("port", s.port);
    add("from", s.from);
    add("to", s.to);
    add("region", s.region);
    add("runtime", s.runtime);
    add("watches", s.watches);
    add("renews", s.renews);
    add("schedule", s.schedule);
    add("dial", s.trafficDial === undefined ? undefined : `${s.trafficDial}%`);
    add("weights", s.weights);
    add("ip", s.staticIps);
    add("dns", s.dnsName);
    add("replica in", s.replicaRegions);
    add("object lock", s.objectLock ? "on (set at creation)" : undefined);
    add("retention", s.retention);
    add("lifecycle", s.lifecycle);
    if (s.protected) {
        parts.push("protected");
    }
    return parts.join("; ");
}

function renderTree(stack: StackPlan, run: StackRun): string[] {
    const lines: string[] = [];
    const root = run.resources.find((r: RecordedResource) => r.type === "pulumi:pulumi:Stack");
    const children = (parent: string | undefined) => stack.resources.filter((r) => r.parent === parent);
    const countDeep = (urn: string): number => children(urn).reduce((n, c) => n + 1 + countDeep(c.urn), 0);
    const walk = (r: StackPlan["resources"][number], prefix: string, last: boolean) => {
        const settings = describeSettings(r.settings);
        const label = r.type.startsWith("ecommerce:")
            ? `${r.type.split(":")[2]} ${r.name} (${countDeep(r.urn)} resource${countDeep(r.urn) === 1 ? "" : "s"})`
            : `${short(r.type)} ${r.name}`;
        lines.push(`${prefix}${last ? "└─ " : "├─ "}${label}${settings ? `  [${settings}]` : ""}`);
        const kids = children(r.urn);
        kids.forEach((k, i) => walk(k, `${prefix}${last ? "   " : "│  "}`, i === kids.length - 1));
    };
    const top = children(root?.urn);
    top.forEach((r, i) => walk(r, "", i === top.length - 1));
    return lines;
}

/** Only the cost sections and the summary (--cost-only): what a reviewer of a change reads. */
export function renderCostText(p: Plan, diff?: CostDiff): string {
    const out = p.ok ? [] : [p.summary];
    if (p.cost !== undefined) {
        out.push(...renderCost(p.cost));
    }
    if (diff !== undefined) {
        out.push(...renderCostDiff(diff));
    }
    out.push("", p.summary);
    return out.join("\n");
}

export function renderText(p: Plan, runs: readonly StackRun[], diff?: CostDiff): string {
    // A failure is the first thing a reader sees, and the last.
    const out: string[] = p.ok ? [] : [p.summary];
    for (const s of p.stacks) {
        const run = runs.find((r) => r.stack === s.stack)!;
        out.push(
            `\n=== stack ${s.stack}: ${s.region}, role ${s.role}, ${s.resources.length} resources${run.preview ? " (as a first preview)" : ""}`,
        );
        if (s.errors.length > 0) {
            out.push("program errors:", ...s.errors.map((e) => `  ! ${e}`));
            continue;
        }
        out.push(...renderTree(s, run));
        out.push(`\n--- policies (${s.verdicts.length}, the pack pulumi preview --policy-pack policies runs)`);
        for (const v of s.verdicts) {
            const failed = v.enforcementLevel === "mandatory" ? "FAIL" : "WARN";
            const status = v.notApplicable ? "n/a" : v.violations.length === 0 ? "pass" : `${failed} (${v.violations.length})`;
            out.push(
                `  ${status.padEnd(9)} ${v.policy.padEnd(38)} ${v.enforcementLevel.padEnd(9)} ${v.notApplicable ? `n/a (${v.notApplicable})` : `examined ${v.examined}`}`,
            );
            out.push(
                ...v.violations.map((x) => {
                    const key = s.violations.find((y) => y.policy === v.policy && y.message === x.message)?.configKey;
                    return `            - ${x.message}${key ? ` [config ${key}]` : ""}`;
                }),
            );
            out.push(...v.cannotRun.map((x) => `            ? cannot run during preview: ${x}`));
        }
        if (s.limits.length > 0) {
            out.push("\n--- known limits", ...s.limits.map((l) => `  * ${l}`));
        }
        if (s.warnings.length > 0) {
            out.push(
                "\n--- deploy warnings (the deploy wrapper refuses a real preview or up until these are set)",
                ...s.warnings.map((w) => `  ! ${w}`),
            );
        }
    }
    if (p.cost !== undefined) {
        out.push(...renderCost(p.cost));
    }
    if (diff !== undefined) {
        out.push(...renderCostDiff(diff));
    }
    if (p.parity) {
        out.push(`\n=== parity primary vs dr: ${p.parity.explained} differences on the allow-list (region, zones, role)`);
        out.push(...p.parity.unexplained.map((d) => `  UNEXPLAINED ${d}`));
        out.push(...p.parity.staleEntries.map((e) => `  STALE allow-list entry ${e}`));
        if (p.parity.unexplained.length === 0 && p.parity.staleEntries.length === 0) {
            out.push("  no other difference");
        }
    } else if (p.stacks.length < 2) {
        out.push("\n=== parity: skipped (one stack)");
    }
    out.push("", p.summary);
    return out.join("\n");
}

/** Where the CLI writes: the process's streams, or a test's buffers. */
export interface Output {
    stdout(text: string): void;
    stderr(text: string): void;
}

const PROCESS_OUTPUT: Output = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
};

/** The whole CLI; resolves to the exit code: 0 plan OK, 1 plan failed, 2 bad arguments. */
export async function main(argv: readonly string[], output: Output = PROCESS_OUTPUT): Promise<number> {
    let options: CliOptions;
    try {
        options = parseArgs(argv);
    } catch (err) {
        output.stderr(`plan: ${(err as Error).message}\n`);
        return 2;
    }
    if (options.help) {
        output.stdout(`${USAGE}\n`);
        return 0;
    }
    if (options.costDiff !== undefined) {
        // A bad reference is refused before anything runs.
        try {
            resolveCommit(options.costDiff);
        } catch (err) {
            output.stderr(`plan: ${(err as Error).message}\n`);
            return 2;
        }
    }
    const { plan: result, runs } = await plan(options);
    let diff: CostDiff | undefined;
    if (options.costDiff !== undefined && result.cost === undefined) {
        output.stderr(`plan: --cost-diff ${options.costDiff} skipped: this plan has no cost estimate (${result.summary})\n`);
    }
    if (options.costDiff !== undefined && result.cost !== undefined) {
        try {
            const before = runsAtRef(options.costDiff, options.stacks, options.preview);
            const roles = Object.fromEntries(result.stacks.map((s) => [s.stack, s.role]));
            const asOf = options.evaluationDate ?? new Date();
            const priced = estimate(withAssumptionsOf(before.runs), roles, asOf);
            diff = diffCosts(priced, result.cost, options.costDiff, before.commit);
        } catch (err) {
            if (!(err instanceof RefError) && !(err instanceof ConfigError)) {
                throw err;
            }
            const why =
                err instanceof ConfigError
                    ? `--cost-diff ${options.costDiff}: its stacks' cost assumptions are refused here: ${err.problems.join("; ")}`
                    : err.message;
            output.stderr(`plan: ${why}\n`);
            return 2;
        }
    }
    output.stdout(
        options.json
            ? `${JSON.stringify(
                  options.costOnly
                      ? { cost: result.cost, ...(diff ? { costDiff: diff } : {}), ok: result.ok, summary: result.summary }
                      : diff
                        ? { ...result, costDiff: diff }
                        : result,
                  null,
                  2,
              )}\n`
            : `${options.costOnly ? renderCostText(result, diff) : renderText(result, runs, diff)}\n`,
    );
    return result.ok ? 0 : 1;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        // exitCode, not exit(): a piped stdout is flushed before the process ends.
        (code) => (process.exitCode = code),
        (err) => {
            process.stderr.write(`plan: ${err instanceof Error ? err.stack : String(err)}\n`);
            process.exitCode = 2;
        },
    );
}
