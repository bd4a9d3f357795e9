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
import {
    DrillOptions,
    drillOptionProblems,
    DrillResult,
    Fault,
    FAULT_DESCRIPTIONS,
    FAULTS,
    NO_FAILOVER_FAULTS,
    NO_PROMOTION_FAULTS,
    REPLICA_BEHIND_FAULTS,
    runDrill,
    VIOLATION_FAULTS,
} from "./run";

const USAGE = `usage: npm run drill -- [flags]

  --fault F        one of the faults below, or all (each in turn)  default db-kill
  --interval S     probe interval, seconds                      default 1
  --max-fail N     failed rounds in a row that fail over        default 3
  --quorum N       failed vantage points (of 3) per round       default 2
  --rate N         writes per second through the virtual IP     default 50
  --duration S     the whole drill, seconds                     default 20
  --fault-at S     when the fault comes, seconds                default 4
  --max-lag S      the RPO budget: the loss window a failover may go on with   default 10
                   (twice the window of a current replica at the drill's lease, 2.8 s,
                   and room for a region cut in two steps)
  --lag S          with --fault lag or hold-clears: the replica's delay   default 25
  --accept-loss    with --fault lag: once held (nothing changed), accept the loss window the
                   hold states and fail over, as the operator would (failover --accept-loss S)
  --out DIR        where the HTML reports go                    default drill-reports
  --json           one JSON line per drill on stdout: the report, the verdict and the raw
                   records behind them (every write, both databases' orders, the lease
                   history, the timeline); progress goes to stderr

faults (every drill runs with the writer lease, its agents and the witness):
${FAULTS.map((f) => `  ${f.padEnd(19)}${FAULT_DESCRIPTIONS[f]}`).join("\n")}
`;

/**
 * Whether the drill behaved as its fault requires; the reasons it did not. Every invariant
 * holds, except in a fault that breaks the timing on purpose, where the checker must catch it.
 */
