/**
 * One CommonJS file of a Node program and its dependencies (esbuild), for the Node.js of NODE_MAJOR: what the
 * failover controller's Lambda runs (failover/lambda/bundle.ts) and what the backup job's
 * image runs (backup/bundle.ts). One set of build options for both.
 */
import { buildSync } from "esbuild";
import * as fs from "fs";
import * as path from "path";

/**
 * The Node.js major the bundles target: the Lambda runtime (failover/lambda/bundle.ts), the
 * backup image's base (backup/Dockerfile), the Node the project runs on (package.json) and the
 * PR workflow's agree with it; test/nodeVersion.test.ts and test/workflow.test.ts check that they do.
 */
export const NODE_MAJOR = 24;

export function bundleNodeProgram(entry: string, outfile: string): string {
    fs.mkdirSync(path.dirname(outfile), { recursive: true });
    buildSync({
        entryPoints: [entry],
        outfile,
        bundle: true,
        platform: "node",
        target: `node${NODE_MAJOR}`,
        format: "cjs",
        minify: true,
        sourcemap: false,
        legalComments: "linked",
        logLevel: "error",
    });
    return outfile;
}
