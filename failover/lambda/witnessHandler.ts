/**
 * The witness as it runs in AWS (failover/probes/witness.ts): a function in us-west-2, deployed
 * by the global stack, invoked every minute by EventBridge Scheduler. Each invocation looks at
 * the shop's public name through Global Accelerator every `intervalSeconds` for most of its
 * minute and posts each look beside the writer lease, where the standby's controller reads it.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { clientConfig } from "../adapters/aws/calls";
import { checkRange, INTERVAL_SECONDS, TIMEOUT_SECONDS } from "../core/settings";
import { HttpProbe } from "../probes/http";
import { DynamoWitnessBoard, runWitness } from "../probes/witness";
import { jsonLog } from "./emf";
import { readEnvConfig } from "./envConfig";

export interface WitnessConfig {
    readonly region: string;
    readonly table: string;
    /** The health URL through the virtual IP (the public name). */
    readonly url: string;
    readonly intervalSeconds: number;
    readonly timeoutSeconds: number;
}

export function parseWitnessConfig(raw: string | undefined): WitnessConfig {
    const { value, problems, text, finish } = readEnvConfig("WITNESS_CONFIG", raw, (m) => new Error(m));
    const config: WitnessConfig = {
        region: text("region"),
        table: text("table"),
        url: text("url"),
        intervalSeconds: Number(value.intervalSeconds),
        timeoutSeconds: Number(value.timeoutSeconds),
    };
    problems.push(
        ...[
            checkRange("intervalSeconds", config.intervalSeconds, INTERVAL_SECONDS),
            checkRange("timeoutSeconds", config.timeoutSeconds, TIMEOUT_SECONDS),
            /^https?:\/\//.test(config.url) ? undefined : `url = ${JSON.stringify(value.url)}: expected an http(s) URL`,
        ].filter((p): p is string => p !== undefined),
    );
    finish();
    return config;
}

interface LambdaContext {
    getRemainingTimeInMillis(): number;
}

export async function witnessHandler(_event: unknown, context: LambdaContext): Promise<{ posts: number }> {
    const cfg = parseWitnessConfig(process.env.WITNESS_CONFIG);
    const board = new DynamoWitnessBoard(new DynamoDBClient(clientConfig(cfg.region, { maxAttempts: 2 })), cfg.table);
    const posts = await runWitness({
        probe: new HttpProbe("witness", cfg.url),
        board,
        intervalMs: cfg.intervalSeconds * 1000,
        timeoutMs: cfg.timeoutSeconds * 1000,
        endsAt: Date.now() + Math.max(1000, context.getRemainingTimeInMillis() - 5000),
        log: jsonLog,
    });
    jsonLog("end", { posts });
    return { posts };
}
