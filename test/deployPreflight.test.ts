import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DescribeImagesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GlobalAcceleratorClient, ListEndpointGroupsCommand } from "@aws-sdk/client-global-accelerator";
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { DescribeSourceRegionsCommand, RDSClient } from "@aws-sdk/client-rds";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import * as YAML from "yaml";
import { AwsClients, preflight } from "../tools/preflight";
import { parseConfig } from "../lib/config";
import { EXAMPLE_BACKUP_IMAGE_REPOSITORY, isExampleHostname, placeholdersIn } from "../lib/placeholders";
import { PROJECT_DIR, resolveStackConfig } from "../offline/stackConfig";
import { tsNode } from "./support/tools";

/** A copy of the project's Pulumi files whose dr stack file sets `config` on top. */
function projectWith(config: Record<string, unknown>, stack = "dr"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"));
    fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const lines = Object.entries(config).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
    fs.writeFileSync(
        path.join(dir, `Pulumi.${stack}.yaml`),
        `${fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8").trimEnd()}\n${lines.join("\n")}\n`,
    );
    return dir;
}

/** The real values a team would set instead of the placeholders. */
const READY = {
    "ecommerce:eksApiAllowedCidrs": ["54.240.0.0/18"],
    "ecommerce:siteHostname": "shop.acme-retail.com",
    "ecommerce:originHostnames": { "us-east-2": "origin-us-east-2.acme-retail.com", "us-west-1": "origin-us-west-1.acme-retail.com" },
    "ecommerce:backupImage": "123456789012.dkr.ecr.us-west-1.amazonaws.com/ecommerce-backup:1.0.0",
};

/** READY, installing the release bundle (no baked AMI to look up). */
const BUNDLE = {
    ...READY,
    "ecommerce:webAmiNameFilter": "",
    "ecommerce:webArtifactUri": "s3://releases-{region}/web-1.0.0.tar.gz",
};

