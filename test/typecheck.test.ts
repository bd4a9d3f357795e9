import * as assert from "assert";
import { typecheck } from "./support/typecheck";

describe("type check", function () {
    // A budget for a job beside the suite's other workers on two cores, not a claim about its speed.
    this.timeout(120_000);

    it("npm run typecheck (tsc --noEmit, strict) reports no errors; the suite itself runs transpile-only", async () => {
        const { code, output } = await typecheck();
        assert.strictEqual(code, 0, `npm run typecheck failed:\n${output}`);
    });
});
