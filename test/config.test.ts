import { strict as assert } from "assert";
import { ConfigError, parseConfig, withAccount } from "../lib/config";
import { resolveStackConfig } from "../offline/stackConfig";
import { runProgram } from "../offline/run";

/** The stack's resolved config with `overrides` applied (`undefined` removes a key). */
function raw(stack: string, overrides: Record<string, string | undefined> = {}): (key: string) => string | undefined {
    const config: Record<string, string | undefined> = { ...resolveStackConfig(stack), ...overrides };
    return (key) => config[key];
}

function problemsOf(fn: () => unknown): readonly string[] {
    try {
        fn();
    } catch (err) {
        if (err instanceof ConfigError) {
            return err.problems;
        }
        throw err;
    }
    throw new Error("expected a ConfigError, but the config was accepted");
}

describe("config", () => {
    describe("accepts the stack files as they are", () => {
        it("primary is the writer in us-east-2 with us-west-1 as its peer", () => {
            const cfg = parseConfig(raw("primary"), "primary");
            assert.equal(cfg.region, "us-east-2");
            assert.equal(cfg.role, "writer");
            assert.equal(cfg.peerRegion, "us-west-1");
            assert.deepEqual(cfg.network.azIds, ["use2-az1", "use2-az2", "use2-az3"]);
            assert.equal(cfg.network.vpcCidr, "10.10.0.0/16");
        });

        it("dr is the standby in us-west-1 with us-east-2 as its peer", () => {
            const cfg = parseConfig(raw("dr"), "dr");
            assert.equal(cfg.region, "us-west-1");
            assert.equal(cfg.role, "standby");
            assert.equal(cfg.peerRegion, "us-east-2");
            assert.deepEqual(cfg.network.azIds, ["usw1-az1", "usw1-az3"]);
            assert.equal(cfg.network.vpcCidr, "10.20.0.0/16");
        });

        it("derives the role from writerRegion alone: after a failover dr is the writer and primary the standby", () => {
            const flipped = { "ecommerce:writerRegion": "us-west-1" };
            assert.equal(parseConfig(raw("dr", flipped), "dr").role, "writer");
            assert.equal(parseConfig(raw("primary", flipped), "primary").role, "standby");
        });

        it("takes the seed's sizes and counts as defaults", () => {
            const cfg = parseConfig(raw("primary"), "primary");
            assert.deepEqual(
                [
                    cfg.web.instanceType,
                    cfg.web.instanceCount,
                    cfg.redis.instanceType,
                    cfg.redis.nodeCount,
                    cfg.db.instanceClass,
                    cfg.db.replicaCount,
                    cfg.monitoring.nodeInstanceType,
                    cfg.monitoring.nodeCount,
                ],
                ["t3.xlarge", 5, "t3.large", 3, "db.t3.2xlarge", 2, "t3.large", 2],
            );
        });

        it("pins the Redis image to the configured version and its verified digest", () => {
            assert.equal(
                parseConfig(raw("primary"), "primary").redis.image,
                "public.ecr.aws/docker/library/redis:6.2.24@sha256:e7b96daa9a182b0a2639253fdab98244190ec2dca8a41da3fb31a147ef71a870",
            );
        });

        it("picks the certificate of the stack's own region", () => {
            const arns = {
                "us-east-2": "arn:aws:acm:us-east-2:123456789012:certificate/11111111-2222-3333-4444-555555555555",
                "us-west-1": "arn:aws:acm:us-west-1:123456789012:certificate/66666666-7777-8888-9999-000000000000",
            };
            const overrides = { "ecommerce:certificateArns": JSON.stringify(arns) };
            assert.equal(parseConfig(raw("dr", overrides), "dr").web.certificateArn, arns["us-west-1"]);
            assert.equal(parseConfig(raw("primary"), "primary").web.certificateArn, undefined);
        });

        it("reads EKS access entries, replacing {account} only once the account is known", () => {
            const entries = {
                deploy: { principalArn: "arn:aws:iam::{account}:role/ecommerce-deploy", accessPolicy: "cluster-admin" },
                oncall: {
                    principalArn: "arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_OnCall_0123456789abcdef",
                    accessPolicy: "view",
                    namespaces: ["monitoring"],
                },
            };
            const cfg = parseConfig(raw("dr", { "ecommerce:eksAccessEntries": JSON.stringify(entries) }), "dr");
            assert.deepEqual(cfg.monitoring.accessEntries, {
                deploy: { ...entries.deploy, namespaces: [] },
                oncall: entries.oncall,
            });
            assert.equal(withAccount(entries.deploy.principalArn, "210987654321"), "arn:aws:iam::210987654321:role/ecommerce-deploy");
            assert.deepEqual(parseConfig(raw("dr"), "dr").monitoring.accessEntries, {});
        });

        it("uses the team's baked AMI by default, and an empty filter with a release bundle means Amazon Linux 2023", () => {
            assert.equal(parseConfig(raw("primary"), "primary").web.amiNameFilter, "ecommerce-web-*");
            const bundle = parseConfig(
                raw("primary", { "ecommerce:webAmiNameFilter": "", "ecommerce:webArtifactUri": "s3://releases-{region}/web.tar.gz" }),
                "primary",
            ).web;
            assert.equal(bundle.amiNameFilter, undefined);
            assert.equal(bundle.artifactUri, "s3://releases-us-east-2/web.tar.gz");
        });
    });

    describe("rejects bad values with the key, the value and what is allowed", () => {
        const cases: [string, string | undefined, string][] = [
            [
                "aws:region",
                "eu-west-1",
                'aws:region = "eu-west-1": expected one of us-east-2, us-west-1 (ecommerce:primaryRegion, ecommerce:drRegion)',
            ],
            [
                "ecommerce:drRegion",
                "us-east-2",
                'ecommerce:drRegion = "us-east-2": expected a region other than ecommerce:primaryRegion (us-east-2)',
            ],
            [
                "ecommerce:primaryRegion",
                "mars-1",
                'ecommerce:primaryRegion = "mars-1": expected an AWS region (us-east-1, us-east-2, us-west-1, us-west-2, ...)',
            ],
            [
                "ecommerce:writerRegion",
                "us-west-2",
                'ecommerce:writerRegion = "us-west-2": expected one of us-east-2, us-west-1 (ecommerce:primaryRegion, ecommerce:drRegion)',
            ],
            [
                "ecommerce:stateBackend",
                "s3://ecommerce-pulumi-state-us-west-1?region=us-west-1",
                'ecommerce:stateBackend = "s3://ecommerce-pulumi-state-us-west-1?region=us-west-1": expected s3://<bucket>?region=us-east-2 (state lives in the stack\'s own region)',
            ],
            [
                "ecommerce:stateBackend",
                undefined,
                "ecommerce:stateBackend is not set: expected s3://<bucket>?region=us-east-2 (state lives in the stack's own region)",
            ],
            ["ecommerce:webInstanceCount", "0", "ecommerce:webInstanceCount = 0: expected an integer from 1 to 100"],
            ["ecommerce:webInstanceCount", "five", 'ecommerce:webInstanceCount = "five": expected an integer from 1 to 100'],
            ["ecommerce:webInstanceCount", "2.5", "ecommerce:webInstanceCount = 2.5: expected an integer from 1 to 100"],
            ["ecommerce:webMaxInstanceCount", "3", "ecommerce:webMaxInstanceCount = 3: expected at least ecommerce:webInstanceCount (5)"],
            [
                "ecommerce:webInstanceType",
                "t3xlarge",
                'ecommerce:webInstanceType = "t3xlarge": expected an x86_64 EC2 instance type such as t3.xlarge (the AMIs are x86_64; Graviton types cannot boot them)',
            ],
            [
                "ecommerce:webInstanceType",
                "T3.XLARGE",
                'ecommerce:webInstanceType = "T3.XLARGE": expected an x86_64 EC2 instance type such as t3.xlarge (the AMIs are x86_64; Graviton types cannot boot them)',
            ],
            [
                "ecommerce:redisInstanceType",
                "t3.nano",
                'ecommerce:redisInstanceType = "t3.nano": expected an instance type with known memory (t3.medium, t3.large, t3.xlarge, t3.2xlarge, m5.large, m5.xlarge, m6i.large, m6i.xlarge, m7i.large, m7i.xlarge, r5.large, r5.xlarge, r6i.large, r6i.xlarge, r7i.large, r7i.xlarge)',
            ],
            [
                "ecommerce:dbInstanceClass",
                "t3.2xlarge",
                'ecommerce:dbInstanceClass = "t3.2xlarge": expected an RDS instance class such as db.t3.2xlarge',
            ],
            [
                "ecommerce:eksNodeInstanceType",
                "large",
                'ecommerce:eksNodeInstanceType = "large": expected an EC2 instance type such as t3.xlarge',
            ],
            [
                "ecommerce:redisNodeCount",
                "4",
                "ecommerce:redisNodeCount = 4: expected an odd integer from 3 to 9 (Sentinel needs a strict majority)",
            ],
            [
                "ecommerce:redisSentinelQuorum",
                "1",
                "ecommerce:redisSentinelQuorum = 1: expected a majority of ecommerce:redisNodeCount (2 to 3)",
            ],
            [
                "ecommerce:redisVersion",
                "6.2.6",
                'ecommerce:redisVersion = "6.2.6": expected an exact 6.2.x release, 6.2.20 or later (CVE-2025-49844)',
            ],
            [
                "ecommerce:redisVersion",
                "latest",
                'ecommerce:redisVersion = "latest": expected an exact 6.2.x release, 6.2.20 or later (CVE-2025-49844)',
            ],
            [
                "ecommerce:redisVersion",
                "7.2.4",
                'ecommerce:redisVersion = "7.2.4": expected an exact 6.2.x release, 6.2.20 or later (CVE-2025-49844)',
            ],
            [
                "ecommerce:dbEngineVersion",
                "5.6",
                'ecommerce:dbEngineVersion = "5.6": expected an RDS MySQL 8.4 version (8.4 or 8.4.x); 5.6, 5.7 and 8.0 are end of life or paid Extended Support',
            ],
            [
                "ecommerce:dbEngineVersion",
                "8.0.35",
                'ecommerce:dbEngineVersion = "8.0.35": expected an RDS MySQL 8.4 version (8.4 or 8.4.x); 5.6, 5.7 and 8.0 are end of life or paid Extended Support',
            ],
            ["ecommerce:dbBackupRetentionDays", "3", "ecommerce:dbBackupRetentionDays = 3: expected an integer from 7 to 35 (days)"],
            ["ecommerce:dbMultiAz", "yes", 'ecommerce:dbMultiAz = "yes": expected true or false'],
            [
                "ecommerce:dbMaxAllocatedStorageGiB",
                "100",
                "ecommerce:dbMaxAllocatedStorageGiB = 100: expected at least ecommerce:dbAllocatedStorageGiB (200)",
            ],
            [
                "ecommerce:dbIdentifier",
                "Ecommerce_DB",
                'ecommerce:dbIdentifier = "Ecommerce_DB": expected lowercase letters, digits and single hyphens, starting with a letter, at most 40 characters',
            ],
            [
                "ecommerce:dbMasterUsername",
                "rdsadmin",
                'ecommerce:dbMasterUsername = "rdsadmin": expected a MySQL user name (letter, then letters, digits, _; at most 16; not rdsadmin)',
            ],
            [
                "ecommerce:vpcCidrs",
                '{"us-east-2":"10.10.0.0/16","us-west-1":"10.10.128.0/17"}',
                'ecommerce:vpcCidrs = {"us-east-2":"10.10.0.0/16","us-west-1":"10.10.128.0/17"}: expected non-overlapping CIDRs for the two regions (they must be routable to each other)',
            ],
            [
                "ecommerce:vpcCidrs",
                '{"us-east-2":"10.10.0.0/12","us-west-1":"10.20.0.0/16"}',
                'ecommerce:vpcCidrs.us-east-2 = "10.10.0.0/12": expected an IPv4 CIDR from /16 to /22',
            ],
            [
                "ecommerce:vpcCidrs",
                '{"us-east-2":"10.10.0.0/16"}',
                'ecommerce:vpcCidrs = {"us-east-2":"10.10.0.0/16"}: expected an entry for each site region (us-east-2, us-west-1); us-west-1 is missing',
            ],
            [
                "ecommerce:azIds",
                '{"us-east-2":["use2-az1"],"us-west-1":["usw1-az1","usw1-az3"]}',
                'ecommerce:azIds.us-east-2 = ["use2-az1"]: expected 2 to 3 distinct AZ IDs of that region (e.g. use2-az1)',
            ],
            [
                "ecommerce:azIds",
                '{"us-east-2":["use2-az1","usw1-az1"],"us-west-1":["usw1-az1","usw1-az3"]}',
                'ecommerce:azIds.us-east-2 = ["use2-az1","usw1-az1"]: expected 2 to 3 distinct AZ IDs of that region (e.g. use2-az1)',
            ],
            ["ecommerce:natGateways", "none", 'ecommerce:natGateways = "none": expected one of perAz, single'],
            [
                "ecommerce:flowLogRetentionDays",
                "45",
                "ecommerce:flowLogRetentionDays = 45: expected a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
            ],
            [
                "ecommerce:eksApiAllowedCidrs",
                '["0.0.0.0/0"]',
                'ecommerce:eksApiAllowedCidrs = ["0.0.0.0/0"]: expected one or more CIDRs, each a public IPv4 CIDR narrower than 0.0.0.0/0 (not private, shared, loopback or link-local)',
            ],
            [
                "ecommerce:eksApiAllowedCidrs",
                '["54.240.0.0/18","10.20.0.0/16"]',
                'ecommerce:eksApiAllowedCidrs = ["54.240.0.0/18","10.20.0.0/16"]: expected one or more CIDRs, each a public IPv4 CIDR narrower than 0.0.0.0/0 (not private, shared, loopback or link-local)',
            ],
            [
                "ecommerce:eksApiAllowedCidrs",
                "[]",
                "ecommerce:eksApiAllowedCidrs = []: expected one or more CIDRs, each a public IPv4 CIDR narrower than 0.0.0.0/0 (not private, shared, loopback or link-local)",
            ],
            ["ecommerce:eksNodeCount", "1", "ecommerce:eksNodeCount = 1: expected an integer from 2 to 20"],
            [
                "ecommerce:eksVersion",
                "1.20",
                'ecommerce:eksVersion = "1.20": expected a Kubernetes version of the EKS calendar in lib/advisories.ts (1.36, 1.35, 1.34, 1.33, 1.32, 1.31); add a row for a newer one',
            ],
            [
                "ecommerce:kubePrometheusStackVersion",
                "latest",
                'ecommerce:kubePrometheusStackVersion = "latest": expected an exact version x.y.z (no ranges, no latest)',
            ],
            [
                "ecommerce:certificateArns",
                '{"us-east-2":"arn:aws:acm:us-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"}',
                'ecommerce:certificateArns.us-east-2 = "arn:aws:acm:us-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555": expected an ACM certificate ARN in us-east-2 (arn:aws:acm:us-east-2:<account>:certificate/<id>), keyed by a site region',
            ],
            [
                "ecommerce:healthCheckPath",
                "api/health",
                'ecommerce:healthCheckPath = "api/health": expected an absolute URL path such as /api/health',
            ],
            [
                "ecommerce:siteHostname",
                "not a host",
                'ecommerce:siteHostname = "not a host": expected a DNS hostname such as shop.example.com',
            ],
            [
                "ecommerce:tags",
                '{"Tier":"x"}',
                'ecommerce:tags = {"Tier":"x"}: expected no reserved key (Tier is set by the program: Name, Project, Stack, Tier, ManagedBy)',
            ],
            [
                "ecommerce:tags",
                '{"Owner":5}',
                'ecommerce:tags = {"Owner":5}: expected tag keys of 1-128 letters, digits, spaces or _.:/=+-@ with string values up to 256 characters',
            ],
            [
                "ecommerce:webAmiNameFilter",
                "",
                'ecommerce:webArtifactUri = "": expected a release bundle s3://<bucket>/<key>.tar.gz when ecommerce:webAmiNameFilter is empty (something must install the application)',
            ],
            [
                "ecommerce:webAmiOwner",
                "someone",
                'ecommerce:webAmiOwner = "someone": expected self, amazon, aws-marketplace or a 12-digit account ID',
            ],
            [
                "ecommerce:redisVersion",
                "6.2.20",
                'ecommerce:redisVersion = "6.2.20": expected a version with a verified image digest in lib/pins.ts (add the digest of a new version there)',
            ],
            [
                "ecommerce:eksAccessEntries",
                JSON.stringify({ ci: { principalArn: "arn:aws:sts::123456789012:assumed-role/deploy/ci", accessPolicy: "cluster-admin" } }),
                'ecommerce:eksAccessEntries.ci.principalArn = "arn:aws:sts::123456789012:assumed-role/deploy/ci": expected an IAM role or user ARN (arn:aws:iam::<account or {account}>:role/<path/name>), not an sts assumed-role ARN nor a service-linked role',
            ],
            [
                "ecommerce:eksAccessEntries",
                JSON.stringify({ oncall: { principalArn: "arn:aws:iam::{account}:role/oncall", accessPolicy: "root" } }),
                'ecommerce:eksAccessEntries.oncall.accessPolicy = "root": expected one of cluster-admin, admin, edit, view',
            ],
            [
                "ecommerce:eksAccessEntries",
                JSON.stringify({ oncall: { principalArn: "arn:aws:iam::{account}:role/oncall", accessPolicy: "view", groups: ["x"] } }),
                'ecommerce:eksAccessEntries.oncall = {"principalArn":"arn:aws:iam::{account}:role/oncall","accessPolicy":"view","groups":["x"]}: expected an entry named a Kubernetes name (lowercase letters, digits and hyphens, at most 63): { principalArn, accessPolicy, namespaces } (namespaces optional)',
            ],
            [
                "ecommerce:eksAccessEntries",
                JSON.stringify({
                    a: { principalArn: "arn:aws:iam::{account}:role/oncall", accessPolicy: "view" },
                    b: { principalArn: "arn:aws:iam::{account}:role/oncall", accessPolicy: "edit", namespaces: ["monitoring"] },
                }),
                'ecommerce:eksAccessEntries = {"a":{"principalArn":"arn:aws:iam::{account}:role/oncall","accessPolicy":"view"},"b":{"principalArn":"arn:aws:iam::{account}:role/oncall","accessPolicy":"edit","namespaces":["monitoring"]}}: expected each principalArn at most once (arn:aws:iam::{account}:role/oncall is listed twice; give one entry several namespaces instead)',
            ],
            [
                "ecommerce:redisRollNodes",
                "[1,2]",
                "ecommerce:redisRollNodes = [1,2]: expected at most one node number from 1 to 3 (one node at a time keeps the Sentinel majority)",
            ],
            [
                "ecommerce:redisRollNodes",
                "[4]",
                "ecommerce:redisRollNodes = [4]: expected at most one node number from 1 to 3 (one node at a time keeps the Sentinel majority)",
            ],
            [
                "ecommerce:vpcCidrs",
                "not-json",
                'ecommerce:vpcCidrs = "not-json": expected a map from region to an IPv4 CIDR from /16 to /22',
            ],
        ];
        for (const [key, value, problem] of cases) {
            it(`rejects ${key} = ${value === undefined ? "(unset)" : value}`, () => {
                const stack = "primary";
                const err = (() => {
                    try {
                        parseConfig(raw(stack, { [key]: value }), stack);
                    } catch (e) {
                        return e as Error;
                    }
                    return undefined;
                })();
                assert.ok(err instanceof ConfigError, "expected a ConfigError");
                assert.equal(err.message, `Invalid configuration for stack "primary":\n  - ${problem}`);
            });
        }
    });

    it("rejects several bad values at once, listing each", () => {
        const problems = problemsOf(() =>
            parseConfig(raw("dr", { "ecommerce:webInstanceCount": "0", "ecommerce:eksNodeCount": "-1" }), "dr"),
        );
        assert.deepEqual(problems, [
            "ecommerce:webInstanceCount = 0: expected an integer from 1 to 100",
            "ecommerce:eksNodeCount = -1: expected an integer from 2 to 20",
        ]);
    });

    it("fails the program before any resource is created", async () => {
        const run = await runProgram({ stack: "dr", config: { "ecommerce:webInstanceCount": "0" } });
        assert.deepEqual(run.errors, [
            'Invalid configuration for stack "dr":\n  - ecommerce:webInstanceCount = 0: expected an integer from 1 to 100',
        ]);
        assert.deepEqual(
            run.resources.map((r) => r.type),
            ["pulumi:pulumi:Stack"],
        );
    });
});
