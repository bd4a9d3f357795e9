import { strict as assert } from "assert";
import type { PolicyPackConfig, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { ALL_POLICIES } from "../policies/all";
import { tierCounts } from "../policies/counts";
import { tierMarkRequired } from "../policies/marks";
import { worldIngressOnlyOnAlb } from "../policies/network";
import { allowedRegions } from "../policies/regions";
import {
    encryptionAtRest,
    eksEndpointRestricted,
    imdsv2Required,
    noPublicExposure,
    protectDataResources,
    rdsBackupsAndDeletionProtection,
} from "../policies/security";
import { instanceSizeByTier } from "../policies/sizes";
import { tierAzSpread } from "../policies/spread";
import { s3Encrypted, s3PublicAccessBlocked } from "../policies/storage";
import { clientIpPreservation, endpointGroupPerSite, noPublicOrigin, oneAccelerator, standbyGetsNoTraffic } from "../policies/traffic";
import { imageProblem } from "../lib/advisories";
import { approvedVersions, eksStandardSupportEnding, imagesIn, lambdaRuntimeDeprecationEnding } from "../policies/versions";
import { writerAgentPerSite, writerLeaseStore } from "../policies/failover";
import { AS_OF, JUDGED_AS_OF } from "./support/asOf";
import { res, stackOf, subnets, tags } from "./support/fixtures";
import { PolicyVerdict, runPolicies } from "../offline/policyRunner";
import { loadStack, type RecordedResource } from "../offline/run";

function verdict(
    policy: ResourceValidationPolicy | StackValidationPolicy,
    resources: RecordedResource[],
    config: PolicyPackConfig = {},
    region = "us-east-2",
): PolicyVerdict {
    const [v] = runPolicies(stackOf(resources, region), [policy], config);
    return v;
}
const messages = (v: PolicyVerdict) => v.violations.map((x) => x.message);

// --- fixtures of a compliant platform, one piece at a time -----------------------------------
const useast2 = () => subnets(["use2-az1", "use2-az2", "use2-az3"]);
const webLt = (over: Record<string, any> = {}) =>
    res("aws:ec2/launchTemplate:LaunchTemplate", "web-lt", {
        instanceType: "t3.xlarge",
        metadataOptions: { httpTokens: "required" },
        blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true", volumeType: "gp3" } }],
        networkInterfaces: [{ associatePublicIpAddress: "false" }],
        tags: tags("web"),
        ...over,
    });
const webAsg = (subnetsOf: RecordedResource[], over: Record<string, any> = {}) =>
    res(
        "aws:autoscaling/group:Group",
        "web-asg",
        {
            minSize: 5,
            desiredCapacity: 5,
            maxSize: 10,
            tags: [{ key: "Tier", value: "web", propagateAtLaunch: true }],
            ...over,
        },
        { deps: { vpcZoneIdentifiers: subnetsOf } },
    );
const redisNode = (i: number, zone: string, over: Record<string, any> = {}) =>
    res("aws:ec2/instance:Instance", `redis-node-${i}`, {
        instanceType: "t3.large",
        availabilityZone: zone,
        metadataOptions: { httpTokens: "required" },
        rootBlockDevice: { encrypted: true },
        userData: "#cloud-config\nIMAGE='public.ecr.aws/docker/library/redis:6.2.20'\n",
        tags: tags("redis"),
        ...over,
    });
const dbInstance = (name: string, over: Record<string, any> = {}, o: Parameters<typeof res>[3] = {}) =>
    res(
        "aws:rds/instance:Instance",
        name,
        {
            instanceClass: "db.t3.2xlarge",
            engine: "mysql",
            engineVersion: "8.4",
            engineLifecycleSupport: "open-source-rds-extended-support-disabled",
            storageEncrypted: true,
            publiclyAccessible: false,
            deletionProtection: true,
            backupRetentionPeriod: 14,
            multiAz: true,
            tags: tags("db"),
            ...over,
        },
        { protect: true, ...o },
    );
const nodeGroup = (subnetsOf: RecordedResource[], over: Record<string, any> = {}) =>
    res(
        "eks:index:ManagedNodeGroup",
        "monitoring-nodes",
        {
            instanceTypes: ["t3.large"],
            scalingConfig: { minSize: 2, desiredSize: 2, maxSize: 4 },
            tags: tags("monitoring"),
            ...over,
        },
        { deps: { subnetIds: subnetsOf } },
    );

/** A compliant stack for the count and spread policies. */
function platform(): RecordedResource[] {
    const s = useast2();
    const subnetGroup = res("aws:rds/subnetGroup:SubnetGroup", "db-subnets", {}, { deps: { subnetIds: s } });
    return [
        ...s,
        webAsg(s),
        redisNode(1, "us-east-2a"),
        redisNode(2, "us-east-2b"),
        redisNode(3, "us-east-2c"),
        subnetGroup,
        dbInstance("db-writer", {}, { deps: { dbSubnetGroupName: [subnetGroup] } }),
        dbInstance("db-replica-1", { replicateSourceDb: "db-w", availabilityZone: "us-east-2a", backupRetentionPeriod: 0, multiAz: false }),
        dbInstance("db-replica-2", { replicateSourceDb: "db-w", availabilityZone: "us-east-2b", backupRetentionPeriod: 0, multiAz: false }),
        nodeGroup(s),
    ];
}
const replace = (list: RecordedResource[], name: string, make: (r: RecordedResource) => RecordedResource) =>
    list.map((r) => (r.name === name ? make(r) : r));
const withInputs = (r: RecordedResource, over: Record<string, any>) =>
    res(
        r.type,
        r.name,
        { ...r.inputs, ...over },
        {
            protect: r.protect,
            deps: Object.fromEntries(
                Object.entries(r.propertyDependencies).map(([k, urns]) => [k, urns.map((u) => ({ urn: u }) as RecordedResource)]),
            ),
        },
    );

describe("policy pack", () => {
    it("names every policy in kebab-case, once, with a one-sentence description and an enforcement level", () => {
        const names = ALL_POLICIES.map((p) => p.name);
        assert.equal(new Set(names).size, names.length);
        for (const p of ALL_POLICIES) {
            assert.match(p.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
            assert.match(p.description, /^[A-Z][^]*\.$/);
            assert.equal((p.description.match(/\. [A-Z]/g) ?? []).length, 0, `${p.name}: one sentence`);
            // Only the early warning is advisory; everything else fails a preview.
            const advisory = ["eks-standard-support-ending", "lambda-runtime-deprecation-ending"];
            assert.equal(p.enforcementLevel, advisory.includes(p.name) ? "advisory" : "mandatory", p.name);
        }
    });

    it("has the policies the design card asks for", () => {
        assert.deepEqual(
            ALL_POLICIES.map((p) => p.name),
            [
                "instance-size-by-tier",
                "tier-counts",
                "tier-az-spread",
                "tier-mark-required",
                "allowed-regions",
                "approved-versions",
                "eks-standard-support-ending",
                "lambda-runtime-deprecation-ending",
                "encryption-at-rest",
                "s3-encrypted",
                "s3-public-access-blocked",
                "imdsv2-required",
                "no-public-exposure",
                "world-ingress-only-alb",
                "rds-backups-and-deletion-protection",
                "eks-endpoint-restricted",
                "protect-data-resources",
                "one-accelerator",
                "endpoint-group-per-site",
                "standby-gets-no-traffic",
                "accelerator-client-ip-preservation",
                "no-public-origin",
                "backup-buckets-elsewhere",
                "rds-backups-replicated",
                "writer-lease-store",
                "writer-agent-per-site",
            ],
        );
    });
});

describe("instance-size-by-tier", () => {
    it("passes the seed's size for each tier", () => {
        const v = verdict(instanceSizeByTier, [webLt(), redisNode(1, "us-east-2a"), dbInstance("db-writer"), nodeGroup([])]);
        assert.deepEqual(messages(v), []);
        assert.equal(v.examined, 4);
    });
    it("fails a web launch template of another size", () => {
        assert.deepEqual(messages(verdict(instanceSizeByTier, [webLt({ instanceType: "t3.large" })])), [
            "launch template web-lt (tier web) is t3.large; allowed: t3.xlarge",
        ]);
    });
    it("fails a Redis node of another size", () => {
        assert.deepEqual(messages(verdict(instanceSizeByTier, [redisNode(1, "us-east-2a", { instanceType: "m5.large" })])), [
            "EC2 instance redis-node-1 (tier redis) is m5.large; allowed: t3.large",
        ]);
    });
    it("fails an RDS instance of another class", () => {
        assert.deepEqual(messages(verdict(instanceSizeByTier, [dbInstance("db-writer", { instanceClass: "db.r6g.large" })])), [
            "RDS instance db-writer (tier db) is db.r6g.large; allowed: db.t3.2xlarge",
        ]);
    });
    it("fails an EKS node group with a type of another size", () => {
        assert.deepEqual(messages(verdict(instanceSizeByTier, [nodeGroup([], { instanceTypes: ["t3.large", "t3.2xlarge"] })])), [
            "EKS node group monitoring-nodes (tier monitoring) is t3.2xlarge; allowed: t3.large",
        ]);
    });
    it("fails an instance without a Tier mark rather than letting it escape", () => {
        assert.deepEqual(messages(verdict(instanceSizeByTier, [redisNode(1, "us-east-2a", { tags: {} })])), [
            "EC2 instance redis-node-1 (t3.large) has no Tier mark, so its size cannot be checked",
        ]);
    });
    it("fails a tier that allows no sizes", () => {
        assert.deepEqual(messages(verdict(instanceSizeByTier, [redisNode(1, "us-east-2a", { tags: tags("network") })])), [
            "EC2 instance redis-node-1: tier network allows no instance sizes (policy config allowedSizes.network)",
        ]);
    });
    it("takes the allowed sizes from policy config", () => {
        const config = { "instance-size-by-tier": { allowedSizes: { redis: ["t3.large", "r6i.large"] } } };
        assert.deepEqual(messages(verdict(instanceSizeByTier, [redisNode(1, "us-east-2a", { instanceType: "r6i.large" })], config)), []);
    });
    it("skips a launch template that leaves the type to its node group", () => {
        const v = verdict(instanceSizeByTier, [webLt({ instanceType: undefined })]);
        assert.equal(v.examined, 0);
    });
});

describe("tier-counts", () => {
    it("passes 5 web, 3 Redis, 1 writer + 2 replicas, 2 EKS nodes", () => {
        const v = verdict(tierCounts, platform());
        assert.deepEqual(messages(v), []);
        assert.equal(v.examined, 8);
    });
    it("fails a web group that runs fewer than 5", () => {
        assert.deepEqual(
            messages(
                verdict(
                    tierCounts,
                    replace(platform(), "web-asg", (r) => withInputs(r, { minSize: 4 })),
                ),
            ),
            ["web tier: Auto Scaling group web-asg runs min 4 / desired 5; expected 5 and 5"],
        );
    });
    it("fails a stack without a web group", () => {
        assert.deepEqual(
            messages(
                verdict(
                    tierCounts,
                    platform().filter((r) => r.name !== "web-asg"),
                ),
            ),
            ["web tier: expected 1 Auto Scaling group, found 0"],
        );
    });
    it("fails two Redis nodes", () => {
        assert.deepEqual(
            messages(
                verdict(
                    tierCounts,
                    platform().filter((r) => r.name !== "redis-node-3"),
                ),
            ),
            ["redis tier: expected 3 instances, found 2"],
        );
    });
    it("fails one replica", () => {
        assert.deepEqual(
            messages(
                verdict(
                    tierCounts,
                    platform().filter((r) => r.name !== "db-replica-2"),
                ),
            ),
            ["db tier: expected 1 writer and 2 replicas, found 1 writer and 1 replicas"],
        );
    });
    it("fails an EKS node group of one node", () => {
        assert.deepEqual(
            messages(
                verdict(
                    tierCounts,
                    replace(platform(), "monitoring-nodes", (r) =>
                        withInputs(r, { scalingConfig: { minSize: 1, desiredSize: 1, maxSize: 2 } }),
                    ),
                ),
            ),
            ["monitoring tier: EKS node groups run min 1 / desired 1 nodes; expected at least 2"],
        );
    });
    it("counts a node group once when the engine shows both the component and its child", () => {
        const list = platform();
        const component = list.find((r) => r.name === "monitoring-nodes")!;
        const child = res(
            "aws:eks/nodeGroup:NodeGroup",
            "monitoring-nodes",
            { instanceTypes: ["t3.large"], scalingConfig: { minSize: 2, desiredSize: 2 }, tags: tags("monitoring") },
            { parent: component },
        );
        const v = verdict(tierCounts, [...list, child]);
        assert.deepEqual(messages(v), []);
        assert.equal(v.examined, 8);
    });
    it("fails a stack with nothing to count, instead of passing it", () => {
        const v = verdict(tierCounts, []);
        assert.equal(v.examined, 0);
        assert.ok(messages(v).includes("tier-counts examined no resources: the resources it checks, or their Tier marks, are missing"));
    });
});

describe("tier-az-spread", () => {
    it("passes every tier spread over the three zones of us-east-2", () => {
        const v = verdict(tierAzSpread, platform());
        assert.deepEqual(messages(v), []);
        assert.equal(v.examined, 8);
    });
    it("passes two-zone spreads in us-west-1, where two Redis nodes must share a zone", () => {
        const s = subnets(["usw1-az1", "usw1-az3"]);
        const group = res("aws:rds/subnetGroup:SubnetGroup", "db-subnets", {}, { deps: { subnetIds: s } });
        const list = [
            ...s,
            webAsg(s),
            redisNode(1, "us-west-1c"),
            redisNode(2, "us-west-1b"),
            redisNode(3, "us-west-1c"),
            group,
            dbInstance("db-writer", { replicateSourceDb: "arn:aws:rds:us-east-2:1:db:w" }, { deps: { dbSubnetGroupName: [group] } }),
            dbInstance("db-replica-1", { replicateSourceDb: "w", availabilityZone: "us-west-1c", multiAz: false }),
            dbInstance("db-replica-2", { replicateSourceDb: "w", availabilityZone: "us-west-1b", multiAz: false }),
            nodeGroup(s),
        ];
        assert.deepEqual(messages(verdict(tierAzSpread, list, {}, "us-west-1")), []);
    });
    it("fails a web group in two of three zones", () => {
        const s = useast2();
        assert.deepEqual(
            messages(
                verdict(
                    tierAzSpread,
                    replace(platform(), "web-asg", () => webAsg(s.slice(0, 2))),
                ),
            ),
            [
                "web tier: Auto Scaling group web-asg spans 2 AZs (use2-az1, use2-az2); expected at least 3 (us-east-2 has 3 usable)",
                "web tier: Auto Scaling group web-asg puts 3 of 5 instances in one zone, a majority",
            ],
        );
    });
    it("fails a Redis node moved into a zone that then holds a majority", () => {
        assert.deepEqual(
            messages(
                verdict(
                    tierAzSpread,
                    replace(platform(), "redis-node-3", () => redisNode(3, "us-east-2a")),
                ),
            ),
            [
                "redis tier: 3 nodes spans 2 AZs (us-east-2a, us-east-2b); expected at least 3 (us-east-2 has 3 usable)",
                "redis tier: us-east-2a holds 2 of 3 nodes, a majority",
            ],
        );
    });
    it("fails a writer that is not Multi-AZ", () => {
        assert.deepEqual(
            messages(
                verdict(
                    tierAzSpread,
                    replace(platform(), "db-writer", (r) => withInputs(r, { multiAz: false })),
                ),
            ),
            ["db tier: writer db-writer is not Multi-AZ (no standby in a second zone)"],
        );
    });
    it("fails replicas that share a zone", () => {
        assert.deepEqual(
            messages(
                verdict(
                    tierAzSpread,
                    replace(platform(), "db-replica-2", (r) => withInputs(r, { availabilityZone: "us-east-2a" })),
                ),
            ),
            ["db tier: db-replica-1 and db-replica-2 share us-east-2a; us-east-2 has 3 zones, so each can have its own"],
        );
    });
    it("passes Multi-AZ replicas that RDS places (no zone pinned), and fails a single-AZ replica pinned to no zone", () => {
        const multiAz = (r: RecordedResource) => withInputs(r, { availabilityZone: undefined, multiAz: true });
        assert.deepEqual(
            messages(verdict(tierAzSpread, replace(replace(platform(), "db-replica-1", multiAz), "db-replica-2", multiAz))),
            [],
        );
        assert.deepEqual(
            messages(
                verdict(
                    tierAzSpread,
                    replace(platform(), "db-replica-2", (r) => withInputs(r, { availabilityZone: undefined })),
                ),
            ),
            ["db tier: replica db-replica-2 is pinned to no zone and not Multi-AZ"],
        );
    });
    it("fails a DB subnet group in one zone", () => {
        const s = useast2();
        const narrow = res("aws:rds/subnetGroup:SubnetGroup", "db-subnets", {}, { deps: { subnetIds: s.slice(0, 1) } });
        const list = replace(
            replace(platform(), "db-subnets", () => narrow),
            "db-writer",
            () => dbInstance("db-writer", {}, { deps: { dbSubnetGroupName: [narrow] } }),
        );
        assert.deepEqual(messages(verdict(tierAzSpread, list)), [
            "db tier: subnet group db-subnets spans 1 AZ (use2-az1); expected at least 3 (us-east-2 has 3 usable)",
        ]);
    });
    it("fails an EKS node group in one zone", () => {
        assert.deepEqual(
            messages(
                verdict(
                    tierAzSpread,
                    replace(platform(), "monitoring-nodes", () => nodeGroup(useast2().slice(0, 1))),
                ),
            ),
            ["monitoring tier: EKS node group monitoring-nodes spans 1 AZ (use2-az1); expected at least 3 (us-east-2 has 3 usable)"],
        );
    });
    it("fails a region whose zone count it does not know", () => {
        assert.deepEqual(messages(verdict(tierAzSpread, platform(), {}, "eu-west-3")).slice(0, 1), [
            "cannot tell how many zones region eu-west-3 offers: add it to policy config usableZones",
        ]);
    });
});

describe("tier-mark-required", () => {
    it("passes compute and data resources marked with a known tier", () => {
        const v = verdict(tierMarkRequired, [
            webLt(),
            webAsg([]),
            redisNode(1, "a"),
            dbInstance("db"),
            nodeGroup([]),
            res("aws:s3/bucket:Bucket", "logs", { tags: tags("web") }),
        ]);
        assert.deepEqual(messages(v), []);
        assert.equal(v.examined, 6);
    });
    it("fails an unmarked instance", () => {
        assert.deepEqual(messages(verdict(tierMarkRequired, [redisNode(1, "a", { tags: { Name: "x" } })])), [
            "aws:ec2/instance:Instance redis-node-1 has no Tier mark (tag Tier: one of network, web, redis, db, monitoring, traffic)",
        ]);
    });
    it("fails an unknown tier", () => {
        assert.deepEqual(messages(verdict(tierMarkRequired, [dbInstance("db", { tags: tags("cache") })])), [
            "aws:rds/instance:Instance db is marked Tier=cache; expected one of network, web, redis, db, monitoring, traffic",
        ]);
    });
    it("accepts an EKS node group's tier label", () => {
        assert.deepEqual(
            messages(verdict(tierMarkRequired, [nodeGroup([], { tags: {}, labels: { "ecommerce/tier": "monitoring" } })])),
            [],
        );
    });
});

describe("allowed-regions", () => {
    it("passes resources in the stack's configured region", () => {
        const v = verdict(allowedRegions, [
            redisNode(1, "a"),
            res("aws:secretsmanager/secret:Secret", "s", { replicas: [{ region: "us-west-1" }] }),
        ]);
        assert.deepEqual(messages(v), []);
        assert.equal(v.examined, 2);
    });
    it("fails a stack in another region", () => {
        assert.deepEqual(messages(verdict(allowedRegions, [redisNode(1, "a")], {}, "eu-west-1")), [
            "aws:ec2/instance:Instance redis-node-1 is in eu-west-1; allowed regions: us-east-2, us-west-1, us-west-2, us-east-1",
        ]);
    });
    it("fails a resource whose own region input is elsewhere", () => {
        assert.deepEqual(messages(verdict(allowedRegions, [res("aws:s3/bucket:Bucket", "b", { region: "ap-south-1" })])), [
            "aws:s3/bucket:Bucket b is in ap-south-1; allowed regions: us-east-2, us-west-1, us-west-2, us-east-1",
        ]);
    });
    it("fails a secret replicated to another region", () => {
        assert.deepEqual(
            messages(verdict(allowedRegions, [res("aws:secretsmanager/secret:Secret", "s", { replicas: [{ region: "eu-central-1" }] })])),
            [
                "aws:secretsmanager/secret:Secret s has a replica in eu-central-1; allowed regions: us-east-2, us-west-1, us-west-2, us-east-1",
            ],
        );
    });
    it("fails a database replicating from another region", () => {
        assert.deepEqual(
            messages(verdict(allowedRegions, [dbInstance("w", { replicateSourceDb: "arn:aws:rds:eu-west-1:123456789012:db:x" })])),
            [
                "aws:rds/instance:Instance w has a replication source in eu-west-1; allowed regions: us-east-2, us-west-1, us-west-2, us-east-1",
            ],
        );
    });
    it("fails a resource whose region cannot be determined", () => {
        const run = { ...stackOf([redisNode(1, "a")]), config: {} };
        assert.deepEqual(
            runPolicies(run, [allowedRegions])[0].violations.map((v) => v.message),
            ["aws:ec2/instance:Instance redis-node-1: its region cannot be determined (no region input, no provider region)"],
        );
    });
    it("takes the allowed regions from policy config", () => {
        assert.deepEqual(
            messages(verdict(allowedRegions, [redisNode(1, "a")], { "allowed-regions": { allowedRegions: ["us-east-2"] } })),
            [],
        );
    });
});

describe("EKS versions against the EKS calendar (approved-versions, eks-standard-support-ending)", () => {
    const cluster = (version: string) => res("eks:index:Cluster", "monitoring-eks", { version, tags: tags("monitoring") });
    const nodes = (version: string) => res("eks:index:ManagedNodeGroup", "monitoring-nodes", { version, tags: tags("monitoring") });
    const on = (date: string) => ({
        "approved-versions": { evaluationDate: date },
        "eks-standard-support-ending": { evaluationDate: date },
    });
    const both = (version: string, date: string) => ({
        approved: messages(verdict(approvedVersions, [cluster(version), nodes(version)], on(date))),
        warning: messages(verdict(eksStandardSupportEnding, [cluster(version), nodes(version)], on(date))),
    });
    const calendar = "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html (release calendar)";

    it("passes 1.35 on 2026-11-30, 117 days before its end of standard support, examining the cluster and its node group", () => {
        assert.deepEqual(both("1.35", "2026-11-30"), { approved: [], warning: [] });
        assert.equal(verdict(eksStandardSupportEnding, [cluster("1.35"), nodes("1.35")], on("2026-11-30")).examined, 2);
    });

    it("warns, without failing, on 1.34 two days before its end of standard support", () => {
        const warning = (name: string) =>
            `EKS ${name} runs Kubernetes 1.34, whose EKS standard support ends on 2026-12-02 (in 2 days, ${calendar}): plan the upgrade (ecommerce:eksVersion) before EKS upgrades the cluster by itself`;
        assert.deepEqual(both("1.34", "2026-11-30"), { approved: [], warning: [warning("monitoring-eks"), warning("monitoring-nodes")] });
    });

    it("warns from exactly 60 days before the end, not 61", () => {
        assert.equal(both("1.35", "2027-01-26").warning.length, 2);
        assert.deepEqual(both("1.35", "2027-01-25").warning, []);
    });

    it("fails approved-versions from the end date itself (extended support starts that day), and warns no more", () => {
        const failure = (name: string) =>
            `EKS ${name} runs Kubernetes 1.34, out of EKS standard support since 2026-12-02 (${calendar}): EKS upgrades such a cluster by itself and every later pulumi up plans a downgrade it refuses; move to a supported version`;
        assert.deepEqual(both("1.34", "2026-12-02"), { approved: [failure("monitoring-eks"), failure("monitoring-nodes")], warning: [] });
        assert.deepEqual(both("1.34", "2026-12-01").approved, []);
    });

    it("fails a version the calendar does not list", () => {
        assert.deepEqual(messages(verdict(approvedVersions, [cluster("1.29")], on("2026-11-30"))), [
            "EKS monitoring-eks runs Kubernetes 1.29, which the EKS calendar of lib/advisories.ts does not list (as of 2026-12-02); add its row with its end of standard support",
        ]);
    });

    it("passes the stacks as configured, 1.36 with 245 days of standard support left on the tables' date", async () => {
        for (const stack of ["primary", "dr"]) {
            const [approved, warning] = runPolicies(await loadStack(stack), [approvedVersions, eksStandardSupportEnding], JUDGED_AS_OF);
            assert.deepEqual([approved.violations, warning.violations, warning.examined], [[], [], 2], stack);
        }
    });
});

describe("Lambda runtimes against the Lambda calendar (approved-versions, lambda-runtime-deprecation-ending)", () => {
    const fn = (runtime: string | undefined) =>
        res("aws:lambda/function:Function", "failover-function", { runtime, tags: tags("failover") });
    const on = (date: string) => ({
        "approved-versions": { evaluationDate: date },
        "lambda-runtime-deprecation-ending": { evaluationDate: date },
    });
    const both = (runtime: string | undefined, date: string) => ({
        approved: messages(verdict(approvedVersions, [fn(runtime)], on(date))),
        warning: messages(verdict(lambdaRuntimeDeprecationEnding, [fn(runtime)], on(date))),
    });
    const calendar = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html (supported and deprecated runtimes)";

    it("refuses nodejs20.x on 2026-12-02: deprecated since 2026-04-30, creation refused from 2027-02-01, updates from 2027-03-03", () => {
        assert.deepEqual(both("nodejs20.x", "2026-12-02"), {
            approved: [
                `Lambda function failover-function runs nodejs20.x, deprecated since 2026-04-30 (function creation refused from 2027-02-01, updates from 2027-03-03; ${calendar}, as read by cfn-lint LmbdRuntimeLifecycle.json (2026-06-02)): move to a runtime in standard support`,
            ],
            warning: [],
        });
    });

    it("passes nodejs24.x on 2026-12-02 and nodejs22.x until 60 days before its deprecation, then warns without failing", () => {
        assert.deepEqual(both("nodejs24.x", "2026-12-02"), { approved: [], warning: [] });
        assert.deepEqual(both("nodejs22.x", "2027-02-28"), { approved: [], warning: [] });
        assert.deepEqual(both("nodejs22.x", "2027-03-01"), {
            approved: [],
            warning: [
                `Lambda function failover-function runs nodejs22.x, deprecated on 2027-04-30 (in 60 days; creation refused from 2027-06-01, updates from 2027-07-01; ${calendar}): move to a newer runtime before then`,
            ],
        });
        assert.equal(both("nodejs22.x", "2027-04-30").approved.length, 1, "refused from the deprecation day itself");
        assert.equal(both("nodejs22.x", "2027-04-29").approved.length, 0);
    });

    it("fails a runtime the calendar does not list, and leaves a container-image function (no runtime) alone", () => {
        assert.deepEqual(both("nodejs16.x", "2026-12-02").approved, [
            `Lambda function failover-function runs nodejs16.x, which the Lambda calendar of lib/advisories.ts does not list (as of ${AS_OF}); add its row with its deprecation dates`,
        ]);
        assert.equal(verdict(approvedVersions, [fn(undefined)], on("2026-12-02")).examined, 0);
    });

    it("passes the stacks' functions on the tables' date: the controller, the writer agent and the replica reader per site, the witness in global", async () => {
        for (const [stack, functions] of [
            ["primary", 3],
            ["dr", 3],
            ["global", 1],
        ] as const) {
            const [approved, warning] = runPolicies(
                await loadStack(stack),
                [approvedVersions, lambdaRuntimeDeprecationEnding],
                JUDGED_AS_OF,
            );
            assert.deepEqual([approved.violations, warning.violations, warning.examined], [[], [], functions], stack);
        }
    });
});

describe("approved-versions", () => {
    it("passes MySQL 8.4 without Extended Support, a pinned fixed Redis and exact chart versions", () => {
        const release = res("kubernetes:helm.sh/v3:Release", "kps", { chart: "kube-prometheus-stack", version: "81.6.2" });
        const v = verdict(approvedVersions, [dbInstance("db"), redisNode(1, "a"), release]);
        assert.deepEqual(messages(v), []);
        assert.equal(v.examined, 3);
    });
    for (const [version, status] of [
        ["5.6.51", "RDS no longer creates it (end of life 2022-03-01)"],
        ["5.7.44", "paid RDS Extended Support only (standard support ended 2024-02-29)"],
        ["8.0.39", "paid RDS Extended Support only since 2026-08-01"],
    ]) {
        it(`fails MySQL ${version}`, () => {
            assert.deepEqual(messages(verdict(approvedVersions, [dbInstance("db", { engineVersion: version })])), [
                `RDS instance db runs mysql ${version}: ${status} (https://docs.aws.amazon.com/AmazonRDS/latest/MySQLReleaseNotes/mysql-release-calendar.html, as of 2026-12-02); allow it with policy config allowedEngineVersions`,
            ]);
        });
    }
    it("allows MySQL 8.0 when policy config says so (a planned migration)", () => {
        assert.deepEqual(
            messages(
                verdict(approvedVersions, [dbInstance("db", { engineVersion: "8.0.39" })], {
                    "approved-versions": { allowedEngineVersions: ["8.0"] },
                }),
            ),
            [],
        );
    });
    it("fails an RDS instance that would slide into paid Extended Support", () => {
        assert.deepEqual(
            messages(verdict(approvedVersions, [dbInstance("db", { engineLifecycleSupport: "open-source-rds-extended-support" })])),
            [
                "RDS instance db would be enrolled in paid RDS Extended Support when its version ages; set engineLifecycleSupport to open-source-rds-extended-support-disabled",
            ],
        );
    });
    it("fails the seed's Redis 6.2.6 (CVE-2025-49844)", () => {
        assert.deepEqual(messages(verdict(approvedVersions, [redisNode(1, "a", { userData: "IMAGE='redis:6.2.6'" })])), [
            "redis-node-1: image redis:6.2.6 is exposed to CVE-2025-49844 (Lua use-after-free, remote code execution, CVSS 10.0): use 6.2.20 or later (https://nvd.nist.gov/vuln/detail/CVE-2025-49844, as of 2026-12-02)",
        ]);
    });
    it("fails a floating image tag in base64 user data", () => {
        const userData = Buffer.from("#cloud-config\nruncmd:\n  - docker pull redis:latest\n").toString("base64");
        assert.deepEqual(messages(verdict(approvedVersions, [webLt({ userData })])), [
            "web-lt: image redis:latest uses a floating tag (latest); pin an exact version or a digest",
        ]);
    });
    it("fails a Helm release at a floating chart version", () => {
        const release = res("kubernetes:helm.sh/v3:Release", "kps", { chart: "kube-prometheus-stack", version: "^81.0.0" });
        assert.deepEqual(messages(verdict(approvedVersions, [release])), [
            "Helm release kps installs chart kube-prometheus-stack at a floating version (^81.0.0); pin an exact x.y.z",
        ]);
    });

    const images: [string, string[]][] = [
        [
            "IMAGE='public.ecr.aws/docker/library/redis:6.2.20'\ndocker run --network host \"$IMAGE\"",
            ["public.ecr.aws/docker/library/redis:6.2.20"],
        ],
        ["image: nginx:1.27.3", ["nginx:1.27.3"]],
        ["docker pull --quiet redis:7.2.4", ["redis:7.2.4"]],
        ['docker pull "$IMAGE"', []],
    ];
    for (const [text, expected] of images) {
        it(`finds ${JSON.stringify(expected)} in ${JSON.stringify(text)}`, () => assert.deepEqual(imagesIn(text), expected));
    }
    const problems: [string, string | undefined][] = [
        ["redis:6.2.20", undefined],
        [
            "redis:6.2.19",
            "image redis:6.2.19 is exposed to CVE-2025-49844 (Lua use-after-free, remote code execution, CVSS 10.0): use 6.2.20 or later (https://nvd.nist.gov/vuln/detail/CVE-2025-49844, as of 2026-12-02)",
        ],
        ["redis:7.2.11", undefined],
        [
            "redis:7.0.15",
            "image redis:7.0.15 is exposed to CVE-2025-49844 (Lua use-after-free, remote code execution, CVSS 10.0); the 7.0 line is end of life and gets no fix (https://nvd.nist.gov/vuln/detail/CVE-2025-49844, as of 2026-12-02)",
        ],
        ["redis:6.2", "image redis:6.2 uses a floating tag (6.2); pin an exact version or a digest"],
        ["redis", "image redis uses a floating tag (none, i.e. latest); pin an exact version or a digest"],
        [`redis@sha256:${"a".repeat(64)}`, undefined],
        ["nginx:1.27.3", undefined],
    ];
    for (const [image, expected] of problems) {
        it(`${expected ? "refuses" : "accepts"} ${image.slice(0, 40)}`, () => assert.equal(imageProblem(image), expected));
    }
});

describe("encryption-at-rest", () => {
    it("passes encrypted RDS, instance, launch template, volume and storage class", () => {
        const v = verdict(encryptionAtRest, [
            dbInstance("db"),
            redisNode(1, "a"),
            webLt(),
            res("aws:ebs/volume:Volume", "vol", { encrypted: true }),
            res("kubernetes:storage.k8s.io/v1:StorageClass", "gp3", { provisioner: "ebs.csi.aws.com", parameters: { encrypted: "true" } }),
        ]);
        assert.deepEqual(messages(v), []);
        assert.equal(v.examined, 5);
    });
    it("fails unencrypted RDS storage", () => {
        assert.deepEqual(messages(verdict(encryptionAtRest, [dbInstance("db", { storageEncrypted: false })])), [
            "RDS instance db does not encrypt its storage (storageEncrypted)",
        ]);
    });
    it("fails an unencrypted root volume", () => {
        assert.deepEqual(messages(verdict(encryptionAtRest, [redisNode(1, "a", { rootBlockDevice: { encrypted: false } })])), [
            "EC2 instance redis-node-1 has an unencrypted root volume",
        ]);
    });
    it("fails an unencrypted extra EBS volume", () => {
        assert.deepEqual(
            messages(verdict(encryptionAtRest, [redisNode(1, "a", { ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: false }] })])),
            ["EC2 instance redis-node-1 has an unencrypted EBS volume /dev/sdf"],
        );
    });
    it("fails an unencrypted launch template volume", () => {
        assert.deepEqual(
            messages(
                verdict(encryptionAtRest, [webLt({ blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "false" } }] })]),
            ),
            ["launch template web-lt has an unencrypted EBS volume /dev/xvda"],
        );
    });
    it("fails a launch template that leaves volume encryption to the AMI", () => {
        assert.deepEqual(messages(verdict(encryptionAtRest, [webLt({ blockDeviceMappings: [] })])), [
            "launch template web-lt does not declare its EBS volumes, so their encryption is the AMI's (declare them encrypted)",
        ]);
    });
    it("fails an unencrypted EBS volume resource", () => {
        assert.deepEqual(messages(verdict(encryptionAtRest, [res("aws:ebs/volume:Volume", "vol", { encrypted: false })])), [
            "EBS volume vol is not encrypted",
        ]);
    });
    it("fails an EBS storage class without encryption", () => {
        assert.deepEqual(
            messages(
                verdict(encryptionAtRest, [
                    res("kubernetes:storage.k8s.io/v1:StorageClass", "gp3", { provisioner: "ebs.csi.aws.com", parameters: {} }),
                ]),
            ),
            ['storage class gp3 creates unencrypted EBS volumes (parameters.encrypted must be "true")'],
        );
    });
});

