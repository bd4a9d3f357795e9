/**
 * Builds the controller's Lambda bundle: one CommonJS file with its dependencies (the AWS SDK
 * v3 clients it uses included, so the function runs the versions the tests ran, not the
 * runtime's), for the nodejs24.x runtime (the Lambda calendar, lib/advisories.ts, says until when). The Pulumi program zips it; `npm test` builds it.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bundleNodeProgram, NODE_MAJOR } from "../../lib/bundle";

export const LAMBDA_RUNTIME = `nodejs${NODE_MAJOR}.x`;
/** Each function's handler in the bundle (failover/lambda/index.ts): named in lib/failoverNaming.ts, which the policies read too. */
export { AGENT_HANDLER, LAMBDA_HANDLER, REPLICA_READER_HANDLER, WITNESS_HANDLER } from "../../lib/failoverNaming";
const ENTRY = path.join(__dirname, "index.ts");

/** Builds into `outDir/index.js` and returns that path. */
export function buildLambdaBundle(outDir: string): string {
    return bundleNodeProgram(ENTRY, path.join(outDir, "index.js"));
}

/** The sources the bundle is made of (the controller, the lib files it uses) and the locked dependencies. */
function sourceHash(): string {
    const root = path.join(__dirname, "..", "..");
    const files: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                walk(full);
            } else if (entry.name.endsWith(".ts")) {
                files.push(full);
            }
        }
    };
    walk(path.join(root, "failover"));
    files.push(
        path.join(root, "lib", "accelerator.ts"),
        path.join(root, "lib", "regions.ts"),
        path.join(root, "lib", "bundle.ts"),
        path.join(root, "package-lock.json"),
    );
    const hash = createHash("sha256");
    for (const file of files.sort()) {
        hash.update(path.relative(root, file)).update("\0").update(fs.readFileSync(file)).update("\0");
    }
    return hash.digest("hex").slice(0, 16);
}

/**
 * The bundle for the current sources, built once and kept by content hash (in the system's
 * temp directory): every stack run and every process reuses it until a source changes.
 */
export function cachedLambdaBundle(cacheRoot = path.join(os.tmpdir(), "ecommerce-failover-bundle")): string {
    const dir = path.join(cacheRoot, sourceHash());
    const file = path.join(dir, "index.js");
    if (fs.existsSync(file)) {
        return file;
    }
    // Built beside, then renamed: a concurrent process never loads half a bundle.
    const staging = `${dir}.${process.pid}.tmp`;
    buildLambdaBundle(staging);
    try {
        fs.renameSync(staging, dir);
    } catch {
        fs.rmSync(staging, { recursive: true, force: true }); // another process won the race: its bundle is the same
    }
    return file;
}
