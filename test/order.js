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
 * hooks logging start and end): drillGuards about 35 s, drillFaults and drillSentinel 26-30 s,
 * drillLease 20-24 s (four drills, two at a time), failover/fence 21 s, plan 18-26 s, drillClock
 * 16-18 s (three drills at once), webTier 17 s, analyzerServer and policyStacks 13-15 s,
 * redisConfig 13 s, failover/faults 11 s, workflow 10-13 s; every other file under 9 s.
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
    "drillLoss.test.ts",
    "drillSentinel.test.ts",
    "redisConfig.test.ts",
    "analyzerServer.test.ts",
    "failover/fence.test.ts",
    "backup.test.ts",
    "workflow.test.ts",
    "help.test.ts",
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
