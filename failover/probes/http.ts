/**
 * One vantage point: an HTTP GET of the writer site's health URL. It fails on connection
 * refused or reset, on a timeout (connecting, the headers or the body), on a status outside
 * 2xx (redirects are not followed: a 3xx is a failure) and on a body that does not match the
 * expected pattern. A slow answer within the timeout is a success.
 */
import { redactUrl } from "../urls";

export type ProbeFailure = "refused" | "reset" | "timeout" | "status" | "body" | "error";

export interface ProbeResult {
    readonly name: string;
    readonly target: string;
    readonly ok: boolean;
    /**
     * The vantage point could not look (an API error, a stale or missing report): it says
     * nothing about the writer, so it counts neither as up nor as down.
     */
    readonly abstained?: boolean;
    readonly latencyMs: number;
    readonly status?: number;
    readonly reason?: ProbeFailure;
    readonly error?: string;
}

export interface Probe {
    readonly name: string;
    /** What the probe checks, as printed (no secrets). */
    readonly target: string;
    check(timeoutMs: number): Promise<ProbeResult>;
}

const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "ECONNABORTED"]);

function classify(err: unknown): { reason: ProbeFailure; error: string } {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e.name === "TimeoutError" || e.name === "AbortError") {
        return { reason: "timeout", error: "no complete answer within the timeout" };
    }
    const code = e.cause?.code;
    if (code === "ECONNREFUSED") {
        return { reason: "refused", error: "connection refused" };
    }
    if (code !== undefined && RESET_CODES.has(code)) {
        return { reason: "reset", error: `connection reset (${code})` };
    }
    return { reason: "error", error: e.cause?.message ?? e.message ?? String(err) };
}

export class HttpProbe implements Probe {
    readonly target: string;

    constructor(
        readonly name: string,
        private readonly url: string,
        private readonly expectBody?: RegExp,
    ) {
        this.target = redactUrl(url);
    }

    async check(timeoutMs: number): Promise<ProbeResult> {
        const started = performance.now();
        const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
        try {
            // One signal covers connecting, the headers and the body.
            const response = await fetch(this.url, {
                signal: AbortSignal.timeout(timeoutMs),
                redirect: "manual",
                headers: { "user-agent": "ecommerce-failover-controller" },
            });
            const body = await response.text();
            const base = { name: this.name, target: this.target, latencyMs: elapsed(), status: response.status };
            if (response.status < 200 || response.status > 299) {
                return { ...base, ok: false, reason: "status", error: `HTTP ${response.status}` };
            }
            if (this.expectBody !== undefined && !this.expectBody.test(body)) {
                return { ...base, ok: false, reason: "body", error: `body does not match ${String(this.expectBody)}` };
            }
            return { ...base, ok: true };
        } catch (err) {
            return { name: this.name, target: this.target, latencyMs: elapsed(), ok: false, ...classify(err) };
        }
    }
}
