/**
 * The witness: a third failure domain. A function in us-west-2 (deployed by the global stack)
 * probes the shop's public name through Global Accelerator, as a shopper would, and posts what
 * it saw to the lease table beside the writer lease (`pk = "witness"`). The standby's
 * controller reads that post as one vantage point; a post that has not changed for `maxAgeMs`,
 * or none, is a silent witness, and a silent witness abstains: it is never counted as "down".
 *
 * Freshness never compares clocks across hosts (like the writer lease): the controller notes when
 * it first saw each post, on its own monotonic clock, and a post it has not seen change yet (the
 * first read of a run) abstains too, since its age cannot be known. So a witness whose clock is
 * 60 s off, or runs fast, still votes; a witness that stopped posting falls silent `maxAgeMs`
 * after the controller first saw its last post.
 */
import { setTimeout as sleep } from "timers/promises";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { call } from "../adapters/aws/calls";
import type { Probe, ProbeResult } from "./http";

export const WITNESS_KEY = { pk: "witness" } as const;

/** What the witness saw. */
export interface WitnessPost {
    readonly ok: boolean;
    /** The witness's wall clock when it looked. */
    readonly observedAt: number;
    readonly target: string;
    readonly detail?: string;
}

export interface WitnessBoard {
    readonly location: string;
    post(post: WitnessPost): Promise<void>;
    latest(signal?: AbortSignal): Promise<WitnessPost | undefined>;
}

export class DynamoWitnessBoard implements WitnessBoard {
    private readonly documents: DynamoDBDocumentClient;
    readonly location: string;

    constructor(
        client: DynamoDBClient,
        private readonly table: string,
    ) {
        this.documents = DynamoDBDocumentClient.from(client);
        this.location = `dynamodb://${table}/witness`;
    }

    async post(post: WitnessPost): Promise<void> {
        await call("dynamodb:PutItem", this.location, () =>
            this.documents.send(new PutCommand({ TableName: this.table, Item: { ...WITNESS_KEY, ...post } })),
        );
    }

    async latest(signal?: AbortSignal): Promise<WitnessPost | undefined> {
        const out = await call("dynamodb:GetItem", this.location, () =>
            this.documents.send(new GetCommand({ TableName: this.table, Key: WITNESS_KEY, ConsistentRead: true }), { abortSignal: signal }),
        );
        const item = out.Item;
        if (item === undefined || typeof item.ok !== "boolean" || typeof item.observedAt !== "number") {
            return undefined;
        }
        return { ok: item.ok, observedAt: item.observedAt, target: String(item.target), detail: item.detail as string | undefined };
    }
}

/** The witness's post as the controller's vantage point. */
export class WitnessVantage implements Probe {
    readonly target: string;
    /** The post last read (its `observedAt` identifies it) and when it was first seen, on `monotonic`. */
    private seen: { readonly observedAt: number; readonly firstSeenAt: number } | undefined;

    constructor(
        readonly name: string,
        private readonly board: WitnessBoard,
        /** A post unchanged for longer than this is silence. */
        private readonly maxAgeMs: number,
        /** The controller's own monotonic clock (milliseconds). */
        private readonly monotonic: () => number = () => performance.now(),
    ) {
        this.target = `witness post at ${board.location}`;
    }

    async check(timeoutMs: number): Promise<ProbeResult> {
        const started = performance.now();
        const base = () => ({ name: this.name, target: this.target, latencyMs: Math.round(performance.now() - started) });
        const silent = (error: string): ProbeResult => ({ ...base(), ok: false, abstained: true, reason: "error", error });
        let post: WitnessPost | undefined;
        try {
            post = await this.board.latest(AbortSignal.timeout(timeoutMs));
        } catch (err) {
            return silent(`the witness's post cannot be read: ${(err as Error).message}`);
        }
        if (post === undefined) {
            return silent("the witness has posted nothing");
        }
        const now = this.monotonic();
        const previous = this.seen;
        if (previous === undefined) {
            this.seen = { observedAt: post.observedAt, firstSeenAt: now };
            return silent("the witness's post has not been seen to change yet: its age is unknown until it does");
        }
        if (previous.observedAt !== post.observedAt) {
            this.seen = { observedAt: post.observedAt, firstSeenAt: now };
        } else if (now - previous.firstSeenAt > this.maxAgeMs) {
            return silent(
                `the witness is silent: its post has not changed for ${Math.round((now - previous.firstSeenAt) / 1000)} s (at most ${this.maxAgeMs / 1000} s counts)`,
            );
        }
        return post.ok
            ? { ...base(), ok: true }
            : { ...base(), ok: false, reason: "status", error: `the witness saw ${post.target} fail: ${post.detail ?? "no detail"}` };
    }
}

/**
 * One round of the witness: look through the virtual IP, post what it saw. A round stopped (by
 * `signal`) while it looked posts nothing: a stopped witness falls silent at once.
 */
export async function witnessRound(
    probe: Probe,
    board: WitnessBoard,
    timeoutMs: number,
    now: () => number = Date.now,
    signal?: AbortSignal,
): Promise<WitnessPost | undefined> {
    const result = await probe.check(timeoutMs);
    if (signal?.aborted) {
        return undefined;
    }
    const post: WitnessPost = {
        ok: result.ok,
        observedAt: now(),
        target: result.target,
        ...(result.ok ? {} : { detail: result.error ?? result.reason ?? "failed" }),
    };
    await board.post(post);
    return post;
}

/** How the witness runs: a round every `intervalMs` until `endsAt` (its wall clock) or `signal`. */
export interface WitnessRun {
    readonly probe: Probe;
    readonly board: WitnessBoard;
    readonly intervalMs: number;
    readonly timeoutMs: number;
    /** No round starts that could outlast this (the function's time left, in AWS). */
    readonly endsAt: number;
    readonly signal?: AbortSignal;
    readonly now?: () => number;
    /** Each post that says "down", and each post that could not be written. */
    readonly log: (event: "witness" | "witness-post-failed", fields: Record<string, unknown>) => void;
}

/**
 * The witness's loop, as the deployed function (failover/lambda/witnessHandler.ts) and the drill
 * run it. A post that cannot be written is logged and the loop goes on: the last post ages, and
 * the controller hears silence, which abstains. Returns how many posts were written.
 */
export async function runWitness(run: WitnessRun): Promise<number> {
    const now = run.now ?? Date.now;
    let posts = 0;
    for (let at = now(); at + run.timeoutMs < run.endsAt && !run.signal?.aborted; at += run.intervalMs) {
        try {
            await sleep(Math.max(0, at - now()), undefined, { signal: run.signal });
        } catch {
            break; // stopped
        }
        try {
            const post = await witnessRound(run.probe, run.board, run.timeoutMs, now, run.signal);
            if (post === undefined) {
                break; // stopped while it looked
            }
            posts += 1;
            if (!post.ok) {
                run.log("witness", { ...post });
            }
        } catch (err) {
            run.log("witness-post-failed", { error: (err as Error).message });
        }
    }
    return posts;
}
