/**
 * `npm run backup:local` (backup/local.ts): the restore walk-through on a real MariaDB and an
 * S3-protocol server, through the real backup CLI, does what the restore runbook says.
 */
import { strict as assert } from "assert";
import { practiseRestore } from "../backup/local";

describe("backup:local, the restore walk-through", function () {
    this.timeout(60_000);

    it("dumps, sees the damage, refuses a corrupt copy, restores from the other bucket and puts every row back", async () => {
        const lines: string[] = [];
        await practiseRestore({ rows: 300, say: (line) => lines.push(line) });
        const transcript = lines.join("\n");
        assert.match(transcript, /\$ npm run backup -- dump --database ecommerce .*--allow-writer\n {2}dumped ecommerce/);
        assert.match(transcript, /: CORRUPT: checksum mismatch/);
        assert.match(transcript, /is corrupt: .* Nothing was restored; restore from another backup bucket/);
        assert.match(transcript, /restored backup \d{8}T\d{6}Z of ecommerce .* into ecommerce_restored/);
        assert.match(transcript, /orders +300 +\d+/);
        assert.match(transcript, /ecommerce\.orders: 300 rows \(before the damage: 300\)/);
    });
});
