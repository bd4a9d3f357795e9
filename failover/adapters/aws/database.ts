/**
 * The database side of a failover on RDS MySQL: the standby writer (a cross-region read
 * replica in the controller's region) and the old writer in the failed region.
 *
 *   readReplica     DescribeDBInstances: the standby is still a replica of the expected source
 *                   (the first precondition); then the replica reader, a VPC function beside it
 *                   (failover/lambda/replicaHandler.ts: the controller runs outside the VPC and
 *                   cannot speak SQL to it), waits until the replica applied what it received and
 *                   reads the old writer's newest heartbeat it applied: the loss window's lower
 *                   end (failover/core/lossWindow.ts). CloudWatch ReplicaLag is not used: it is
 *                   Seconds_Behind_Source, blind to what the source committed but never shipped.
 *   promote         PromoteReadReplica once (backups kept 14 days: the API's default is 1),
 *                   then report progress until DescribeDBInstances shows it `available` and no
 *                   longer a replica (minutes: a Lambda run may end first; the next run asks
 *                   again). InvalidDBInstanceState (a promotion or another change under way) is
 *                   progress, not failure. A standby found standalone counts as promoted only
 *                   when this failover recorded its promotion request; otherwise it is refused
 *                   (a writer promoted by someone else, or long ago). Writable only once its own
 *                   parameter group has no `read_only=1` left from an earlier fence (after a
 *                   failback, this region's group was the fenced one): it is reset to the
 *                   engine default ({TrueIfReplica}) first.
 *   fenceOldWriter  read_only=1 on the old writer's parameter group (dynamic, immediate): the
 *                   master user has no SUPER on RDS, so MySQL refuses its writes. A region that
 *                   does not answer is recorded, not an error: the failover goes on.
 *   unfenceOldWriter  (an abort) the same parameter reset to the engine default.
 */
import {
    DescribeDBInstancesCommand,
    DescribeDBParametersCommand,
    type DBInstance,
    ModifyDBParameterGroupCommand,
    PromoteReadReplicaCommand,
    RDSClient,
    ResetDBParameterGroupCommand,
} from "@aws-sdk/client-rds";
import type { ReplicaEvidence } from "../../core/lossWindow";
import type { ActionContext, ActionResult, DatabaseAdapter, PromotionProgress, ReadinessCheck } from "../../core/ports";
import { call, isUnreachable } from "./calls";

/** What the replica reader (a function in the standby's VPC) read on the standby's replica. */
export interface ReplicaReading {
    readonly appliedAll: boolean;
    /** It commits in the writer's order (the window's lower end needs it). */
    readonly appliesInOrder?: boolean;
    /** The old writer's newest heartbeat applied: Unix seconds on its clock. */
    readonly lastBeatAt?: number;
    /** Its replication threads and positions, for people. */
    readonly detail: string;
}

export interface ReplicaReader {
    /** Where it reads, for people. */
    readonly location: string;
    read(waitMs: number, signal: AbortSignal): Promise<ReplicaReading>;
}

export interface RdsDatabaseOptions {
    /** This region's standby writer (the cross-region replica). */
    readonly standbyIdentifier: string;
    /** The writer it must replicate from (an ARN in the writer region). */
    readonly expectedSourceArn: string;
    /** The old writer's identifier in the failed region. */
    readonly oldWriterIdentifier: string;
    /** The function that reads the standby's replica over SQL, in its VPC. */
    readonly replicaReader: ReplicaReader;
    readonly now?: () => number;
}

export class RdsDatabase implements DatabaseAdapter {
    constructor(
        private readonly rds: RDSClient,
        /** An RDS client in the failed region (for the fence). */
        private readonly oldRegionRds: RDSClient,
        private readonly options: RdsDatabaseOptions,
    ) {}

    private now(): number {
        return (this.options.now ?? Date.now)();
    }

