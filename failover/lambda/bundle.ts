/**
 * Builds the controller's Lambda bundle: one CommonJS file with its dependencies (the AWS SDK
 * v3 clients it uses included, so the function runs the versions the tests ran, not the
 * runtime's), for the nodejs20.x runtime. The Pulumi program zips it; `npm test` builds it.
 */
import { buildSync } from "esbuild";
import * as fs from "fs";
import * as path from "path";

export const LAMBDA_RUNTIME = "nodejs20.x";
export const LAMBDA_HANDLER = "index.handler";
const ENTRY = path.join(__dirname, "handler.ts");

/** Builds into `outDir/index.js` and returns that path. */
export function buildLambdaBundle(outDir: string): string {
    fs.mkdirSync(outDir, { recursive: true });
    const outfile = path.join(outDir, "index.js");
    buildSync({
        entryPoints: [ENTRY],
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
