import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { parseArgs, plan } from "../tools/plan";
import { PROJECT_DIR } from "../offline/stackConfig";

function runPlan(args: string[]) {
    return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(PROJECT_DIR, "tools", "plan.ts"), ...args], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
    });
}

describe("offline plan (npm run plan)", () => {
    it("prints both stacks' trees, verdicts and parity, and exits 0 with a summary line", function () {
        this.timeout(60_000);
        const result = runPlan([]);
        assert.equal(result.status, 0, result.stderr);
        const out = result.stdout;
        assert.match(out, /^=== stack primary: us-east-2, role writer, \d+ resources$/m);
        assert.match(out, /^=== stack dr: us-west-1, role standby, \d+ resources$/m);
        assert.match(out, /^├─ WebTier web \(\d+ resources\)$/m);
        assert.match(out, /aws\.autoscaling\.Group web-asg {2}\[min 5 desired 5 max 10; AZs use2-az1,use2-az2,use2-az3\]/);
        assert.match(out, /aws\.ec2\.Instance redis-node-3 {2}\[size t3\.large; AZ us-west-1c\]/);
        assert.match(out, /^ {2}pass +tier-az-spread +mandatory examined [1-9]\d*$/m);
        assert.match(out, /Redis: us-west-1 has 2 usable AZs, so two of the three Redis\/Sentinel nodes share one/);
        assert.match(out, /^=== parity primary vs dr: \d+ differences on the allow-list/m);
        assert.match(
            out.trim().split("\n").pop()!,
            /^plan OK: primary \(\d+ resources, 16 policies passed\), dr \(\d+ resources, 16 policies passed\); parity OK \(\d+ allowed differences\)$/,
        );
    });

    it("exits 1 on a planted violation, naming the stack and the policy in its summary", function () {
        this.timeout(60_000);
        const result = runPlan(["--stack", "primary", "--set", "ecommerce:webInstanceType=t3.large"]);
        assert.equal(result.status, 1);
        assert.match(result.stdout, /FAIL \(1\) +instance-size-by-tier/);
        assert.match(result.stdout, /- launch template web-lt \(tier web\) is t3\.large; allowed: t3\.xlarge/);
        assert.equal(result.stdout.trim().split("\n").pop(), "plan FAILED: primary: 1 mandatory violation (instance-size-by-tier)");
    });

    it("gives machines JSON with the same verdicts", async () => {
        const { plan: result } = await plan(parseArgs(["--json", "--stack", "dr"]));
        assert.equal(result.ok, true);
        assert.equal(result.stacks.length, 1);
        assert.equal(result.stacks[0].region, "us-west-1");
        assert.equal(result.stacks[0].verdicts.length, 16);
        assert.ok(
            result.stacks[0].resources.some(
                (r) =>
                    r.type === "aws:rds/instance:Instance" &&
                    r.settings.includes("replicates arn:aws:rds:us-east-2:123456789012:db:ecommerce-mysql-us-east-2"),
            ),
        );
        assert.equal(result.parity, undefined, "no parity with one stack");
    });

    it("passes both stacks as a first preview (IDs unknown), parity included", async () => {
        const { plan: result } = await plan(parseArgs(["--preview"]));
        assert.equal(result.summary.startsWith("plan OK: primary"), true, result.summary);
        assert.deepEqual(result.parity?.unexplained, []);
    });

    it("fails the plan when config breaks a mandatory policy in both stacks", async () => {
        const { plan: result } = await plan(parseArgs(["--set", "ecommerce:dbInstanceClass=db.t3.xlarge"]));
        assert.equal(result.ok, false);
        assert.equal(
            result.summary,
            "plan FAILED: primary: 3 mandatory violations (instance-size-by-tier); dr: 3 mandatory violations (instance-size-by-tier)",
        );
    });

    it("rejects an unknown argument and an unknown stack", () => {
        assert.throws(() => parseArgs(["--stak", "dr"]), {
            message: "unknown argument --stak; usage: npm run plan -- [--stack <stack>]... [--json] [--preview] [--set <key>=<value>]...",
        });
        assert.throws(() => parseArgs(["--stack", "staging"]), { message: "--stack staging: expected one of dr, primary" });
        assert.throws(() => parseArgs(["--set", "webInstanceType"]), {
            message: "--set webInstanceType: expected <namespace:key>=<value>, e.g. ecommerce:webInstanceType=t3.large",
        });
    });
});
