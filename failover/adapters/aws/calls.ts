/**
 * How every AWS call of the controller is made: SDK v3 clients with connection and request
 * timeouts, the SDK's standard retry strategy (exponential backoff with full jitter on
 * throttling, 5xx and transient network errors; `maxAttempts` in all), and a final error that
 * names the call and the resource.
 */
import { NodeHttpHandler } from "@smithy/node-http-handler";

export interface CallSettings {
    /** Attempts per call, the first included (SDK standard retry mode). @default 4 */
    readonly maxAttempts?: number;
    /** TCP connect timeout. @default 3000 */
    readonly connectionTimeoutMs?: number;
    /** Time to the response (each attempt). @default 10000 */
    readonly requestTimeoutMs?: number;
}

/** The configuration every client of the controller gets (region added by the caller). */
export function clientConfig(region: string, settings: CallSettings = {}) {
    return {
        region,
        maxAttempts: settings.maxAttempts ?? 4,
        retryMode: "standard" as const,
        requestHandler: new NodeHttpHandler({
            connectionTimeout: settings.connectionTimeoutMs ?? 3000,
            requestTimeout: settings.requestTimeoutMs ?? 10_000,
        }),
    };
}

/** A call that failed after the SDK's retries: which call, on what, and AWS's answer. */
export class AwsCallError extends Error {
    constructor(
        readonly call: string,
        readonly resource: string,
        readonly code: string,
        message: string,
        options?: ErrorOptions,
    ) {
        super(`${call} ${resource}: ${code}: ${message}`, options);
    }
}

/** Runs `send`, turning a failure into an AwsCallError naming `call` and `resource`. */
export async function call<T>(name: string, resource: string, send: () => Promise<T>): Promise<T> {
    try {
        return await send();
    } catch (err) {
        const e = err as Error & { $metadata?: { httpStatusCode?: number } };
        throw new AwsCallError(name, resource, e.name || "Error", e.message, { cause: err });
    }
}

/** Errors that say the region (or the network to it) does not answer, as opposed to a refusal. */
export function isUnreachable(err: unknown): boolean {
    const cause = (err as { cause?: unknown }).cause ?? err;
    const e = cause as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    return (
        ["TimeoutError", "RequestTimeout", "NetworkingError", "ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT", "EAI_AGAIN"].includes(
            e.name ?? e.code ?? "",
        ) ||
        ["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT", "EAI_AGAIN"].includes(e.code ?? "") ||
        (status !== undefined && status >= 500)
    );
}
