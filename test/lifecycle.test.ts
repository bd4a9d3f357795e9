import { strict as assert } from "assert";
import { loadStack, RecordedResource, requireSuccess, runProgram } from "../offline/run";
import { PROTECTED_TYPES } from "../policies/kit";

/** A resource's lifecycle options, as one comparable line. */
function options(r: RecordedResource): string {
    return [
        `${r.type} ${r.name}:`,
        `protect=${r.protect}`,
        `ignoreChanges=[${r.ignoreChanges.join(",")}]`,
        `retainOnDelete=${r.retainOnDelete}`,
        `deleteBeforeReplace=${r.deleteBeforeReplace}`,
    ].join(" ");
}

const guarded = (type: string, name: string, o: { ignoreChanges?: string[]; protect?: boolean; deleteBeforeReplace?: boolean } = {}) =>
    [
        `${type} ${name}:`,
        `protect=${o.protect ?? true}`,
        `ignoreChanges=[${(o.ignoreChanges ?? []).join(",")}]`,
        "retainOnDelete=false",
        `deleteBeforeReplace=${o.deleteBeforeReplace ?? false}`,
    ].join(" ");

/**
 * Every data-bearing resource, and every resource with a lifecycle option at all, with its
 * options exactly. Removing a guard (protect, the writer's ignoreChanges, the Redis nodes'
 * replacement order) or adding one changes this table.
 */
const EXPECTED = [
    guarded("aws:ec2/instance:Instance", "redis-node-1", { protect: false, ignoreChanges: ["ami"], deleteBeforeReplace: true }),
    guarded("aws:ec2/instance:Instance", "redis-node-2", { protect: false, ignoreChanges: ["ami"], deleteBeforeReplace: true }),
    guarded("aws:ec2/instance:Instance", "redis-node-3", { protect: false, ignoreChanges: ["ami"], deleteBeforeReplace: true }),
    guarded("aws:ec2/networkInterface:NetworkInterface", "redis-node-1", { protect: false, deleteBeforeReplace: true }),
    guarded("aws:ec2/networkInterface:NetworkInterface", "redis-node-2", { protect: false, deleteBeforeReplace: true }),
    guarded("aws:ec2/networkInterface:NetworkInterface", "redis-node-3", { protect: false, deleteBeforeReplace: true }),
    // the failover controller's state (a failover in progress lives there)
    guarded("aws:dynamodb/table:Table", "failover-state"),
    // the backups: their keys and Object Lock buckets (lib/backupNaming.ts names them)
    guarded("aws:kms/key:Key", "backups-us-east-1-key"),
    guarded("aws:kms/key:Key", "backups-us-west-2-key"),
    guarded("aws:kms/key:Key", "db-key"),
    guarded("aws:kms/key:Key", "monitoring-eks-secrets"),
    guarded("aws:rds/instance:Instance", "db-replica-1"),
    guarded("aws:rds/instance:Instance", "db-replica-2"),
    // username and dbName are create-only and a flip adds or removes them: never replace a database over them.
    guarded("aws:rds/instance:Instance", "db-writer", { ignoreChanges: ["username", "dbName"] }),
    guarded("aws:s3/bucket:Bucket", "backups-us-east-1"),
    guarded("aws:s3/bucket:Bucket", "backups-us-west-2"),
    guarded("aws:s3/bucket:Bucket", "web-alb-logs"),
    guarded("aws:secretsmanager/secret:Secret", "db-app-secret"),
    guarded("aws:secretsmanager/secret:Secret", "db-master-secret"),
    guarded("aws:secretsmanager/secret:Secret", "redis-password"),
    guarded("aws:secretsmanager/secretVersion:SecretVersion", "db-app-secret"),
    guarded("aws:secretsmanager/secretVersion:SecretVersion", "db-master-secret"),
    guarded("aws:secretsmanager/secretVersion:SecretVersion", "redis-password"),
    guarded("random:index/randomPassword:RandomPassword", "db-app-password"),
    guarded("random:index/randomPassword:RandomPassword", "db-master-password"),
    guarded("random:index/randomPassword:RandomPassword", "monitoring-grafana-admin"),
    guarded("random:index/randomPassword:RandomPassword", "redis-password"),
];

describe("lifecycle options of data-bearing resources", () => {
    it("lets exactly the node listed in ecommerce:redisRollNodes take a new AMI, the others keep theirs", async () => {
        const run = requireSuccess(await runProgram({ stack: "dr", config: { "ecommerce:redisRollNodes": "[3]" } }));
        const nodes = run.resources.filter((r) => r.type === "aws:ec2/instance:Instance").sort((a, b) => a.name.localeCompare(b.name));
        assert.deepEqual(
            nodes.map((n) => [n.name, n.ignoreChanges]),
            [
                ["redis-node-1", ["ami"]],
                ["redis-node-2", ["ami"]],
                ["redis-node-3", []],
            ],
        );
    });

    it("global: the accelerator (its static IPs), the listener the sites hang on, the published ARN, the public record and the writer lease's table are protected", async () => {
        const run = requireSuccess(await runProgram({ stack: "global", config: { "ecommerce:publicZoneId": "Z0123456789ABCDEFGHIJ" } }));
        const relevant = run.resources.filter((r) => r.protect || r.retainOnDelete || r.deleteBeforeReplace || r.ignoreChanges.length > 0);
        assert.deepEqual(relevant.map(options).sort(), [
            guarded("aws:dynamodb/table:Table", "lease-table"),
            guarded("aws:globalaccelerator/accelerator:Accelerator", "vip-accelerator"),
            guarded("aws:globalaccelerator/listener:Listener", "vip-listener"),
            guarded("aws:route53/record:Record", "vip-site-record"),
            guarded("aws:ssm/parameter:Parameter", "vip-listener-arn"),
        ]);
    });

    for (const stack of ["primary", "dr"]) {
        it(`${stack}: protect, ignoreChanges, retainOnDelete and deleteBeforeReplace are exactly as designed`, async () => {
            const run = await loadStack(stack);
            const relevant = run.resources.filter(
                (r) =>
                    PROTECTED_TYPES.includes(r.type) ||
                    r.protect ||
                    r.retainOnDelete ||
                    r.deleteBeforeReplace ||
                    r.ignoreChanges.length > 0,
            );
            assert.deepEqual(relevant.map(options).sort(), [...EXPECTED].sort());
        });
    }
});
