// Bundle the CLI into one file. Start-up matters for a
// tool that is timed against a C program: loading ~40 separate ES modules
// plus commander costs ~40 ms; one bundled file loads in a fraction of that.
// The library itself (dist/src) stays unbundled for importers.
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  // commander and cli-table3 are CommonJS: give the ESM bundle a require().
  banner: { js: "import { createRequire as __plCreateRequire } from 'node:module'; const require = __plCreateRequire(import.meta.url);" },
};

await build({ ...common, entryPoints: { pagelens: "dist/src/cli/main.js" }, outdir: "dist/bin", outExtension: { ".js": ".mjs" } });
