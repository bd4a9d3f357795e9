/**
 * Local adapters: the controller runs anywhere, with no cloud. State is a JSON file (written
 * atomically: a crash leaves the old state or the new, never half of one), the lease is a
 * lock next to it, and each action is an HTTP POST to a hook URL when one is configured:
 *
 *   POST <hook>  {"action": "fence", "inputs": {"region": "primary"}, "failover": {...}, "attempt": 1}
 *
 * A hook that answers outside 2xx (or not at all within the action timeout) is a failed
 * step. The `read-replica` hook answers what the standby's replica shows:
 * `{"lastBeatAt": <Unix seconds>, "stoppedBy": <Unix seconds>, "replicatesExpected": true}`
 * (the old writer's last heartbeat the replica applied, and when the old writer stopped taking
 * writes at the latest, both on the old writer's clock: the loss window; a world without a
 * writer lease vouches for the second itself); any other hook's body is ignored. An action
 * with no hook is only reported (the event stream on stdout names it).
 */
import { mkdir, readFile, stat } from "fs/promises";
import { dirname } from "path";
import * as lockfile from "proper-lockfile";
import writeFileAtomic from "write-file-atomic";
import type {
    ActionContext,
    ActionResult,
    Adapters,
    DatabaseAdapter,
    FailoverReport,
    Lease,
    Lock,
    Notifier,
    PromotionProgress,
    ReadinessCheck,
    StateStore,
    TrafficAdapter,
} from "../core/ports";
import { LockHeldError } from "../core/ports";
import type { ReplicaEvidence } from "../core/lossWindow";
import { ControllerState, parseState } from "../core/state";
import { redactUrl } from "../urls";

/** The actions a hook may be configured for: the steps, by name. */
export const HOOK_ACTIONS = ["fence", "read-replica", "promote", "move-traffic", "notify"] as const;
export type HookAction = (typeof HOOK_ACTIONS)[number];

export class HookError extends Error {}

export class Hooks {
    constructor(
        private readonly urls: Partial<Record<HookAction, string>>,
        private readonly timeoutMs: number,
    ) {}

    has(action: HookAction): boolean {
        return this.urls[action] !== undefined;
    }

    /** POSTs the action; resolves to the answer's body, rejects on a non-2xx or no answer. */
    async post(
        action: HookAction,
        inputs: Record<string, unknown>,
        context: Pick<ActionContext, "signal"> & Partial<ActionContext>,
    ): Promise<string> {
        const url = this.urls[action]!;
        let response: Response;
        try {
            response = await fetch(url, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ action, inputs, failover: context.failover, attempt: context.attempt }),
                redirect: "manual",
                signal: AbortSignal.any([context.signal, AbortSignal.timeout(this.timeoutMs)]),
            });
        } catch (err) {
            const e = err as Error & { cause?: { code?: string; message?: string } };
            const why =
                e.name === "TimeoutError"
                    ? `no answer within ${this.timeoutMs / 1000} s`
                    : (e.cause?.code ?? e.cause?.message ?? e.message);
            throw new HookError(`hook ${action} ${redactUrl(url)}: ${why}`, { cause: err });
        }
        const body = await response.text();
        if (response.status < 200 || response.status > 299) {
            throw new HookError(
                `hook ${action} ${redactUrl(url)} answered HTTP ${response.status}${body ? `: ${body.slice(0, 200)}` : ""}`,
            );
        }
        return body;
    }

    /**
     * Readiness of a hook without triggering it: a HEAD request. An answer below 500 shows the
     * hook is there (one that only takes POST answers 405), except 404 and 410 (nothing at
     * that path); refused, a timeout or a 5xx is not ready. A missing hook is not ready when
     * the action matters (`required`): the failover would only report it.
     */
    async readiness(action: HookAction, required: boolean, missing = "the action would only be reported"): Promise<ReadinessCheck> {
        const url = this.urls[action];
        const name = `hook ${action}`;
        if (url === undefined) {
            return { name, ok: !required, detail: `no hook configured: ${missing}` };
        }
        const shown = redactUrl(url);
        try {
            const response = await fetch(url, { method: "HEAD", redirect: "manual", signal: AbortSignal.timeout(this.timeoutMs) });
            const ok = response.status < 500 && response.status !== 404 && response.status !== 410;
            return { name, ok, detail: `${shown} answered HTTP ${response.status}` };
        } catch (err) {
            const e = err as Error & { cause?: { code?: string } };
            return { name, ok: false, detail: `${shown}: ${e.name === "TimeoutError" ? "no answer" : (e.cause?.code ?? e.message)}` };
        }
    }

    async act(action: HookAction, inputs: Record<string, unknown>, context: ActionContext): Promise<ActionResult> {
        if (!this.has(action)) {
            return { detail: `no ${action} hook configured; reported only` };
        }
        await this.post(action, inputs, context);
        return { detail: `hook ${action} ${redactUrl(this.urls[action]!)} answered 2xx` };
    }
}

