/**
 * The writer lease in the drill (failover/core/writerLease.ts): a DynamoDB-protocol lease
 * store on 127.0.0.1 (dynalite, the same conditional writes the deployed table answers, through
 * the real client and failover/adapters/aws/writerLease.ts), each site's writer agent beside its
 * database (failover/agent), and the paths to the store each can cut separately:
 *
 *   agent-lease-path        the primary's agent to the store
 *   controller-lease-path   the standby's controller to the store
 *
 * The drill's timing is the deployed inequality scaled down: L 1.5 s, m 0.5 s, F 1.3 s (the
 * database's event runs every second), d 1.5 s: the old writer stops by 2.30 s after its last
 * anchor, a taker acts from 3.00 s after its read.
 */
import { once } from "events";
import type { AddressInfo } from "net";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { DynamoWriterLease } from "../failover/adapters/aws/writerLease";
import { WriterAgent } from "../failover/agent/agent";
import { MysqlFence } from "../failover/agent/fence";
import type { LeaseTiming, WriterLeaseRecord } from "../failover/core/writerLease";
import { APP_DB_USER } from "../lib/failoverNaming";
import { MariaDb, SHOP_SCHEMA } from "./mariadb";
import { TcpProxy } from "./proxy";

export const DRILL_LEASE_TIMING: LeaseTiming = {
    leaseMs: 1500,
    marginMs: 500,
    fenceMs: 1300,
    takeoverWaitMs: 1500,
    rateError: 0.001,
    renewEveryMs: 250,
    renewTimeoutMs: 200,
};
/** A killed database is not an in-region restart in the drill: the grace is short. */
const DRILL_DATABASE_GRACE_MS = 500;
const TABLE = "drill-writer-lease";

export class DrillLease {
    private server?: ReturnType<typeof dynalite>;
    private readonly clients: DynamoDBClient[] = [];
    private readonly fences: MysqlFence[] = [];
    private readonly stops: AbortController[] = [];
    private readonly runs: Promise<unknown>[] = [];
    agentPath!: TcpProxy;
    controllerPath!: TcpProxy;
    /** The primary's agent, stopped by the agent-stop fault. */
    private primaryStop?: AbortController;

    constructor(
        private readonly emit: (event: string, fields: Record<string, unknown>) => void,
        private readonly password: string,
    ) {}

    async start(): Promise<this> {
        this.server = dynalite({ createTableMs: 0 });
        this.server.listen(0, "127.0.0.1");
        await once(this.server, "listening");
        const port = (this.server.address() as AddressInfo).port;
        this.agentPath = await new TcpProxy("agent-lease-path", { kind: "forward", port }).start();
        this.controllerPath = await new TcpProxy("controller-lease-path", { kind: "forward", port }).start();
        await this.client(port).send(
            new CreateTableCommand({
                TableName: TABLE,
                KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
                AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
                BillingMode: "PAY_PER_REQUEST",
            }),
        );
        return this;
    }

    private client(port: number): DynamoDBClient {
        const c = new DynamoDBClient({
            region: "us-west-2",
            endpoint: `http://127.0.0.1:${port}`,
            credentials: { accessKeyId: "AKIDDRILL", secretAccessKey: "drill" },
            maxAttempts: 1,
            // A loaded machine (the suite's parallel run) can take a second to connect on
            // loopback: the agents' renewal timeout (200 ms) still bounds each renewal.
            requestHandler: { connectionTimeout: 1000, requestTimeout: 1000 },
        });
        this.clients.push(c);
        return c;
    }

    /** The lease as the controller reaches it (through its path). */
    controllerStore(): DynamoWriterLease {
        return new DynamoWriterLease(this.client(this.controllerPath.port), TABLE);
    }

    /** Reads the lease directly (the drill's own view, no path in between). */
    async read(): Promise<WriterLeaseRecord | undefined> {
        return new DynamoWriterLease(this.client((this.server!.address() as AddressInfo).port), TABLE).read();
    }

    /** Starts `region`'s agent beside `db` (through `leasePort` to the store) until `untilMs` (performance.now). */
    startAgent(region: string, db: MariaDb, leasePort: number, untilMs: number): void {
        const fence = new MysqlFence({
            connection: db.masterConnection(),
            schema: {
                schema: "failover",
                appUser: APP_DB_USER,
                appHost: "127.0.0.1",
                appSchemas: [SHOP_SCHEMA],
                killProcedure: "mysql.rds_kill",
            },
        });
        this.fences.push(fence);
        const stop = new AbortController();
        this.stops.push(stop);
        if (region === "primary") {
            this.primaryStop = stop;
        }
        const agent = new WriterAgent(
            {
                lease: new DynamoWriterLease(this.client(leasePort), TABLE),
                database: fence,
                appPassword: () => Promise.resolve(this.password),
                emit: (event, fields = {}) => this.emit(`agent-${event}`, { ...fields, agent: region }),
                signal: stop.signal,
            },
            { region, writerRegion: "primary", timing: DRILL_LEASE_TIMING, beatEveryMs: 200, databaseGraceMs: DRILL_DATABASE_GRACE_MS },
        );
        this.runs.push(agent.run(untilMs).catch((err: Error) => this.emit("agent-error", { agent: region, error: err.message })));
    }

    /** The agent-stop fault: the primary's agent stops (its database closes by itself). */
    stopPrimaryAgent(): void {
        this.primaryStop?.abort(new Error("the drill stopped the agent"));
    }

    async close(): Promise<void> {
        this.stops.forEach((s) => s.abort(new Error("the drill ended")));
        await Promise.all(this.runs);
        await Promise.all(this.fences.map((f) => f.close().catch(() => undefined)));
        this.clients.forEach((c) => c.destroy());
        await Promise.all([this.agentPath?.close(), this.controllerPath?.close()]);
        if (this.server !== undefined) {
            this.server.close();
            await once(this.server, "close");
        }
    }
}
