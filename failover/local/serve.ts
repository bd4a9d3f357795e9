/**
 * A local world to watch, from a terminal: `npm run failover:local`. It starts a writer
 * site's health endpoint and a hook server on 127.0.0.1, prints each action the controller
 * posts, and changes the site's health when you type a mode (ok, down, hang, reset, error,
 * slow, flap, wrong-body). The README's walk-through uses it; so can anyone trying the controller.
 */
import { createInterface } from "readline";
import { toolArgs, usageError } from "../../tools/toolArgs";
import { HookServer, Site, SiteMode } from "./servers";

const MODES: readonly SiteMode[] = ["ok", "down", "hang", "reset", "error", "slow", "flap", "wrong-body"];

const USAGE = `usage: npm run failover:local -- [--site-port 18480] [--hooks-port 18481] [--lag SECONDS]

A writer site's health endpoint and a hook server on 127.0.0.1, for the controller to watch
(the README's failover walk-through). Type a mode to change the site: ${MODES.join(", ")}.

  --site-port PORT    the site's health endpoint, http://127.0.0.1:PORT/health (default 18480)
  --hooks-port PORT   the hook server, http://127.0.0.1:PORT/<action> (default 18481)
  --lag SECONDS       the loss window read-replica reports (default 0)
  --help              this text`;

const port = (flag: string, raw: string): number => {
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 1 || v > 65_535) {
        return usageError("failover:local", `--${flag} ${raw}: expected a TCP port from 1 to 65535`);
    }
    return v;
};

async function serve(): Promise<void> {
    const values = toolArgs("failover:local", USAGE, {
        "site-port": { type: "string", default: "18480" },
        "hooks-port": { type: "string", default: "18481" },
        lag: { type: "string", default: "0" },
    }) as { "site-port": string; "hooks-port": string; lag: string };
    const lag = Number(values.lag);
    if (!Number.isFinite(lag) || lag < 0) {
        usageError(
            "failover:local",
            `--lag ${values.lag}: expected the seconds of writes the replica lacks, as read-replica reports them (0 or more)`,
        );
    }
    const site = await new Site(port("site-port", values["site-port"])).start();
    const hooks = await new HookServer(port("hooks-port", values["hooks-port"])).start();
    hooks.behaviour["read-replica"] = { lagSeconds: lag };
    hooks.onAnyCall = (call) => process.stdout.write(`hook ${call.action} ${JSON.stringify(call.body.inputs)}\n`);
    process.stdout.write(
        `writer site: ${site.url} (ok)\nhooks: http://127.0.0.1:${hooks.port}/<action> (read-replica answers a loss window of ${lag} s)\n` +
            `type a mode to change the site (${MODES.join(", ")}); Ctrl-D or Ctrl-C stops\n`,
    );
    const input = createInterface({ input: process.stdin });
    for await (const line of input) {
        const mode = line.trim() as SiteMode;
        if (mode.length === 0) {
            continue;
        }
        if (!MODES.includes(mode)) {
            process.stdout.write(`unknown mode ${mode}; expected one of ${MODES.join(", ")}\n`);
            continue;
        }
        await site.set(mode);
        process.stdout.write(`site: ${mode}\n`);
    }
    await Promise.all([site.set("ok").then(() => site.close()), hooks.close()]);
}

serve().catch((err) => {
    process.stderr.write(`failover:local: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
});
