/**
 * The replica reader as it runs in AWS: a VPC function beside each site's database
 * (components/writerAgent.ts), invoked synchronously by the failover controller (which runs
 * outside the VPC) when it assesses a failover. It reads the standby's replica over SQL with the
 * master user (failover/probes/replica.ts MysqlReplicaReader): waits, within `waitMs` and its own
 * time, until what the replica received is executed, then answers the old writer's newest
 * heartbeat it applied (the loss window's lower end, failover/core/lossWindow.ts). Reads only.
 * Its configuration is the writer agent's (AGENT_CONFIG: this region's database, the master
 * user's secret, the fence's schema).
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { ReplicaReaderAnswer } from "../adapters/aws/replicaReader";
import { clientConfig } from "../adapters/aws/calls";
import { MysqlReplicaReader } from "../probes/replica";
import { parseAgentConfig } from "./agentConfig";
import { credentials, masterConnection } from "./agentHandler";

interface LambdaContext {
    getRemainingTimeInMillis(): number;
}

/** The longest wait a caller may ask for (the function's timeout is 60 s; components/writerAgent.ts). */
export const REPLICA_READ_MAX_WAIT_MS = 45_000;

export async function replicaHandler(event: unknown, context: LambdaContext): Promise<ReplicaReaderAnswer> {
    const cfg = parseAgentConfig(process.env.AGENT_CONFIG);
    const asked = Number((event as { waitMs?: unknown } | null)?.waitMs ?? 0);
    const waitMs = Math.max(
        0,
        Math.min(Number.isFinite(asked) ? asked : 0, REPLICA_READ_MAX_WAIT_MS, context.getRemainingTimeInMillis() - 5000),
    );
    const master = await credentials(new SecretsManagerClient(clientConfig(cfg.region)), cfg.masterSecret);
    const reader = new MysqlReplicaReader(masterConnection(cfg, master), cfg.schema);
    try {
        const r = await reader.read(waitMs);
        return {
            appliedAll: r.appliedAll,
            appliesInOrder: r.inOrder,
            ...(r.lastBeatAt !== undefined ? { lastBeatAt: r.lastBeatAt } : {}),
            detail: `${reader.target}: a replica of ${r.sourceHost}:${r.sourcePort}; ${r.detail}`,
        };
    } finally {
        await reader.close();
    }
}
