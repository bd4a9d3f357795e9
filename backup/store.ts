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
import { BACKUP_ID, backupObjectKeys, MANIFEST_OBJECT } from "../lib/backupNaming";
import { Manifest, MANIFEST_FORMAT } from "./dump";

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

/** S3 takes at most 10,000 parts: parts of 16 MiB, larger for dumps above ~150 GiB. */
export function partSizeFor(bytes: number): number {
    return Math.max(16 * 1024 * 1024, Math.ceil(bytes / 9000));
}

async function put(
    client: S3Client,
    bucket: string,
    key: string,
    body: Readable | Buffer,
    contentType: string,
    bytes: number,
): Promise<void> {
    await new Upload({
        client,
        // IfNoneMatch: never overwrite an object (a backup is written once; S3 conditional writes).
        params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType, ChecksumAlgorithm: "SHA256", IfNoneMatch: "*" },
        queueSize: 2,
        partSize: partSizeFor(bytes),
    }).done();
}

/** Uploads the dump, its checksum file and its manifest (last: a backup with a manifest is complete). */
export async function uploadBackup(client: S3Client, bucket: string, file: string, manifest: Manifest): Promise<void> {
    const keys = backupObjectKeys(manifest.database, manifest.id);
    const checksum = Buffer.from(`${manifest.sha256}  dump.sql.gz\n`);
    const described = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    await put(client, bucket, keys.dump, fs.createReadStream(file), "application/gzip", fs.statSync(file).size);
    await put(client, bucket, keys.checksum, checksum, "text/plain", checksum.length);
    await put(client, bucket, keys.manifest, described, "application/json", described.length);
}

/**
 * The complete backups of `database` in the bucket (those with a manifest: an upload that
 * failed midway leaves none), oldest first (IDs sort by time).
 */
export async function listBackups(client: S3Client, bucket: string, database: string): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${database}/`, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
            const [db, id, name] = (o.Key ?? "").split("/");
            if (db === database && BACKUP_ID.test(id ?? "") && name === MANIFEST_OBJECT) {
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
    if (
        manifest.format !== MANIFEST_FORMAT ||
        manifest.id !== id ||
        manifest.database !== database ||
        !/^[0-9a-f]{64}$/.test(manifest.sha256)
    ) {
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
