/**
 * Reading a deployed function's configuration: one JSON document in an environment variable,
 * written by the Pulumi program, checked with every problem reported at once before anything
 * runs. The controller's, the writer agent's and the witness's parsers share it.
 */
export interface EnvConfigReader {
    readonly value: Record<string, unknown>;
    readonly problems: string[];
    /** A non-empty string at `key` ("" and a problem otherwise). */
    readonly text: (key: string) => string;
    /** Throws every problem noted so far, if any. */
    readonly finish: () => void;
}

export function readEnvConfig(variable: string, raw: string | undefined, fail: (message: string) => Error): EnvConfigReader {
    if (raw === undefined || raw.trim() === "") {
        throw fail(`${variable} is not set: the function needs its configuration (the stack writes it)`);
    }
    let value: Record<string, unknown>;
    try {
        value = JSON.parse(raw) as Record<string, unknown>;
    } catch (err) {
        throw fail(`${variable} is not JSON: ${(err as Error).message}`);
    }
    const problems: string[] = [];
    return {
        value,
        problems,
        text: (key) => {
            const v = value[key];
            if (typeof v !== "string" || v === "") {
                problems.push(`${key} = ${JSON.stringify(v)}: expected a non-empty string`);
                return "";
            }
            return v;
        },
        finish: () => {
            if (problems.length > 0) {
                throw fail(`${variable} has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
            }
        },
    };
}
