/**
 * `cloud-init schema` on a rendered cloud-config document (the real tool, Debian package
 * cloud-init). Writes the document to a private temporary directory and removes it after.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { requireTool } from "./tools";

export interface SchemaResult {
    readonly status: number | null;
    /** stdout and stderr of the tool. */
    readonly output: string;
}

export function cloudInitSchema(document: string): SchemaResult {
    requireTool("cloud-init", "cloud-init");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloud-config-"));
    try {
        const file = path.join(dir, "user-data.yaml");
        fs.writeFileSync(file, document);
        const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8", timeout: 20000 });
        return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? String(result.error) : ""}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
