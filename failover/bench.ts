/**
 * Benchmark of the controller's detection and failover time (a measurement, not a test):
 * `npm run bench:failover [-- --settings 0.1x3,0.5x3 --reps 3 --faults down,hang]`.
 *
 * For each `interval x maxFail` setting and fault, it starts a healthy writer site and a hook
 * server on 127.0.0.1, runs the real CLI (`watch`, in-process, probe timeout half the
 * interval), injects the fault at a random moment between rounds, and reads the event
 * stream and the hooks' arrival times:
 *   fault -> decision          detection as a user sees it; bound: interval x maxFail + timeout
 *                              (up to one interval until the next round starts, maxFail - 1
 *                              more intervals, and the last round's probe timeout)
 *   decision overhead          decision - (first failed round's start + (maxFail - 1) x
 *                              interval + the last round's slowest probe): what the
 *                              controller adds to the probe schedule (timers, decision, I/O)
 *   fault -> last action       the whole failover, with local hooks that answer at once
 */
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { toolArgs, usageError } from "../tools/toolArgs";
import { main } from "./cli";
import { HookServer, Site } from "./local/servers";

interface Setting {
    readonly interval: number;
    readonly maxFail: number;
}

interface Sample {
    readonly overhead: number;
    readonly faultToDecision: number;
    readonly faultToLastAction: number;
}

async function once(setting: Setting, fault: "down" | "hang", dir: string, rep: number): Promise<Sample> {
    const [site, hooks] = await Promise.all([new Site().start(), new HookServer().start()]);
    const events: Record<string, unknown>[] = [];
    const intervalMs = setting.interval * 1000;
    const run = main(
        [
            "watch",
            "--state",
            join(dir, `${setting.interval}x${setting.maxFail}-${fault}-${rep}.json`),
            "--probe",
            `site=${site.url}`,
            "--interval",
            String(setting.interval),
            "--timeout",
            String(setting.interval / 2),
            "--max-fail",
            String(setting.maxFail),
            "--lease",
            "2",
            ...hooks.flags(),
            "--for",
            String(setting.interval * (setting.maxFail + 10)),
        ],
        {
            stdout: (text) => text.split("\n").forEach((l) => l.startsWith("{") && events.push(JSON.parse(l) as Record<string, unknown>)),
            stderr: () => undefined,
            readLine: () => Promise.resolve(undefined),
            now: () => Date.now(),
        },
    );
    // The fault lands at a random phase between two rounds, after two healthy rounds.
    await new Promise((resolve) => setTimeout(resolve, intervalMs * (1.5 + Math.random())));
    const faultAt = Date.now();
    await site.set(fault);
    const code = await run;
    await Promise.all([site.set("ok").then(() => site.close()), hooks.close()]);
    if (code !== 0) {
        throw new Error(`watch exited ${code} at ${setting.interval}x${setting.maxFail} (${fault})`);
    }
    const rounds = events.filter((e) => e.event === "round");
    const deciding = rounds.find((r) => r.phase === "failing-over")!;
    const firstFailed = [...rounds].reverse().find((r) => r.consecutiveFailedRounds === 1)!;
    const slowestProbe = Math.max(
        ...events.filter((e) => e.event === "probe" && e.round === deciding.round).map((e) => e.latencyMs as number),
    );
    const decision = events.find((e) => e.event === "decision" && e.decision === "fail-over")!.ts as number;
    const lastAction = hooks.calls.at(-1)!.at;
    return {
        // what is left of the decision time once the schedule and the last round's probes are taken out
        overhead: decision - (firstFailed.startedAt as number) - (setting.maxFail - 1) * intervalMs - slowestProbe,
        faultToDecision: decision - faultAt,
        faultToLastAction: lastAction - faultAt,
    };
}

const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1)! };
};
const seconds = (ms: number) => (ms / 1000).toFixed(3);

const USAGE = `usage: npm run bench:failover -- [--settings 0.1x3,0.5x3,1x3,2x2] [--reps 3] [--faults down,hang]

  --settings LIST   interval (seconds) x max-fail pairs to measure (default 0.1x3,0.5x3,1x3,2x2)
  --reps N          runs per setting and fault (default 3)
  --faults LIST     down (connections refused) and/or hang (no answer) (default down,hang)
  --help            this text

Prints a Markdown table: fault -> decision, the decision's overhead, fault -> last action.`;

async function bench(): Promise<void> {
    const values = toolArgs("bench:failover", USAGE, {
        settings: { type: "string", default: "0.1x3,0.5x3,1x3,2x2" },
        reps: { type: "string", default: "3" },
        faults: { type: "string", default: "down,hang" },
    }) as { settings: string; reps: string; faults: string };
    const settings: Setting[] = values.settings.split(",").map((s) => {
        const [interval, maxFail] = s.split("x").map(Number);
        if (!(interval > 0) || !Number.isInteger(maxFail) || maxFail < 1) {
            usageError("bench:failover", `--settings ${s}: expected INTERVALxMAXFAIL, e.g. 0.5x3`);
        }
        return { interval: interval, maxFail: maxFail };
    });
    const isFault = (f: string): f is "down" | "hang" => f === "down" || f === "hang";
    const named = values.faults.split(",");
    const faults = named.filter(isFault);
    if (faults.length !== named.length) {
        usageError("bench:failover", `--faults ${values.faults}: expected down and/or hang, comma-separated`);
    }
    const reps = Number(values.reps);
    if (!Number.isInteger(reps) || reps < 1) {
        usageError("bench:failover", `--reps ${values.reps}: expected a whole number of at least 1`);
    }
    const dir = mkdtempSync(join(tmpdir(), "failover-bench-"));
    const rows: string[] = [
        "| interval x maxFail | fault | fault -> decision (median / max) | bound: interval x maxFail + timeout | decision overhead (median / max) | fault -> last action (median / max) |",
        "|---|---|---|---|---|---|",
    ];
    try {
        for (const setting of settings) {
            for (const fault of faults) {
                const samples: Sample[] = [];
                for (let rep = 0; rep < reps; rep++) {
                    samples.push(await once(setting, fault, dir, rep));
                }
                const b = stats(samples.map((s) => s.faultToDecision));
                const c = stats(samples.map((s) => s.faultToLastAction));
                const bound = setting.interval * setting.maxFail + setting.interval / 2;
                const overhead = stats(samples.map((x) => x.overhead));
                rows.push(
                    `| ${setting.interval} s x ${setting.maxFail} | ${fault === "down" ? "refused" : "no answer (timeout)"} | ` +
                        `${seconds(b.median)} / ${seconds(b.max)} s | ${bound.toFixed(3)} s | ${overhead.median.toFixed(1)} / ${overhead.max.toFixed(1)} ms | ` +
                        `${seconds(c.median)} / ${seconds(c.max)} s |`,
                );
                process.stderr.write(`${rows.at(-1)}\n`);
            }
        }
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
    process.stdout.write(`\n${rows.join("\n")}\n\n${reps} run(s) per row; Node ${process.version}\n`);
}

bench().catch((err) => {
    process.stderr.write(`bench:failover: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
});