export class LocalTraffic implements TrafficAdapter {
    constructor(private readonly hooks: Hooks) {}

    fence(region: string, context: ActionContext): Promise<ActionResult> {
        return this.hooks.act("fence", { region }, context);
    }

    moveTo(to: string, from: string, context: ActionContext): Promise<ActionResult> {
        return this.hooks.act("move-traffic", { to, from }, context);
    }

    async readiness(): Promise<ReadinessCheck[]> {
        return Promise.all([this.hooks.readiness("fence", true), this.hooks.readiness("move-traffic", true)]);
    }
}

export class LocalDatabase implements DatabaseAdapter {
    constructor(
        private readonly hooks: Hooks,
        private readonly region: string,
        /** The RPO guard is on: without a read-replica hook it would hold every failover. */
        private readonly lagRequired: boolean,
    ) {}

    fenceOldWriter(): Promise<ActionResult> {
        // The local world has one fence hook: it stands for the site and its database.
        return Promise.resolve({});
    }

    unfenceOldWriter(): Promise<ActionResult> {
        // The fence hook stood for the site and its database; the move-traffic hook undoes it.
        return Promise.resolve({});
    }

    async readReplica(context: Pick<ActionContext, "signal">): Promise<ReplicaEvidence> {
        const readAt = Date.now();
        const source = "read-replica hook";
        const unread = (error: string): ReplicaEvidence => ({
            readAt,
            source,
            replicatesExpected: false,
            replication: error,
            appliedAll: false,
            error,
        });
        if (!this.hooks.has("read-replica")) {
            return unread("no read-replica hook is configured");
        }
        let body: string;
        try {
            body = await this.hooks.post("read-replica", { region: this.region }, context);
        } catch (err) {
            return unread((err as Error).message);
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(body);
        } catch {
            return unread(`the hook's body is not JSON: ${body.slice(0, 80)}`);
        }
        const { lastBeatAt, stoppedBy, replicatesExpected } = (parsed ?? {}) as Record<string, unknown>;
        const seconds = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;
        if (!seconds(lastBeatAt) || !seconds(stoppedBy) || typeof replicatesExpected !== "boolean") {
            return unread(
                `expected {"lastBeatAt": <Unix seconds>, "stoppedBy": <Unix seconds>, "replicatesExpected": <true|false>}, got ${body.slice(0, 120)}`,
            );
        }
        const replicates = replicatesExpected;
        return {
            readAt,
            source,
            replicatesExpected: replicates,
            replication: replicates
                ? "a replica of the writer, as the read-replica hook says"
                : "NOT a replica of the writer, as the read-replica hook says",
            appliedAll: true,
            lastBeatAt: lastBeatAt as number,
            stoppedBy: stoppedBy as number,
        };
    }

    async promote(context: ActionContext): Promise<PromotionProgress> {
        // The hook answers 2xx once the promoted writer accepts writes.
        const result = await this.hooks.act("promote", { region: this.region }, context);
        return { writable: true, ...result };
    }

    async readiness(): Promise<ReadinessCheck[]> {
        return Promise.all([
            this.hooks.readiness(
                "read-replica",
                this.lagRequired,
                this.lagRequired ? "the RPO guard (--max-lag) would hold every failover" : "the loss window would not be known",
            ),
            this.hooks.readiness("promote", true),
        ]);
    }
}

export class LocalNotifier implements Notifier {
    constructor(private readonly hooks: Hooks) {}

    notify(report: FailoverReport, context: ActionContext): Promise<ActionResult> {
        return this.hooks.act("notify", { ...report }, context);
    }

    async readiness(): Promise<ReadinessCheck[]> {
        return [await this.hooks.readiness("notify", false, "nobody would be told")];
    }
}

