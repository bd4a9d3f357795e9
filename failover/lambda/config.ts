/**
 * The deployed controller's configuration: one JSON document in the function's environment
 * (FAILOVER_CONFIG), written by the Pulumi program (components/failoverController.ts) and
 * validated here, all problems at once, before anything runs. No secrets: names and ARNs.
 */
import * as settings from "../core/settings";
import { readEnvConfig } from "./envConfig";
import { DEFAULT_LEASE_TIMING, LeaseTiming, timingProblem } from "../core/writerLease";

export interface HttpVantage {
    readonly name: string;
    readonly url: string;
}

export interface LambdaConfig {
    /** This controller's region (the standby it promotes) and the writer region it watches. */
    readonly region: string;
    readonly writerRegion: string;
    /** The function's own role: readiness simulates its policies for every call of a failover. */
    readonly roleArn: string;
    readonly table: string;
    readonly topicArn: string;
    /**
     * The virtual IP's listener, from the stack (read at deploy time): nothing in us-west-2's
     * control plane on the start path. Its endpoint groups are discovered on first use.
     */
    readonly listenerArn: string;
    /** The writer lease's table, and the region this controller reaches it in (failover/core/writerLease.ts). */
    readonly leaseTable: string;
    readonly leaseRegion: string;
    /** A witness post unchanged for longer than this is silence (abstains). @default three intervals */
    readonly witnessMaxAgeSeconds: number;
    /** The writer lease's timing: the stack writes the same into the writer agents' config. @default DEFAULT_LEASE_TIMING */
    readonly leaseTiming: LeaseTiming;
    /** This site's load balancer, added to its endpoint group when traffic moves here. */
    readonly loadBalancerArn: string;
    readonly standbyIdentifier: string;
    readonly expectedSourceArn: string;
    readonly oldWriterIdentifier: string;
    /**
     * The replica reader: a function in this site's VPC (components/writerAgent.ts) that reads
     * the standby's replica over SQL for the loss window; the controller runs outside the VPC.
     */
    readonly replicaReaderFunction: string;
    /** The applications' database secret (in the standby region, the replica of the writer region's). */
    readonly credentialsSecret: string;
    /**
     * HTTP vantage points of this region (one failure domain: give one, through the virtual IP);
     * the accelerator's own endpoint health of the writer and the witness's post are always added.
     */
    readonly httpProbes: readonly HttpVantage[];
    readonly expectBody?: string;
    readonly intervalSeconds: number;
    readonly maxFail: number;
    readonly quorum: number;
    readonly timeoutSeconds: number;
    readonly maxLagSeconds?: number;
    readonly lagWaitSeconds: number;
    readonly leaseSeconds: number;
    /** No automatic failover this long after the last one completed. @default settings.DEFAULT_RECOVERY_BLOCK_SECONDS */
    readonly recoveryBlockSeconds: number;
}

export class LambdaConfigError extends Error {}

export function parseLambdaConfig(raw: string | undefined): LambdaConfig {
    const { value, problems, text, finish } = readEnvConfig("FAILOVER_CONFIG", raw, (m) => new LambdaConfigError(m));
    const num = (key: string, range: settings.Range, fallback?: number): number => {
        const v = value[key] ?? fallback;
        const problem = settings.checkRange(key, Number(v), range);
        if (v === undefined || problem !== undefined) {
            problems.push(problem ?? `${key} = undefined: expected a number`);
            return NaN;
        }
        return Number(v);
    };
    const probes = Array.isArray(value.httpProbes) ? (value.httpProbes as HttpVantage[]) : [];
    if (
        !Array.isArray(value.httpProbes) ||
        probes.some((p) => typeof p?.name !== "string" || typeof p?.url !== "string" || !/^https?:\/\//.test(p.url))
    ) {
        problems.push(`httpProbes = ${JSON.stringify(value.httpProbes)}: expected a list of {"name", "url"} with http(s) URLs`);
    }
    const interval = num("intervalSeconds", settings.INTERVAL_SECONDS, settings.DEFAULT_INTERVAL_SECONDS);
    const timeout = num("timeoutSeconds", settings.TIMEOUT_SECONDS, Math.min(interval, settings.DEFAULT_TIMEOUT_CAP_SECONDS));
    if (timeout > interval) {
        problems.push(`timeoutSeconds = ${timeout}: expected at most intervalSeconds (${interval})`);
    }
    const vantagePoints = probes.length + 2;
    const config: LambdaConfig = {
        region: text("region"),
        writerRegion: text("writerRegion"),
        roleArn: text("roleArn"),
        table: text("table"),
        topicArn: text("topicArn"),
        listenerArn: text("listenerArn"),
        leaseTable: text("leaseTable"),
        leaseRegion: text("leaseRegion"),
        witnessMaxAgeSeconds: num("witnessMaxAgeSeconds", settings.FOR_SECONDS, settings.defaultWitnessMaxAgeSeconds(interval)),
        leaseTiming: { ...DEFAULT_LEASE_TIMING, ...((value.leaseTiming as Partial<LeaseTiming> | undefined) ?? {}) },
        loadBalancerArn: text("loadBalancerArn"),
        standbyIdentifier: text("standbyIdentifier"),
        expectedSourceArn: text("expectedSourceArn"),
        oldWriterIdentifier: text("oldWriterIdentifier"),
        replicaReaderFunction: text("replicaReaderFunction"),
        credentialsSecret: text("credentialsSecret"),
        httpProbes: probes,
        expectBody: typeof value.expectBody === "string" ? value.expectBody : undefined,
        intervalSeconds: interval,
        maxFail: num("maxFail", settings.MAX_FAIL, settings.DEFAULT_MAX_FAIL),
        quorum: num("quorum", { min: 1, max: vantagePoints, integer: true }, settings.defaultQuorum(vantagePoints)),
        timeoutSeconds: timeout,
        maxLagSeconds: value.maxLagSeconds === undefined ? undefined : num("maxLagSeconds", settings.MAX_LAG_SECONDS),
        lagWaitSeconds: num("lagWaitSeconds", settings.DEPLOYED_LAG_WAIT_SECONDS, settings.DEFAULT_LAG_WAIT_SECONDS),
        leaseSeconds: num("leaseSeconds", settings.LEASE_SECONDS, 90),
        recoveryBlockSeconds: num("recoveryBlockSeconds", settings.RECOVERY_BLOCK_SECONDS, settings.DEFAULT_RECOVERY_BLOCK_SECONDS),
    };
    if (config.region !== "" && config.region === config.writerRegion) {
        problems.push(
            `region = ${JSON.stringify(config.region)}: the controller's region is the writer region; it only promotes a standby`,
        );
    }
    const unsafe = timingProblem(config.leaseTiming);
    if (unsafe !== undefined) {
        problems.push(`leaseTiming: ${unsafe}`);
    }
    finish();
    return config;
}
