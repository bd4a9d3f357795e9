/**
 * The writer lease in the drill (failover/core/writerLease.ts): a DynamoDB-protocol lease
 * store on 127.0.0.1 (dynalite, the same conditional writes the deployed table answers, through
 * the real client and failover/adapters/aws/writerLease.ts), each site's writer agent beside its
 * database (failover/agent), and the paths to the store each can cut separately:
 *
 *   agent-lease-path        the primary's agent to the store
 *   controller-lease-path   the standby's controller to the store (the lease and the witness's post)
 *   witness-lease-path      the witness (failover/probes/witness.ts) to the store, where it posts
 *                           what it sees through the virtual IP beside the lease
 *
 * The drill's timing is the deployed inequality scaled down: L 1.5 s, m 0.5 s, F 1.3 s (the
 * database's event runs every second), d 1.5 s: the old writer stops by 2.30 s after its last
 * anchor, a taker acts from 3.00 s after its read.
 */
import { ChildProcess, spawn } from "child_process";
import { once } from "events";
import type { AddressInfo } from "net";
import * as path from "path";
import { createInterface } from "readline";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { DynamoWriterLease } from "../failover/adapters/aws/writerLease";
import type { LeaseTiming, WriterLeaseRecord } from "../failover/core/writerLease";
import { HttpProbe } from "../failover/probes/http";
import { DynamoWitnessBoard, runWitness, WitnessVantage } from "../failover/probes/witness";
import {
    DRILL_LEASE_TABLE,
    type DrillAgentConfig,
    type DrillAgentRun,
    drillLeaseClient,
    type LeaseTransition,
    RecordingLease,
    startDrillAgent,
} from "./agent";
import { type ClockSkew, TRUE_TIME } from "./clock";
import type { MariaDb } from "./mariadb";
import { TcpProxy } from "./proxy";

export const DRILL_LEASE_TIMING: LeaseTiming = {
    leaseMs: 1500,
    marginMs: 500,
    fenceMs: 1300,
    takeoverWaitMs: 1500,
    rateError: 0.001,
    renewEveryMs: 250,
    renewTimeoutMs: 400,
};
/**
 * How long the holder keeps renewing while its database does not answer: the deployed 150 s
 * (an RDS Multi-AZ failover takes 60-120 s) scaled to the drill's lease, with room for a loaded
 * machine (the suite's parallel run) to restart MariaDB: 5 s; the in-region-restart fault takes
 * the primary's database down 1.8 s (90 s of 150 s, scaled), then its start-up.
 */
export const DRILL_DATABASE_GRACE_MS = 5000;
/** The in-region restart: the primary's database down this long (within the grace). */
export const DRILL_RESTART_MS = 1800;

/** How an agent runs in the drill: its clock, and whether in a process of its own (which SIGSTOP can freeze). */
export interface AgentPlacement {
    readonly skew?: ClockSkew;
    readonly ownProcess?: boolean;
}

export class DrillLease {
    private server?: ReturnType<typeof dynalite>;
    private readonly clients: DynamoDBClient[] = [];
    private readonly stops: AbortController[] = [];
    private readonly agents: DrillAgentRun[] = [];
    private readonly processes = new Map<string, ChildProcess>();
    /** Every write to the lease, by every agent and the controller, in the order their answers came. */
    readonly history: LeaseTransition[] = [];
    /** The store's own port (a cut path is healed by forwarding to it again). */
    storePort!: number;
    agentPath!: TcpProxy;
    controllerPath!: TcpProxy;
    witnessPath!: TcpProxy;
    /** The witness's loop, stopped by the witness-down fault. */
    private witnessStop?: AbortController;
    private witnessRun?: Promise<number>;
    /** The primary's agent, stopped by the agent-stop fault, and its run. */
    private primaryStop?: AbortController;
    private primaryRun?: DrillAgentRun;

    constructor(
        private readonly emit: (event: string, fields: Record<string, unknown>) => void,
        private readonly password: string,
    ) {}

    async start(): Promise<this> {
        this.server = dynalite({ createTableMs: 0 });
        this.server.listen(0, "127.0.0.1");
        await once(this.server, "listening");
        const port = (this.server.address() as AddressInfo).port;
        this.storePort = port;
        this.agentPath = await new TcpProxy("agent-lease-path", { kind: "forward", port }).start();
        this.controllerPath = await new TcpProxy("controller-lease-path", { kind: "forward", port }).start();
        this.witnessPath = await new TcpProxy("witness-lease-path", { kind: "forward", port }).start();
        await this.client(port).send(
            new CreateTableCommand({
                TableName: DRILL_LEASE_TABLE,
                KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
                AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
                BillingMode: "PAY_PER_REQUEST",
            }),
        );
        return this;
    }

    private client(port: number): DynamoDBClient {
        const c = drillLeaseClient(port);
        this.clients.push(c);
        return c;
    }

    private readonly record = (t: LeaseTransition) => {
        this.history.push(t);
    };

    /** The lease as the controller reaches it (through its path), its writes recorded. */
    controllerStore(region: string, wall: () => number = Date.now): RecordingLease {
        return new RecordingLease(
            new DynamoWriterLease(this.client(this.controllerPath.port), DRILL_LEASE_TABLE, { now: wall }),
            `controller:${region}`,
            this.record,
        );
    }

    /**
     * The witness, as it runs in AWS but on this machine's clock: a round through `url` (the
     * virtual IP) every `intervalMs`, each posted through its own path to the store.
     */
    startWitness(url: string, intervalMs: number, timeoutMs: number, runForMs: number): void {
        const stop = new AbortController();
        this.witnessStop = stop;
        this.witnessRun = runWitness({
            probe: new HttpProbe("witness", url),
            board: new DynamoWitnessBoard(this.client(this.witnessPath.port), DRILL_LEASE_TABLE),
            intervalMs,
            timeoutMs,
            endsAt: Date.now() + runForMs,
            signal: stop.signal,
            log: (event, fields) => this.emit(event, fields),
        });
    }

