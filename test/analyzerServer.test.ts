/**
 * The pack as the Pulumi CLI runs it: `policies/index.ts` started as its own process (the
 * analyzer plugin), talked to over gRPC with the engine's own messages. Proves the pack
 * builds and lists its policies as the CLI sees them, and that the engine's analyzer code
 * path (@pulumi/policy's server) gives the same verdicts as the offline runner the plan and
 * the other tests use, on both stacks, in a preview and with planted violations.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { ALL_POLICIES } from "../policies/all";
import * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import { engineValue, providerInfo, runPolicies } from "../offline/policyRunner";
import { loadStack, RecordedResource, StackRun } from "../offline/run";
import { PROJECT_DIR } from "../offline/stackConfig";
import { judgedOn } from "../policies/versions";
import { JUDGED_AS_OF } from "./support/asOf";
import { batch, tsNode } from "./support/tools";

type Diagnostic = { policy: string; message: string; level: analyzerPb.EnforcementLevel };

function options(r: RecordedResource): any {
    const o = new analyzerPb.AnalyzerResourceOptions();
    o.setProtect(r.protect);
    o.setIgnorechangesList([...r.ignoreChanges]);
    o.setDeletebeforereplace(r.deleteBeforeReplace);
    o.setParent(r.parent ?? "");
    return o;
}

function provider(run: StackRun, r: RecordedResource): any {
    const p = providerInfo(run, r);
    if (!p) {
        return undefined;
    }
    const msg = new analyzerPb.AnalyzerProviderResource();
    msg.setType(p.type);
    msg.setName(p.name);
    msg.setUrn(p.urn);
    msg.setProperties(Struct.fromJavaScript(p.props as any));
    return msg;
}

/** Fills what the engine sends of every resource: type, name, URN, properties, options, provider. */
function describeResource<T>(msg: T, run: StackRun, r: RecordedResource, properties: Record<string, unknown>): T {
    const m = msg as any;
    m.setType(r.type);
    m.setName(r.name);
    m.setUrn(r.urn);
    m.setProperties(Struct.fromJavaScript(engineValue(properties)));
    m.setOptions(options(r));
    const p = provider(run, r);
    if (p) {
        m.setProvider(p);
    }
    return msg;
}

/** The server reports "<description>\n<violation>"; keep the violation. */
const diagnostics = (response: any): Diagnostic[] =>
    response.getDiagnosticsList().map((d: any) => ({
        policy: d.getPolicyname(),
        message: d.getMessage().startsWith(`${d.getDescription()}\n`)
            ? d.getMessage().slice(d.getDescription().length + 1)
            : d.getMessage(),
        level: d.getEnforcementlevel(),
    }));

/** Every diagnostic the analyzer server gives for `run`: per resource, then for the stack. */
/** The analyzer's Configure call, as the CLI makes it for --policy-pack-config. */
async function configure(client: any, policyConfig: Record<string, Record<string, unknown>>): Promise<void> {
    const req = new analyzerPb.ConfigureAnalyzerRequest();
    for (const [policy, properties] of Object.entries(policyConfig)) {
        const level = ALL_POLICIES.find((p) => p.name === policy)!.enforcementLevel;
        const config = new analyzerPb.PolicyConfig();
        config.setEnforcementlevel(level === "advisory" ? analyzerPb.EnforcementLevel.ADVISORY : analyzerPb.EnforcementLevel.MANDATORY);
        config.setProperties(Struct.fromJavaScript(properties as any));
        req.getPolicyconfigMap().set(policy, config);
    }
    await new Promise((resolve, reject) => client.configure(req, (err: Error | null) => (err ? reject(err) : resolve(undefined))));
}

