/**
 * The HTML report as one self-contained file: the page's style, its script
 * (src/html/, bundled with ECharts by scripts/bundle.mjs and passed in by
 * the caller) and the report as JSON, all inline, so it opens offline in any
 * browser. Pure: report and script in, text out.
 *
 * The JSON carries names from /proc, which anyone can choose. Inside a
 * <script> element the HTML parser looks only for "</script" (and "<!--"),
 * so every "<" is written as \u003c (also ">" and "&", for good measure),
 * and U+2028/U+2029 as escapes (a JavaScript parser older than ES2019 ends
 * a string at them). JSON.parse reads the escapes back to the true names;
 * the page then inserts them as text (textContent), never as markup. A
 * Content-Security-Policy forbids any network access and any script but the
 * inline one.
 */
import type { HtmlReport } from "../report/html-report.js";

/** JSON that is safe inside a <script> element (see the module comment). */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A script that cannot end its element early; the bundle never has these (esbuild escapes "</script" in strings), so finding one is a build error. */
function checkScript(script: string): string {
  if (/<\/script|<!--/i.test(script)) throw new Error("the page script contains </script or <!--: it cannot be inlined");
  return script;
}

const STYLE = `
:root { font: 14px/1.4 system-ui, sans-serif; color: #222; }
body { margin: 0 auto; max-width: 1400px; padding: 0 16px 40px; }
h1 { font-size: 22px; margin: 16px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 6px; border-bottom: 1px solid #ddd; }
nav a { margin-right: 10px; }
.hint { color: #666; font-size: 13px; margin: 4px 0; }
.chart { width: 100%; height: 320px; }
.chart.tall { height: 520px; }
.controls { margin: 6px 0; }
button { font: inherit; padding: 2px 10px; border: 1px solid #aaa; background: #f4f4f4; border-radius: 3px; cursor: pointer; }
button.on { background: #2e86de; color: #fff; border-color: #2e86de; }
input[type=search] { font: inherit; width: 280px; padding: 2px 6px; }
.scroll { max-height: 480px; overflow: auto; border: 1px solid #eee; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 2px 8px; text-align: left; white-space: nowrap; max-width: 520px; overflow: hidden; text-overflow: ellipsis; }
th { position: sticky; top: 0; background: #f4f4f4; cursor: pointer; user-select: none; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
th.sorted[data-dir=desc]::after { content: " \\25BE"; }
th.sorted[data-dir=asc]::after { content: " \\25B4"; }
tr:nth-child(even) td { background: #fafafa; }
tr.has-map td { font-weight: 600; cursor: pointer; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: center; margin: 6px 0; font-size: 13px; }
.swatch { display: inline-block; width: 14px; height: 14px; border: 1px solid #999; margin-right: -8px; }
.notes { color: #555; font-size: 13px; }
.tip { font-size: 12px; max-width: 520px; white-space: normal; word-break: break-all; }
.tip-title { font-weight: 600; }
.tip-k { color: #666; }
`;

function page(head: string, bodyAttrs: string, body: string, connect: string): string {
  return (
    "<!DOCTYPE html>\n" +
    '<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src ${connect}">\n` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `${head}<style>${STYLE}</style>\n</head>\n<body${bodyAttrs}>\n${body}</body>\n</html>\n`
  );
}

/** The report as one file: the data as JSON in a non-executed script element, then the page script. */
export function renderHtmlReport(report: HtmlReport, script: string): string {
  const title = `<title>pagelens report ${report.takenAt}</title>\n`;
  return page(
    title,
    "",
    `<noscript>This report draws its charts with JavaScript; the data is the JSON below (pagelens report).</noscript>\n` +
      `<script type="application/json" id="pagelens-data">${scriptSafeJson(report)}</script>\n` +
      `<script>${checkScript(script)}</script>\n`,
    "'none'",
  );
}

/** `serve`'s web view: the same page, fetching the report from `api` every `refreshSeconds`. */
export function renderLivePage(script: string, o: { readonly api: string; readonly refreshSeconds: number }): string {
  // api is a fixed path of ours, not untrusted; still written as an escaped attribute.
  const attr = (s: string): string => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  return page(
    "<title>pagelens serve</title>\n",
    ` data-live="${attr(o.api)}" data-refresh="${o.refreshSeconds}"`,
    `<noscript>This page draws its charts with JavaScript; the data is at ${attr(o.api)}.</noscript>\n<script>${checkScript(script)}</script>\n`,
    "'self'",
  );
}
