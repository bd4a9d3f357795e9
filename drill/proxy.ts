/**
 * A TCP forwarder on 127.0.0.1 that the drill switches: the virtual IP in front of the sites
 * (forwarding to one site at a time, or refusing when it serves none), and the network between
 * the world and the primary site (forwarding, or a blackhole that accepts and never answers).
 * Switching the target cuts the connections it carried, as a moved route would: clients
 * reconnect to the new target. One-way loss (`drop-answers`): what clients send reaches the
 * target, its answers never come back, as behind a route that fails in one direction only.
 */
import * as net from "net";

export type ProxyMode =
    | { readonly kind: "forward"; readonly port: number }
    | { readonly kind: "drop-answers"; readonly port: number }
    | { readonly kind: "refuse" }
    | { readonly kind: "blackhole" };

export class TcpProxy {
    private server?: net.Server;
    private readonly open = new Set<{ client: net.Socket; upstream?: net.Socket }>();
    private mode: ProxyMode;
    port = 0;

    constructor(
        readonly name: string,
        initial: ProxyMode,
    ) {
        this.mode = initial;
    }

    get current(): ProxyMode {
        return this.mode;
    }

    async start(): Promise<this> {
        this.server = net.createServer((client) => this.accept(client));
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.port = (this.server.address() as net.AddressInfo).port;
        return this;
    }

    /** Points the proxy elsewhere. Connections it carried are cut (a blackhole freezes them instead). */
    set(mode: ProxyMode): void {
        this.mode = mode;
        for (const conn of [...this.open]) {
            if (mode.kind === "drop-answers" && conn.upstream !== undefined) {
                // Requests keep flowing; the answers are read and thrown away.
                conn.upstream.unpipe(conn.client);
                conn.upstream.resume();
            } else if (mode.kind === "blackhole") {
                // Nothing more passes either way; the sockets stay open, as behind a dropped route.
                conn.client.unpipe();
                conn.upstream?.unpipe();
                conn.client.pause();
                conn.upstream?.pause();
            } else {
                conn.client.destroy();
                conn.upstream?.destroy();
                this.open.delete(conn);
            }
        }
    }

    private accept(client: net.Socket): void {
        client.on("error", () => undefined);
        const mode = this.mode;
        if (mode.kind === "refuse") {
            client.resetAndDestroy();
            return;
        }
        const conn: { client: net.Socket; upstream?: net.Socket } = { client };
        this.open.add(conn);
        client.once("close", () => {
            conn.upstream?.destroy();
            this.open.delete(conn);
        });
        if (mode.kind === "blackhole") {
            client.pause();
            return;
        }
        const upstream = net.connect(mode.port, "127.0.0.1");
        conn.upstream = upstream;
        upstream.on("error", () => client.destroy());
        upstream.once("close", () => client.destroy());
        client.pipe(upstream);
        if (mode.kind === "drop-answers") {
            upstream.resume();
        } else {
            upstream.pipe(client);
        }
    }

    async close(): Promise<void> {
        for (const conn of this.open) {
            conn.client.destroy();
            conn.upstream?.destroy();
        }
        this.open.clear();
        await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }
}
