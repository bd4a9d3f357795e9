/**
 * The controller with a writer lease (failover/core/writerLease.ts): it fails over only once
 * the writer's lease has lapsed on its own clock, takes it at the version it watched (the
 * commit point, before any other step), and stands down with nothing done when the writer
 * renews meanwhile. Vantage points that cannot look abstain.
 */
import * as assert from "assert";
import { GlobalAcceleratorClient, DescribeEndpointGroupCommand } from "@aws-sdk/client-global-accelerator";
import { mockClient } from "aws-sdk-client-mock";
import { Controller, ControllerOptions, SwitchoverRefusedError, SwitchoverWithdrawnError } from "../../failover/controller";
import type { LeaseTiming, WriterLeaseRecord } from "../../failover/core/writerLease";
import { AcceleratorHealthProbe } from "../../failover/probes/accelerator";
import type { Probe } from "../../failover/probes/http";
import { FakeClock, MemoryWorld, MemoryWriterLease, options, scriptedProbes } from "../support/failoverWorld";

/** L + d = 120 ms: twelve 10 ms rounds. */
const TIMING: LeaseTiming = {
    leaseMs: 100,
    marginMs: 20,
    fenceMs: 10,
    takeoverWaitMs: 20,
    rateError: 0,
    renewEveryMs: 10,
    renewTimeoutMs: 5,
};

function setUp(overrides: Partial<ControllerOptions> = {}, probes?: (clock: FakeClock) => Probe[]) {
    const clock = new FakeClock();
    const world = new MemoryWorld();
    const lease = new MemoryWriterLease();
    const events: Record<string, any>[] = [];
    const controller = new Controller(
        {
            adapters: { ...world.adapters(), writerLease: lease },
            // Every vantage point fails every round: only the lease stands between this and a failover.
            probes: probes?.(clock) ?? scriptedProbes(3, Array<number>(500).fill(3), clock),
            emit: (event, fields = {}) => events.push({ event, ...fields }),
            clock,
        },
        options({ thresholds: { maxFail: 3, quorum: 2 }, leaseTiming: TIMING, ...overrides }),
    );
    const decisions = () => events.filter((e) => e.event === "decision").map((e) => e.decision as string);
    return { clock, world, lease, events, controller, decisions };
}

