/**
 * The standby region's one vote: its HTTP probe of the writer and its own replica's link to the
 * writer's database, counted together as one failure domain (they share the standby region's
 * network path to the writer).
 *
 *   up        the HTTP probe succeeds, or the replica still shows the writer alive: its I/O
 *             thread connected and the writer's heartbeat (failover/agent/fence.ts, beat_at,
 *             written once a second only while the writer's lease is valid) advanced since the
 *             last round. A writer whose heartbeat still arrives holds its lease and may take
 *             writes, whatever the web path shows (orchestrator's rule: a master is dead only
 *             when its replicas agree).
 *   down      the HTTP probe fails and the replica shows no sign of life
 *   abstain   the replica cannot be read and the HTTP probe fails: a standby that cannot see
 *             its own replica is not a witness of the writer's death
 */
import type { Probe, ProbeResult } from "./http";

export interface ReplicaLinkView {
    /** The replica's I/O thread is connected to its source. */
    readonly ioRunning: boolean;
    /** The last heartbeat the replica has applied (Unix seconds, the writer's clock), or undefined without one. */
    readonly lastBeatAt?: number;
}

/** The standby's own replica, read in its region. */
export interface ReplicaLink {
    readonly target: string;
    read(timeoutMs: number): Promise<ReplicaLinkView>;
}

export class StandbyVantage implements Probe {
    readonly target: string;
    private previousBeat: number | undefined;

    constructor(
        readonly name: string,
        private readonly http: Probe,
        private readonly link: ReplicaLink,
    ) {
        this.target = `${http.target} + ${link.target}`;
    }

    async check(timeoutMs: number): Promise<ProbeResult> {
        const started = performance.now();
        const [web, link] = await Promise.all([
            this.http.check(timeoutMs),
            this.link.read(timeoutMs).then(
                (view) => ({ view, error: undefined }),
                (err: unknown) => ({ view: undefined, error: (err as Error).message }),
            ),
        ]);
        const latencyMs = Math.round(performance.now() - started);
        const base = { name: this.name, target: this.target, latencyMs };
        const beat = link.view?.lastBeatAt;
        const advancing = beat !== undefined && this.previousBeat !== undefined && beat > this.previousBeat;
        if (beat !== undefined) {
            this.previousBeat = Math.max(beat, this.previousBeat ?? beat);
        }
        if (web.ok) {
            return { ...base, ok: true, status: web.status };
        }
        if (link.view === undefined) {
            return {
                ...base,
                ok: false,
                abstained: true,
                reason: "error",
                error: `${web.error ?? "HTTP failed"}; replica unreadable: ${link.error}`,
            };
        }
        if (link.view.ioRunning && advancing) {
            return { ...base, ok: true, error: `${web.error ?? "HTTP failed"}, but the writer's heartbeat still arrives on the replica` };
        }
        const why = !link.view.ioRunning
            ? "the replica's I/O thread is not connected"
            : "the writer's heartbeat has not advanced on the replica";
        return { ...base, ok: false, reason: web.reason, status: web.status, error: `${web.error ?? "HTTP failed"}; ${why}` };
    }
}