describe("deploy wrapper preflight (tools/preflight.ts)", () => {
    const ec2 = mockClient(EC2Client);
    const ssm = mockClient(SSMClient);
    const ga = mockClient(GlobalAcceleratorClient);
    const lambda = mockClient(LambdaClient);
    const rds = mockClient(RDSClient);
    const credentials = { accessKeyId: "AKIDTEST", secretAccessKey: "test" };
    const client = (region: string) => new EC2Client({ region, credentials });
    const aws = (ec2For: (region: string) => EC2Client = client): Partial<AwsClients> => ({
        ec2: ec2For,
        ssm: (region) => new SSMClient({ region, credentials }),
        globalAccelerator: () => new GlobalAcceleratorClient({ region: "us-west-2", credentials }),
        lambda: (region) => new LambdaClient({ region, credentials }),
        rds: (region) => new RDSClient({ region, credentials }),
    });
    const LISTENER = "arn:aws:globalaccelerator::123456789012:accelerator/0f0e0d0c-0b0a-4909-8807-060504030201/listener/abcdefgh";
    const group = (region: string, dial: number, weights: number[]) => ({
        EndpointGroupArn: `${LISTENER}/endpoint-group/${region}`,
        EndpointGroupRegion: region,
        TrafficDialPercentage: dial,
        EndpointDescriptions: weights.map((w, i) => ({ EndpointId: `alb-${region}-${i}`, Weight: w })),
    });
    let dirs: string[] = [];
    beforeEach(() => {
        ec2.reset();
        ssm.reset();
        ga.reset();
        lambda.reset();
        rds.reset();
        // RDS replicates automated backups from both site regions into us-west-2.
        rds.on(DescribeSourceRegionsCommand).callsFake((input: { RegionName?: string }) => ({
            SourceRegions: [{ RegionName: input.RegionName, Status: "available", SupportsDBInstanceAutomatedBackupsReplication: true }],
        }));
        // An account with the default quota, the controller not deployed yet.
        lambda
            .on(GetAccountSettingsCommand)
            .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
        lambda
            .on(GetFunctionConcurrencyCommand)
            .rejects(Object.assign(new Error("Function not found"), { name: "ResourceNotFoundException" }));
        // The virtual IP as the runbook leaves it before any failover: primary serves.
        ssm.on(GetParameterCommand).resolves({ Parameter: { Name: "/ecommerce/global/accelerator-listener-arn", Value: LISTENER } });
        ga.on(ListEndpointGroupsCommand).resolves({ EndpointGroups: [group("us-east-2", 100, [128]), group("us-west-1", 0, [])] });
    });
    after(() => {
        ec2.restore();
        ssm.restore();
        ga.restore();
        lambda.restore();
        rds.restore();
        dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
    });
    const project = (config: Record<string, unknown>, stack = "dr") => {
        const dir = projectWith(config, stack);
        dirs = [...dirs, dir];
        return dir;
    };

    it("refuses the stack files as they are: every placeholder and the missing AMI at once, each with its key and what to set", async () => {
        ec2.on(DescribeImagesCommand).resolves({ Images: [] });
        assert.deepEqual(await preflight("dr", aws()), [
            'ecommerce:eksApiAllowedCidrs = ["203.0.113.0/24"]: 203.0.113.0/24 is a documentation range (RFC 5737): nobody can reach the EKS API from there, so the Helm releases time out after the cluster is built; set the egress CIDRs of wherever pulumi runs (CI runners, the operators\' VPN)',
            'ecommerce:siteHostname = "shop.example.com": an example name (RFC 2606): the probes would watch a site that is not the shop; set the shop\'s public name (the CNAME to the virtual IP)',
            'ecommerce:originHostnames = {"us-east-2":"origin-us-east-2.shop.example.com","us-west-1":"origin-us-west-1.shop.example.com"}: example names (RFC 2606): each region\'s synthetic probes of its own origin would watch nothing real; set each site region\'s origin name of its internal load balancer (a private record that resolves inside its VPC)',
            'ecommerce:backupImage = "public.ecr.aws/acme-retail/ecommerce-backup:1.0.0": the example image, which no registry serves: the nightly dump and the verification would never start, and no logical backup would be taken; set the image built from backup/Dockerfile, pushed to a registry the monitoring nodes pull from (an ECR repository of each site region), pinned by tag or digest',
            'ecommerce:webAmiNameFilter = "ecommerce-web-*": no available x86_64 AMI owned by self matches it in us-west-1; copy the pipeline\'s AMI to us-west-1, or set ecommerce:webAmiNameFilter to "" and ecommerce:webArtifactUri to the release bundle',
        ]);
        assert.equal(ec2.commandCalls(DescribeImagesCommand).length, 1);
    });

    it("passes a ready config whose baked AMI exists in the stack's region, looked up as the web tier looks it up", async () => {
        ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: "ami-0123456789abcdef0" }] });
        const regions: string[] = [];
        assert.deepEqual(
            await preflight(
                "dr",
                aws((region) => {
                    regions.push(region);
                    return client(region);
                }),
                project(READY),
            ),
            [],
        );
        assert.deepEqual(regions, ["us-west-1"]);
        assert.deepEqual(ec2.commandCalls(DescribeImagesCommand)[0].args[0].input, {
            Owners: ["self"],
            Filters: [
                { Name: "name", Values: ["ecommerce-web-*"] },
                { Name: "architecture", Values: ["x86_64"] },
                { Name: "state", Values: ["available"] },
            ],
        });
    });

    it("refuses the default baked-AMI filter when no AMI matches it in the region", async () => {
        ec2.on(DescribeImagesCommand).resolves({ Images: [] });
        assert.deepEqual(await preflight("dr", aws(), project(READY)), [
            'ecommerce:webAmiNameFilter = "ecommerce-web-*": no available x86_64 AMI owned by self matches it in us-west-1; copy the pipeline\'s AMI to us-west-1, or set ecommerce:webAmiNameFilter to "" and ecommerce:webArtifactUri to the release bundle',
        ]);
    });

    it("asks AWS nothing when no baked AMI is used (the release bundle installs the app)", async () => {
        const dir = project({
            ...READY,
            "ecommerce:webAmiNameFilter": "",
            "ecommerce:webArtifactUri": "s3://releases-{region}/web-1.0.0.tar.gz",
        });
        assert.deepEqual(await preflight("dr", aws(), dir), []);
        assert.equal(ec2.commandCalls(DescribeImagesCommand).length, 0);
    });

    it("refuses, naming the call, the region and the filter, when AWS refuses the lookup (the AMI could not be checked)", async () => {
        ec2.on(DescribeImagesCommand).rejects(
            Object.assign(new Error("You are not authorized to perform this operation."), { name: "UnauthorizedOperation" }),
        );
        assert.deepEqual(await preflight("dr", aws(), project(READY)), [
            'ecommerce:webAmiNameFilter = "ecommerce-web-*": could not check that an AMI matches it in us-west-1: EC2 DescribeImages (owner self) failed: You are not authorized to perform this operation.',
        ]);
    });

    describe("where the virtual IP sends traffic, against ecommerce:writerRegion", () => {
        it("asks Global Accelerator in us-west-2 about the listener the global stack published, and passes when the writer region serves", async () => {
            assert.deepEqual(await preflight("dr", aws(), project(BUNDLE)), []);
            assert.deepEqual(ssm.commandCalls(GetParameterCommand)[0].args[0].input, {
                Name: "/ecommerce/global/accelerator-listener-arn",
            });
            assert.deepEqual(ga.commandCalls(ListEndpointGroupsCommand)[0].args[0].input, { ListenerArn: LISTENER, NextToken: undefined });
        });

        it("refuses an update after the controller moved traffic to us-west-1 while writerRegion still says us-east-2", async () => {
            ga.on(ListEndpointGroupsCommand).resolves({ EndpointGroups: [group("us-east-2", 0, []), group("us-west-1", 100, [128])] });
            assert.deepEqual(await preflight("dr", aws(), project(BUNDLE)), [
                'ecommerce:writerRegion = "us-east-2", but the virtual IP sends traffic to us-west-1: after a failover set writerRegion: us-west-1 in Pulumi.yaml first (docs/RUNBOOK.md, "After a failover"), or this dr update could move traffic back',
            ]);
            // and agrees once the operator has set it
            assert.deepEqual(await preflight("dr", aws(), project({ ...BUNDLE, "ecommerce:writerRegion": "us-west-1" })), []);
        });

        it("refuses while no site serves (a failover stopped between its fence and its move)", async () => {
            ga.on(ListEndpointGroupsCommand).resolves({ EndpointGroups: [group("us-east-2", 0, []), group("us-west-1", 0, [])] });
            assert.match(
                (await preflight("dr", aws(), project(BUNDLE))).join("\n"),
                /the virtual IP serves no site now \(a failover stopped between its fence and its move\?\)/,
            );
        });

        it("passes before any endpoint group exists (the first site deploy)", async () => {
            ga.on(ListEndpointGroupsCommand).resolves({ EndpointGroups: [] });
            assert.deepEqual(await preflight("dr", aws(), project(BUNDLE)), []);
        });

        it("refuses before the global stack has published its listener, saying to deploy it first", async () => {
            ssm.on(GetParameterCommand).rejects(Object.assign(new Error("Parameter not found"), { name: "ParameterNotFound" }));
            assert.deepEqual(await preflight("dr", aws(), project(BUNDLE)), [
                "the virtual IP's listener is not published (SSM parameter /ecommerce/global/accelerator-listener-arn in us-west-2): deploy the global stack first (npm run up -- global)",
            ]);
        });

        it("refuses, naming the call, when Global Accelerator cannot be asked", async () => {
            ga.on(ListEndpointGroupsCommand).rejects(
                Object.assign(new Error("User is not authorized to perform: globalaccelerator:ListEndpointGroups"), {
                    name: "AccessDeniedException",
                }),
            );
            assert.deepEqual(await preflight("dr", aws(), project(BUNDLE)), [
                `could not check where the virtual IP sends traffic: Global Accelerator ListEndpointGroups (${LISTENER}) in us-west-2 failed: User is not authorized to perform: globalaccelerator:ListEndpointGroups`,
            ]);
        });

        it("asks nothing of Global Accelerator for the global stack itself", async () => {
            assert.deepEqual(
                (await preflight("global", aws())).map((p) => p.split(" = ")[0]),
                ["ecommerce:siteHostname"],
            );
            assert.equal(ga.commandCalls(ListEndpointGroupsCommand).length, 0);
            assert.equal(ssm.commandCalls(GetParameterCommand).length, 0);
        });
    });

    describe("the Lambda concurrency the failover controller reserves", () => {
        it("asks Lambda in the stack's region, and passes with the default quota", async () => {
            assert.deepEqual(await preflight("dr", aws(), project(BUNDLE)), []);
            assert.equal(await lambda.commandCalls(GetAccountSettingsCommand)[0].thisValue.config.region(), "us-west-1");
            assert.deepEqual(lambda.commandCalls(GetFunctionConcurrencyCommand)[0].args[0].input, { FunctionName: "ecommerce-failover" });
        });

        it("refuses a new account's quota, where Lambda keeps everything unreserved, saying which quota to raise", async () => {
            lambda
                .on(GetAccountSettingsCommand)
                .resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
            assert.deepEqual(await preflight("dr", aws(), project(BUNDLE)), [
                'the failover controller (ecommerce-failover) reserves 1 concurrent execution, but us-west-1\'s Lambda account concurrency is 10 with 10 unreserved, and Lambda keeps at least 10 unreserved: ask for a higher "Concurrent executions" quota in us-west-1 (Service Quotas, AWS Lambda, L-B99A9384) before deploying this stack',
            ]);
        });

        it("refuses when other functions' reservations leave exactly 100 unreserved, and passes once the controller holds its own", async () => {
            lambda
                .on(GetAccountSettingsCommand)
                .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 100 } });
            assert.match(
                (await preflight("dr", aws(), project(BUNDLE))).join("\n"),
                /1000 with 100 unreserved, and Lambda keeps at least 100 unreserved/,
            );
            lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 1 });
            assert.deepEqual(await preflight("dr", aws(), project(BUNDLE)), []);
        });

        it("refuses, naming the calls, when Lambda cannot be asked", async () => {
            lambda
                .on(GetAccountSettingsCommand)
                .rejects(
                    Object.assign(new Error("not authorized to perform: lambda:GetAccountSettings"), { name: "AccessDeniedException" }),
                );
            assert.deepEqual(await preflight("dr", aws(), project(BUNDLE)), [
                "could not check the Lambda concurrency the failover controller reserves: Lambda GetAccountSettings / GetFunctionConcurrency (ecommerce-failover) in us-west-1 failed: not authorized to perform: lambda:GetAccountSettings",
            ]);
        });
    });

    describe("the RDS backup replication the writer's stack creates", () => {
        it("asks RDS in the first backup region whether it replicates from the writer's region (only for the writer's stack)", async () => {
            assert.deepEqual(await preflight("primary", aws(), project(BUNDLE, "primary")), []);
            const call = rds.commandCalls(DescribeSourceRegionsCommand)[0];
            assert.deepEqual(call.args[0].input, { RegionName: "us-east-2" });
            assert.equal(await call.thisValue.config.region(), "us-west-2");
            rds.reset();
            assert.deepEqual(await preflight("dr", aws(), project(BUNDLE)), []);
            assert.equal(rds.commandCalls(DescribeSourceRegionsCommand).length, 0, "the standby replicates nothing");
        });

        it("refuses a pair RDS does not support, naming the key", async () => {
            rds.on(DescribeSourceRegionsCommand).resolves({
                SourceRegions: [{ RegionName: "us-east-2", Status: "available", SupportsDBInstanceAutomatedBackupsReplication: false }],
            });
            assert.deepEqual(await preflight("primary", aws(), project(BUNDLE, "primary")), [
                'ecommerce:backupRegions = ["us-west-2","us-east-1"]: RDS does not replicate automated backups from us-east-2 to us-west-2 (DescribeSourceRegions in us-west-2: SupportsDBInstanceAutomatedBackupsReplication false); put a supported destination first',
            ]);
        });
    });

    it("reports config errors instead of placeholders when the config is invalid", async () => {
        assert.deepEqual(await preflight("dr", aws(), project({ ...READY, "ecommerce:webInstanceCount": 0 })), [
            "ecommerce:webInstanceCount = 0: expected an integer from 1 to 100",
        ]);
    });

    it("refuses npm run preview before starting pulumi, exiting 2", () => {
        const result = spawnSync(process.execPath, tsNode("tools/deploy.ts", "preview", "dr"), {
            cwd: PROJECT_DIR,
            encoding: "utf8",
            // No pulumi on this PATH: had the wrapper started it, the exit would be 127. No AWS
            // credentials and no instance metadata: the AMI check fails here, on this machine.
            env: {
                PATH: path.dirname(process.execPath),
                HOME: os.tmpdir(),
                AWS_EC2_METADATA_DISABLED: "true",
                AWS_CONFIG_FILE: "/nonexistent",
                AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
            },
            timeout: 60_000,
        });
        assert.equal(result.status, 2, result.stderr);
        // The AWS SDK may print its own Node version notice first.
        const lines = result.stderr.slice(result.stderr.indexOf("deploy: ")).trimEnd().split("\n");
        assert.equal(lines[0], "deploy: dr is not ready for a real preview; nothing was started:");
        assert.deepEqual(
            lines.slice(1).map((l) => l.split(" = ")[0]),
            [
                "  - ecommerce:eksApiAllowedCidrs",
                "  - ecommerce:siteHostname",
                "  - ecommerce:originHostnames",
                "  - ecommerce:backupImage",
                "  - ecommerce:webAmiNameFilter",
                "  - could not read which listener the virtual IP uses: SSM GetParameter /ecommerce/global/accelerator-listener-arn in us-west-2 failed: Could not load credentials from any providers",
                "  - could not check the Lambda concurrency the failover controller reserves: Lambda GetAccountSettings / GetFunctionConcurrency (ecommerce-failover) in us-west-1 failed: Could not load credentials from any providers",
            ],
        );
        assert.match(lines[5], /: could not check that an AMI matches it in us-west-1: EC2 DescribeImages \(owner self\) failed: /);
    });
});

