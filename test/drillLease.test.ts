/**
 * The drill with the writer lease (drill/lease.ts): the agents beside both real MariaDB
 * databases, the lease in a DynamoDB-protocol store (dynalite) behind paths the drill cuts one at
 * a time, the application on its own fenced account, a second writer going straight to the
 * primary's origin. Each fault checks the invariants from the acknowledgement log and both
 * databases: I3 (no failover of a primary that shoppers reach and that holds its lease) and I1
 * (nothing commits on the old writer after the lease was taken, through the virtual IP or its
 * origin). The two drills run at once: each is mostly waiting.
 */
import { strict as assert } from "assert";
import { verdict } from "../drill/cli";
import { accountedFor, drill } from "./support/drill";

/**
 * Long enough for the lease (L + d = 3 s) to lapse after the fault, and DR to serve after it; 10
 * writes a second through the virtual IP (2 to the origin) are enough for every claim here.
 */
const LEASED = { durationMs: 8000, faultAtMs: 1500, writesPerSecond: 10 };

describe("disaster-recovery drill with the writer lease (MariaDB, dynalite, the writer agents, the real controller)", function () {
    this.timeout(90_000);
    // agent-stop is lease-isolation seen from the agent's side (nothing renews): `npm run drill
    // -- --fault all` runs it; the suite runs the two that differ.
    const runs = {} as Record<"partition" | "isolation", ReturnType<typeof drill>>;
    before(() => {
        const keep = <T>(p: Promise<T>) => (p.catch(() => undefined), p);
        runs.partition = keep(drill("partition-standby", LEASED));
        runs.isolation = keep(drill("lease-isolation", LEASED));
    });

    it("the standby cut off from the primary while shoppers reach it: rounds fail, the lease holds, no failover (I3)", async () => {
        const { result, rep } = await runs.partition;
        assert.equal(rep.failovers, 0);
        assert.equal(rep.promotedMs, undefined, "DR was not promoted");
        assert.ok(
            result.timeline.some((e) => e.event === "decision" && e.decision === "lease-held"),
            "rounds reached max-fail, and the lease held the decision",
        );
        assert.equal(rep.writes.ackedByDr, 0);
        assert.ok(rep.writes.ackedByPrimary > 0, "the primary kept serving shoppers");
        assert.deepEqual(verdict(rep), []);
    });

    for (const [key, what] of [["isolation", "the primary's agent cut off from the lease store"]] as const) {
        it(`${what}: its database closes by itself, the standby takes the lease once lapsed and serves, nothing commits on the old writer after (I1)`, async () => {
            const { result, rep } = await runs[key];
            assert.equal(result.outcome, "failed-over");
            assert.equal(rep.failovers, 1);
            assert.ok(result.leaseTakenAt !== undefined, "the controller took the lease");
            // The commit point comes first: taken before any other step.
            const firstStep = result.timeline.find((e) => e.event === "action" && e.status === "succeeded");
            assert.equal(firstStep?.action, "take-lease");
            assert.deepEqual(rep.splitBrain, [], "commits on the old writer after the lease was taken");
            assert.equal(rep.originWrites!.ackedAfterTake, 0, "origin writes acknowledged after the lease was taken");
            assert.ok(rep.originWrites!.acked > 0, "the origin writer wrote while the primary held the lease");
            assert.ok(rep.writes.ackedByDr > 0, "DR served once it held the lease and was promoted");
            accountedFor(result, rep);
            assert.deepEqual(verdict(rep), []);
        });
    }
});
