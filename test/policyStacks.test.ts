import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "../offline/stackConfig";
import { ALL_POLICIES } from "../policies/all";
import { mandatoryViolations, runPolicies } from "../offline/policyRunner";
import { JUDGED_AS_OF } from "./support/asOf";
import { loadStack, requireSuccess, runProgram, RecordedResource, StackRun } from "../offline/run";

/** A copy of `run` with one resource changed (inputs and outputs alike), or removed. */
function mutate(
    run: StackRun,
    type: string,
    name: string,
    change: ((inputs: Record<string, any>) => Record<string, any>) | "remove",
): StackRun {
    const target = run.resources.find((r) => r.type === type && r.name === name);
    assert.ok(target, `${type} ${name} exists in ${run.stack}`);
    const resources =
        change === "remove"
            ? run.resources.filter((r) => r !== target)
            : run.resources.map((r): RecordedResource =>
                  r === target ? { ...r, inputs: change(structuredClone(r.inputs)), outputs: change(structuredClone(r.outputs)) } : r,
              );
    return { ...run, resources };
}

const failures = (run: StackRun) =>
    mandatoryViolations(runPolicies(run, ALL_POLICIES, JUDGED_AS_OF)).map((v) => `${v.policy}: ${v.message}`);

describe("policy pack on the real program", () => {
    for (const stack of ["global", "primary", "dr"]) {
        describe(`stack ${stack}`, () => {
            it("passes every mandatory policy", async () => {
                assert.deepEqual(failures(await loadStack(stack)), []);
            });

            it("has every policy meant for its kind of stack examine at least one resource (no vacuous pass)", async () => {
                const verdicts = runPolicies(await loadStack(stack), ALL_POLICIES, JUDGED_AS_OF);
                assert.equal(verdicts.length, ALL_POLICIES.length);
                assert.deepEqual(
                    verdicts.filter((v) => v.examined === 0 && v.notApplicable === undefined).map((v) => v.policy),
                    [],
                );
                // The global stack holds the accelerator; the sites hold everything else.
                const applicable = verdicts.filter((v) => v.notApplicable === undefined).map((v) => v.policy);
                assert.deepEqual(
                    applicable,
                    stack === "global"
                        ? [
                              "allowed-regions",
                              "approved-versions",
                              "lambda-runtime-deprecation-ending",
                              "one-accelerator",
                              "writer-lease-store",
                          ]
                        : ALL_POLICIES.map((p) => p.name).filter((name) => name !== "writer-lease-store"),
                );
            });

            it("gives a first preview (IDs unknown) the same verdicts and counts as an update", async () => {
                const summary = (run: StackRun) =>
                    runPolicies(run, ALL_POLICIES, JUDGED_AS_OF).map((v) => ({
                        policy: v.policy,
                        examined: v.examined,
                        violations: v.violations.map((x) => x.message),
                        cannotRun: v.cannotRun,
                    }));
                const preview = summary(await loadStack(stack, true));
                assert.deepEqual(preview, summary(await loadStack(stack)));
                assert.deepEqual(
                    preview.flatMap((v) => v.cannotRun),
                    [],
                );
            });
        });
    }

    describe("mutations of the recorded graph", () => {
        it("fails instance-size-by-tier when a Redis node changes size", async () => {
            const run = mutate(await loadStack("primary"), "aws:ec2/instance:Instance", "redis-node-2", (p) => ({
                ...p,
                instanceType: "t3.medium",
            }));
            assert.deepEqual(failures(run), [
                "instance-size-by-tier: EC2 instance redis-node-2 (tier redis) is t3.medium; allowed: t3.large",
            ]);
        });

        it("fails tier-az-spread when a Redis node moves into another node's zone", async () => {
            const run = mutate(await loadStack("primary"), "aws:ec2/instance:Instance", "redis-node-3", (p) => ({
                ...p,
                availabilityZone: "us-east-2b",
            }));
            assert.deepEqual(failures(run), [
                "tier-az-spread: redis tier: 3 nodes spans 2 AZs (us-east-2a, us-east-2b); expected at least 3 (us-east-2 has 3 usable)",
                "tier-az-spread: redis tier: us-east-2b holds 2 of 3 nodes, a majority",
            ]);
        });

        it("fails tier-counts when a replica is cut", async () => {
            const run = mutate(await loadStack("dr"), "aws:rds/instance:Instance", "db-replica-2", "remove");
            assert.deepEqual(failures(run), ["tier-counts: db tier: expected 1 writer and 2 replicas, found 1 writer and 1 replicas"]);
        });

        it("fails tier-mark-required and instance-size-by-tier when the web launch template loses its tier mark", async () => {
            const run = mutate(await loadStack("primary"), "aws:ec2/launchTemplate:LaunchTemplate", "web-lt", (p) => {
                const { Tier: _removed, ...rest } = p.tags;
                return { ...p, tags: rest };
            });
            assert.deepEqual(failures(run), [
                "instance-size-by-tier: launch template web-lt (t3.xlarge) has no Tier mark, so its size cannot be checked",
                "tier-mark-required: aws:ec2/launchTemplate:LaunchTemplate web-lt has no Tier mark (tag Tier: one of network, web, redis, db, monitoring, traffic)",
            ]);
        });

        it("fails encryption-at-rest when the writer's storage encryption is turned off", async () => {
            const run = mutate(await loadStack("dr"), "aws:rds/instance:Instance", "db-writer", (p) => ({ ...p, storageEncrypted: false }));
            assert.deepEqual(failures(run), ["encryption-at-rest: RDS instance db-writer does not encrypt its storage (storageEncrypted)"]);
        });

        it("fails world-ingress-only-alb when the Redis group is opened to the world", async () => {
            const run = mutate(
                await loadStack("primary"),
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                "redis-in-self-redis",
                (p) => {
                    const { referencedSecurityGroupId: _removed, ...rest } = p;
                    return { ...rest, cidrIpv4: "0.0.0.0/0" };
                },
            );
            assert.deepEqual(failures(run), [
                "world-ingress-only-alb: aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule redis-in-self-redis opens tcp 6379 to the world on security group redis-sg, which no application load balancer uses",
            ]);
        });

        it("fails protect-data-resources when the writer loses protect", async () => {
            const primary = await loadStack("primary");
            const run = {
                ...primary,
                resources: primary.resources.map((r) =>
                    r.name === "db-writer" && r.type === "aws:rds/instance:Instance" ? { ...r, protect: false } : r,
                ),
            };
            assert.deepEqual(failures(run), [
                "protect-data-resources: aws:rds/instance:Instance db-writer holds data but is not protected (resource option protect: true)",
            ]);
        });
    });

    describe("violations reached through config", () => {
        const cases: [string, Record<string, string>, string[]][] = [
            [
                "a smaller web instance type",
                { "ecommerce:webInstanceType": "t3.large" },
                ["instance-size-by-tier: launch template web-lt (tier web) is t3.large; allowed: t3.xlarge"],
            ],
            [
                "4 web servers",
                { "ecommerce:webInstanceCount": "4" },
                ["tier-counts: web tier: Auto Scaling group web-asg runs min 4 / desired 4; expected 5 and 5"],
            ],
            [
                "one read replica",
                { "ecommerce:dbReplicaCount": "1" },
                ["tier-counts: db tier: expected 1 writer and 2 replicas, found 1 writer and 1 replicas"],
            ],
            [
                "a single-AZ writer",
                { "ecommerce:dbMultiAz": "false" },
                ["tier-az-spread: db tier: writer db-writer is not Multi-AZ (no standby in a second zone)"],
            ],
            [
                "another EKS node type",
                { "ecommerce:eksNodeInstanceType": "m5.large" },
                ["instance-size-by-tier: EKS node group monitoring-nodes (tier monitoring) is m5.large; allowed: t3.large"],
            ],
            [
                "another Redis type",
                { "ecommerce:redisInstanceType": "r6i.large" },
                [
                    "instance-size-by-tier: EC2 instance redis-node-1 (tier redis) is r6i.large; allowed: t3.large",
                    "instance-size-by-tier: EC2 instance redis-node-2 (tier redis) is r6i.large; allowed: t3.large",
                    "instance-size-by-tier: EC2 instance redis-node-3 (tier redis) is r6i.large; allowed: t3.large",
                ],
            ],
        ];
        for (const [what, config, expected] of cases) {
            it(`fails the right policy with ${what}`, async () => {
                const run = requireSuccess(await runProgram({ stack: "primary", config }));
                assert.deepEqual(failures(run), expected);
            });
        }
    });
});

// Here rather than in test/readme.test.ts: this file runs the three stacks already (each run
// costs the suite seconds of CPU), and the documentation must list what they build.
describe("the README's component list", () => {
    it("is exactly the components the plan builds in its three stacks", async function () {
        this.timeout(60_000);
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
        const listed = /<!-- components:start -->\n([\s\S]*?)\n<!-- components:end -->/.exec(readme);
        assert.ok(listed, "the README has no components markers");
        const documented = [...listed[1].matchAll(/`(ecommerce:[\w:]+)`/g)].map((m) => m[1]).sort();
        const runs = await Promise.all(["primary", "dr", "global"].map((stack) => loadStack(stack)));
        const built = [
            ...new Set(runs.flatMap((run) => run.resources.map((r) => r.type)).filter((t) => t.startsWith("ecommerce:"))),
        ].sort();
        assert.ok(built.length >= 9, built.join(", "));
        assert.deepEqual(documented, built);
    });
});
