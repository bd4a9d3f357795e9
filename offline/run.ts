/**
 * Runs the real program (index.ts) for a named stack under the project's mocks, with the
 * configuration the Pulumi CLI would give it, and records every resource registration:
 * type, name, parent, options (protect, provider, ...), dependencies, normalised inputs
 * (secrets unwrapped, their paths noted) and the outputs the mocks returned.
 *
 * One harness for the tests and the offline plan. Runs are serialised (the Pulumi runtime
 * is process-global) and successful default runs are cached per stack and mode.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { runInPulumiStack } from "@pulumi/pulumi/runtime/stack";
import * as runtimeState from "@pulumi/pulumi/runtime/state";
import { specialResourceSig, specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { InvokeRecord, PlatformMocks } from "./mocks";
import { PROJECT_DIR, resolveStackConfig } from "./stackConfig";

// getStore is internal (the typings export nothing); the runner needs it to drop a failed run's dangling promises.
const { getStore } = runtimeState as unknown as { readonly getStore: () => { leakCandidates: Set<Promise<unknown>> } };

/** Marks a value that is unknown in a preview (an ID or computed output not yet created). */
export const UNKNOWN = "<unknown>";

export interface RecordedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** False for components (ours and remote ones such as eks:index:Cluster). */
    readonly custom: boolean;
    readonly parent?: string;
    /** Provider reference (`urn::id`) when one was given explicitly. */
    readonly provider?: string;
    readonly protect: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly retainOnDelete: boolean;
    readonly ignoreChanges: readonly string[];
    /** URNs this resource depends on (explicit dependsOn and through its inputs). */
    readonly dependencies: readonly string[];
    /** Input property -> URNs its value came from. */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** Inputs as the engine would see them: secrets unwrapped, resource references as URNs. */
    readonly inputs: Record<string, any>;
    /** Dotted paths of inputs that were secret (e.g. `password`, `data.redis-password`). */
    readonly secretPaths: readonly string[];
    readonly id?: string;
    /** Outputs after registration (mocks' computed outputs merged over the inputs). */
    readonly outputs: Record<string, any>;
}

export interface StackRun {
    readonly stack: string;
    readonly preview: boolean;
    readonly config: Readonly<Record<string, string>>;
    readonly resources: readonly RecordedResource[];
    readonly invokes: readonly InvokeRecord[];
    readonly outputs: Record<string, any>;
    /** Errors raised while the program ran (config errors, mock errors, failed applies). */
    readonly errors: readonly string[];
}

export interface RunOptions {
    readonly stack: string;
    /** Run as a first preview: IDs and computed outputs unknown. */
    readonly preview?: boolean;
    /** Config overrides on top of the stack's resolved config; `undefined` removes a key. */
    readonly config?: Readonly<Record<string, string | undefined>>;
    /** Values of pre-existing Secrets Manager secrets, by name. */
    readonly secretValues?: Readonly<Record<string, string>>;
    /**
     * A program to run instead of index.ts (a component under test with hand-made args);
     * what it returns becomes the stack outputs. Same mocks, config and recording.
     */
    readonly program?: () => unknown;
}

/** Normalises a serialized property value; records secret paths. */
function normalise(value: unknown, at: string, secrets: string[]): any {
    if (value === unknownValue) {
        return UNKNOWN;
    }
    if (Array.isArray(value)) {
        return value.map((v, i) => normalise(v, at ? `${at}[${i}]` : `[${i}]`, secrets));
    }
    if (value !== null && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[specialSigKey] === specialSecretSig) {
            secrets.push(at);
            return normalise(obj.value, at, []);
        }
        if (obj[specialSigKey] === specialResourceSig) {
            return obj.urn;
        }
        const out: Record<string, unknown> = {};
        for (const [key, v] of Object.entries(obj)) {
            out[key] = normalise(v, at ? `${at}.${key}` : key, secrets);
        }
        return out;
    }
    return value;
}

let queue: Promise<unknown> = Promise.resolve();

/** A program that has not finished after this long is reported as stalled (a cycle, a lost promise). */
const STALL_TIMEOUT_MS = 30_000;
let stallTimer: NodeJS.Timeout | undefined;

function stalled(ms: number): Promise<never> {
    return new Promise<never>((_, reject) => {
        stallTimer = setTimeout(
            () =>
                reject(
                    new Error(
                        `the program did not finish within ${ms / 1000} s under the mocks (a dependency cycle or an output that never resolves)`,
                    ),
                ),
            ms,
        );
    });
}

/** Runs the program once. Never throws for program errors: they are in `errors`. */
export function runProgram(options: RunOptions): Promise<StackRun> {
    const run = queue.then(() => runExclusive(options));
    queue = run.catch(() => undefined);
    return run;
}

/**
 * Stack frames the runtime may capture while a program runs. The Pulumi SDK records a stack
 * trace on every promise it creates (for its leak report), and ts-node's source-map support
 * rewrites each one: about 90% of a run's time (1.5 s -> 0.15 s per stack, measured with
 * node --cpu-prof). Errors raised by a run are reported by message, so no frames are needed.
 */