describe("lib/placeholders", () => {
    const hostnames: [string, boolean][] = [
        ["shop.example.com", true],
        ["example.org", true],
        ["origin.shop.example.net", true],
        ["shop.example", true],
        ["api.test", true],
        ["x.invalid", true],
        ["example.com.au", false],
        ["myexample.com", false],
        ["shop.acme-retail.com", false],
    ];
    for (const [hostname, example] of hostnames) {
        it(`${example ? "flags" : "accepts"} ${hostname}`, () => assert.equal(isExampleHostname(hostname), example));
    }

    it("flags a CIDR inside a documentation range, not one that merely contains it", () => {
        const cidrs = (list: string[]) =>
            placeholdersIn({ ...cfg, monitoring: { ...cfg.monitoring, apiAllowedCidrs: list } }).map((p) => p.key);
        assert.deepEqual(cidrs(["198.51.100.7/32"]), [
            "ecommerce:eksApiAllowedCidrs",
            "ecommerce:siteHostname",
            "ecommerce:originHostnames",
            "ecommerce:backupImage",
        ]);
        assert.deepEqual(cidrs(["10.0.0.0/8", "203.0.113.128/25"]), [
            "ecommerce:eksApiAllowedCidrs",
            "ecommerce:siteHostname",
            "ecommerce:originHostnames",
            "ecommerce:backupImage",
        ]);
        const others = ["ecommerce:siteHostname", "ecommerce:originHostnames", "ecommerce:backupImage"];
        assert.deepEqual(cidrs(["192.0.0.0/16"]), others);
        assert.deepEqual(cidrs(["10.0.0.0/8", "100.64.0.0/10"]), others);
    });

    it("flags Pulumi.yaml's example backup image, by tag or by digest, and accepts a team's own", () => {
        const image = (ref: string) =>
            placeholdersIn({ ...cfg, backups: { ...cfg.backups, image: ref } }).some((p) => p.key === "ecommerce:backupImage");
        const declared = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")).config.backupImage.default;
        assert.equal(declared.split(":")[0], EXAMPLE_BACKUP_IMAGE_REPOSITORY, "Pulumi.yaml's default is the example the preflight knows");
        assert.equal(image(declared), true);
        assert.equal(image(`${EXAMPLE_BACKUP_IMAGE_REPOSITORY}@sha256:${"a".repeat(64)}`), true);
        assert.equal(image("123456789012.dkr.ecr.us-east-2.amazonaws.com/ecommerce-backup:1.0.0"), false);
    });
});

const cfg = parseConfig((k) => resolveStackConfig("primary")[k], "primary");
