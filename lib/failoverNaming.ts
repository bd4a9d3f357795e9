/**
 * Names and sizes of the deployed failover controller that more than the component needs
 * (the deploy preflight checks the account can hold them). Pure.
 */

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
