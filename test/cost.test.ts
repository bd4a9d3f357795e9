/**
 * The cost estimate (offline/cost.ts) on hand-built stacks: prices computed here by hand from
 * the table's rows, usage from the assumptions, unknown types listed as not priced, and the
 * table's age. The plan's own stacks are priced in test/plan.test.ts (their runs are there).
 */
import { strict as assert } from "assert";
import { COST_ASSUMPTION_KEYS } from "../lib/config";
import {
    HOURS_PER_MONTH,
    PRICE_TABLE,
    PRICE_TABLE_MAX_AGE_DAYS,
    PRICED_REGIONS,
    priceRow,
    priceTableAgeDays,
    PRICES_READ_ON,
} from "../lib/prices";
import { estimate, stackCost } from "../offline/cost";
import { diffCosts } from "../offline/costDiff";
import { resolveStackConfig } from "../offline/stackConfig";
import type { RecordedResource, StackRun } from "../offline/run";
import { res } from "./support/fixtures";

/** The project's default assumptions, and `overrides`. */
function assumptions(overrides: Record<string, string> = {}): Record<string, string> {
    const defaults = resolveStackConfig("primary");
    return { ...Object.fromEntries(Object.values(COST_ASSUMPTION_KEYS).map((k) => [k, defaults[k]])), ...overrides };
}

function stack(resources: readonly RecordedResource[], region: string, overrides: Record<string, string> = {}): StackRun {
    return {
        stack: "test",
        preview: false,
        config: { "aws:region": region, ...assumptions(overrides) },
        resources,
        invokes: [],
        outputs: {},
        errors: [],
    };
}

/** A WebTier component with an Auto Scaling group of `count` `type` instances (its launch template beside it). */
function webTier(type: string, count: number, groupName = "web-asg"): { web: RecordedResource; resources: RecordedResource[] } {
    const template = res("aws:ec2/launchTemplate:LaunchTemplate", "lt", { instanceType: type });
    const web = res("ecommerce:web:WebTier", "web", {});
    const group = res(
        "aws:autoscaling/group:Group",
        groupName,
        { desiredCapacity: count },
        { deps: { launchTemplate: [template] }, parent: web },
    );
    return { web, resources: [web, template, group] };
}

const rate = (key: string, region: (typeof PRICED_REGIONS)[number]) => {
    const row = priceRow(key);
    assert.ok(row, `lib/prices.ts has a row ${key}`);
    return row.usd[region];
};

