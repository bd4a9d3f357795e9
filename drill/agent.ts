/**
 * A writer agent as the drill runs it (failover/agent, unchanged): beside its MariaDB, renewing
 * the lease in the drill's DynamoDB-protocol store through a path the drill can cut, on a clock of
 * its own (drill/clock.ts). The same code runs in the drill's process and, for the agent-freeze
 * fault, in a process of its own (drill/agentProcess.ts) that the drill stops with SIGSTOP.
 *
 * Every write to the lease, and every answer, goes to the lease history (RecordingLease): the
 * record the drill's invariants are checked against, and what `npm run drill -- --json` prints.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { ConnectionOptions } from "mysql2";
import { DynamoWriterLease } from "../failover/adapters/aws/writerLease";
import { WriterAgent } from "../failover/agent/agent";
import { MysqlFence } from "../failover/agent/fence";
import { LeaseChangedError, type ReadinessCheck, type RenewalAnchor, type WriterLeaseStore } from "../failover/core/ports";
import type { LeaseTiming, WriterLeaseRecord } from "../failover/core/writerLease";
import { APP_DB_USER } from "../lib/failoverNaming";
import { type ClockSkew, SkewedClock } from "./clock";
import { SHOP_SCHEMA } from "./mariadb";

export const DRILL_LEASE_TABLE = "drill-writer-lease";

/** One write to the lease, as its writer saw it. */
export interface LeaseTransition {
    /** When the write was sent, and when its answer came (machine time, ms). */
    readonly sentAt: number;
    readonly at: number;
    /** Who wrote: an agent ("agent:primary") or the controller ("controller:dr"). */
    readonly by: string;
    readonly op: "establish" | "renew" | "take" | "hand-back" | "request-handover" | "publish-handover" | "withdraw-handover";
    /** ok: it landed and the writer knows it; changed: refused (the lease was no longer as expected); error: no answer. */
    readonly outcome: "ok" | "changed" | "error";
    readonly holder?: string;
    readonly epoch?: number;
    readonly version?: string;
    readonly error?: string;
}

/** A lease store that records every write it sends (reads are not transitions). */
export class RecordingLease implements WriterLeaseStore {
    constructor(
        private readonly inner: WriterLeaseStore,
        private readonly by: string,
        private readonly record: (t: LeaseTransition) => void,
    ) {}

    get location(): string {
        return this.inner.location;
    }

    read(signal?: AbortSignal): Promise<WriterLeaseRecord | undefined> {
        return this.inner.read(signal);
    }

    establish(holder: string, leaseMs: number, signal?: AbortSignal, anchor?: RenewalAnchor): Promise<WriterLeaseRecord> {
        return this.recorded("establish", () => this.inner.establish(holder, leaseMs, signal, anchor));
    }

    renew(holder: string, epoch: number, leaseMs: number, signal?: AbortSignal, anchor?: RenewalAnchor): Promise<WriterLeaseRecord> {
        return this.recorded("renew", () => this.inner.renew(holder, epoch, leaseMs, signal, anchor));
    }

    take(holder: string, seen: WriterLeaseRecord, leaseMs: number, signal?: AbortSignal): Promise<WriterLeaseRecord> {
        return this.recorded("take", () => this.inner.take(holder, seen, leaseMs, signal));
    }

    handBack(holder: string, epoch: number, to: string, leaseMs: number, signal?: AbortSignal): Promise<WriterLeaseRecord> {
        return this.recorded("hand-back", () => this.inner.handBack(holder, epoch, to, leaseMs, signal));
    }

    requestHandover(holder: string, epoch: number, to: string, signal?: AbortSignal): Promise<WriterLeaseRecord> {
        return this.recorded("request-handover", () => this.inner.requestHandover(holder, epoch, to, signal));
    }

    publishHandover(
        holder: string,
        epoch: number,
        published: Parameters<WriterLeaseStore["publishHandover"]>[2],
        signal?: AbortSignal,
    ): Promise<WriterLeaseRecord> {
        return this.recorded("publish-handover", () => this.inner.publishHandover(holder, epoch, published, signal));
    }

