// Bundle the CLI into one CommonJS file, dist/bin/pagelens-main.cjs, run by
// the loader dist/bin/pagelens.cjs (scripts/bin-loader.cjs) with V8's code
// cache. Start-up matters for a tool that is timed against a C program:
// loading ~40 separate ES modules plus commander costs ~40 ms; one bundled
// file loads in a fraction of that, and a cached one faster still.
// The library itself (dist/src) stays unbundled ES modules for importers.
import { build } from "esbuild";
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";

await build({
  entryPoints: { "pagelens-main": "dist/src/cli/main.js" },
  outdir: "dist/bin",
  outExtension: { ".js": ".cjs" },
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  // Loaded at run time by `pagelens top` only (src/cli/top/screen.ts): it requires its own parts by computed names.
  external: ["terminal-kit"],
  // The sources are ES modules: give them their import.meta.url back.
  define: { "import.meta.url": "__plImportMetaUrl" },
  banner: { js: 'const __plImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
});
// The loader keys its code cache by command; it gets the names from the
// command definitions themselves, so a new command needs no edit there.
const { commandNames } = await import(new URL("../dist/src/cli/run.js", import.meta.url).href);
const loader = readFileSync("scripts/bin-loader.cjs", "utf8");
const placeholder = "/* COMMAND_NAMES */ []";
if (!loader.includes(placeholder)) throw new Error(`scripts/bin-loader.cjs: ${placeholder} not found`);
writeFileSync("dist/bin/pagelens.cjs", loader.replace(placeholder, JSON.stringify(commandNames())));
chmodSync("dist/bin/pagelens.cjs", 0o755);
// Drop what earlier builds left: the ES module bundle, and code caches of other builds.
for (const f of readdirSync("dist/bin")) if (f.startsWith("pagelens.mjs") || f.endsWith(".v8cache")) rmSync(`dist/bin/${f}`);
