import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planInvocation } from "../tools/deploy";
import { listStacks, readProjectFile, readStackFile, PROJECT_DIR } from "../offline/stackConfig";
import { tsNode } from "./support/tools";

/** The only things allowed to differ between the stack files. */
const PER_STACK = ["secretsprovider", "config.aws:region", "config.ecommerce:stateBackend"];
/**
 * Written by `pulumi stack init --secrets-provider awskms://...`: the stack's data key,
 * encrypted with its region's KMS key. Part of the secrets provider, so it may differ too.
 */
const SECRETS_PROVIDER_STATE = "encryptedkey";

function stackFileKeys(stack: string): Record<string, unknown> {
    const file = readStackFile(stack);
    return flatten({
        secretsprovider: file.secretsprovider,
        ...(file.encryptedkey ? { encryptedkey: file.encryptedkey } : {}),
        config: file.config,
    });
}

function flatten(value: unknown, at = ""): Record<string, unknown> {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        return Object.assign({}, ...Object.entries(value).map(([k, v]) => flatten(v, at ? `${at}.${k}` : k)));
    }
    return { [at]: value };
}

describe("stack files", () => {
    it("are exactly the two sites, primary and dr, and the global stack of the virtual IP", () => {
        assert.deepEqual(listStacks(), ["dr", "global", "primary"]);
    });

    for (const [a, b] of [
        ["primary", "dr"],
        ["primary", "global"],
    ]) {
        it(`${a} and ${b} differ in nothing but aws:region, the state backend and the secrets provider (and its encrypted key)`, () => {
            const one = stackFileKeys(a);
            const other = stackFileKeys(b);
            assert.deepEqual(Object.keys(one).sort(), Object.keys(other).sort(), "same keys");
            const differing = Object.keys(one)
                .filter((k) => JSON.stringify(one[k]) !== JSON.stringify(other[k]))
                .filter((k) => k !== SECRETS_PROVIDER_STATE)
                .sort();
            assert.deepEqual(differing, [...PER_STACK].sort());
        });
    }

    it("hold nothing but those settings (everything shared is declared once in Pulumi.yaml)", () => {
        for (const stack of listStacks()) {
            const keys = Object.keys(stackFileKeys(stack))
                .filter((k) => k !== SECRETS_PROVIDER_STATE)
                .sort();
            assert.deepEqual(keys, [...PER_STACK].sort(), stack);
        }
    });

    for (const [stack, region] of [
        ["primary", "us-east-2"],
        ["dr", "us-west-1"],
        ["global", "us-west-2"],
    ]) {
        it(`keep ${stack}'s state and secrets key in ${region}, its own region`, () => {
            const file = readStackFile(stack);
            assert.equal(file.config["aws:region"], region);
            assert.equal(file.config["ecommerce:stateBackend"], `s3://ecommerce-pulumi-state-${region}?region=${region}`);
            assert.equal(file.secretsprovider, `awskms://alias/ecommerce-pulumi-secrets?region=${region}`);
        });
    }

    it("declare every project config key in Pulumi.yaml with a description and a default or value", () => {
        const config = readProjectFile().config as Record<string, Record<string, unknown>>;
        const incomplete = Object.entries(config)
            .filter(
                ([key, decl]) =>
                    typeof decl.description !== "string" ||
                    (decl.default === undefined && decl.value === undefined && key !== "stateBackend"),
            )
            .map(([key]) => key);
        assert.deepEqual(incomplete, []);
        assert.ok(Object.keys(config).length >= 40, `expected the full config surface, found ${Object.keys(config).length} keys`);
    });
});

describe("deploy wrapper (tools/deploy.ts)", () => {
    it("runs pulumi preview for dr against dr's own state backend, with the policy pack", () => {
        const inv = planInvocation("preview", "dr");
        assert.equal(inv.command, "pulumi");
        assert.deepEqual(inv.args, ["preview", "--stack", "dr", "--policy-pack", "policies"]);
        assert.deepEqual(inv.env, { PULUMI_BACKEND_URL: "s3://ecommerce-pulumi-state-us-west-1?region=us-west-1" });
    });

    it("initialises a stack with the secrets provider of its own region", () => {
        assert.deepEqual(planInvocation("init", "primary").args, [
            "stack",
            "init",
            "primary",
            "--secrets-provider",
            "awskms://alias/ecommerce-pulumi-secrets?region=us-east-2",
        ]);
    });

    it("passes extra arguments through", () => {
        assert.deepEqual(planInvocation("up", "primary", ["--diff"]).args.slice(-1), ["--diff"]);
    });

    it("rejects an unknown stack with the known ones", () => {
        assert.throws(() => planInvocation("up", "staging"), {
            message: 'stack "staging" is not one of dr, global, primary: usage: npm run up -- <stack> [pulumi args]',
        });
    });

    it("rejects an unknown command", () => {
        assert.throws(() => planInvocation("destroy", "dr"), {
            message: 'unknown command "destroy": expected one of init, preview, up, refresh, preflight',
        });
    });

    it("rejects a stack whose state backend lives in another region", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-"));
        try {
            fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
            fs.writeFileSync(
                path.join(dir, "Pulumi.dr.yaml"),
                fs
                    .readFileSync(path.join(PROJECT_DIR, "Pulumi.dr.yaml"), "utf8")
                    .replace("ecommerce-pulumi-state-us-west-1?region=us-west-1", "ecommerce-pulumi-state-us-east-2?region=us-east-2"),
            );
            assert.throws(() => planInvocation("up", "dr", [], dir), {
                message:
                    "Pulumi.dr.yaml: the state backend s3://ecommerce-pulumi-state-us-east-2?region=us-east-2 is not in the stack's region us-west-1",
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("runs the Pulumi CLI it finds on PATH with the backend in its environment", () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-pulumi-"));
        const log = path.join(bin, "log");
        try {
            fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\necho "$PULUMI_BACKEND_URL $*" > "${log}"\nexit 3\n`, { mode: 0o755 });
            const result = spawnSync(process.execPath, tsNode(path.join(PROJECT_DIR, "tools", "deploy.ts"), "refresh", "dr", "--diff"), {
                cwd: PROJECT_DIR,
                env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
                encoding: "utf8",
            });
            assert.equal(result.status, 3, "exit code of pulumi is passed through");
            assert.equal(
                fs.readFileSync(log, "utf8").trim(),
                // refresh: no preflight (test/deployPreflight.test.ts covers preview and up).
                "s3://ecommerce-pulumi-state-us-west-1?region=us-west-1 refresh --stack dr --diff",
            );
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });
});
