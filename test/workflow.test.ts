import { strict as assert } from "assert";
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { NODE_MAJOR } from "../lib/bundle";
import { PROJECT_DIR, listStacks, readStackFile } from "../offline/stackConfig";

const WORKFLOW = path.join(PROJECT_DIR, ".github", "workflows", "pull-request.yml");
const VALIDATOR = path.join(PROJECT_DIR, "node_modules", ".bin", "action-validator");

interface Step {
    id?: string;
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}

interface Job {
    name?: string;
    "runs-on": string;
    if?: string;
    needs?: string | string[];
    "timeout-minutes"?: number;
    permissions?: Record<string, string>;
    strategy?: { "fail-fast"?: boolean; matrix: { include: Record<string, string>[] } };
    container?: string;
    steps: Step[];
}

interface Workflow {
    on: Record<string, unknown>;
    permissions?: Record<string, string>;
    concurrency?: { group: string; "cancel-in-progress": boolean };
    jobs: Record<string, Job>;
}

const text = (): string => fs.readFileSync(WORKFLOW, "utf8");
const workflow = (): Workflow => parse(text()) as Workflow;

function validate(file: string): { status: number | null; errors: string } {
    const result = spawnSync(VALIDATOR, [file], { encoding: "utf8", timeout: 30000 });
    assert.equal(result.error, undefined, `could not run ${VALIDATOR}: ${String(result.error)} (npm ci installs @action-validator/cli)`);
    return { status: result.status, errors: result.stderr + result.stdout };
}

/** The one step of `job` that uses `action` (owner/name, any version). */
function stepUsing(job: Job, action: string): Step {
    const found = job.steps.filter((s) => s.uses?.split("@")[0] === action);
    assert.equal(found.length, 1, `one step uses ${action}, found ${found.length}`);
    return found[0];
}

/** The index of the one step of `job` whose whole `run` is `command`. */
function stepRunning(job: Job, command: string): number {
    const found = job.steps.flatMap((s, i) => (s.run?.trim() === command ? [i] : []));
    assert.equal(found.length, 1, `one step runs exactly "${command}", found ${found.length}`);
    return found[0];
}

/** Replaces `${{ matrix.<key> }}` the way Actions would for one matrix entry; anything else is unexpected here. */
function expand(value: string, matrix: Record<string, string>): string {
    return value.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, expr: string) => {
        const key = /^matrix\.(\w+)$/.exec(expr)?.[1];
        assert.ok(key !== undefined && key in matrix, `unexpected expression \${{ ${expr} }}`);
        return matrix[key];
    });
}

interface StepRun {
    status: number | null;
    stderr: string;
    output: string;
}

