import { strict as assert } from "assert";
import { loadStack } from "../offline/run";
import { compareStacks, formatDifference, PRESENCE } from "../offline/parity";
import { PARITY_ALLOW_LIST } from "../offline/parityAllowList";

describe("parity of primary and dr", () => {
    it("explains every difference between the stacks' inputs with an allow-list entry", async () => {
        const report = compareStacks(await loadStack("primary"), await loadStack("dr"), PARITY_ALLOW_LIST);
        assert.deepEqual(report.unexplained.map(formatDifference), []);
    });

    it("explains every difference of a first preview too (unknown IDs compare as unknown)", async () => {
        const report = compareStacks(await loadStack("primary", true), await loadStack("dr", true), PARITY_ALLOW_LIST);
        assert.deepEqual(report.unexplained.map(formatDifference), []);
    });

    it("has no allow-list entry that explains nothing (the list cannot rot)", async () => {
        const report = compareStacks(await loadStack("primary"), await loadStack("dr"), PARITY_ALLOW_LIST);
        assert.deepEqual(
            report.unusedEntries.map((e) => `${e.type} ${String(e.name)} ${String(e.field)}: ${e.reason}`),
            [],
        );
    });

    it("gives every allow-list entry a region, zones or role reason", () => {
        for (const entry of PARITY_ALLOW_LIST) {
            assert.match(entry.reason, /^(region|zones|role): \S/, `${String(entry.name)} ${String(entry.field)}`);
        }
    });

    it("lets only the third AZ's network resources, and the writer's RDS backup replication, exist in one stack alone", async () => {
        const report = compareStacks(await loadStack("primary"), await loadStack("dr"), PARITY_ALLOW_LIST);
        const onlyInOne = report.explained
            .filter((e) => e.difference.field === PRESENCE)
            .map((e) => `${e.difference.name} ${String(e.difference.left)}`);
        assert.deepEqual(onlyInOne.sort(), [
            "backups-rds-replication present",
            "network-data-3 present",
            "network-data-3 present",
            "network-nat-3 present",
            "network-nat-3 present",
            "network-private-3 present",
            "network-private-3 present",
            "network-private-default-3 present",
            "network-private-rt-3 present",
            "network-public-3 present",
            "network-public-3 present",
        ]);
    });

    it("fails on a difference that is not on the list", async () => {
        const primary = await loadStack("primary");
        const mutated = {
            ...primary,
            resources: primary.resources.map((r) =>
                r.type === "aws:rds/instance:Instance" && r.name === "db-writer"
                    ? { ...r, inputs: { ...r.inputs, instanceClass: "db.t3.medium" } }
                    : r,
            ),
        };
        const report = compareStacks(primary, mutated, PARITY_ALLOW_LIST);
        assert.deepEqual(report.unexplained.map(formatDifference), [
            'aws:rds/instance:Instance db-writer instanceClass: "db.t3.2xlarge" vs "db.t3.medium"',
        ]);
    });

    it("keeps the same logical resources in both stacks after a failover flips the roles", async () => {
        const { runProgram, requireSuccess } = await import("../offline/run");
        const flipped = { "ecommerce:writerRegion": "us-west-1" };
        const primary = requireSuccess(await runProgram({ stack: "primary", config: flipped }));
        const dr = requireSuccess(await runProgram({ stack: "dr", config: flipped }));
        const report = compareStacks(primary, dr, PARITY_ALLOW_LIST);
        assert.deepEqual(report.unexplained.map(formatDifference), []);
    });
});
