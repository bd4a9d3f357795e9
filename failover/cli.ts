/**
 * The failover controller's command line: `npm run failover -- <command> [flags]`.
 * stdout carries one JSON event per line when piped or with --json (scripts read it), and the
 * same events as lines for a person on a terminal (failover/humanLog.ts); stderr carries what a
 * person needs to read in any case (usage errors, the final report, a hold).
 */
import { createInterface } from "readline";
import { parseArgs as parseCommandLine, ParseArgsConfig } from "util";
import { readFileSync } from "fs";
import { HOOK_ACTIONS, HookAction, localAdapters } from "./adapters/local";
import { LambdaConfig, parseLambdaConfig } from "./lambda/config";
import {
    AbortRefusedError,
    Controller,
    ControllerOptions,
    NothingToRearmError,
    Outcome,
    RearmRefusedError,
    RoleMismatchError,
    StepFailedError,
    SwitchoverRefusedError,
    SwitchoverWithdrawnError,
} from "./controller";
import { type AcceptedLoss, isKnown } from "./core/lossWindow";
import { roleProblem } from "./core/decision";
import type { Adapters, ReadinessCheck } from "./core/ports";
import { LockHeldError } from "./core/ports";
import * as settings from "./core/settings";
import { ControllerState, dataAtRisk, nextStep, StateFormatError, STEPS } from "./core/state";
import { DEFAULT_SWITCHOVER_WAIT_MS } from "./core/writerLease";
import { HttpProbe, Probe } from "./probes/http";
import { humanLog } from "./humanLog";
import { httpUrlProblem, redactUrl } from "./urls";

export const EXIT = {
    /** watch/failover: the failover completed (now or before); status/check: done, ready. */
    ok: 0,
    /** A step failed after its retries, the lease is held elsewhere, a check is not ready; a new run resumes. */
    failure: 1,
    /** Bad usage: the message names the flag, the value and what is allowed. */
    usage: 2,
    /** watch: --for elapsed without a failover. */
    elapsed: 3,
    /** The failover is held with nothing changed (a loss window over the budget, a precondition not met). */
    held: 4,
} as const;

