/**
 * The offline plan: what each stack would build and whether it complies, with no AWS
 * account and no Pulumi CLI. It runs the real program under the offline engine's mocks (offline/, the
 * same mocks and runner the tests use), then prints
 *   - the resources grouped by component, with their key settings (size, AZ, region, ...),
 *   - the verdicts of the policy pack (the same policies `pulumi preview --policy-pack
 *     policies` runs), with enforcement levels and how many resources each examined,
 *   - the differences between primary and dr beyond the allow-list,
 *   - the known limits the run reveals.
 * It exits 1 when a mandatory policy fails, parity breaks or the program fails.
 *
 *   npm run plan                         both stacks
 *   npm run plan -- --stack dr           one stack (no parity)
 *   npm run plan -- --json               machine-readable
 *   npm run plan -- --preview            as a first preview (IDs unknown)
 *   npm run plan -- --set ecommerce:webInstanceType=t3.large    a config override (what-if)
 */
import type { PolicyVerdict } from "../offline/policyRunner";
import { mandatoryViolations, runPolicies } from "../offline/policyRunner";
import { compareStacks, formatDifference, ParityReport } from "../offline/parity";
import { PARITY_ALLOW_LIST } from "../offline/parityAllowList";
import { RecordedResource, runProgram, StackRun, UNKNOWN } from "../offline/run";
import { ALL_POLICIES } from "../policies/all";
import { listStacks } from "../offline/stackConfig";

export interface PlanOptions {
    readonly stacks: readonly string[];
    readonly json: boolean;
    readonly preview: boolean;
    readonly config: Readonly<Record<string, string>>;
}

const USAGE = "usage: npm run plan -- [--stack <stack>]... [--json] [--preview] [--set <key>=<value>]...";

export function parseArgs(argv: readonly string[]): PlanOptions {
    const stacks: string[] = [];
    const config: Record<string, string> = {};
    let json = false;
    let preview = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined) {
                throw new Error(`${arg} needs a value; ${USAGE}`);
            }
            return v;
        };
        if (arg === "--stack") {
            const stack = value();
            if (!listStacks().includes(stack)) {
                throw new Error(`--stack ${stack}: expected one of ${listStacks().join(", ")}`);
            }
            stacks.push(stack);
        } else if (arg === "--json") {
            json = true;
        } else if (arg === "--preview") {
            preview = true;
        } else if (arg === "--set") {
            const pair = value();
            const eq = pair.indexOf("=");
            if (eq <= 0 || !pair.slice(0, eq).includes(":")) {
                throw new Error(`--set ${pair}: expected <namespace:key>=<value>, e.g. ecommerce:webInstanceType=t3.large`);
            }
            config[pair.slice(0, eq)] = pair.slice(eq + 1);
        } else {
            throw new Error(`unknown argument ${arg}; ${USAGE}`);
        }
    }
    return { stacks: stacks.length > 0 ? stacks : ["primary", "dr"], json, preview, config };
}

// --- the tree ----------------------------------------------------------------------------------

/** `aws:ec2/launchTemplate:LaunchTemplate` -> `aws.ec2.LaunchTemplate`, `eks:index:Cluster` -> `eks.Cluster`. */
function short(type: string): string {
    const [pkg, mod, name] = type.split(":");
    const module = (mod ?? "").split("/")[0];
    return `${pkg === "kubernetes" ? "k8s" : pkg}.${module === "index" || module === "" ? "" : `${module}.`}${name ?? ""}`;
}

function zonesOf(run: StackRun, r: RecordedResource, property: string): string[] {
    return (r.propertyDependencies[property] ?? [])
        .map((urn) => run.resources.find((x) => x.urn === urn))
        .filter((x): x is RecordedResource => x?.type === "aws:ec2/subnet:Subnet")
        .map((s) => String(s.inputs.availabilityZoneId));
}

