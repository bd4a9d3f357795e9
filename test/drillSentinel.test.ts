/**
 * The Sentinel failover measurement (drill/sentinel.ts) on real redis-server and
 * redis-sentinel processes: one run, asserting what it reports, never how fast.
 */
import { strict as assert } from "assert";
import { measureSentinelFailover, sentinelTable } from "../drill/sentinel";

describe("Redis Sentinel failover, measured (drill/sentinel.ts)", function () {
    this.timeout(90_000);

    it("kills the master, sees the client write to the promoted replica, and the old master rejoin as its replica", async () => {
        const options = { runs: 1, downAfterMs: 1000, failoverTimeoutMs: 5000 };
        const [run] = await measureSentinelFailover(options);
        assert.notEqual(run.newMasterPort, undefined);
        assert.notEqual(run.newMasterPort, run.killedPort, "the client writes to another node");
        // The sentinels' view comes in order, and the client's first write after the switch.
        assert.ok(run.sdownMs! <= run.odownMs!, `+sdown ${run.sdownMs} ms, +odown ${run.odownMs} ms`);
        assert.ok(run.odownMs! <= run.switchMasterMs!, `+odown ${run.odownMs} ms, +switch-master ${run.switchMasterMs} ms`);
        assert.ok(run.sdownMs! >= options.downAfterMs, "no sentinel calls the master down before down-after-milliseconds");
        assert.ok(run.rejoinedAsReplicaMs! > run.firstWriteMs!, "rejoined after the failover");
        const table = sentinelTable([run], options).split("\n");
        assert.match(table[0], /^down-after-milliseconds 1000, failover-timeout 5000, quorum 2 of 3 sentinels, 1 run\(s\)/);
        assert.equal(table.length, 5); // settings, header, the run, median, worst
    });
});
