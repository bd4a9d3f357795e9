/**
 * What a drill measured, from its raw result (drill/run.ts): when the failover was decided, the
 * lease taken, DR promoted and the virtual IP moved (the RTO: DR's first acknowledged write),
 * from the fault; the acknowledged writes DR does not have (the RPO); what the old writer
 * committed or acknowledged after the lease was taken; the invariants I1, I3 and I5 from the
 * acknowledgement log, both databases and the lease history; and the timeline. As a terminal
 * table and as an HTML page with a chart (Chart.js, inlined: the page opens offline). */
import * as fs from "fs";
import * as path from "path";
import { timingSlackMs } from "../failover/core/writerLease";
import { DRILL_LEASE_TIMING } from "./lease";
import type { DrillResult, Fault, TimelineEvent } from "./run";
import type { WriteRecord } from "./writer";
import { FAULT_DESCRIPTIONS, NO_FAILOVER_FAULTS, NO_PROMOTION_FAULTS } from "./run";

/** One invariant's verdict (FAILOVER-SAFETY.md): holds, violated, or not applicable to this run (undefined). */
export interface InvariantVerdict {
    readonly holds: boolean | undefined;
    readonly detail: string;
}

export type InvariantName = "I1" | "I2" | "I3" | "I4" | "I5";

export const INVARIANTS: Record<InvariantName, string> = {
    I1: "no split brain: nothing commits on the old writer after the lease is taken",
    I2: "honest loss: every acknowledged write is on the new writer or inside the reported loss window",
    I3: "no failover of a primary that shoppers reach and that holds its lease",
    I4: "a hold or an abort leaves no side effect: the old writer holds the lease, is in the virtual IP, writable and unlocked",
    I5: "timing: the old writer closed before the lease was taken",
};

/** The loss window as the controller stated it (Unix seconds, the old writer's clock), or why it was unknown. */
export type StatedWindow = { readonly from: number; readonly to: number; readonly seconds: number } | { readonly unknown: string };

export interface DrillReport {
    readonly fault: string;
    readonly settings: Record<string, number | string>;
    readonly outcome: string;
    /** Decisions to fail over that did not stand down (1 where one is due, 0 where none is). */
    readonly failovers: number;
    /** Milliseconds from the fault. */
    readonly detectionMs?: number;
    readonly fencedMs?: number;
    readonly promotedMs?: number;
    readonly trafficMovedMs?: number;
    /** The RTO: from the fault to the first write DR acknowledged through the virtual IP. */
    readonly rtoMs?: number;
    /** interval x maxFail: how long failed rounds alone take to decide, by configuration (the writer lease must also have lapsed). */
    readonly detectionBoundMs: number;
    /** The loss window of the assessment the failover went on with (or the last hold's). */
    readonly window?: StatedWindow;
    /** The assessment held the failover (nothing changed) at least once. */
    readonly held: boolean;
    readonly writes: { readonly sent: number; readonly ackedByPrimary: number; readonly ackedByDr: number; readonly failed: number };
    /** Writes the primary acknowledged (through the virtual IP or to its origin) that DR does not have (the RPO, as writes). */
    readonly lostOnDr: readonly number[];
    /** When the lost writes were acknowledged: the first and the last, ms from the fault (negative: before it). */
    readonly lostAckedMs?: { readonly first: number; readonly last: number };
    /** Acknowledged writes neither database has (must be none). */
    readonly lostEverywhere: readonly number[];
    /**
     * Writes the old primary committed after the new writer's lease was taken (with the writer
     * lease: invariant I1, the commit point), else after the fence completed (split brain; must be none).
     */
    readonly splitBrain: readonly number[];
    /** With the writer lease: when it was taken (ms from the fault), and the writes sent to the primary's origin. */
    readonly leaseTakenMs?: number;
    readonly originWrites: { readonly sent: number; readonly acked: number; readonly ackedAfterTake: number };
    /** Rounds from the fault on, those that failed, and the witness's abstentions among their votes. */
    readonly roundsAfterFault: number;
    readonly failedRoundsAfterFault: number;
    readonly witnessAbstentionsAfterFault: number;
    /** I1, I3 and I5, from the acknowledgement log, both databases and the lease history. */
    readonly invariants: Record<InvariantName, InvariantVerdict>;
    readonly timeline: readonly TimelineEvent[];
}