export const USAGE = `usage: npm run failover -- <command> [flags]

commands
  watch      probe the writer region, decide after --max-fail failed rounds, fail over
  status     the controller's state: phase, failed rounds, the assessment and its loss window,
             each observer's vote, the failover's steps, what was accepted
  failover   fail over now, by hand (asks for confirmation unless --yes)
  abort      between the take of the lease and the promotion: hand the lease back, undo the
             fence and the traffic move (after the promotion there is no undo)
  switchover a planned move of the writer with RPO exactly 0 (asks for confirmation unless
             --yes): the writer closes, publishes its final heartbeat, and this region takes the
             lease once its replica applied it; withdrawn (the writer reopens) if that does not
             come within ${DEFAULT_SWITCHOVER_WAIT_MS / 1000} s. Needs the writer lease (--adapters aws)
  check      readiness: every precondition of every step, evaluated without acting
  rearm      after a failback: file the failover under history and watch again from healthy
             (refused while the standby does not replicate the writer)

every command
  --state FILE            the controller's state (JSON); its lease is FILE.lock (required)
  --region NAME           this controller's region, the one it promotes (default dr)
  --writer-region NAME    the region that holds the writer now, the one it watches (default primary)
  --adapters local|aws    where actions go: local = HTTP hooks and files (default local); aws = the
                          deployed controller's resources (Global Accelerator, RDS, SNS, DynamoDB)
  --aws-config FILE       with --adapters aws: the deployed controller's FAILOVER_CONFIG, e.g.
                          aws lambda get-function-configuration --function-name ecommerce-failover \\
                            --query Environment.Variables.FAILOVER_CONFIG --output text > dr.json
                          (it names the regions, the probes and the thresholds: --state, --hook,
                          --probe, --region and --writer-region do not apply)
  --hook ACTION=URL       POST each action as JSON to URL (repeatable); ACTION is one of
                          ${HOOK_ACTIONS.join(", ")}; read-replica answers
                          {"lastBeatAt": UNIX_S, "stoppedBy": UNIX_S, "replicatesExpected": true}
  --max-lag SECONDS       RPO budget: hold the failover, with nothing changed, when its loss window
                          (an upper bound on the writes the standby lacks) is over this, or unknown
                          (default: guard off)
  --lag-wait SECONDS      how long the assessment waits for the standby to apply what it received
                          before it reads the window (default ${settings.DEFAULT_LAG_WAIT_SECONDS})
  --recovery-block SECONDS  no automatic failover this long after the last one completed
                          (default ${settings.DEFAULT_RECOVERY_BLOCK_SECONDS})
  --retries N             extra attempts of a failed step, backoff with jitter (default ${settings.DEFAULT_RETRIES})
  --retry-delay SECONDS   first backoff, doubling (default ${settings.DEFAULT_RETRY_DELAY_SECONDS})
  --action-timeout SECONDS  one hook call (default ${settings.DEFAULT_ACTION_TIMEOUT_SECONDS})
  --promote-timeout SECONDS how long one run waits for the promoted writer (default ${settings.DEFAULT_PROMOTE_TIMEOUT_SECONDS})
  --lease SECONDS         the run's lease on the state, renewed at half (default ${settings.DEFAULT_LEASE_SECONDS}, at least ${settings.LEASE_SECONDS.min})
  --dry-run               decide and report; call no hook, write no state
  --json                  one JSON event per line on stdout, also on a terminal (piped, it
                          always is: use npm run --silent failover -- ... so npm's banner
                          stays out of the pipe); status: the state as JSON
  --help                  this text

watch
  --probe NAME=URL        one vantage point: GET URL, 2xx (and --expect-body) is healthy (repeatable)
  --interval SECONDS      between round starts, fractions allowed (default ${settings.DEFAULT_INTERVAL_SECONDS})
  --max-fail N            consecutive failed rounds before failing over (default ${settings.DEFAULT_MAX_FAIL})
  --quorum K              failed vantage points that make a round fail (default: a majority)
  --timeout SECONDS       per probe, at most the interval (default: the interval, at most ${settings.DEFAULT_TIMEOUT_CAP_SECONDS})
  --expect-body REGEX     a healthy body must match
  --for SECONDS           stop watching after this long (default: until a failover)

failover
  --yes                   do not ask for confirmation
  --accept-loss S|any     go on with a loss window of up to S seconds (over --max-lag), or any,
                          even unknown (a break-glass); the report says what was accepted

abort
  --yes                   do not ask for confirmation

switchover
  --yes                   do not ask for confirmation

rearm
  --yes                   do not ask for confirmation


steps, in order: ${STEPS.join(" -> ")}; each is idempotent and resumes after a crash.

exit status: 0 failed over or switched over (now or before) / status shown / check ready / aborted /
re-armed; 1 a step failed after its retries, the lease is held, check not ready, abort, rearm or
switchover refused, a switchover withdrawn (a
new run with the same --state resumes); 2 bad usage; 3 watch: --for elapsed without a failover;
4 held with nothing changed (it clears by itself when the writer renews its lease; failover
--accept-loss goes on)`;

export interface Io {
    stdout(text: string): void;
    stderr(text: string): void;
    /** One line of an operator's answer (the confirmation); undefined at end of input. */
    readLine(prompt: string): Promise<string | undefined>;
    now(): number;
    /** Aborted by SIGINT/SIGTERM: the run stops between actions; the state stays resumable. */
    readonly signal?: AbortSignal;
    /** stdout is a terminal: events as lines for a person, unless --json. */
    readonly terminal?: boolean;
}

class UsageError extends Error {}

const COMMANDS = ["watch", "status", "failover", "abort", "switchover", "check", "rearm"] as const;
type Command = (typeof COMMANDS)[number];

