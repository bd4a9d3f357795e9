/**
 * Parity between two stacks of the same program: which logical resources (type + name)
 * exist in one and not the other, and which inputs differ. References between resources
 * (IDs, ARNs, names the provider computed) are replaced by symbolic references before
 * comparing, so `subnet.vpcId` compares as "the VPC network-vpc" in both stacks, not as
 * two different mock IDs. Every remaining difference must be explained by an allow-list
 * entry; entries that explain nothing are reported too, so the list cannot rot.
 */
import type { RecordedResource, StackRun } from "./run";

/** An explained, expected difference between the stacks. */
export interface AllowedDifference {
    /** Resource type token, or "*". */
    readonly type: string;
    /** Logical name, a RegExp over it, or "*". */
    readonly name: string | RegExp;
    /**
     * Input path (dotted, arrays as [i]); a string matches the path and everything below
     * it, a RegExp matches whole paths. PRESENCE: the resource exists in one stack only.
     */
    readonly field: string | RegExp;
    /** Why it differs: region-dependent or role-dependent, and how. */
    readonly reason: string;
}

export const PRESENCE = "(resource)";

export interface Difference {
    readonly type: string;
    readonly name: string;
    /** Input path, or PRESENCE. */
    readonly field: string;
    readonly left: unknown;
    readonly right: unknown;
}

export interface ParityReport {
    /** Differences no allow-list entry explains. */
    readonly unexplained: readonly Difference[];
    /** Differences with the entry that explains each. */
    readonly explained: readonly { readonly difference: Difference; readonly allowedBy: AllowedDifference }[];
    /** Entries that matched no difference (stale). */
    readonly unusedEntries: readonly AllowedDifference[];
}

const key = (r: RecordedResource) => `${r.type}::${r.name}`;

/** Output fields whose values are identities the provider assigned (IDs, ARNs, names, addresses). */
const REFERENCE_FIELD =
    /^(id|arn|keyId|name|dnsName|address|endpoint|fqdn|zoneId|result|allocationId|publicIp|privateIp|clusterSecurityGroupId)$|(Arn|Id|Name)$/;
/** Values that are never references, even in a reference field: regions, plain words. */
const PLAIN_VALUE = /^([a-z]{2}-[a-z]+-\d|[a-z]+|\d{12})$/;

/** Maps every provider-assigned identity of a run (IDs, ARNs, computed names) to a symbol. */
function referenceTable(run: StackRun): [string, string][] {
    const table = new Map<string, string>();
    for (const r of run.resources) {
        // A value the resource was given is not an identity the provider assigned.
        const given = new Set([...leaves(r.inputs, "", new Map()).values()].filter((v) => typeof v === "string"));
        const add = (value: unknown, what: string) => {
            if (
                typeof value === "string" &&
                value.length >= 8 &&
                value !== "<unknown>" &&
                !PLAIN_VALUE.test(value) &&
                !given.has(value) &&
                !table.has(value)
            ) {
                table.set(value, `{${r.type}::${r.name}.${what}}`);
            }
        };
        add(r.id, "id");
        add(r.urn, "urn");
        const walk = (value: unknown, at: string, field: string) => {
            if (value !== null && typeof value === "object" && !Array.isArray(value)) {
                for (const [k, v] of Object.entries(value)) {
                    walk(v, at ? `${at}.${k}` : k, k);
                }
            } else if (REFERENCE_FIELD.test(field)) {
                add(value, at);
            }
        };
        for (const [field, value] of Object.entries(r.outputs)) {
            // Only what the provider computed: an input passed through is not a reference.
            if (!(field in r.inputs)) {
                walk(value, field, field);
            }
        }
    }
    // Longest first, so an ARN is replaced before the ID it contains.
    return [...table.entries()].sort((a, b) => b[0].length - a[0].length);
}

