// dynalite ships no types: the part the tests use (a DynamoDB-protocol HTTP server).
declare module "dynalite" {
    import type { Server } from "http";
    interface DynaliteOptions {
        /** Simulated table creation time; 0 makes tables ACTIVE at once. */
        createTableMs?: number;
        deleteTableMs?: number;
        updateTableMs?: number;
        /** A LevelDB directory; without it the data lives in memory. */
        path?: string;
    }
    function dynalite(options?: DynaliteOptions): Server;
    export = dynalite;
}
