/**
 * The one bundle the deployed functions share (failover/lambda/bundle.ts), one export per
 * function: the controller (`index.handler`), the writer agent (`index.agentHandler`), the
 * witness (`index.witnessHandler`).
 */
export { handler } from "./handler";
export { agentHandler } from "./agentHandler";
export { witnessHandler } from "./witnessHandler";
