/**
 * Every npm script that takes arguments answers --help with its usage and exit 0, and a flag it
 * does not know with exit 2, a reason and no stack trace. The scripts are read from
 * package.json, so a new tool is covered as soon as it is added.
 */
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "../offline/stackConfig";

interface Ran {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

const TS_NODE = path.join(PROJECT_DIR, "node_modules", ".bin", "ts-node");

function run(args: readonly string[]): Promise<Ran> {
    return new Promise((resolve) => {
        execFile(TS_NODE, [...args], { cwd: PROJECT_DIR, timeout: 60_000 }, (err, stdout, stderr) =>
            resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr }),
        );
    });
}

/**
 * A tool whose module exports `main(argv, io)` (plan, failover, drill, backup) runs in this
 * process, its output captured: the same code path as its script, without a second of start-up.
 * Undefined for the others (they parse their flags as they load).
 */
async function runInProcess(args: readonly string[], ...extra: string[]): Promise<Ran | undefined> {
    const [, file, ...rest] = args; // ["--swc", FILE, ...]
    if (!["tools/plan.ts", "failover/cli.ts", "drill/cli.ts", "backup/cli.ts"].includes(file)) {
        return undefined;
    }
    const { main } = (await import(path.join(PROJECT_DIR, file))) as { main: (argv: string[], io: object) => Promise<number> };
    let stdout = "";
    let stderr = "";
    const io = {
        stdout: (t: string) => void (stdout += t),
        stderr: (t: string) => void (stderr += t),
        out: (t: string) => void (stdout += t),
        err: (t: string) => void (stderr += t),
        readLine: () => Promise.resolve(undefined),
        now: () => Date.now(),
    };
    const code = await main([...rest, ...extra], io);
    return { code, stdout, stderr };
}

/** The scripts that run a tool of ours: `ts-node --swc FILE [ARGS]`. */
function tools(): [string, string[]][] {
    const { scripts } = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as {
        scripts: Record<string, string>;
    };
    return Object.entries(scripts)
        .filter(([, command]) => command.startsWith("ts-node --swc "))
        .map(([name, command]) => [name, command.split(/\s+/).slice(1)]);
}

/** At most three at a time: each is a process of its own, and the suite shares two cores. */
async function threeAtATime<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array<R>(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            results[i] = await work(items[i]);
        }
    };
    await Promise.all([worker(), worker(), worker()]);
    return results;
}

const STACK_TRACE = /\n\s+at .+:\d+:\d+/;

/** Scripts whose bad usage is tested where they are (a process each costs the suite about a second). */
const OWN_USAGE_TESTS = ["plan", "failover", "drill", "backup", "preview", "up"];

describe("every tool's command line", function () {
    this.timeout(90_000);
    let answers: { name: string; help: Ran; bad: Ran | undefined }[];
    before(async () => {
        answers = await threeAtATime(tools(), async ([name, args]) => ({
            name,
            // preview and up with a stack before --help: the help must come before the preflight's AWS calls.
            help:
                (await runInProcess(args, "--help")) ??
                (await run([...args, ...(["preview", "up"].includes(name) ? ["dr"] : []), "--help"])),
            // plan, failover, drill and backup have their bad-usage tests of their own; preview and up share stack's file.
            bad: OWN_USAGE_TESTS.includes(name) ? undefined : await run([...args, "--no-such-flag"]),
        }));
    });

    it("covers every npm script that runs a tool of ours", () => {
        const names = answers.map((a) => a.name);
        for (const name of [
            "preview",
            "up",
            "stack",
            "plan",
            "prices",
            "failover",
            "failover:local",
            "drill",
            "drill:sentinel",
            "backup",
            "bench:failover",
            "bench:backup",
        ]) {
            assert.ok(names.includes(name), `${name} in ${names.join(", ")}`);
        }
    });

    it("answers --help with its usage on stdout and exit 0", () => {
        const wrong = answers
            .filter((a) => a.help.code !== 0 || !a.help.stdout.startsWith("usage: npm run ") || STACK_TRACE.test(a.help.stderr))
            .map((a) => `${a.name}: exit ${a.help.code}, ${JSON.stringify((a.help.stdout || a.help.stderr).slice(0, 160))}`);
        assert.deepEqual(wrong, []);
    });

    it("refuses a flag it does not know with exit 2 and the reason, never a stack trace", () => {
        const refused = answers.flatMap((a) => (a.bad === undefined ? [] : [{ name: a.name, bad: a.bad }]));
        assert.ok(refused.length >= 5, refused.map((a) => a.name).join(", "));
        const wrong = refused
            .filter((a) => a.bad.code !== 2 || !/--no-such-flag/.test(a.bad.stderr) || STACK_TRACE.test(a.bad.stderr + a.bad.stdout))
            .map((a) => `${a.name}: exit ${a.bad.code}, ${JSON.stringify(a.bad.stderr.slice(0, 300))}`);
        assert.deepEqual(wrong, []);
    });
});
