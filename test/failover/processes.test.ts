/**
 * The controller as a process: killed in the middle of a step and started again with the
 * same state; two runs racing for the same state's lease; and the README's walk-through,
 * command for command. The three start together in `before`: each mostly waits on timers
 * (a lease expiring, the lock library's minimum of 2 s; one-second rounds).
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import { once } from "events";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CliRun, eventsOf, HookServer, runCli, Site } from "../support/failoverServers";
import { tsNode } from "../support/tools";
import { freePort } from "../../drill/tools";

const ROOT = path.join(__dirname, "..", "..");
const CLI = path.join(ROOT, "failover", "cli.ts");

interface Exited {
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
}

interface Started {
    readonly child: ChildProcess;
    readonly exited: Promise<Exited>;
    readonly output: () => string;
}

function start(args: string[], script = CLI): Started {
    const child = spawn(process.execPath, tsNode(script, ...args), {
        cwd: ROOT,
        stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    // "close", not "exit": the output streams are drained by then.
    const exited = once(child, "close").then(([code, signal]) => ({
        code: code as number | null,
        signal: signal as NodeJS.Signals | null,
        stdout,
        stderr,
    }));
    return { child, exited, output: () => stdout };
}

/** Resolves once `test` holds for the process's stdout so far (polled: the stream is the only cue). */
async function waitForOutput(proc: Started, test: (stdout: string) => boolean, what: string): Promise<void> {
    for (let i = 0; i < 600 && proc.child.exitCode === null; i++) {
        if (test(proc.output())) {
            return;
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`never saw ${what}; stdout so far:\n${proc.output()}`);
}

/** The README's walk-through: each `npm run <script> -- <args>` command, continuation lines joined. */
function walkthrough(): { script: string; args: string[] }[] {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const block = /<!-- failover-walkthrough:start -->\n```sh\n([\s\S]*?)```\n<!-- failover-walkthrough:end -->/.exec(readme);
    assert.ok(block, "the README has no failover walk-through");
    const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    const commands = block[1]
        .replace(/\\\n\s*/g, " ")
        .split("\n")
        .filter((l) => l.startsWith("npm run "));
    return commands.map((line) => {
        const [, script, rest] = /^npm run (\S+) -- (.*)$/.exec(line.trim())!;
        const file = /^ts-node --swc (\S+)$/.exec(scripts[script])![1];
        return { script: path.join(ROOT, file), args: rest.trim().split(/\s+/) };
    });
}

const events = (stdout: string) =>
    stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));