/** Does the directory exist and can we write there? */
async function directoryCheck(name: string, path: string): Promise<ReadinessCheck> {
    const dir = dirname(path);
    try {
        const info = await stat(dir);
        return { name, ok: info.isDirectory(), detail: `${dir} ${info.isDirectory() ? "exists" : "is not a directory"}` };
    } catch (err) {
        return { name, ok: false, detail: `${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
}

export class FileStateStore implements StateStore {
    constructor(readonly location: string) {}

    async load(): Promise<ControllerState | undefined> {
        let text: string;
        try {
            text = await readFile(this.location, "utf8");
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") {
                return undefined;
            }
            throw err;
        }
        let raw: unknown;
        try {
            raw = JSON.parse(text);
        } catch (err) {
            throw new Error(`${this.location}: not JSON (${(err as Error).message}); move it aside to start afresh`, { cause: err });
        }
        return parseState(raw, this.location);
    }

    async save(state: ControllerState): Promise<void> {
        await mkdir(dirname(this.location), { recursive: true });
        await writeFileAtomic(this.location, `${JSON.stringify(state, null, 2)}\n`, { fsync: true });
    }

    async readiness(): Promise<ReadinessCheck[]> {
        return [await directoryCheck("state directory", this.location)];
    }
}

/**
 * A lease on the state: a lock directory next to the state file whose modification time
 * the holder renews every half lease. A holder that stops renewing (a crash, a kill) loses
 * the lease one lease period later, and the next run takes it over.
 */
export class FileLock implements Lock {
    constructor(
        private readonly statePath: string,
        private readonly leaseMs: number,
    ) {}

    private get lockPath(): string {
        return `${this.statePath}.lock`;
    }

    async acquire(): Promise<Lease> {
        await mkdir(dirname(this.statePath), { recursive: true });
        const lost = new AbortController();
        let release: () => Promise<void>;
        const pollMs = 250;
        try {
            release = await lockfile.lock(this.statePath, {
                realpath: false,
                lockfilePath: this.lockPath,
                stale: this.leaseMs,
                update: Math.max(1000, this.leaseMs / 2),
                // Wait one lease period (plus a margin) for a holder that stopped renewing.
                retries: { retries: Math.ceil((this.leaseMs + 1000) / pollMs), factor: 1, minTimeout: pollMs, maxTimeout: pollMs },
                onCompromised: (err) => {
                    lost.abort(
                        new LockHeldError(`${this.lockPath}: the lease was lost (${err.message}); this run stopped acting`, { cause: err }),
                    );
                },
            });
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ELOCKED") {
                throw new LockHeldError(
                    `${this.lockPath}: another controller run holds the lease on ${this.statePath} and keeps renewing it; ` +
                        `stop it first (a lease expires ${this.leaseMs / 1000} s after its holder stops)`,
                    { cause: err },
                );
            }
            throw err;
        }
        return {
            lost: lost.signal,
            assertHeld: () => lost.signal.throwIfAborted(),
            release: async () => {
                if (!lost.signal.aborted) {
                    await release();
                }
            },
        };
    }

    async readiness(): Promise<ReadinessCheck[]> {
        try {
            const locked = await lockfile.check(this.statePath, { realpath: false, lockfilePath: this.lockPath, stale: this.leaseMs });
            return [
                {
                    name: "lease",
                    ok: !locked,
                    detail: locked ? `${this.lockPath}: held by a running controller` : `${this.lockPath}: free`,
                },
            ];
        } catch (err) {
            return [{ name: "lease", ok: false, detail: `${this.lockPath}: ${(err as Error).message}` }];
        }
    }
}

export interface LocalAdapterOptions {
    readonly statePath: string;
    readonly hooks: Partial<Record<HookAction, string>>;
    readonly region: string;
    readonly actionTimeoutMs: number;
    readonly leaseMs: number;
    /** The RPO guard is on (`--max-lag`): the read-replica hook is then required. */
    readonly lagRequired: boolean;
}

export function localAdapters(options: LocalAdapterOptions): Adapters {
    const hooks = new Hooks(options.hooks, options.actionTimeoutMs);
    return {
        traffic: new LocalTraffic(hooks),
        database: new LocalDatabase(hooks, options.region, options.lagRequired),
        notifier: new LocalNotifier(hooks),
        store: new FileStateStore(options.statePath),
        lock: new FileLock(options.statePath, options.leaseMs),
    };
}
