/**
 * The disaster-recovery drill (drill/): a short drill per fault kind on real MariaDB servers
 * (Debian's mariadb-server, started by the drill on 127.0.0.1), the real controller and the
 * drill's adapters. Behaviour only, never speed: one failover where one is due and none where
 * none is, no split-brain write, every acknowledged write on DR or counted as lost, the loss
 * consistent with the lag recorded before promotion. Timings are in the reports, not here.
 * This file: a slow primary (no failover), the RPO guard (hold, then an accepted loss), and the
 * CLI's flags. test/drillFaults.test.ts: the faults that fail over, and `npm run drill`.
 */
import { strict as assert } from "assert";
import { main, parseDrillArgs, verdict } from "../drill/cli";
import { summarize } from "../drill/report";
import { runDrill } from "../drill/run";
import { accountedFor, drill, lossWithinRecordedLag, SHORT } from "./support/drill";

describe("disaster-recovery drill: guards and the CLI (real MariaDB replication, the real controller)", function () {
    this.timeout(60_000);
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
        const result = await runDrill({ ...SHORT, fault: "lag", acceptDataLoss: true, faultAtMs: 5000, durationMs: 9500 });
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

    it("the primary slow but within the probe timeout: no failover, every write served by the primary", async () => {
        // Rounds of 1 s (probe timeout 500 ms, the site 200 ms slow: 0.4 of the timeout, as in every
        // slow drill), where the other drills use 0.5 s. With a 100 ms timeout (0.2 s rounds) and
        // then a 250 ms one, the suite's parallel run on two cores stalled a healthy site's
        // probes past the timeout for three rounds in a row: a "failover" caused by the test
        // machine (1 run in 8 beside two busy loops at 0.2 s). It is still the test it was: the
        // slowdown is the same share of the timeout, the controller sees it on every probe of
        // five rounds, and a site slower than the timeout fails over (tried: 1.2 x the timeout).
        // Last of the drills here: the first seconds of the parallel run are its busiest (four
        // workers loading the project, the type check, the plan's processes), and a drill that
        // claims a slow site is served must have the CPU to serve it.
        const { result, rep } = await drill("slow", { intervalMs: 1000, durationMs: 6000 });
        const failedProbes = result.timeline.filter((e) => e.event === "probe" && e.ok === false);
        assert.equal(result.outcome, "elapsed", `failed probes: ${JSON.stringify(failedProbes)}`);
        assert.equal(rep.failovers, 0);
        assert.equal(rep.writes.ackedByDr, 0);
        const errors = result.writes.filter((w) => w.ackAt === undefined).map((w) => w.error);
        assert.ok(rep.writes.ackedByPrimary > 0, `${rep.writes.sent} sent, none acknowledged: ${JSON.stringify([...new Set(errors)])}`);
        assert.equal(result.timeline.filter((e) => e.event === "action").length, 0, "no step ran");
        assert.deepEqual(verdict(rep), []);
    });

    it("refuses bad flags before starting anything, naming the flag, the value and what is allowed", async () => {
        assert.throws(
            () => parseDrillArgs(["--fault", "meteor"]),
            /--fault "meteor": expected one of db-kill, site-kill, blackhole, slow, lag, partition-standby, lease-isolation, agent-stop, region-isolation, clock-skew, clock-broken, agent-freeze, lease-answers-lost, in-region-restart, all/,
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
