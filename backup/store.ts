/**
 * The backup buckets (AWS SDK v3): upload a backup's three objects, list the backups of a
 * database, read a manifest, download and hash a dump.
 *
 * Uploads go through lib-storage's Upload with an explicit SHA-256 checksum: S3 refuses a
 * PutObject or UploadPart into an Object Lock bucket without Content-MD5 or a checksum header
 * (PutObject API reference; offen/docker-volume-backup#727), and an explicit ChecksumAlgorithm
 * is sent whatever the client's requestChecksumCalculation. Upload sends its parts as buffers,
 * never aws-chunked streams.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import { Readable } from "stream";
import { pipeline } from "stream/promises";
import { Transform } from "stream";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { backupObjectKeys } from "../lib/backupNaming";
import type { Manifest } from "./dump";

export interface BucketRef {
    readonly region: string;
    readonly bucket: string;
}

export interface StoreOptions {
    /** An S3-compatible endpoint instead of AWS (a local server in tests). */
    readonly endpoint?: string;
}

export function s3Client(region: string, o: StoreOptions = {}): S3Client {
    return new S3Client({
        region,
        maxAttempts: 5,
        ...(o.endpoint ? { endpoint: o.endpoint, forcePathStyle: true } : {}),
    });
}

async function put(client: S3Client, bucket: string, key: string, body: Readable | Buffer, contentType: string): Promise<void> {
    await new Upload({
        client,
        params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType, ChecksumAlgorithm: "SHA256" },
        queueSize: 2,
        partSize: 16 * 1024 * 1024,
    }).done();
}

/** Uploads the dump, its checksum file and its manifest (last: a backup with a manifest is complete). */
export async function uploadBackup(client: S3Client, bucket: string, file: string, manifest: Manifest): Promise<void> {
    const keys = backupObjectKeys(manifest.database, manifest.id);
    await put(client, bucket, keys.dump, fs.createReadStream(file), "application/gzip");
    await put(client, bucket, keys.checksum, Buffer.from(`${manifest.sha256}  dump.sql.gz\n`), "text/plain");
    await put(client, bucket, keys.manifest, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), "application/json");
}

/** The backup IDs of `database` in the bucket, oldest first (IDs sort by time). */
export async function listBackups(client: S3Client, bucket: string, database: string): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
        const page = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: `${database}/`, Delimiter: "/", ContinuationToken: token }),
        );
        for (const p of page.CommonPrefixes ?? []) {
            const id = p.Prefix?.slice(database.length + 1).replace(/\/$/, "");
            if (id !== undefined && /^\d{8}T\d{6}Z$/.test(id)) {
                ids.push(id);
            }
        }
        token = page.NextContinuationToken;
    } while (token !== undefined);
    return ids.sort();
}

async function text(client: S3Client, bucket: string, key: string): Promise<string> {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return out.Body!.transformToString();
}

export async function readManifest(client: S3Client, bucket: string, database: string, id: string): Promise<Manifest> {
    const raw = await text(client, bucket, backupObjectKeys(database, id).manifest);
    const manifest = JSON.parse(raw) as Manifest;
    if (manifest.format !== 1 || manifest.id !== id || manifest.database !== database || !/^[0-9a-f]{64}$/.test(manifest.sha256)) {
        throw new Error(`s3://${bucket}/${backupObjectKeys(database, id).manifest} is not a manifest of backup ${id} of ${database}`);
    }
    return manifest;
}

/** The checksum file's hash (the first word). */
export async function readChecksumFile(client: S3Client, bucket: string, database: string, id: string): Promise<string> {
    return (await text(client, bucket, backupObjectKeys(database, id).checksum)).trim().split(/\s+/)[0];
}

/** Downloads the dump to `file` (or only hashes it), returning its SHA-256 and size. */
export async function downloadDump(
    client: S3Client,
    bucket: string,
    database: string,
    id: string,
    file?: string,
): Promise<{ sha256: string; bytes: number }> {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: backupObjectKeys(database, id).dump }));
    const hash = createHash("sha256");
    let bytes = 0;
    const hasher = new Transform({
        transform(chunk: Buffer, _enc, done) {
            hash.update(chunk);
            bytes += chunk.length;
            done(null, chunk);
        },
    });
    const sink =
        file !== undefined ? fs.createWriteStream(file, { mode: 0o600 }) : new Transform({ transform: (_c, _e, done) => done() }).resume();
    await pipeline(out.Body as Readable, hasher, sink);
    return { sha256: hash.digest("hex"), bytes };
}
