/**
 * Renders the config reference (docs/config.md) from Pulumi.yaml, so the two cannot drift:
 * test/readme.test.ts fails when docs/config.md's table differs from this output.
 *
 *   npx ts-node --transpile-only tools/configDoc.ts   prints the table
 */
import { REGION_NAME } from "../lib/rules";
import { readProjectFile } from "../offline/stackConfig";

interface Declaration {
    type?: string;
    items?: { type: string };
    description?: string;
    default?: unknown;
    value?: unknown;
}

/** `object (region map)` when every key is a region, else `object`. */
function objectKind(value: unknown): string {
    const keys = value !== null && typeof value === "object" ? Object.keys(value) : [];
    return keys.length > 0 && keys.every((k) => REGION_NAME.accepts(k)) ? "object (region map)" : "object";
}

function cell(text: string): string {
    return text.replace(/\s+/g, " ").replace(/\|/g, "\\|").trim();
}

export function renderConfigTable(): string {
    const project = readProjectFile();
    const rows = Object.entries(project.config as Record<string, Declaration>).map(([key, decl]) => {
        const type = decl.type === "array" ? `array of ${decl.items?.type ?? "?"}` : (decl.type ?? objectKind(decl.value));
        const value = decl.value !== undefined ? decl.value : decl.default;
        const shown =
            value === undefined
                ? "(per stack)"
                : `\`${typeof value === "string" ? (value === "" ? '""' : value) : JSON.stringify(value)}\``;
        return `| \`${project.name}:${key}\` | ${type} | ${cell(shown)} | ${cell(decl.description ?? "")} |`;
    });
    return ["| key | type | default | description |", "|---|---|---|---|", ...rows].join("\n");
}

if (require.main === module) {
    process.stdout.write(`${renderConfigTable()}\n`);
}