/** The settings worth seeing for a resource: size, count, zone, region, version, exposure. */
export function keySettings(run: StackRun, r: RecordedResource): string[] {
    const p = r.inputs;
    const s: string[] = [];
    const add = (label: string, v: unknown) => {
        if (v !== undefined && v !== null && v !== "") {
            s.push(`${label} ${Array.isArray(v) ? v.join(",") : v === UNKNOWN ? "(known after apply)" : String(v)}`);
        }
    };
    add("size", p.instanceType ?? p.instanceClass ?? p.instanceTypes);
    if (r.type === "aws:autoscaling/group:Group") {
        s.push(`min ${p.minSize} desired ${p.desiredCapacity} max ${p.maxSize}`);
        add("AZs", zonesOf(run, r, "vpcZoneIdentifiers"));
    }
    if (r.type === "eks:index:ManagedNodeGroup") {
        s.push(`min ${p.scalingConfig?.minSize} desired ${p.scalingConfig?.desiredSize} max ${p.scalingConfig?.maxSize}`);
        add("AZs", zonesOf(run, r, "subnetIds"));
    }
    if (r.type === "aws:ec2/subnet:Subnet") {
        add("cidr", p.cidrBlock);
        add("AZ", `${p.availabilityZoneId} (${r.outputs.availabilityZone})`);
    } else {
        add("AZ", p.availabilityZone);
    }
    add("cidr", r.type === "aws:ec2/vpc:Vpc" ? p.cidrBlock : undefined);
    add("engine", p.engine ? `${p.engine} ${p.engineVersion}` : undefined);
    add("multi-AZ", p.multiAz === true ? "yes" : undefined);
    add("replicates", p.replicateSourceDb);
    add("chart", p.chart ? `${p.chart} ${p.version}` : undefined);
    add("k8s", r.type === "eks:index:Cluster" ? p.version : undefined);
    add("api", r.type === "eks:index:Cluster" ? p.publicAccessCidrs : undefined);
    add("ip", r.type === "aws:ec2/networkInterface:NetworkInterface" ? p.privateIps : undefined);
    add(
        "port",
        r.type.startsWith("aws:vpc/securityGroup") ? (p.fromPort === p.toPort ? p.fromPort : `${p.fromPort}-${p.toPort}`) : undefined,
    );
    add("from", p.cidrIpv4 ?? p.cidrIpv6);
    add("region", typeof p.region === "string" ? p.region : undefined);
    add("replica in", Array.isArray(p.replicas) ? p.replicas.map((x: { region?: string }) => x.region) : undefined);
    if (r.protect) {
        s.push("protected");
    }
    return s;
}

function renderTree(run: StackRun): string[] {
    const lines: string[] = [];
    const children = (parent: string | undefined) => run.resources.filter((r) => r.parent === parent);
    const root = run.resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const walk = (r: RecordedResource, prefix: string, last: boolean) => {
        const kids = children(r.urn);
        const settings = keySettings(run, r);
        const label = r.type.startsWith("ecommerce:")
            ? `${r.type.split(":")[2]} ${r.name} (${countDeep(r)} resources)`
            : `${short(r.type)} ${r.name}`;
        lines.push(`${prefix}${last ? "└─ " : "├─ "}${label}${settings.length > 0 ? `  [${settings.join("; ")}]` : ""}`);
        kids.forEach((k, i) => walk(k, `${prefix}${last ? "   " : "│  "}`, i === kids.length - 1));
    };
    const countDeep = (r: RecordedResource): number => children(r.urn).reduce((n, c) => n + 1 + countDeep(c), 0);
    const top = children(root?.urn);
    top.forEach((r, i) => walk(r, "", i === top.length - 1));
    return lines;
}

// --- report --------------------------------------------------------------------------------------

export interface StackPlan {
    readonly stack: string;
    readonly region: string;
    readonly role: string;
    readonly resources: readonly { type: string; name: string; parent?: string; settings: string[] }[];
    readonly verdicts: readonly PolicyVerdict[];
    readonly limits: readonly string[];
    readonly errors: readonly string[];
}

export interface Plan {
    readonly stacks: readonly StackPlan[];
    readonly parity?: { readonly unexplained: readonly string[]; readonly staleEntries: readonly string[]; readonly explained: number };
    readonly ok: boolean;
    readonly summary: string;
}

function limitsOf(run: StackRun): string[] {
    const limits: string[] = [];
    if (run.outputs.redisSurvivesZoneLoss === false) {
        limits.push(
            `Redis: ${run.config["aws:region"]} has ${(run.outputs.availabilityZones ?? []).length} usable AZs, so two of the three Redis/Sentinel nodes share one; losing that zone loses the Sentinel majority (no automatic Redis failover until it returns).`,
        );
    }
    return limits;
}

