/**
 * Restore and verify: the half of backups that matters.
 *
 *   verify   per bucket: the backups of a database, the newest one's age against the backup
 *            RPO, and its checksum (downloaded and hashed, against the manifest and the
 *            checksum file); `all` checks every backup's checksum.
 *   restore  fetch a named or the newest backup from one bucket, refuse it unless its hash
 *            matches the manifest and the checksum file, load it into a new (or empty)
 *            database on a given MySQL endpoint, and report row counts and CHECKSUM TABLE per
 *            table.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pipeline } from "stream/promises";
import { createGunzip } from "zlib";
import type { S3Client } from "@aws-sdk/client-s3";
import { backupTime, DATABASE_NAME } from "../lib/backupNaming";
import { connect, Credentials, Endpoint, isMariaDbTool, rows, tableFacts, TableFacts, toolVersion, withOptionFile } from "./mysql";
import { BucketRef, downloadDump, listBackups, readChecksumFile, readManifest } from "./store";
import type { Manifest } from "./dump";

export interface BucketVerdict {
    readonly bucket: BucketRef;
    readonly backups: number;
    readonly newest?: string;
    readonly newestAgeHours?: number;
    readonly problems: readonly string[];
    readonly checked: readonly { readonly id: string; readonly ok: boolean; readonly detail: string }[];
}

/** Checks one backup: its dump's hash against the manifest and the checksum file. */
async function checkBackup(client: S3Client, b: BucketRef, database: string, id: string): Promise<{ ok: boolean; detail: string }> {
    try {
        // The small objects first: no download of a dump whose manifest cannot be read.
        const [manifest, listed] = await Promise.all([
            readManifest(client, b.bucket, database, id),
            readChecksumFile(client, b.bucket, database, id),
        ]);
        const actual = await downloadDump(client, b.bucket, database, id);
        if (actual.sha256 !== manifest.sha256 || listed !== manifest.sha256) {
            return {
                ok: false,
                detail: `checksum mismatch: the dump hashes to ${actual.sha256}, the manifest says ${manifest.sha256}, the checksum file ${listed}`,
            };
        }
        if (actual.bytes !== manifest.sizes.compressedBytes) {
            return { ok: false, detail: `size mismatch: ${actual.bytes} bytes, the manifest says ${manifest.sizes.compressedBytes}` };
        }
        return { ok: true, detail: `sha256 ${actual.sha256.slice(0, 16)}..., ${actual.bytes} bytes` };
    } catch (err) {
        return { ok: false, detail: (err as Error).message };
    }
}

export async function verifyBucket(
    client: S3Client,
    b: BucketRef,
    database: string,
    o: { maxAgeHours: number; all?: boolean; now?: Date },
): Promise<BucketVerdict> {
    const now = o.now ?? new Date();
    const problems: string[] = [];
    let ids: string[];
    try {
        ids = await listBackups(client, b.bucket, database);
    } catch (err) {
        return { bucket: b, backups: 0, problems: [`cannot list s3://${b.bucket} (${b.region}): ${(err as Error).message}`], checked: [] };
    }
    if (ids.length === 0) {
        return { bucket: b, backups: 0, problems: [`no backup of ${database} in s3://${b.bucket} (${b.region})`], checked: [] };
    }
    const newest = ids[ids.length - 1];
    const ageHours = (now.getTime() - backupTime(newest).getTime()) / 3_600_000;
    if (ageHours > o.maxAgeHours) {
        problems.push(`the newest backup (${newest}) is ${ageHours.toFixed(1)} h old: older than the backup RPO of ${o.maxAgeHours} h`);
    }
    const checked = [];
    for (const id of o.all ? ids : [newest]) {
        const result = await checkBackup(client, b, database, id);
        checked.push({ id, ...result });
        if (!result.ok) {
            problems.push(`${id}: ${result.detail}`);
        }
    }
    return { bucket: b, backups: ids.length, newest, newestAgeHours: ageHours, problems, checked };
}

