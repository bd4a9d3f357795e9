/**
 * The database side of a failover on RDS MySQL: the standby writer (a cross-region read
 * replica in the controller's region) and the old writer in the failed region.
 *
 *   readLag         CloudWatch ReplicaLag (the maximum of the last minutes) of the standby
 *                   writer, after DescribeDBInstances says it is still a replica of the
 *                   expected source. No datapoint, a negative value (MySQL reports -1 when
 *                   replication is not running) or a replica of another source: unreadable.
 *   promote         PromoteReadReplica once (backups kept 14 days: the API's default is 1),
 *                   then report progress until DescribeDBInstances shows it `available` and no
 *                   longer a replica (minutes: a Lambda run may end first; the next run asks
 *                   again). InvalidDBInstanceState (a promotion or another change under way) is
 *                   progress, not failure. Writable only once its own parameter group has no
 *                   `read_only=1` left from an earlier fence (after a failback, this region's
 *                   group was the fenced one): it is reset to the engine default
 *                   ({TrueIfReplica}) first.
 *   fenceOldWriter  read_only=1 on the old writer's parameter group (dynamic, immediate): the
 *                   master user has no SUPER on RDS, so MySQL refuses its writes. A region that
 *                   does not answer is recorded, not an error: the failover goes on.
 */
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import {
    DescribeDBInstancesCommand,
    DescribeDBParametersCommand,
    type DBInstance,
    ModifyDBParameterGroupCommand,
    PromoteReadReplicaCommand,
    RDSClient,
    ResetDBParameterGroupCommand,
} from "@aws-sdk/client-rds";
import type { ActionContext, ActionResult, DatabaseAdapter, PromotionProgress, ReadinessCheck } from "../../core/ports";
import type { LagReading } from "../../core/state";
import { call, isUnreachable } from "./calls";

/** readLag outside a failover (readiness): it reads only. */
const READINESS_CONTEXT: Omit<ActionContext, "signal"> = {
    failover: { trigger: "manual", decidedAt: 0, from: "", to: "", completed: [] },
    attempt: 1,
};

export interface RdsDatabaseOptions {
    /** This region's standby writer (the cross-region replica). */
    readonly standbyIdentifier: string;
    /** The writer it must replicate from (an ARN in the writer region). */
    readonly expectedSourceArn: string;
    /** The old writer's identifier in the failed region. */
    readonly oldWriterIdentifier: string;
    /** Minutes of ReplicaLag to look at (the newest datapoint counts). @default 5 */
    readonly lagWindowMinutes?: number;
    readonly now?: () => number;
}

export class RdsDatabase implements DatabaseAdapter {
    constructor(
        private readonly rds: RDSClient,
        private readonly cloudwatch: CloudWatchClient,
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

    async readLag(context: ActionContext): Promise<LagReading> {
        const readAt = this.now();
        const { standbyIdentifier, expectedSourceArn } = this.options;
        const source = `CloudWatch ReplicaLag of ${standbyIdentifier}`;
        const instance = await this.describe(this.rds, standbyIdentifier, context.signal);
        const replicating = instance.ReadReplicaSourceDBInstanceIdentifier;
        if (replicating === undefined) {
            return {
                readAt,
                source,
                error: `${standbyIdentifier} is not a replica (already promoted?): its lag behind the old writer cannot be measured`,
            };
        }
        if (replicating !== expectedSourceArn) {
            return { readAt, source, error: `${standbyIdentifier} replicates from ${replicating}, not from ${expectedSourceArn}` };
        }
        const minutes = this.options.lagWindowMinutes ?? 5;
        const out = await call("cloudwatch:GetMetricData", `ReplicaLag ${standbyIdentifier}`, () =>
            this.cloudwatch.send(
                new GetMetricDataCommand({
                    StartTime: new Date(readAt - minutes * 60_000),
                    EndTime: new Date(readAt),
                    ScanBy: "TimestampDescending",
                    MetricDataQueries: [
                        {
                            Id: "lag",
                            MetricStat: {
                                Metric: {
                                    Namespace: "AWS/RDS",
                                    MetricName: "ReplicaLag",
                                    Dimensions: [{ Name: "DBInstanceIdentifier", Value: standbyIdentifier }],
                                },
                                Period: 60,
                                Stat: "Maximum",
                            },
                        },
                    ],
                }),
                { abortSignal: context.signal },
            ),
        );
        const values = out.MetricDataResults?.[0]?.Values ?? [];
        const stamps = out.MetricDataResults?.[0]?.Timestamps ?? [];
        if (values.length === 0) {
            return { readAt, source, error: `no ReplicaLag datapoint in the last ${minutes} minutes` };
        }
        const lag = values[0];
        const age = stamps[0] === undefined ? undefined : Math.max(0, Math.round((readAt - stamps[0].getTime()) / 1000));
        if (lag < 0) {
            return { readAt, source, error: `ReplicaLag ${lag}: replication is not running` };
        }
        // A lower bound: the newest datapoint is up to a minute or two old, and when the source has
        // just died the replica still counts itself connected (replica_net_timeout) and reports 0.
        // Adding the datapoint's age keeps the figure on the side of caution.
        return { seconds: lag + (age ?? 0), readAt, source: `${source} (${lag} s, datapoint ${age ?? "?"} s old; a lower bound)` };
    }

    async promote(context: ActionContext): Promise<PromotionProgress> {
        const { standbyIdentifier } = this.options;
        const instance = await this.describe(this.rds, standbyIdentifier, context.signal);
        const status = instance.DBInstanceStatus ?? "unknown";
        if (instance.ReadReplicaSourceDBInstanceIdentifier === undefined) {
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
    private async unfence(instance: DBInstance, signal: AbortSignal): Promise<string> {
        const group = instance.DBParameterGroups?.[0]?.DBParameterGroupName;
        if (group === undefined) {
            return "";
        }
        const out = await call("rds:DescribeDBParameters", group, () =>
            this.rds.send(new DescribeDBParametersCommand({ DBParameterGroupName: group, Source: "user" }), { abortSignal: signal }),
        );
        const fenced = (out.Parameters ?? []).some((p) => p.ParameterName === "read_only" && p.ParameterValue === "1");
        if (!fenced) {
            return "";
        }
        await call("rds:ResetDBParameterGroup", group, () =>
            this.rds.send(
                new ResetDBParameterGroupCommand({
                    DBParameterGroupName: group,
                    Parameters: [{ ParameterName: "read_only", ApplyMethod: "immediate" }],
                }),
                { abortSignal: signal },
            ),
        );
        return `; read_only=1 from an earlier fence reset on ${group}`;
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
                // The lag a failover would record now (read only).
                const lag = await this.readLag({ ...READINESS_CONTEXT, signal: AbortSignal.timeout(15_000) }).catch(
                    (err: Error): LagReading => ({ readAt: this.now(), source: "readiness", error: err.message }),
                );
                checks.push({
                    name: "replication lag",
                    ok: lag.seconds !== undefined,
                    detail: lag.seconds !== undefined ? `${lag.seconds} s (${lag.source})` : `unreadable: ${lag.error ?? "?"}`,
                });
            }
            return checks;
        } catch (err) {
            return [{ name: "standby writer", ok: false, detail: (err as Error).message }];
        }
    }
}
