/**
 * The disaster-recovery drill (drill/): a short drill per fault kind on real MariaDB servers
 * (Debian's mariadb-server, started by the drill on 127.0.0.1), the writer lease with its agents
 * and the witness, the real controller and the drill's adapters. Behaviour only, never speed:
 * one failover where one is due and none where none is, no split-brain write, every
 * acknowledged write on DR or counted as lost, the loss consistent with the lag recorded before
 * promotion. Timings are in the reports, not here. This file: the faults that must fail over
 * (two at a time), and `npm run drill` with one of them. test/drillGuards.test.ts: the ones that
 * must not, or must wait for the operator, and the CLI's flags.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main, rawRecords, verdict } from "../drill/cli";
import { DrillReport, reportTable } from "../drill/report";
import type { DrillResult } from "../drill/run";
import { accountedFor, DATABASE_DOWN, drill, DrillRuns, honestLoss, SHORT, steps, twoAtATime } from "./support/drill";

/** db-kill through the CLI: its one JSON line, its progress, the HTML report's directory. */
async function dbKillThroughCli(out: string): Promise<{ code: number; printed: string; progress: string }> {
    let printed = "";
    let progress = "";
    const code = await main(
        [
            ...["--fault", "db-kill", "--interval", String(SHORT.intervalMs / 1000), "--fault-at", String(SHORT.faultAtMs / 1000)],
            ...["--duration", String(DATABASE_DOWN.durationMs / 1000), "--rate", String(SHORT.writesPerSecond), "--json", "--out", out],
        ],
        { out: (s) => (printed += s), err: (s) => (progress += s) },
    );
    return { code, printed, progress };
}

describe("disaster-recovery drill: faults that fail over (real MariaDB replication, the writer lease, the real controller)", function () {
    this.timeout(90_000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "drill-report-"));
    // site-kill runs in `npm run drill -- --fault all`; here it is witness-down-crash's second act.
    let runs: DrillRuns<"blackhole" | "witnessCrash">;
    let cli: Promise<{ code: number; printed: string; progress: string }>;
    before(() => {
        runs = twoAtATime([
            // The controller's fence step waits out the blackholed old writer's connection timeout.
            ["blackhole", () => drill("blackhole", { durationMs: 10_000 })],
            ["witnessCrash", () => drill("witness-down-crash", { durationMs: 11_000 })],
        ]);
        // After the blackhole's drill, beside the witness's.
        cli = Promise.allSettled([runs.blackhole]).then(() => dbKillThroughCli(out));
        cli.catch(() => undefined);
    });
    after(() => fs.rmSync(out, { recursive: true, force: true }));

    it("the primary region blackholed (its agent's path too): one failover, the unreachable old writer recorded as not fenced by the controller, closed by its own database before the lease was taken", async () => {
        const { result, rep } = await runs.blackhole;
        assert.equal(result.outcome, "failed-over", steps(result));
        assert.equal(rep.failovers, 1);
        const fence = result.timeline.find((e) => e.event === "action" && e.action === "fence" && e.status === "succeeded");
        assert.match(String(fence?.detail), /NOT fenced/);
        // The old primary lives behind the blackhole: its own fence closed it, before the take.
        assert.ok(result.oldWriterClosedAt! < result.leaseTakenAt!, "closed before the lease was taken");
        assert.deepEqual(rep.splitBrain, []);
        accountedFor(result, rep);
        honestLoss(rep);
        assert.deepEqual(verdict(rep), []);
    });

    it("the witness silent, then the whole primary site killed (its agent too): the two other vantage points fail over without it (a silent witness abstains, it blocks nothing); the lease lapses first, nothing unaccounted, no split brain (I1, I5)", async () => {
        const { result, rep } = await runs.witnessCrash;
        assert.equal(result.outcome, "failed-over", steps(result));
        assert.equal(rep.failovers, 1);
        assert.deepEqual(rep.splitBrain, []);
        assert.equal(rep.invariants.I5.holds, true, rep.invariants.I5.detail);
        honestLoss(rep);
        const decidedAt = result.timeline.find((e) => e.event === "decision" && e.decision === "fail-over")!.at;
        const witnessBefore = result.timeline.filter((e) => e.event === "probe" && e.name === "witness" && e.at <= decidedAt).at(-1);
        assert.equal(witnessBefore?.abstained, true, `the witness's last vote before the decision: ${JSON.stringify(witnessBefore)}`);
        assert.match(String(witnessBefore?.error), /the witness is silent/);
        accountedFor(result, rep);
        assert.deepEqual(verdict(rep), []);
    });

    it("the primary's database killed, through npm run drill -- --json: one failover, DR serves through the virtual IP, nothing unaccounted, no split brain; one JSON line with the verdict and the raw records, and the HTML report", async () => {
        const { code, printed, progress } = await cli;
        assert.equal(code, 0, `${progress}${printed}`);
        assert.match(progress, /^=== drill: db-kill$/m);
        const lines = printed.trim().split("\n");
        assert.equal(lines.length, 1, "stdout carries the JSON line alone");
        const doc = JSON.parse(lines[0]) as ReturnType<typeof rawRecords> & {
            report: Omit<DrillReport, "timeline">;
            records: Pick<DrillResult, "writes" | "onDr" | "onOldPrimary" | "timeline">;
        };
        assert.equal(doc.verdict, "as expected");
        assert.deepEqual(doc.problems, []);
        const rep: DrillReport = { ...doc.report, timeline: doc.records.timeline };
        const result = doc.records as unknown as DrillResult;
        assert.equal(rep.outcome, "failed-over");
        assert.equal(rep.failovers, 1);
        assert.ok(rep.writes.ackedByDr > 0, "DR acknowledged writes after the failover");
        assert.ok(rep.rtoMs !== undefined && rep.promotedMs !== undefined && rep.rtoMs >= rep.promotedMs, "DR served only once promoted");
        assert.deepEqual(rep.splitBrain, []);
        accountedFor(result, rep);
        honestLoss(rep);
        // The steps ran in the controller's order, each once.
        assert.deepEqual(
            result.timeline.filter((e) => e.event === "action" && e.status === "succeeded").map((e) => e.action),
            ["take-lease", "fence", "promote", "move-traffic", "notify"],
        );
        // Every write is in the raw records, with where and when it was acknowledged.
        assert.equal(result.writes.length, rep.writes.sent);
        assert.ok(result.writes.every((w) => typeof w.id === "number" && typeof w.sentAt === "number"));
        // A person's table from the same report.
        assert.match(reportTable(rep), /^RTO \(first write served by DR\) +\d+\.\d\d s$/m);
        assert.match(reportTable(rep), /^I1 no split brain +holds: nothing committed on the old writer after the lease was taken$/m);
        const file = doc.htmlReport as string;
        assert.ok(fs.existsSync(file), file);
        const html = fs.readFileSync(file, "utf8");
        assert.match(html, /<canvas id="chart"/);
        assert.match(html, /new Chart\(/);
        assert.match(html, /writes\/s acknowledged by dr/);
        assert.match(html, /split brain \(I1\): old primary commits after the lease was taken<\/th><td>0</);
        // The page's raw events (collapsed) have every probe of every round.
        assert.match(
            html,
            /<details><summary>Raw events[^<]*<\/summary>\n<pre>[\s\S]*\{&quot;at&quot;:\d+,&quot;event&quot;:&quot;probe&quot;,&quot;round&quot;:1,&quot;name&quot;:&quot;site-direct&quot;/,
        );
        assert.match(html, /<p id="verdict" class="verdict ok">Verdict: as expected<\/p>/);
    });
});