/** Runs the preview job's backend step for one matrix entry, as the runner would (bash -e, GITHUB_OUTPUT). */
async function runBackendStep(matrix: Record<string, string>): Promise<StepRun> {
    const step = workflow().jobs.preview.steps.find((s) => s.id === "backend");
    assert.ok(step?.run, "the preview job has a step with id backend and a run script");
    const script = step.run;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-backend-"));
    try {
        const outputFile = path.join(dir, "github-output");
        fs.writeFileSync(outputFile, "");
        const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(v, matrix)]));
        const status = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
            const options = { cwd: PROJECT_DIR, env: { ...process.env, ...env, GITHUB_OUTPUT: outputFile }, timeout: 60000 };
            const child = execFile("bash", ["-e", "-c", script], options, (_err, _stdout, stderr) => {
                // A kill (the timeout) leaves no exit code: say so next to what the step printed.
                const killed = child.signalCode === null ? "" : `\n(killed by ${child.signalCode})`;
                resolve({ status: child.exitCode, stderr: `${stderr}${killed}` });
            });
        });
        return { ...status, output: fs.readFileSync(outputFile, "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Every `path` an action-validator error report mentions, however deeply nested. */
function errorPaths(report: unknown): string[] {
    if (Array.isArray(report)) return report.flatMap(errorPaths);
    if (report !== null && typeof report === "object") {
        return Object.entries(report).flatMap(([k, v]) => (k === "path" && typeof v === "string" ? [v] : errorPaths(v)));
    }
    return [];
}

/**
 * The inputs each action declares in its action.yml at the major version the workflow pins
 * (read from the actions' repositories at those tags). GitHub only warns about an unknown
 * input, so a misspelt one (`policy-packs` for `policyPacks`) would silently do nothing.
 */
const ACTION_INPUTS: Record<string, string[]> = {
    "actions/checkout@v5": [
        "allow-unsafe-pr-checkout",
        "clean",
        "fetch-depth",
        "fetch-tags",
        "filter",
        "github-server-url",
        "lfs",
        "path",
        "persist-credentials",
        "ref",
        "repository",
        "set-safe-directory",
        "show-progress",
        "sparse-checkout",
        "sparse-checkout-cone-mode",
        "ssh-key",
        "ssh-known-hosts",
        "ssh-strict",
        "ssh-user",
        "submodules",
        "token",
    ],
    "actions/setup-node@v6": [
        "architecture",
        "cache",
        "cache-dependency-path",
        "check-latest",
        "mirror",
        "mirror-token",
        "node-version",
        "node-version-file",
        "package-manager-cache",
        "registry-url",
        "scope",
        "token",
    ],
    "aws-actions/configure-aws-credentials@v6": [
        "action-timeout-s",
        "allowed-account-ids",
        "audience",
        "aws-access-key-id",
        "aws-profile",
        "aws-region",
        "aws-secret-access-key",
        "aws-session-token",
        "custom-tags",
        "disable-retry",
        "force-skip-oidc",
        "http-proxy",
        "inline-session-policy",
        "managed-session-policies",
        "mask-aws-account-id",
        "no-proxy",
        "output-credentials",
        "output-env-credentials",
        "overwrite-aws-profile",
        "retry-max-attempts",
        "role-chaining",
        "role-duration-seconds",
        "role-external-id",
        "role-session-name",
        "role-skip-session-tagging",
        "role-to-assume",
        "special-characters-workaround",
        "sts-endpoint",
        "transitive-tag-keys",
        "unset-current-credentials",
        "use-existing-credentials",
        "web-identity-token-file",
    ],
    "pulumi/actions@v7": [
        "always-include-summary",
        "cloud-url",
        "color",
        "command",
        "comment-on-pr",
        "comment-on-pr-number",
        "comment-on-summary",
        "config-map",
        "continue-on-error",
        "debug",
        "diff",
        "edit-pr-comment",
        "exclude",
        "exclude-dependents",
        "exclude-protected",
        "expect-no-changes",
        "github-token",
        "log-flow",
        "log-verbosity",
        "message",
        "parallel",
        "plan",
        "policyPackConfigs",
        "policyPacks",
        "pulumi-version",
        "pulumi-version-file",
        "refresh",
        "remove",
        "replace",
        "secrets-provider",
        "stack-name",
        "suppress-outputs",
        "suppress-progress",
        "target",
        "target-dependents",
        "upsert",
        "work-dir",
    ],
};

const MATRIX = [
    { stack: "global", region: "us-west-2" },
    { stack: "primary", region: "us-east-2" },
    { stack: "dr", region: "us-west-1" },
];

describe("pull-request workflow (.github/workflows/pull-request.yml)", () => {
    describe("validity", () => {
        it("passes action-validator (the GitHub Actions workflow schema)", () => {
            const { status, errors } = validate(WORKFLOW);
            assert.equal(status, 0, errors);
        });

        const breakages: { what: string; change: (wf: Workflow) => void; path: string }[] = [
            { what: "a job without runs-on", change: (wf) => delete (wf.jobs.test as Partial<Job>)["runs-on"], path: "/jobs/test/runs-on" },
            { what: "a misspelt trigger", change: (wf) => (wf.on = { pull_reqest: null }), path: "/on" },
            {
                what: "a permission level that does not exist",
                change: (wf) => (wf.jobs.preview.permissions = { "id-token": "admin" }),
                path: "/jobs/preview/permissions",
            },
        ];
        for (const b of breakages) {
            it(`rejects a copy with ${b.what} (action-validator exits 1 and names ${b.path})`, () => {
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-broken-"));
                try {
                    const copy = path.join(dir, "pull-request.yml");
                    const wf = workflow();
                    fs.writeFileSync(copy, stringify(wf));
                    assert.equal(validate(copy).status, 0, "the unbroken round-trip copy passes, so only the breakage is rejected");
                    b.change(wf);
                    fs.writeFileSync(copy, stringify(wf));
                    const { status, errors } = validate(copy);
                    assert.equal(status, 1, errors);
                    const paths = errorPaths(JSON.parse(errors));
                    assert.ok(
                        paths.some((p) => p.startsWith(b.path)),
                        `error paths ${JSON.stringify(paths)} name ${b.path}`,
                    );
                } finally {
                    fs.rmSync(dir, { recursive: true, force: true });
                }
            });
        }
    });

    describe("shape", () => {
        it("runs on pull requests only", () => {
            assert.deepEqual(Object.keys(workflow().on), ["pull_request"]);
        });

        it("runs one concurrency group per pull request and cancels the superseded run", () => {
            assert.deepEqual(workflow().concurrency, {
                group: "pull-request-${{ github.event.pull_request.number }}",
                "cancel-in-progress": true,
            });
        });

        it("has exactly the jobs test, cost and preview, each with a timeout", () => {
            const jobs = workflow().jobs;
            assert.deepEqual(Object.keys(jobs), ["test", "cost", "preview"]);
            for (const [name, job] of Object.entries(jobs)) {
                assert.ok(
                    Number.isInteger(job["timeout-minutes"]) && job["timeout-minutes"]! > 0 && job["timeout-minutes"]! <= 60,
                    `${name}: timeout-minutes ${job["timeout-minutes"]}`,
                );
            }
        });

        it("grants nothing at workflow level and only contents: read to the test job", () => {
            const wf = workflow();
            assert.deepEqual(wf.permissions, {});
            assert.deepEqual(wf.jobs.test.permissions, { contents: "read" });
        });

        it("grants id-token: write to the preview job only, and pull-requests: write to the jobs that comment (preview, cost)", () => {
            const jobs = workflow().jobs;
            assert.deepEqual(jobs.preview.permissions, { contents: "read", "id-token": "write", "pull-requests": "write" });
            assert.deepEqual(jobs.cost.permissions, { contents: "read", "pull-requests": "write" });
            const elsewhere = Object.entries(jobs).filter(
                ([name, job]) =>
                    (name !== "preview" && job.permissions?.["id-token"] !== undefined) ||
                    (!["preview", "cost"].includes(name) && job.permissions?.["pull-requests"] !== undefined),
            );
            assert.deepEqual(
                elsewhere.map(([name]) => name),
                [],
            );
        });

        it("pins every action to a major version tag (owner/name@vN, never a branch)", () => {
            const uses = Object.values(workflow().jobs).flatMap((j) => j.steps.flatMap((s) => (s.uses ? [s.uses] : [])));
            assert.ok(uses.length >= 6, `expected the actions of both jobs, found ${uses.join(", ")}`);
            assert.deepEqual(
                uses.filter((u) => !/^[\w-]+\/[\w.-]+@v\d+$/.test(u)),
                [],
            );
        });

        it("uses only actions whose inputs are known here, and passes each only inputs its action.yml declares", () => {
            const steps = Object.values(workflow().jobs).flatMap((j) => j.steps.filter((s) => s.uses !== undefined));
            assert.deepEqual(
                [...new Set(steps.map((s) => s.uses))].filter((u) => !(u! in ACTION_INPUTS)),
                [],
            );
            const unknown = steps.flatMap((s) =>
                Object.keys(s.with ?? {})
                    .filter((k) => !ACTION_INPUTS[s.uses!].includes(k))
                    .map((k) => `${s.uses}: ${k}`),
            );
            assert.deepEqual(unknown, []);
        });

        it("uses no long-lived AWS keys and no secret but GITHUB_TOKEN", () => {
            const all = text();
            for (const forbidden of [
                "aws-access-key-id",
                "aws-secret-access-key",
                "aws-session-token",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
            ]) {
                assert.ok(!all.includes(forbidden), `the workflow mentions ${forbidden}`);
            }
            const secrets = [...all.matchAll(/secrets\.(\w+)/g)].map((m) => m[1]);
            assert.deepEqual([...new Set(secrets)], ["GITHUB_TOKEN"]);
        });
    });

    describe("test job", () => {
        it(`sets up Node ${NODE_MAJOR} (the project's, lib/bundle.ts; 20 is end of life) with the npm cache`, () => {
            const setup = stepUsing(workflow().jobs.test, "actions/setup-node");
            assert.deepEqual(setup.with, { "node-version": NODE_MAJOR, cache: "npm" });
            assert.equal(workflow().jobs.test.container, `node:${NODE_MAJOR}-bookworm`);
        });

        it("runs ./.ci/run after checkout and Node set-up", () => {
            const job = workflow().jobs.test;
            const ci = stepRunning(job, "./.ci/run");
            assert.ok(job.steps.indexOf(stepUsing(job, "actions/checkout")) < ci, "checkout comes first");
            assert.ok(job.steps.indexOf(stepUsing(job, "actions/setup-node")) < ci, "Node is set up before .ci/run");
            assert.ok((fs.statSync(path.join(PROJECT_DIR, ".ci", "run")).mode & 0o111) !== 0, ".ci/run is executable");
        });

        it("runs npm run plan after the tests", () => {
            const job = workflow().jobs.test;
            assert.ok(stepRunning(job, "npm run plan") > stepRunning(job, "./.ci/run"));
        });

        it("runs a plan script that package.json defines", () => {
            const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as { scripts: Record<string, string> };
            assert.equal(typeof pkg.scripts.plan, "string", "package.json has no scripts.plan");
        });
    });

    describe("cost job", () => {
        it("runs for pull requests from this repository only, after npm ci, with the base commit fetched", () => {
            const job = workflow().jobs.cost;
            assert.equal(job.if, "github.event.pull_request.head.repo.full_name == github.repository");
            const checkout = stepUsing(job, "actions/checkout");
            assert.equal(checkout.with?.["fetch-depth"], 0);
            assert.equal(checkout.with?.["persist-credentials"], false);
            assert.ok(stepRunning(job, "npm ci --no-audit --no-fund") < job.steps.findIndex((s) => s.run?.includes("--cost-diff")));
        });

        /** Runs the cost job's pricing step with a stand-in npm that prints `plan` and exits 1 (a violation). */
        function runPriceStep(plan: string): { status: number | null; stderr: string; args: string; posted: string } {
            const step = workflow().jobs.cost.steps.find((s) => s.run?.includes("--cost-diff"));
            assert.ok(step?.run);
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-cost-"));
            try {
                const bin = path.join(dir, "bin");
                fs.mkdirSync(bin);
                fs.writeFileSync(path.join(dir, "plan.out"), `${plan}\n`);
                fs.writeFileSync(path.join(bin, "npm"), `#!/bin/sh\necho "$@" > "${dir}/args"\ncat "${dir}/plan.out"\nexit 1\n`, {
                    mode: 0o755,
                });
                const ran = spawnSync("bash", ["-e", "-c", step.run], {
                    cwd: dir,
                    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BASE_SHA: "0123abc" },
                    encoding: "utf8",
                });
                const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "");
                return { status: ran.status, stderr: ran.stderr, args: read("args").trim(), posted: read("cost.md") };
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }

        const PLAN_TEXT = (change: string[]) =>
            [
                "=== stack dr: us-west-1, role standby, 205 resources",
                "",
                "=== monthly cost: on-demand list prices read 2026-12-03 (lib/prices.ts), 730 hours a month",
                "  dr       us-west-1  standby     $3,385.89 a month",
                "  all stacks                      $3,385.89 a month",
                "",
                "--- dr by component",
                "",
                "--- not priced (not in the totals)",
                "  ? dr aws:s3/bucket:Bucket web-alb-logs (WebTier web): what it stores is not assumed",
                "",
                "=== cost change against 0123abc (0123abcdef01), both priced with this commit's lib/prices.ts",
                ...change,
                "",
                "=== parity: skipped (one stack)",
                "",
                "plan FAILED: dr: 1 mandatory violation",
            ].join("\n");

        it("prices against the base commit (passed through env, never spliced into the script) and posts the cost sections, even when the plan exits 1", () => {
            const step = workflow().jobs.cost.steps.find((s) => s.run?.includes("--cost-diff"));
            assert.deepEqual(step?.env, { BASE_SHA: "${{ github.event.pull_request.base.sha }}" });
            assert.ok(!step.run!.includes("${{"), "no expression inside the script");
            const ran = runPriceStep(PLAN_TEXT(["  +$911.04/month: web-asg (WebTier web) 5 x t3.xlarge -> 5 x m5.2xlarge in dr"]));
            assert.equal(ran.status, 0, ran.stderr);
            assert.equal(ran.args, "run --silent plan -- --cost-diff 0123abc");
            const posted = ran.posted;
            assert.ok(posted.startsWith("<!-- ecommerce-cost -->\n"), posted);
            assert.ok(posted.includes("+$911.04/month: web-asg (WebTier web) 5 x t3.xlarge -> 5 x m5.2xlarge in dr"), posted);
            assert.ok(posted.includes("  all stacks                      $3,385.89 a month"), posted);
            assert.ok(posted.includes("  ? dr aws:s3/bucket:Bucket web-alb-logs (WebTier web): what it stores is not assumed"), posted);
            assert.ok(!posted.includes("=== parity") && !posted.includes("--- dr by component"), posted);
        });

        it("cuts a cost change too long for one comment (GitHub's 65,536 characters), and says where the rest is", () => {
            const lines = Array.from({ length: 2000 }, (_, i) => `        +$1.00  dr resource-${i} (WebTier web): ${"x".repeat(40)}`);
            const ran = runPriceStep(PLAN_TEXT(lines));
            assert.equal(ran.status, 0, ran.stderr);
            assert.ok(ran.posted.length < 60_200, `${ran.posted.length} characters`);
            assert.match(
                ran.posted,
                /\n```\n\(cut at 60,000 characters: npm run plan -- --cost-only --cost-diff 0123abc prints all of it\)\n$/,
            );
        });

        it("posts with the job's own token, one comment found by its marker and edited on every push (never the preview's)", () => {
            const job = workflow().jobs.cost;
            const post = job.steps.find((s) => s.run?.includes("gh pr comment"));
            assert.ok(post?.run, "a step posts with gh pr comment");
            assert.ok(!post.run.includes("--edit-last"), "--edit-last would edit the preview's comment (the same bot user)");
            assert.match(
                post.run,
                /select\(\.user\.login == "github-actions\[bot\]" and \(\.body \| startswith\("<!-- ecommerce-cost -->"\)\)\)/,
            );
            assert.match(post.run, /gh api --method PATCH "repos\/\$GITHUB_REPOSITORY\/issues\/comments\/\$id" -F body=@cost\.md/);
            assert.deepEqual(post.env, { GH_TOKEN: "${{ github.token }}", PR: "${{ github.event.pull_request.number }}" });
            const price = job.steps.find((s) => s.run?.includes("--cost-diff"));
            assert.match(price!.run!, /echo "<!-- ecommerce-cost -->"/, "the body starts with the marker");
        });
    });

    describe("preview job", () => {
        it("runs only after the tests, for pull requests from this repository, when AWS_PREVIEW_ROLE_ARN is set", () => {
            const job = workflow().jobs.preview;
            assert.equal(job.needs, "test");
            const condition = job.if ?? "";
            assert.ok(
                condition.includes("github.event.pull_request.head.repo.full_name == github.repository"),
                `fork guard missing from if: ${condition}`,
            );
            assert.ok(condition.includes("vars.AWS_PREVIEW_ROLE_ARN != ''"), `variable check missing from if: ${condition}`);
            assert.ok(!/\|\|/.test(condition), `if: must be a conjunction: ${condition}`);
        });

        it("has the matrix global/us-west-2, primary/us-east-2 and dr/us-west-1 exactly, each the region of its stack file", () => {
            const strategy = workflow().jobs.preview.strategy;
            assert.deepEqual(strategy?.matrix, { include: MATRIX });
            assert.equal(strategy?.["fail-fast"], false, "one stack's failure does not cancel the other's preview");
            assert.deepEqual(MATRIX.map((m) => m.stack).sort(), listStacks());
            for (const m of MATRIX) {
                assert.equal(readStackFile(m.stack).config["aws:region"], m.region, m.stack);
            }
        });

        it(`sets up Node ${NODE_MAJOR} with the npm cache (pulumi runs the program on the PATH's node) and runs npm ci before the preview`, () => {
            const job = workflow().jobs.preview;
            assert.deepEqual(stepUsing(job, "actions/setup-node").with, { "node-version": NODE_MAJOR, cache: "npm" });
            assert.ok(stepRunning(job, "npm ci --no-audit --no-fund") < job.steps.indexOf(stepUsing(job, "pulumi/actions")));
        });

        it("assumes the role from the AWS_PREVIEW_ROLE_ARN variable over OIDC, in the matrix region", () => {
            const job = workflow().jobs.preview;
            const creds = stepUsing(job, "aws-actions/configure-aws-credentials");
            assert.equal(creds.with?.["role-to-assume"], "${{ vars.AWS_PREVIEW_ROLE_ARN }}");
            assert.equal(creds.with?.["aws-region"], "${{ matrix.region }}");
            assert.ok(
                job.steps.indexOf(creds) < job.steps.indexOf(stepUsing(job, "pulumi/actions")),
                "credentials come before the preview",
            );
        });

        it("runs the deploy wrapper's preflight on the matrix stack, with the role's credentials, before the preview", () => {
            const job = workflow().jobs.preview;
            const preflight = job.steps.filter((s) => s.run?.includes("tools/deploy.ts preflight"));
            assert.equal(preflight.length, 1);
            assert.equal(preflight[0].run, 'npx ts-node --swc tools/deploy.ts preflight "$STACK"');
            assert.deepEqual(preflight[0].env, { STACK: "${{ matrix.stack }}" });
            const at = job.steps.indexOf(preflight[0]);
            assert.ok(
                job.steps.indexOf(stepUsing(job, "aws-actions/configure-aws-credentials")) < at,
                "credentials first (it asks EC2 for the AMI)",
            );
            assert.ok(at < job.steps.indexOf(stepUsing(job, "pulumi/actions")), "preflight before the preview");
        });

        it("runs pulumi preview through pulumi/actions on the matrix stack with the policies pack, commenting on the pull request", () => {
            const pulumi = stepUsing(workflow().jobs.preview, "pulumi/actions");
            assert.equal(pulumi.with?.command, "preview");
            assert.equal(pulumi.with?.["stack-name"], "${{ matrix.stack }}");
            assert.equal(pulumi.with?.policyPacks, "policies");
            assert.equal(String(pulumi.with?.["comment-on-pr"]), "true");
            assert.equal(pulumi.with?.["github-token"], "${{ secrets.GITHUB_TOKEN }}");
        });

        it("names a policy pack folder that holds a PulumiPolicy.yaml", () => {
            const pack = stepUsing(workflow().jobs.preview, "pulumi/actions").with?.policyPacks as string;
            assert.ok(fs.existsSync(path.join(PROJECT_DIR, pack, "PulumiPolicy.yaml")), `${pack}/PulumiPolicy.yaml does not exist`);
        });

        it("installs the Pulumi CLI at the version of @pulumi/pulumi in package.json", () => {
            const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as {
                dependencies: Record<string, string>;
            };
            assert.equal(stepUsing(workflow().jobs.preview, "pulumi/actions").with?.["pulumi-version"], pkg.dependencies["@pulumi/pulumi"]);
        });

        it("logs pulumi in to the backend the backend step found (cloud-url and PULUMI_BACKEND_URL)", () => {
            const pulumi = stepUsing(workflow().jobs.preview, "pulumi/actions");
            assert.equal(pulumi.with?.["cloud-url"], "${{ steps.backend.outputs.url }}");
            assert.equal(pulumi.env?.PULUMI_BACKEND_URL, "${{ steps.backend.outputs.url }}");
        });

        it("keeps expressions out of the backend step's script (matrix values come in through env)", () => {
            const step = workflow().jobs.preview.steps.find((s) => s.id === "backend");
            assert.ok(step?.run !== undefined && !step.run.includes("${{"), step?.run);
        });

        // Each run starts ts-node; they start together so the two cores overlap them.
        const MISMATCHED = { stack: "primary", region: "us-west-1" };
        const runs = new Map<Record<string, string>, Promise<StepRun>>();
        before(() => {
            for (const m of [...MATRIX, MISMATCHED]) {
                const run = runBackendStep(m);
                run.catch(() => undefined); // awaited, and reported, by its test
                runs.set(m, run);
            }
        });

        for (const m of MATRIX) {
            it(`backend step, run for ${m.stack}, outputs ${m.stack}'s own state backend in ${m.region}`, async () => {
                const { status, stderr, output } = await runs.get(m)!;
                assert.equal(status, 0, stderr);
                const expected = `s3://ecommerce-pulumi-state-${m.region}?region=${m.region}`;
                assert.equal(readStackFile(m.stack).config["ecommerce:stateBackend"], expected);
                assert.equal(output, `url=${expected}\n`);
            });
        }

        it("fails the backend step when the matrix region is not the stack file's region", async () => {
            const { status, stderr, output } = await runs.get(MISMATCHED)!;
            assert.notEqual(status, 0);
            assert.ok(stderr.includes("Pulumi.primary.yaml is in us-east-2, not us-west-1"), stderr);
            assert.equal(output, "", "no backend is handed on");
        });
    });
});
