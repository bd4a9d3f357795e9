/**
 * The disaster-recovery drill (drill/): a short drill per fault kind on real MariaDB servers
 * (Debian's mariadb-server, started by the drill on 127.0.0.1), the real controller and the
 * drill's adapters. Behaviour only, never speed: one failover where one is due and none where
 * none is, no split-brain write, every acknowledged write on DR or counted as lost, the loss
 * consistent with the lag recorded before promotion. Timings are in the reports, not here.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main, parseDrillArgs, verdict } from "../drill/cli";
import { DrillReport, summarize } from "../drill/report";
import { DrillOptions, DrillResult, Fault, runDrill } from "../drill/run";

/** Short drills: 0.2 s rounds, three failed rounds fail over, the fault a second in. */
const SHORT: Omit<DrillOptions, "fault"> = {
    intervalMs: 200,
    maxFail: 3,
    quorum: 2,
    writesPerSecond: 40,
    durationMs: 3500,
    faultAtMs: 1000,
    maxLagSeconds: 1,
    lagSeconds: 4,
};

async function drill(fault: Fault): Promise<{ result: DrillResult; rep: DrillReport }> {
    const result = await runDrill({ ...SHORT, fault });
    return { result, rep: summarize(result) };
}

/** Every write a site acknowledged is on DR, or counted in the reported loss. */
function accountedFor(result: DrillResult, rep: DrillReport): void {
    const onDr = new Set(result.onDr);
    const lost = new Set(rep.lostOnDr);
    const unaccounted = result.writes.filter((w) => w.ackAt !== undefined && !onDr.has(w.id) && !lost.has(w.id));
    assert.deepEqual(
        unaccounted.map((w) => w.id),
        [],
        "acknowledged writes neither on DR nor in the reported loss",
    );
    assert.deepEqual(rep.lostEverywhere, []);
}

/** The loss can only be writes acknowledged within the lag recorded before promotion (plus one heartbeat). */
function lossWithinRecordedLag(rep: DrillReport): void {
    assert.notEqual(rep.lagRecordedSeconds, undefined, "the lag was recorded before promotion");
    if (rep.lostOnDr.length > 0) {
        assert.ok(
            rep.lossWindowMs! <= (rep.lagRecordedSeconds! + 1) * 1000,
            `${rep.lostOnDr.length} write(s) lost over ${rep.lossWindowMs} ms, recorded lag ${rep.lagRecordedSeconds} s`,
        );
    }
}

