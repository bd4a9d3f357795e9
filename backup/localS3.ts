/**
 * An S3-protocol server on 127.0.0.1 (s3rver, a devDependency) holding the named buckets, for
 * the tools that practise and measure backups on this machine (backup/local.ts, backup/bench.ts).
 * The AWS SDK is pointed at it with s3rver's fixed credentials (process-wide: these tools run
 * nothing else), and never at the instance metadata service.
 */
import type * as net from "net";

export interface LocalS3 {
    /** http://127.0.0.1:PORT, for --s3-endpoint and s3Client. */
    readonly endpoint: string;
    close(): Promise<void>;
}

export async function startLocalS3(directory: string, buckets: readonly string[]): Promise<LocalS3> {
    for (const [k, v] of Object.entries({
        AWS_ACCESS_KEY_ID: "S3RVER",
        AWS_SECRET_ACCESS_KEY: "S3RVER",
        AWS_EC2_METADATA_DISABLED: "true",
    })) {
        process.env[k] = v;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a devDependency, loaded only by these tools
    const S3rver = require("s3rver") as new (o: object) => { run(): Promise<net.AddressInfo>; close(): Promise<void> };
    const server = new S3rver({
        address: "127.0.0.1",
        port: 0,
        directory,
        silent: true,
        vhostBuckets: false,
        configureBuckets: buckets.map((name) => ({ name })),
    });
    const { port } = await server.run();
    return { endpoint: `http://127.0.0.1:${port}`, close: () => server.close().catch(() => undefined) };
}
