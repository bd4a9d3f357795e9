/**
 * The replica reader as the controller calls it: a synchronous invocation (lambda:Invoke,
 * RequestResponse) of the function beside the standby's database (failover/lambda/replicaHandler.ts),
 * which answers what the replica applied. The controller runs outside the VPC, so it cannot speak
 * SQL to the replica itself.
 *
 * Lambda's synchronous invocation returns the handler's JSON in `Payload`; a handler that threw
 * comes back with `FunctionError` set ("Unhandled") and the error as the payload, with HTTP 200
 * (Lambda API reference, Invoke: "FunctionError ... If present, indicates that an error occurred
 * during function execution"): that is a failed read here, not an answer.
 */
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { ReplicaReader, ReplicaReading } from "./database";
import { call } from "./calls";

/** What the handler answers. */
export interface ReplicaReaderAnswer {
    readonly appliedAll: boolean;
    readonly appliesInOrder?: boolean;
    readonly lastBeatAt?: number;
    readonly detail: string;
}

export class LambdaReplicaReader implements ReplicaReader {
    readonly location: string;

    constructor(
        private readonly lambda: LambdaClient,
        private readonly functionName: string,
    ) {
        this.location = `lambda:${functionName}`;
    }

    async read(waitMs: number, signal: AbortSignal): Promise<ReplicaReading> {
        const out = await call("lambda:InvokeFunction", this.functionName, () =>
            this.lambda.send(
                new InvokeCommand({
                    FunctionName: this.functionName,
                    InvocationType: "RequestResponse",
                    Payload: new TextEncoder().encode(JSON.stringify({ waitMs })),
                }),
                { abortSignal: signal },
            ),
        );
        const text = out.Payload === undefined ? "" : new TextDecoder().decode(out.Payload);
        if (out.FunctionError !== undefined) {
            let message = text;
            try {
                const parsed = (JSON.parse(text) as { errorMessage?: unknown }).errorMessage;
                message = typeof parsed === "string" ? parsed : text;
            } catch {
                // not JSON: the text as it came
            }
            throw new Error(`${this.location} failed (${out.FunctionError}): ${message.slice(0, 300)}`);
        }
        return parseReaderAnswer(text, this.location);
    }
}

export function parseReaderAnswer(text: string, location: string): ReplicaReading {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        throw new Error(`${location}: not a JSON answer: ${text.slice(0, 120)}`);
    }
    const v = (value ?? {}) as Record<string, unknown>;
    if (
        typeof v.appliedAll !== "boolean" ||
        typeof v.detail !== "string" ||
        (v.lastBeatAt !== undefined && typeof v.lastBeatAt !== "number")
    ) {
        throw new Error(`${location}: expected {"appliedAll", "lastBeatAt", "detail"}, got ${text.slice(0, 120)}`);
    }
    return {
        appliedAll: v.appliedAll,
        ...(typeof v.appliesInOrder === "boolean" ? { appliesInOrder: v.appliesInOrder } : {}),
        detail: v.detail,
        ...(typeof v.lastBeatAt === "number" ? { lastBeatAt: v.lastBeatAt } : {}),
    };
}
