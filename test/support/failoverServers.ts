/** Runs the failover CLI in-process for tests, and re-exports the local world's servers. */
import { main } from "../../failover/cli";

export { HookServer, Site, SiteMode } from "../../failover/local/servers";

export interface CliRun {
    readonly code: number;
    readonly events: Record<string, any>[];
    /** Everything written to stdout, the JSON event lines included. */
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs the CLI in-process; `onEvent` sees each event as it is written (to inject faults on cue). */
export async function runCli(
    argv: string[],
    opts: { onEvent?: (e: Record<string, any>) => void; answer?: string; terminal?: boolean } = {},
): Promise<CliRun> {
    const events: Record<string, any>[] = [];
    let stderr = "";
    let stdout = "";
    const code = await main(argv, {
        stdout: (text) => {
            stdout += text;
            for (const line of text.split("\n").filter((l) => l.startsWith(`{"ts":`))) {
                const event = JSON.parse(line) as Record<string, any>;
                events.push(event);
                opts.onEvent?.(event);
            }
        },
        stderr: (text) => {
            stderr += text;
        },
        readLine: (prompt) => {
            stderr += prompt;
            return Promise.resolve(opts.answer);
        },
        now: () => Date.now(),
        terminal: opts.terminal,
    });
    return { code, events, stdout, stderr };
}

/** The events of one kind. */
export function eventsOf(run: CliRun, event: string): Record<string, any>[] {
    return run.events.filter((e) => e.event === event);
}