/** The window the controller went on with (its report), else the latest it stated (an assessment, a hold). */
export function statedWindow(r: DrillResult): StatedWindow | undefined {
    const fromReport = r.report?.lossWindow;
    if (fromReport !== undefined) {
        return "unknown" in fromReport
            ? { unknown: fromReport.unknown }
            : { from: fromReport.from, to: fromReport.to, seconds: fromReport.seconds };
    }
    const last = [...r.timeline].reverse().find((e) => e.event === "assessment")?.window as StatedWindow | undefined;
    return last;
}

/**
 * I2: every acknowledged write the new writer lacks lies inside the stated window. A write's
 * commit came between its send and its acknowledgement, on the machine's clock (the old
 * writer's database clock too): inside (from, to] means acknowledged after `from` and sent by `to`.
 */
function honestLoss(r: DrillResult, lost: readonly WriteRecord[]): InvariantVerdict {
    if (stepDone(r.timeline, "promote") === undefined) {
        return { holds: undefined, detail: "DR was never promoted: nothing could be lost to it" };
    }
    const window = statedWindow(r);
    if (window === undefined || "unknown" in window) {
        return lost.length === 0
            ? { holds: true, detail: `nothing lost (the window was ${window === undefined ? "not stated" : `unknown: ${window.unknown}`})` }
            : { holds: false, detail: `${lost.length} acknowledged write(s) lost, and no window was stated` };
    }
    const outside = lost.filter((w) => !(w.ackAt! > window.from * 1000 && w.sentAt <= window.to * 1000));
    const span = `(${new Date(window.from * 1000).toISOString()}, ${new Date(window.to * 1000).toISOString()}], ${window.seconds.toFixed(2)} s`;
    if (window.seconds < 0) {
        return { holds: false, detail: `the window is negative: ${span}` };
    }
    return outside.length === 0
        ? { holds: true, detail: `${lost.length} acknowledged write(s) lost, all inside the stated window ${span}` }
        : {
              holds: false,
              detail: `${outside.length} of ${lost.length} lost acknowledged write(s) outside the stated window ${span}: ${outside
                  .slice(0, 5)
                  .map((w) => w.id)
                  .join(", ")}`,
          };
}

/** I4: what a hold left as it was when it held, and what a cleared hold or an abort left at the end. */
function noSideEffect(r: DrillResult): InvariantVerdict {
    const held = r.timeline.some((e) => e.event === "hold");
    // The faults that decide and must not promote end with the old writer as it was.
    const restored = NO_PROMOTION_FAULTS.includes(r.options.fault);
    if (!held && !restored) {
        return { holds: undefined, detail: "no hold and no abort" };
    }
    const problems: string[] = [];
    const atHold = r.heldWorld ?? (r.outcome === "held" ? r.worldAtEnd : undefined);
    if (held && atHold === undefined && !restored) {
        return { holds: undefined, detail: "held, then went on by itself: the world at the hold was not observed" };
    }
    if (atHold !== undefined) {
        const takenBefore = r.leaseHistory.some((t) => t.op === "take" && t.outcome === "ok" && t.sentAt <= atHold.at);
        if (takenBefore || atHold.leaseHolder !== "primary") {
            problems.push(`at the hold the lease was ${takenBefore ? "taken" : `held by ${atHold.leaseHolder ?? "nobody"}`}`);
        }
        if (atHold.virtualIpServes !== "primary") {
            problems.push(`at the hold the virtual IP served ${atHold.virtualIpServes ?? "no site"}`);
        }
        if (!atHold.drIsReplica) {
            problems.push("at the hold DR was no longer a replica");
        }
    }
    if (restored) {
        const end = r.worldAtEnd;
        if (end.leaseHolder !== "primary") {
            problems.push(`at the end the lease was held by ${end.leaseHolder ?? "nobody"}`);
        }
        if (end.virtualIpServes !== "primary") {
            problems.push(`at the end the virtual IP served ${end.virtualIpServes ?? "no site"}`);
        }
        if (!end.drIsReplica) {
            problems.push("at the end DR was no longer a replica");
        }
        if (!end.oldWriter.running || end.oldWriter.readOnly !== false || end.oldWriter.appLogsIn !== true) {
            problems.push(
                `at the end the old writer was ${!end.oldWriter.running ? "down" : `${end.oldWriter.readOnly ? "read-only" : "writable"}, its application ${end.oldWriter.appLogsIn ? "logs in" : "locked out"}`}`,
            );
        }
    }
    const what = restored ? (r.options.fault === "abort" ? "the abort" : "the cleared hold") : "the hold";
    return problems.length === 0
        ? {
              holds: true,
              detail: `${what} changed nothing: the lease ${restored ? "back with" : "still with"} primary, the virtual IP serving it, DR a replica${restored ? ", the old writer writable and its application logging in" : ""}`,
          }
        : { holds: false, detail: problems.join("; ") };
}

