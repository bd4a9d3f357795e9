import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { HOURS_PER_MONTH, priceRow } from "../lib/prices";
import type { CostDiff } from "../offline/costDiff";
import { Plan, plan } from "../offline/plan";
import { costMarkdown } from "../tools/costText";
import { main, parseArgs, USAGE } from "../tools/plan";
import { PROJECT_DIR } from "../offline/stackConfig";
import { AS_OF } from "./support/asOf";
import { batch, tsNode } from "./support/tools";

interface Ran {
    status: number;
    stdout: string;
    stderr: string;
}

/** `npm run plan -- <args>` as a process of its own: the real exit code, and stdout as a pipe sees it. */
async function spawnPlan(args: string[]): Promise<Ran> {
    const script = path.join(PROJECT_DIR, "tools", "plan.ts");
    try {
        const { stdout, stderr } = await promisify(execFile)(...batch(process.execPath, tsNode(script, ...args)), {
            cwd: PROJECT_DIR,
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
        });
        return { status: 0, stdout, stderr };
    } catch (err) {
        const failed = err as { code?: unknown; stdout?: string; stderr?: string };
        if (typeof failed.code !== "number") {
            throw err;
        }
        return { status: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
}

/** The same CLI in this process (its main), for output that needs no process boundary. */
async function runPlan(args: string[]): Promise<Ran> {
    const ran = { status: -1, stdout: "", stderr: "" };
    ran.status = await main(args, { stdout: (text) => (ran.stdout += text), stderr: (text) => (ran.stderr += text) });
    return ran;
}

describe("offline plan (npm run plan)", () => {
    // The one run that needs a process of their own (the real exit code, stdout as a pipe sees
    // it) starts first and overlaps the in-process plans: a planted violation, as JSON.
    let piped: Promise<Ran>;
    before(() => {
        // --cost-diff HEAD: the same stack as the last commit builds it (no --set there), priced beside this one.
        piped = spawnPlan([
            "--json",
            "--stack",
            "dr",
            "--set",
            "ecommerce:webInstanceType=t3.large",
            "--as-of",
            AS_OF,
            "--cost-diff",
            "HEAD",
        ]);
        // Awaited by its test; a rejection is theirs to report, not an unhandled one.
        piped.catch(() => undefined);
    });

    it("prints both stacks' trees, verdicts and parity, and exits 0 with a summary line", async () => {
        const result = await runPlan(["--as-of", AS_OF]);
        assert.equal(result.status, 0, result.stderr);
        const out = result.stdout;
        assert.match(out, /^=== stack primary: us-east-2, role writer, \d+ resources$/m);
        assert.match(out, /^=== stack dr: us-west-1, role standby, \d+ resources$/m);
        assert.match(out, /^=== stack global: us-west-2, role global, 15 resources$/m);
        assert.match(
            out,
            /aws\.globalaccelerator\.Accelerator vip-accelerator {2}\[ip 75\.2\.\d+\.\d+,99\.83\.\d+\.\d+; dns a[0-9a-f]{16}\.awsglobalaccelerator\.com; protected\]/,
        );
        assert.match(out, /aws\.globalaccelerator\.Listener vip-listener {2}\[port 80,443; protected\]/);
        assert.match(
            out,
            /aws\.globalaccelerator\.EndpointGroup vip-endpoint-group {2}\[region us-east-2; dial 100%; weights load balancer 128\]/,
        );
        assert.match(
            out,
            /aws\.globalaccelerator\.EndpointGroup vip-endpoint-group {2}\[region us-west-1; dial 0%; weights none \(no endpoint\)\]/,
        );
        assert.match(out, /Public name: ecommerce:publicZoneId is empty, so no record is created for shop\.example\.com/);
        assert.match(
            out,
            /aws\.lambda\.Function failover-function {2}\[runtime nodejs24\.x; watches us-east-2 every 10s from standby,accelerator-health,witness, quorum 2, fails over after 3 rounds once the writer lease \(us-west-2\) is unrenewed for 35s, RPO budget 60s\]/,
        );
        assert.match(out, /aws\.scheduler\.Schedule failover-schedule {2}\[schedule rate\(1 minute\) ENABLED\]/);
        assert.match(out, /^ {2}n\/a +tier-counts +mandatory n\/a \(applies to site stacks\)$/m);
        assert.match(out, /^├─ WebTier web \(\d+ resources\)$/m);
        assert.match(out, /aws\.autoscaling\.Group web-asg {2}\[min 5 desired 5 max 10; AZs use2-az1,use2-az2,use2-az3\]/);
        assert.match(out, /aws\.ec2\.Instance redis-node-3 {2}\[size t3\.large; AZ us-west-1c\]/);
        assert.match(out, /^ {2}pass +tier-az-spread +mandatory examined [1-9]\d*$/m);
        assert.match(out, /Redis: us-west-1 has 2 usable AZs, so two of the three Redis\/Sentinel nodes share one/);
        assert.match(out, /^=== parity primary vs dr: \d+ differences on the allow-list/m);
        assert.match(
            out.trim().split("\n").pop()!,
            /^plan OK: global \(15 resources, 5 policies passed, 21 not applicable, 1 deploy warning\), primary \(\d+ resources, 25 policies passed, 1 not applicable, 5 deploy warnings\), dr \(\d+ resources, 25 policies passed, 1 not applicable, 5 deploy warnings\); parity OK \(\d+ allowed differences\)$/,
        );
        // The excerpt in docs/development.md is this output: every line of it (its counts
        // included) must be a line of the real plan, so the docs' numbers cannot drift.
        const docs = fs.readFileSync(path.join(PROJECT_DIR, "docs", "development.md"), "utf8");
        const excerpt = /An excerpt:\n\n```\n([\s\S]*?)\n```/.exec(docs);
        assert.ok(excerpt, "docs/development.md has no plan excerpt");
        const lines = new Set(out.split("\n"));
        const stale = excerpt[1]
            .split("\n")
            .map((l) => l.replace(/[,;:]? \.\.\.$/, "")) // "..." elides the rest of a long line
            .filter((l) => ![...lines].some((real) => real === l || real.startsWith(l)));
        assert.deepEqual(stale, [], "lines of the docs' plan excerpt that the plan no longer prints");
    });

    it("prices every stack by component, names its assumptions, lists only the access-log buckets as not priced, and compares a pilot light", async () => {
        const { plan: p } = await plan({ stacks: ["global", "primary", "dr"], preview: false, config: {}, evaluationDate: AS_OF });
        const cost = p.cost!;
        assert.ok(cost, "the plan carries a cost estimate");
        assert.deepEqual(
            cost.stacks.map((s) => [s.stack, s.role]),
            [
                ["global", "global"],
                ["primary", "writer"],
                ["dr", "standby"],
            ],
        );
        for (const s of cost.stacks) {
            const tiers = s.tiers.reduce((n, t) => n + t.monthlyUsd, 0);
            assert.ok(Math.abs(tiers - s.monthlyUsd) < 0.05, `${s.stack}: its components add up to its total`);
            assert.ok(s.monthlyUsd > 0);
        }
        // Every type the plans create is priced or known to be free: a new type without a row fails here.
        assert.deepEqual(
            cost.stacks.flatMap((s) => s.notPriced.map((n) => `${s.stack} ${n.type} ${n.name}`)),
            ["primary aws:s3/bucket:Bucket web-alb-logs", "dr aws:s3/bucket:Bucket web-alb-logs"],
        );
        // The seed's sizes are what the estimate prices, in both sites.
        for (const stack of ["primary", "dr"]) {
            const items = cost.stacks.find((s) => s.stack === stack)!.resources.flatMap((r) => r.items.map((i) => i.what));
            for (const expected of [
                "5 x t3.xlarge",
                "1 x t3.large",
                "2 x t3.large",
                "db.t3.2xlarge, Multi-AZ (two instances)",
                "db.t3.2xlarge, Single-AZ",
            ]) {
                assert.ok(items.includes(expected), `${stack}: ${expected}`);
            }
        }
        assert.deepEqual(cost.standby?.stacks, ["dr"]);
        assert.equal(cost.pilotLight?.stack, "dr");
        assert.ok(cost.pilotLight.pilotLightUsd < cost.pilotLight.warmStandbyUsd);
        // The README's cost table is this estimate (tools/costText.ts renders both).
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
        const table = /<!-- cost:start -->\n([\s\S]*?)\n<!-- cost:end -->/.exec(readme);
        assert.ok(table, "README.md has a cost table between <!-- cost:start --> and <!-- cost:end -->");
        assert.equal(
            table[1],
            costMarkdown(cost),
            "README.md's cost table is stale: paste the output of npx ts-node --swc tools/costText.ts",
        );
    });

    it("prints only the cost and the summary with --cost-only: each stack's total, the components, the assumptions, the pilot light", async () => {
        const result = await runPlan(["--cost-only", "--as-of", AS_OF]);
        assert.equal(result.status, 0, result.stderr);
        const out = result.stdout;
        assert.doesNotMatch(out, /^=== stack |^=== parity|^--- policies/m);
        assert.match(out, /^=== monthly cost: on-demand list prices read \d{4}-\d{2}-\d{2} \(lib\/prices\.ts\), 730 hours a month/m);
        for (const line of [
            /^ {2}primary +us-east-2 +writer +\$[\d,]+\.\d\d a month$/m,
            /^ {2}dr +us-west-1 +standby +\$[\d,]+\.\d\d a month$/m,
        ]) {
            assert.match(out, line);
        }
        assert.match(out, /^ {2}all stacks +\$[\d,]+\.\d\d a month; the standby \(dr\) is \$[\d,]+\.\d\d, \d+\.\d % of it$/m);
        assert.match(out, /^--- primary by component$/m);
        assert.match(out, /^ {2}ecommerce:costShopperEgressGiB=500 +GB a month sent to shoppers/m);
        assert.match(out, /^ {2}dr: \$[\d,]+\.\d\d a month as a warm standby, \$[\d,]+\.\d\d as a pilot light/m);
        assert.match(out.trim().split("\n").pop()!, /^plan OK: /);
    });

    it("exits 1 on a planted violation, naming the stack and the policy in its summary", async () => {
        const result = await runPlan(["--stack", "primary", "--set", "ecommerce:webInstanceType=t3.large", "--as-of", AS_OF]);
        assert.equal(result.status, 1);
        assert.match(result.stdout, /FAIL \(1\) +instance-size-by-tier/);
        assert.match(result.stdout, /- launch template web-lt \(tier web\) is t3\.large; allowed: t3\.xlarge/);
        const summary = "plan FAILED: primary: 1 mandatory violation (instance-size-by-tier: ecommerce:webInstanceType)";
        // The summary comes first and last, naming the config key behind the violation.
        assert.equal(result.stdout.split("\n")[0], summary);
        assert.equal(result.stdout.trim().split("\n").pop(), summary);
        assert.match(
            result.stdout,
            /- launch template web-lt \(tier web\) is t3\.large; allowed: t3\.xlarge \[config ecommerce:webInstanceType\]/,
        );
    });

    it("gives machines JSON with the same verdicts", async () => {
        const { plan: result } = await plan(parseArgs(["--json", "--stack", "dr", "--as-of", AS_OF]));
        assert.equal(result.ok, true);
        assert.equal(result.stacks.length, 1);
        assert.equal(result.stacks[0].region, "us-west-1");
        assert.equal(result.stacks[0].verdicts.length, 26);
        assert.ok(
            result.stacks[0].resources.some(
                (r) =>
                    r.type === "aws:rds/instance:Instance" &&
                    r.settings.replicates === "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2",
            ),
        );
        assert.equal(result.parity, undefined, "no parity with one stack");
    });

    it("passes both stacks as a first preview (IDs unknown), parity included", async () => {
        const { plan: result } = await plan(parseArgs(["--preview", "--as-of", AS_OF]));
        assert.equal(result.summary.startsWith("plan OK: global"), true, result.summary);
        assert.deepEqual(result.parity?.unexplained, []);
        // Priced as far as a preview knows: a schedule finds its function by dependency (its ARN
        // is unknown), and volumes in values known only after apply are listed, not zero.
        const dr = result.cost!.stacks.find((s) => s.stack === "dr")!;
        assert.ok(dr.resources.find((r) => r.name === "writer-agent-function")!.monthlyUsd > 0);
        assert.deepEqual(
            dr.notPriced.map((n) => [n.name, n.reason]),
            [
                [
                    "monitoring-kube-prometheus-stack",
                    "its values are known only after apply (a first preview): its volumes are not counted",
                ],
                ["web-alb-logs", "what it stores is not assumed (only the database backup buckets are)"],
            ],
        );
    });

    it("fails the plan when config breaks a mandatory policy in both stacks", async () => {
        const { plan: result } = await plan(parseArgs(["--set", "ecommerce:dbInstanceClass=db.t3.xlarge", "--as-of", AS_OF]));
        assert.equal(result.ok, false);
        assert.equal(
            result.summary,
            "plan FAILED: primary: 3 mandatory violations (instance-size-by-tier: ecommerce:dbInstanceClass); dr: 3 mandatory violations (instance-size-by-tier: ecommerce:dbInstanceClass)",
        );
    });

    it("exits 2 on bad arguments, saying why on stderr and printing no plan", async () => {
        const result = await runPlan(["--stack", "staging"]);
        assert.equal(result.status, 2);
        assert.equal(result.stderr, "plan: --stack staging: expected one of dr, global, primary\n");
        assert.equal(result.stdout, "");
    });

    it("rejects an unknown argument, an unknown stack and a malformed --set, with the usage", () => {
        assert.throws(
            () => parseArgs(["--stak", "dr"]),
            (err: Error) => err.message.startsWith("Unknown option '--stak'") && err.message.endsWith(USAGE),
        );
        assert.throws(() => parseArgs(["--stack", "staging"]), { message: "--stack staging: expected one of dr, global, primary" });
        assert.throws(() => parseArgs(["--set", "webInstanceType"]), {
            message: "--set webInstanceType: expected <namespace:key>=<value>, e.g. ecommerce:webInstanceType=t3.large",
        });
    });

    it("says in its summary why a program failed: the key, the value and what is allowed, first and last", async () => {
        const result = await runPlan(["--stack", "dr", "--set", "ecommerce:webInstanceCount=five", "--as-of", AS_OF]);
        assert.equal(result.status, 1);
        const summary = 'plan FAILED: dr: the program failed: ecommerce:webInstanceCount = "five": expected an integer from 1 to 100';
        assert.equal(result.stdout.split("\n")[0], summary);
        assert.equal(result.stdout.trim().split("\n").pop(), summary);
    });

    it("takes a list or map key's --set value as JSON, and says so when it is not", () => {
        assert.throws(() => parseArgs(["--set", "ecommerce:eksApiAllowedCidrs=198.51.100.7/32"]), {
            message:
                "--set ecommerce:eksApiAllowedCidrs=198.51.100.7/32: ecommerce:eksApiAllowedCidrs is a list key: give its value as JSON (a list), quoted for the shell, e.g. --set 'ecommerce:eksApiAllowedCidrs=[\"198.51.100.7/32\"]'",
        });
        assert.deepEqual(parseArgs(["--set", 'ecommerce:eksApiAllowedCidrs=["198.51.100.7/32"]']).config, {
            "ecommerce:eksApiAllowedCidrs": '["198.51.100.7/32"]',
        });
        assert.match(USAGE, /JSON for a list or map key/);
    });

    it("refuses a --set key the project does not declare, naming the closest one (a typo is never ignored)", () => {
        assert.throws(() => parseArgs(["--set", "ecommerce:webInstanceTyp=t3.large"]), {
            message:
                "--set ecommerce:webInstanceTyp=t3.large: ecommerce:webInstanceTyp is not a config key of this project (did you mean ecommerce:webInstanceType?)",
        });
        assert.deepEqual(parseArgs(["--set", "aws:region=us-west-1"]).config, { "aws:region": "us-west-1" });
    });

    it("prints its usage for --help and exits 0", async () => {
        const result = await runPlan(["--help"]);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout, `${USAGE}\n`);
        assert.match(result.stdout, /npm run --silent plan -- --json/);
    });

    it("writes the whole plan as JSON to a pipe, and nothing else, each resource with its URN and settings as fields; exits 1 on a violation", async () => {
        const result = await piped;
        assert.equal(result.status, 1, result.stderr);
        const parsed = JSON.parse(result.stdout) as Plan;
        assert.equal(parsed.ok, false);
        assert.equal(parsed.summary, "plan FAILED: dr: 1 mandatory violation (instance-size-by-tier: ecommerce:webInstanceType)");
        assert.equal(parsed.stacks[0].resources.length, 205);
        const writer = parsed.stacks[0].resources.find((r) => r.name === "db-writer")!;
        assert.equal(writer.urn, "urn:pulumi:dr::ecommerce::ecommerce:db:DatabaseCluster$aws:rds/instance:Instance::db-writer");
        assert.deepEqual(writer.settings, {
            size: "db.t3.2xlarge",
            engine: "mysql 8.4",
            multiAz: true,
            replicates: "arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2",
            protected: true,
        });
        // Priced beside the last commit's dr, where the web fleet is t3.xlarge: exactly that change.
        const diff = (parsed as Plan & { costDiff: CostDiff }).costDiff;
        assert.ok(diff, "--cost-diff adds the diff to the JSON");
        const web = (type: string) => 5 * HOURS_PER_MONTH * priceRow(`ec2:${type}`)!.usd["us-west-1"];
        const delta = Math.round((web("t3.large") - web("t3.xlarge")) * 100) / 100;
        assert.deepEqual(
            diff.changes.map((c) => [c.stack, c.name, c.deltaUsd, c.detail]),
            [["dr", "web-asg", delta, "5 x t3.xlarge -> 5 x t3.large"]],
        );
        assert.equal(diff.deltaUsd, delta);
    });

    it("refuses a --cost-diff reference that names no commit, before planning anything", async () => {
        const result = await runPlan(["--cost-diff", "no-such-ref-anywhere"]);
        assert.equal(result.status, 2);
        assert.equal(result.stdout, "");
        assert.equal(result.stderr, "plan: --cost-diff no-such-ref-anywhere: not a commit of this repository (git rev-parse found none)\n");
    });

    it("says where egress rules go and which group a rule admits, and lists resources in a stable order", async () => {
        const first = await plan(parseArgs(["--stack", "primary", "--as-of", AS_OF]));
        const settings = (name: string) => first.plan.stacks[0].resources.find((r) => r.name === name)!.settings;
        assert.deepEqual(settings("web-instance-out-mysql"), { port: "3306", to: "10.10.0.0/16" });
        assert.deepEqual(settings("db-mysql-from-web"), { port: "3306", from: "security group web-instance-sg" });
        assert.deepEqual(settings("redis-in-monitoring-sentinel"), { port: "26379", from: "monitoring-eks cluster security group" });
        const again = await plan(parseArgs(["--stack", "primary", "--set", "ecommerce:webInstanceCount=4", "--as-of", AS_OF]));
        assert.deepEqual(
            again.plan.stacks[0].resources.map((r) => r.urn),
            first.plan.stacks[0].resources.map((r) => r.urn),
        );
    });

    it("judges EKS support on --as-of: advisory warnings counted in the summary, then a violation naming ecommerce:eksVersion", async () => {
        const on = async (date: string) =>
            (await plan(parseArgs(["--stack", "dr", "--set", "ecommerce:eksVersion=1.34", "--as-of", date]))).plan;
        const before = await on("2026-11-30");
        assert.equal(
            before.summary,
            "plan OK: dr (205 resources, 24 policies passed, 1 not applicable, 2 advisory warnings, 5 deploy warnings)",
        );
        const after = await on("2026-12-02");
        assert.equal(after.summary, "plan FAILED: dr: 2 mandatory violations (approved-versions: ecommerce:eksVersion)");
        assert.throws(() => parseArgs(["--as-of", "12/02/2026"]), { message: "--as-of 12/02/2026: expected a date YYYY-MM-DD" });
    });

    it("shows the role, the known limits and the deploy warnings in a first preview too", async () => {
        const { plan: result } = await plan(parseArgs(["--preview", "--stack", "dr", "--as-of", AS_OF]));
        const dr = result.stacks[0];
        assert.equal(dr.role, "standby");
        assert.equal(dr.limits.length, 1);
        assert.match(dr.limits[0], /^Redis: us-west-1 has 2 usable AZs/);
        assert.deepEqual(
            dr.warnings.map((w) => w.split(" = ")[0]),
            [
                "ecommerce:eksApiAllowedCidrs",
                "ecommerce:siteHostname",
                "ecommerce:originHostnames",
                "ecommerce:backupImage",
                "ecommerce:webAmiNameFilter",
            ],
        );
        assert.equal(result.summary, "plan OK: dr (205 resources, 25 policies passed, 1 not applicable, 5 deploy warnings)");
    });
});
