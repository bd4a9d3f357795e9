/**
 * An in-memory world for the failover controller's property tests: scripted probes, a clock
 * that advances only when the controller sleeps, and adapters that record every call and
 * fail when told to. Real servers are used elsewhere (failoverCli.test.ts); this world makes
 * thousands of runs cheap.
 */
import type { Clock, ControllerOptions, Emit } from "../../failover/controller";
import type {
    ActionContext,
    ActionResult,
    Adapters,
    FailoverReport,
    Lease,
    PromotionProgress,
    ReadinessCheck,
    WriterLeaseStore,
} from "../../failover/core/ports";
import { LeaseChangedError, LockHeldError, type RenewalAnchor } from "../../failover/core/ports";
import { DEFAULT_LEASE_TIMING, type WriterLeaseRecord } from "../../failover/core/writerLease";
import type { ControllerState, StepName } from "../../failover/core/state";
import type { ReplicaEvidence } from "../../failover/core/lossWindow";
import type { LambdaConfig } from "../../failover/lambda/config";
import type { Probe, ProbeResult } from "../../failover/probes/http";

export class FakeClock implements Clock {
    constructor(public t = 1_000_000) {}
    now(): number {
        return this.t;
    }
    async sleep(ms: number, signal: AbortSignal): Promise<void> {
        signal.throwIfAborted();
        this.t += Math.max(0, ms);
        await Promise.resolve();
    }
}

/**
 * One healthy probe that records when each round started (the clock's time at its check), and
 * may act on the clock during a round (`during(round)`, 1-based): a stall, a slow answer.
 */
export function recordingProbe(clock: FakeClock, starts: number[], during?: (round: number) => void): Probe {
    return {
        name: "p",
        target: "scripted://p",
        check: (): Promise<ProbeResult> => {
            starts.push(clock.now());
            during?.(starts.length);
            return Promise.resolve({ name: "p", target: "scripted://p", ok: true, latencyMs: 1 });
        },
    };
}

/** Probes whose round-by-round results come from a script: `failures[round]` of them fail. */
export function scriptedProbes(count: number, failuresPerRound: readonly number[], clock: FakeClock, roundMs = 5): Probe[] {
    let calls = 0;
    return Array.from({ length: count }, (_, i) => ({
        name: `p${i}`,
        target: `scripted://p${i}`,
        check: (): Promise<ProbeResult> => {
            const round = Math.floor(calls / count);
            calls += 1;
            const failures = failuresPerRound[round] ?? 0;
            if (i === count - 1) {
                clock.t += roundMs;
            }
            return Promise.resolve({ name: `p${i}`, target: `scripted://p${i}`, ok: i >= failures, latencyMs: roundMs });
        },
    }));
}

export class InjectedFault extends Error {}

/** Every action call, in order, with whether it succeeded. */
export interface Call {
    readonly step: StepName;
    readonly ok: boolean;
}

export class MemoryWorld {
    state: ControllerState | undefined;
    readonly calls: Call[] = [];
    held = false;
    /** Abort it to take the lease away from the running controller. */
    lease = new AbortController();
    /** The loss window's width the replica shows (undefined: it cannot be read). */
    lagSeconds: number | undefined = 0;
    /** The standby replicates the expected writer. */
    replicates = true;
    /** The newest heartbeat the replica applied, at each read (a switchover waits for the final one). */
    beatAt: () => number = () => 1000;
    /** How often the replica was read (assessments, readiness). */
    replicaReads = 0;
    /** Decides whether the next call of a step fails (for fault injection). */
    failNext: (step: StepName) => boolean = () => false;
    /** The promoted writer accepts writes from this promote call on (1: at once; Infinity: never). */
    writableFromCall = 1;
    /** Called after each successful action (to take the lease away mid-failover, say). */
    afterAction: (step: StepName) => void = () => undefined;

    private act(step: StepName, detail?: string): Promise<ActionResult> {
        if (this.failNext(step)) {
            this.calls.push({ step, ok: false });
            return Promise.reject(new InjectedFault(`injected failure of ${step}`));
        }
        this.calls.push({ step, ok: true });
        this.afterAction(step);
        return Promise.resolve({ detail });
    }

    successes(step: StepName): number {
        return this.calls.filter((c) => c.step === step && c.ok).length;
    }

