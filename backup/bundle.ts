/**
 * `npx ts-node --transpile-only backup/bundle.ts OUT_DIR`: the backup CLI as one file,
 * `OUT_DIR/backup.js` (`node backup.js dump ...`), as backup/Dockerfile builds it into the job's
 * image. `npm test` builds and runs it.
 */
import * as path from "path";
import { bundleNodeProgram } from "../lib/bundle";

export function buildBackupBundle(outDir: string): string {
    return bundleNodeProgram(path.join(__dirname, "cli.ts"), path.join(outDir, "backup.js"));
}

if (require.main === module) {
    const out = process.argv[2];
    if (out === undefined) {
        process.stderr.write("usage: backup/bundle.ts OUT_DIR\n");
        process.exit(2);
    }
    process.stdout.write(`${buildBackupBundle(out)}\n`);
}