    /** The witness-down fault: the witness stops looking and posting (a function that no longer runs). */
    stopWitness(): void {
        this.witnessStop?.abort(new Error("the drill stopped the witness"));
    }

    /** The witness's post as the standby's controller reads it (through its path): silent once unchanged for `maxAgeMs` of `monotonic`. */
    witnessVantage(maxAgeMs: number, monotonic: () => number): WitnessVantage {
        return new WitnessVantage(
            "witness",
            new DynamoWitnessBoard(this.client(this.controllerPath.port), DRILL_LEASE_TABLE),
            maxAgeMs,
            monotonic,
        );
    }

    /** Reads the lease directly (the drill's own view, no path in between). */
    async read(): Promise<WriterLeaseRecord | undefined> {
        return new DynamoWriterLease(this.client((this.server!.address() as AddressInfo).port), DRILL_LEASE_TABLE).read();
    }

    /** Starts `region`'s agent beside `db` (through `leasePort` to the store) for `runForMs` of real time. */
    startAgent(region: string, db: MariaDb, leasePort: number, runForMs: number, placement: AgentPlacement = {}): void {
        const stop = new AbortController();
        this.stops.push(stop);
        if (region === "primary") {
            this.primaryStop = stop;
        }
        const config: DrillAgentConfig = {
            region,
            database: db.masterConnection(),
            appPassword: this.password,
            leasePort,
            timing: DRILL_LEASE_TIMING,
            beatEveryMs: 500,
            databaseGraceMs: DRILL_DATABASE_GRACE_MS,
            skew: placement.skew ?? TRUE_TIME,
            runForMs,
        };
        const run = placement.ownProcess
            ? this.spawnAgent(config, stop.signal)
            : startDrillAgent(config, this.emit, this.record, stop.signal);
        this.agents.push(run);
        if (region === "primary") {
            this.primaryRun = run;
        }
    }

    /** drill/agentProcess.ts in a process of its own: its lines become events and lease history here. */
    private spawnAgent(config: DrillAgentConfig, signal: AbortSignal): DrillAgentRun {
        const child = spawn(
            process.execPath,
            [require.resolve("ts-node/dist/bin"), "--swc", path.join(__dirname, "agentProcess.ts"), JSON.stringify(config)],
            {
                stdio: ["ignore", "pipe", "pipe"],
            },
        );
        this.processes.set(config.region, child);
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += String(d)));
        createInterface({ input: child.stdout }).on("line", (line) => {
            try {
                const parsed = JSON.parse(line) as { lease?: LeaseTransition; event?: string; fields?: Record<string, unknown> };
                if (parsed.lease !== undefined) {
                    this.record(parsed.lease);
                } else if (parsed.event !== undefined) {
                    this.emit(parsed.event, parsed.fields ?? {});
                }
            } catch {
                this.emit("agent-error", { agent: config.region, error: `not a JSON line: ${line}` });
            }
        });
        const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
        let stopping = false;
        const stopChild = () => {
            if (stopping) {
                return;
            }
            stopping = true;
            child.kill("SIGCONT"); // a frozen process takes no SIGTERM until it runs again
            child.kill("SIGTERM");
            // One that does not stop within 5 s is killed.
            setTimeout(() => child.kill("SIGKILL"), 5000).unref();
        };
        // Never left behind, frozen, by a drill that ends any other way.
        const killOnExit = () => child.kill("SIGKILL");
        process.once("exit", killOnExit);
        void exited.then(() => process.removeListener("exit", killOnExit));
        signal.addEventListener("abort", stopChild, { once: true });
        return {
            done: exited.then(() => {
                if (child.exitCode !== 0 && child.exitCode !== null) {
                    this.emit("agent-error", {
                        agent: config.region,
                        error: `the agent's process exited ${child.exitCode}: ${stderr.trim()}`,
                    });
                }
            }),
            close: async () => {
                stopChild();
                await exited;
            },
        };
    }

    /** The agent-freeze fault: SIGSTOP to the primary's agent process (started with ownProcess). */
    freezePrimaryAgent(): void {
        this.signalPrimary("SIGSTOP");
    }

    resumePrimaryAgent(): void {
        this.signalPrimary("SIGCONT");
    }

    private signalPrimary(signal: NodeJS.Signals): void {
        const child = this.processes.get("primary");
        if (child === undefined) {
            throw new Error("the primary's agent does not run in a process of its own (startAgent with ownProcess)");
        }
        child.kill(signal);
    }

    /**
     * The agent-stop fault: the primary's agent stops (its database closes by itself). Resolves
     * once its run has ended: a renewal it had in flight has landed or failed by then, so the
     * drill's next step (the agent started again, say) never overlaps the stopped one.
     */
    async stopPrimaryAgent(): Promise<void> {
        this.primaryStop?.abort(new Error("the drill stopped the agent"));
        await this.primaryRun?.done;
    }

    async close(): Promise<void> {
        this.stops.forEach((s) => s.abort(new Error("the drill ended")));
        this.stopWitness();
        await Promise.all([...this.agents.map((a) => a.close()), this.witnessRun]);
        this.clients.forEach((c) => c.destroy());
        await Promise.all([this.agentPath?.close(), this.controllerPath?.close(), this.witnessPath?.close()]);
        if (this.server !== undefined) {
            this.server.close();
            await once(this.server, "close");
        }
    }
}