function symbolise(value: unknown, table: readonly [string, string][]): unknown {
    if (typeof value === "string") {
        let result = value;
        for (const [text, symbol] of table) {
            if (result.includes(text)) {
                result = result.split(text).join(symbol);
            }
        }
        return result;
    }
    if (Array.isArray(value)) {
        return value.map((v) => symbolise(v, table));
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, symbolise(v, table)]));
    }
    return value;
}

/** Leaf paths of a value: `tags.Name`, `ingress[0].cidrBlocks[1]`. */
function leaves(value: unknown, at: string, out: Map<string, unknown>): Map<string, unknown> {
    if (Array.isArray(value)) {
        if (value.length === 0) {
            out.set(at, []);
        }
        value.forEach((v, i) => leaves(v, `${at}[${i}]`, out));
    } else if (value !== null && typeof value === "object") {
        const entries = Object.entries(value);
        if (entries.length === 0) {
            out.set(at, {});
        }
        for (const [k, v] of entries) {
            leaves(v, at ? `${at}.${k}` : k, out);
        }
    } else {
        out.set(at, value);
    }
    return out;
}

function matches(entry: AllowedDifference, d: Difference): boolean {
    const typeOk = entry.type === "*" || entry.type === d.type;
    const nameOk = entry.name === "*" || (entry.name instanceof RegExp ? entry.name.test(d.name) : entry.name === d.name);
    const field = entry.field;
    const fieldOk =
        field instanceof RegExp
            ? d.field !== PRESENCE && field.test(d.field)
            : field === d.field || (field !== PRESENCE && (d.field.startsWith(`${field}.`) || d.field.startsWith(`${field}[`)));
    return typeOk && nameOk && fieldOk;
}

/** All differences between `left` and `right`, before any allow-list. */
export function differences(leftRun: StackRun, rightRun: StackRun): Difference[] {
    // The root stack resource is named after the stack by Pulumi itself.
    const comparable = (run: StackRun): StackRun => ({ ...run, resources: run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack") });
    const left = comparable(leftRun);
    const right = comparable(rightRun);
    const leftTable = referenceTable(left);
    const rightTable = referenceTable(right);
    const rightByKey = new Map(right.resources.map((r) => [key(r), r]));
    const leftByKey = new Map(left.resources.map((r) => [key(r), r]));
    const result: Difference[] = [];
    for (const l of left.resources) {
        const r = rightByKey.get(key(l));
        if (!r) {
            result.push({ type: l.type, name: l.name, field: PRESENCE, left: "present", right: "absent" });
            continue;
        }
        const a = leaves(symbolise(l.inputs, leftTable), "", new Map());
        const b = leaves(symbolise(r.inputs, rightTable), "", new Map());
        for (const path of new Set([...a.keys(), ...b.keys()])) {
            const x = a.get(path);
            const y = b.get(path);
            if (JSON.stringify(x) !== JSON.stringify(y)) {
                result.push({ type: l.type, name: l.name, field: path, left: x, right: y });
            }
        }
    }
    for (const r of right.resources) {
        if (!leftByKey.has(key(r))) {
            result.push({ type: r.type, name: r.name, field: PRESENCE, left: "absent", right: "present" });
        }
    }
    return result;
}

export function compareStacks(left: StackRun, right: StackRun, allowList: readonly AllowedDifference[]): ParityReport {
    const used = new Set<AllowedDifference>();
    const unexplained: Difference[] = [];
    const explained: { difference: Difference; allowedBy: AllowedDifference }[] = [];
    for (const d of differences(left, right)) {
        const entry = allowList.find((e) => matches(e, d));
        if (entry) {
            used.add(entry);
            explained.push({ difference: d, allowedBy: entry });
        } else {
            unexplained.push(d);
        }
    }
    return { unexplained, explained, unusedEntries: allowList.filter((e) => !used.has(e)) };
}

export function formatDifference(d: Difference): string {
    return d.field === PRESENCE
        ? `${d.type} ${d.name}: ${d.left === "present" ? "only in the first stack" : "only in the second stack"}`
        : `${d.type} ${d.name} ${d.field}: ${JSON.stringify(d.left)} vs ${JSON.stringify(d.right)}`;
}
