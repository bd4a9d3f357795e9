import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderConfigTable } from "../tools/configDoc";
import { PROJECT_DIR } from "../offline/stackConfig";

const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");

describe("README", () => {
    it("has the config reference Pulumi.yaml declares (regenerate: npx ts-node --transpile-only tools/configDoc.ts)", () => {
        const match = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme);
        assert.ok(match, "the README has no config-table markers");
        assert.equal(match[1], renderConfigTable());
    });

    it("gives the install and test commands that .ci/run runs", () => {
        const ci = fs.readFileSync(path.join(PROJECT_DIR, ".ci", "run"), "utf8");
        assert.match(readme, /^npm ci\b/m);
        assert.match(readme, /^npm test\b/m);
        assert.match(ci, /^npm ci\b/m);
        assert.match(ci, /^npm test$/m);
    });

    it("names the Debian packages .ci/run installs for the tests' real tools", () => {
        const ci = fs.readFileSync(path.join(PROJECT_DIR, ".ci", "run"), "utf8");
        for (const pkg of ["redis-server", "redis-sentinel", "prometheus", "cloud-init", "mariadb-server"]) {
            assert.match(ci, new RegExp(`\\b${pkg}\\b`), `.ci/run installs ${pkg}`);
            assert.match(readme, new RegExp(`\\b${pkg}\\b`), `README names ${pkg}`);
        }
    });
});
