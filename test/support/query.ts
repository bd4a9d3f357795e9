/**
 * Lookups over a recorded run. Each throws a descriptive error when what a test expects
 * is absent, so a missing resource fails loudly instead of making an assertion vacuous.
 */
import type { RecordedResource, StackRun } from "../../offline/run";

export function ofType(run: StackRun, type: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === type);
}

/** Resources of `type`, requiring exactly `count` of them. */
export function expectCount(run: StackRun, type: string, count: number): RecordedResource[] {
    const found = ofType(run, type);
    if (found.length !== count) {
        throw new Error(`stack ${run.stack}: expected ${count} x ${type}, found ${found.length} (${found.map((r) => r.name).join(", ")})`);
    }
    return found;
}

/** The one resource of `type` named `name`. */
export function one(run: StackRun, type: string, name: string): RecordedResource {
    const found = run.resources.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1) {
        const names =
            ofType(run, type)
                .map((r) => r.name)
                .join(", ") || "none";
        throw new Error(`stack ${run.stack}: expected one ${type} named ${name}, found ${found.length} (of that type: ${names})`);
    }
    return found[0];
}

export function byUrn(run: StackRun, urn: string): RecordedResource {
    const found = run.resources.find((r) => r.urn === urn);
    if (!found) {
        throw new Error(`stack ${run.stack}: no resource with URN ${urn}`);
    }
    return found;
}

/** Direct children of `parent`, or all descendants with `deep`. */
export function childrenOf(run: StackRun, parent: RecordedResource, deep = false): RecordedResource[] {
    const direct = run.resources.filter((r) => r.parent === parent.urn);
    return deep ? direct.flatMap((c) => [c, ...childrenOf(run, c, true)]) : direct;
}

/** The nearest ancestor component of `type` (e.g. `ecommerce:web:WebTier`). */
export function ancestorOfType(run: StackRun, resource: RecordedResource, type: string): RecordedResource | undefined {
    let current = resource.parent ? run.resources.find((r) => r.urn === resource.parent) : undefined;
    while (current && current.type !== type) {
        current = current.parent ? run.resources.find((r) => r.urn === current!.parent) : undefined;
    }
    return current;
}

/** The resource whose ID or ARN is `ref` (mocks give deterministic IDs). */
export function byIdOrArn(run: StackRun, ref: string): RecordedResource {
    const found = run.resources.find((r) => r.id === ref || r.outputs.arn === ref);
    if (!found) {
        throw new Error(`stack ${run.stack}: no resource with ID or ARN ${ref}`);
    }
    return found;
}
