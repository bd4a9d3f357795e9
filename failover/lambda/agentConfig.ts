/**
 * The writer agent's configuration: one JSON document in its function's environment
 * (AGENT_CONFIG), written by the Pulumi program (components/writerAgent.ts) and checked here,
 * every problem at once, before anything runs. Names and hosts only: the credentials come from
 * Secrets Manager.
 */
import { fenceSchemaProblem } from "../agent/fence";
import { DEFAULT_LEASE_TIMING, LeaseTiming, timingProblem } from "../core/writerLease";
import { readEnvConfig } from "./envConfig";

export interface AgentConfig {
    /** This agent's region, and the configured writer region (only its agent establishes the first lease). */
    readonly region: string;
    readonly writerRegion: string;
    /** The writer lease's table, and the region its agent reaches it in (a replica of the multi-Region table). */
    readonly leaseTable: string;
    readonly leaseRegion: string;
    /** The secret with the master user's credentials, and the one with the application's (both in this region). */
    readonly masterSecret: string;
    readonly appSecret: string;
    readonly appUser: string;
    readonly appSchemas: readonly string[];
    /** This region's writer (its private DNS name) and port. */
    readonly dbHost: string;
    readonly dbPort: number;
    /** The fence's schema. */
    readonly schema: string;
    readonly timing: LeaseTiming;
}

export class AgentConfigError extends Error {}

export function parseAgentConfig(raw: string | undefined): AgentConfig {
    const { value, problems, text, finish } = readEnvConfig("AGENT_CONFIG", raw, (m) => new AgentConfigError(m));
    const port = Number(value.dbPort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        problems.push(`dbPort = ${JSON.stringify(value.dbPort)}: expected a TCP port (1-65535)`);
    }
    const schemas = Array.isArray(value.appSchemas)
        ? (value.appSchemas as unknown[]).filter((s): s is string => typeof s === "string")
        : [];
    const timing: LeaseTiming = { ...DEFAULT_LEASE_TIMING, ...((value.timing as Partial<LeaseTiming> | undefined) ?? {}) };
    const config: AgentConfig = {
        region: text("region"),
        writerRegion: text("writerRegion"),
        leaseTable: text("leaseTable"),
        leaseRegion: text("leaseRegion"),
        masterSecret: text("masterSecret"),
        appSecret: text("appSecret"),
        appUser: text("appUser"),
        appSchemas: schemas,
        dbHost: text("dbHost"),
        dbPort: port,
        schema: text("schema"),
        timing,
    };
    const fence = fenceSchemaProblem({
        schema: config.schema,
        appUser: config.appUser,
        appHost: "%",
        appSchemas: schemas,
        killProcedure: "mysql.rds_kill",
    });
    if (fence !== undefined) {
        problems.push(fence);
    }
    const unsafe = timingProblem(timing);
    if (unsafe !== undefined) {
        problems.push(`timing: ${unsafe}`);
    }
    finish();
    return config;
}
