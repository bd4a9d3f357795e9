import { strict as assert } from "assert";
import { flipChanges, FlipChange } from "../offline/flip";
import { loadStack, requireSuccess, runProgram, StackRun } from "../offline/run";

/** Both stacks after the operator set ecommerce:writerRegion to us-west-1 (the runbook's flip). */
const flipped = new Map<string, Promise<StackRun>>();
function afterFlip(stack: string): Promise<StackRun> {
    if (!flipped.has(stack)) {
        flipped.set(stack, runProgram({ stack, config: { "ecommerce:writerRegion": "us-west-1" } }).then(requireSuccess));
    }
    return flipped.get(stack)!;
}

const show = (c: FlipChange) => `${c.name} ${c.field}: ${c.effect ?? "changes"}`;

describe("a flip of ecommerce:writerRegion (offline/flip.ts)", () => {
    it("promotes dr's writer and leaves its replace-only inputs to ignoreChanges: no data-bearing resource is replaced", async () => {
        const changes = flipChanges(await loadStack("dr"), await afterFlip("dr"));
        assert.deepEqual(changes.filter((c) => c.effect !== undefined).map(show), [
            "db-writer allocatedStorage: update in place",
            "db-writer dbName: replace (ignored: resource option ignoreChanges)",
            "db-writer finalSnapshotIdentifier: update in place",
            "db-writer password: update in place",
            "db-writer replicateSourceDb: promote: RDS PromoteReadReplica makes the replica a standalone writer",
            "db-writer skipFinalSnapshot: update in place",
            "db-writer username: replace (ignored: resource option ignoreChanges)",
        ]);
    });

    it("asks primary's old writer to become a replica, which RDS refuses: the old primary has to be rebuilt", async () => {
        const changes = flipChanges(await loadStack("primary"), await afterFlip("primary"));
        assert.deepEqual(changes.filter((c) => c.effect !== undefined).map(show), [
            "db-writer allocatedStorage: update in place",
            "db-writer dbName: replace (ignored: resource option ignoreChanges)",
            "db-writer finalSnapshotIdentifier: update in place",
            "db-writer password: update in place",
            "db-writer replicateSourceDb: refused: RDS cannot turn an existing instance into a replica (the provider answers: cannot elect new source database for replication)",
            "db-writer skipFinalSnapshot: update in place",
            "db-writer username: replace (ignored: resource option ignoreChanges)",
        ]);
    });

    it("changes, besides the writer, only the credentials grants (the app's, the backup job's), the web servers' launch template (an instance refresh), the virtual IP's endpoint group, the failover controller's role, the writer agent's and the replica reader's secrets, the agent's alarms and the RDS backup replication, in both stacks", async () => {
        for (const stack of ["primary", "dr"]) {
            const others = flipChanges(await loadStack(stack), await afterFlip(stack)).filter((c) => c.effect === undefined);
            assert.deepEqual(
                others.map(show).sort(),
                [
                    // the writer's automated backups are replicated by whichever site is the writer
                    "backups-rds-replication (resource): changes",
                    "db-app-credentials-to-web policy: changes",
                    "db-credentials-to-backup policy: changes",
                    // the writer agent's alarms act where the writer now is
                    "failover-agent-errors actionsEnabled: changes",
                    "failover-agent-fence-unarmed actionsEnabled: changes",
                    "failover-agent-renewal-gap actionsEnabled: changes",
                    "failover-agent-renewal-gap treatMissingData: changes",
                    // the controller: switched on where the standby now is, off where the writer is
                    "failover-failing-over actionsEnabled: changes",
                    "failover-function environment: changes",
                    "failover-held actionsEnabled: changes",
                    "failover-missed-schedule actionsEnabled: changes",
                    "failover-missed-schedule treatMissingData: changes",
                    "failover-not-ready actionsEnabled: changes",
                    "failover-not-ready treatMissingData: changes",
                    "failover-permissions policy: changes",
                    "failover-schedule description: changes",
                    "failover-schedule state: changes",
                    // the backup job reads the new writer region's credentials secret
                    "monitoring-db-backup-job spec: changes",
                    "vip-endpoint-group endpointConfigurations: changes",
                    "vip-endpoint-group trafficDialPercentage: changes",
                    "web-lt userData: changes",
                    // the writer agent and the replica reader read the new writer region's secrets (replicated here)
                    "writer-agent-function environment: changes",
                    "writer-agent-permissions policy: changes",
                    "writer-agent-reader-function environment: changes",
                    "writer-agent-reader-permissions policy: changes",
                ],
                stack,
            );
        }
    });

    it("keeps the resource set but for the RDS backup replication, which moves to the new writer's stack", async () => {
        for (const [stack, before, after] of [
            ["primary", "present", "absent"],
            ["dr", "absent", "present"],
        ] as const) {
            const changes = flipChanges(await loadStack(stack), await afterFlip(stack));
            assert.deepEqual(
                changes.filter((c) => c.field === "(resource)"),
                [
                    {
                        type: "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
                        name: "backups-rds-replication",
                        field: "(resource)",
                        before,
                        after,
                    },
                ],
                stack,
            );
        }
    });

    it("would show a replacement if ignoreChanges were dropped from the writer", async () => {
        const before = await loadStack("dr");
        const after = await afterFlip("dr");
        const withoutGuard = (run: StackRun): StackRun => ({
            ...run,
            resources: run.resources.map((r) => (r.name === "db-writer" ? { ...r, ignoreChanges: [] } : r)),
        });
        assert.deepEqual(
            flipChanges(withoutGuard(before), withoutGuard(after))
                .filter((c) => c.effect === "replace")
                .map((c) => c.field),
            ["dbName", "username"],
        );
    });
});
