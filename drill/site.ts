/**
 * One site of the drill: the shop's web endpoint in front of its own database.
 *
 *   GET  /health       200 only while its database accepts writes (`@@global.read_only` is 0,
 *                      asked over the application's own connection), else 503.
 *   POST /orders/<n>   inserts order n and answers 201 once it is committed; 503 otherwise.
 *
 * While its database is writable it also beats the heartbeat every 200 ms: the row the
 * standby's lag is read from. A slow mode delays every answer (the fault that must not cause
 * a failover).
 */
import * as http from "http";
import { setTimeout as sleep } from "timers/promises";
import { createPool, Pool } from "mysql2/promise";
import type { ConnectionOptions } from "mysql2";

export const SITE_HEADER = "x-drill-site";
const HEARTBEAT_MS = 200;

export class DrillSite {
    private server?: http.Server;
    private pool: Pool;
    private beating?: NodeJS.Timeout;
    private delayMs = 0;
    port = 0;

    constructor(
        readonly name: string,
        database: ConnectionOptions,
        /**
         * The health contract (docs/failover.md, "The writer lease"): with a writer lease, 200 only while
         * the database is writable under a lease whose deadline lies ahead (writerHealthQuery);
         * without one, while it is writable.
         */
        private readonly healthQuery = "SELECT @@global.read_only = 0 AS writable",
    ) {
        this.pool = createPool({ ...database, connectionLimit: 8, waitForConnections: true, queueLimit: 50, enableKeepAlive: true });
    }

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    /** Answers every request `ms` late (0: on time). */
    slowDown(ms: number): void {
        this.delayMs = ms;
    }

    async start(): Promise<this> {
        this.server = http.createServer((req, res) => {
            void this.handle(req, res).catch(() => {
                if (!res.headersSent) {
                    res.writeHead(500).end();
                }
            });
        });
        this.server.keepAliveTimeout = 1000;
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.port = (this.server.address() as { port: number }).port;
        this.beating = setInterval(() => {
            this.pool.query("UPDATE heartbeat SET beat_at = CURRENT_TIMESTAMP(6) WHERE id = 1").catch(() => undefined);
        }, HEARTBEAT_MS);
        return this;
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        req.resume();
        if (this.delayMs > 0) {
            await sleep(this.delayMs);
        }
        const headers = { [SITE_HEADER]: this.name, "content-type": "text/plain" };
        if (req.method === "GET" && req.url === "/health") {
            try {
                const [rows] = await this.pool.query(this.healthQuery);
                const writable = Number((rows as { writable: number }[])[0]?.writable) === 1;
                res.writeHead(writable ? 200 : 503, headers).end(writable ? "ok\n" : "read-only\n");
            } catch (err) {
                res.writeHead(503, headers).end(`database: ${(err as Error).message}\n`);
            }
            return;
        }
        const order = /^\/orders\/(\d+)$/.exec(req.url ?? "");
        if (req.method === "POST" && order) {
            try {
                await this.pool.query("INSERT INTO orders (id, site) VALUES (?, ?)", [Number(order[1]), this.name]);
                res.writeHead(201, headers).end("committed\n");
            } catch (err) {
                res.writeHead(503, headers).end(`not committed: ${(err as Error).message}\n`);
            }
            return;
        }
        res.writeHead(404, headers).end();
    }

    async close(): Promise<void> {
        clearInterval(this.beating);
        this.server?.closeAllConnections();
        await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
        await this.pool.end().catch(() => undefined);
    }
}
