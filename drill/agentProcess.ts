/**
 * A writer agent in a process of its own (drill/agent.ts), for the agent-freeze fault: the drill
 * stops it with SIGSTOP, as a frozen host or a paused VM would, and resumes it with SIGCONT.
 *
 *   node ts-node/dist/bin --swc drill/agentProcess.ts '<DrillAgentConfig as JSON>'
 *
 * Writes one JSON line per event and per lease write on stdout ({"event": ..., "fields": ...} or
 * {"lease": <LeaseTransition>}); SIGTERM stops it. Not a tool for people: the drill starts it.
 */
import { type DrillAgentConfig, startDrillAgent } from "./agent";

const config = JSON.parse(process.argv[2] ?? "null") as DrillAgentConfig | null;
if (config === null) {
    process.stderr.write("drill/agentProcess.ts: expected the agent's config as JSON (the drill starts this process)\n");
    process.exit(2);
}
const stop = new AbortController();
process.on("SIGTERM", () => stop.abort(new Error("stopped")));
const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const run = startDrillAgent(
    config,
    (event, fields) => line({ event, fields, at: Date.now() }),
    (transition) => line({ lease: transition }),
    stop.signal,
);
void run.close().then(() => process.exit(0));