describe("disaster-recovery drill (real MariaDB replication, the real controller)", function () {
    this.timeout(60_000);

    it("the primary's database killed: one failover, DR serves through the virtual IP, nothing unaccounted, no split brain", async () => {
        const { result, rep } = await drill("db-kill");
        assert.equal(result.outcome, "failed-over");
        assert.equal(rep.failovers, 1);
        assert.ok(rep.writes.ackedByDr > 0, "DR acknowledged writes after the failover");
        assert.ok(rep.rtoMs !== undefined && rep.promotedMs !== undefined && rep.rtoMs >= rep.promotedMs, "DR served only once promoted");
        assert.deepEqual(rep.splitBrain, []);
        accountedFor(result, rep);
        lossWithinRecordedLag(rep);
        assert.deepEqual(verdict(rep), []);
        // The steps ran in the controller's order, each once.
        assert.deepEqual(
            result.timeline.filter((e) => e.event === "action" && e.status === "succeeded").map((e) => e.action),
            ["fence", "record-lag", "promote", "move-traffic", "notify"],
        );
    });

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

    it("the primary slow but within the probe timeout: no failover, every write served by the primary", async () => {
        // Rounds of 0.5 s (probe timeout 250 ms, the site 100 ms slow: 0.4 of the timeout, as in
        // every slow drill) rather than SHORT's 0.2 s, where the margin was 60 ms: a loaded 2-core
        // machine (the suite's other workers) stalled probes past it for three rounds in a row, a
        // "failover" of a healthy site caused by the test machine (1 in 8 runs beside two busy
        // loops). It is still the test it was: the slowdown is the same share of the timeout, the
        // controller sees it on every probe of seven rounds, and a site slower than the timeout
        // fails over.
        const result = await runDrill({ ...SHORT, fault: "slow", intervalMs: 500, durationMs: 4500 });
        const rep = summarize(result);
        assert.equal(result.outcome, "elapsed");
        assert.equal(rep.failovers, 0);
        assert.equal(rep.writes.ackedByDr, 0);
        assert.ok(rep.writes.ackedByPrimary > 0);
        assert.equal(result.timeline.filter((e) => e.event === "action").length, 0, "no step ran");
        assert.deepEqual(verdict(rep), []);
    });

    it("replication lag over the budget before the fault: the RPO guard holds the promotion (DR stays a read-only replica)", async () => {
        const { result, rep } = await drill("lag");
        assert.equal(result.outcome, "held");
        assert.equal(rep.failovers, 1);
        assert.ok(rep.lagRecordedSeconds! > SHORT.maxLagSeconds, `recorded lag ${rep.lagRecordedSeconds} s`);
        assert.equal(rep.promotedMs, undefined);
        assert.equal(rep.writes.ackedByDr, 0);
        assert.deepEqual(rep.splitBrain, []);
        assert.deepEqual(verdict(rep), []);
    });

    it("replication lag, then the operator accepts the loss: DR promoted, the writes it had not applied lost, within the recorded lag", async () => {
        // The fault comes after the replica's delay (4 s): the loss spans the whole delay, so the
        // recorded lag has something to be measured against.
        const result = await runDrill({ ...SHORT, fault: "lag", acceptDataLoss: true, faultAtMs: 5000, durationMs: 8000 });
        const rep = summarize(result);
        assert.equal(rep.heldByRpoGuard, true);
        assert.equal(result.outcome, "failed-over");
        assert.ok(rep.lostOnDr.length > 0, "the delayed writes are lost on DR");
        accountedFor(result, rep);
        lossWithinRecordedLag(rep);
        // The loss the controller reported before promoting covers what was lost.
        assert.ok(result.report?.acceptedDataLoss);
        assert.ok(
            result.report.lagSeconds! * 1000 >= rep.lossWindowMs!,
            `reported ${result.report.lagSeconds} s, lost over ${rep.lossWindowMs} ms`,
        );
        assert.deepEqual(rep.splitBrain, []);
        assert.deepEqual(verdict(rep), []);
    });

    it("npm run drill: prints the table and the verdict, and writes the HTML report with its chart to the path it prints", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "drill-report-"));
        let printed = "";
        try {
            const code = await main(
                ["--fault", "db-kill", "--interval", "0.2", "--duration", "3.5", "--fault-at", "1", "--rate", "20", "--out", out],
                { out: (s) => (printed += s), err: (s) => (printed += s) },
            );
            assert.equal(code, 0, printed);
            assert.match(printed, /^RTO \(first write served by DR\) +\d+\.\d\d s$/m);
            assert.match(printed, /^verdict: as expected$/m);
            const file = /^report: (.+\.html)$/m.exec(printed)?.[1];
            assert.ok(file !== undefined && fs.existsSync(file), printed);
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

    it("refuses bad flags before starting anything, naming the flag, the value and what is allowed", async () => {
        assert.throws(
            () => parseDrillArgs(["--fault", "meteor"]),
            /--fault "meteor": expected one of db-kill, site-kill, blackhole, slow, lag, all/,
        );
        assert.throws(() => parseDrillArgs(["--quorum", "4"]), /--quorum 4: expected a whole number from 1 to 3/);
        assert.throws(
            () => parseDrillArgs(["--fault", "lag", "--lag", "2", "--max-lag", "5"]),
            /--lag 2: expected more than --max-lag \(5\)/,
        );
        assert.throws(() => parseDrillArgs(["--duration", "5", "--fault-at", "4"]), /--duration 5: leaves 1 s after the fault/);
        assert.throws(() => parseDrillArgs(["--fault", "slow", "--accept-data-loss"]), /--accept-data-loss: only with --fault lag/);
        let err = "";
        assert.equal(await main(["--rate", "lots"], { out: () => undefined, err: (s) => (err += s) }), 2);
        assert.match(err, /^drill: --rate "lots": expected a number/);
    });
});
