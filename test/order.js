#!/usr/bin/env node
/**
 * The order `npm test` hands test files to mocha's parallel workers (package.json:
 * `files=$(node test/order.js) && mocha --parallel --jobs 4 $files`, so a failure here stops the
 * run rather than letting mocha fall back to its default spec): the longest first, so no long file starts last
 * and runs alone at the end (longest-processing-time-first scheduling). Then every other
 * `*.test.ts` under test/, sorted. Most of the long files wait on servers and timers rather
 * than use the CPU, so four workers on two cores overlap those waits with CPU-bound files.
 *
 * Wall times of each file in a parallel run on the 2-core machine (2026-12-02, per-file root
 * hooks logging start and end): drillGuards and drillFaults about 37 s each, plan 21-37 s (two
 * runs in processes of its own), drillSentinel 26 s, redisConfig 12-21 s, analyzerServer
 * 12-18 s, backup 11-13 s, typecheck 10-13 s, workflow 10-12 s, webTier 10 s, policyStacks
 * 10 s, failover/faults 8-10 s, failover/processes 8-12 s, failover/lambdaHandler 7 s; every
 * other file under 7 s. failover/fence (MariaDB and the writer agent in real time) took 21 s on
 * 2026-12-02, analyzerServer up to 30 s in the same run.
 *
 * A file named here that no longer exists is an error, so the list cannot rot silently.
 */
"use strict";
const fs = require("fs");
const path = require("path");

const LONGEST_FIRST = [
    "drillGuards.test.ts",
    "drillFaults.test.ts",
    "plan.test.ts",
    "drillLease.test.ts",
    "drillClock.test.ts",
    "drillSentinel.test.ts",
    "redisConfig.test.ts",
    "analyzerServer.test.ts",
    "failover/fence.test.ts",
    "backup.test.ts",
    "workflow.test.ts",
    "webTier.test.ts",
    "policyStacks.test.ts",
    "failover/faults.test.ts",
    "failover/processes.test.ts",
    "failover/lambdaHandler.test.ts",
];

function testFiles(dir) {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((entry) => {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                return entry.name === "support" ? [] : testFiles(full);
            }
            return entry.name.endsWith(".test.ts") ? [full] : [];
        })
        .sort();
}

const root = __dirname;
const all = testFiles(root).map((file) => path.relative(root, file));
const missing = LONGEST_FIRST.filter((file) => !all.includes(file));
if (missing.length > 0) {
    process.stderr.write(`test/order.js: no such test file: ${missing.join(", ")} (update LONGEST_FIRST)\n`);
    process.exit(2);
}
const ordered = [...LONGEST_FIRST, ...all.filter((file) => !LONGEST_FIRST.includes(file))];
process.stdout.write(`${ordered.map((file) => path.join("test", file)).join("\n")}\n`);