/** I1 to I5 of one run. */
export function invariants(
    r: DrillResult,
    splitBrain: readonly number[],
    originAckedAfterTake: number,
    lost: readonly WriteRecord[] = [],
): Record<InvariantName, InvariantVerdict> {
    const take = r.leaseHistory.find((t) => t.op === "take" && t.outcome === "ok");
    // A take whose answer was lost may have landed: the lease's holder at the end says.
    const tried = r.leaseHistory.some((t) => t.op === "take" && t.outcome !== "changed");
    const takenAtEnd = r.leaseAtEnd !== undefined && r.leaseAtEnd.holder !== "primary";
    const promoted = stepDone(r.timeline, "promote") !== undefined;
    const due = !NO_FAILOVER_FAULTS.includes(r.options.fault);
    const handedBack = r.leaseHistory.some((t) => t.op === "hand-back" && t.outcome === "ok");
    const after = take !== undefined ? `the lease was taken${handedBack ? " and before it was handed back" : ""}` : "the fence";
    const fenced = stepDone(r.timeline, "fence") !== undefined;
    const I1: InvariantVerdict = !(take !== undefined || fenced)
        ? { holds: undefined, detail: "no lease taken and no fence: one writer throughout" }
        : splitBrain.length === 0 && originAckedAfterTake === 0
          ? { holds: true, detail: `nothing committed on the old writer after ${after}` }
          : {
                holds: false,
                detail: `${splitBrain.length} write(s) committed on the old writer after ${after} (${originAckedAfterTake} acknowledged to its origin's clients)`,
            };
    const I3: InvariantVerdict = due
        ? { holds: undefined, detail: "a failover was due" }
        : take === undefined && !takenAtEnd && !promoted
          ? { holds: true, detail: "the lease was never taken, DR never promoted" }
          : {
                holds: false,
                detail: `${take !== undefined || takenAtEnd ? "the lease was taken" : "DR was promoted"} although no failover was due${tried && take === undefined ? " (a take whose answer was lost)" : ""}`,
            };
    const slackMs = timingSlackMs(DRILL_LEASE_TIMING);
    let I5: InvariantVerdict;
    if (take === undefined) {
        I5 = { holds: undefined, detail: "the lease was never taken" };
    } else if (r.oldWriterClosedAt === undefined) {
        I5 = { holds: false, detail: "the old writer was still open at the end of the drill, after the lease was taken" };
    } else {
        const marginMs = take.sentAt - r.oldWriterClosedAt;
        I5 =
            marginMs >= 0
                ? {
                      holds: true,
                      detail: `the old writer closed ${(marginMs / 1000).toFixed(2)} s before the lease was taken (the timing's slack: ${(slackMs / 1000).toFixed(2)} s, counted from the last renewal, not from the close)`,
                  }
                : { holds: false, detail: `the old writer was still open ${(-marginMs / 1000).toFixed(2)} s after the lease was taken` };
    }
    return { I1, I2: honestLoss(r, lost), I3, I4: noSideEffect(r), I5 };
}

function stepDone(timeline: readonly TimelineEvent[], action: string): number | undefined {
    return timeline.find((e) => e.event === "action" && e.action === action && e.status === "succeeded")?.at;
}

