// Bundle the CLI into one CommonJS file, dist/bin/pagelens-main.cjs, run by
// the loader dist/bin/pagelens.cjs (scripts/bin-loader.cjs) with V8's code
// cache. Start-up matters for a tool that is timed against a C program:
// loading ~40 separate ES modules plus commander costs ~40 ms; one bundled
// file loads in a fraction of that, and a cached one faster still.
// The library itself (dist/src) stays unbundled ES modules for importers.
import { build } from "esbuild";
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";

// commander requires node:child_process at its top, for executable subcommands
// pagelens never has; loading it pulls in net, dgram and the stream modules:
// 3-4 ms of every start (docs/performance.md, section 7). commander gets a
// stand-in that loads the real module on first use instead.
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (/[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: "child_process", namespace: "pagelens-lazy" } : undefined));
    b.onLoad({ filter: /.*/, namespace: "pagelens-lazy" }, () => ({
      contents: 'let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require("node:child_process"))[key] });',
      loader: "js",
    }));
  },
};

await build({
  entryPoints: { "pagelens-main": "dist/src/cli/main.js" },
  plugins: [lazyChildProcess],
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
// V8 keeps a script's source as one string, Latin-1 (one byte a character) unless
// a character of it is not: then the whole 1.1 MB bundle is held as UTF-16, 2.2 MB
// and every copy of it (the loader's replace and wrap) twice that: 2.3 MiB more
// peak RSS on every run, measured (docs/performance.md, section 7). esbuild
// escapes strings and regular expressions (charset: ascii) but keeps a few
// comments as written: escape what is left, in comments only.
{
  const file = "dist/bin/pagelens-main.cjs";
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n");
  let escaped = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!/[^\x00-\x7f]/.test(lines[i])) continue;
    if (!/^\s*\/\//.test(lines[i])) throw new Error(`${file}:${i + 1}: a non-ASCII character outside a line comment`);
    lines[i] = lines[i].replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
    escaped++;
  }
  // Line comments only, so every line keeps its number and the source map stays right.
  if (escaped > 0) writeFileSync(file, lines.join("\n"));
}
// The HTML report's page script (src/html/), with the parts of ECharts it
// uses, as one minified browser script: `pagelens report` and `serve` inline
// it into the page (src/cli/page-script.ts finds it next to the CLI bundle).
const page = await build({
  entryPoints: ["src/html/page.ts"],
  outfile: "dist/web/page.js",
  bundle: true,
  platform: "browser",
  format: "iife",
  target: "es2020",
  minify: true,
  legalComments: "eof",
  metafile: true,
  logLevel: "warning",
});
if (process.env["PAGELENS_BUNDLE_SIZES"]) {
  const bytes = {};
  for (const [file, o] of Object.entries(page.metafile.outputs["dist/web/page.js"].inputs)) {
    const key = file.startsWith("node_modules/") ? file.split("/").slice(0, file.startsWith("node_modules/@") ? 3 : 2).join("/") : "src/html (and what it imports)";
    bytes[key] = (bytes[key] ?? 0) + o.bytesInOutput;
  }
  console.log(bytes, "total", page.metafile.outputs["dist/web/page.js"].bytes);
}
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