export function verdict(rep: DrillReport): string[] {
    const problems: string[] = [];
    const due = !NO_FAILOVER_FAULTS.includes(rep.fault as Fault);
    if (rep.failovers !== (due ? 1 : 0)) {
        problems.push(`${rep.failovers} failover decision(s), expected ${due ? 1 : 0}`);
    }
    if (REPLICA_BEHIND_FAULTS.includes(rep.fault as Fault) && !rep.held) {
        problems.push("the failover was not held, though its loss window was over the budget");
    }
    const promotes = due && !NO_PROMOTION_FAULTS.includes(rep.fault as Fault) && (rep.fault !== "lag" || rep.settings.acceptLoss === "yes");
    if (promotes && rep.rtoMs === undefined) {
        problems.push("DR never served a write");
    }
    if (!promotes && rep.promotedMs !== undefined) {
        problems.push("DR was promoted");
    }
    const violated = Object.entries(rep.invariants).filter(([, v]) => v.holds === false);
    if (VIOLATION_FAULTS.includes(rep.fault as Fault)) {
        // The timing is broken on purpose: I5 must be caught; I1 may follow from it; I3 must hold.
        if (rep.invariants.I5.holds !== false) {
            problems.push("the timing was broken on purpose, and the invariant checker did not catch it (I5)");
        }
        problems.push(...violated.filter(([name]) => name === "I3").map(([name, v]) => `${name} violated: ${v.detail}`));
    } else {
        problems.push(...violated.map(([name, v]) => `${name} violated: ${v.detail}`));
    }
    if (rep.fault === "witness-down") {
        // The standby's direct view of the site is cut too: a silent witness counted as "down"
        // would make every round fail (2 of 3). It must abstain, and no round may fail.
        if (rep.witnessAbstentionsAfterFault === 0) {
            problems.push("the witness never abstained after it stopped");
        }
        if (rep.failedRoundsAfterFault > 0) {
            problems.push(`${rep.failedRoundsAfterFault} of ${rep.roundsAfterFault} round(s) failed: a silent witness was counted as down`);
        }
    }
    if (rep.fault === "switchover") {
        // RPO exactly 0: a window of none, and nothing acknowledged missing on DR.
        if (rep.window === undefined || "unknown" in rep.window || rep.window.seconds !== 0) {
            problems.push(`the switchover's loss window was not exactly none: ${JSON.stringify(rep.window ?? "not stated")}`);
        }
        if (rep.lostOnDr.length > 0) {
            problems.push(`${rep.lostOnDr.length} acknowledged write(s) lost in a planned switchover`);
        }
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

export function parseDrillArgs(argv: string[]): { faults: Fault[]; options: Omit<DrillOptions, "fault">; out: string; json: boolean } {
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
                "accept-loss": { type: "boolean" },
                out: { type: "string" },
                json: { type: "boolean" },
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
        durationMs: s("duration", 20) * 1000,
        faultAtMs: s("fault-at", 4) * 1000,
        maxLagSeconds: s("max-lag", 10),
        lagSeconds: s("lag", 25),
        acceptLoss: values["accept-loss"] === true,
    };
    const faults = fault === "all" ? [...FAULTS] : [fault as Fault];
    const problems = [...new Set(faults.flatMap((f) => drillOptionProblems({ ...options, fault: f })))];
    if (problems.length > 0) {
        throw new UsageError(problems.join("\n"));
    }
    return { faults, options, out: (values.out as string | undefined) ?? "drill-reports", json: values.json === true };
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
            if (err.message === "") {
                io.out(USAGE); // asked for: stdout
            } else {
                io.err(`drill: ${err.message}\n\n${USAGE}`);
            }
            return err.message === "" ? 0 : 2;
        }
        throw err;
    }
    fs.mkdirSync(parsed.out, { recursive: true });
    // With --json, stdout carries the JSON lines alone; progress goes to stderr.
    const progress = (text: string) => (parsed.json ? io.err(text) : io.out(text));
    let failed = 0;
    for (const fault of parsed.faults) {
        progress(`=== drill: ${fault}\n`);
        const result = await runDrill({ ...parsed.options, fault, log: (line) => progress(`  ${line}\n`) });
        const rep = summarize(result);
        const file = path.resolve(parsed.out, `drill-${fault}-${new Date(result.startedAt).toISOString().replace(/[:.]/g, "-")}.html`);
        const problems = verdict(rep);
        fs.writeFileSync(file, reportHtml(rep, result, problems));
        if (parsed.json) {
            io.out(`${JSON.stringify(rawRecords(rep, result, problems, file))}\n`);
        } else {
            io.out(`${reportTable(rep)}\n\ntimeline (seconds from the fault):\n${timelineLines(rep, result.faultAt).join("\n")}\n\n`);
            io.out(
                problems.length === 0
                    ? "verdict: as expected\n"
                    : `verdict: NOT as expected:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`,
            );
            io.out(`report: ${file}\n\n`);
        }
        failed += problems.length > 0 ? 1 : 0;
    }
    return failed > 0 ? 1 : 0;
}

/**
 * One drill as JSON: the verdict, the report, and the raw records behind them, so anyone can
 * check the verdicts: every write (id, where and when it was sent and acknowledged), the orders
 * each database holds (the old primary's with their commit times), every write to the lease,
 * and the timeline. Times are Unix milliseconds.
 */
export function rawRecords(rep: DrillReport, r: DrillResult, problems: readonly string[], html: string): Record<string, unknown> {
    const { timeline, ...report } = rep;
    return {
        fault: rep.fault,
        verdict: problems.length === 0 ? "as expected" : "not as expected",
        problems,
        report,
        htmlReport: html,
        records: {
            startedAt: r.startedAt,
            faultAt: r.faultAt,
            endedAt: r.endedAt,
            leaseTakenAt: r.leaseTakenAt ?? null,
            oldWriterClosedAt: r.oldWriterClosedAt ?? null,
            writes: r.writes,
            originWrites: r.originWrites,
            onDr: r.onDr,
            onOldPrimary: r.onOldPrimary,
            leaseHistory: r.leaseHistory,
            leaseAtEnd: r.leaseAtEnd ?? null,
            timeline,
        },
    };
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
