/**
 * Runs the policy pack's policies against a recorded stack without the Pulumi engine, the
 * way the engine's analyzer does (node_modules/@pulumi/policy/server.js): resource policies
 * see each resource's inputs, stack policies see every resource's outputs with parents and
 * dependencies resolved to resources; values unknown in a preview throw on access (the
 * policy library's own proxy) and turn into an advisory "can't run during preview".
 *
 * Default providers are what the engine would show: a resource without an explicit provider
 * gets its package's default provider, configured like the stack (aws:region).
 */
import type {
    EnforcementLevel,
    Policies,
    PolicyPackConfig,
    PolicyResource,
    ResourceValidationArgs,
    StackValidationArgs,
} from "@pulumi/policy";
import * as policyProxy from "@pulumi/policy/proxy";
import { lastExamined, policyKinds, stackKindOf } from "../policies/kit";
import type { RecordedResource, StackRun } from "./run";
import { UNKNOWN } from "./run";

export interface Violation {
    readonly message: string;
    /** The resource it is about (a resource policy's resource, or what a stack policy named). */
    readonly urn?: string;
}

export interface PolicyVerdict {
    readonly policy: string;
    readonly kind: "resource" | "stack";
    /** Why the policy does not apply to this stack (a policy for another kind of stack). */
    readonly notApplicable?: string;
    readonly enforcementLevel: EnforcementLevel;
    /** Resources the policy examined (did not declare itself not applicable to). */
    readonly examined: number;
    readonly violations: readonly Violation[];
    /** Checks that could not run because a value was unknown (previews only). */
    readonly cannotRun: readonly string[];
}

// The analyzer's own proxy for values unknown in a preview: internal to @pulumi/policy (its
// typings export nothing), used here so offline runs fail on unknowns exactly as the engine's.
interface PolicyProxyInternals {
    readonly unknownCheckingProxy: <T>(value: T) => T;
    readonly unknownStringValue: string;
    readonly UnknownValueError: new (...args: any[]) => Error;
}
const { unknownCheckingProxy, unknownStringValue, UnknownValueError } = policyProxy as unknown as PolicyProxyInternals;

class NotApplicable extends Error {}

function throwNotApplicable(reason?: string): never {
    throw new NotApplicable(reason);
}

/** Harness values back to what the engine sends: unknowns as the engine's sentinel. */
export function engineValue(value: unknown): any {
    if (value === UNKNOWN) {
        return unknownStringValue;
    }
    if (Array.isArray(value)) {
        return value.map(engineValue);
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(
            Object.entries(value)
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => [k, engineValue(v)]),
        );
    }
    return value;
}

/** The provider the engine would show a resource with: explicit, or its package's default (raw props). */
export function providerInfo(
    run: StackRun,
    r: RecordedResource,
): { type: string; name: string; urn: string; props: Record<string, unknown> } | undefined {
    if (r.provider) {
        const urn = r.provider.split("::").slice(0, -1).join("::");
        const p = run.resources.find((x) => x.urn === urn);
        if (p) {
            return { type: p.type, name: p.name, urn: p.urn, props: engineValue(p.outputs) };
        }
    }
    if (r.type.startsWith("pulumi:") || r.type.startsWith("ecommerce:")) {
        return undefined;
    }
    // The engine's default provider of the package, configured from the stack's config.
    const pkg = r.type.split(":")[0];
    const prefix = `${pkg}:`;
    const props = Object.fromEntries(
        Object.entries(run.config)
            .filter(([k]) => k.startsWith(prefix))
            .map(([k, v]) => [k.slice(prefix.length), v]),
    );
    return {
        type: `pulumi:providers:${pkg}`,
        name: "default",
        urn: `urn:pulumi:${run.stack}::ecommerce::pulumi:providers:${pkg}::default`,
        props,
    };
}

function providerOf(run: StackRun, r: RecordedResource): PolicyResource["provider"] {
    const info = providerInfo(run, r);
    return info ? { ...info, props: unknownCheckingProxy(info.props) } : undefined;
}

function optionsOf(r: RecordedResource): ResourceValidationArgs["opts"] {
    return {
        protect: r.protect,
        ignoreChanges: [...r.ignoreChanges],
        deleteBeforeReplace: r.deleteBeforeReplace,
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        parent: r.parent,
    };
}

const isTypeFor = (type: string) => (resourceClass: any) => resourceClass?.__pulumiType === type;

/**
 * What a policy sees of a resource, in either kind of policy: its identity, its values (inputs
 * for resource policies, outputs for stack policies) behind the unknown-checking proxy, its
 * options and provider, and the type tests.
 */
function policyView(run: StackRun, r: RecordedResource, values: Record<string, unknown>) {
    const props = unknownCheckingProxy(engineValue(values));
    return {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props,
        opts: optionsOf(r),
        provider: providerOf(run, r),
        isType: isTypeFor(r.type),
        asType: ((c: any) => (isTypeFor(r.type)(c) ? props : undefined)) as any,
    };
}