export class RestoreRefusedError extends Error {}

export interface RestoreOptions {
    readonly client: S3Client;
    readonly bucket: BucketRef;
    readonly database: string;
    /** A backup ID, or the newest. */
    readonly id?: string;
    readonly target: Endpoint;
    readonly credentials: Credentials;
    /** The database to create on the target (must not exist, or be empty). */
    readonly targetDatabase: string;
    readonly tool?: string;
}

export interface RestoreResult {
    readonly manifest: Manifest;
    readonly tables: readonly TableFacts[];
    readonly seconds: number;
}

export async function restoreBackup(o: RestoreOptions): Promise<RestoreResult> {
    const started = Date.now();
    const ids = await listBackups(o.client, o.bucket.bucket, o.database);
    const id = o.id ?? ids[ids.length - 1];
    if (id === undefined || !ids.includes(id)) {
        throw new RestoreRefusedError(
            `no backup ${o.id ?? "at all"} of ${o.database} in s3://${o.bucket.bucket} (${o.bucket.region})${ids.length > 0 ? `; there are ${ids.length}, the newest ${ids[ids.length - 1]}` : ""}`,
        );
    }
    if (!DATABASE_NAME.test(o.targetDatabase)) {
        throw new RestoreRefusedError(
            `--target-database ${JSON.stringify(o.targetDatabase)}: expected a plain database name (letters, digits, _ and $)`,
        );
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "restore-"));
    try {
        const file = path.join(dir, "dump.sql.gz");
        const [manifest, listed] = await Promise.all([
            readManifest(o.client, o.bucket.bucket, o.database, id),
            readChecksumFile(o.client, o.bucket.bucket, o.database, id),
        ]);
        const got = await downloadDump(o.client, o.bucket.bucket, o.database, id, file);
        if (got.sha256 !== manifest.sha256 || listed !== manifest.sha256) {
            throw new RestoreRefusedError(
                `backup ${id} in s3://${o.bucket.bucket} is corrupt: it hashes to ${got.sha256}, its manifest says ${manifest.sha256} ` +
                    `and its checksum file ${listed}. Nothing was restored; restore from another backup bucket (npm run backup -- verify lists them)`,
            );
        }
        const c = await connect(o.target, o.credentials);
        try {
            const existing = await rows<{ n: number }>(c, "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", [
                o.targetDatabase,
            ]);
            if (Number(existing[0].n) > 0) {
                throw new RestoreRefusedError(
                    `the target database ${o.targetDatabase} on ${o.target.host}:${o.target.port} already has ${existing[0].n} table(s): restore into a new database`,
                );
            }
            await c.query(`CREATE DATABASE IF NOT EXISTS \`${o.targetDatabase}\` CHARACTER SET utf8mb4`);
        } finally {
            await c.end();
        }
        const tool = o.tool ?? "mysql";
        await withOptionFile(o.target, o.credentials, { mariadb: isMariaDbTool(toolVersion(tool)) }, async (optionFile) => {
            const child = spawn(tool, [`--defaults-extra-file=${optionFile}`, "--default-character-set=utf8mb4", o.targetDatabase], {
                stdio: ["pipe", "ignore", "pipe"],
            });
            let stderr = "";
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
            // When mysql stops at an SQL error, feeding it fails with EPIPE first: its exit code
            // and its message are what the operator needs, so they win over the pipe's error.
            const fed = await pipeline(fs.createReadStream(file), createGunzip(), child.stdin).then(
                () => undefined,
                (err: Error) => err,
            );
            const code = await exited;
            if (code !== 0) {
                throw new Error(`${tool} failed loading backup ${id} into ${o.targetDatabase} (exit ${code}): ${stderr.trim()}`);
            }
            if (fed !== undefined) {
                throw fed;
            }
        });
        const c2 = await connect(o.target, o.credentials);
        try {
            return { manifest, tables: await tableFacts(c2, o.targetDatabase), seconds: (Date.now() - started) / 1000 };
        } finally {
            await c2.end();
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
