/**
 * The cost estimate and the cost diff as a person reads them (npm run plan's text output; the
 * same figures are in its --json). offline/cost.ts and offline/costDiff.ts compute them.
 */
import type { CostEstimate, StackCost } from "../offline/cost";
import type { CostDiff } from "../offline/costDiff";
import { PRICE_TABLE_MAX_AGE_DAYS } from "../lib/prices";

const USD = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

export function money(usd: number): string {
    return USD.format(usd);
}

/** `+$412.00` / `-$12.50` / `$0.00`. */
export function signed(usd: number): string {
    const cents = Math.round(usd * 100) / 100;
    return cents > 0 ? `+${money(cents)}` : cents < 0 ? `-${money(-cents)}` : money(0);
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

function stackLine(s: StackCost): string {
    return `  ${s.stack.padEnd(8)} ${s.region.padEnd(10)} ${s.role.padEnd(8)} ${money(s.monthlyUsd).padStart(12)} a month`;
}

export function renderCost(cost: CostEstimate): string[] {
    const out = [
        `\n=== monthly cost: on-demand list prices read ${cost.pricesReadOn} (lib/prices.ts), ${cost.hoursPerMonth} hours a month, before any discount or free tier`,
    ];
    if (cost.pricesStale) {
        out.push(
            `  ! ADVISORY: the price table is ${cost.pricesAgeDays} days old (more than ${PRICE_TABLE_MAX_AGE_DAYS}): refresh lib/prices.ts (docs/cost.md)`,
        );
    }
    out.push(...cost.stacks.map(stackLine));
    const standby = cost.standby
        ? `; the standby (${cost.standby.stacks.join(", ")}) is ${money(cost.standby.monthlyUsd)}, ${percent(cost.standby.share)} of it`
        : "";
    out.push(`  ${"all stacks".padEnd(28)} ${money(cost.monthlyUsd).padStart(12)} a month${standby}`);
    for (const s of cost.stacks) {
        out.push(`\n--- ${s.stack} by component`);
        out.push(...s.tiers.map((t) => `  ${t.tier.padEnd(38)} ${money(t.monthlyUsd).padStart(12)}`));
    }
    const assumptions = new Map<string, { value: number; meaning: string; stacks: string[] }>();
    for (const s of cost.stacks) {
        for (const a of s.assumptions) {
            const id = `${a.key}=${a.value}`;
            const seen = assumptions.get(id) ?? { value: a.value, meaning: a.meaning, stacks: [] };
            seen.stacks.push(s.stack);
            assumptions.set(id, seen);
        }
    }
    out.push("\n--- usage assumed (change with --set <key>=<value>, or in Pulumi.yaml)");
    for (const [id, a] of [...assumptions].sort(([x], [y]) => x.localeCompare(y))) {
        out.push(`  ${id.padEnd(40)} ${a.meaning} (${a.stacks.join(", ")})`);
    }
    const notPriced = cost.stacks.flatMap((s) => s.notPriced.map((n) => ({ ...n, stack: s.stack })));
    if (notPriced.length > 0) {
        out.push("\n--- not priced (not in the totals)");
        out.push(...notPriced.map((n) => `  ? ${n.stack} ${n.type} ${n.name} (${n.tier}): ${n.reason}`));
    }
    const pilot = cost.pilotLight;
    if (pilot !== undefined) {
        const saved = pilot.warmStandbyUsd - pilot.pilotLightUsd;
        out.push(
            `\n--- for comparison only: ${pilot.stack} as a pilot light instead of a warm standby (the stacks stay identical; not a config mode)`,
            ...pilot.savings.map((x) => `  ${`without ${x.what}`.padEnd(72)} ${signed(-x.monthlyUsd).padStart(12)}`),
            `  ${pilot.stack}: ${money(pilot.warmStandbyUsd)} a month as a warm standby, ${money(pilot.pilotLightUsd)} as a pilot light (${signed(-saved)}${pilot.warmStandbyUsd > 0 ? `, ${percent(saved / pilot.warmStandbyUsd)} less` : ""})`,
            `  RTO as a warm standby: ${pilot.rto.warmStandby}`,
            `  RTO as a pilot light:  ${pilot.rto.pilotLight}`,
        );
    }
    return out;
}

/**
 * The README's cost table (between <!-- cost:start --> and <!-- cost:end -->; test/plan.test.ts
 * compares it with the plan's estimate). Print it for the default plan with
 *   npx ts-node --swc tools/costText.ts
 */
export function costMarkdown(cost: CostEstimate): string {
    const lines = [
        "| stack | region | role | a month |",
        "|---|---|---|---:|",
        ...cost.stacks.map((s) => `| ${s.stack} | ${s.region} | ${s.role} | ${money(s.monthlyUsd)} |`),
        `| all stacks | | | ${money(cost.monthlyUsd)} |`,
    ];
    if (cost.standby !== undefined) {
        lines.push("", `The standby (${cost.standby.stacks.join(", ")}) is ${percent(cost.standby.share)} of the whole.`);
    }
    const pilot = cost.pilotLight;
    if (pilot !== undefined) {
        lines.push(
            "",
            `| ${pilot.stack} as | a month | RTO |`,
            "|---|---:|---|",
            `| warm standby (what the stacks build) | ${money(pilot.warmStandbyUsd)} | ${pilot.rto.warmStandby} |`,
            `| pilot light (for comparison only) | ${money(pilot.pilotLightUsd)} | ${pilot.rto.pilotLight} |`,
        );
    }
    lines.push(
        "",
        `On-demand list prices read ${cost.pricesReadOn} (lib/prices.ts), ${cost.hoursPerMonth} hours a month, no discount or free tier; the usage assumed is in [docs/cost.md](docs/cost.md).`,
    );
    return lines.join("\n");
}

export function renderCostDiff(diff: CostDiff): string[] {
    const out = [`\n=== cost change against ${diff.ref} (${diff.commit.slice(0, 12)}), both priced with this commit's lib/prices.ts`];
    if (diff.changes.length === 0 && diff.stacks.every((s) => s.deltaUsd === 0)) {
        out.push(`  no change: ${money(diff.afterUsd)} a month`);
        return out;
    }
    out.push(`  ${diff.headline}`);
    for (const s of diff.stacks) {
        out.push(`  ${s.stack.padEnd(8)} ${money(s.beforeUsd).padStart(12)} -> ${money(s.afterUsd).padStart(12)}  ${signed(s.deltaUsd)}`);
        for (const t of s.tiers.filter((x) => Math.round(x.deltaUsd * 100) !== 0)) {
            out.push(`    ${t.tier.padEnd(36)} ${signed(t.deltaUsd).padStart(12)}`);
        }
    }
    out.push(
        `  ${"all".padEnd(8)} ${money(diff.beforeUsd).padStart(12)} -> ${money(diff.afterUsd).padStart(12)}  ${signed(diff.deltaUsd)}`,
    );
    out.push("  by resource:");
    out.push(...diff.changes.map((c) => `    ${signed(c.deltaUsd).padStart(12)}  ${c.stack} ${c.name} (${c.tier}): ${c.detail}`));
    if (diff.notPriced.length > 0) {
        out.push("  newly not priced (their cost is missing from the totals, not saved):");
        out.push(...diff.notPriced.map((n) => `    ? ${n.stack} ${n.type} ${n.name}: ${n.reason}`));
    }
    return out;
}

if (require.main === module) {
    void (async () => {
        const { plan } = await import("../offline/plan");
        const { plan: p } = await plan({ stacks: ["global", "primary", "dr"], preview: false, config: {} });
        if (p.cost === undefined) {
            process.stderr.write(`costText: the plan has no cost estimate: ${p.summary}\n`);
            process.exitCode = 1;
            return;
        }
        process.stdout.write(`${costMarkdown(p.cost)}\n`);
    })();
}
