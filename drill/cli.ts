/**
 * `npm run drill -- [flags]`: a disaster-recovery drill on this machine (drill/run.ts), its
 * report as a table on stdout and as an HTML page with a chart, whose path it prints.
 * Exit 0 when the drill behaved as its fault requires (one failover where one is due, none
 * where none is, no split brain, every acknowledged write accounted for), 1 when it did not,
 * 2 on bad usage.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { DrillReport, reportHtml, reportTable, summarize, timelineLines } from "./report";
import { DrillOptions, drillOptionProblems, Fault, FAULTS, NO_FAILOVER_FAULTS, runDrill } from "./run";

const USAGE = `usage: npm run drill -- [flags]

  --fault F        ${FAULTS.join(" | ")} | all (each in turn)   default db-kill
  --interval S     probe interval, seconds                      default 1
  --max-fail N     failed rounds in a row that fail over        default 3
  --quorum N       failed vantage points (of 3) per round       default 2
  --rate N         writes per second through the virtual IP     default 50
  --duration S     the whole drill, seconds                     default 15
  --fault-at S     when the fault comes, seconds                default 4
  --max-lag S      the RPO budget                               default 5
  --lag S          with --fault lag: the replica's delay         default 15
  --accept-data-loss  with --fault lag: once held, fail over as the operator would
  --out DIR        where the HTML reports go                    default drill-reports
`;

/** Whether the drill behaved as its fault requires; the reasons it did not. */
export function verdict(rep: DrillReport): string[] {
    const problems: string[] = [];
    const due = !NO_FAILOVER_FAULTS.includes(rep.fault as Fault);
    if (rep.failovers !== (due ? 1 : 0)) {
        problems.push(`${rep.failovers} failover decision(s), expected ${due ? 1 : 0}`);
    }
    if (rep.fault === "lag" && !rep.heldByRpoGuard) {
        problems.push("the RPO guard did not hold the promotion");
    }
    const promotes = due && (rep.fault !== "lag" || rep.settings.acceptDataLoss === "yes");
    if (promotes && rep.rtoMs === undefined) {
        problems.push("DR never served a write");
    }
    if (!promotes && rep.promotedMs !== undefined) {
        problems.push("DR was promoted");
    }
    if (rep.splitBrain.length > 0) {
        problems.push(
            `split brain: the old primary accepted ${rep.splitBrain.length} write(s) after ${rep.originWrites !== undefined ? "the lease was taken" : "the fence"}`,
        );
    }
    if ((rep.originWrites?.ackedAfterTake ?? 0) > 0) {
        problems.push(
            `split brain: ${rep.originWrites!.ackedAfterTake} write(s) to the old primary's origin acknowledged after the lease was taken`,
        );
    }
    if (rep.lostEverywhere.length > 0) {
        problems.push(`${rep.lostEverywhere.length} acknowledged write(s) are in neither database`);
    }
    return problems;
}

function seconds(flag: string, raw: string | undefined, fallback: number): number {
    if (raw === undefined) {
        return fallback;
    }
    const v = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(v)) {
        throw new UsageError(`--${flag} ${JSON.stringify(raw)}: expected a number`);
    }
    return v;
}

class UsageError extends Error {}

export function parseDrillArgs(argv: string[]): { faults: Fault[]; options: Omit<DrillOptions, "fault">; out: string } {
    let values: Record<string, string | boolean | undefined>;
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                fault: { type: "string" },
                interval: { type: "string" },
                "max-fail": { type: "string" },
                quorum: { type: "string" },
                rate: { type: "string" },
                duration: { type: "string" },
                "fault-at": { type: "string" },
                "max-lag": { type: "string" },
                lag: { type: "string" },
                "accept-data-loss": { type: "boolean" },
                out: { type: "string" },
                help: { type: "boolean" },
            },
            strict: true,
        }));
    } catch (err) {
        throw new UsageError((err as Error).message);
    }
    if (values.help) {
        throw new UsageError("");
    }
    const fault = (values.fault as string | undefined) ?? "db-kill";
    if (fault !== "all" && !FAULTS.includes(fault as Fault)) {
        throw new UsageError(`--fault ${JSON.stringify(fault)}: expected one of ${FAULTS.join(", ")}, all`);
    }
    const s = (flag: string, fallback: number) => seconds(flag, values[flag] as string | undefined, fallback);
    const options = {
        intervalMs: s("interval", 1) * 1000,
        maxFail: s("max-fail", 3),
        quorum: s("quorum", 2),
        writesPerSecond: s("rate", 50),
        durationMs: s("duration", 15) * 1000,
        faultAtMs: s("fault-at", 4) * 1000,
        maxLagSeconds: s("max-lag", 5),
        lagSeconds: s("lag", 15),
        acceptDataLoss: values["accept-data-loss"] === true,
    };
    const faults = fault === "all" ? [...FAULTS] : [fault as Fault];
    const problems = [...new Set(faults.flatMap((f) => drillOptionProblems({ ...options, fault: f })))];
    if (problems.length > 0) {
        throw new UsageError(problems.join("\n"));
    }
    return { faults, options, out: (values.out as string | undefined) ?? "drill-reports" };
}

/** Where the command writes (tests pass their own). */
export interface DrillIo {
    out(text: string): void;
    err(text: string): void;
}

const STDIO: DrillIo = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

export async function main(argv: string[], io: DrillIo = STDIO): Promise<number> {
    let parsed: ReturnType<typeof parseDrillArgs>;
    try {
        parsed = parseDrillArgs(argv);
    } catch (err) {
        if (err instanceof UsageError) {
            io.err(err.message === "" ? USAGE : `drill: ${err.message}\n\n${USAGE}`);
            return err.message === "" ? 0 : 2;
        }
        throw err;
    }
    fs.mkdirSync(parsed.out, { recursive: true });
    let failed = 0;
    for (const fault of parsed.faults) {
        io.out(`=== drill: ${fault}\n`);
        const result = await runDrill({ ...parsed.options, fault, log: (line) => io.out(`  ${line}\n`) });
        const rep = summarize(result);
        const file = path.resolve(parsed.out, `drill-${fault}-${new Date(result.startedAt).toISOString().replace(/[:.]/g, "-")}.html`);
        fs.writeFileSync(file, reportHtml(rep, result));
        const problems = verdict(rep);
        io.out(`${reportTable(rep)}\n\ntimeline (seconds from the fault):\n${timelineLines(rep, result.faultAt).join("\n")}\n\n`);
        io.out(
            problems.length === 0 ? "verdict: as expected\n" : `verdict: NOT as expected:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`,
        );
        io.out(`report: ${file}\n\n`);
        failed += problems.length > 0 ? 1 : 0;
    }
    return failed > 0 ? 1 : 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err: Error) => {
            process.stderr.write(`drill: ${err.message}\n`);
            process.exit(1);
        },
    );
}
