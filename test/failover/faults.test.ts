/**
 * Fault injection against real HTTP servers on 127.0.0.1: the writer site's health endpoint
 * in each failure mode, and real hook servers, driven through the CLI (`main`, in-process).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CliRun, eventsOf, HookServer, runCli, Site, SiteMode } from "../support/failoverServers";

const STEPS = ["fence", "promote", "move-traffic", "notify"];
/** The hooks a failover calls: the assessment reads the replica first (it changes nothing), then the steps. */
const CALLS = ["read-replica", ...STEPS];
/** Fast rounds: 50 ms apart, a 40 ms probe timeout, quick retries (for tests that only need failed rounds). */
const FAST = ["--interval", "0.05", "--timeout", "0.04", "--max-fail", "3", "--retry-delay", "0.01", "--lease", "2"];
/** Where the failure's kind is asserted, a timeout no busy machine reaches on a refused or answered probe (later flags win). */
const ROOMY = ["--interval", "0.1", "--timeout", "0.1"];

describe("failover controller under injected faults (real HTTP servers)", () => {
    let dir: string;
    let site: Site;
    let hooks: HookServer;
    let n = 0;
    const state = () => path.join(dir, `state-${n}.json`);
    const readState = () => JSON.parse(fs.readFileSync(state(), "utf8"));
    const watch = (extra: string[] = [], probes = ["--probe", `site=${site.url}`]) => [
        "watch",
        "--state",
        state(),
        ...FAST,
        ...probes,
        ...hooks.flags(),
        ...extra,
    ];
    /** An operator's failover on this test's state, confirmed (--yes), with every hook. */
    const manualFailover = (extra: string[]) => ["failover", "--state", state(), "--yes", ...extra, ...hooks.flags()];

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "failover-faults-"));
        [site, hooks] = await Promise.all([new Site().start(), new HookServer().start()]);
    });
    after(async () => {
        await Promise.all([site.set("ok").then(() => site.close()), hooks.close()]);
        fs.rmSync(dir, { recursive: true, force: true });
    });
    beforeEach(async () => {
        n += 1;
        hooks.reset();
        await site.set("ok");
    });

    const failsOverOn =
        (mode: SiteMode, reason: string, extra: string[] = []) =>
        async () => {
            await site.set(mode);
            const run = await runCli(watch(["--for", "5", ...extra]));
            assert.strictEqual(run.code, 0, run.stderr);
            const rounds = eventsOf(run, "round");
            assert.deepStrictEqual(
                rounds.map((r) => r.consecutiveFailedRounds),
                [1, 2, 3],
            );
            assert.ok(
                eventsOf(run, "probe").every((p) => p.ok === false && p.reason === reason),
                JSON.stringify(eventsOf(run, "probe")),
            );
            const decision = eventsOf(run, "decision").find((d) => d.decision === "fail-over");
            assert.strictEqual(decision?.consecutiveFailedRounds, 3);
            assert.deepStrictEqual(hooks.actions(), CALLS);
            assert.deepStrictEqual(hooks.calls[1].body.inputs, { region: "primary" });
            assert.deepStrictEqual(hooks.calls[3].body.inputs, { to: "dr", from: "primary" });
            assert.strictEqual(readState().phase, "failed-over");
            assert.deepStrictEqual(
                eventsOf(run, "end").map((e) => e.exitCode),
                [0],
            );
        };

    it("fails over after maxFail rounds when the writer site refuses connections", failsOverOn("down", "refused", ROOMY));
    it("fails over when connections are reset", failsOverOn("reset", "reset", ROOMY));
    it("fails over when the site accepts connections but never answers (timeout)", failsOverOn("hang", "timeout"));
    it("fails over on a 5xx", failsOverOn("error", "status", ROOMY));
    it(
        "fails over on a 2xx whose body does not match --expect-body",
        failsOverOn("wrong-body", "body", [...ROOMY, "--expect-body", "^ok$"]),
    );

    describe("no failover without maxFail consecutive failed rounds (four sites watched at once)", () => {
        // Each scenario has its own site and state; all four run together. Healthy answers
        // get a 100 ms timeout, far above their latency, so a busy machine does not fail them.
        const runs: Record<string, Promise<{ run: CliRun; calls: string[] }>> = {};
        const steady = ["--interval", "0.1", "--timeout", "0.1", "--max-fail", "3", "--lease", "2"];
        const scenario = async (
            name: string,
            mode: SiteMode,
            args: (url: string, other: Site) => string[],
            onEvent?: (e: any, s: Site) => void,
        ) => {
            const [own, other, ownHooks] = await Promise.all([new Site().start(), new Site().start(), new HookServer().start()]);
            await Promise.all([own.set(mode), other.set("down")]);
            own.slowMs = 50;
            const run = await runCli(
                ["watch", "--state", path.join(dir, `${name}.json`), ...steady, ...ownHooks.flags(), ...args(own.url, other)],
                {
                    onEvent: (e) => onEvent?.(e, own),
                },
            );
            await Promise.all([own.set("ok").then(() => own.close()), other.close(), ownHooks.close()]);
            return { run, calls: ownHooks.actions() };
        };

        before(() => {
            const keep = <T>(p: Promise<T>) => (p.catch(() => undefined), p);
            // 50 ms answers against a 300 ms timeout
            runs.slow = keep(
                scenario("slow", "slow", (url) => ["--probe", `site=${url}`, "--interval", "0.3", "--timeout", "0.3", "--for", "0.9"]),
            );
            // Every other answer fails; a timeout would fail one that was about to succeed, and two
            // in a row decide: the same 300 ms as "slow", so a loaded machine never fakes a second.
            runs.flap = keep(
                scenario("flap", "flap", (url) => [
                    "--probe",
                    `site=${url}`,
                    "--max-fail",
                    "2",
                    "--interval",
                    "0.3",
                    "--timeout",
                    "0.3",
                    "--for",
                    "1.2",
                ]),
            );
            runs.quorum = keep(
                scenario("quorum", "ok", (url, dead) => [
                    "--probe",
                    `a=${url}`,
                    "--probe",
                    `b=${url}`,
                    "--probe",
                    `c=${dead.url}`,
                    "--quorum",
                    "2",
                    "--for",
                    "0.6",
                ]),
            );
            runs.recovery = keep(
                scenario(
                    "recovery",
                    "down",
                    (url) => ["--probe", `site=${url}`, "--for", "0.6"],
                    (e, own) => {
                        if (e.event === "round" && e.consecutiveFailedRounds === 2) {
                            void own.set("ok");
                        }
                    },
                ),
            );
        });

        const noFailover = ({ run, calls }: { run: CliRun; calls: string[] }) => {
            assert.strictEqual(run.code, 3, run.stderr);
            assert.deepStrictEqual(calls, [], "no hook was called");
            assert.ok(!eventsOf(run, "decision").some((d) => d.decision === "fail-over"));
            assert.strictEqual(eventsOf(run, "action").length, 0);
        };

        it("a site slow but within the timeout is healthy", async () => {
            const result = await runs.slow;
            noFailover(result);
            const { run } = result;
            const probes = eventsOf(run, "probe");
            // Three rounds in 0.9 s; a loaded machine may skip one (a late slot is skipped, never crammed).
            assert.ok(probes.length >= 2 && probes.length <= 3, JSON.stringify(probes));
            assert.ok(
                probes.every((p) => p.ok && p.latencyMs >= 45),
                JSON.stringify(probes),
            );
        });

        it("a flapping site fails rounds but never maxFail in a row", async () => {
            const result = await runs.flap;
            noFailover(result);
            const { run } = result;
            const rounds = eventsOf(run, "round");
            assert.ok(
                rounds.some((r) => r.failed),
                "the flapping site never failed a round",
            );
        });

        it("one vantage point of three failing (quorum 2) fails no round", async () => {
            const result = await runs.quorum;
            noFailover(result);
            const { run } = result;
            const dead = eventsOf(run, "probe").filter((p) => p.name === "c");
            // Six rounds in 0.6 s; a loaded machine may skip some: every one that ran saw the dead one refuse.
            assert.ok(dead.length >= 3 && dead.every((p) => p.ok === false && p.reason === "refused"), JSON.stringify(dead));
            assert.ok(eventsOf(run, "round").every((r) => r.failures >= 1));
        });

        it("a site back after maxFail - 1 failed rounds resets the count", async () => {
            const result = await runs.recovery;
            noFailover(result);
            const { run } = result;
            assert.deepStrictEqual(
                eventsOf(run, "decision")
                    .slice(0, 3)
                    .map((d) => d.decision),
                ["suspect", "suspect", "recovered"],
            );
            assert.strictEqual(JSON.parse(fs.readFileSync(path.join(dir, "recovery.json"), "utf8")).consecutiveFailedRounds, 0);
        });
    });

    it("completes a failover when the site recovers in the middle of it, and never fails back", async () => {
        await site.set("down");
        hooks.behaviour.fence = { onCall: () => site.set("ok") };
        const first = await runCli(watch(["--for", "5"]));
        assert.strictEqual(first.code, 0, first.stderr);
        assert.deepStrictEqual(hooks.actions(), CALLS);
        // The site is healthy again: a new watch on the same state does nothing at all.
        const second = await runCli(watch(["--for", "0.3"]));
        assert.strictEqual(second.code, 0, second.stderr);
        assert.deepStrictEqual(
            eventsOf(second, "decision").map((d) => d.decision),
            ["already-failed-over"],
        );
        assert.strictEqual(eventsOf(second, "probe").length, 0);
        assert.deepStrictEqual(hooks.actions(), CALLS);
        assert.match(second.stderr, /this controller watches again only once an operator re-arms it/);
    });

    it("rearm files a completed failover under history and watches again, only once the standby replicates the writer; it refuses a state that has not failed over", async () => {
        await site.set("down");
        assert.strictEqual((await runCli(watch(["--for", "5"]))).code, 0);
        // Not rebuilt yet: the standby replicates another writer (or is still the promoted one).
        hooks.behaviour["read-replica"] = { replicatesExpected: false };
        const early = await runCli(["rearm", "--state", state(), "--yes", ...hooks.flags()]);
        assert.strictEqual(early.code, 1);
        assert.match(early.stderr, /not re-armed: standby replicates the writer: NOT a replica of the writer/);
        assert.strictEqual(readState().phase, "failed-over", "nothing changed");
        hooks.behaviour["read-replica"] = {};
        const rearm = await runCli(["rearm", "--state", state(), "--yes", ...hooks.flags()]);
        assert.strictEqual(rearm.code, 0, rearm.stderr);
        const saved = readState();
        assert.strictEqual(saved.phase, "healthy");
        assert.strictEqual(saved.failover, undefined);
        assert.deepStrictEqual(
            saved.history.map((f: any) => f.completed.length),
            [5],
        );
        assert.ok(saved.history[0].rearmedAt > 0);
        assert.match(rearm.stderr, /earlier failovers: 1, the latest primary -> dr completed .*, re-armed /);
        const again = await runCli(["rearm", "--state", state(), "--yes", ...hooks.flags()]);
        assert.strictEqual(again.code, 1);
        assert.match(again.stderr, /phase healthy; only a controller that has failed over is re-armed/);
    });

    it("no automatic failover within the recovery block of the last one; a manual failover may", async () => {
        await site.set("down");
        assert.strictEqual((await runCli(watch(["--for", "5"]))).code, 0);
        assert.strictEqual((await runCli(["rearm", "--state", state(), "--yes", ...hooks.flags()])).code, 0);
        hooks.calls.length = 0;
        const blocked = await runCli(watch(["--for", "0.5", "--recovery-block", "3600"]));
        assert.strictEqual(blocked.code, 3, blocked.stderr);
        assert.ok(eventsOf(blocked, "decision").some((d) => d.decision === "recovery-blocked"));
        assert.deepStrictEqual(hooks.actions(), [], "nothing was called");
        const manual = await runCli(manualFailover(["--recovery-block", "3600"]));
        assert.strictEqual(manual.code, 0, manual.stderr);
        assert.deepStrictEqual(hooks.actions(), CALLS);
    });

    it("retries a hook that fails once and completes, calling each other hook once", async () => {
        await site.set("down");
        hooks.behaviour.promote = { failTimes: 1 };
        const run = await runCli(watch(["--for", "5", "--retries", "2"]));
        assert.strictEqual(run.code, 0, run.stderr);
        assert.deepStrictEqual(hooks.actions(), ["read-replica", "fence", "promote", "promote", "move-traffic", "notify"]);
        const promote = eventsOf(run, "action").filter((a) => a.action === "promote");
        assert.deepStrictEqual(
            promote.map((a) => a.status),
            ["started", "retrying", "succeeded"],
        );
        assert.match(promote[1].error, /hook promote http:\/\/127\.0\.0\.1:\d+\/promote answered HTTP 500: injected failure/);
    });

    it("fails a step after its retries (exit 1), and a second watch resumes without repeating completed steps", async () => {
        await site.set("down");
        hooks.behaviour["move-traffic"] = { failTimes: 2 };
        const first = await runCli(watch(["--for", "5", "--retries", "1"]));
        assert.strictEqual(first.code, 1);
        assert.match(first.stderr, /step move-traffic failed after 2 attempt\(s\): hook move-traffic .* answered HTTP 500/);
        assert.match(first.stderr, /run the same command again to resume/);
        const saved = readState();
        assert.strictEqual(saved.phase, "failing-over");
        assert.deepStrictEqual(
            saved.failover.completed.map((c: any) => c.step),
            ["take-lease", "fence", "promote"],
        );
        assert.strictEqual(saved.failover.current.step, "move-traffic");
        assert.strictEqual(saved.failover.current.attempts, 2);

        const second = await runCli(watch(["--for", "5", "--retries", "1"]));
        assert.strictEqual(second.code, 0, second.stderr);
        assert.strictEqual(eventsOf(second, "probe").length, 0, "a resumed failover does not probe again");
        assert.deepStrictEqual(hooks.actions(), [
            "read-replica",
            "fence",
            "promote",
            "move-traffic",
            "move-traffic",
            "move-traffic",
            "notify",
        ]);
        const done = readState().failover.completed.find((c: any) => c.step === "move-traffic");
        assert.strictEqual(done.attempts, 3, "attempts count across runs");
    });

    describe("the assessment: a hold changes nothing", () => {
        const acting = () => hooks.actions().filter((a) => a !== "read-replica");

        it("holds with nothing changed when the replica cannot be read, even with the guard off: it cannot show the standby replicates the writer", async () => {
            await site.set("down");
            hooks.behaviour["read-replica"] = { failTimes: 100 };
            const run = await runCli(watch(["--for", "0.5"]));
            assert.strictEqual(run.code, 4, run.stderr);
            assert.deepStrictEqual(acting(), [], "no step ran");
            assert.match(
                run.stderr,
                /FAILOVER HELD, NOTHING CHANGED: precondition\(s\) not met: standby replicates the writer: hook read-replica .* answered HTTP 500/,
            );
            assert.strictEqual(readState().phase, "held");
        });

        it("holds when the loss window is over --max-lag, says so loudly, keeps assessing each round, and exits 4; the operator accepts the stated loss", async () => {
            await site.set("down");
            hooks.behaviour["read-replica"] = { lagSeconds: 30 };
            const run = await runCli(watch(["--for", "0.5", "--max-lag", "5", "--lag-wait", "0"]));
            assert.strictEqual(run.code, 4, run.stderr);
            assert.ok(hooks.count("read-replica") >= 2, "the hold assesses again each round");
            assert.deepStrictEqual(acting(), [], "no step ran: the lease, traffic and both databases are as they were");
            assert.match(
                run.stderr,
                /\*\*\* FAILOVER HELD, NOTHING CHANGED: the loss window 30\.0 s is over the budget of 5 s\. .*failover --accept-loss 30/,
            );
            const saved = readState();
            assert.strictEqual(saved.phase, "held");
            assert.strictEqual(saved.failover.completed.length, 0);
            assert.ok(saved.failover.heldSince > 0);
            const status = await runCli(["status", "--state", state()]);
            assert.strictEqual(status.code, 0);
            assert.match(status.stdout, /HELD since .*, NOTHING CHANGED: the loss window 30\.0 s is over the budget of 5 s/);
            assert.match(status.stdout, /to go on, accepting the loss: npm run failover -- failover --accept-loss 30/);
            assert.match(status.stdout, /take-lease +not started/);

            // Accepting less than the window changes nothing.
            const short = await runCli(manualFailover(["--accept-loss", "10", "--max-lag", "5", "--lag-wait", "0"]));
            assert.strictEqual(short.code, 4, short.stderr);
            assert.deepStrictEqual(acting(), []);
            // The operator accepts the stated loss: the failover goes on from the start.
            const manual = await runCli(manualFailover(["--accept-loss", "30", "--max-lag", "5", "--lag-wait", "0"]));
            assert.strictEqual(manual.code, 0, manual.stderr);
            assert.deepStrictEqual(acting(), STEPS);
            const final = readState();
            assert.strictEqual(final.phase, "failed-over");
            assert.deepStrictEqual(final.failover.accepted.loss, { seconds: 30 });
            assert.strictEqual(final.failover.heldSince, undefined);
            assert.match(manual.stderr, /data at risk \(the loss window\): up to 30\.0 s of writes/);
            assert.match(manual.stderr, /an operator accepted a loss of up to 30 s/);
        });

        it("goes on by itself once the window comes within the budget (the replica caught up), having changed nothing until then", async () => {
            await site.set("down");
            hooks.behaviour["read-replica"] = { lagSeconds: [30, 9, 2] };
            const run = await runCli(watch(["--for", "5", "--max-lag", "5", "--lag-wait", "0"]));
            assert.strictEqual(run.code, 0, run.stderr);
            assert.strictEqual(hooks.count("read-replica"), 3);
            assert.deepStrictEqual(hooks.actions(), ["read-replica", "read-replica", "read-replica", ...STEPS]);
            assert.deepStrictEqual(
                eventsOf(run, "assessment").map((e) => e.proceed),
                [false, false, true],
            );
            assert.strictEqual(readState().failover.assessment.window.seconds, 2);
        });

        it("holds when the replica's answer is not what the hook must say", async () => {
            await site.set("down");
            hooks.behaviour["read-replica"] = { lagSeconds: "garbage" };
            const run = await runCli(watch(["--for", "0.3", "--max-lag", "5", "--lag-wait", "0"]));
            assert.strictEqual(run.code, 4, run.stderr);
            assert.match(run.stderr, /the hook's body is not JSON: not json/);
            assert.deepStrictEqual(acting(), []);
        });

        it("holds when no read-replica hook is configured", async () => {
            await site.set("down");
            const flags = hooks.flags(["fence", "promote", "move-traffic", "notify"]);
            const run = await runCli([
                "watch",
                "--state",
                state(),
                ...FAST,
                "--probe",
                `site=${site.url}`,
                ...flags,
                "--for",
                "0.3",
                "--max-lag",
                "5",
                "--lag-wait",
                "0",
            ]);
            assert.strictEqual(run.code, 4, run.stderr);
            assert.match(run.stderr, /no read-replica hook is configured/);
            assert.deepStrictEqual(hooks.actions(), []);
        });

        it("refuses --accept-loss that is neither seconds nor any, before anything runs", async () => {
            const run = await runCli(manualFailover(["--accept-loss", "lots"]));
            assert.strictEqual(run.code, 2);
            assert.match(run.stderr, /--accept-loss "lots": expected the seconds of loss window to accept .* or any/);
            assert.deepStrictEqual(hooks.calls, []);
        });
    });

    describe("abort", () => {
        it("between the take and the promotion: undoes the fence and the traffic move, and files the failover as aborted", async () => {
            await site.set("down");
            hooks.behaviour.promote = { failTimes: 100 };
            const stuck = await runCli(watch(["--for", "5", "--retries", "0"]));
            assert.strictEqual(stuck.code, 1, stuck.stderr);
            assert.strictEqual(readState().failover.current.step, "promote");
            assert.match((await runCli(["status", "--state", state()])).stdout, /promotion requested .*: no undo from here/);
            // A promotion that was asked for cannot be undone.
            const refused = await runCli(["abort", "--state", state(), "--yes", ...hooks.flags()]);
            assert.strictEqual(refused.code, 1);
            assert.match(refused.stderr, /the promotion of dr was requested at .*: there is no undo after it/);
        });

        it("before the promotion was asked for (stopped at the fence): moves traffic back to the old writer, files the failover as aborted, and the controller watches again", async () => {
            await site.set("down");
            hooks.behaviour.fence = { failTimes: 100 };
            const stuck = await runCli(watch(["--for", "5", "--retries", "0"]));
            assert.strictEqual(stuck.code, 1, stuck.stderr);
            assert.strictEqual(readState().failover.current.step, "fence");
            assert.match((await runCli(["status", "--state", state()])).stdout, /not promoted yet: abort hands the lease back/);
            hooks.calls.length = 0;
            const no = await runCli(["abort", "--state", state(), ...hooks.flags()], { answer: "dr" });
            assert.strictEqual(no.code, 1, "the old writer's region is the confirmation");
            assert.deepStrictEqual(hooks.calls, []);
            const abort = await runCli(["abort", "--state", state(), ...hooks.flags()], { answer: "primary" });
            assert.strictEqual(abort.code, 0, abort.stderr);
            assert.deepStrictEqual(hooks.actions(), ["move-traffic"]);
            assert.deepStrictEqual(
                hooks.calls.map((c: { body: Record<string, unknown> }) => c.body.inputs),
                [{ to: "primary", from: "dr" }],
            );
            const saved = readState();
            assert.strictEqual(saved.phase, "healthy");
            assert.strictEqual(saved.failover, undefined);
            assert.ok(saved.history[0].abortedAt > 0);
            assert.match(abort.stderr, /earlier failovers: 1, the latest primary -> dr aborted /);
            // Nothing to abort now.
            const again = await runCli(["abort", "--state", state(), "--yes", ...hooks.flags()]);
            assert.strictEqual(again.code, 1);
            assert.match(again.stderr, /phase healthy: no failover under way to abort/);
        });
    });

    describe("manual failover", () => {
        it("asks for the region's name and changes nothing on a wrong answer", async () => {
            const run = await runCli(["failover", "--state", state(), ...hooks.flags()], { answer: "yes" });
            assert.strictEqual(run.code, 1);
            assert.match(run.stderr, /Type the region name \(dr\) to confirm: not confirmed; nothing was changed/);
            assert.deepStrictEqual(hooks.calls, []);
            assert.ok(!fs.existsSync(state()));
        });

        it("fails over on the right answer, with the same steps", async () => {
            const run = await runCli(["failover", "--state", state(), ...hooks.flags()], { answer: "dr" });
            assert.strictEqual(run.code, 0, run.stderr);
            assert.deepStrictEqual(hooks.actions(), CALLS);
            assert.strictEqual(readState().failover.trigger, "manual");
        });
    });

    it("--dry-run decides and reports but calls no hook that acts (it reads the replica) and writes no state", async () => {
        await site.set("down");
        const run = await runCli(watch(["--for", "5", "--dry-run"]));
        assert.strictEqual(run.code, 0, run.stderr);
        assert.deepStrictEqual(
            eventsOf(run, "action").map((a) => `${a.action}:${a.status}`),
            ["take-lease", ...STEPS].map((s) => `${s}:dry-run`),
        );
        assert.deepStrictEqual(hooks.actions(), ["read-replica"]);
        assert.ok(!fs.existsSync(state()));
    });

    it("failover --dry-run lists the steps but calls no hook, asks nothing and writes no state", async () => {
        const run = await runCli(["failover", "--state", state(), "--dry-run", ...hooks.flags()]);
        assert.strictEqual(run.code, 0, run.stderr);
        assert.deepStrictEqual(
            eventsOf(run, "action").map((a) => `${a.action}:${a.status}`),
            ["take-lease", ...STEPS].map((s) => `${s}:dry-run`),
        );
        assert.doesNotMatch(run.stderr, /Type the region name/);
        assert.deepStrictEqual(hooks.actions(), ["read-replica"]);
        assert.ok(!fs.existsSync(state()));
    });

    describe("check", () => {
        it("is ready when every hook answers and the state can fail over", async () => {
            const run = await runCli(["check", "--state", state(), ...hooks.flags()]);
            assert.strictEqual(run.code, 0, run.stderr);
            assert.match(run.stderr, /ok {6}hook promote {7}http:\/\/127\.0\.0\.1:\d+\/promote answered HTTP 405/);
            assert.match(run.stderr, /ready: a failover could run now/);
            assert.deepStrictEqual(hooks.actions(), ["read-replica"], "check triggers no action: it only reads the replica");
            assert.match(run.stderr, /ok {6}standby replicates the writer a replica of the writer/);
        });

        it("is not ready when a hook does not answer, naming it", async () => {
            const dead = new Site();
            await dead.start();
            await dead.set("down");
            const run = await runCli([
                "check",
                "--state",
                state(),
                ...hooks.flags(["fence", "read-replica"]),
                "--hook",
                `promote=${dead.url}`,
            ]);
            assert.strictEqual(run.code, 1);
            assert.match(run.stderr, /NOT OK {2}hook promote {7}http:\/\/127\.0\.0\.1:\d+\/health: ECONNREFUSED/);
            assert.match(run.stderr, /NOT READY/);
        });

        it("is not ready when a hook path answers 404, or an action that matters has no hook", async () => {
            const run = await runCli([
                "check",
                "--state",
                state(),
                ...hooks.flags(["fence", "notify"]),
                "--hook",
                `promote=http://127.0.0.1:${hooks.port}/nothing`,
            ]);
            assert.strictEqual(run.code, 1);
            assert.match(run.stderr, /NOT OK {2}hook promote {7}http:\/\/127\.0\.0\.1:\d+\/nothing answered HTTP 404/);
            assert.match(run.stderr, /NOT OK {2}hook move-traffic {2}no hook configured: the action would only be reported/);
            assert.match(run.stderr, /ok {6}hook read-replica {2}no hook configured: the loss window would not be known/);
            const guarded = await runCli([
                "check",
                "--state",
                state(),
                ...hooks.flags(["fence", "promote", "move-traffic", "notify"]),
                "--max-lag",
                "5",
            ]);
            assert.strictEqual(guarded.code, 1);
            assert.match(
                guarded.stderr,
                /NOT OK {2}hook read-replica {2}no hook configured: the RPO guard \(--max-lag\) would hold every failover/,
            );
        });
    });
});