const STACK_FRAMES_DURING_RUN = 0;

async function runExclusive(options: RunOptions): Promise<StackRun> {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = STACK_FRAMES_DURING_RUN;
    try {
        return await runUnderMocks(options);
    } finally {
        Error.stackTraceLimit = stackTraceLimit;
    }
}

async function runUnderMocks(options: RunOptions): Promise<StackRun> {
    const preview = options.preview ?? false;
    const config: Record<string, string> = { ...resolveStackConfig(options.stack) };
    for (const [key, value] of Object.entries(options.config ?? {})) {
        if (value === undefined) {
            delete config[key];
        } else {
            config[key] = value;
        }
    }
    const region = config["aws:region"];
    const mocks = new PlatformMocks({ region, preview, secretValues: options.secretValues });
    await pulumi.runtime.setMocks(mocks, "ecommerce", options.stack, preview);
    pulumi.runtime.setAllConfig(config, []);

    const resources: RecordedResource[] = [];
    const byUrn = new Map<string, RecordedResource>();
    const errors: string[] = [];
    const monitor = settings.getMonitor() as any;
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
        registerResource(req, (err: any, resp: any) => {
            if (!err) {
                const secretPaths: string[] = [];
                const inputs = normalise(req.getObject()?.toJavaScript() ?? {}, "", secretPaths);
                const propertyDependencies: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
                    propertyDependencies[key] = deps.getUrnsList();
                });
                const record: RecordedResource = {
                    urn: resp.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    custom: req.getCustom(),
                    parent: req.getParent() || undefined,
                    provider: req.getProvider() || undefined,
                    protect: req.getProtect() === true,
                    deleteBeforeReplace: req.getDeletebeforereplace() === true,
                    retainOnDelete: req.getRetainondelete() === true,
                    ignoreChanges: req.getIgnorechangesList(),
                    dependencies: req.getDependenciesList(),
                    propertyDependencies,
                    inputs,
                    secretPaths,
                    id: resp.getId() || (preview && req.getCustom() ? UNKNOWN : undefined),
                    outputs: normalise(resp.getObject()?.toJavaScript() ?? {}, "", []),
                };
                resources.push(record);
                byUrn.set(record.urn, record);
            }
            callback(err, resp);
        });
    };

    const onRejection = (reason: unknown) => {
        errors.push(reason instanceof Error ? reason.message : String(reason));
    };
    process.on("unhandledRejection", onRejection);
    let outputs: Record<string, any> = {};
    try {
        const main: unknown = options.program ?? programOf(await import(path.join(PROJECT_DIR, "index.ts")));
        const raw = await Promise.race([
            runInPulumiStack(() => Promise.resolve(typeof main === "function" ? main() : main)),
            mocks.failed,
            stalled(STALL_TIMEOUT_MS),
        ]);
        await pulumi.runtime.disconnect();
        outputs = normalise(await serialiseOutputs(raw ?? {}), "", []);
    } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
        // Outputs that depended on the failure never settle: do not wait for them, and do not
        // let the runtime's exit hook count them as leaks (it would fail the whole test run).
        settings.disconnectSync();
        getStore().leakCandidates = new Set();
    } finally {
        clearTimeout(stallTimer);
        // Let rejections queued during the run surface before the listener goes.
        await new Promise((resolve) => setImmediate(resolve));
        process.off("unhandledRejection", onRejection);
    }
    errors.push(...mocks.errors.filter((e) => !errors.some((seen) => seen.includes(e))));
    return { stack: options.stack, preview, config, resources, invokes: mocks.invokes, outputs, errors: [...new Set(errors)] };
}

/** What index.ts exports (`export =` under CommonJS: the module itself, or its default). */
function programOf(module: unknown): unknown {
    const exported = module as { default?: unknown };
    return exported.default ?? exported;
}

/** Resolves stack outputs to plain values (secrets stay wrapped for normalise to mark). */
async function serialiseOutputs(raw: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { serializeProperties } = await import("@pulumi/pulumi/runtime/rpc");
    return serializeProperties("outputs", raw, { keepOutputValues: false });
}

const cache = new Map<string, Promise<StackRun>>();

/**
 * The stack as its files configure it, run once per process and mode, and required to
 * succeed: a run with errors fails the caller with every error listed.
 */
export function loadStack(stack: string, preview = false): Promise<StackRun> {
    const key = `${stack}|${preview}`;
    let run = cache.get(key);
    if (!run) {
        run = runProgram({ stack, preview }).then(requireSuccess);
        cache.set(key, run);
    }
    return run;
}

/** Throws when the run had errors. */
export function requireSuccess(run: StackRun): StackRun {
    if (run.errors.length > 0) {
        throw new Error(`stack ${run.stack} failed under the mocks:\n${run.errors.map((e) => `  - ${e}`).join("\n")}`);
    }
    return run;
}
