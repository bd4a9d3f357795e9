/**
 * One CommonJS file of a Node program and its dependencies (esbuild), for Node 20: what the
 * failover controller's Lambda runs (failover/lambda/bundle.ts) and what the backup job's
 * image runs (backup/bundle.ts). One set of build options for both.
 */
import { buildSync } from "esbuild";
import * as fs from "fs";
import * as path from "path";

export function bundleNodeProgram(entry: string, outfile: string): string {
    fs.mkdirSync(path.dirname(outfile), { recursive: true });
    buildSync({
        entryPoints: [entry],
        outfile,
        bundle: true,
        platform: "node",
        target: "node20",
        format: "cjs",
        minify: true,
        sourcemap: false,
        legalComments: "linked",
        logLevel: "error",
    });
    return outfile;
}