describe("failover controller with a writer lease", () => {
    it("never fails over while the writer renews its lease, whatever every vantage point sees", async () => {
        const { world, lease, controller, decisions } = setUp();
        lease.renewing = true;
        assert.strictEqual(await controller.watch(2000), "elapsed");
        assert.deepStrictEqual(world.calls, []);
        assert.strictEqual(world.state!.phase, "suspect");
        assert.ok(decisions().filter((d) => d === "lease-held").length > 100, decisions().join(","));
        assert.ok(!decisions().includes("fail-over"));
        assert.deepStrictEqual(lease.takes, []);
    });

    it("never fails over while the lease cannot be read: the controller cannot know the writer has closed", async () => {
        const { world, lease, controller, events } = setUp();
        lease.unreadable = true;
        assert.strictEqual(await controller.watch(1000), "elapsed");
        assert.deepStrictEqual(world.calls, []);
        const rounds = events.filter((e) => e.event === "round");
        assert.strictEqual(rounds.at(-1)!.lease.state, "unreadable");
    });

    it("fails over once the lease has not changed for L + d, taking it at the watched version with the next epoch, before any other step", async () => {
        const { world, lease, controller, decisions, events } = setUp();
        assert.strictEqual(await controller.watch(2000), "failed-over");
        // Rounds 3 to 12 reach maxFail but wait for the lease; round 13 (120 ms after the first read) decides.
        const rounds = events.filter((e) => e.event === "round");
        assert.strictEqual(rounds.length, 13);
        assert.deepStrictEqual(
            rounds.map((r) => r.lease.state),
            [...Array<string>(12).fill("held"), "lapsed"],
        );
        assert.strictEqual(decisions().filter((d) => d === "lease-held").length, 10);
        assert.deepStrictEqual(
            lease.takes.map((t) => [t.holder, t.epoch]),
            [["dr", 2]],
        );
        assert.deepStrictEqual(world.state!.failover!.lease!.epoch, 2);
        assert.strictEqual(world.state!.failover!.completed[0].step, "take-lease");
        assert.deepStrictEqual(
            world.calls.map((c) => c.step),
            ["fence", "promote", "move-traffic", "notify"],
        );
        const report = events.find((e) => e.event === "report")!;
        assert.match(report.lease, /^epoch 2, taken from primary \(epoch 1\) after it lapsed$/);
    });

    it("an operator's failover of a live writer stands down with nothing done: the writer renewed its lease while it waited", async () => {
        const { world, lease, controller, decisions } = setUp();
        lease.renewing = true;
        assert.strictEqual(await controller.failover("any"), "stood-down");
        assert.deepStrictEqual(world.calls, [], "no step acted");
        assert.deepStrictEqual(lease.takes, []);
        assert.strictEqual(world.state!.phase, "healthy");
        assert.strictEqual(world.state!.failover, undefined);
        assert.match(world.state!.history![0].stoodDown!.reason, /primary renewed its lease .* its database may still take writes/);
        assert.ok(decisions().includes("stood-down"));
    });

    it("an operator's failover of a dead writer waits L + d on the controller's clock, then takes the lease", async () => {
        const { world, lease, controller, clock } = setUp();
        const start = clock.now();
        assert.strictEqual(await controller.failover("any"), "failed-over");
        assert.ok(clock.now() - start >= TIMING.leaseMs + TIMING.takeoverWaitMs, `${clock.now() - start} ms`);
        assert.deepStrictEqual(
            lease.takes.map((t) => t.epoch),
            [2],
        );
        assert.strictEqual(world.state!.phase, "failed-over");
    });

    it("counts a vantage point that could not look (an accelerator API error) as neither up nor down", async () => {
        const ga = mockClient(GlobalAcceleratorClient);
        ga.on(DescribeEndpointGroupCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
        try {
            const accelerator = new AcceleratorHealthProbe(
                "accelerator-health",
                new GlobalAcceleratorClient({}),
                () => Promise.resolve("arn:group"),
                "primary",
            );
            const failing: Probe = {
                name: "writer-origin",
                target: "scripted://writer-origin",
                check: () =>
                    Promise.resolve({
                        name: "writer-origin",
                        target: "scripted://writer-origin",
                        ok: false,
                        latencyMs: 1,
                        reason: "refused",
                    }),
            };
            const { world, lease, controller, events } = setUp({}, () => [failing, accelerator]);
            lease.record = undefined; // no lease at all: the probes alone would decide
            assert.strictEqual(await controller.watch(200), "elapsed");
            const rounds = events.filter((e) => e.event === "round");
            assert.ok(rounds.length > 10);
            assert.ok(rounds.every((r) => r.failures === 1 && r.abstentions === 1 && r.failed === false));
            const probe = events.find((e) => e.event === "probe" && e.name === "accelerator-health")!;
            assert.deepStrictEqual([probe.ok, probe.abstained], [false, true]);
            assert.deepStrictEqual(world.calls, []);
        } finally {
            ga.restore();
        }
    });
});

describe("failover controller with a writer lease: the take", () => {
    it("takes exactly the version it watched lapse: a renewal just after the wait makes the take fail and the failover stand down", async () => {
        const clock = new FakeClock();
        const world = new MemoryWorld();
        /**
         * The holder renews once, right after the read that showed the lease unchanged for L + d:
         * between the taker's last look and its take.
         */
        class LateRenewal extends MemoryWriterLease {
            private firstAt: number | undefined;
            private lapsedSeen = false;
            renewedOnce = false;
            override async read() {
                const now = clock.now();
                this.firstAt ??= now;
                if (this.lapsedSeen && !this.renewedOnce) {
                    this.renewedOnce = true;
                    await this.renew("primary", 1, TIMING.leaseMs);
                }
                this.lapsedSeen = now - this.firstAt >= TIMING.leaseMs + TIMING.takeoverWaitMs;
                return super.read();
            }
            override async take(holder: string, seen: WriterLeaseRecord, leaseMs: number) {
                if (this.lapsedSeen && !this.renewedOnce) {
                    this.renewedOnce = true;
                    await this.renew("primary", 1, TIMING.leaseMs);
                }
                return super.take(holder, seen, leaseMs);
            }
        }
        const lease = new LateRenewal();
        const controller = new Controller(
            { adapters: { ...world.adapters(), writerLease: lease }, probes: [], emit: () => undefined, clock },
            options({ thresholds: { maxFail: 3, quorum: 2 }, leaseTiming: TIMING }),
        );
        assert.equal(await controller.failover("any"), "stood-down");
        assert.ok(lease.renewedOnce, "the renewal came");
        assert.deepStrictEqual(lease.takes, [], "a freshly renewed lease was taken");
        assert.deepStrictEqual(world.calls, []);
    });
});

describe("failover controller with a writer lease: holds and abort", () => {
    it("holds with nothing changed when the loss window is over the budget, and clears by itself once the writer renews", async () => {
        const { world, lease, controller, decisions, events } = setUp({ maxLagSeconds: 60 });
        world.lagSeconds = 100; // over the 60 s budget
        // The writer comes back (renews) once the failover has been held.
        const read = lease.read.bind(lease);
        lease.read = () => {
            lease.renewing ||= events.some((e) => e.event === "hold");
            return read();
        };
        assert.strictEqual(await controller.watch(3000), "elapsed");
        assert.ok(decisions().includes("hold-cleared"), decisions().join(","));
        assert.deepStrictEqual(world.calls, [], "no step ran");
        assert.deepStrictEqual(lease.takes, []);
        assert.ok(world.state!.phase === "healthy" || world.state!.phase === "suspect", world.state!.phase);
        assert.ok(world.state!.history!.at(-1)!.clearedAt! > 0);
    });

    it("clears a hold (never a stand-down) when the renewal shows only in the assessment that the held round runs again, after the round's own look", async () => {
        const { world, lease, controller, decisions, events } = setUp({ maxLagSeconds: 60 });
        world.lagSeconds = 100;
        // The first read after the hold (the round's own look at the lease) still shows the held
        // version; the renewal shows from the next read on (the re-assessment's): the race the
        // hold-clears drill ran into on a loaded machine.
        const read = lease.read.bind(lease);
        let afterHold = 0;
        lease.read = () => {
            if (events.some((e) => e.event === "hold")) {
                afterHold += 1;
                lease.renewing = afterHold >= 2;
            }
            return read();
        };
        assert.strictEqual(await controller.watch(3000), "elapsed");
        const seen = decisions();
        assert.ok(seen.includes("hold-cleared"), seen.join(","));
        assert.ok(!seen.includes("stood-down"), seen.join(","));
        assert.deepStrictEqual(world.calls, [], "no step ran");
        assert.deepStrictEqual(lease.takes, []);
        assert.ok(world.state!.history!.at(-1)!.clearedAt! > 0, "filed as a cleared hold");
    });

    it("an abort that fails half-way is refused a resume, and finishes when run again: the lease back at the next epoch, the fence and traffic undone", async () => {
        const { world, lease, controller } = setUp();
        world.failNext = (step) => step === "fence";
        await assert.rejects(controller.watch(2000), /step fence failed/);
        assert.strictEqual(lease.record!.holder, "dr");
        // The abort: the lease goes back, then the traffic move back fails.
        world.failNext = (step) => step === "move-traffic";
        await assert.rejects(controller.abort(), /injected failure of move-traffic/);
        assert.strictEqual(lease.record!.holder, "primary", "handed back before the undo failed");
        assert.ok(world.state!.failover!.abortingAt! > 0);
        // A resumed run refuses: the failover is being aborted.
        await assert.rejects(controller.watch(500), /an abort of this failover began .* run abort again to finish it/);
        assert.strictEqual(world.calls.filter((c) => c.step === "promote").length, 0);
        // Again, with the traffic move working: it finishes (the lease is not the standby's any more).
        world.failNext = () => false;
        await controller.abort();
        assert.strictEqual(world.state!.phase, "healthy");
        assert.ok(world.state!.history!.at(-1)!.abortedAt! > 0);
        assert.deepStrictEqual([lease.record!.holder, lease.record!.epoch], ["primary", 3]);
    });

    /** The old writer's agent, as the store sees it: it publishes its final beat at 1005 once a handover is requested. */
    function publishingAgent(lease: MemoryWriterLease): void {
        const read = lease.read.bind(lease);
        lease.read = async () => {
            const r = lease.record;
            if (r?.handover !== undefined && r.handover.finalBeatAt === undefined) {
                await lease.publishHandover(r.holder, r.epoch, { finalBeatAt: 1005, fencedAt: 1004.5, gtid: "0-1-7" });
            }
            return read();
        };
    }

    it("a planned switchover takes the lease only once the standby applied the old writer's final beat, at the published version: RPO exactly 0, then the usual steps", async () => {
        const { world, lease, controller, events } = setUp();
        publishingAgent(lease);
        let reads = 0;
        world.beatAt = () => (++reads >= 4 ? 1005 : 1003); // the replica catches up on its fourth read
        assert.strictEqual(await controller.switchover(), "failed-over");
        assert.deepStrictEqual(
            lease.takes.map((t) => [t.holder, t.epoch, t.handover]),
            [["dr", 2, undefined]],
        );
        assert.ok(reads >= 4, `${reads} reads of the replica`);
        assert.deepStrictEqual(
            world.calls.map((c) => c.step),
            ["fence", "promote", "move-traffic", "notify"],
        );
        const record = world.state!.failover!;
        assert.deepStrictEqual([world.state!.phase, record.trigger], ["failed-over", "switchover"]);
        const report = events.find((e) => e.event === "report")!;
        assert.deepStrictEqual([report.lossWindow.seconds, report.lossWindow.fence, report.lossWindow.missingGtid], [0, "published", ""]);
        assert.match(report.fence, /^confirmed: the old writer sealed itself/);
        assert.match(report.lease, /once it handed it over/);
        // The take came after the assessment that saw the final beat applied.
        const assessed = events.findIndex((e) => e.event === "assessment" && e.proceed === true);
        const took = events.findIndex((e) => e.event === "action" && e.action === "take-lease" && e.status === "started");
        assert.ok(assessed >= 0 && assessed < took, `assessment ${assessed}, take ${took}`);
    });

    it("a switchover whose replica does not apply the final beat in time is withdrawn: the writer keeps the lease at a new epoch and nothing else changed", async () => {
        const { world, lease, controller, decisions } = setUp({ switchoverWaitMs: 300 });
        publishingAgent(lease);
        world.beatAt = () => 1003;
        await assert.rejects(controller.switchover(), (err: Error) => {
            assert.ok(err instanceof SwitchoverWithdrawnError, err.message);
            assert.match(err.message, /did not apply the old writer's final heartbeat in time.*primary keeps the lease at epoch 2/);
            return true;
        });
        assert.deepStrictEqual([lease.record!.holder, lease.record!.epoch, lease.record!.handover], ["primary", 2, undefined]);
        assert.deepStrictEqual(lease.takes, []);
        assert.deepStrictEqual(world.calls, []);
        assert.ok(decisions().includes("switchover-withdrawn"));
        assert.ok(world.state === undefined || world.state.phase === "healthy");
    });

    it("an abort of a switchover stopped before its take withdraws the handover: the sealed writer keeps the lease at a new epoch and reopens", async () => {
        const { world, lease, controller } = setUp();
        publishingAgent(lease);
        world.beatAt = () => 1005;
        lease.take = () => Promise.reject(new Error("the lease store does not answer"));
        await assert.rejects(controller.switchover(), /step take-lease failed/);
        assert.strictEqual(lease.record!.handover?.finalBeatAt, 1005, "sealed and published, not taken");
        await controller.abort();
        assert.deepStrictEqual([lease.record!.holder, lease.record!.epoch, lease.record!.handover], ["primary", 2, undefined]);
        assert.strictEqual(world.state!.phase, "healthy");
        assert.deepStrictEqual(world.calls, []);
        // Stopped before anything was saved (the writer sealed, the state still healthy): abort withdraws it too.
        await lease.requestHandover("primary", 2, "dr");
        await controller.abort();
        assert.deepStrictEqual([lease.record!.holder, lease.record!.epoch, lease.record!.handover], ["primary", 3, undefined]);
    });

    it("refuses a switchover before it asks anything of the writer: a standby that replicates another writer, a lease another region holds, no writer lease", async () => {
        const { world, lease, controller } = setUp();
        world.replicates = false;
        const before = { ...lease.record! };
        await assert.rejects(controller.switchover(), SwitchoverRefusedError);
        assert.deepStrictEqual(lease.record, before, "no handover requested");
        world.replicates = true;
        lease.record = { ...before, holder: "elsewhere" };
        await assert.rejects(controller.switchover(), /held by elsewhere .* a switchover moves it from primary/);
        const bare = new MemoryWorld();
        const without = new Controller(
            { adapters: bare.adapters(), probes: [], emit: () => undefined, clock: new FakeClock() },
            options({ thresholds: { maxFail: 3, quorum: 2 } }),
        );
        await assert.rejects(without.switchover(), /no writer lease configured/);
        assert.deepStrictEqual([world.calls, bare.calls], [[], []]);
    });

    it("refuses to resume a failover an earlier version began without a loss window, unless the operator accepts its loss", async () => {
        const { world, controller } = setUp();
        world.state = {
            version: 1,
            region: "dr",
            writerRegion: "primary",
            phase: "failing-over",
            consecutiveFailedRounds: 3,
            updatedAt: 0,
            failover: {
                trigger: "automatic",
                decidedAt: 0,
                from: "primary",
                to: "dr",
                completed: [
                    { step: "take-lease", startedAt: 0, completedAt: 0, attempts: 1 },
                    { step: "fence", startedAt: 0, completedAt: 0, attempts: 1 },
                ],
            },
        };
        await assert.rejects(controller.watch(500), /begun by an earlier version, without a loss window/);
        assert.deepStrictEqual(world.calls, []);
        assert.strictEqual(await controller.failover("any"), "failed-over");
        assert.deepStrictEqual(
            world.calls.filter((c: { ok: boolean }) => c.ok).map((c: { step: string }) => c.step),
            ["promote", "move-traffic", "notify"],
        );
        assert.strictEqual(world.state.failover!.accepted!.loss, "any");
    });
});
