/**
 * The controller's events as lines a person reads on a terminal (the CLI's stdout when it is a
 * TTY and --json is not given). Piped, or with --json, the CLI writes the JSON lines instead:
 * scripts read those. A healthy round is one compact line; probes appear only when they fail;
 * decisions, the assessment, a hold and each action are marked so they stand out.
 */

export interface HumanLog {
    /** The lines for one event (none for an event a person does not need here). */
    lines(ts: number, event: string, fields: Record<string, unknown>): string[];
}

const time = (ts: number) => new Date(ts).toISOString().slice(11, 19);
const str = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/** Key fields as `key value` pairs, for an event with no line of its own. */
function rest(fields: Record<string, unknown>, skip: readonly string[]): string {
    return Object.entries(fields)
        .filter(([k, v]) => !skip.includes(k) && v !== undefined && v !== null)
        .map(([k, v]) => `${k} ${str(v)}`)
        .join(", ");
}

export function humanLog(): HumanLog {
    /** This round's failed probes, printed under its line. */
    let failedProbes: string[] = [];
    return {
        lines(ts, event, fields) {
            const at = time(ts);
            switch (event) {
                case "probe": {
                    if (fields.ok !== true) {
                        const how = fields.abstained === true ? "abstains" : "DOWN";
                        failedProbes.push(
                            `           ${str(fields.name)} ${how}: ${str(fields.error ?? fields.reason ?? fields.status ?? "")}`,
                        );
                    }
                    return [];
                }
                case "round": {
                    const lease = fields.lease as Record<string, unknown> | undefined;
                    const leaseText =
                        lease === undefined
                            ? ""
                            : ` · lease ${str(lease.state)}${lease.lapsesInMs !== undefined && lease.state === "held" ? ` (lapses in ${Math.ceil(Number(lease.lapsesInMs) / 1000)} s unless renewed)` : ""}`;
                    const failed = Number(fields.failures);
                    const line =
                        `${at} round ${str(fields.round)}: ${failed === 0 ? "ok" : `${failed} of ${str(fields.probes)} down`}` +
                        (Number(fields.abstentions) > 0 ? `, ${str(fields.abstentions)} abstained` : "") +
                        leaseText +
                        ` · ${str(fields.phase)}` +
                        (Number(fields.consecutiveFailedRounds) > 0 ? ` (${str(fields.consecutiveFailedRounds)} failed in a row)` : "");
                    const out = [line, ...failedProbes];
                    failedProbes = [];
                    return out;
                }
                case "watch": {
                    const probes = (fields.probes as { name: string }[] | undefined)?.map((p) => p.name).join(", ") ?? "";
                    return [
                        `${at} watching ${probes} every ${Number(fields.intervalMs) / 1000} s; fails over after ${str(fields.maxFail)} failed rounds (quorum ${str(fields.quorum)})${fields.dryRun === true ? " [DRY RUN]" : ""} · ${str(fields.phase)}`,
                    ];
                }
                case "decision":
                    if (fields.decision === "suspect" || fields.decision === "lease-held") {
                        return []; // the round's line says it: failed in a row, the lease
                    }
                    return [
                        `${at} >> DECISION ${str(fields.decision)}${rest(fields, ["decision"]) !== "" ? `: ${rest(fields, ["decision"])}` : ""}`,
                    ];
                case "assessment":
                    return [`${at} >> ASSESSMENT ${fields.proceed === true ? "go" : "HOLD"}: ${str(fields.reason)}`];
                case "hold":
                    return []; // the CLI prints the hold's message on stderr, marked
                case "action": {
                    const detail = fields.detail ?? fields.error;
                    return [`${at} >> ACTION ${str(fields.action)} ${str(fields.status)}${detail !== undefined ? `: ${str(detail)}` : ""}`];
                }
                case "report":
                    return [`${at} == REPORT ${str(fields.from)} -> ${str(fields.to)}: data at risk: ${str(fields.dataAtRisk)}`];
                case "check":
                case "error":
                    return []; // the CLI says these on stderr for a person already
                case "end":
                    return [`${at} end: ${str(fields.outcome)} (exit ${str(fields.exitCode)})`];
                default:
                    return [`${at} ${event}${rest(fields, []) !== "" ? `: ${rest(fields, [])}` : ""}`];
            }
        },
    };
}