    adapters(): Adapters {
        const ready = (): Promise<ReadinessCheck[]> => Promise.resolve([]);
        return {
            traffic: {
                fence: () => this.act("fence"),
                moveTo: () => this.act("move-traffic"),
                readiness: ready,
            },
            database: {
                fenceOldWriter: () => Promise.resolve({}),
                unfenceOldWriter: () => Promise.resolve({ detail: "unfenced" }),
                // The window this world vouches for: `lagSeconds` of writes (no lease needed).
                readReplica: (): Promise<ReplicaEvidence> => {
                    this.replicaReads += 1;
                    return Promise.resolve(
                        this.lagSeconds === undefined
                            ? {
                                  readAt: 0,
                                  source: "memory",
                                  replicatesExpected: true,
                                  replication: "memory",
                                  appliedAll: false,
                                  error: "unreadable",
                              }
                            : {
                                  readAt: 0,
                                  source: "memory",
                                  replicatesExpected: this.replicates,
                                  replication: this.replicates ? "a replica of the writer" : "a replica of another writer",
                                  appliedAll: true,
                                  lastBeatAt: this.beatAt(),
                                  stoppedBy: 1000 + this.lagSeconds,
                              },
                    );
                },
                promote: async (_c: ActionContext): Promise<PromotionProgress> => {
                    const result = await this.act("promote");
                    return { writable: this.successes("promote") >= this.writableFromCall, ...result };
                },
                readiness: ready,
            },
            notifier: { notify: (_r: FailoverReport) => this.act("notify"), readiness: ready },
            store: {
                location: "memory",
                load: () => Promise.resolve(this.state === undefined ? undefined : structuredClone(this.state)),
                save: (s) => {
                    this.state = structuredClone(s);
                    return Promise.resolve();
                },
                readiness: ready,
            },
            lock: {
                acquire: (): Promise<Lease> => {
                    if (this.held) {
                        return Promise.reject(new LockHeldError("memory lock held"));
                    }
                    this.held = true;
                    return Promise.resolve({
                        lost: this.lease.signal,
                        assertHeld: () => this.lease.signal.throwIfAborted(),
                        release: () => {
                            this.held = false;
                            return Promise.resolve();
                        },
                    });
                },
                readiness: ready,
            },
        };
    }
}

export const silent: Emit = () => undefined;

export function options(overrides: Partial<ControllerOptions> = {}): ControllerOptions {
    return {
        roles: { region: "dr", writerRegion: "primary" },
        thresholds: { maxFail: 3, quorum: 1 },
        intervalMs: 10,
        timeoutMs: 5,
        lagWaitMs: 0,
        retries: 0,
        retryDelayMs: 0,
        promoteTimeoutMs: 1000,
        dryRun: false,
        ...overrides,
    };
}

/** The deployed controller's configuration as dr's stack writes it (failover/lambda/config.ts), with overrides. */
export function lambdaConfig(overrides: Partial<LambdaConfig> = {}): LambdaConfig {
    return {
        region: "us-west-1",
        writerRegion: "us-east-2",
        roleArn: "arn:aws:iam::123456789012:role/failover-role-1a2b3c4",
        table: "ecommerce-failover-us-west-1",
        topicArn: "arn:aws:sns:us-west-1:123456789012:ecommerce-failover",
        listenerArn: "arn:aws:globalaccelerator::123456789012:accelerator/0f0e0d0c-0b0a-4909-8807-060504030201/listener/abcdefgh",
        leaseTable: "ecommerce-writer-lease",
        leaseRegion: "us-west-2",
        witnessMaxAgeSeconds: 30,
        leaseTiming: DEFAULT_LEASE_TIMING,
        loadBalancerArn: "arn:aws:elasticloadbalancing:us-west-1:123456789012:loadbalancer/app/web-alb/1",
        standbyIdentifier: "ecommerce-mysql-us-west-1",
        expectedSourceArn: "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2",
        oldWriterIdentifier: "ecommerce-mysql-us-east-2",
        replicaReaderFunction: "ecommerce-replica-reader",
        credentialsSecret: "ecommerce/us-east-2/mysql-master",
        httpProbes: [
            { name: "writer-origin", url: "https://origin-us-east-2.shop.acme-retail.com/api/health" },
            { name: "public-name", url: "https://shop.acme-retail.com/api/health" },
        ],
        intervalSeconds: 10,
        maxFail: 3,
        quorum: 2,
        timeoutSeconds: 5,
        maxLagSeconds: 60,
        lagWaitSeconds: 30,
        leaseSeconds: 30,
        recoveryBlockSeconds: 3600,
        ...overrides,
    };
}

/**
 * A writer lease in memory (the DynamoDB store's conditional writes, without the network): held
 * by `holder`; while `renewing`, every read shows a new version (its holder renews between any
 * two reads); `unreadable` makes reads fail.
 */
