/**
 * A logical backup of one database: `mysqldump` from a read replica in one consistent snapshot
 * (`--single-transaction`: InnoDB's repeatable read, no table locks; writes go on during it),
 * with routines, triggers and events, compressed with gzip and hashed (SHA-256) as it streams to
 * a local file, then described by a manifest.
 *
 * Flags, and why (RDS MySQL 8.4 as the source in production):
 *   --single-transaction --skip-lock-tables  one snapshot, no table locks
 *   --set-gtid-purged=OFF (MySQL's tool)      with GTIDs on, any other value makes mysqldump take
 *                                             FLUSH TABLES WITH READ LOCK beside
 *                                             --single-transaction (MySQL bug 115022), which RDS's
 *                                             master user may not take (Replibyte#281), and
 *                                             writes SET SQL_LOG_BIN=0 into the dump, which would
 *                                             keep a restore on the writer from its replicas
 *   --no-tablespaces                          a backup user without PROCESS can still dump
 *   --hex-blob, utf8mb4                       binary and non-ASCII data survive the round trip
 * Not used: --source-data / --dump-replica (the global lock, or SUPER). The manifest's GTID
 * position is the server's, read just before the snapshot: approximate, and marked so.
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { pipeline } from "stream/promises";
import { Transform } from "stream";
import { createGzip } from "zlib";
import { backupId } from "../lib/backupNaming";
import { connect, Credentials, Endpoint, isMariaDbTool, serverFacts, toolVersion, withOptionFile } from "./mysql";

export const MANIFEST_FORMAT = 1;

export interface Manifest {
    readonly format: number;
    readonly id: string;
    readonly database: string;
    readonly source: {
        readonly host: string;
        readonly port: number;
        readonly region?: string;
        readonly serverVersion: string;
        readonly readOnly: boolean;
    };
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly position: { readonly gtid: string; readonly exact: boolean };
    readonly sizes: { readonly dumpBytes: number; readonly compressedBytes: number };
    /** SHA-256 of dump.sql.gz (hex). */
    readonly sha256: string;
    readonly tools: { readonly dump: string; readonly node: string };
}

export interface DumpOptions {
    readonly endpoint: Endpoint;
    readonly credentials: Credentials;
    readonly database: string;
    /** Where dump.sql.gz is written. */
    readonly dir: string;
    readonly region?: string;
    /** Dump a writable server (the writer). @default false: only a read replica */
    readonly allowWriter?: boolean;
    /** `mysqldump` by default. */
    readonly tool?: string;
    readonly now?: () => Date;
}

export class NotAReplicaError extends Error {}

/** Dumps `database` into `<dir>/dump.sql.gz`; returns the file and its manifest. */
export async function dumpDatabase(o: DumpOptions): Promise<{ file: string; manifest: Manifest }> {
    const tool = o.tool ?? "mysqldump";
    const version = toolVersion(tool);
    const now = o.now ?? (() => new Date());
    const c = await connect(o.endpoint, o.credentials);
    let facts;
    try {
        facts = await serverFacts(c);
    } finally {
        await c.end();
    }
    if (!facts.readOnly && !o.allowWriter) {
        throw new NotAReplicaError(
            `${o.endpoint.host}:${o.endpoint.port} is writable (read_only=0): backups are taken from a read replica, never the writer ` +
                "(point --host at the reader endpoint, or pass --allow-writer to dump it anyway)",
        );
    }
    const startedAt = now();
    fs.mkdirSync(o.dir, { recursive: true });
    const file = path.join(o.dir, "dump.sql.gz");
    const mariadb = isMariaDbTool(version);
    let dumpBytes = 0;
    let compressedBytes = 0;
    const hash = createHash("sha256");
    const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
            dumpBytes += chunk.length;
            done(null, chunk);
        },
    });
    const hasher = new Transform({
        transform(chunk: Buffer, _enc, done) {
            compressedBytes += chunk.length;
            hash.update(chunk);
            done(null, chunk);
        },
    });
    await withOptionFile(o.endpoint, o.credentials, { mariadb }, async (optionFile) => {
        const args = [
            `--defaults-extra-file=${optionFile}`,
            "--single-transaction",
            "--skip-lock-tables",
            "--routines",
            "--triggers",
            "--events",
            "--hex-blob",
            "--no-tablespaces",
            "--default-character-set=utf8mb4",
            ...(mariadb ? [] : ["--set-gtid-purged=OFF"]),
            o.database,
        ];
        const child = spawn(tool, args, { stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
        await pipeline(child.stdout, counter, createGzip({ level: 6 }), hasher, fs.createWriteStream(file, { mode: 0o600 }));
        const code = await exited;
        if (code !== 0) {
            throw new Error(`${tool} of ${o.database} on ${o.endpoint.host}:${o.endpoint.port} failed (exit ${code}): ${stderr.trim()}`);
        }
    });
    const finishedAt = now();
    return {
        file,
        manifest: {
            format: MANIFEST_FORMAT,
            id: backupId(startedAt),
            database: o.database,
            source: {
                host: o.endpoint.host,
                port: o.endpoint.port,
                region: o.region,
                serverVersion: facts.version,
                readOnly: facts.readOnly,
            },
            startedAt: startedAt.toISOString(),
            finishedAt: finishedAt.toISOString(),
            position: { gtid: facts.gtid, exact: false },
            sizes: { dumpBytes, compressedBytes },
            sha256: hash.digest("hex"),
            tools: { dump: version, node: process.version },
        },
    };
}
