// Code lint, run by `npm test` (`npm run lint`): typescript-eslint's
// recommended rules. Import cycles and the layering of src/ are checked by
// dependency-cruiser (.dependency-cruiser.cjs), which also sees type-only
// imports.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "wasm/**", "scripts/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks a value taken only to skip it (destructuring, callbacks).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
    },
  },
);
