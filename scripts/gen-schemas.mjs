#!/usr/bin/env node
/**
 * Writes schemas/<command>.schema.json, the JSON Schema (draft 2020-12) of
 * every command's --json, from the TypeScript types the reports are built
 * as: the types are the one definition of each document, their doc comments
 * become the descriptions, and every object is closed (additionalProperties
 * false), so a field added to a report without regenerating fails the tests
 * that validate real output against these files.
 *
 *   node scripts/gen-schemas.mjs           write the files
 *   node scripts/gen-schemas.mjs --check   exit 1 if a file differs from what would be written
 *
 * Run from the repository root (npm run gen:schemas). Uses ts-json-schema-generator
 * (a devDependency), which emits draft-07: definitions become $defs and tuple
 * `items` arrays become `prefixItems`, the 2020-12 spellings.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { createGenerator } from "ts-json-schema-generator";

/** command -> the type its --json prints, and where it is defined. */
export const DOCUMENTS = [
  { name: "ps", type: "PsReport", file: "src/report/process-report.ts", what: "pagelens ps --json: every process, with totals and machine-wide figures" },
  { name: "maps", type: "MapsReport", file: "src/report/maps-report.ts", what: "pagelens maps PID --json: one process, mapping by mapping" },
  { name: "pages", type: "PagesReport", file: "src/report/pages-report.ts", what: "pagelens pages PID --json: one process, page by page (runs of alike pages, or every page with --each)" },
  { name: "flags", type: "FlagsReport", file: "src/report/flags-report.ts", what: "pagelens flags --json: physical pages by page flags" },
  { name: "flags-describe", type: "FlagsDescription", file: "src/report/flags-report.ts", what: "pagelens flags --describe FLAGS --json: one flags value decoded" },
  { name: "libs", type: "LibsReport", file: "src/report/libs-report.ts", what: "pagelens libs --json: every library and mapping across processes" },
  { name: "shares", type: "SharesReport", file: "src/report/shares-report.ts", what: "pagelens shares --json: who shares memory with whom" },
  { name: "groups", type: "GroupsReport", file: "src/report/groups-report.ts", what: "pagelens groups --json: memory per user, command, cgroup, unit or process tree" },
  { name: "file", type: "FileReport", file: "src/report/file-report.ts", what: "pagelens file PATH... --json: which pages of files are in the page cache" },
  { name: "system", type: "SystemReport", file: "src/report/system-report.ts", what: "pagelens system --json: MemTotal split into lines that do not overlap" },
  { name: "report", type: "HtmlReport", file: "src/report/html-report.ts", what: "pagelens report --json (and pagelens serve's /api/report): everything the HTML report draws, from one scan" },
  { name: "kernel", type: "KernelReport", file: "src/cli/commands/kernel.ts", what: "pagelens kernel --json: what this kernel offers and what pagelens uses it for" },
];

const SIZES =
  "Sizes are numbers of bytes (PSS may be fractional). The usage fields (rss, pss, uss, shared, anon, file, shmem, swap, swapPss, ...) are defined in docs/numbers.md.";

/** Rewrite draft-07 output into draft 2020-12. */
function to2020(node) {
  if (Array.isArray(node)) return node.map(to2020);
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "$ref" && typeof v === "string") out.$ref = v.replace("#/definitions/", "#/$defs/");
    else if (k === "definitions") out.$defs = to2020(v);
    else if (k === "items" && Array.isArray(v)) {
      out.prefixItems = to2020(v);
      if (!("additionalItems" in node)) out.items = false;
    } else if (k === "additionalItems") out.items = to2020(v);
    else out[k] = to2020(v);
  }
  return out;
}

export function buildSchemas(root = process.cwd()) {
  const files = new Map();
  for (const d of DOCUMENTS) {
    const generator = createGenerator({
      path: path.join(root, d.file),
      tsconfig: path.join(root, "tsconfig.json"),
      type: d.type,
      skipTypeCheck: true,
      additionalProperties: false,
      expose: "export",
      topRef: true,
      jsDoc: "extended",
      sortProps: true,
    });
    const { $schema: _draft07, ...raw } = to2020(generator.createSchema(d.type));
    const schema = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      $id: `https://github.com/pagelens/pagelens/schemas/${d.name}.schema.json`,
      title: d.what,
      description: `${SIZES} Generated from the type ${d.type} (${d.file}) by scripts/gen-schemas.mjs: do not edit by hand.`,
      ...raw,
    };
    files.set(`schemas/${d.name}.schema.json`, JSON.stringify(schema, null, 2) + "\n");
  }
  return files;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const check = process.argv.includes("--check");
  const files = buildSchemas();
  let stale = 0;
  for (const [rel, text] of files) {
    const have = fs.existsSync(rel) ? fs.readFileSync(rel, "utf8") : undefined;
    if (have === text) continue;
    if (check) {
      console.error(`${rel} is out of date: run npm run gen:schemas`);
      stale++;
    } else {
      fs.mkdirSync(path.dirname(rel), { recursive: true });
      fs.writeFileSync(rel, text);
      console.log(`wrote ${rel}`);
    }
  }
  process.exit(stale > 0 ? 1 : 0);
}