describe("s3-encrypted and s3-public-access-blocked", () => {
    const bucket = res("aws:s3/bucket:Bucket", "logs", { tags: tags("web") });
    const sse = res(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "logs",
        { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
        { deps: { bucket: [bucket] } },
    );
    const block = (over: Record<string, boolean> = {}) =>
        res(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "logs",
            {
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
                ...over,
            },
            { deps: { bucket: [bucket] } },
        );

    it("passes a bucket with encryption and a full public access block, related by dependency", () => {
        assert.deepEqual(messages(verdict(s3Encrypted, [bucket, sse])), []);
        assert.deepEqual(messages(verdict(s3PublicAccessBlocked, [bucket, block()])), []);
    });
    it("fails a bucket without encryption configuration", () => {
        assert.deepEqual(messages(verdict(s3Encrypted, [bucket])), ["S3 bucket logs has no server-side encryption configuration"]);
    });
    it("fails a bucket without a public access block", () => {
        assert.deepEqual(messages(verdict(s3PublicAccessBlocked, [bucket])), ["S3 bucket logs has no public access block"]);
    });
    it("fails a public access block with a setting off", () => {
        assert.deepEqual(messages(verdict(s3PublicAccessBlocked, [bucket, block({ restrictPublicBuckets: false })])), [
            "S3 bucket logs does not block public access: restrictPublicBuckets off",
        ]);
    });
    it("fails, not passes, a stack without buckets", () => {
        assert.deepEqual(messages(verdict(s3Encrypted, [])), [
            "s3-encrypted examined no resources: the resources it checks, or their Tier marks, are missing",
        ]);
    });
});

describe("imdsv2-required", () => {
    it("passes instances and launch templates that require tokens", () => {
        assert.deepEqual(messages(verdict(imdsv2Required, [webLt(), redisNode(1, "a")])), []);
    });
    it("fails a launch template allowing IMDSv1", () => {
        assert.deepEqual(messages(verdict(imdsv2Required, [webLt({ metadataOptions: { httpTokens: "optional" } })])), [
            'launch template web-lt does not require IMDSv2 (metadataOptions.httpTokens = "required")',
        ]);
    });
    it("fails an instance without metadata options", () => {
        assert.deepEqual(messages(verdict(imdsv2Required, [redisNode(1, "a", { metadataOptions: undefined })])), [
            'EC2 instance redis-node-1 does not require IMDSv2 (metadataOptions.httpTokens = "required")',
        ]);
    });
});

describe("no-public-exposure", () => {
    it("passes private databases and instances", () => {
        assert.deepEqual(messages(verdict(noPublicExposure, [dbInstance("db"), redisNode(1, "a"), webLt()])), []);
    });
    it("fails a publicly accessible database", () => {
        assert.deepEqual(messages(verdict(noPublicExposure, [dbInstance("db", { publiclyAccessible: true })])), [
            "RDS instance db is publicly accessible",
        ]);
    });
    it("fails an instance with a public IP", () => {
        assert.deepEqual(messages(verdict(noPublicExposure, [redisNode(1, "a", { associatePublicIpAddress: true })])), [
            "EC2 instance redis-node-1 gets a public IP address",
        ]);
    });
    it("fails a launch template giving public IPs", () => {
        assert.deepEqual(messages(verdict(noPublicExposure, [webLt({ networkInterfaces: [{ associatePublicIpAddress: "true" }] })])), [
            "launch template web-lt gives its instances a public IP address",
        ]);
    });
});

describe("world-ingress-only-alb", () => {
    const albSg = res("aws:ec2/securityGroup:SecurityGroup", "alb-sg", {});
    const appSg = res("aws:ec2/securityGroup:SecurityGroup", "app-sg", {});
    const alb = res("aws:lb/loadBalancer:LoadBalancer", "alb", { loadBalancerType: "application" }, { deps: { securityGroups: [albSg] } });
    const rule = (name: string, sg: RecordedResource, port: number, cidr: Record<string, string> = { cidrIpv4: "0.0.0.0/0" }) =>
        res(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            name,
            { ipProtocol: "tcp", fromPort: port, toPort: port, ...cidr },
            { deps: { securityGroupId: [sg] } },
        );

    it("passes 80 and 443 from the world on the ALB's group", () => {
        const v = verdict(worldIngressOnlyOnAlb, [
            albSg,
            appSg,
            alb,
            rule("in-80", albSg, 80),
            rule("in-443", albSg, 443, { cidrIpv6: "::/0" }),
        ]);
        assert.deepEqual(messages(v), []);
        assert.equal(v.examined, 4);
    });
    it("fails a world rule on a group no load balancer uses", () => {
        assert.deepEqual(messages(verdict(worldIngressOnlyOnAlb, [albSg, appSg, alb, rule("ssh", appSg, 22)])), [
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule ssh opens tcp 22 to the world on security group app-sg, which no application load balancer uses",
        ]);
    });
    it("fails another port from the world on the ALB's group", () => {
        assert.deepEqual(messages(verdict(worldIngressOnlyOnAlb, [albSg, alb, rule("in-8080", albSg, 8080)])), [
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule in-8080 opens tcp 8080 to the world on the load balancer's group alb-sg; only tcp 80 and 443 may be",
        ]);
    });
    it("fails an inline world rule", () => {
        const inline = res("aws:ec2/securityGroup:SecurityGroup", "legacy-sg", {
            ingress: [{ protocol: "tcp", fromPort: 3306, toPort: 3306, cidrBlocks: ["0.0.0.0/0"] }],
        });
        assert.deepEqual(messages(verdict(worldIngressOnlyOnAlb, [inline])), [
            "aws:ec2/securityGroup:SecurityGroup legacy-sg opens tcp 3306 to the world on security group legacy-sg, which no application load balancer uses",
        ]);
    });
    it("fails a world rule of the older SecurityGroupRule resource", () => {
        const old = res(
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            "old",
            { type: "ingress", protocol: "tcp", fromPort: 6379, toPort: 6379, cidrBlocks: ["0.0.0.0/0"] },
            { deps: { securityGroupId: [appSg] } },
        );
        assert.deepEqual(messages(verdict(worldIngressOnlyOnAlb, [appSg, old])), [
            "aws:ec2/securityGroupRule:SecurityGroupRule old opens tcp 6379 to the world on security group app-sg, which no application load balancer uses",
        ]);
    });
    it("fails a port range from the world on the ALB's group", () => {
        const range = res(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "range",
            { ipProtocol: "tcp", fromPort: 80, toPort: 443, cidrIpv4: "0.0.0.0/0" },
            { deps: { securityGroupId: [albSg] } },
        );
        assert.deepEqual(messages(verdict(worldIngressOnlyOnAlb, [albSg, alb, range])), [
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule range opens tcp 80-443 to the world on the load balancer's group alb-sg; only tcp 80 and 443 may be",
        ]);
    });
});

describe("rds-backups-and-deletion-protection", () => {
    it("passes writers with 14 days of backups and deletion protection, and skips same-region replicas", () => {
        const v = verdict(rdsBackupsAndDeletionProtection, [
            dbInstance("w"),
            dbInstance("dr-writer", { replicateSourceDb: "arn:aws:rds:us-east-2:1:db:w" }),
            dbInstance("r", { replicateSourceDb: "w", backupRetentionPeriod: 0 }),
        ]);
        assert.deepEqual(messages(v), []);
        assert.equal(v.examined, 2);
    });
    it("fails a writer keeping backups for 3 days", () => {
        assert.deepEqual(messages(verdict(rdsBackupsAndDeletionProtection, [dbInstance("w", { backupRetentionPeriod: 3 })])), [
            "RDS writer w keeps backups for 3 days; expected at least 7",
        ]);
    });
    it("fails a cross-region replica (a promotable writer) without backups", () => {
        assert.deepEqual(
            messages(
                verdict(rdsBackupsAndDeletionProtection, [
                    dbInstance("dr", { replicateSourceDb: "arn:aws:rds:us-east-2:1:db:w", backupRetentionPeriod: 0 }),
                ]),
            ),
            ["RDS writer dr keeps backups for 0 days; expected at least 7"],
        );
    });
    it("fails a writer without deletion protection", () => {
        assert.deepEqual(messages(verdict(rdsBackupsAndDeletionProtection, [dbInstance("w", { deletionProtection: false })])), [
            "RDS writer w is not deletion-protected",
        ]);
    });
});

describe("eks-endpoint-restricted", () => {
    it("passes a cluster whose public endpoint is limited to configured CIDRs", () => {
        assert.deepEqual(
            messages(
                verdict(eksEndpointRestricted, [
                    res("eks:index:Cluster", "c", { endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24"] }),
                ]),
            ),
            [],
        );
    });
    it("passes the engine's child cluster with a private endpoint only", () => {
        assert.deepEqual(
            messages(verdict(eksEndpointRestricted, [res("aws:eks/cluster:Cluster", "c", { vpcConfig: { endpointPublicAccess: false } })])),
            [],
        );
    });
    it("fails a public endpoint with no CIDRs (open to the world by default)", () => {
        assert.deepEqual(messages(verdict(eksEndpointRestricted, [res("eks:index:Cluster", "c", {})])), [
            "EKS cluster c has a public API endpoint open to the world (publicAccessCidrs unset)",
        ]);
    });
    it("fails the engine's child cluster open to 0.0.0.0/0", () => {
        assert.deepEqual(
            messages(
                verdict(eksEndpointRestricted, [
                    res("aws:eks/cluster:Cluster", "c", { vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] } }),
                ]),
            ),
            ["EKS cluster c has a public API endpoint open to the world (publicAccessCidrs includes 0.0.0.0/0)"],
        );
    });
});

describe("protect-data-resources", () => {
    it("passes protected data resources", () => {
        const v = verdict(protectDataResources, [
            dbInstance("db"),
            res("aws:kms/key:Key", "k", {}, { protect: true }),
            res("random:index/randomPassword:RandomPassword", "p", {}, { protect: true }),
        ]);
        assert.deepEqual(messages(v), []);
        assert.equal(v.examined, 3);
    });
    it("fails an unprotected secret", () => {
        assert.deepEqual(messages(verdict(protectDataResources, [res("aws:secretsmanager/secret:Secret", "s", {})])), [
            "aws:secretsmanager/secret:Secret s holds data but is not protected (resource option protect: true)",
        ]);
    });
});

describe("offline runner", () => {
    it("reports a policy as unable to run in a preview when it reads an unknown value", () => {
        const unknownSize = res("aws:ec2/instance:Instance", "x", { instanceType: "<unknown>", tags: tags("redis") });
        const v = verdict(instanceSizeByTier, [unknownSize]);
        assert.deepEqual(messages(v), []);
        assert.deepEqual(v.cannotRun, ["x: string value at .instanceType can't be known during preview"]);
    });
    it("skips a policy disabled in config", () => {
        assert.deepEqual(runPolicies(stackOf([]), [tierCounts], { "tier-counts": "disabled" }), []);
    });
    it("applies an enforcement level from config", () => {
        assert.equal(runPolicies(stackOf([]), [tierCounts], { "tier-counts": "advisory" })[0].enforcementLevel, "advisory");
    });
});

describe("virtual IP policies (one-accelerator, endpoint-group-per-site, standby-gets-no-traffic, accelerator-client-ip-preservation)", () => {
    const accelerator = (name = "vip-accelerator") =>
        res("aws:globalaccelerator/accelerator:Accelerator", name, { name: `ecommerce-${name}`, ipAddressType: "IPV4" });
    const listener = (over: Record<string, any> = {}) =>
        res("aws:globalaccelerator/listener:Listener", "vip-listener", {
            protocol: "TCP",
            portRanges: [
                { fromPort: 80, toPort: 80 },
                { fromPort: 443, toPort: 443 },
            ],
            ...over,
        });
    const vpc = () => res("aws:ec2/vpc:Vpc", "network-vpc", { cidrBlock: "10.10.0.0/16" });
    const writerDb = () => res("aws:rds/instance:Instance", "db-writer", { instanceClass: "db.t3.2xlarge" });
    const standbyDb = () =>
        res("aws:rds/instance:Instance", "db-writer", {
            replicateSourceDb: "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2",
        });
    const alb = "arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/app/web/abc";
    const group = (over: Record<string, any> = {}) =>
        res("aws:globalaccelerator/endpointGroup:EndpointGroup", "vip-endpoint-group", {
            endpointGroupRegion: "us-east-2",
            trafficDialPercentage: 100,
            endpointConfigurations: [{ endpointId: alb, weight: 128, clientIpPreservationEnabled: true }],
            ...over,
        });
    const empty = () => group({ trafficDialPercentage: 0, endpointConfigurations: [] });

    it("passes the global stack's accelerator and listener, the writer's serving group and the standby's empty one", () => {
        assert.deepEqual(messages(verdict(oneAccelerator, [accelerator(), listener()])), []);
        assert.deepEqual(messages(verdict(oneAccelerator, [vpc(), writerDb(), group()])), []);
        for (const site of [
            [vpc(), writerDb(), group()],
            [vpc(), standbyDb(), empty()],
        ]) {
            for (const policy of [endpointGroupPerSite, standbyGetsNoTraffic, clientIpPreservation]) {
                assert.deepEqual(messages(verdict(policy, site)), [], policy.name);
            }
        }
    });

    it("fails a second accelerator, and a listener without port 443", () => {
        assert.deepEqual(messages(verdict(oneAccelerator, [accelerator(), accelerator("spare"), listener()])), [
            "expected exactly one accelerator (the virtual IP), found 2: vip-accelerator, spare",
        ]);
        assert.deepEqual(messages(verdict(oneAccelerator, [accelerator(), listener({ portRanges: [{ fromPort: 80, toPort: 80 }] })])), [
            "the accelerator has no TCP listener for port 443: shoppers reach the site on 80 and 443",
        ]);
    });

    it("fails an accelerator in a site stack (it stays a site stack: its policies keep running)", () => {
        assert.deepEqual(messages(verdict(oneAccelerator, [vpc(), writerDb(), group(), accelerator("stray")])), [
            "accelerator stray in a site stack: the virtual IP is the global stack's alone (a second one would be a second pair of IPs)",
        ]);
        assert.equal(verdict(endpointGroupPerSite, [vpc(), accelerator("stray"), group()]).notApplicable, undefined);
    });

    it("does not apply the site policies to the global stack", () => {
        assert.equal(verdict(endpointGroupPerSite, [accelerator(), listener()]).notApplicable, "applies to site stacks");
        assert.equal(verdict(standbyGetsNoTraffic, [accelerator(), listener()]).notApplicable, "applies to site stacks");
    });

    it("fails a site without its endpoint group, or with one in another region", () => {
        const web = res("aws:lb/loadBalancer:LoadBalancer", "web-alb", { region: "us-east-2" });
        assert.deepEqual(messages(verdict(endpointGroupPerSite, [vpc(), web])), [
            "expected exactly one endpoint group (this site's, on the virtual IP's listener), found 0",
            "endpoint-group-per-site examined no resources: the resources it checks, or their Tier marks, are missing",
        ]);
        assert.deepEqual(
            messages(verdict(endpointGroupPerSite, [vpc(), group({ region: "us-east-2", endpointGroupRegion: "us-west-1" })])),
            ["endpoint group vip-endpoint-group is in us-west-1, not in this site's region us-east-2"],
        );
    });

    it("fails a standby whose group keeps its load balancer, even at weight 0 and dial 0 (it gets traffic when Global Accelerator fails open)", () => {
        const weightZero = group({
            trafficDialPercentage: 0,
            endpointConfigurations: [{ endpointId: alb, weight: 0, clientIpPreservationEnabled: true }],
        });
        assert.deepEqual(messages(verdict(standbyGetsNoTraffic, [vpc(), standbyDb(), weightZero])), [
            "endpoint group vip-endpoint-group of the standby site (its database replicates from the writer) has traffic dial 0 and 1 endpoint(s): a standby group holds none and dial 0 (Global Accelerator ignores dials on failover and may send traffic to a weight-0 endpoint when it fails open)",
        ]);
        assert.equal(messages(verdict(standbyGetsNoTraffic, [vpc(), standbyDb(), group()])).length, 1, "a standby that serves");
    });

    it("fails a writer whose group serves nothing, or whose endpoint has no weight", () => {
        assert.deepEqual(messages(verdict(standbyGetsNoTraffic, [vpc(), writerDb(), empty()])), [
            "endpoint group vip-endpoint-group of the writer site has traffic dial 0 and 0 endpoint(s): it would serve nothing",
        ]);
        const unweighted = group({ endpointConfigurations: [{ endpointId: alb, clientIpPreservationEnabled: true }] });
        assert.deepEqual(messages(verdict(standbyGetsNoTraffic, [vpc(), writerDb(), unweighted])), [
            `endpoint group vip-endpoint-group: endpoint ${alb} has weight undefined; an endpoint in a group is there to serve: set a weight above 0 (the provider sends 0 for a missing weight)`,
        ]);
    });

    it("fails an endpoint without client IP preservation", () => {
        const hidden = group({ endpointConfigurations: [{ endpointId: alb, weight: 128 }] });
        assert.deepEqual(messages(verdict(clientIpPreservation, [hidden])), [
            `endpoint group vip-endpoint-group: endpoint ${alb} does not preserve client IPs (clientIpPreservationEnabled must be true)`,
        ]);
    });
});

describe("writer-lease-store and writer-agent-per-site", () => {
    const accelerator = () => res("aws:globalaccelerator/accelerator:Accelerator", "vip-accelerator", { enabled: true });
    const table = (over: Record<string, any> = {}) =>
        res("aws:dynamodb/table:Table", "lease-table", {
            replicas: [{ regionName: "us-east-2", consistencyMode: "STRONG" }],
            globalTableWitness: { regionName: "us-east-1" },
            deletionProtectionEnabled: true,
            ...over,
        });
    const vpc = () => res("aws:ec2/vpc:Vpc", "network-vpc", { cidrBlock: "10.10.0.0/16" });
    const reader = (over: Record<string, any> = {}) =>
        res("aws:lambda/function:Function", "writer-agent-reader-function", {
            runtime: "nodejs24.x",
            handler: "index.replicaHandler",
            vpcConfig: { subnetIds: ["subnet-1", "subnet-2"] },
            environment: { variables: { AGENT_CONFIG: JSON.stringify({ leaseTable: "ecommerce-writer-lease" }) } },
            ...over,
        });
    const agent = (over: Record<string, any> = {}) =>
        res("aws:lambda/function:Function", "writer-agent-function", {
            runtime: "nodejs24.x",
            handler: "index.agentHandler",
            vpcConfig: { subnetIds: ["subnet-1", "subnet-2"] },
            environment: {
                variables: {
                    AGENT_CONFIG: JSON.stringify({ leaseTable: "ecommerce-writer-lease", leaseRegion: "us-east-2", appUser: "shop_app" }),
                },
            },
            ...over,
        });

    it("passes the global stack's MRSC table and a site's VPC agent", () => {
        assert.deepEqual(messages(verdict(writerLeaseStore, [accelerator(), table()], {}, "us-west-2")), []);
        assert.deepEqual(messages(verdict(writerAgentPerSite, [vpc(), agent(), reader()])), []);
    });

    it("fails a lease table without its witness, with an eventual replica, across Region sets, or unprotected", () => {
        assert.deepEqual(messages(verdict(writerLeaseStore, [accelerator(), table({ globalTableWitness: undefined })], {}, "us-west-2")), [
            "expected exactly one multi-Region strongly consistent table (the writer lease's, with a witness), found 0",
        ]);
        assert.deepEqual(
            messages(
                verdict(
                    writerLeaseStore,
                    [
                        accelerator(),
                        table({ replicas: [{ regionName: "us-west-1", consistencyMode: "EVENTUAL" }], deletionProtectionEnabled: false }),
                    ],
                    {},
                    "us-west-2",
                ),
            ),
            [
                'table lease-table: a witness needs exactly one replica with consistencyMode STRONG (found [{"regionName":"us-west-1","consistencyMode":"EVENTUAL"}])',
                "table lease-table: replica and witness regions us-west-1, us-east-1 are not in one MRSC Region set",
                "table lease-table: deletion protection must be on (losing the lease leaves every site's database closed)",
            ],
        );
    });

    it("fails a site without its agent, or with one outside the VPC or without the lease in its config", () => {
        assert.deepEqual(messages(verdict(writerAgentPerSite, [vpc()])), [
            "expected exactly one replica reader (a function with handler index.replicaHandler), found 0: a failover could not bound its loss window, and would hold",
            "expected exactly one writer agent (a function with handler index.agentHandler and AGENT_CONFIG), found 0: the site's database fence would have no keeper",
        ]);
        assert.deepEqual(messages(verdict(writerAgentPerSite, [vpc(), agent(), reader({ vpcConfig: undefined })])), [
            "replica reader writer-agent-reader-function: it must run in the VPC (vpcConfig.subnetIds) to reach the database",
        ]);
        assert.deepEqual(
            messages(
                verdict(writerAgentPerSite, [
                    vpc(),
                    reader(),
                    agent({ vpcConfig: undefined, environment: { variables: { AGENT_CONFIG: "{}" } } }),
                ]),
            ),
            [
                "writer agent writer-agent-function: it must run in the VPC (vpcConfig.subnetIds) to reach the database",
                "writer agent writer-agent-function: AGENT_CONFIG has no leaseTable",
                "writer agent writer-agent-function: AGENT_CONFIG has no leaseRegion",
                "writer agent writer-agent-function: AGENT_CONFIG has no appUser",
            ],
        );
    });
});

describe("no-public-origin", () => {
    it("passes an internal application load balancer and fails an internet-facing one, naming it", () => {
        const alb = (internal: boolean) =>
            res("aws:lb/loadBalancer:LoadBalancer", "web-alb", { loadBalancerType: "application", internal });
        assert.deepEqual(messages(verdict(noPublicOrigin, [alb(true)])), []);
        assert.deepEqual(messages(verdict(noPublicOrigin, [alb(false)])), [
            "load balancer web-alb is internet-facing (internal must be true): a fenced site would still take writes that reach it by its origin name",
        ]);
    });
});
