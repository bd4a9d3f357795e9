// Lint configuration, once for the whole repository (npm run lint; .ci/run runs it).
// typescript-eslint's type-checked rules catch what matters in Pulumi code: floating
// promises, misused Outputs in template strings, unsafe any. Formatting is Prettier's job.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", "scratch/", "**/*.d.ts"] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
            globals: { ...globals.node },
        },
    },
    {
        rules: {
            // `_`-prefixed names are deliberately unused (a destructured field left out, a callback's position).
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
            ],
        },
    },
    {
        // The engine's property bags are untyped by nature: resource inputs and outputs as the
        // runtime records them (offline/), what policies receive (policies/), and what tests
        // read back. The no-unsafe-* family would only force casts to the same `any` there;
        // everywhere else (index.ts, components/, lib/, tools/) the full set applies.
        files: ["offline/**/*.ts", "policies/**/*.ts", "test/**/*.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unsafe-argument": "off",
            "@typescript-eslint/no-unsafe-assignment": "off",
            "@typescript-eslint/no-unsafe-call": "off",
            "@typescript-eslint/no-unsafe-member-access": "off",
            "@typescript-eslint/no-unsafe-return": "off",
        },
    },
    {
        files: ["**/*.js", "**/*.mjs"],
        ...tseslint.configs.disableTypeChecked,
        languageOptions: {
            ...tseslint.configs.disableTypeChecked.languageOptions,
            globals: { ...globals.node },
        },
        // CommonJS: the mocha reporter is loaded by mocha itself, before ts-node.
        rules: { ...tseslint.configs.disableTypeChecked.rules, "@typescript-eslint/no-require-imports": "off" },
    },
    prettier,
);
