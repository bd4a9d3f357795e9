import * as assert from "assert";
import { typecheck } from "./support/typecheck";

describe("type check", () => {
    it("tsc --noEmit -p . reports no errors (strict; the suite itself runs transpile-only)", async () => {
        const { code, output } = await typecheck();
        assert.strictEqual(code, 0, `tsc --noEmit -p . failed:\n${output}`);
    });
});
