/**
 * The documentation's contract with the code: the front page stays a front page, the config
 * reference is generated from Pulumi.yaml, every relative link resolves (file and heading),
 * and (test/policyStacks.test.ts, where the stacks are run) the component list is the plan's; and the install and test commands are the ones CI runs.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderConfigTable } from "../tools/configDoc";
import { PROJECT_DIR } from "../offline/stackConfig";

const read = (file: string) => fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
const readme = read("README.md");
const DOCS = ["README.md", ...fs.readdirSync(path.join(PROJECT_DIR, "docs")).map((f) => path.join("docs", f))].filter((f) =>
    f.endsWith(".md"),
);

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
    return heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}

/** The anchors of a Markdown file's headings (outside code blocks). */
function anchors(markdown: string): Set<string> {
    const found = new Set<string>();
    let fenced = false;
    for (const line of markdown.split("\n")) {
        if (line.startsWith("```")) {
            fenced = !fenced;
        } else if (!fenced && /^#{1,6} /.test(line)) {
            found.add(slug(line.replace(/^#+ /, "")));
        }
    }
    return found;
}

describe("README and docs/", () => {
    it("keep the front page a front page: at most 250 lines", () => {
        assert.ok(readme.split("\n").length <= 250, `README.md has ${readme.split("\n").length} lines`);
    });

    it("have the config reference Pulumi.yaml declares (regenerate: npx ts-node --transpile-only tools/configDoc.ts)", () => {
        const match = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(read("docs/config.md"));
        assert.ok(match, "docs/config.md has no config-table markers");
        assert.equal(match[1], renderConfigTable());
    });

    it("link only to files and headings that exist", () => {
        const broken: string[] = [];
        let links = 0;
        for (const file of DOCS) {
            const text = read(file);
            for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
                if (/^[a-z]+:/i.test(target)) {
                    continue; // https:, mailto:
                }
                links += 1;
                const [filePart, anchor] = target.split("#");
                const resolved = filePart === "" ? file : path.join(path.dirname(file), filePart);
                if (!fs.existsSync(path.join(PROJECT_DIR, resolved))) {
                    broken.push(`${file}: ${target} (no ${resolved})`);
                } else if (anchor !== undefined && resolved.endsWith(".md") && !anchors(read(resolved)).has(anchor)) {
                    broken.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
                }
            }
        }
        assert.ok(links > 20, `${links} relative links found`);
        assert.deepEqual(broken, []);
    });

    it("give the install and test commands that .ci/run runs", () => {
        const ci = read(".ci/run");
        assert.match(readme, /^npm ci\b/m);
        assert.match(readme, /^npm test\b/m);
        assert.match(ci, /^npm ci\b/m);
        assert.match(ci, /^npm test$/m);
    });

    it("name the Debian packages .ci/run installs for the tests' real tools", () => {
        const ci = read(".ci/run");
        for (const pkg of ["redis-server", "redis-sentinel", "prometheus", "cloud-init", "mariadb-server", "chromium"]) {
            assert.match(ci, new RegExp(`\\b${pkg}\\b`), `.ci/run installs ${pkg}`);
            assert.match(readme, new RegExp(`\\b${pkg}\\b`), `README names ${pkg}`);
        }
    });
});
