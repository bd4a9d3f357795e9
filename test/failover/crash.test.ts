/**
 * The controller as a process: killed in the middle of a step and started again with the
 * same state, and two runs racing for the same state's lease. Both start together (each
 * waits for a lease to expire, the library's minimum of 2 s).
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import { once } from "events";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { eventsOf, HookServer, runCli, Site } from "../support/failoverServers";

const CLI = path.join(__dirname, "..", "..", "failover", "cli.ts");

interface Exited {
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
}

function startCli(args: string[]): { child: ChildProcess; exited: Promise<Exited> } {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", CLI, ...args], {
        cwd: path.join(__dirname, "..", ".."),
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    const exited = once(child, "exit").then(([code, signal]) => ({
        code: code as number | null,
        signal: signal as NodeJS.Signals | null,
        stdout,
        stderr,
    }));
    return { child, exited };
}

describe("failover controller as a process: crash and lease", () => {
    let dir: string;
    let site: Site;
    let crashHooks: HookServer;
    let raceHooks: HookServer;
    let crash: Promise<{ killed: Exited; stateAfterKill: any; resumed: Exited; calls: string[] }>;
    let race: Promise<{ second: Awaited<ReturnType<typeof runCli>>; first: Exited }>;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "failover-crash-"));
        [site, crashHooks, raceHooks] = await Promise.all([new Site().start(), new HookServer().start(), new HookServer().start()]);
        await site.set("down");
        const fast = ["--interval", "0.05", "--timeout", "0.04", "--max-fail", "2", "--lease", "2", "--retry-delay", "0.01"];

        // A crash between steps: the promote hook never answers; the process is killed while it waits.
        const crashState = path.join(dir, "crash.json");
        const args = ["watch", "--state", crashState, "--probe", `site=${site.url}`, ...fast, ...crashHooks.flags(), "--for", "30"];
        let promoteArrived: () => void;
        const arrived = new Promise<void>((resolve) => (promoteArrived = resolve));
        crashHooks.behaviour.promote = { block: true, onCall: () => promoteArrived() };
        crash = (async () => {
            const first = startCli(args);
            await arrived;
            first.child.kill("SIGKILL");
            const killed = await first.exited;
            const stateAfterKill = JSON.parse(fs.readFileSync(crashState, "utf8"));
            crashHooks.behaviour.promote = {};
            const resumed = await startCli(args).exited;
            return { killed, stateAfterKill, resumed, calls: crashHooks.actions() };
        })();
        crash.catch(() => undefined);

        // Two runs on one state: the first decides and blocks in its fence hook, holding the
        // lease; the second cannot take the lease and says why.
        const raceState = path.join(dir, "race.json");
        let fenceArrived: () => void;
        const fenced = new Promise<void>((resolve) => (fenceArrived = resolve));
        raceHooks.behaviour.fence = { block: true, onCall: () => fenceArrived() };
        race = (async () => {
            const first = startCli([
                "watch",
                "--state",
                raceState,
                "--probe",
                `site=${site.url}`,
                ...fast,
                ...raceHooks.flags(),
                "--for",
                "30",
            ]);
            await fenced;
            const second = await runCli([
                "watch",
                "--state",
                raceState,
                "--probe",
                `site=${site.url}`,
                ...fast,
                ...raceHooks.flags(),
                "--for",
                "1",
            ]);
            first.child.kill("SIGTERM");
            return { second, first: await first.exited };
        })();
        race.catch(() => undefined);
    });

    after(async () => {
        await Promise.all([site.close(), crashHooks.close(), raceHooks.close()]);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("a controller killed during a step leaves the step current and the completed ones recorded", async () => {
        const { killed, stateAfterKill } = await crash;
        assert.strictEqual(killed.signal, "SIGKILL");
        assert.strictEqual(stateAfterKill.phase, "failing-over");
        assert.deepStrictEqual(
            stateAfterKill.failover.completed.map((c: any) => c.step),
            ["fence", "record-lag"],
        );
        assert.strictEqual(stateAfterKill.failover.current.step, "promote");
    });

    it("started again with the same state, it resumes at the interrupted step and repeats no completed step", async () => {
        const { resumed, calls } = await crash;
        assert.strictEqual(resumed.code, 0, resumed.stderr);
        assert.deepStrictEqual(calls, ["fence", "record-lag", "promote", "promote", "move-traffic", "notify"]);
        const events = resumed.stdout
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        assert.deepStrictEqual(events[0], { ...events[0], event: "decision", decision: "resume-failover", next: "promote" });
        assert.ok(!events.some((e) => e.event === "probe"), "a resumed failover does not probe again");
        assert.strictEqual(events.find((e) => e.event === "action" && e.action === "promote" && e.status === "started").resumed, true);
    });

    it("a second run on the same state cannot take the lease while the first holds it, and acts on nothing", async () => {
        const { second, first } = await race;
        assert.strictEqual(second.code, 1);
        assert.match(second.stderr, /another controller run holds the lease on .*race\.json and keeps renewing it; stop it first/);
        assert.strictEqual(eventsOf(second, "probe").length, 0);
        assert.deepStrictEqual(raceHooks.actions(), ["fence"]);
        // The first run, stopped by SIGTERM mid-step, says how to resume.
        assert.strictEqual(first.code, 1, first.stderr);
        assert.match(first.stderr, /stopped by a signal/);
    });
});