const COMMON = {
    state: { type: "string" },
    region: { type: "string" },
    "writer-region": { type: "string" },
    adapters: { type: "string" },
    "aws-config": { type: "string" },
    hook: { type: "string", multiple: true },
    "max-lag": { type: "string" },
    "lag-wait": { type: "string" },
    "recovery-block": { type: "string" },
    retries: { type: "string" },
    "retry-delay": { type: "string" },
    "action-timeout": { type: "string" },
    "promote-timeout": { type: "string" },
    lease: { type: "string" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
} as const;

const OPTIONS = {
    watch: {
        ...COMMON,
        probe: { type: "string", multiple: true },
        interval: { type: "string" },
        "max-fail": { type: "string" },
        quorum: { type: "string" },
        timeout: { type: "string" },
        "expect-body": { type: "string" },
        for: { type: "string" },
    },
    failover: { ...COMMON, yes: { type: "boolean" }, "accept-loss": { type: "string" } },
    abort: { ...COMMON, yes: { type: "boolean" } },
    switchover: { ...COMMON, yes: { type: "boolean" } },
    status: COMMON,
    check: COMMON,
    rearm: { ...COMMON, yes: { type: "boolean" } },
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

function number(values: Values, flag: string, range: settings.Range, fallback: number): number;
function number(values: Values, flag: string, range: settings.Range, fallback?: number): number | undefined;
function number(values: Values, flag: string, range: settings.Range, fallback?: number): number | undefined {
    const raw = values[flag] as string | undefined;
    if (raw === undefined) {
        return fallback;
    }
    const value = raw.trim() === "" ? NaN : Number(raw);
    const problem = settings.checkRange(`--${flag}`, value, range);
    if (problem !== undefined) {
        throw new UsageError(problem.replace(String(value), raw));
    }
    return value;
}

function httpUrl(flag: string, name: string, url: string): string {
    const problem = httpUrlProblem(url);
    if (problem !== undefined) {
        // A URL that parses is shown without what may be a secret (user-info, query string).
        const shown = URL.canParse(url) ? redactUrl(url) : url;
        throw new UsageError(`--${flag} ${name}=${shown}: ${problem}`);
    }
    return url;
}

function pairs(flag: string, raw: readonly string[], what: string): [string, string][] {
    return raw.map((pair) => {
        const eq = pair.indexOf("=");
        if (eq <= 0) {
            throw new UsageError(`--${flag} ${pair}: expected ${what}=URL`);
        }
        return [pair.slice(0, eq), httpUrl(flag, pair.slice(0, eq), pair.slice(eq + 1))];
    });
}

/**
 * `--interval -1` is a negative value, not a flag: util.parseArgs would call it ambiguous and
 * never reach the range check that says what is allowed, so such a pair is joined with `=`.
 */
function joinNegativeValues(args: readonly string[], options: ParseArgsConfig["options"]): string[] {
    const joined: string[] = [];
    for (let i = 0; i < args.length; i++) {
        const flag = args[i];
        const next = args[i + 1];
        const spec = flag.startsWith("--") ? options?.[flag.slice(2)] : undefined;
        if (spec?.type === "string" && next !== undefined && /^-[\d.]/.test(next)) {
            joined.push(`${flag}=${next}`);
            i += 1;
        } else {
            joined.push(flag);
        }
    }
    return joined;
}

interface Parsed {
    readonly command: Command;
    readonly adapters: "local" | "aws";
    readonly awsConfigPath?: string;
    readonly values: Values;
    readonly options: ControllerOptions;
    readonly statePath: string;
    readonly hooks: Partial<Record<HookAction, string>>;
    readonly probes: Probe[];
    readonly forMs?: number;
    readonly actionTimeoutMs: number;
    readonly leaseMs: number;
    readonly acceptedLoss?: AcceptedLoss;
}

export function parse(argv: readonly string[]): Parsed | "help" {
    const [command, ...rest] = argv;
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
        return "help";
    }
    if (!COMMANDS.includes(command as Command)) {
        throw new UsageError(`unknown command ${command}; expected one of ${COMMANDS.join(", ")}`);
    }
    let values: Values;
    try {
        const options: ParseArgsConfig["options"] = OPTIONS[command as Command];
        values = parseCommandLine({ args: joinNegativeValues(rest, options), options, strict: true, allowPositionals: false })
            .values as Values;
    } catch (err) {
        const message = (err as Error).message.replace(/\. To specify a positional.*$/s, "");
        throw new UsageError(
            `${command}: ${message}; allowed flags: ${Object.keys(OPTIONS[command as Command])
                .map((f) => `--${f}`)
                .join(", ")}`,
        );
    }
    if (values.help === true) {
        return "help";
    }
    const adapters = (values.adapters as string | undefined) ?? "local";
    if (adapters !== "local" && adapters !== "aws") {
        throw new UsageError(`--adapters ${adapters}: expected local (HTTP hooks and files) or aws (the deployed controller's resources)`);
    }
    const awsConfigPath = values["aws-config"] as string | undefined;
    if (adapters === "aws") {
        if (awsConfigPath === undefined || awsConfigPath === "") {
            throw new UsageError("--adapters aws: --aws-config FILE is required (the deployed controller's FAILOVER_CONFIG)");
        }
        const local = ["state", "hook", "probe", "region", "writer-region"].find((flag) => values[flag] !== undefined);
        if (local !== undefined) {
            throw new UsageError(
                `--${local}: not with --adapters aws (the --aws-config file names the regions, the probes and where the state lives)`,
            );
        }
    } else if (awsConfigPath !== undefined) {
        throw new UsageError(`--aws-config ${awsConfigPath}: only with --adapters aws`);
    }
    const statePath = (values.state as string | undefined) ?? "";
    if (adapters === "local" && statePath === "") {
        throw new UsageError(`${command}: --state FILE is required (the controller's state; its lease is FILE.lock)`);
    }
    const region = (values.region as string | undefined) ?? "dr";
    const writerRegion = (values["writer-region"] as string | undefined) ?? "primary";
    const roles = roleProblem({ region, writerRegion });
    if (roles !== undefined) {
        throw new UsageError(`--region ${region} --writer-region ${writerRegion}: ${roles}`);
    }
    const hooks: Partial<Record<HookAction, string>> = {};
    for (const [action, url] of pairs("hook", (values.hook as string[] | undefined) ?? [], "ACTION")) {
        if (!HOOK_ACTIONS.includes(action as HookAction)) {
            throw new UsageError(`--hook ${action}=${url}: ${action} is not an action; expected one of ${HOOK_ACTIONS.join(", ")}`);
        }
        if (hooks[action as HookAction] !== undefined) {
            throw new UsageError(`--hook ${action}=${url}: a second hook for ${action}; give each action one URL`);
        }
        hooks[action as HookAction] = url;
    }

    const probes: Probe[] = [];
    let interval = settings.DEFAULT_INTERVAL_SECONDS;
    let maxFail = settings.DEFAULT_MAX_FAIL;
    let quorum = 1;
    let timeout = Math.min(interval, settings.DEFAULT_TIMEOUT_CAP_SECONDS);
    let forMs: number | undefined;
    if (command === "watch") {
        let expectBody: RegExp | undefined;
        const pattern = values["expect-body"] as string | undefined;
        if (pattern !== undefined) {
            try {
                expectBody = new RegExp(pattern);
            } catch (err) {
                throw new UsageError(`--expect-body ${pattern}: not a regular expression (${(err as Error).message})`);
            }
        }
        for (const [name, url] of pairs("probe", (values.probe as string[] | undefined) ?? [], "NAME")) {
            if (probes.some((p) => p.name === name)) {
                throw new UsageError(`--probe ${name}=${url}: a second vantage point named ${name}; names must be unique`);
            }
            probes.push(new HttpProbe(name, url, expectBody));
        }
        if (probes.length === 0 && adapters === "local") {
            throw new UsageError("watch: at least one --probe NAME=URL is required (each is one vantage point of the writer site)");
        }
        interval = number(values, "interval", settings.INTERVAL_SECONDS, settings.DEFAULT_INTERVAL_SECONDS);
        maxFail = number(values, "max-fail", settings.MAX_FAIL, settings.DEFAULT_MAX_FAIL);
        // At least one failed vantage point, at most all of them.
        quorum = number(
            values,
            "quorum",
            { min: 1, max: Math.max(1, probes.length), integer: true },
            settings.defaultQuorum(probes.length),
        );
        timeout = number(values, "timeout", settings.TIMEOUT_SECONDS, Math.min(interval, settings.DEFAULT_TIMEOUT_CAP_SECONDS));
        if (timeout > interval) {
            throw new UsageError(
                `--timeout ${timeout}: expected at most the --interval ${interval}; a longer timeout would let rounds overlap and delay the decision`,
            );
        }
        const forSeconds = number(values, "for", settings.FOR_SECONDS);
        forMs = forSeconds === undefined ? undefined : forSeconds * 1000;
    }
    const maxLag = number(values, "max-lag", settings.MAX_LAG_SECONDS);
    return {
        command: command as Command,
        adapters,
        awsConfigPath,
        values,
        statePath,
        hooks,
        probes,
        forMs,
        actionTimeoutMs: number(values, "action-timeout", settings.ACTION_TIMEOUT_SECONDS, settings.DEFAULT_ACTION_TIMEOUT_SECONDS) * 1000,
        leaseMs: number(values, "lease", settings.LEASE_SECONDS, settings.DEFAULT_LEASE_SECONDS) * 1000,
        options: {
            roles: { region, writerRegion },
            thresholds: { maxFail, quorum },
            intervalMs: interval * 1000,
            timeoutMs: timeout * 1000,
            maxLagSeconds: maxLag,
            lagWaitMs: number(values, "lag-wait", settings.LAG_WAIT_SECONDS, settings.DEFAULT_LAG_WAIT_SECONDS) * 1000,
            retries: number(values, "retries", settings.RETRIES, settings.DEFAULT_RETRIES),
            retryDelayMs: number(values, "retry-delay", settings.RETRY_DELAY_SECONDS, settings.DEFAULT_RETRY_DELAY_SECONDS) * 1000,
            promoteTimeoutMs:
                number(values, "promote-timeout", settings.PROMOTE_TIMEOUT_SECONDS, settings.DEFAULT_PROMOTE_TIMEOUT_SECONDS) * 1000,
            dryRun: values["dry-run"] === true,
            recoveryBlockMs:
                number(values, "recovery-block", settings.RECOVERY_BLOCK_SECONDS, settings.DEFAULT_RECOVERY_BLOCK_SECONDS) * 1000,
        },
        acceptedLoss: acceptedLoss(values["accept-loss"] as string | undefined),
    };
}

/** `--accept-loss S|any`: seconds of loss window, or any (even unknown). */
function acceptedLoss(raw: string | undefined): AcceptedLoss | undefined {
    if (raw === undefined) {
        return undefined;
    }
    if (raw.trim() === "any") {
        return "any";
    }
    const seconds = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(seconds) || seconds < 0) {
        throw new UsageError(
            `--accept-loss ${JSON.stringify(raw)}: expected the seconds of loss window to accept (a number, 0 or more; the hold says how many), or any`,
        );
    }
    return { seconds };
}

