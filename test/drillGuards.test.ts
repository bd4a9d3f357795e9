/**
 * The disaster-recovery drill (drill/): a short drill per fault kind on real MariaDB servers
 * (Debian's mariadb-server, started by the drill on 127.0.0.1), the writer lease with its agents
 * and the witness, the real controller and the drill's adapters. Behaviour only, never speed.
 * This file: the RPO guard (a hold, then an accepted loss), a slow primary (no failover), and the
 * CLI's flags. test/drillFaults.test.ts: the faults that fail over, and
 * `npm run drill`.
 */
import { strict as assert } from "assert";
import { main, parseDrillArgs, verdict } from "../drill/cli";
import { accountedFor, drill, DrillRuns, honestLoss, SHORT, steps, twoAtATime } from "./support/drill";

describe("disaster-recovery drill: guards and the CLI (real MariaDB replication, the writer lease, the real controller)", function () {
    this.timeout(90_000);
    let runs: DrillRuns<"lag" | "slow">;
    before(() => {
        runs = twoAtATime([
            // The fault comes after 3 s of writes, all of them still behind the replica's 19 s
            // delay when the controller reads the window (after the agent's grace and the lease).
            ["lag", () => drill("lag", { acceptLoss: true, faultAtMs: 3000, durationMs: 18_000 })],
            // Beside the lag's drill, which mostly waits (on its agent's grace and the lease): a
            // drill that claims a slow site is served must have the CPU to serve it.
            // Rounds of 1 s (probe timeout 500 ms, the site 200 ms slow: 0.4 of the timeout, as in
            // every slow drill), where the other drills use 0.5 s. With a 100 ms timeout (0.2 s
            // rounds) and then a 250 ms one, the suite's parallel run on two cores stalled a
            // healthy site's probes past the timeout for three rounds in a row: a "failover"
            // caused by the test machine. It is still the test it was: the slowdown is the same
            // share of the timeout, the controller sees it on every probe, and a site slower
            // than the timeout fails over (tried: 1.2 x the timeout).
            ["slow", () => drill("slow", { intervalMs: 1000, faultAtMs: 1000, durationMs: 8000 })],
        ]);
    });

    it("the replica kept behind, the primary's database killed: the failover holds with nothing changed (I4); the operator accepts the stated loss: DR promoted, every lost acknowledged write inside the stated window (I2)", async () => {
        const { result, rep } = await runs.lag;
        assert.equal(rep.held, true, steps(result));
        // Held: nothing taken, nothing fenced, nothing promoted, until the operator accepted the loss.
        assert.equal(rep.invariants.I4.holds, true, rep.invariants.I4.detail);
        const hold = result.timeline.find((e) => e.event === "hold");
        assert.ok(hold !== undefined && (hold.window as { seconds: number }).seconds > SHORT.maxLagSeconds, JSON.stringify(hold));
        const acceptedAt = result.timeline.find((e) => e.event === "drill" && String(e.phase).startsWith("the operator accepts"))?.at;
        const firstStep = result.timeline.find((e) => e.event === "action" && e.status === "started")?.at;
        assert.ok(acceptedAt !== undefined && firstStep !== undefined && firstStep > acceptedAt, steps(result));
        assert.ok(
            result.leaseHistory.filter((t) => t.op === "take").every((t) => t.sentAt > acceptedAt),
            "the lease was taken only after the acceptance",
        );
        assert.ok(result.writes.filter((w) => w.site === "dr" && w.ackAt !== undefined).every((w) => w.ackAt! > acceptedAt));
        assert.equal(result.outcome, "failed-over");
        assert.ok(rep.lostOnDr.length > 0, "the delayed writes are lost on DR");
        accountedFor(result, rep);
        honestLoss(rep, SHORT.lagSeconds);
        assert.match(result.report!.accepted!, /^a loss of up to \d+ s, at /);
        assert.deepEqual(rep.splitBrain, []);
        assert.deepEqual(verdict(rep), []);
    });

    it("the primary slow but within the probe timeout: no failover, every write served by the primary", async () => {
        const { result, rep } = await runs.slow;
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
            /--fault "meteor": expected one of db-kill, site-kill, blackhole, slow, lag, partition-standby, lease-isolation, agent-stop, region-isolation, clock-skew, clock-broken, agent-freeze, lease-answers-lost, in-region-restart, witness-down, witness-down-crash, crash-load, hold-clears, abort, switchover, all/,
        );
        assert.throws(() => parseDrillArgs(["--quorum", "4"]), /--quorum 4: expected a whole number from 1 to 3/);
        assert.throws(
            () => parseDrillArgs(["--fault", "lag", "--lag", "15", "--max-lag", "5"]),
            /--lag 15: expected at least 16 \(--max-lag 5, and the lease's 10 s before the lag is read, and a second\)/,
        );
        assert.throws(() => parseDrillArgs(["--duration", "5", "--fault-at", "4"]), /--duration 5: leaves 1 s after the fault/);
        assert.throws(() => parseDrillArgs(["--fault", "slow", "--accept-loss"]), /--accept-loss: only with --fault lag/);
        let err = "";
        assert.equal(await main(["--rate", "lots"], { out: () => undefined, err: (s) => (err += s) }), 2);
        assert.match(err, /^drill: --rate "lots": expected a number/);
    });
});
