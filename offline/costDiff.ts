/**
 * What a change costs: the plan at another commit priced beside this one (npm run plan --
 * --cost-diff <git-ref>). The other commit's own program runs under its own offline engine
 * (a copy of its tree from `git archive`, this checkout's node_modules), and both sides are
 * priced with THIS commit's price table and assumptions' parser, so the difference is the
 * infrastructure's, not the table's. --set overrides apply to this side only: "what would
 * this override cost against main".
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { COST_ASSUMPTION_KEYS } from "../lib/config";
import type { CostEstimate, CostItem, ResourceCost } from "./cost";
import type { StackRun } from "./run";
import { listStacks, PROJECT_DIR, resolveStackConfig } from "./stackConfig";

export interface ResourceChange {
    readonly stack: string;
    readonly tier: string;
    readonly name: string;
    readonly type: string;
    readonly beforeUsd: number;
    readonly afterUsd: number;
    readonly deltaUsd: number;
    /** What changed, as the items say it: `5 x t3.xlarge -> 5 x m5.2xlarge`, `added`, `removed`. */
    readonly detail: string;
}

export interface StackChange {
    readonly stack: string;
    readonly beforeUsd: number;
    readonly afterUsd: number;
    readonly deltaUsd: number;
    readonly tiers: readonly { readonly tier: string; readonly beforeUsd: number; readonly afterUsd: number; readonly deltaUsd: number }[];
}

