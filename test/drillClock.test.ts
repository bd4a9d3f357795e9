/**
 * The drill with the writer lease, on per-process clocks (drill/clock.ts) and with a frozen agent:
 * the primary region cut off while
 * clients inside it still write to its origin, first with the
 * controller's clock 60 s ahead and 10 % fast and the primary agent's 60 s behind and 10 % slow
 * (within the timing: I1 and I5 hold), then with the controller's clock twenty-five times fast (past it:
 * the invariant checker must catch the old writer open after the lease was taken); and the
 * primary's agent, a process of its own, stopped with SIGSTOP past the lease and the takeover,
 * then resumed. The three run at once: each is mostly waiting.
 */
import { strict as assert } from "assert";
import { verdict } from "../drill/cli";
import { FREEZE_MS } from "../drill/run";
import { accountedFor, drill, SHORT, steps } from "./support/drill";

describe("disaster-recovery drill on skewed clocks and a frozen agent (MariaDB, dynalite, the writer agents, the real controller)", function () {
    this.timeout(90_000);
    const runs = {} as Record<"skew" | "broken" | "freeze", ReturnType<typeof drill>>;
    before(() => {
        const keep = <T>(p: Promise<T>) => (p.catch(() => undefined), p);
        // clock-skew cuts the region in two steps (the standby's view, then the agent's path): a longer run.
        runs.skew = keep(drill("clock-skew", { durationMs: 10_000 }));
        runs.broken = keep(drill("clock-broken"));
        // Frozen for FREEZE_MS, then three seconds to see what the resumed agent does.
        runs.freeze = keep(drill("agent-freeze", { durationMs: SHORT.faultAtMs + FREEZE_MS + 3000 }));
    });

    it("clocks 60 s apart and 10 % off in rate: the standby takes the lease only after the old writer closed, nothing commits there after (I1, I5)", async () => {
        const { result, rep } = await runs.skew;
        assert.equal(result.outcome, "failed-over", steps(result));
        assert.equal(rep.invariants.I1.holds, true, rep.invariants.I1.detail);
        assert.equal(rep.invariants.I5.holds, true, rep.invariants.I5.detail);
        assert.ok(rep.originWrites.acked > 0, "clients inside the region wrote to the origin before it closed");
        assert.ok(result.oldWriterClosedAt! < result.leaseTakenAt!);
        accountedFor(result, rep);
        assert.deepEqual(verdict(rep), []);
    });

    it("the controller's clock twenty-five times fast: it takes the lease while the old writer is open, and the checker says so (I5 violated)", async () => {
        const { result, rep } = await runs.broken;
        assert.equal(result.outcome, "failed-over", steps(result));
        assert.equal(rep.invariants.I5.holds, false, `${rep.invariants.I5.detail}\n${steps(result)}`);
        assert.match(rep.invariants.I5.detail, /^the old writer was still open \d+\.\d\d s after the lease was taken$/);
        assert.ok(result.oldWriterClosedAt! > result.leaseTakenAt!, "the old writer's own record: closed after the take");
        // The drill's verdict: as expected, because the violation was caught.
        assert.deepEqual(verdict(rep), []);
        assert.deepEqual(
            verdict({ ...rep, invariants: { ...rep.invariants, I5: { holds: true, detail: "" }, I1: { holds: true, detail: "" } } }),
            ["the timing was broken on purpose, and the invariant checker did not catch it (I5)"],
        );
    });

    it("the agent frozen (SIGSTOP) past the lease: its database closes by itself, the standby takes over; resumed, the agent finds the lease lost and the old writer stays closed (I1, I5)", async () => {
        const { result, rep } = await runs.freeze;
        assert.equal(result.outcome, "failed-over", steps(result));
        const resumed = result.timeline.find((e) => e.event === "drill" && e.phase === "the primary's agent resumed (SIGCONT)")!.at;
        assert.ok(result.leaseTakenAt! < resumed, "the lease was taken while the agent was frozen");
        assert.ok(
            result.timeline.some((e) => e.event === "agent-lease-lost" && e.agent === "primary" && e.at > resumed),
            "the resumed agent learned it had lost the lease",
        );
        assert.ok(!result.timeline.some((e) => e.event === "agent-unfenced" && e.agent === "primary" && e.at > result.faultAt));
        assert.equal(rep.invariants.I1.holds, true, rep.invariants.I1.detail);
        assert.equal(rep.invariants.I5.holds, true, rep.invariants.I5.detail);
        accountedFor(result, rep);
        assert.deepEqual(verdict(rep), []);
    });
});
