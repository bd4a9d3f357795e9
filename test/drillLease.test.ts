/**
 * The drill with the writer lease (drill/lease.ts): the agents beside both real MariaDB
 * databases, the lease in a DynamoDB-protocol store (dynalite) behind paths the drill cuts one at
 * a time, the application on its own fenced account, a second writer going straight to the
 * primary's origin. Each fault checks the invariants from the acknowledgement log and both
 * databases: I3 (no failover of a primary that shoppers reach and that holds its lease) and I1
 * (nothing commits on the old writer after the lease was taken, through the virtual IP or its
 * origin). The drills run at once: each is mostly waiting. test/drillClock.test.ts: the clocks
 * and the frozen agent.
 */
import { strict as assert } from "assert";
import { verdict } from "../drill/cli";
import { INVARIANTS } from "../drill/report";
import type { DrillResult } from "../drill/run";
import { accountedFor, drill, DrillRuns, steps, twoAtATime } from "./support/drill";

describe("disaster-recovery drill with the writer lease (MariaDB, dynalite, the writer agents, the real controller)", function () {
    this.timeout(90_000);
    // agent-stop is lease-isolation seen from the agent's side (nothing renews): `npm run drill
    // -- --fault all` runs it; the suite runs the two that differ. witness-down too (the suite's
    // time): test/failover/observers.test.ts asserts a silent witness abstains.
    let runs: DrillRuns<"partition" | "isolation" | "answersLost" | "restart">;
    before(() => {
        runs = twoAtATime([
            ["partition", () => drill("partition-standby")],
            // 10 s, not 8: on a loaded run the take and the promotion came late enough (6.5 s after
            // the fault was the end) that DR acknowledged no write before the drill ended.
            ["isolation", () => drill("lease-isolation", { durationMs: 10_000 })],
            ["answersLost", () => drill("lease-answers-lost")],
            ["restart", () => drill("in-region-restart")],
        ]);
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
            assert.equal(result.outcome, "failed-over", steps(result));
            assert.equal(rep.failovers, 1);
            assert.ok(result.leaseTakenAt !== undefined, "the controller took the lease");
            // The commit point comes first: taken before any other step.
            const firstStep = result.timeline.find((e) => e.event === "action" && e.status === "succeeded");
            assert.equal(firstStep?.action, "take-lease");
            assert.deepEqual(rep.splitBrain, [], "commits on the old writer after the lease was taken");
            assert.equal(rep.originWrites.ackedAfterTake, 0, "origin writes acknowledged after the lease was taken");
            assert.ok(rep.originWrites.acked > 0, "the origin writer wrote while the primary held the lease");
            assert.ok(rep.writes.ackedByDr > 0, `DR served once it held the lease and was promoted\n${steps(result)}`);
            accountedFor(result, rep);
            assert.deepEqual(verdict(rep), []);
        });
    }

    it("one-way loss (the agent's renewals land, their answers are lost): the lease stays renewed, so no failover; the database closes itself, so shoppers lose writes, never to two writers (I1, I3)", async () => {
        const { result, rep } = await runs.answersLost;
        assert.equal(rep.failovers, 0);
        assert.equal(result.outcome, "elapsed");
        const renewedByAgent = result.leaseHistory.filter((t) => t.by === "agent:primary" && t.op === "renew");
        assert.ok(
            renewedByAgent.filter((t) => t.sentAt > result.faultAt).every((t) => t.outcome === "error"),
            "no renewal after the fault was answered",
        );
        assert.ok(
            leaseRenewedAfterFault(result),
            "the store saw the lost answers' renewals: the lease kept changing, so the controller never took it",
        );
        assert.equal(result.leaseHistory.filter((t) => t.op === "take").length, 0, "the controller never tried to take the lease");
        // The cost: the database closed itself by its deadline; writes after that fail.
        const late = result.writes.filter((w) => w.sentAt > result.faultAt + 3000);
        assert.ok(late.length > 0 && late.every((w) => w.ackAt === undefined), "writes after the database's deadline were all refused");
        assert.equal(rep.invariants.I3.holds, true);
        assert.deepEqual(verdict(rep), []);
    });

    it(`an in-region restart of the primary's database within the agent's grace: it keeps the lease meanwhile, no failover, and serves again (I3)`, async () => {
        const { result, rep } = await runs.restart;
        assert.equal(rep.failovers, 0, "no failover decision");
        assert.equal(result.outcome, "elapsed");
        assert.ok(
            result.timeline.some((e) => e.event === "decision" && e.decision === "lease-held"),
            "rounds failed while it restarted, and the lease held the decision",
        );
        const back = result.timeline.find((e) => e.event === "drill" && e.phase === "the primary's database is back")!.at;
        assert.ok(
            result.leaseHistory.some(
                (t) => t.by === "agent:primary" && t.op === "renew" && t.outcome === "ok" && t.sentAt > result.faultAt && t.at < back,
            ),
            "the agent renewed while its database was down",
        );
        assert.ok(
            result.writes.some((w) => w.ackAt !== undefined && w.ackAt > back && w.site === "primary"),
            "the primary acknowledged writes again once its database was back",
        );
        assert.deepEqual(verdict(rep), []);
    });

    it("every run reports I1, I3 and I5 by name", async () => {
        const { rep } = await runs.partition;
        assert.deepEqual(Object.keys(rep.invariants), Object.keys(INVARIANTS));
        assert.equal(rep.invariants.I5.holds, undefined, "I5 does not apply where the lease was never taken");
    });
});

/** Whether the store took renewals whose answers never came: its item was renewed after the last answered write. */
function leaseRenewedAfterFault(result: DrillResult): boolean {
    const lastAnswered = Math.max(...result.leaseHistory.filter((t) => t.outcome === "ok").map((t) => t.at));
    return result.leaseAtEnd !== undefined && result.leaseAtEnd.holder === "primary" && result.leaseAtEnd.renewedAt > lastAnswered;
}