    private async describe(client: RDSClient, identifier: string, signal: AbortSignal): Promise<DBInstance> {
        const out = await call("rds:DescribeDBInstances", identifier, () =>
            client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }), { abortSignal: signal }),
        );
        const instance = out.DBInstances?.[0];
        if (instance === undefined) {
            throw new Error(`rds:DescribeDBInstances ${identifier}: no such instance`);
        }
        return instance;
    }

    async readReplica(context: Pick<ActionContext, "signal">, waitMs: number): Promise<ReplicaEvidence> {
        const readAt = this.now();
        const { standbyIdentifier, expectedSourceArn, replicaReader } = this.options;
        const source = `${standbyIdentifier}, read by ${replicaReader.location}`;
        const unread = (replication: string, error: string): ReplicaEvidence => ({
            readAt,
            source,
            replicatesExpected: false,
            replication,
            appliedAll: false,
            error,
        });
        let instance: DBInstance;
        try {
            instance = await this.describe(this.rds, standbyIdentifier, context.signal);
        } catch (err) {
            return unread("unknown", (err as Error).message);
        }
        const replicating = instance.ReadReplicaSourceDBInstanceIdentifier;
        const replicatesExpected = replicating === expectedSourceArn;
        const replication =
            replicating === undefined
                ? `${standbyIdentifier} is not a replica (promoted?)`
                : `${standbyIdentifier} replicates from ${replicating}${replicatesExpected ? "" : ` (expected ${expectedSourceArn})`}, status ${instance.DBInstanceStatus}`;
        if (replicating === undefined) {
            return unread(replication, `${standbyIdentifier} is not a replica: what it lacks of the old writer cannot be measured`);
        }
        try {
            const reading = await replicaReader.read(waitMs, context.signal);
            return {
                readAt,
                source,
                replicatesExpected,
                replication: `${replication}; ${reading.detail}`,
                appliedAll: reading.appliedAll,
                ...(reading.appliesInOrder !== undefined ? { appliesInOrder: reading.appliesInOrder } : {}),
                ...(reading.lastBeatAt !== undefined ? { lastBeatAt: reading.lastBeatAt } : {}),
            };
        } catch (err) {
            return { ...unread(replication, `${replicaReader.location}: ${(err as Error).message}`), replicatesExpected };
        }
    }

    async promote(context: ActionContext): Promise<PromotionProgress> {
        const { standbyIdentifier } = this.options;
        const instance = await this.describe(this.rds, standbyIdentifier, context.signal);
        const status = instance.DBInstanceStatus ?? "unknown";
        if (instance.ReadReplicaSourceDBInstanceIdentifier === undefined) {
            if (context.failover.promotionRequestedAt === undefined) {
                throw new Error(
                    `${standbyIdentifier} is a standalone writer, and this failover never asked to promote it: it may be a writer of another time (or promoted by someone else); rebuild it as a replica of the writer`,
                );
            }
            if (status !== "available") {
                return { writable: false, detail: `${standbyIdentifier} is promoted, status ${status}` };
            }
            const unfenced = await this.unfence(instance, context.signal);
            return { writable: true, detail: `${standbyIdentifier} is a standalone writer (available)${unfenced}` };
        }
        if (status !== "available") {
            return { writable: false, detail: `${standbyIdentifier} is still a replica, status ${status}` };
        }
        try {
            await call("rds:PromoteReadReplica", standbyIdentifier, () =>
                this.rds.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: standbyIdentifier, BackupRetentionPeriod: 14 }), {
                    abortSignal: context.signal,
                }),
            );
        } catch (err) {
            const code = (err as { code?: string }).code;
            // The API says InvalidDBInstanceState; SDK v3 names the exception InvalidDBInstanceStateFault.
            if (code === "InvalidDBInstanceState" || code === "InvalidDBInstanceStateFault") {
                return {
                    writable: false,
                    detail: `${standbyIdentifier}: a promotion or another change is under way (InvalidDBInstanceState)`,
                };
            }
            throw err;
        }
        return { writable: false, detail: `${standbyIdentifier}: PromoteReadReplica started` };
    }

    /** Resets a `read_only=1` an earlier fence left on this writer's parameter group. */
    private async unfence(instance: DBInstance, signal: AbortSignal, rds: RDSClient = this.rds): Promise<string> {
        const group = instance.DBParameterGroups?.[0]?.DBParameterGroupName;
        if (group === undefined) {
            return "";
        }
        const out = await call("rds:DescribeDBParameters", group, () =>
            rds.send(new DescribeDBParametersCommand({ DBParameterGroupName: group, Source: "user" }), { abortSignal: signal }),
        );
        const fenced = (out.Parameters ?? []).some((p) => p.ParameterName === "read_only" && p.ParameterValue === "1");
        if (!fenced) {
            return "";
        }
        await call("rds:ResetDBParameterGroup", group, () =>
            rds.send(
                new ResetDBParameterGroupCommand({
                    DBParameterGroupName: group,
                    Parameters: [{ ParameterName: "read_only", ApplyMethod: "immediate" }],
                }),
                { abortSignal: signal },
            ),
        );
        return `; read_only=1 from an earlier fence reset on ${group}`;
    }

    async unfenceOldWriter(region: string, context: ActionContext): Promise<ActionResult> {
        const { oldWriterIdentifier } = this.options;
        const instance = await this.describe(this.oldRegionRds, oldWriterIdentifier, context.signal);
        const reset = await this.unfence(instance, context.signal, this.oldRegionRds);
        return {
            detail: `${oldWriterIdentifier} in ${region}: ${reset === "" ? "no read_only=1 on its parameter group" : reset.slice(2)}`,
        };
    }

    async fenceOldWriter(region: string, context: ActionContext): Promise<ActionResult> {
        const { oldWriterIdentifier } = this.options;
        try {
            const instance = await this.describe(this.oldRegionRds, oldWriterIdentifier, context.signal);
            const group = instance.DBParameterGroups?.[0]?.DBParameterGroupName;
            if (group === undefined) {
                return { detail: `${oldWriterIdentifier} in ${region} has no parameter group to set read_only on: not fenced` };
            }
            await call("rds:ModifyDBParameterGroup", group, () =>
                this.oldRegionRds.send(
                    new ModifyDBParameterGroupCommand({
                        DBParameterGroupName: group,
                        Parameters: [{ ParameterName: "read_only", ParameterValue: "1", ApplyMethod: "immediate" }],
                    }),
                    { abortSignal: context.signal },
                ),
            );
            return { detail: `${oldWriterIdentifier} in ${region}: read_only=1 on ${group} (its writes are refused)` };
        } catch (err) {
            if (isUnreachable(err)) {
                return {
                    detail: `${oldWriterIdentifier} in ${region} did not answer (${(err as Error).message}): NOT fenced; fence it when the region is back`,
                };
            }
            throw err;
        }
    }

    async readiness(): Promise<ReadinessCheck[]> {
        const { standbyIdentifier, expectedSourceArn } = this.options;
        try {
            const instance = await this.describe(this.rds, standbyIdentifier, AbortSignal.timeout(15_000));
            const source = instance.ReadReplicaSourceDBInstanceIdentifier;
            const ok = source === expectedSourceArn && instance.DBInstanceStatus === "available";
            const checks: ReadinessCheck[] = [
                {
                    name: "standby writer",
                    ok,
                    detail: `${standbyIdentifier}: status ${instance.DBInstanceStatus}, replicates from ${source ?? "nothing"} (expected ${expectedSourceArn})`,
                },
            ];
            if (ok) {
                // What an assessment would read now (read only).
                const r = await this.readReplica({ signal: AbortSignal.timeout(15_000) }, 0);
                checks.push({
                    name: "replica reader",
                    ok: r.error === undefined && r.lastBeatAt !== undefined,
                    detail: r.error ?? (r.lastBeatAt === undefined ? "no heartbeat of the writer on the replica yet" : r.replication),
                });
            }
            return checks;
        } catch (err) {
            return [{ name: "standby writer", ok: false, detail: (err as Error).message }];
        }
    }
}
