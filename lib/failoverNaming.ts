/**
 * Names and sizes of the deployed failover controller that more than the component needs
 * (the deploy preflight checks the account can hold them). Pure.
 */
import { GLOBAL_REGION } from "./regions";

/** The controller's function, topic, schedule and schedule group name: `<project>-failover`. */
export function failoverName(project: string): string {
    return `${project}-failover`;
}

/** One invocation at a time (the DynamoDB lease guards too). */
export const FAILOVER_RESERVED_CONCURRENCY = 1;

/**
 * The unreserved concurrency Lambda keeps for functions without a reservation: 100, or the
 * whole quota of an account whose quota is below 100 (new accounts start at 10 or 50, and
 * then no function may reserve anything). "You can reserve up to the Unreserved account
 * concurrency value minus 100" (Lambda developer guide, configuration-concurrency); the API's
 * refusal names the minimum: "decreases account's UnreservedConcurrentExecution below its
 * minimum value of [10]".
 */
export function minimumUnreservedConcurrency(accountQuota: number): number {
    return Math.min(100, accountQuota);
}

/**
 * The writer lease's table (failover/core/writerLease.ts): a DynamoDB global table with
 * multi-Region strong consistency (MRSC), created by the global stack in us-west-2 with a
 * replica in us-east-2 and a witness in us-east-1. MRSC needs exactly three Regions of one
 * Region set; the US set is us-east-1, us-east-2 and us-west-2 (us-west-1 is not in it), and
 * losing any one Region leaves the table writable ("Multi-Region strong consistency", DynamoDB
 * developer guide, V2globaltables_HowItWorks). So a writer in us-east-2 renews in its own
 * Region, the standby in us-west-1 reaches the us-west-2 replica, and a us-west-2 outage never
 * fences a healthy writer in us-east-2.
 */
export const LEASE_HOME_REGION = GLOBAL_REGION;
export const LEASE_REPLICA_REGION = "us-east-2";
export const LEASE_WITNESS_REGION = "us-east-1";
/** The US Region set of MRSC tables. */
export const MRSC_US_REGIONS: readonly string[] = ["us-east-1", "us-east-2", "us-west-2"];

export function leaseTableName(project: string): string {
    return `${project}-writer-lease`;
}

/** Where a site reaches the lease: its own region when it holds a replica, else the home region. */
export function leaseStoreRegion(siteRegion: string): string {
    return siteRegion === LEASE_REPLICA_REGION ? LEASE_REPLICA_REGION : LEASE_HOME_REGION;
}

/** The lease table's ARN in `region` (a replica has the same name in every region). */
export function leaseTableArn(partition: string, accountId: string, region: string, project: string): string {
    return `arn:${partition}:dynamodb:${region}:${accountId}:table/${leaseTableName(project)}`;
}

/** The writer agent's and the witness's function names. */
export function writerAgentName(project: string): string {
    return `${project}-writer-agent`;
}
export function witnessName(project: string): string {
    return `${project}-witness`;
}

/** The application's database account, the one the writer lease's fence locks out (at most 16 characters: failover/agent/fence.ts). */
export const APP_DB_USER = "shop_app";

/** The replica reader's function name: beside each site's database, it reads the standby's replica for the loss window. */
export function replicaReaderName(project: string): string {
    return `${project}-replica-reader`;
}

/** Each deployed function's handler in the one bundle (failover/lambda/index.ts). */
export const LAMBDA_HANDLER = "index.handler";
export const AGENT_HANDLER = "index.agentHandler";
export const WITNESS_HANDLER = "index.witnessHandler";
export const REPLICA_READER_HANDLER = "index.replicaHandler";
