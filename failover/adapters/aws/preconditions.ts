/**
 * What a failover needs that no single step owns, checked on every run (readiness) and by
 * `failover -- check --adapters aws`:
 *
 *   permissions   iam:SimulatePrincipalPolicy of the function's role, for every call a failover
 *                 makes, on the exact resource it makes it on (the endpoint groups, the standby
 *                 writer and its parameter group, the old writer and its group, the table, the
 *                 topic). The simulation includes permissions boundaries and (without global
 *                 conditions) Organizations SCPs, which a reading of the role's own policy would
 *                 miss; aws:RequestedRegion is given, and a decision that needs a context key only
 *                 a real request carries is reported as undetermined, not denied. One call per
 *                 resource: the IAM API reference (EvaluationResult) now describes one aggregate
 *                 result per action for several resources, and one resource per call keeps the
 *                 top-level decision exact either way.
 *   credentials   the applications' database secret exists in this region and, in the standby
 *                 region, is Secrets Manager's replica of the writer region's secret: after a
 *                 promotion the applications here read it, with the writer region gone.
 *
 * IAM's API is global (its control plane lives in us-east-1): when it does not answer, the
 * permissions check says so and counts as not ready; the failover itself never calls IAM.
 */
import { type DBInstance, DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { DescribeSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { ENDPOINT_CHECK_ACTIONS } from "../../../lib/accelerator";
import { GLOBAL_REGION } from "../../../lib/regions";
import type { ReadinessCheck, ReadinessSource } from "../../core/ports";
import type { LambdaConfig } from "../../lambda/config";
import { call } from "./calls";

/** Each AWS call of the readiness check (a Lambda invocation bounds the whole check as well). */
const SIMULATION_TIMEOUT_MS = 5000;

/** One API call a failover makes, and the resource it makes it on (`*` where the API has no resource-level permissions). */
export interface NeededCall {
    readonly action: string;
    readonly resource: string;
}

/** What the calls are made on, as discovered at run time. */
export interface FailoverResources {
    readonly listenerArn: string;
    readonly endpointGroupArns: readonly string[];
    /** The standby writer's parameter group (reset after a promotion). */
    readonly standbyParameterGroup?: string;
    /** The old writer's parameter group (the fence); unknown while its region does not answer. */
    readonly oldWriterParameterGroup?: string;
}

const ARN = /^arn:([^:]+):[^:]+:[^:]*:(\d{12}):/;

/** Partition and account of an ARN. */
export function arnParts(arn: string): { partition: string; accountId: string } {
    const m = ARN.exec(arn);
    if (!m) {
        throw new Error(`"${arn}" is not an ARN with an account (arn:<partition>:<service>:<region>:<account>:...)`);
    }
    return { partition: m[1], accountId: m[2] };
}

/**
 * Every call of a failover (components/failoverController.ts grants them; a test checks the
 * grant covers this list), on the exact resources.
 */
export function failoverCalls(cfg: LambdaConfig, r: FailoverResources): NeededCall[] {
    const { partition, accountId } = arnParts(cfg.roleArn);
    const rds = (region: string, resource: string) => `arn:${partition}:rds:${region}:${accountId}:${resource}`;
    const standby = rds(cfg.region, `db:${cfg.standbyIdentifier}`);
    const on = (resource: string, ...actions: string[]) => actions.map((action) => ({ action, resource }));
    return [
        ...on(
            `arn:${partition}:dynamodb:${cfg.region}:${accountId}:table/${cfg.table}`,
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        ),
        ...on(cfg.topicArn, "sns:Publish", "sns:GetTopicAttributes"),
        // The writer lease (read, taken) and the witness's post beside it.
        ...on(
            `arn:${partition}:dynamodb:${cfg.leaseRegion}:${accountId}:table/${cfg.leaseTable}`,
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
        ),
        ...on(r.listenerArn, "globalaccelerator:ListEndpointGroups"),
        ...r.endpointGroupArns.flatMap((group) =>
            on(
                group,
                "globalaccelerator:DescribeEndpointGroup",
                "globalaccelerator:UpdateEndpointGroup",
                "globalaccelerator:AddEndpoints",
                "globalaccelerator:RemoveEndpoints",
            ),
        ),
        ...on("*", ...ENDPOINT_CHECK_ACTIONS),
        // The replica reader beside the standby's database (the loss window).
        ...on(`arn:${partition}:lambda:${cfg.region}:${accountId}:function:${cfg.replicaReaderFunction}`, "lambda:InvokeFunction"),
        ...on(standby, "rds:DescribeDBInstances", "rds:PromoteReadReplica"),
        ...(r.standbyParameterGroup === undefined
            ? []
            : on(rds(cfg.region, `pg:${r.standbyParameterGroup}`), "rds:DescribeDBParameters", "rds:ResetDBParameterGroup")),
        ...on(cfg.expectedSourceArn, "rds:DescribeDBInstances"),
        ...(r.oldWriterParameterGroup === undefined
            ? []
            : on(
                  rds(cfg.writerRegion, `pg:${r.oldWriterParameterGroup}`),
                  "rds:ModifyDBParameterGroup",
                  // An abort undoes the fence.
                  "rds:DescribeDBParameters",
                  "rds:ResetDBParameterGroup",
              )),
    ];
}

export interface PreconditionClients {
    readonly iam: IAMClient;
    readonly secrets: SecretsManagerClient;
    /** RDS here (the standby writer) and in the writer region (the old writer). */
    readonly rds: RDSClient;
    readonly writerRegionRds: RDSClient;
}

export class AwsPreconditions implements ReadinessSource {
    constructor(
        private readonly clients: PreconditionClients,
        private readonly cfg: LambdaConfig,
        /** The listener and its endpoint groups, discovered when first needed (us-west-2's control plane). */
        private readonly discovered: () => Promise<Pick<FailoverResources, "listenerArn" | "endpointGroupArns">>,
    ) {}

    async readiness(): Promise<ReadinessCheck[]> {
        return Promise.all([this.permissions(), this.credentials()]);
    }

    /** The region a call on `resource` is made in (Global Accelerator's API answers in us-west-2 only). */
    private regionOf(resource: string): string {
        const region = resource.split(":")[3];
        return resource === "*" ? this.cfg.region : region === "" || region === undefined ? GLOBAL_REGION : region;
    }

    private async parameterGroup(client: RDSClient, identifier: string): Promise<string | undefined> {
        const out = await call("rds:DescribeDBInstances", identifier, () =>
            client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }), {
                abortSignal: AbortSignal.timeout(SIMULATION_TIMEOUT_MS),
            }),
        );
        const instance: DBInstance | undefined = out.DBInstances?.[0];
        return instance?.DBParameterGroups?.[0]?.DBParameterGroupName;
    }

    async permissions(): Promise<ReadinessCheck> {
        const name = "permissions";
        const notes: string[] = [];
        const group = (client: RDSClient, identifier: string, what: string) =>
            this.parameterGroup(client, identifier).catch((err: Error) => {
                notes.push(`${what}'s parameter group unknown (${err.message}): its calls not simulated`);
                return undefined;
            });
        const [standbyParameterGroup, oldWriterParameterGroup] = await Promise.all([
            group(this.clients.rds, this.cfg.standbyIdentifier, "the standby writer"),
            group(this.clients.writerRegionRds, this.cfg.oldWriterIdentifier, "the old writer"),
        ]);
        let calls: NeededCall[];
        try {
            calls = failoverCalls(this.cfg, { ...(await this.discovered()), standbyParameterGroup, oldWriterParameterGroup });
        } catch (err) {
            return { name, ok: false, detail: (err as Error).message };
        }
        const byResource = new Map<string, string[]>();
        for (const c of calls) {
            byResource.set(c.resource, [...(byResource.get(c.resource) ?? []), c.action]);
        }
        const denied: string[] = [];
        const undetermined: string[] = [];
        try {
            // In parallel, each bounded: readiness must never hold up the watch.
            await Promise.all(
                [...byResource].map(async ([resource, actions]) => {
                    const out = await call("iam:SimulatePrincipalPolicy", this.cfg.roleArn, () =>
                        this.clients.iam.send(
                            new SimulatePrincipalPolicyCommand({
                                PolicySourceArn: this.cfg.roleArn,
                                ActionNames: actions,
                                ...(resource === "*" ? {} : { ResourceArns: [resource] }),
                                // The simulator does not fill in aws:RequestedRegion: a region-locking SCP or
                                // boundary would deny every call without it (aws/aws-sdk#102).
                                ContextEntries: [
                                    {
                                        ContextKeyName: "aws:RequestedRegion",
                                        ContextKeyType: "string",
                                        ContextKeyValues: [this.regionOf(resource)],
                                    },
                                ],
                            }),
                            { abortSignal: AbortSignal.timeout(SIMULATION_TIMEOUT_MS) },
                        ),
                    );
                    const results = new Map((out.EvaluationResults ?? []).map((e) => [e.EvalActionName, e]));
                    for (const action of actions) {
                        const result = results.get(action);
                        const missing = result?.MissingContextValues ?? [];
                        if (result?.EvalDecision === "allowed") {
                            continue;
                        }
                        if (missing.length > 0) {
                            // A condition on a key only the real request carries: the simulator cannot tell.
                            undetermined.push(`${action} on ${resource} (needs ${missing.join(", ")})`);
                        } else {
                            denied.push(`${action} on ${resource} (${result?.EvalDecision ?? "not evaluated"})`);
                        }
                    }
                }),
            );
        } catch (err) {
            return { name, ok: false, detail: `could not simulate the role's policies: ${(err as Error).message}` };
        }
        if (undetermined.length > 0) {
            notes.push(`undetermined by the simulator: ${undetermined.join(", ")}`);
        }
        const extra = notes.length > 0 ? `; ${notes.join("; ")}` : "";
        return denied.length > 0
            ? { name, ok: false, detail: `${this.cfg.roleArn} may not: ${denied.join(", ")}${extra}` }
            : { name, ok: true, detail: `${calls.length} calls on ${byResource.size} resources allowed for ${this.cfg.roleArn}${extra}` };
    }

    async credentials(): Promise<ReadinessCheck> {
        const name = "database credentials";
        const { credentialsSecret, region, writerRegion } = this.cfg;
        try {
            const out = await call("secretsmanager:DescribeSecret", credentialsSecret, () =>
                this.clients.secrets.send(new DescribeSecretCommand({ SecretId: credentialsSecret }), {
                    abortSignal: AbortSignal.timeout(SIMULATION_TIMEOUT_MS),
                }),
            );
            if (out.DeletedDate !== undefined) {
                return {
                    name,
                    ok: false,
                    detail: `${credentialsSecret} in ${region} is scheduled for deletion (${out.DeletedDate.toISOString()})`,
                };
            }
            // A replica reports its primary's region; the writer region's own secret reports none or its own.
            const primary = out.PrimaryRegion ?? region;
            if (primary !== writerRegion) {
                return {
                    name,
                    ok: false,
                    detail: `${credentialsSecret} in ${region} is not the writer region's secret (its primary is ${primary}, expected ${writerRegion})`,
                };
            }
            return { name, ok: true, detail: `${credentialsSecret} in ${region}: replica of ${writerRegion}'s secret` };
        } catch (err) {
            return { name, ok: false, detail: (err as Error).message };
        }
    }
}
