/**
 * The disaster-recovery drill (drill/): a short drill per fault kind on real MariaDB servers
 * (Debian's mariadb-server, started by the drill on 127.0.0.1), the real controller and the
 * drill's adapters. Behaviour only, never speed: one failover where one is due and none where
 * none is, no split-brain write, every acknowledged write on DR or counted as lost, the loss
 * consistent with the lag recorded before promotion. Timings are in the reports, not here.
 * This file: the faults that must fail over, and `npm run drill` with one of them.
 * test/drillGuards.test.ts: the ones that must not, or must wait for the operator, and the CLI's
 * flags. Two files of about 30 s each, so the parallel run drills both at once.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main, rawRecords, verdict } from "../drill/cli";
import { DrillReport, reportTable } from "../drill/report";
import type { DrillResult } from "../drill/run";
import { accountedFor, drill, lossWithinRecordedLag } from "./support/drill";

describe("disaster-recovery drill: faults that fail over (real MariaDB replication, the real controller)", function () {
    this.timeout(60_000);
    it("the whole primary site killed: one failover, nothing unaccounted, no split brain", async () => {
        const { result, rep } = await drill("site-kill");
        assert.equal(result.outcome, "failed-over");
        assert.equal(rep.failovers, 1);
        assert.deepEqual(rep.splitBrain, []);
        accountedFor(result, rep);
        lossWithinRecordedLag(rep);
        assert.deepEqual(verdict(rep), []);
    });

    it("the network to the primary blackholed: one failover, the unreachable old writer recorded as not fenced, and it accepted nothing after the fence", async () => {
        const { result, rep } = await drill("blackhole");
        assert.equal(result.outcome, "failed-over");
        assert.equal(rep.failovers, 1);
        const fence = result.timeline.find((e) => e.event === "action" && e.action === "fence" && e.status === "succeeded");
        assert.match(String(fence?.detail), /NOT fenced/);
        // The old primary lives behind the blackhole, writable: it must not have taken a write after the fence.
        assert.deepEqual(rep.splitBrain, []);
        accountedFor(result, rep);
        lossWithinRecordedLag(rep);
        assert.deepEqual(verdict(rep), []);
    });

    it("the primary's database killed, through npm run drill -- --json: one failover, DR serves through the virtual IP, nothing unaccounted, no split brain; one JSON line with the verdict and the raw records, and the HTML report", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "drill-report-"));
        let printed = "";
        let progress = "";
        try {
            const code = await main(
                ["--fault", "db-kill", "--interval", "0.5", "--duration", "6", "--fault-at", "1", "--rate", "20", "--json", "--out", out],
                { out: (s) => (printed += s), err: (s) => (progress += s) },
            );
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
            assert.ok(
                rep.rtoMs !== undefined && rep.promotedMs !== undefined && rep.rtoMs >= rep.promotedMs,
                "DR served only once promoted",
            );
            assert.deepEqual(rep.splitBrain, []);
            accountedFor(result, rep);
            lossWithinRecordedLag(rep);
            // The steps ran in the controller's order, each once.
            assert.deepEqual(
                result.timeline.filter((e) => e.event === "action" && e.status === "succeeded").map((e) => e.action),
                ["take-lease", "fence", "record-lag", "promote", "move-traffic", "notify"],
            );
            // Every write is in the raw records, with where and when it was acknowledged.
            assert.equal(result.writes.length, rep.writes.sent);
            assert.ok(result.writes.every((w) => typeof w.id === "number" && typeof w.sentAt === "number"));
            // A person's table from the same report.
            assert.match(reportTable(rep), /^RTO \(first write served by DR\) +\d+\.\d\d s$/m);
            assert.match(reportTable(rep), /^I1 no split brain +holds: nothing committed on the old writer after the fence$/m);
            const file = doc.htmlReport as string;
            assert.ok(fs.existsSync(file), file);
            const html = fs.readFileSync(file, "utf8");
            assert.match(html, /<canvas id="chart"/);
            assert.match(html, /new Chart\(/);
            assert.match(html, /writes\/s acknowledged by dr/);
            assert.match(html, /split brain: old primary writes after the fence<\/th><td>0</);
            // The page's timeline has every probe of every round.
            assert.match(html, /probe +\{&quot;round&quot;:1,&quot;name&quot;:&quot;site-direct&quot;/);
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    });
});
