/**
 * The deployed controller: its configuration's validation, and the Lambda bundle built the
 * way the stack builds it (esbuild), loaded and called.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildLambdaBundle } from "../../failover/lambda/bundle";
import { parseLambdaConfig } from "../../failover/lambda/config";
import { REPLICA_READ_MAX_WAIT_MS } from "../../failover/lambda/replicaHandler";
import { DEPLOYED_LAG_WAIT_SECONDS } from "../../failover/core/settings";
import { lambdaConfig } from "../support/failoverWorld";

const GOOD = lambdaConfig();

describe("failover Lambda", () => {
    it("accepts the configuration the stack writes", () => {
        const cfg = parseLambdaConfig(JSON.stringify(GOOD));
        assert.equal(cfg.quorum, 2);
        assert.equal(cfg.httpProbes.length, 2);
    });

    it("rejects a bad configuration with every problem at once, before any call", () => {
        assert.throws(
            () => parseLambdaConfig(JSON.stringify({ ...GOOD, region: "us-east-2", quorum: 5, timeoutSeconds: 20, table: "" })),
            (err: Error) =>
                err.message.startsWith("FAILOVER_CONFIG has 4 problem(s):") &&
                err.message.includes('table = "": expected a non-empty string') &&
                err.message.includes("quorum 5: expected a whole number from 1 to 4") &&
                err.message.includes("timeoutSeconds = 20: expected at most intervalSeconds (10)") &&
                err.message.includes('region = "us-east-2": the controller\'s region is the writer region'),
        );
        assert.throws(() => parseLambdaConfig(undefined), /FAILOVER_CONFIG is not set/);
    });

    it("waits for the replica no longer than the replica reader may (its 45 s cap), and says so for a longer wait", () => {
        assert.ok(DEPLOYED_LAG_WAIT_SECONDS.max * 1000 <= REPLICA_READ_MAX_WAIT_MS, `${DEPLOYED_LAG_WAIT_SECONDS.max} s`);
        assert.equal(parseLambdaConfig(JSON.stringify({ ...GOOD, lagWaitSeconds: 30 })).lagWaitSeconds, 30);
        assert.throws(
            () => parseLambdaConfig(JSON.stringify({ ...GOOD, lagWaitSeconds: 60 })),
            /lagWaitSeconds 60: expected a whole number from 0 to 30/,
        );
    });

    it("bundles into one file that loads on its own and exports the handler, which validates its configuration first", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failover-bundle-"));
        try {
            const file = buildLambdaBundle(dir);
            const size = fs.statSync(file).size;
            assert.ok(size > 100_000 && size < 10_000_000, `bundle of ${size} bytes`);
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const bundled = require(file) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
            assert.equal(typeof bundled.handler, "function");
            // The writer agent and the witness run the same bundle, each from its own export.
            assert.equal(typeof (bundled as unknown as Record<string, unknown>).agentHandler, "function");
            assert.equal(typeof (bundled as unknown as Record<string, unknown>).witnessHandler, "function");
            const saved = process.env.FAILOVER_CONFIG;
            process.env.FAILOVER_CONFIG = JSON.stringify({ ...GOOD, maxFail: 0 });
            try {
                await assert.rejects(
                    bundled.handler({}, { getRemainingTimeInMillis: () => 60_000 }),
                    /maxFail 0: expected a whole number from 1 to 100/,
                );
            } finally {
                process.env.FAILOVER_CONFIG = saved;
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