describe("failover controller as a process: crash, lease, the README's walk-through", () => {
    let dir: string;
    let site: Site;
    let crashHooks: HookServer;
    let raceHooks: HookServer;
    let crash: Promise<{ killed: Exited; stateAfterKill: any; resumed: Exited; calls: string[] }>;
    let race: Promise<{ second: CliRun; first: Exited }>;
    let readme: Promise<{ local: Exited; watch: Exited; status: CliRun }>;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "failover-processes-"));
        [site, crashHooks, raceHooks] = await Promise.all([new Site().start(), new HookServer().start(), new HookServer().start()]);
        await site.set("down");
        const fast = ["--interval", "0.05", "--timeout", "0.04", "--max-fail", "2", "--lease", "2", "--retry-delay", "0.01"];
        const watchArgs = (state: string, hooks: HookServer, seconds: string) => [
            "watch",
            "--state",
            path.join(dir, state),
            "--probe",
            `site=${site.url}`,
            ...fast,
            ...hooks.flags(),
            "--for",
            seconds,
        ];

        // A crash between steps: the promote hook never answers; the process is killed while it waits.
        let promoteArrived: () => void;
        const arrived = new Promise<void>((resolve) => (promoteArrived = resolve));
        crashHooks.behaviour.promote = { block: true, onCall: () => promoteArrived() };
        crash = (async () => {
            const first = start(watchArgs("crash.json", crashHooks, "30"));
            await arrived;
            first.child.kill("SIGKILL");
            const killed = await first.exited;
            const stateAfterKill = JSON.parse(fs.readFileSync(path.join(dir, "crash.json"), "utf8"));
            crashHooks.behaviour.promote = {};
            const resumed = await start(watchArgs("crash.json", crashHooks, "30")).exited;
            return { killed, stateAfterKill, resumed, calls: crashHooks.actions() };
        })();
        crash.catch(() => undefined);

        // Two runs on one state: the first decides and blocks in its fence hook, holding the
        // lease; the second cannot take the lease and says why.
        let fenceArrived: () => void;
        const fenced = new Promise<void>((resolve) => (fenceArrived = resolve));
        raceHooks.behaviour.fence = { block: true, onCall: () => fenceArrived() };
        race = (async () => {
            const first = start(watchArgs("race.json", raceHooks, "30"));
            await fenced;
            const second = await runCli(watchArgs("race.json", raceHooks, "1"));
            first.child.kill("SIGTERM");
            return { second, first: await first.exited };
        })();
        race.catch(() => undefined);

        // The README's walk-through, with its state file in this test's directory and two free
        // ports in place of the README's (a developer may be running the walk-through).
        readme = (async () => {
            const ports = await Promise.all([freePort(), freePort()]);
            const own = (arg: string) =>
                arg === "/tmp/dr-controller.json"
                    ? path.join(dir, "readme.json")
                    : arg.replace(/\b18480\b/g, String(ports[0])).replace(/\b18481\b/g, String(ports[1]));
            const [local, watch, status] = walkthrough().map((c) => ({ ...c, args: c.args.map(own) }));
            const world = start(local.args, local.script);
            await waitForOutput(world, (out) => out.includes("type a mode"), "the local world's prompt");
            const watching = start(watch.args, watch.script);
            await waitForOutput(watching, (out) => out.includes('"event":"round"'), "a first healthy round");
            world.child.stdin!.write("down\n");
            const watched = await watching.exited;
            world.child.stdin!.end();
            return { watch: watched, local: await world.exited, status: await runCli(status.args) };
        })();
        readme.catch(() => undefined);
    });

    after(async () => {
        await Promise.all([site.close(), crashHooks.close(), raceHooks.close()]);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("a controller killed in the middle of a step (after two completed ones) leaves that step current and the others recorded", async () => {
        const { killed, stateAfterKill } = await crash;
        assert.strictEqual(killed.signal, "SIGKILL");
        assert.strictEqual(stateAfterKill.phase, "failing-over");
        assert.deepStrictEqual(
            stateAfterKill.failover.completed.map((c: any) => c.step),
            ["take-lease", "fence"],
        );
        assert.strictEqual(stateAfterKill.failover.current.step, "promote");
        assert.strictEqual(stateAfterKill.failover.current.attempts, 1, "the attempt in flight was counted before it started");
    });

    it("started again with the same state, it resumes at the interrupted step and repeats no completed step", async () => {
        const { resumed, calls } = await crash;
        assert.strictEqual(resumed.code, 0, resumed.stderr);
        assert.deepStrictEqual(calls, ["read-replica", "fence", "promote", "promote", "move-traffic", "notify"]);
        const seen = events(resumed.stdout);
        assert.deepStrictEqual(seen[0], { ...seen[0], event: "decision", decision: "resume-failover", next: "promote" });
        assert.ok(!seen.some((e) => e.event === "probe"), "a resumed failover does not probe again");
        assert.strictEqual(seen.find((e) => e.event === "action" && e.action === "promote" && e.status === "started").resumed, true);
    });

    it("a second run on the same state cannot take the lease while the first holds it, and acts on nothing", async () => {
        const { second, first } = await race;
        assert.strictEqual(second.code, 1);
        assert.match(second.stderr, /another controller run holds the lease on .*race\.json and keeps renewing it; stop it first/);
        assert.strictEqual(eventsOf(second, "probe").length, 0);
        assert.deepStrictEqual(raceHooks.actions(), ["read-replica", "fence"]);
        // The first run, stopped by SIGTERM mid-step, says how to resume.
        assert.strictEqual(first.code, 1, first.stderr);
        assert.match(first.stderr, /stopped by a signal/);
    });

    it("the README's walk-through fails the local site over exactly as it says", async () => {
        const { watch, local, status } = await readme;
        assert.strictEqual(watch.code, 0, watch.stderr);
        const seen = events(watch.stdout);
        assert.strictEqual(seen.find((e) => e.event === "decision" && e.decision === "fail-over").consecutiveFailedRounds, 3);
        assert.match(watch.stderr, /data at risk \(the loss window\): up to 2\.0 s of writes/);
        assert.strictEqual(local.code, 0, local.stderr);
        assert.match(
            local.stdout,
            /site: down\nhook read-replica \{"region":"dr"\}\nhook fence \{"region":"primary"\}\nhook promote \{"region":"dr"\}\nhook move-traffic \{"to":"dr","from":"primary"\}\nhook notify \{"from":"primary","to":"dr"/,
        );
        assert.strictEqual(status.code, 0);
        assert.match(status.stdout, /phase: failed-over\n[\s\S]*notify {8}done /);
    });
});
