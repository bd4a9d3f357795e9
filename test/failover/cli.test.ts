/**
 * The CLI's contract with the tools that script it: usage errors (exit 2, naming the flag,
 * the value and what is allowed), --help, and status.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EXIT, USAGE } from "../../failover/cli";
import { runCli } from "../support/failoverServers";
import { HookServer, Site } from "../../failover/local/servers";

describe("failover CLI", () => {
    const probe = ["--probe", "a=http://127.0.0.1:9/health"];
    const usage: [string, string[], RegExp][] = [
        [
            "a quorum larger than the number of probes",
            ["watch", "--state", "s.json", ...probe, "--quorum", "2"],
            /--quorum 2: expected a whole number from 1 to 1/,
        ],
        [
            "--max-fail 0",
            ["watch", "--state", "s.json", ...probe, "--max-fail", "0"],
            /--max-fail 0: expected a whole number from 1 to 100/,
        ],
        [
            "a fractional --max-fail",
            ["watch", "--state", "s.json", ...probe, "--max-fail", "2.5"],
            /--max-fail 2\.5: expected a whole number/,
        ],
        [
            "a negative interval",
            ["watch", "--state", "s.json", ...probe, "--interval", "-1"],
            /--interval -1: expected a number from 0\.01 to 3600/,
        ],
        [
            "an interval that is not a number",
            ["watch", "--state", "s.json", ...probe, "--interval", "soon"],
            /--interval soon: expected a number/,
        ],
        [
            "a timeout longer than the interval",
            ["watch", "--state", "s.json", ...probe, "--interval", "1", "--timeout", "2"],
            /--timeout 2: expected at most the --interval 1/,
        ],
        [
            "an unknown flag",
            ["watch", "--state", "s.json", ...probe, "--max-fails", "3"],
            /watch: Unknown option '--max-fails'; allowed flags: --state, .*--max-fail/,
        ],
        ["a watch flag on another command", ["status", "--state", "s.json", "--interval", "1"], /status: Unknown option '--interval'/],
        [
            "an unknown command",
            ["promote"],
            /unknown command promote; expected one of watch, status, failover, abort, switchover, check, rearm/,
        ],
        ["no --state", ["watch", ...probe], /watch: --state FILE is required/],
        ["no --probe", ["watch", "--state", "s.json"], /watch: at least one --probe NAME=URL is required/],
        ["a probe without a name", ["watch", "--state", "s.json", "--probe", "http://x"], /--probe http:\/\/x: expected NAME=URL/],
        [
            "a probe that is not http",
            ["watch", "--state", "s.json", "--probe", "a=ftp://x/"],
            /--probe a=ftp:\/\/x\/: ftp: is not allowed; expected http:\/\/ or https:\/\//,
        ],
        ["two probes with one name", ["watch", "--state", "s.json", ...probe, ...probe], /a second vantage point named a/],
        [
            "an unknown hook action",
            ["watch", "--state", "s.json", ...probe, "--hook", "reboot=http://127.0.0.1:9/"],
            /--hook reboot=.*: reboot is not an action; expected one of fence, read-replica, promote, move-traffic, notify/,
        ],
        [
            "a bad --expect-body",
            ["watch", "--state", "s.json", ...probe, "--expect-body", "("],
            /--expect-body \(: not a regular expression/,
        ],
        [
            "the writer region as its own region",
            ["watch", "--state", "s.json", ...probe, "--region", "dr", "--writer-region", "dr"],
            /--region dr --writer-region dr: this controller's region dr is the writer region/,
        ],
        ["unknown adapters", ["check", "--state", "s.json", "--adapters", "azure"], /--adapters azure: expected local/],
        ["a lease below the lock's minimum", ["check", "--state", "s.json", "--lease", "1"], /--lease 1: expected a number from 2 to 3600/],
        ["a negative --max-lag", ["failover", "--state", "s.json", "--max-lag", "-5"], /--max-lag -5: expected a number from 0 to 86400/],
    ];
    for (const [name, argv, message] of usage) {
        it(`rejects ${name} with exit 2`, async () => {
            const run = await runCli(argv);
            assert.strictEqual(run.code, EXIT.usage);
            assert.match(run.stderr, message);
            assert.deepStrictEqual(run.events, [], "nothing ran");
        });
    }

    it("--help prints the usage: every command, the hooks and the exit codes", async () => {
        const run = await runCli(["--help"]);
        assert.strictEqual(run.code, 0);
        assert.strictEqual(run.stderr, "");
        assert.strictEqual(run.stdout, `${USAGE}\n`);
        for (const text of [
            "watch",
            "status",
            "failover",
            "abort",
            "switchover",
            "check",
            "rearm",
            "--probe NAME=URL",
            "--accept-loss S|any",
            "--recovery-block SECONDS",
            '{"lastBeatAt": UNIX_S, "stoppedBy": UNIX_S, "replicatesExpected": true}',
            "4 held with nothing changed",
        ]) {
            assert.ok(USAGE.includes(text), text);
        }
        assert.strictEqual((await runCli(["watch", "--help"])).stdout, `${USAGE}\n`);
    });

    it("never prints or stores a hook URL's query string (a token), and refuses credentials in URLs", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failover-cli-"));
        const state = path.join(dir, "s.json");
        const run = await runCli([
            "failover",
            "--state",
            state,
            "--yes",
            "--lease",
            "2",
            "--action-timeout",
            "0.5",
            "--retries",
            "0",
            "--hook",
            "read-replica=http://127.0.0.1:59/read-replica?token=s3cr3t",
        ]);
        // The replica cannot be read: held, nothing changed, the hook named without its token.
        assert.strictEqual(run.code, 4);
        assert.match(run.stderr, /hook read-replica http:\/\/127\.0\.0\.1:59\/read-replica\?\.\.\.: /);
        assert.doesNotMatch(run.stdout + run.stderr + fs.readFileSync(state, "utf8"), /s3cr3t/);
        const creds = await runCli(["watch", "--state", state, "--probe", "a=http://user:pw@127.0.0.1:9/health"]);
        assert.strictEqual(creds.code, 2);
        assert.match(creds.stderr, /--probe a=http:\/\/127\.0\.0\.1:9\/health: credentials in the URL \(user:password@\) are not allowed/);
        assert.doesNotMatch(creds.stderr, /pw@/);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("refuses a switchover without a writer lease (the local adapters) before anything is asked, with the reason and no stack trace", async () => {
        const state = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "switchover-")), "s.json");
        const run = await runCli(["switchover", "--state", state, "--yes"]);
        assert.strictEqual(run.code, EXIT.failure);
        assert.match(run.stderr, /^failover switchover: no writer lease configured: .*RPO 0/m);
        assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
        assert.strictEqual(fs.existsSync(state), false, "no state written");
    });

    it("speaks to a person on a terminal: a round per line, the failover's decision and actions marked, no JSON; --json or a pipe get the JSON lines", async () => {
        const site = await new Site().start();
        const hooks = await new HookServer().start();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failover-tty-"));
        try {
            const hookFlags = ["fence", "read-replica", "promote", "move-traffic", "notify"].flatMap((a) => [
                "--hook",
                `${a}=${hooks.url(a)}`,
            ]);
            const watch = (state: string, extra: string[]) => [
                "watch",
                "--state",
                path.join(dir, state),
                "--interval",
                "0.1",
                "--max-fail",
                "3",
                "--probe",
                `direct=${site.url}`,
                ...hookFlags,
                ...extra,
            ];
            const healthy = await runCli(watch("a.json", ["--for", "0.5"]), { terminal: true });
            assert.strictEqual(healthy.code, EXIT.elapsed);
            assert.deepStrictEqual(healthy.events, [], "no JSON on a terminal");
            const lines = healthy.stdout.trim().split("\n");
            assert.match(lines[0], /^\d\d:\d\d:\d\d watching direct every 0\.1 s; fails over after 3 failed rounds/);
            assert.ok(lines.filter((l) => / round \d+: ok · healthy$/.test(l)).length >= 3, healthy.stdout);
            assert.match(lines.at(-1)!, / end: elapsed \(exit 3\)$/);
            await site.set("down");
            const failing = await runCli(watch("b.json", []), { terminal: true });
            assert.strictEqual(failing.code, EXIT.ok, failing.stderr);
            assert.match(failing.stdout, / round 1: 1 of 1 down · suspect \(1 failed in a row\)\n {11}direct DOWN: /);
            assert.match(failing.stdout, / >> DECISION fail-over/);
            assert.match(failing.stdout, / >> ASSESSMENT go: /);
            for (const step of ["fence", "promote", "move-traffic", "notify"]) {
                assert.match(failing.stdout, new RegExp(` >> ACTION ${step} succeeded`));
            }
            const json = await runCli([...watch("c.json", ["--for", "0.3"]), "--json"], { terminal: true });
            assert.ok(
                json.events.some((e) => e.event === "round"),
                "--json on a terminal: JSON lines",
            );
            const piped = await runCli(watch("d.json", ["--for", "0.3"]));
            assert.ok(
                piped.events.some((e) => e.event === "round"),
                "piped: JSON lines",
            );
        } finally {
            await site.close();
            await hooks.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("check on a terminal says its result once, for a person", async () => {
        const state = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "failover-check-")), "s.json");
        const run = await runCli(["check", "--state", state], { terminal: true });
        assert.strictEqual(run.stdout.includes('"event":"check"'), false);
        assert.strictEqual(run.stderr.match(/NOT READY|ready: a failover could run now/g)?.length, 1);
    });

    it("status reads a state that does not exist yet as healthy", async () => {
        const run = await runCli(["status", "--state", path.join(os.tmpdir(), "no-such-failover-state.json")]);
        assert.strictEqual(run.code, 0);
        assert.match(run.stdout, /no-such-failover-state\.json: no state yet \(a controller that has never run\): phase healthy/);
    });

    it("fails on a state file that is not the controller's, naming the file", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failover-cli-"));
        const file = path.join(dir, "s.json");
        fs.writeFileSync(
            file,
            JSON.stringify({ version: 1, region: "dr", writerRegion: "primary", phase: "panic", consecutiveFailedRounds: 0, updatedAt: 0 }),
        );
        const run = await runCli(["watch", "--state", file, ...probe, "--interval", "0.05", "--lease", "2"]);
        assert.strictEqual(run.code, EXIT.failure);
        assert.match(run.stderr, /s\.json: not a failover controller state \(phase "panic"/);
        fs.writeFileSync(
            file,
            JSON.stringify({
                version: 1,
                region: "us-west-1",
                writerRegion: "us-east-2",
                phase: "healthy",
                consecutiveFailedRounds: 0,
                updatedAt: 0,
            }),
        );
        const other = await runCli(["watch", "--state", file, ...probe, "--interval", "0.05", "--lease", "2"]);
        assert.strictEqual(other.code, EXIT.failure);
        assert.match(other.stderr, /belongs to the controller of us-west-1 watching writer us-east-2; this run is for dr watching primary/);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});

describe("failover CLI with the AWS adapters (--adapters aws)", () => {
    const usage: [string, string[], RegExp][] = [
        ["no --aws-config", ["check", "--adapters", "aws"], /--adapters aws: --aws-config FILE is required/],
        [
            "a local flag",
            ["status", "--adapters", "aws", "--aws-config", "dr.json", "--state", "s.json"],
            /--state: not with --adapters aws/,
        ],
        [
            "--aws-config without aws",
            ["status", "--state", "s.json", "--aws-config", "dr.json"],
            /--aws-config dr\.json: only with --adapters aws/,
        ],
        [
            "unknown adapters",
            ["check", "--state", "s.json", "--adapters", "gcp"],
            /--adapters gcp: expected local \(HTTP hooks and files\) or aws/,
        ],
    ];
    for (const [name, argv, message] of usage) {
        it(`rejects ${name} with exit 2`, async () => {
            const run = await runCli(argv);
            assert.strictEqual(run.code, EXIT.usage);
            assert.match(run.stderr, message);
        });
    }

    it("rejects a configuration file that is not the controller's, before any call", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failover-aws-"));
        const file = path.join(dir, "dr.json");
        fs.writeFileSync(file, JSON.stringify({ region: "us-west-1" }));
        const run = await runCli(["check", "--adapters", "aws", "--aws-config", file]);
        assert.strictEqual(run.code, EXIT.usage);
        assert.match(run.stderr, /--aws-config .*dr\.json: FAILOVER_CONFIG has \d+ problem\(s\):/);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
