/**
 * A local world for the controller, on 127.0.0.1: a writer site whose health endpoint can be
 * switched between failure modes, and a hook server that records each action the controller
 * posts (with its arrival time) and answers as told. The benchmark (failover/bench.ts) and
 * the fault-injection tests use them; drills can too.
 */
import { once } from "events";
import * as http from "http";
import type { AddressInfo } from "net";

export type SiteMode = "ok" | "down" | "hang" | "reset" | "error" | "slow" | "flap" | "wrong-body";

export class Site {
    mode: SiteMode = "ok";
    slowMs = 0;
    requests = 0;
    private server = http.createServer((_req, res) => this.answer(res));
    private hanging: http.ServerResponse[] = [];

    /** Port 0: any free port. */
    constructor(public port = 0) {}

    get url(): string {
        return `http://127.0.0.1:${this.port}/health`;
    }

    async start(): Promise<this> {
        this.server.listen(this.port, "127.0.0.1");
        await once(this.server, "listening");
        this.port = (this.server.address() as AddressInfo).port;
        return this;
    }

    /** Switches the mode; `down` closes the listener (connections are refused), anything else reopens it. */
    async set(mode: SiteMode): Promise<void> {
        const wasDown = this.mode === "down";
        this.mode = mode;
        if (mode === "down" && !wasDown) {
            await this.close();
        } else if (mode !== "down" && wasDown) {
            this.server = http.createServer((_req, res) => this.answer(res));
            await this.start();
        }
    }

    private answer(res: http.ServerResponse): void {
        this.requests += 1;
        switch (this.mode) {
            case "hang":
                this.hanging.push(res);
                return;
            case "reset":
                res.socket?.resetAndDestroy();
                return;
            case "error":
                res.writeHead(503).end("unavailable");
                return;
            case "flap":
                res.writeHead(this.requests % 2 === 0 ? 503 : 200).end("ok");
                return;
            case "wrong-body":
                res.writeHead(200).end("maintenance");
                return;
            case "slow":
                setTimeout(() => res.writeHead(200).end("ok"), this.slowMs);
                return;
            default:
                res.writeHead(200).end("ok");
        }
    }

    async close(): Promise<void> {
        this.hanging.forEach((r) => r.destroy());
        this.hanging = [];
        const closed = once(this.server, "close");
        this.server.close();
        this.server.closeAllConnections();
        await closed;
    }
}

export interface HookCall {
    readonly action: string;
    readonly body: Record<string, unknown>;
    /** Milliseconds since the epoch when the call arrived. */
    readonly at: number;
}

export interface HookBehaviour {
    /** Answer HTTP 500 this many times first. */
    failTimes?: number;
    /**
     * read-replica: how many seconds of the old writer's writes the replica lacks (its last
     * heartbeat that long before the writer stopped, now); a list is read in turn, the last one
     * repeats.
     */
    lagSeconds?: number | number[] | "garbage";
    /** read-replica: the standby replicates the expected writer (default true). */
    replicatesExpected?: boolean;
    /** Never answer (a blocked action, for crash tests). */
    block?: boolean;
    /** Called when the action arrives, before the answer. */
    onCall?: () => void | Promise<void>;
}

export class HookServer {
    readonly calls: HookCall[] = [];
    behaviour: Record<string, HookBehaviour> = {};
    private readonly server = http.createServer((req, res) => void this.answer(req, res));
    private blocked: http.ServerResponse[] = [];
    /** Sees every call as it arrives (the local world's console prints them). */
    onAnyCall?: (call: HookCall) => void;

    /** Port 0: any free port. */
    constructor(public port = 0) {}

    url(action: string): string {
        return `http://127.0.0.1:${this.port}/${action}`;
    }

    /** `--hook` flags for every action. */
    flags(actions = ["fence", "read-replica", "promote", "move-traffic", "notify"]): string[] {
        return actions.flatMap((a) => ["--hook", `${a}=${this.url(a)}`]);
    }

    actions(): string[] {
        return this.calls.map((c) => c.action);
    }

    count(action: string): number {
        return this.calls.filter((c) => c.action === action).length;
    }

    reset(): void {
        this.calls.length = 0;
        this.behaviour = {};
    }

    async start(): Promise<this> {
        this.server.listen(this.port, "127.0.0.1");
        await once(this.server, "listening");
        this.port = (this.server.address() as AddressInfo).port;
        return this;
    }

    private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        if (req.method === "HEAD") {
            // a hook path exists (and takes only POST); anything else is not there
            const known = ["fence", "read-replica", "promote", "move-traffic", "notify"].includes((req.url ?? "").slice(1));
            res.writeHead(known ? 405 : 404).end();
            return;
        }
        let text = "";
        for await (const chunk of req) {
            text += String(chunk);
        }
        let body: Record<string, unknown>;
        try {
            body = JSON.parse(text) as Record<string, unknown>;
        } catch {
            res.writeHead(400).end("expected a JSON body");
            return;
        }
        const action = String(body.action);
        const call = { action, body, at: Date.now() };
        this.calls.push(call);
        this.onAnyCall?.(call);
        const b = this.behaviour[action] ?? {};
        await b.onCall?.();
        if (b.block) {
            this.blocked.push(res);
            return;
        }
        if ((b.failTimes ?? 0) > 0) {
            b.failTimes! -= 1;
            res.writeHead(500).end("injected failure");
            return;
        }
        if (action === "read-replica") {
            const lags = b.lagSeconds ?? 0;
            if (lags === "garbage") {
                res.writeHead(200).end("not json");
                return;
            }
            const seen = this.count("read-replica") - 1;
            const lag = Array.isArray(lags) ? lags[Math.min(seen, lags.length - 1)] : lags;
            const now = Date.now() / 1000;
            res.writeHead(200, { "content-type": "application/json" }).end(
                JSON.stringify({ lastBeatAt: now - lag, stoppedBy: now, replicatesExpected: b.replicatesExpected ?? true }),
            );
            return;
        }
        res.writeHead(200).end("done");
    }

    async close(): Promise<void> {
        this.blocked.forEach((r) => r.destroy());
        const closed = once(this.server, "close");
        this.server.close();
        this.server.closeAllConnections();
        await closed;
    }
}
