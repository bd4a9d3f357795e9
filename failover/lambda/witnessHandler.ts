/**
 * The witness as it runs in AWS (failover/probes/witness.ts): a function in us-west-2, deployed
 * by the global stack, invoked every minute by EventBridge Scheduler. Each invocation looks at
 * the shop's public name through Global Accelerator every `intervalSeconds` for most of its
 * minute and posts each look beside the writer lease, where the standby's controller reads it.
 */
import { setTimeout as sleep } from "timers/promises";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { clientConfig } from "../adapters/aws/calls";
import { checkRange, INTERVAL_SECONDS, TIMEOUT_SECONDS } from "../core/settings";
import { HttpProbe } from "../probes/http";
import { DynamoWitnessBoard, witnessRound } from "../probes/witness";
import { jsonLog } from "./emf";

export interface WitnessConfig {
    readonly region: string;
    readonly table: string;
    /** The health URL through the virtual IP (the public name). */
    readonly url: string;
    readonly intervalSeconds: number;
    readonly timeoutSeconds: number;
}

export function parseWitnessConfig(raw: string | undefined): WitnessConfig {
    let value: Record<string, unknown>;
    try {
        value = JSON.parse(raw ?? "") as Record<string, unknown>;
    } catch {
        throw new Error("WITNESS_CONFIG is not set or not JSON: the function needs its configuration (the global stack writes it)");
    }
    const problems = [
        ...["region", "table", "url"]
            .filter((k) => typeof value[k] !== "string" || value[k] === "")
            .map((k) => `${k} = ${JSON.stringify(value[k])}: expected a non-empty string`),
        checkRange("intervalSeconds", Number(value.intervalSeconds), INTERVAL_SECONDS),
        checkRange("timeoutSeconds", Number(value.timeoutSeconds), TIMEOUT_SECONDS),
    ].filter((p): p is string => p !== undefined);
    if (!/^https?:\/\//.test(String(value.url))) {
        problems.push(`url = ${JSON.stringify(value.url)}: expected an http(s) URL`);
    }
    if (problems.length > 0) {
        throw new Error(`WITNESS_CONFIG has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    return value as unknown as WitnessConfig;
}

interface LambdaContext {
    getRemainingTimeInMillis(): number;
}

export async function witnessHandler(_event: unknown, context: LambdaContext): Promise<{ posts: number }> {
    const cfg = parseWitnessConfig(process.env.WITNESS_CONFIG);
    const board = new DynamoWitnessBoard(new DynamoDBClient(clientConfig(cfg.region, { maxAttempts: 2 })), cfg.table);
    const probe = new HttpProbe("witness", cfg.url);
    const endsAt = Date.now() + Math.max(1000, context.getRemainingTimeInMillis() - 5000);
    let posts = 0;
    for (let at = Date.now(); at + cfg.timeoutSeconds * 1000 < endsAt; at += cfg.intervalSeconds * 1000) {
        await sleep(Math.max(0, at - Date.now()));
        try {
            const post = await witnessRound(probe, board, cfg.timeoutSeconds * 1000);
            posts += 1;
            if (!post.ok) {
                jsonLog("witness", { ...post });
            }
        } catch (err) {
            // A post that fails leaves the last one to age: the controller then hears silence.
            jsonLog("witness-post-failed", { error: (err as Error).message });
        }
    }
    jsonLog("end", { posts });
    return { posts };
}
