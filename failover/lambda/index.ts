/**
 * The one bundle the deployed functions share (failover/lambda/bundle.ts), one export per
 * function: the controller (`index.handler`), the writer agent (`index.agentHandler`), the
 * witness (`index.witnessHandler`), the replica reader (`index.replicaHandler`).
 */
export { handler } from "./handler";
export { agentHandler } from "./agentHandler";
export { witnessHandler } from "./witnessHandler";
export { replicaHandler } from "./replicaHandler";