async function analyze(client: any, run: StackRun): Promise<Diagnostic[]> {
    const call = <T>(method: string, req: unknown) =>
        new Promise<T>((resolve, reject) => client[method](req, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
    const found: Diagnostic[] = [];
    for (const r of run.resources) {
        // Resource policies see a resource's inputs.
        const req = describeResource(new analyzerPb.AnalyzeRequest(), run, r, r.inputs);
        found.push(...diagnostics(await call("analyze", req)));
    }
    const stackReq = new analyzerPb.AnalyzeStackRequest();
    stackReq.setResourcesList(
        run.resources.map((r) => {
            // Stack policies see outputs, parents and dependencies.
            const m = describeResource(new analyzerPb.AnalyzerResource(), run, r, r.outputs);
            m.setParent(r.parent ?? "");
            m.setDependenciesList([...r.dependencies]);
            for (const [k, urns] of Object.entries(r.propertyDependencies)) {
                const deps = new analyzerPb.AnalyzerPropertyDependencies();
                deps.setUrnsList([...urns]);
                m.getPropertydependenciesMap().set(k, deps);
            }
            return m;
        }),
    );
    found.push(...diagnostics(await call("analyzeStack", stackReq)));
    return found;
}

/** The offline runner's verdicts in the same shape; "can't run during preview" becomes the advisory the server reports. */
function offline(run: StackRun): string[] {
    return runPolicies(run, ALL_POLICIES, JUDGED_AS_OF)
        .flatMap((v) => [
            ...v.violations.map((x) => `${v.policy}: ${x.message}`),
            ...v.cannotRun.map(() => `${v.policy}: (cannot run during preview)`),
        ])
        .sort();
}

const server = (found: Diagnostic[]) =>
    found
        .map((d) => (d.message.includes("during preview") ? `${d.policy}: (cannot run during preview)` : `${d.policy}: ${d.message}`))
        .sort();

describe("policy pack as the Pulumi CLI runs it (analyzer over gRPC)", function () {
    this.timeout(60_000);
    let child: ChildProcess;
    let client: any;

    before(async () => {
        child = spawn(...batch(process.execPath, tsNode("-e", 'require("./index.ts")')), {
            cwd: path.join(PROJECT_DIR, "policies"),
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stderr!.on("data", (d) => (stderr += String(d)));
        const port = await new Promise<string>((resolve, reject) => {
            child.stdout!.once("data", (d) => resolve(String(d).trim()));
            child.once("exit", (code) => reject(new Error(`the policy pack exited (${code}) before serving: ${stderr}`)));
        });
        assert.match(port, /^\d+$/, "the pack prints its port, as the CLI expects");
        client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        // The policy config the CLI passes with --policy-pack-config: support windows judged on
        // the advisory tables' date, as the offline side is (test/support/asOf.ts).
        await configure(client, JUDGED_AS_OF);
    });

    after(() => {
        client?.close();
        child?.kill();
    });

    it("serves the pack with its policies at their enforcement levels", async () => {
        const info: any = await new Promise((resolve, reject) =>
            client.getAnalyzerInfo(new Empty(), (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))),
        );
        assert.equal(info.getName(), "ecommerce-platform");
        assert.deepEqual(
            info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel()]),
            ALL_POLICIES.map((p) => [
                p.name,
                p.enforcementLevel === "advisory" ? analyzerPb.EnforcementLevel.ADVISORY : analyzerPb.EnforcementLevel.MANDATORY,
            ]),
        );
    });

    for (const [stack, preview] of [
        ["primary", false],
        ["dr", false],
        ["primary", true],
        ["dr", true],
    ] as const) {
        it(`finds no violation in ${stack}${preview ? " as a first preview" : ""}, like the offline runner`, async () => {
            const run = await loadStack(stack, preview);
            const found = await analyze(client, run);
            assert.deepEqual(server(found), []);
            assert.deepEqual(offline(run), []);
        });
    }

    it("judges EKS support on the day policy config names, like the offline runner", async () => {
        const run = await loadStack("dr");
        const endOf136 = judgedOn("2027-08-02");
        try {
            await configure(client, endOf136);
            const found = server(await analyze(client, run));
            const expected = runPolicies(run, ALL_POLICIES, endOf136)
                .flatMap((v) => v.violations.map((x) => `${v.policy}: ${x.message}`))
                .sort();
            assert.equal(expected.length, 2, expected.join("\n"));
            assert.ok(
                expected.every(
                    (m) => m.startsWith("approved-versions: EKS monitoring-") && m.includes("out of EKS standard support since 2027-08-02"),
                ),
            );
            assert.deepEqual(found, expected);
        } finally {
            await configure(client, JUDGED_AS_OF);
        }
    });

    for (const preview of [false, true]) {
        it(`reports the same planted violations as the offline runner${preview ? " in a first preview" : ""}`, async () => {
            const primary = await loadStack("primary", preview);
            const planted: StackRun = {
                ...primary,
                resources: primary.resources
                    .filter((r) => r.name !== "db-replica-2")
                    .map((r) => {
                        if (r.type === "aws:ec2/instance:Instance" && r.name === "redis-node-3") {
                            const change = (p: Record<string, any>) => ({
                                ...p,
                                instanceType: "t3.medium",
                                availabilityZone: "us-east-2a",
                            });
                            return { ...r, inputs: change(r.inputs), outputs: change(r.outputs) };
                        }
                        return r.name === "db-writer" && r.type === "aws:rds/instance:Instance" ? { ...r, protect: false } : r;
                    }),
            };
            const expected = offline(planted);
            assert.equal(expected.length, 5, expected.join("\n"));
            const found = await analyze(client, planted);
            assert.deepEqual(server(found), expected);
            assert.ok(found.every((d) => d.level === analyzerPb.EnforcementLevel.MANDATORY));
        });
    }
});