export interface CostDiff {
    readonly ref: string;
    readonly commit: string;
    readonly beforeUsd: number;
    readonly afterUsd: number;
    readonly deltaUsd: number;
    readonly stacks: readonly StackChange[];
    /** Every resource whose monthly cost moved by a cent or more, the largest first. */
    readonly changes: readonly ResourceChange[];
    /** Resources this side could not price that the other side priced or did not have: the totals leave them out. */
    readonly notPriced: readonly { readonly stack: string; readonly name: string; readonly type: string; readonly reason: string }[];
    /** One line for a pull request: `+$412.00/month: web-asg 5 x t3.xlarge -> 5 x m5.2xlarge in primary, dr`. */
    readonly headline: string;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const cents = (n: number) => Math.round(n * 100);

/** The items that differ, before -> after, by what they say. */
function describe(before: readonly CostItem[], after: readonly CostItem[]): string {
    const was = before.map((i) => i.what).filter((w) => !after.some((x) => x.what === w));
    const is = after.map((i) => i.what).filter((w) => !before.some((x) => x.what === w));
    if (was.length === 0 && is.length === 0) {
        return "the same items, other usage or prices";
    }
    return `${was.join(", ") || "(nothing)"} -> ${is.join(", ") || "(nothing)"}`;
}

export function diffCosts(before: CostEstimate, after: CostEstimate, ref: string, commit: string): CostDiff {
    const stackNames = [...new Set([...before.stacks, ...after.stacks].map((s) => s.stack))];
    const changes: ResourceChange[] = [];
    const stacks: StackChange[] = stackNames.map((stack) => {
        const b = before.stacks.find((s) => s.stack === stack);
        const a = after.stacks.find((s) => s.stack === stack);
        const urns = [...new Set([...(b?.resources ?? []), ...(a?.resources ?? [])].map((r) => r.urn))];
        for (const urn of urns) {
            const was: ResourceCost | undefined = b?.resources.find((r) => r.urn === urn);
            const is: ResourceCost | undefined = a?.resources.find((r) => r.urn === urn);
            const deltaUsd = (is?.monthlyUsd ?? 0) - (was?.monthlyUsd ?? 0);
            if (cents(deltaUsd) === 0) {
                continue;
            }
            const unpriced = is === undefined ? a?.notPriced.find((n) => n.urn === urn) : undefined;
            const some = (is ?? was)!;
            changes.push({
                stack,
                tier: some.tier,
                name: some.name,
                type: some.type,
                beforeUsd: round2(was?.monthlyUsd ?? 0),
                afterUsd: round2(is?.monthlyUsd ?? 0),
                deltaUsd: round2(deltaUsd),
                detail:
                    was === undefined
                        ? `added: ${is!.items.map((i) => i.what).join(", ")}`
                        : unpriced !== undefined
                          ? `now NOT PRICED (${unpriced.reason}): its cost is missing, not saved`
                          : is === undefined
                            ? "removed"
                            : describe(was.items, is.items),
            });
        }
        const tierNames = [...new Set([...(b?.tiers ?? []), ...(a?.tiers ?? [])].map((t) => t.tier))];
        const tiers = tierNames.map((tier) => {
            const beforeUsd = b?.tiers.find((t) => t.tier === tier)?.monthlyUsd ?? 0;
            const afterUsd = a?.tiers.find((t) => t.tier === tier)?.monthlyUsd ?? 0;
            return { tier, beforeUsd, afterUsd, deltaUsd: round2(afterUsd - beforeUsd) };
        });
        const beforeUsd = b?.monthlyUsd ?? 0;
        const afterUsd = a?.monthlyUsd ?? 0;
        return { stack, beforeUsd, afterUsd, deltaUsd: round2(afterUsd - beforeUsd), tiers };
    });
    changes.sort((x, y) => Math.abs(y.deltaUsd) - Math.abs(x.deltaUsd));
    const deltaUsd = round2(after.monthlyUsd - before.monthlyUsd);
    const notPriced = after.stacks.flatMap((s) => {
        const was = before.stacks.find((x) => x.stack === s.stack)?.notPriced ?? [];
        return s.notPriced
            .filter((n) => !was.some((w) => w.urn === n.urn))
            .map((n) => ({ stack: s.stack, name: n.name, type: n.type, reason: n.reason }));
    });
    return {
        ref,
        commit,
        beforeUsd: before.monthlyUsd,
        afterUsd: after.monthlyUsd,
        deltaUsd,
        stacks,
        changes,
        notPriced,
        headline:
            headline(deltaUsd, changes) + (notPriced.length > 0 ? ` (INCOMPLETE: ${notPriced.length} resource(s) newly not priced)` : ""),
    };
}

/** The largest change, named once with every stack it happens in. */
function headline(deltaUsd: number, changes: readonly ResourceChange[]): string {
    const sign = deltaUsd > 0 ? "+" : deltaUsd < 0 ? "-" : "";
    const total = `${sign}$${Math.abs(deltaUsd).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}/month`;
    if (changes.length === 0) {
        return `${total}: no resource changed by a cent`;
    }
    const top = changes[0];
    const same = changes.filter((c) => c.name === top.name && c.type === top.type && c.detail === top.detail);
    const more = changes.length - same.length;
    return `${total}: ${top.name} (${top.tier}) ${top.detail} in ${same.map((c) => c.stack).join(", ")}${more > 0 ? `, and ${more} other change(s)` : ""}`;
}

/**
 * A commit from before the cost estimate (or one that lacks a newer assumption) has no value for
 * some assumption keys: it takes this side's, so only what it builds differs.
 */
export function withAssumptionsOf(before: readonly StackRun[]): StackRun[] {
    const keys = Object.values(COST_ASSUMPTION_KEYS);
    return before.map((run) => {
        // This side's stack file and project defaults, never its --set (that applies to this side only).
        const mine = resolveStackConfig(listStacks().includes(run.stack) ? run.stack : "primary");
        const missing = keys.filter((k) => run.config[k] === undefined && mine[k] !== undefined);
        return missing.length === 0 ? run : { ...run, config: { ...run.config, ...Object.fromEntries(missing.map((k) => [k, mine[k]])) } };
    });
}

/** A bad --cost-diff reference: the CLI reports it as a usage error. */
export class RefError extends Error {}

/** The commit `ref` names in this repository. Throws RefError. */
export function resolveCommit(ref: string): string {
    try {
        return execFileSync("git", ["-C", PROJECT_DIR, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        }).trim();
    } catch {
        throw new RefError(`--cost-diff ${ref}: not a commit of this repository (git rev-parse found none)`);
    }
}

/**
 * Runs `stacks` (those that exist there) as the program at `ref` builds them, with the stack
 * files of that commit. Resolves to the commit and the runs.
 */
export function runsAtRef(ref: string, stacks: readonly string[], preview = false): { commit: string; runs: StackRun[] } {
    const commit = resolveCommit(ref);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-at-ref-"));
    try {
        const tar = execFileSync("git", ["-C", PROJECT_DIR, "archive", "--format=tar", commit], { maxBuffer: 1024 * 1024 * 1024 });
        execFileSync("tar", ["-x", "-C", dir], { input: tar });
        fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"), "dir");
        if (!fs.existsSync(path.join(dir, "offline", "run.ts"))) {
            throw new RefError(
                `--cost-diff ${ref}: commit ${commit.slice(0, 12)} predates the offline engine (it has no offline/run.ts): there is no plan there to price`,
            );
        }
        const there = stacks.filter((s) => fs.existsSync(path.join(dir, `Pulumi.${s}.yaml`)));
        // The other commit's engine, in a process of its own (the program's modules and Pulumi's
        // runtime are process-wide): its runs as JSON on stdout.
        const script = [
            "require('ts-node').register({ transpileOnly: true, swc: true });",
            "const { runProgram } = require('./offline/run');",
            "(async () => {",
            "  const runs = [];",
            `  for (const stack of ${JSON.stringify(there)}) {`,
            `    const r = await runProgram({ stack, preview: ${String(preview)} });`,
            "    runs.push({ stack: r.stack, preview: r.preview, config: r.config, outputs: {}, invokes: [], errors: r.errors,",
            "      resources: r.resources.map((x) => ({ urn: x.urn, type: x.type, name: x.name, custom: x.custom, parent: x.parent,",
            "        protect: x.protect, deleteBeforeReplace: false, retainOnDelete: false, ignoreChanges: [], dependencies: [],",
            "        propertyDependencies: x.propertyDependencies, inputs: x.inputs, secretPaths: [], outputs: {} })) });",
            "  }",
            "  process.stdout.write(JSON.stringify(runs));",
            "})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });",
        ].join("\n");
        fs.writeFileSync(path.join(dir, "runs-at-ref.js"), script);
        let out: string;
        try {
            out = execFileSync(process.execPath, ["runs-at-ref.js"], {
                cwd: dir,
                encoding: "utf8",
                maxBuffer: 512 * 1024 * 1024,
                stdio: ["ignore", "pipe", "pipe"],
            });
        } catch (err) {
            const raw = (err as { stderr?: string | Buffer }).stderr ?? "";
            const stderr = (typeof raw === "string" ? raw : raw.toString("utf8")).trim().split("\n").slice(0, 5).join("\n");
            throw new RefError(`--cost-diff ${ref}: the program at ${commit.slice(0, 12)} could not be run offline: ${stderr}`);
        }
        return { commit, runs: JSON.parse(out) as StackRun[] };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