// --- output ------------------------------------------------------------------------------

function when(ts: number | undefined): string {
    return ts === undefined ? "-" : new Date(ts).toISOString();
}

/** The state, as an operator reads it. */
export function describeState(state: ControllerState | undefined, location: string): string {
    if (state === undefined) {
        return `${location}: no state yet (a controller that has never run): phase healthy`;
    }
    const lines = [
        `controller of ${state.region}, watching writer region ${state.writerRegion} (${location})`,
        `phase: ${state.phase}${state.phase === "suspect" ? ` (${state.consecutiveFailedRounds} consecutive failed round(s) since ${when(state.suspectSince)})` : ""}`,
        `updated: ${when(state.updatedAt)}`,
    ];
    const f = state.failover;
    if (f !== undefined) {
        lines.push(
            `failover: ${f.trigger}, decided ${when(f.decidedAt)}, ${f.from} -> ${f.to}${f.completedAt ? `, completed ${when(f.completedAt)}` : ""}`,
        );
        for (const step of STEPS) {
            const done = f.completed.find((c) => c.step === step);
            const current = f.current?.step === step ? f.current : undefined;
            const status = done
                ? `done ${when(done.completedAt)}${done.detail ? ` (${done.detail})` : ""}`
                : current
                  ? `under way since ${when(current.startedAt)}, ${current.attempts} attempt(s)${current.lastError ? `, last error: ${current.lastError}` : ""}`
                  : "not started";
            lines.push(`  ${step.padEnd(13)} ${status}`);
        }
        const a = f.assessment;
        if (f.votes !== undefined) {
            lines.push(`votes in the deciding round: ${f.votes.map((v) => `${v.name} ${v.vote}`).join(", ")}`);
        }
        if (a !== undefined) {
            lines.push(`assessed ${when(a.at)}: ${a.proceed ? "go on" : "HOLD"}: ${a.reason}`);
            const failing = a.checks.filter((c) => !c.ok);
            lines.push(
                `  preconditions: ${failing.length === 0 ? `all ${a.checks.length} met` : failing.map((c) => `${c.name} NOT met (${c.detail})`).join("; ")}`,
            );
            if (a.lease !== undefined) {
                lines.push(`  lease seen lapsed: ${a.lease.holder}, epoch ${a.lease.epoch}`);
            }
        }
        lines.push(`data at risk (the loss window): ${dataAtRisk(f)}`);
        if (f.lease !== undefined) {
            lines.push(`lease taken: epoch ${f.lease.epoch} from ${f.lease.previousHolder} at ${when(f.lease.takenAt)}`);
        }
        if (f.accepted !== undefined) {
            lines.push(
                `an operator accepted ${f.accepted.loss === "any" ? "any loss" : `a loss of up to ${f.accepted.loss.seconds} s`} at ${when(f.accepted.at)}`,
            );
        }
        if (state.phase === "held") {
            lines.push(`HELD since ${when(f.heldSince)}, NOTHING CHANGED: ${f.heldReason ?? ""}`);
            lines.push(`  it clears by itself when ${f.from}'s writer renews its lease`);
            const w = a?.window;
            lines.push(
                `  to go on, accepting the loss: npm run failover -- failover --accept-loss ${w !== undefined && isKnown(w) ? Math.ceil(w.seconds) : "any"} --state ...`,
            );
        }
        if (f.promotionRequestedAt !== undefined) {
            lines.push(`promotion requested ${when(f.promotionRequestedAt)}: no undo from here`);
        } else if (state.phase === "failing-over" && f.completed.some((c) => c.step === "take-lease")) {
            lines.push("not promoted yet: abort hands the lease back and undoes the fence (npm run failover -- abort --state ...)");
        }
        if (state.phase === "failing-over") {
            lines.push(`next step: ${nextStep(f) ?? "-"} (a watch or failover with this --state resumes it)`);
        }
    }
    if (state.history !== undefined && state.history.length > 0) {
        const last = state.history.at(-1)!;
        const how =
            last.abortedAt !== undefined
                ? `aborted ${when(last.abortedAt)}`
                : last.clearedAt !== undefined
                  ? `held, cleared by itself ${when(last.clearedAt)}`
                  : last.stoodDown !== undefined
                    ? `stood down ${when(last.stoodDown.at)}`
                    : `completed ${when(last.completedAt)}, re-armed ${when(last.rearmedAt)}`;
        lines.push(`earlier failovers: ${state.history.length}, the latest ${last.from} -> ${last.to} ${how}`);
    }
    return lines.join("\n");
}