export function summarize(r: DrillResult): DrillReport {
    const o = r.options;
    const since = (t: number | undefined) => (t === undefined ? undefined : t - r.faultAt);
    // A planned switchover is the operator's decision to move the writer, counted as one.
    const decisions = r.timeline.filter((e) => e.event === "decision" && (e.decision === "fail-over" || e.decision === "switchover"));
    const fencedAt = stepDone(r.timeline, "fence");
    const onDr = new Set(r.onDr);
    const onOld = new Set(r.onOldPrimary.map((w) => w.id));
    const acked = r.writes.filter((w) => w.ackAt !== undefined);
    const byPrimary = acked.filter((w) => w.site === "primary");
    const byDr = acked.filter((w) => w.site === "dr");
    const failedOver = stepDone(r.timeline, "promote") !== undefined;
    // The in-region client's writes count as much as the shoppers': acknowledged by the old
    // writer, they must be on DR or counted as lost.
    const ackedByOld = [...byPrimary, ...r.originWrites.filter((w) => w.ackAt !== undefined)];
    const lost = failedOver ? ackedByOld.filter((w) => !onDr.has(w.id)) : [];
    const oldestLostAck = Math.min(...lost.map((w) => w.ackAt!));
    const splitAfter = r.leaseTakenAt ?? fencedAt;
    // An abort hands the lease back: from when that write was sent, the old writer is the writer again.
    const handedBackAt = r.leaseHistory.find((t) => t.op === "hand-back" && t.outcome === "ok")?.sentAt ?? Infinity;
    const splitByCommit =
        splitAfter === undefined
            ? []
            : r.onOldPrimary.filter((w) => w.committedAt > splitAfter && w.committedAt < handedBackAt).map((w) => w.id);
    // A write's commit time is when its statement started; one that started before the take and
    // committed after it is caught by its acknowledgement, which came after the commit: any
    // write the old writer acknowledged after the take, to its origin or through the virtual IP.
    const ackedAfterTake = (writes: readonly WriteRecord[]) =>
        r.leaseTakenAt === undefined
            ? []
            : writes.filter((w) => w.ackAt !== undefined && w.site !== "dr" && w.ackAt > r.leaseTakenAt! && w.ackAt < handedBackAt);
    const originAckedAfterTake = ackedAfterTake(r.originWrites).length;
    const viaVipAckedAfterTake = ackedAfterTake(r.writes).map((w) => w.id);
    const splitBrain = [...new Set([...splitByCommit, ...viaVipAckedAfterTake])].sort((a, b) => a - b);
    const faultRounds = r.timeline.filter((e) => e.event === "round" && e.at >= r.faultAt);
    return {
        fault: o.fault,
        settings: {
            interval: `${o.intervalMs / 1000} s`,
            maxFail: o.maxFail,
            quorum: `${o.quorum} of 3`,
            rate: `${o.writesPerSecond}/s`,
            duration: `${o.durationMs / 1000} s`,
            faultAt: `${o.faultAtMs / 1000} s`,
            maxLag: `${o.maxLagSeconds} s`,
            ...(o.fault === "lag" ? { replicaDelay: `${o.lagSeconds} s`, acceptLoss: o.acceptLoss ? "yes" : "no" } : {}),
        },
        outcome: r.outcome,
        // A decision that stood down (the writer renewed first) changed nothing: it is no failover.
        failovers: decisions.length - r.timeline.filter((e) => e.event === "decision" && e.decision === "stood-down").length,
        detectionMs: since(decisions[0]?.at),
        fencedMs: since(fencedAt),
        promotedMs: since(stepDone(r.timeline, "promote")),
        trafficMovedMs: since(stepDone(r.timeline, "move-traffic")),
        rtoMs: byDr.length > 0 ? Math.min(...byDr.map((w) => w.ackAt!)) - r.faultAt : undefined,
        detectionBoundMs: o.intervalMs * o.maxFail,
        ...(statedWindow(r) !== undefined ? { window: statedWindow(r) } : {}),
        held: r.timeline.some((e) => e.event === "hold"),
        writes: { sent: r.writes.length, ackedByPrimary: byPrimary.length, ackedByDr: byDr.length, failed: r.writes.length - acked.length },
        lostOnDr: lost.map((w) => w.id),
        lostAckedMs:
            lost.length > 0 ? { first: oldestLostAck - r.faultAt, last: Math.max(...lost.map((w) => w.ackAt!)) - r.faultAt } : undefined,
        lostEverywhere: [...acked, ...r.originWrites.filter((w) => w.ackAt !== undefined)]
            .filter((w) => !onDr.has(w.id) && !onOld.has(w.id))
            .map((w) => w.id),
        splitBrain,
        leaseTakenMs: since(r.leaseTakenAt),
        invariants: invariants(r, splitBrain, originAckedAfterTake, lost),
        roundsAfterFault: faultRounds.length,
        failedRoundsAfterFault: faultRounds.filter((e) => e.failed === true).length,
        witnessAbstentionsAfterFault: r.timeline.filter(
            (e) => e.event === "probe" && e.name === "witness" && e.abstained === true && e.at >= r.faultAt,
        ).length,
        originWrites: {
            sent: r.originWrites.length,
            acked: r.originWrites.filter((w) => w.ackAt !== undefined).length,
            ackedAfterTake: originAckedAfterTake,
        },
        timeline: r.timeline,
    };
}

