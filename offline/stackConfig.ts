/**
 * Resolves a stack's configuration from the files the way the Pulumi CLI does: the
 * project-level declarations of Pulumi.yaml first (a plain value, a `default` or a
 * `value`), then the stack file's `config:` on top. Values reach the program as strings,
 * non-strings JSON-encoded. Declared types are checked like the CLI checks them.
 *
 * Used by the offline engine (tests and plan) and the deploy wrapper, so all three see
 * the same configuration the CLI would.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

export const PROJECT_DIR = path.resolve(__dirname, "..");

export interface StackFile {
    readonly secretsprovider?: string;
    /** The stack's data key, encrypted by the secrets provider (written by `pulumi stack init`). */
    readonly encryptedkey?: string;
    readonly config: Readonly<Record<string, unknown>>;
}

interface Declaration {
    type?: "string" | "integer" | "boolean" | "array";
    description?: string;
    default?: unknown;
    value?: unknown;
    items?: { type: string };
    secret?: boolean;
}

export interface ProjectFile {
    readonly name: string;
    readonly config: Readonly<Record<string, unknown>>;
}

export function readProjectFile(dir = PROJECT_DIR): ProjectFile {
    const doc = parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as ProjectFile;
    return { name: doc.name, config: doc.config ?? {} };
}

export function readStackFile(stack: string, dir = PROJECT_DIR): StackFile {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const known = listStacks(dir).join(", ");
        throw new Error(`unknown stack "${stack}": ${file} does not exist (stacks: ${known})`);
    }
    const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as Partial<StackFile>;
    return { secretsprovider: doc.secretsprovider, encryptedkey: doc.encryptedkey, config: doc.config ?? {} };
}

/** Stack names with a Pulumi.<stack>.yaml file in `dir`. */
export function listStacks(dir = PROJECT_DIR): string[] {
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.([\w.-]+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

function qualify(project: string, key: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

function encode(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

function isDeclaration(value: unknown): value is Declaration {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A declared item type: the CLI's `integer` is a whole number, the rest JavaScript's typeof. */
function isOfType(value: unknown, type: string): boolean {
    return type === "integer" ? Number.isInteger(value) : typeof value === type;
}

function checkType(key: string, decl: Declaration, value: unknown): void {
    const ok =
        decl.type === undefined ||
        (decl.type === "string" && typeof value === "string") ||
        (decl.type === "integer" && Number.isInteger(value)) ||
        (decl.type === "boolean" && typeof value === "boolean") ||
        (decl.type === "array" && Array.isArray(value) && value.every((v) => decl.items === undefined || isOfType(v, decl.items.type)));
    if (!ok) {
        throw new Error(`Stack config ${key} = ${JSON.stringify(value)} does not match its declared type ${decl.type} in Pulumi.yaml`);
    }
}

/**
 * The configuration a `pulumi up --stack <stack>` would hand the program: fully qualified
 * keys to string values.
 */
export function resolveStackConfig(stack: string, dir = PROJECT_DIR): Record<string, string> {
    const project = readProjectFile(dir);
    const stackFile = readStackFile(stack, dir);
    const result: Record<string, string> = {};
    const declarations = new Map<string, Declaration>();
    for (const [key, decl] of Object.entries(project.config)) {
        const full = qualify(project.name, key);
        if (!isDeclaration(decl)) {
            result[full] = encode(decl);
            continue;
        }
        declarations.set(full, decl);
        const value = decl.value !== undefined ? decl.value : decl.default;
        if (value !== undefined) {
            checkType(full, decl, value);
            result[full] = encode(value);
        }
    }
    for (const [key, value] of Object.entries(stackFile.config)) {
        const full = qualify(project.name, key);
        const decl = declarations.get(full);
        if (decl) {
            checkType(full, decl, value);
        }
        result[full] = encode(value);
    }
    return result;
}