function describeChecks(checks: readonly ReadinessCheck[]): string {
    return checks.map((c) => `${c.ok ? "ok     " : "NOT OK "} ${c.name.padEnd(18)} ${c.detail}`).join("\n");
}

// --- commands ----------------------------------------------------------------------------

export async function main(argv: readonly string[], io: Io): Promise<number> {
    let parsed: Parsed | "help";
    try {
        parsed = parse(argv);
    } catch (err) {
        if (err instanceof UsageError) {
            io.stderr(`failover: ${err.message}\n(see npm run failover -- --help)\n`);
            return EXIT.usage;
        }
        throw err;
    }
    if (parsed === "help") {
        io.stdout(`${USAGE}\n`);
        return EXIT.ok;
    }
    const { command } = parsed;
    let { options, statePath } = parsed;
    let adapters: Adapters;
    let probes: Probe[] = parsed.probes;
    if (parsed.adapters === "aws") {
        let cfg: LambdaConfig;
        try {
            cfg = parseLambdaConfig(readFileSync(parsed.awsConfigPath!, "utf8"));
        } catch (err) {
            io.stderr(`failover: --aws-config ${parsed.awsConfigPath}: ${(err as Error).message}\n`);
            return EXIT.usage;
        }
        try {
            // Loaded here only: the AWS SDK clients take a while to load, and local runs need none.
            const { awsWorld } = await import("./adapters/aws");
            ({ adapters, probes } = awsWorld(cfg));
        } catch (err) {
            io.stderr(`failover ${command}: could not reach the controller's AWS resources: ${(err as Error).message}\n`);
            return EXIT.failure;
        }
        statePath = adapters.store.location;
        options = {
            ...options,
            roles: { region: cfg.region, writerRegion: cfg.writerRegion },
            thresholds: { maxFail: cfg.maxFail, quorum: cfg.quorum },
            intervalMs: cfg.intervalSeconds * 1000,
            timeoutMs: cfg.timeoutSeconds * 1000,
            // --max-lag overrides the deployed budget.
            maxLagSeconds: parsed.values["max-lag"] !== undefined ? options.maxLagSeconds : cfg.maxLagSeconds,
            lagWaitMs: cfg.lagWaitSeconds * 1000,
            leaseTiming: cfg.leaseTiming,
            // --recovery-block overrides the deployed one.
            recoveryBlockMs: parsed.values["recovery-block"] !== undefined ? options.recoveryBlockMs : cfg.recoveryBlockSeconds * 1000,
        };
    } else {
        adapters = localAdapters({
            statePath,
            hooks: parsed.hooks,
            region: options.roles.region,
            actionTimeoutMs: parsed.actionTimeoutMs,
            leaseMs: parsed.leaseMs,
            lagRequired: options.maxLagSeconds !== undefined,
        });
    }
    // A person at a terminal gets lines to read; a pipe or --json gets one JSON event per line.
    const human = io.terminal === true && parsed.values.json !== true ? humanLog() : undefined;
    const emit = (event: string, fields: Record<string, unknown> = {}) => {
        if (human !== undefined) {
            const lines = human.lines(io.now(), event, fields);
            if (lines.length > 0) {
                io.stdout(`${lines.join("\n")}\n`);
            }
        } else {
            io.stdout(`${JSON.stringify({ ts: io.now(), event, command, ...fields })}\n`);
        }
        if (event === "hold") {
            io.stderr(`\n*** ${String(fields.message)} ***\n\n`);
        }
    };
    const controller = new Controller({ adapters, probes, emit, signal: io.signal }, options);
    /** An operator's confirmation: the state and what the command does, then the region's name typed back. */
    const confirmed = async (what: string, prompt: string, expected: string): Promise<boolean> => {
        io.stderr(`${describeState(await adapters.store.load(), statePath)}\n\n${what}`);
        if ((await io.readLine(prompt))?.trim() === expected) {
            return true;
        }
        io.stderr("not confirmed; nothing was changed\n");
        emit("end", { outcome: "not-confirmed", exitCode: EXIT.failure });
        return false;
    };
    const finish = (outcome: Outcome): number => {
        const code = outcome === "elapsed" ? EXIT.elapsed : outcome === "held" ? EXIT.held : EXIT.ok;
        emit("end", { outcome, exitCode: code, dryRun: options.dryRun });
        return code;
    };
    try {
        switch (command) {
            case "status": {
                const state = await adapters.store.load();
                io.stdout(
                    parsed.values.json === true ? `${JSON.stringify(state ?? null, null, 2)}\n` : `${describeState(state, statePath)}\n`,
                );
                return EXIT.ok;
            }
            case "check": {
                const { ready, checks } = await controller.check();
                emit("check", { ready, checks });
                io.stderr(`${describeChecks(checks)}\n${ready ? "ready: a failover could run now" : "NOT READY"}\n`);
                return ready ? EXIT.ok : EXIT.failure;
            }
            case "watch": {
                const outcome = await controller.watch(parsed.forMs);
                if (outcome === "failed-over" || outcome === "already-failed-over") {
                    io.stderr(`${describeState(await adapters.store.load(), statePath)}\n`);
                }
                if (outcome === "already-failed-over") {
                    io.stderr(
                        `\n${statePath} failed over before: this controller watches again only once an operator re-arms it, after the failback ` +
                            `(npm run failover -- rearm --state ${statePath} ...), or with a fresh --state\n`,
                    );
                }
                return finish(outcome);
            }
            case "rearm": {
                if (
                    parsed.values.yes !== true &&
                    !options.dryRun &&
                    !(await confirmed(
                        `Re-arm only after failback, when ${options.roles.region} is the standby again and ${options.roles.writerRegion} holds the writer: ` +
                            `the controller then watches ${options.roles.writerRegion} and fails over again by itself.\n`,
                        `Type the region name (${options.roles.region}) to confirm: `,
                        options.roles.region,
                    ))
                ) {
                    return EXIT.failure;
                }
                await controller.rearm(); // a dry run checks the same and writes nothing
                io.stderr(
                    options.dryRun
                        ? `dry run: ${statePath} would be re-armed\n`
                        : `${describeState(await adapters.store.load(), statePath)}\n`,
                );
                emit("end", { outcome: "rearmed", exitCode: EXIT.ok, dryRun: options.dryRun });
                return EXIT.ok;
            }
            case "abort": {
                if (
                    parsed.values.yes !== true &&
                    !options.dryRun &&
                    !(await confirmed(
                        `This hands the writer lease back to ${options.roles.writerRegion}, undoes its fence and moves traffic back to it. ` +
                            `Refused once the promotion of ${options.roles.region} was requested.\n`,
                        `Type the old writer's region name (${options.roles.writerRegion}) to confirm: `,
                        options.roles.writerRegion,
                    ))
                ) {
                    return EXIT.failure;
                }
                await controller.abort();
                io.stderr(
                    options.dryRun
                        ? `dry run: ${statePath} would be aborted\n`
                        : `${describeState(await adapters.store.load(), statePath)}\n`,
                );
                emit("end", { outcome: "aborted", exitCode: EXIT.ok, dryRun: options.dryRun });
                return EXIT.ok;
            }
            case "switchover": {
                if (
                    parsed.values.yes !== true &&
                    !options.dryRun &&
                    !(await confirmed(
                        `This closes ${options.roles.writerRegion}'s writer (shoppers get errors until ${options.roles.region} serves, seconds), ` +
                            `waits until ${options.roles.region}'s standby has applied everything it committed, then takes the writer lease, ` +
                            `promotes ${options.roles.region} and moves traffic to it: no acknowledged write is lost. ` +
                            `Nothing is changed unless every read-only check passes first; if the standby does not catch up in time, ` +
                            `${options.roles.writerRegion} reopens and nothing else changes.\n`,
                        `Type the region name (${options.roles.region}) to confirm: `,
                        options.roles.region,
                    ))
                ) {
                    return EXIT.failure;
                }
                const outcome = await controller.switchover();
                if (options.dryRun) {
                    io.stderr(`dry run: every precondition of a switchover to ${options.roles.region} is met; nothing was requested\n`);
                    emit("end", { outcome: "dry-run", exitCode: EXIT.ok, dryRun: true });
                    return EXIT.ok;
                }
                io.stderr(`${describeState(await adapters.store.load(), statePath)}\n`);
                if (outcome === "stood-down") {
                    // The take found the lease changed (the writer's agent withdrew the handover at its timeout).
                    emit("end", { outcome, exitCode: EXIT.failure });
                    return EXIT.failure;
                }
                return finish(outcome);
            }
            case "failover": {
                const accept = parsed.acceptedLoss;
                if (
                    parsed.values.yes !== true &&
                    !options.dryRun &&
                    !(await confirmed(
                        `This takes the writer lease from ${options.roles.writerRegion} once it has lapsed, fences it, promotes ${options.roles.region}'s standby writer and moves traffic to ${options.roles.region}; ` +
                            `nothing is changed unless every read-only check passes first.` +
                            `${accept !== undefined ? ` It goes on with a loss window of up to ${accept === "any" ? "ANY length, even unknown" : `${accept.seconds} s`}: acknowledged writes in that window may be LOST.` : ""}\n`,
                        `Type the region name (${options.roles.region}) to confirm: `,
                        options.roles.region,
                    ))
                ) {
                    return EXIT.failure;
                }
                const outcome = await controller.failover(accept);
                io.stderr(`${describeState(await adapters.store.load(), statePath)}\n`);
                return finish(outcome);
            }
        }
    } catch (err) {
        const known =
            err instanceof StepFailedError ||
            err instanceof LockHeldError ||
            err instanceof StateFormatError ||
            err instanceof RoleMismatchError ||
            err instanceof NothingToRearmError ||
            err instanceof RearmRefusedError ||
            err instanceof AbortRefusedError ||
            err instanceof SwitchoverRefusedError ||
            err instanceof SwitchoverWithdrawnError;
        const stopped = io.signal?.aborted === true;
        const message = stopped ? "stopped by a signal" : err instanceof Error ? err.message : String(err);
        emit("error", { error: message, exitCode: EXIT.failure });
        io.stderr(`failover ${command}: ${message}\n`);
        if (!known && !stopped) {
            io.stderr(`${(err as Error).stack ?? ""}\n`);
        }
        if (err instanceof StepFailedError || stopped) {
            io.stderr(`the state in ${statePath} keeps the completed steps; run the same command again to resume\n`);
        }
        return EXIT.failure;
    }
}

function processIo(): Io {
    const abort = new AbortController();
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => abort.abort(new Error(`stopped by ${signal}`)));
    }
    return {
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        now: () => Date.now(),
        signal: abort.signal,
        terminal: process.stdout.isTTY === true,
        readLine: (prompt) =>
            new Promise((resolve) => {
                const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
                let answered = false;
                rl.question(prompt, (answer) => {
                    answered = true;
                    rl.close();
                    resolve(answer);
                });
                rl.once("close", () => {
                    if (!answered) {
                        resolve(undefined);
                    }
                });
            }),
    };
}

if (require.main === module) {
    main(process.argv.slice(2), processIo()).then(
        // exitCode, not exit(): a piped stdout is flushed before the process ends.
        (code) => (process.exitCode = code),
        (err) => {
            process.stderr.write(`failover: ${err instanceof Error ? err.stack : String(err)}\n`);
            process.exitCode = 1;
        },
    );
}
