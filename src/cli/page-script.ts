/**
 * The HTML report's page script (src/html/ with ECharts), as built by
 * scripts/bundle.mjs into dist/web/page.js. Found relative to the running
 * code: dist/bin/pagelens-main.cjs (the bundled CLI) and dist/src/cli/
 * (the library's CLI entry) both reach dist/web.
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function pageScript(): string {
  if (cached !== undefined) return cached;
  const tried: string[] = [];
  for (const rel of ["../web/page.js", "../../web/page.js"]) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    tried.push(file);
    if (fs.existsSync(file)) return (cached = fs.readFileSync(file, "utf8"));
  }
  throw new Error(`the report's page script is missing (looked for ${tried.join(", ")}): run npm run build`);
}