export async function plan(options: PlanOptions): Promise<{ plan: Plan; runs: StackRun[] }> {
    const runs: StackRun[] = [];
    const stacks: StackPlan[] = [];
    for (const stack of options.stacks) {
        const run = await runProgram({ stack, preview: options.preview, config: options.config });
        runs.push(run);
        const verdicts = run.errors.length === 0 ? runPolicies(run, ALL_POLICIES) : [];
        stacks.push({
            stack,
            region: run.config["aws:region"],
            role: String(run.outputs.role ?? "?"),
            resources: run.resources
                .filter((r) => r.type !== "pulumi:pulumi:Stack")
                .map((r) => ({ type: r.type, name: r.name, parent: r.parent, settings: keySettings(run, r) })),
            verdicts,
            limits: run.errors.length === 0 ? limitsOf(run) : [],
            errors: run.errors,
        });
    }
    let parity: Plan["parity"];
    const primary = runs.find((r) => r.stack === "primary");
    const dr = runs.find((r) => r.stack === "dr");
    if (primary && dr && primary.errors.length === 0 && dr.errors.length === 0) {
        const report: ParityReport = compareStacks(primary, dr, PARITY_ALLOW_LIST);
        parity = {
            unexplained: report.unexplained.map(formatDifference),
            // In a preview, a value unknown in both stacks cannot differ: an entry explaining it
            // is idle, not stale. Staleness is judged on update runs (and by the tests).
            staleEntries: options.preview ? [] : report.unusedEntries.map((e) => `${e.type} ${String(e.name)} ${String(e.field)}`),
            explained: report.explained.length,
        };
    }
    const problems: string[] = [];
    for (const s of stacks) {
        if (s.errors.length > 0) {
            problems.push(`${s.stack}: the program failed`);
        }
        const failed = mandatoryViolations(s.verdicts);
        if (failed.length > 0) {
            problems.push(
                `${s.stack}: ${failed.length} mandatory violation${failed.length === 1 ? "" : "s"} (${[...new Set(failed.map((f) => f.policy))].join(", ")})`,
            );
        }
        const vacuous = s.verdicts.filter((v) => v.examined === 0).map((v) => v.policy);
        if (vacuous.length > 0) {
            problems.push(`${s.stack}: policies that examined nothing: ${vacuous.join(", ")}`);
        }
    }
    if (parity && (parity.unexplained.length > 0 || parity.staleEntries.length > 0)) {
        problems.push(
            `parity: ${parity.unexplained.length} unexplained difference(s), ${parity.staleEntries.length} stale allow-list entr${parity.staleEntries.length === 1 ? "y" : "ies"}`,
        );
    }
    const ok = problems.length === 0;
    const summary = ok
        ? `plan OK: ${stacks.map((s) => `${s.stack} (${s.resources.length} resources, ${s.verdicts.length} policies passed)`).join(", ")}${parity ? `; parity OK (${parity.explained} allowed differences)` : ""}`
        : `plan FAILED: ${problems.join("; ")}`;
    return { plan: { stacks, parity, ok, summary }, runs };
}

export function renderText(p: Plan, runs: readonly StackRun[]): string {
    const out: string[] = [];
    for (const s of p.stacks) {
        const run = runs.find((r) => r.stack === s.stack)!;
        out.push(
            `\n=== stack ${s.stack}: ${s.region}, role ${s.role}, ${s.resources.length} resources${run.preview ? " (as a first preview)" : ""}`,
        );
        if (s.errors.length > 0) {
            out.push("program errors:", ...s.errors.map((e) => `  ! ${e}`));
            continue;
        }
        out.push(...renderTree(run));
        out.push(`\n--- policies (${s.verdicts.length}, the pack pulumi preview --policy-pack policies runs)`);
        for (const v of s.verdicts) {
            const status = v.violations.length === 0 ? "pass" : `FAIL (${v.violations.length})`;
            out.push(`  ${status.padEnd(9)} ${v.policy.padEnd(38)} ${v.enforcementLevel.padEnd(9)} examined ${v.examined}`);
            out.push(...v.violations.map((x) => `            - ${x.message}`));
            out.push(...v.cannotRun.map((x) => `            ? cannot run during preview: ${x}`));
        }
        if (s.limits.length > 0) {
            out.push("\n--- known limits", ...s.limits.map((l) => `  * ${l}`));
        }
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

async function main(argv: readonly string[]): Promise<number> {
    let options: PlanOptions;
    try {
        options = parseArgs(argv);
    } catch (err) {
        process.stderr.write(`plan: ${(err as Error).message}\n`);
        return 2;
    }
    const { plan: result, runs } = await plan(options);
    process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${renderText(result, runs)}\n`);
    return result.ok ? 0 : 1;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err) => {
            process.stderr.write(`plan: ${err instanceof Error ? err.stack : String(err)}\n`);
            process.exit(2);
        },
    );
}