    withdrawHandover(holder: string, epoch: number, signal?: AbortSignal): Promise<WriterLeaseRecord> {
        return this.recorded("withdraw-handover", () => this.inner.withdrawHandover(holder, epoch, signal));
    }

    readiness(): Promise<ReadinessCheck[]> {
        return this.inner.readiness();
    }

    private async recorded(op: LeaseTransition["op"], write: () => Promise<WriterLeaseRecord>): Promise<WriterLeaseRecord> {
        const sentAt = Date.now();
        try {
            const r = await write();
            this.record({ sentAt, at: Date.now(), by: this.by, op, outcome: "ok", holder: r.holder, epoch: r.epoch, version: r.version });
            return r;
        } catch (err) {
            const changed = err instanceof LeaseChangedError;
            this.record({ sentAt, at: Date.now(), by: this.by, op, outcome: changed ? "changed" : "error", error: (err as Error).message });
            throw err;
        }
    }
}

/** A DynamoDB client for the drill's store on 127.0.0.1:`port`: one attempt, short timeouts. */
export function drillLeaseClient(port: number): DynamoDBClient {
    return new DynamoDBClient({
        region: "us-west-2",
        endpoint: `http://127.0.0.1:${port}`,
        credentials: { accessKeyId: "AKIDDRILL", secretAccessKey: "drill" },
        maxAttempts: 1,
        // A loaded machine (the suite's parallel run) can take a second to connect on loopback:
        // the agents' renewal timeout still bounds each renewal.
        requestHandler: { connectionTimeout: 1000, requestTimeout: 1000 },
    });
}

/** Everything an agent needs, as plain data (it crosses a process boundary for agent-freeze). */
export interface DrillAgentConfig {
    readonly region: string;
    readonly database: ConnectionOptions;
    readonly appPassword: string;
    /** The port of the agent's path to the lease store. */
    readonly leasePort: number;
    readonly timing: LeaseTiming;
    readonly beatEveryMs: number;
    readonly databaseGraceMs: number;
    readonly skew: ClockSkew;
    /** How long it runs, in real time. */
    readonly runForMs: number;
}

export interface DrillAgentRun {
    readonly done: Promise<unknown>;
    close(): Promise<void>;
}

/** Starts an agent: its events to `emit`, its lease writes to `record`, until `signal` or its time is up. */
export function startDrillAgent(
    config: DrillAgentConfig,
    emit: (event: string, fields: Record<string, unknown>) => void,
    record: (t: LeaseTransition) => void,
    signal: AbortSignal,
): DrillAgentRun {
    const clock = new SkewedClock(config.skew);
    const fence = new MysqlFence({
        connection: config.database,
        schema: {
            schema: "failover",
            appUser: APP_DB_USER,
            appHost: "127.0.0.1",
            appSchemas: [SHOP_SCHEMA],
            killProcedure: "mysql.rds_kill",
        },
    });
    const client = drillLeaseClient(config.leasePort);
    // The item's renewedAt and anchoredAt are this agent's wall clock: the grace compares them with it.
    const store = new DynamoWriterLease(client, DRILL_LEASE_TABLE, { now: () => clock.wall() });
    const agent = new WriterAgent(
        {
            lease: new RecordingLease(store, `agent:${config.region}`, record),
            database: fence,
            appPassword: () => Promise.resolve(config.appPassword),
            emit: (event, fields = {}) => emit(`agent-${event}`, { ...fields, agent: config.region }),
            clock: clock.forAgent(),
            wallClock: () => clock.wall(),
            signal,
        },
        {
            region: config.region,
            writerRegion: "primary",
            timing: config.timing,
            beatEveryMs: config.beatEveryMs,
            databaseGraceMs: config.databaseGraceMs,
        },
    );
    const done = agent
        .run(clock.monotonicIn(config.runForMs))
        .catch((err: Error) => emit("agent-error", { agent: config.region, error: err.message }));
    return {
        done,
        close: async () => {
            await done;
            await fence.close().catch(() => undefined);
            client.destroy();
        },
    };
}
