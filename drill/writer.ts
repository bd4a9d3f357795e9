/**
 * The drill's customer: numbered orders sent through the virtual IP at a set rate, each
 * recorded with when it was sent, when (and by which site) it was acknowledged, or why not.
 * Every write is a fresh connection, as many clients behind the public name would be.
 */
import * as http from "http";
import { SITE_HEADER } from "./site";

export interface WriteRecord {
    readonly id: number;
    readonly sentAt: number;
    /** When the site answered 201 (committed). */
    ackAt?: number;
    /** The site that acknowledged it. */
    site?: string;
    error?: string;
}

export class Writer {
    readonly writes: WriteRecord[] = [];
    private timer?: NodeJS.Timeout;
    private inFlight = new Set<Promise<void>>();
    private next: number;

    constructor(
        private readonly port: number,
        private readonly ratePerSecond: number,
        private readonly timeoutMs = 1000,
        /** The first order number (two writers at once number apart). */
        private readonly firstId = 1,
    ) {
        this.next = firstId;
    }

    start(): void {
        const started = Date.now();
        const tick = () => {
            // Catch up on the schedule: as many writes as the rate says by now.
            const due = Math.floor(((Date.now() - started) * this.ratePerSecond) / 1000) + this.firstId;
            while (this.next <= due) {
                this.send(this.next++);
            }
        };
        tick();
        this.timer = setInterval(tick, Math.max(5, Math.floor(1000 / this.ratePerSecond)));
    }

    private send(id: number): void {
        const record: WriteRecord = { id, sentAt: Date.now() };
        this.writes.push(record);
        const done = new Promise<void>((resolve) => {
            const req = http.request(
                { host: "127.0.0.1", port: this.port, method: "POST", path: `/orders/${id}`, agent: false, timeout: this.timeoutMs },
                (res) => {
                    res.resume();
                    res.on("end", () => {
                        if (res.statusCode === 201) {
                            record.ackAt = Date.now();
                            record.site = String(res.headers[SITE_HEADER]);
                        } else {
                            record.error = `status ${res.statusCode}`;
                        }
                        resolve();
                    });
                    res.on("error", (err) => {
                        record.error = err.message;
                        resolve();
                    });
                },
            );
            req.on("timeout", () => req.destroy(new Error("timeout")));
            req.on("error", (err) => {
                record.error ??= (err as NodeJS.ErrnoException).code ?? err.message;
                resolve();
            });
            req.end();
        });
        this.inFlight.add(done);
        void done.then(() => this.inFlight.delete(done));
    }

    /** Stops sending and waits for the answers still due. */
    async stop(): Promise<void> {
        clearInterval(this.timer);
        await Promise.all([...this.inFlight]);
    }
}