describe("cost estimate (offline/cost.ts, lib/prices.ts)", () => {
    it("prices a Multi-AZ db.t3.2xlarge in us-west-1 as two instances and twice its storage", () => {
        const db = res("aws:rds/instance:Instance", "db", {
            instanceClass: "db.t3.2xlarge",
            multiAz: true,
            allocatedStorage: 200,
            storageType: "gp3",
        });
        const cost = stackCost(stack([db], "us-west-1"), "standby");
        const expected = 2 * HOURS_PER_MONTH * rate("rds:db.t3.2xlarge", "us-west-1") + 2 * 200 * rate("rds-storage:gp3", "us-west-1");
        assert.equal(cost.resources.length, 1);
        assert.ok(Math.abs(cost.resources[0].monthlyUsd - expected) < 1e-9, `${cost.resources[0].monthlyUsd} vs ${expected}`);
        assert.equal(cost.monthlyUsd, Math.round(expected * 100) / 100);
    });

    it("prices a cross-region replica's replication at its source region's inter-region rate, with the assumption named", () => {
        const replica = res("aws:rds/instance:Instance", "dr-db", {
            instanceClass: "db.t3.large",
            allocatedStorage: 100,
            storageType: "gp3",
            replicateSourceDb: "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2",
        });
        const cost = stackCost(stack([replica], "us-west-1", { "ecommerce:costReplicationGiB": "300" }), "standby");
        const replication = cost.resources[0].items.find((i) => i.priceKey === "transfer:inter-region");
        assert.deepEqual(
            { region: replication?.region, quantity: replication?.quantity, usd: replication?.monthlyUsd },
            { region: "us-east-2", quantity: 300, usd: 300 * rate("transfer:inter-region", "us-east-2") },
        );
        assert.deepEqual(
            cost.assumptions.map((a) => [a.key, a.value]),
            [["ecommerce:costReplicationGiB", 300]],
        );
    });

    it("prices a NAT gateway by the hour and its share of the site's traffic assumption", () => {
        const nats = ["nat-1", "nat-2"].map((n) => res("aws:ec2/natGateway:NatGateway", n, {}));
        const cost = stackCost(stack(nats, "us-east-2", { "ecommerce:costNatGiB": "80" }), "writer");
        const one = HOURS_PER_MONTH * rate("nat:hour", "us-east-2") + 40 * rate("nat:processed", "us-east-2");
        assert.deepEqual(
            cost.resources.map((r) => Math.round(r.monthlyUsd * 1e6)),
            [one, one].map((x) => Math.round(x * 1e6)),
        );
        assert.deepEqual(
            cost.assumptions.map((a) => a.key),
            ["ecommerce:costNatGiB"],
        );
    });

    it("prices an Auto Scaling group as its desired count of its launch template's instances and root volumes", () => {
        const template = res("aws:ec2/launchTemplate:LaunchTemplate", "lt", {
            instanceType: "t3.xlarge",
            blockDeviceMappings: [{ ebs: { volumeSize: 30, volumeType: "gp3", iops: 4000, throughput: 125 } }],
        });
        const group = res(
            "aws:autoscaling/group:Group",
            "asg",
            { desiredCapacity: 5, minSize: 5 },
            { deps: { launchTemplate: [template] } },
        );
        const cost = stackCost(stack([template, group], "us-east-2"), "writer");
        const expected =
            5 * HOURS_PER_MONTH * rate("ec2:t3.xlarge", "us-east-2") +
            5 * 30 * rate("ebs:gp3", "us-east-2") +
            5 * 1000 * rate("ebs:gp3-iops", "us-east-2");
        assert.equal(cost.resources.length, 1, "the launch template costs nothing by itself");
        assert.ok(Math.abs(cost.resources[0].monthlyUsd - expected) < 1e-9, `${cost.resources[0].monthlyUsd} vs ${expected}`);
    });

    it("lists an unknown type, an instance type without a row and a region the table lacks as not priced, with the reason, never as zero", () => {
        const cost = stackCost(
            stack(
                [
                    res("aws:opensearch/domain:Domain", "search", {}),
                    res("aws:ec2/instance:Instance", "odd", { instanceType: "x9.huge" }),
                    res("aws:kms/key:Key", "far", { region: "eu-west-1" }),
                    res("aws:iam/role:Role", "role", {}),
                ],
                "us-east-2",
            ),
            "writer",
        );
        assert.deepEqual(
            cost.notPriced.map((n) => [n.name, n.reason]),
            [
                ["odd", "lib/prices.ts has no row ec2:x9.huge"],
                ["far", "lib/prices.ts has no prices for eu-west-1 (it covers us-east-1, us-east-2, us-west-1, us-west-2)"],
                ["search", "no price row for this type, and it is not known to be free"],
            ],
        );
        assert.deepEqual(cost.resources, [], "nothing priced, the IAM role free");
        assert.equal(cost.monthlyUsd, 0);
    });

    it("refuses an assumption that is not a whole number, naming the key, the value and what is allowed", () => {
        assert.throws(
            () => stackCost(stack([], "us-east-2", { "ecommerce:costNatGiB": "lots" }), "writer"),
            /ecommerce:costNatGiB = "lots": expected an integer from 0 to 10000000 \(GB a month\)/,
        );
    });

    it("charges the shoppers' traffic to the writer's load balancer only; the standby's idles", () => {
        const alb = () => res("aws:lb/loadBalancer:LoadBalancer", "alb", { internal: true, loadBalancerType: "application" });
        const writer = stackCost(stack([alb()], "us-east-2"), "writer");
        const standby = stackCost(stack([alb()], "us-west-1"), "standby");
        assert.deepEqual(
            writer.resources[0].items.map((i) => i.priceKey),
            ["alb:hour", "alb:lcu", "transfer:internet"],
        );
        assert.deepEqual(
            standby.resources[0].items.map((i) => i.priceKey),
            ["alb:hour"],
        );
    });

    it("sums stacks, names the standby's share, and compares a pilot light that keeps the database replica", () => {
        const fleet = (stackName: string, region: string) => {
            const tier = webTier("t3.large", 2, "asg");
            const dbTier = res("ecommerce:db:DatabaseCluster", "db", {});
            const db = res(
                "aws:rds/instance:Instance",
                "db-writer",
                { instanceClass: "db.t3.large", allocatedStorage: 100, storageType: "gp3" },
                { parent: dbTier },
            );
            return { ...stack([...tier.resources, dbTier, db], region), stack: stackName };
        };
        const e = estimate([fleet("primary", "us-east-2"), fleet("dr", "us-west-1")], { primary: "writer", dr: "standby" }, PRICES_READ_ON);
        const [primary, dr] = e.stacks;
        assert.equal(e.monthlyUsd, Math.round((primary.monthlyUsd + dr.monthlyUsd) * 100) / 100);
        assert.deepEqual(
            dr.tiers.map((t) => t.tier),
            ["WebTier web", "DatabaseCluster db"],
        );
        assert.ok(Math.abs(e.standby!.share - dr.monthlyUsd / e.monthlyUsd) < 1e-9);
        const web = dr.resources.find((r) => r.name === "asg")!.monthlyUsd;
        assert.deepEqual(e.pilotLight?.savings, [
            { what: "the web fleet (instances and root volumes)", monthlyUsd: Math.round(web * 100) / 100 },
        ]);
        assert.equal(e.pilotLight?.pilotLightUsd, Math.round((dr.monthlyUsd - web) * 100) / 100, "the database replica is kept");
    });

    it("diffs two estimates per stack, component and resource: one instance type changed is exactly that change", () => {
        const site = (type: string) => {
            const tier = webTier(type, 5);
            const key = res("aws:kms/key:Key", "key", {}, { parent: tier.web });
            return { ...stack([...tier.resources, key], "us-east-2"), stack: "primary" };
        };
        const before = estimate([site("t3.xlarge")], { primary: "writer" }, PRICES_READ_ON);
        const after = estimate([site("m5.2xlarge")], { primary: "writer" }, PRICES_READ_ON);
        const diff = diffCosts(before, after, "main", "0123456789abcdef");
        const delta = 5 * HOURS_PER_MONTH * (rate("ec2:m5.2xlarge", "us-east-2") - rate("ec2:t3.xlarge", "us-east-2"));
        assert.deepEqual(
            diff.changes.map((c) => [c.stack, c.name, c.tier, c.deltaUsd, c.detail]),
            [["primary", "web-asg", "WebTier web", Math.round(delta * 100) / 100, "5 x t3.xlarge -> 5 x m5.2xlarge"]],
        );
        assert.deepEqual(
            diff.stacks.map((s) => s.tiers.map((t) => [t.tier, t.deltaUsd])),
            [[["WebTier web", Math.round(delta * 100) / 100]]],
        );
        assert.equal(
            diff.headline,
            `+$${delta.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}/month: web-asg (WebTier web) 5 x t3.xlarge -> 5 x m5.2xlarge in primary`,
        );
    });

    it("marks a resource that the change leaves unpriced as missing, never as saved, and the headline as incomplete", () => {
        const before = estimate(
            [{ ...stack(webTier("t3.xlarge", 5).resources, "us-east-2"), stack: "primary" }],
            { primary: "writer" },
            PRICES_READ_ON,
        );
        const after = estimate(
            [{ ...stack(webTier("c9.huge", 5).resources, "us-east-2"), stack: "primary" }],
            { primary: "writer" },
            PRICES_READ_ON,
        );
        const diff = diffCosts(before, after, "main", "0123456789abcdef");
        assert.deepEqual(
            diff.changes.map((c) => c.detail),
            ["now NOT PRICED (lib/prices.ts has no row ec2:c9.huge): its cost is missing, not saved"],
        );
        assert.deepEqual(
            diff.notPriced.map((n) => [n.stack, n.name]),
            [["primary", "web-asg"]],
        );
        assert.match(diff.headline, /\(INCOMPLETE: 1 resource\(s\) newly not priced\)$/);
    });

    it("copies a backup to another region at the pair's rate (us-east-1 and us-east-2: their own), through the NAT gateways", () => {
        const bucket = (region: string) => res("aws:s3/bucket:Bucket", `backups-${region}`, { region, tags: { Tier: "db" } });
        const rules = { rules: [{ expiration: { days: 365 }, transitions: [{ days: 30, storageClass: "GLACIER_IR" }] }] };
        const east = bucket("us-east-1");
        const west = bucket("us-west-2");
        const lifecycle = (b: RecordedResource) =>
            res(
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                `${b.name}-lc`,
                { ...rules, region: b.inputs.region },
                { deps: { bucket: [b] } },
            );
        const cost = stackCost(
            stack([east, lifecycle(east), west, lifecycle(west)], "us-east-2", { "ecommerce:costBackupGiB": "10" }),
            "writer",
        );
        const copy = (name: string) =>
            cost.resources
                .find((r) => r.name === name)!
                .items.filter((i) => i.priceKey.startsWith("transfer:") || i.priceKey === "nat:processed");
        assert.deepEqual(
            copy("backups-us-east-1").map((i) => [i.priceKey, i.quantity, i.monthlyUsd]),
            [
                ["transfer:us-east-1-us-east-2", 300, 300 * 0.01],
                ["nat:processed", 300, 300 * rate("nat:processed", "us-east-2")],
            ],
        );
        assert.deepEqual(
            copy("backups-us-west-2").map((i) => i.priceKey),
            ["transfer:inter-region", "nat:processed"],
        );
    });

    it("lists what a first preview cannot count as not priced (an unknown fleet size, an internet-facing load balancer's unknown subnets), never NaN; a node group without scaling is pulumi-eks's 2 nodes", () => {
        const template = res("aws:ec2/launchTemplate:LaunchTemplate", "lt", { instanceType: "t3.large" });
        const cost = stackCost(
            stack(
                [
                    template,
                    res("aws:autoscaling/group:Group", "asg", { desiredCapacity: "<unknown>" }, { deps: { launchTemplate: [template] } }),
                    res("aws:lb/loadBalancer:LoadBalancer", "alb", { internal: false, subnets: "<unknown>" }),
                    res("eks:index:ManagedNodeGroup", "nodes", { instanceTypes: ["t3.large"] }, { deps: { launchTemplate: [template] } }),
                    res("kubernetes:core/v1:PersistentVolumeClaim", "claim", {}),
                ],
                "us-east-2",
            ),
            "standby",
        );
        assert.deepEqual(
            cost.notPriced.map((n) => [n.name, n.reason]),
            [
                ["asg", "its desired capacity is unknown (<unknown>)"],
                ["alb", "an internet-facing load balancer whose subnets are unknown: its public addresses cannot be counted"],
                ["claim", "no price row for this type, and it is not known to be free"],
            ],
        );
        assert.deepEqual(
            cost.resources.map((r) => [r.name, r.items[0].what]),
            [["nodes", "2 x t3.large"]],
        );
    });

    it("has every row priced in all four regions, each with a source, and no key twice", () => {
        const keys = PRICE_TABLE.map((r) => r.key);
        assert.deepEqual(
            keys.filter((k, i) => keys.indexOf(k) !== i),
            [],
        );
        for (const row of PRICE_TABLE) {
            assert.deepEqual(Object.keys(row.usd).sort(), [...PRICED_REGIONS].sort(), row.key);
            assert.ok(
                Object.values(row.usd).every((v) => Number.isFinite(v) && v > 0),
                `${row.key}: a positive price in each region`,
            );
            assert.match(row.source, /^https:\/\/aws\.amazon\.com\//, `${row.key}: its source is an AWS price page`);
        }
    });

    it(`says when the price table is older than ${PRICE_TABLE_MAX_AGE_DAYS} days (an advisory, as the version calendars)`, () => {
        const age = priceTableAgeDays(new Date());
        assert.ok(
            age <= PRICE_TABLE_MAX_AGE_DAYS,
            `lib/prices.ts was read on ${PRICES_READ_ON}, ${age} days ago: refresh its rows from their sources (docs/cost.md) and its date`,
        );
        const late = new Date(Date.parse(`${PRICES_READ_ON}T00:00:00Z`) + (PRICE_TABLE_MAX_AGE_DAYS + 1) * 86_400_000);
        assert.equal(estimate([], {}, late).pricesStale, true);
        assert.equal(estimate([], {}, PRICES_READ_ON).pricesStale, false);
    });
});