const ms = (v: number | undefined) => (v === undefined ? "-" : `${(v / 1000).toFixed(2)} s`);

export function describeWindow(w: StatedWindow | undefined): string {
    if (w === undefined) {
        return "-";
    }
    if ("unknown" in w) {
        return `unknown: ${w.unknown}`;
    }
    return `${w.seconds.toFixed(2)} s: (${new Date(w.from * 1000).toISOString().slice(11, 23)}, ${new Date(w.to * 1000).toISOString().slice(11, 23)}]`;
}
const signed = (v: number) => `${v >= 0 ? "+" : ""}${ms(v)}`;

/** The report as a terminal table. */
export function reportTable(rep: DrillReport): string {
    const rows: [string, string][] = [
        ["fault", `${rep.fault}: ${FAULT_DESCRIPTIONS[rep.fault as Fault]}`],
        [
            "settings",
            Object.entries(rep.settings)
                .map(([k, v]) => `${k} ${v}`)
                .join(", "),
        ],
        ["controller outcome", `${rep.outcome}${rep.held && rep.outcome !== "held" ? " (held with nothing changed first)" : ""}`],
        ["failover decisions", String(rep.failovers)],
        [
            "failover decision",
            `${ms(rep.detectionMs)} after the fault (failed rounds alone take interval x max-fail: ${ms(rep.detectionBoundMs)}; the lease must lapse too)`,
        ],
        ["fenced", ms(rep.fencedMs)],
        ["promoted", ms(rep.promotedMs)],
        ["traffic moved", ms(rep.trafficMovedMs)],
        ["RTO (first write served by DR)", ms(rep.rtoMs)],
        ["loss window stated (an upper bound)", describeWindow(rep.window)],
        [
            "writes",
            `${rep.writes.sent} sent, ${rep.writes.ackedByPrimary} acknowledged by primary, ${rep.writes.ackedByDr} by dr, ${rep.writes.failed} not acknowledged`,
        ],
        [
            "RPO: acknowledged, missing on DR",
            `${rep.lostOnDr.length}${rep.lostAckedMs !== undefined ? ` (acknowledged from ${signed(rep.lostAckedMs.first)} to ${signed(rep.lostAckedMs.last)} from the fault)` : ""}`,
        ],
        ["acknowledged, in neither database", String(rep.lostEverywhere.length)],
        ["writer lease taken", ms(rep.leaseTakenMs)],
        [
            "writes to the primary's origin (bypassing the virtual IP)",
            `${rep.originWrites.sent} sent, ${rep.originWrites.acked} acknowledged, ${rep.originWrites.ackedAfterTake} after the lease was taken`,
        ],
        ["split brain (I1): old primary commits after the lease was taken", String(rep.splitBrain.length)],
        ...Object.entries(rep.invariants).map(([name, v]): [string, string] => [
            `${name} ${INVARIANTS[name as InvariantName].split(":")[0]}`,
            `${v.holds === undefined ? "n/a" : v.holds ? "holds" : "VIOLATED"}: ${v.detail}`,
        ]),
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** The timeline, one line an event, times from the fault: decisions and steps, or every probe and round too. */
export function timelineLines(rep: DrillReport, faultAt: number, detail: "steps" | "every probe" = "steps"): string[] {
    const kinds = [
        "fault",
        "decision",
        "action",
        "rpo",
        "lag",
        "controller-error",
        "drill",
        "drill-error",
        // What the writer agents did that matters to a reader (not every renewal or beat).
        "agent-lease-established",
        "agent-lease-lost",
        "agent-fenced",
        "agent-unfenced",
        "agent-grace-exhausted",
        "agent-fence-failed",
        "agent-sealed",
        "agent-handed-over",
        "agent-handover-withdrawn",
        "agent-handover-failed",
        "agent-error",
        ...(detail === "every probe" ? ["probe", "round"] : []),
    ];
    return foldRepeats(
        rep.timeline.filter((x) => kinds.includes(x.event) && x.status !== "started"),
        faultAt,
    );
}

/**
 * An event repeated with the same fields (an agent saying "grace exhausted" at every renewal) is
 * one line, at its first time, with how often and until when: not a screenful. Only while its
 * source said nothing else: "fenced, unfenced, fenced" stays three lines, or a reader would take
 * the database for open. The source is the event's agent, or the event itself without one.
 */
export function foldRepeats(events: readonly TimelineEvent[], faultAt: number): string[] {
    const lines: { first: number; last: number; times: number; event: string; fields: string; source: string }[] = [];
    for (const e of events) {
        const { at, event, ...rest } = e;
        const fields = JSON.stringify(rest);
        const source = typeof rest.agent === "string" ? `agent ${rest.agent}` : event;
        const latest = [...lines].reverse().find((l) => l.source === source);
        if (latest !== undefined && latest.event === event && latest.fields === fields) {
            latest.last = at;
            latest.times += 1;
            continue;
        }
        lines.push({ first: at, last: at, times: 1, event, fields, source });
    }
    const seconds = (at: number) => ((at - faultAt) / 1000).toFixed(3);
    return lines.map(
        (l) =>
            `${seconds(l.first).padStart(8)} s  ${l.event.padEnd(9)} ${l.fields}${l.times > 1 ? ` (${l.times} times, the last at ${seconds(l.last)} s)` : ""}`,
    );
}

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/**
 * The HTML page, for a person: the verdict and each invariant's result first; then a chart of
 * acknowledged writes per second by site and of failed vantage points per round, with the
 * fault, the decision, the take of the lease, the fence, the promotion and the traffic move as
 * labelled vertical lines, time zero at the fault; the report's table; the timeline of
 * decisions and steps; the raw events (every probe) in a collapsible block. The page marks
 * itself when the chart has drawn (`data-chart="drawn"`) and records any script error
 * (`data-errors`), for the browser test (test/drillLoss.test.ts).
 */
export function reportHtml(rep: DrillReport, r: DrillResult, problems: readonly string[]): string {
    const fromFault = (t: number) => +((t - r.faultAt) / 1000).toFixed(3);
    const first = Math.floor((r.startedAt - r.faultAt) / 250) * 0.25;
    const last = Math.ceil((r.endedAt - r.faultAt) / 250) * 0.25;
    const labels = Array.from({ length: Math.round((last - first) / 0.25) + 1 }, (_, i) => +(first + i * 0.25).toFixed(2));
    const bucket = (t: number) => Math.floor(fromFault(t) / 0.25) * 0.25;
    const perSite = (site: string) => {
        const counts = new Map<number, number>();
        for (const w of r.writes) {
            if (w.site === site && w.ackAt !== undefined) {
                counts.set(bucket(w.ackAt), (counts.get(bucket(w.ackAt)) ?? 0) + 4); // per second
            }
        }
        return labels.map((l) => counts.get(l) ?? 0);
    };
    const failedRounds = r.timeline.filter((e) => e.event === "round").map((e) => ({ x: fromFault(e.at), y: Number(e.failures) }));
    const maxFailed = Math.max(3, ...failedRounds.map((p) => p.y));
    const STEP_LABELS: Record<string, string> = {
        "take-lease": "lease taken",
        fence: "fenced",
        promote: "promoted",
        "move-traffic": "traffic moved",
    };
    const markers = [
        { x: 0, label: "fault" },
        ...r.timeline
            .filter((e) => e.event === "decision" && ["fail-over", "switchover", "aborted", "hold-cleared"].includes(String(e.decision)))
            .map((e) => ({ x: fromFault(e.at), label: `decision: ${String(e.decision)}` })),
        ...r.timeline
            .filter((e) => e.event === "hold")
            .slice(0, 1)
            .map((e) => ({ x: fromFault(e.at), label: "held" })),
        ...r.timeline
            .filter((e) => e.event === "action" && e.status === "succeeded" && STEP_LABELS[String(e.action)] !== undefined)
            .map((e) => ({ x: fromFault(e.at), label: STEP_LABELS[String(e.action)] })),
    ];
    // The browser build, next to the package's entry point (its exports map does not list it).
    const chartJs = fs.readFileSync(path.join(path.dirname(require.resolve("chart.js")), "chart.umd.min.js"), "utf8");
    const config = {
        type: "line",
        data: {
            datasets: [
                {
                    label: "writes/s acknowledged by primary",
                    data: labels.map((x, i) => ({ x, y: perSite("primary")[i] })),
                    borderColor: "#1f77b4",
                    yAxisID: "y",
                },
                {
                    label: "writes/s acknowledged by dr",
                    data: labels.map((x, i) => ({ x, y: perSite("dr")[i] })),
                    borderColor: "#2ca02c",
                    yAxisID: "y",
                },
                {
                    label: "failed vantage points per round",
                    data: failedRounds,
                    type: "scatter",
                    borderColor: "#d62728",
                    backgroundColor: "#d62728",
                    yAxisID: "probes",
                },
            ],
        },
        options: {
            parsing: false,
            animation: false,
            scales: {
                x: { type: "linear", min: first, max: last, title: { display: true, text: "seconds from the fault" } },
                y: { title: { display: true, text: "writes per second" }, beginAtZero: true },
                probes: {
                    position: "right",
                    min: 0,
                    // Room above the highest point: a dot at the top is never cut in half.
                    max: maxFailed + 0.5,
                    ticks: { stepSize: 1 },
                    grid: { drawOnChartArea: false },
                    title: { display: true, text: "failed vantage points per round" },
                },
            },
        },
    };
    const rows = reportTable(rep)
        .split("\n")
        .map((line) => {
            const [k, ...v] = line.split(/ {2,}/);
            return `<tr><th>${escape(k)}</th><td>${escape(v.join("  "))}</td></tr>`;
        })
        .join("\n");
    const ok = problems.length === 0;
    const invariantRows = (Object.keys(INVARIANTS) as InvariantName[])
        .map((name) => {
            const v = rep.invariants[name];
            const result = v.holds === true ? "holds" : v.holds === false ? "VIOLATED" : "n/a";
            return `<tr class="${result === "VIOLATED" ? "bad" : result === "holds" ? "good" : ""}"><th>${name}</th><td>${escape(INVARIANTS[name])}</td><td><b>${result}</b></td><td>${escape(v.detail)}</td></tr>`;
        })
        .join("\n");
    const steps = timelineLines(rep, r.faultAt)
        .map((line) => {
            const m = /^\s*(-?[\d.]+) s {2}(\S+)\s+(.*)$/.exec(line);
            return m === null
                ? `<tr><td colspan="3">${escape(line)}</td></tr>`
                : `<tr><td class="t">${escape(m[1])} s</td><td>${escape(m[2])}</td><td>${escape(m[3])}</td></tr>`;
        })
        .join("\n");
    return `<!doctype html>
<html><head><meta charset="utf-8"><title>Drill ${escape(rep.fault)}: ${ok ? "as expected" : "NOT as expected"}</title>
<style>
body{font-family:sans-serif;margin:2em;max-width:1200px}
th{text-align:left;padding-right:1em;vertical-align:top}
td{vertical-align:top;padding-right:1em}
.verdict{font-size:1.6em;padding:.4em .6em;border-radius:6px;display:inline-block}
.verdict.ok{background:#d8f5d8;color:#135e13}.verdict.not{background:#fbd9d9;color:#8a1010}
tr.good b{color:#135e13}tr.bad b{color:#8a1010}
td.t{text-align:right;white-space:nowrap;font-family:monospace}
pre{font-size:12px}
</style>
</head><body data-chart="pending">
<h1>Disaster-recovery drill: ${escape(rep.fault)}</h1>
<p>${escape(FAULT_DESCRIPTIONS[rep.fault as Fault] ?? "")}</p>
<p id="verdict" class="verdict ${ok ? "ok" : "not"}">Verdict: ${ok ? "as expected" : "NOT as expected"}</p>
${ok ? "" : `<ul>${problems.map((p) => `<li>${escape(p)}</li>`).join("")}</ul>`}
<h2>Invariants</h2>
<table id="invariants">${invariantRows}</table>
<h2>Writes and probes (seconds from the fault)</h2>
<canvas id="chart" height="120"></canvas>
<h2>Report</h2>
<table>${rows}</table>
<h2>Timeline: decisions and steps</h2>
<table id="timeline">${steps}</table>
<details><summary>Raw events, every probe and round (JSON lines)</summary>
<pre>${escape(r.timeline.map((e) => JSON.stringify(e)).join("\n"))}</pre>
</details>
<script>
window.addEventListener("error", (e) => { document.body.dataset.errors = (document.body.dataset.errors ?? "") + e.message + "\\n"; });
</script>
<script>${chartJs}</script>
<script>
const markers = ${JSON.stringify(markers)};
const config = ${JSON.stringify(config)};
config.options.plugins = { tooltip: { callbacks: { label: (c) => c.dataset.label + ": " + c.raw.y } } };
// The fault, the decision and the steps as labelled vertical lines.
const verticalLines = {
    id: "verticalLines",
    afterDatasetsDraw(chart) {
        const { ctx, chartArea, scales } = chart;
        ctx.save();
        // Each label on the first row where it overlaps no other (markers close in time stack up).
        const rows = [];
        ctx.font = "11px sans-serif";
        const sorted = [...markers].sort((a, b) => a.x - b.x);
        drawnLabels.length = 0;
        // Every line first, then every label: a line drawn later would cross an earlier label.
        sorted.forEach((m) => {
            const x = scales.x.getPixelForValue(m.x);
            ctx.strokeStyle = m.label === "fault" ? "#d62728" : "#555";
            ctx.setLineDash(m.label === "fault" ? [] : [4, 3]);
            ctx.beginPath();
            ctx.moveTo(x, chartArea.top);
            ctx.lineTo(x, chartArea.bottom);
            ctx.stroke();
        });
        sorted.forEach((m) => {
            const x = scales.x.getPixelForValue(m.x);
            const text = m.label + " " + m.x.toFixed(2) + " s";
            let row = rows.findIndex((right) => right < x + 3);
            if (row < 0) {
                row = rows.length;
                rows.push(0);
            }
            const width = ctx.measureText(text).width;
            rows[row] = x + 3 + width + 6;
            const y = chartArea.top + 12 + row * 13;
            drawnLabels.push({ left: x + 2, right: x + 4 + width, top: y - 10, bottom: y + 3 });
            ctx.fillStyle = "rgba(255, 255, 255, 0.85)"; // legible over the lines and dots
            ctx.fillRect(x + 2, y - 10, width + 2, 13);
            ctx.fillStyle = "#222";
            ctx.fillText(text, x + 3, y);
        });
        ctx.restore();
    },
};
// Where each marker's label went (for the browser test: every marker labelled, no two overlapping).
const drawnLabels = [];
new Chart(document.getElementById("chart"), { ...config, plugins: [verticalLines] });
document.body.dataset.labels = String(drawnLabels.length);
document.body.dataset.labelOverlaps = String(
    drawnLabels.filter((a, i) => drawnLabels.some((b, j) => j > i && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)).length,
);
// For the browser test: the chart drew something (pixels that are not blank).
const canvas = document.getElementById("chart");
const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
let inked = 0;
for (let i = 3; i < pixels.length; i += 4) inked += pixels[i] > 0 ? 1 : 0;
document.body.dataset.chart = inked > 1000 ? "drawn" : "blank";
document.body.dataset.inked = String(inked);
</script>
</body></html>
`;
}