export class MemoryWriterLease implements WriterLeaseStore {
    readonly location = "memory://writer-lease";
    record: WriterLeaseRecord | undefined;
    renewing = false;
    unreadable = false;
    readonly takes: WriterLeaseRecord[] = [];
    private versions = 0;

    constructor(holder = "primary") {
        this.record = { holder, epoch: 1, version: "v0", leaseMs: 30_000, renewedAt: 0 };
    }

    read(): Promise<WriterLeaseRecord | undefined> {
        if (this.unreadable) {
            return Promise.reject(new Error("the lease store does not answer"));
        }
        if (this.renewing && this.record !== undefined) {
            this.record = { ...this.record, version: `v${++this.versions}` };
        }
        return Promise.resolve(this.record && { ...this.record });
    }

    establish(holder: string, leaseMs: number): Promise<WriterLeaseRecord> {
        if (this.record !== undefined) {
            return Promise.reject(new LeaseChangedError("a lease exists"));
        }
        this.record = { holder, epoch: 1, version: `v${++this.versions}`, leaseMs, renewedAt: 0 };
        return Promise.resolve({ ...this.record });
    }

    renew(holder: string, epoch: number, leaseMs: number, _signal?: AbortSignal, anchor?: RenewalAnchor): Promise<WriterLeaseRecord> {
        if (this.record?.holder !== holder || this.record.epoch !== epoch || this.record.handover !== undefined) {
            return Promise.reject(new LeaseChangedError("not the holder, or handing over", { found: this.record }));
        }
        const anchored = anchor !== "unanchored";
        const deadline = anchor !== undefined && anchor !== "unanchored" ? anchor.deadline : undefined;
        this.record = {
            ...this.record,
            version: `v${++this.versions}`,
            leaseMs,
            ...(anchored ? { anchoredAt: this.versions } : {}),
            ...(deadline !== undefined ? { deadline } : {}),
        };
        return Promise.resolve({ ...this.record });
    }

    take(holder: string, seen: WriterLeaseRecord, leaseMs: number): Promise<WriterLeaseRecord> {
        if (this.record?.version !== seen.version) {
            return Promise.reject(new LeaseChangedError(`the lease changed (now ${this.record?.version})`));
        }
        this.record = { holder, epoch: seen.epoch + 1, version: `v${++this.versions}`, leaseMs, renewedAt: 0 };
        this.takes.push({ ...this.record });
        return Promise.resolve({ ...this.record });
    }

    requestHandover(holder: string, epoch: number, to: string): Promise<WriterLeaseRecord> {
        if (this.record?.holder !== holder || this.record.epoch !== epoch || this.record.handover !== undefined) {
            return Promise.reject(new LeaseChangedError("not the holder, or handing over", { found: this.record }));
        }
        this.record = { ...this.record, version: `v${++this.versions}`, handover: { to, requestedAt: 0 } };
        return Promise.resolve({ ...this.record });
    }

    publishHandover(
        holder: string,
        epoch: number,
        published: Parameters<WriterLeaseStore["publishHandover"]>[2],
    ): Promise<WriterLeaseRecord> {
        const h = this.record?.handover;
        if (this.record?.holder !== holder || this.record.epoch !== epoch || h === undefined || h.finalBeatAt !== undefined) {
            return Promise.reject(new LeaseChangedError("no handover to publish", { found: this.record }));
        }
        this.record = { ...this.record, version: `v${++this.versions}`, handover: { ...h, ...published } };
        return Promise.resolve({ ...this.record });
    }

    withdrawHandover(holder: string, epoch: number): Promise<WriterLeaseRecord> {
        if (this.record?.holder !== holder || this.record.epoch !== epoch || this.record.handover === undefined) {
            return Promise.reject(new LeaseChangedError("no handover to withdraw", { found: this.record }));
        }
        const { handover: _h, ...rest } = this.record;
        this.record = { ...rest, epoch: epoch + 1, version: `v${++this.versions}` };
        return Promise.resolve({ ...this.record });
    }

    handBack(holder: string, epoch: number, to: string, leaseMs: number): Promise<WriterLeaseRecord> {
        if (this.record?.holder !== holder || this.record.epoch !== epoch) {
            return Promise.reject(new LeaseChangedError("not the holder"));
        }
        this.record = { holder: to, epoch: epoch + 1, version: `v${++this.versions}`, leaseMs, renewedAt: 0 };
        return Promise.resolve({ ...this.record });
    }

    readiness(): Promise<ReadinessCheck[]> {
        return Promise.resolve([]);
    }
}
