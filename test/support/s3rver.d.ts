// s3rver ships no types: the part the tests use (an S3-protocol HTTP server on a directory).
declare module "s3rver" {
    import type { AddressInfo } from "net";
    interface S3rverOptions {
        address?: string;
        port?: number;
        directory: string;
        silent?: boolean;
        resetOnClose?: boolean;
        /** Buckets created at start. */
        configureBuckets?: { name: string }[];
        vhostBuckets?: boolean;
    }
    class S3rver {
        constructor(options: S3rverOptions);
        run(): Promise<AddressInfo>;
        close(): Promise<void>;
    }
    export = S3rver;
}