/** Policies' config merged the way the engine hands it out: enforcementLevel apart, the rest as getConfig(). */
function configFor(config: PolicyPackConfig, policy: string): { level?: EnforcementLevel; properties: Record<string, unknown> } {
    const c = config[policy];
    if (c === undefined) {
        return { properties: {} };
    }
    if (typeof c === "string") {
        return { level: c, properties: {} };
    }
    const { enforcementLevel, ...properties } = c as { enforcementLevel?: EnforcementLevel };
    return { level: enforcementLevel, properties };
}

/**
 * The pack's policies are synchronous, and the runner relies on it: a policy that returned a
 * promise would report its violations after its verdict was taken.
 */
function synchronously(policy: string, result: void | Promise<void>): void {
    if (result instanceof Promise) {
        throw new Error(`policy ${policy} is asynchronous; the offline runner runs only synchronous policies`);
    }
}

export function runPolicies(run: StackRun, policies: Policies, config: PolicyPackConfig = {}): PolicyVerdict[] {
    const verdicts: PolicyVerdict[] = [];
    const stackKind = stackKindOf(run.resources.map((r) => r.type));
    for (const policy of policies) {
        const { level, properties } = configFor(config, policy.name);
        const enforcementLevel: EnforcementLevel = level ?? policy.enforcementLevel ?? "advisory";
        if (enforcementLevel === "disabled") {
            continue;
        }
        const violations: Violation[] = [];
        const cannotRun: string[] = [];
        let examined = 0;
        const getConfig = <T extends object>() => properties as T;

        if ("validateResource" in policy && policy.validateResource) {
            const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
            for (const r of run.resources) {
                let applies = false;
                for (const validate of validations) {
                    const args: ResourceValidationArgs = {
                        ...policyView(run, r, r.inputs),
                        stackTags: new Map(),
                        getConfig,
                        notApplicable: throwNotApplicable,
                    };
                    try {
                        synchronously(
                            policy.name,
                            validate(args, (message, urn) => violations.push({ message, urn: urn ?? r.urn })),
                        );
                        applies = true;
                    } catch (err) {
                        if (err instanceof NotApplicable) {
                            continue;
                        }
                        if (err instanceof UnknownValueError) {
                            applies = true;
                            cannotRun.push(`${r.name}: ${err.message}`);
                            continue;
                        }
                        throw err;
                    }
                }
                examined += applies ? 1 : 0;
            }
            const meantFor = policyKinds(policy.name);
            const notApplicable =
                examined === 0 && !meantFor.includes(stackKind) ? `applies to ${meantFor.join(" and ")} stacks` : undefined;
            verdicts.push({ policy: policy.name, kind: "resource", enforcementLevel, examined, violations, cannotRun, notApplicable });
        } else if ("validateStack" in policy && policy.validateStack) {
            const byUrn = new Map<string, PolicyResource>();
            const resources: PolicyResource[] = run.resources.map((r) => {
                const resource: PolicyResource = { ...policyView(run, r, r.outputs), dependencies: [], propertyDependencies: {} };
                byUrn.set(r.urn, resource);
                return resource;
            });
            run.resources.forEach((r, i) => {
                const resource = resources[i] as {
                    parent?: PolicyResource;
                    dependencies: PolicyResource[];
                    propertyDependencies: Record<string, PolicyResource[]>;
                };
                resource.parent = r.parent ? byUrn.get(r.parent) : undefined;
                resource.dependencies = r.dependencies.map((d) => byUrn.get(d)).filter((d): d is PolicyResource => d !== undefined);
                for (const [k, urns] of Object.entries(r.propertyDependencies)) {
                    resource.propertyDependencies[k] = urns.map((d) => byUrn.get(d)).filter((d): d is PolicyResource => d !== undefined);
                }
            });
            const args: StackValidationArgs = { resources, getConfig, stackTags: new Map(), notApplicable: throwNotApplicable };
            let notApplicable: string | undefined;
            try {
                synchronously(
                    policy.name,
                    policy.validateStack(args, (message, urn) => violations.push({ message, urn })),
                );
                examined = lastExamined(policy.name) ?? 0;
            } catch (err) {
                if (err instanceof UnknownValueError) {
                    cannotRun.push(err.message);
                } else if (err instanceof NotApplicable) {
                    notApplicable = err.message || "not applicable";
                } else {
                    throw err;
                }
            }
            verdicts.push({ policy: policy.name, kind: "stack", enforcementLevel, examined, violations, cannotRun, notApplicable });
        }
    }
    return verdicts;
}

/** Verdicts that fail a deployment: violations of mandatory policies. */
export function mandatoryViolations(verdicts: readonly PolicyVerdict[]): { policy: string; message: string }[] {
    return verdicts
        .filter((v) => v.enforcementLevel === "mandatory")
        .flatMap((v) => v.violations.map((x) => ({ policy: v.policy, message: x.message })));
}
