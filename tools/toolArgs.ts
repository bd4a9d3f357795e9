/**
 * The command line of a small tool (a benchmark, a local server, a measurement): its flags
 * parsed strictly, `--help` (or `-h`) answered with its usage on stdout and exit 0, and a flag
 * it does not know refused with the reason and exit 2, never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from "util";

export type ToolOptions = NonNullable<ParseArgsConfig["options"]>;

/** The flags' values (strings, or true for a boolean); exits the process for --help and for bad usage. */
export function toolArgs(
    tool: string,
    usage: string,
    options: ToolOptions,
    argv = process.argv.slice(2),
): Record<string, string | undefined> {
    let values: Record<string, unknown>;
    try {
        ({ values } = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true }));
    } catch (err) {
        return usageError(tool, (err as Error).message);
    }
    if (values.help === true) {
        process.stdout.write(`${usage}\n`);
        process.exit(0);
    }
    return values as Record<string, string | undefined>;
}

/** Refuses bad usage: the reason, where to read more, exit 2. */
export function usageError(tool: string, reason: string): never {
    process.stderr.write(`${tool}: ${reason} (npm run ${tool} -- --help)\n`);
    process.exit(2);
}
