/** Renderers for the page-by-page report. */
import type { PageRun, PagesReport } from "../report/pages-report.js";
import { chunkedWriter, type Write } from "./chunked-writer.js";
import { safeText } from "./safe-text.js";
import { writeCsv, writeTable, type Column, type TableOptions } from "./table.js";

function pfnText(r: PageRun): string {
  return r.pfn !== null ? r.pfn.toString(16) : r.kind === "swap" ? `swap ${r.swapType}:${(r.swapOffset ?? 0).toString(16)}` : r.kind === "marker" ? (r.guard ? "guard" : "marker") : r.kind;
}

function pmBits(r: PageRun): string {
  return `${r.file ? "F" : "_"}${r.exclusive ? "1" : "_"}${r.softDirty ? "f" : "_"}${r.uffdWp ? "w" : "_"}`;
}

export function writePagesTable(report: PagesReport, o: TableOptions, write: Write): void {
  const cols: Column<PageRun>[] = [
    { header: "ADDRESS", align: "left", value: (r) => r.address },
    { header: "PAGES", value: (r) => r.pages.toString(16) },
    { header: "PFN", align: "left", value: pfnText },
    { header: "MAPCNT", value: (r) => (r.mapcount === null ? "-" : String(r.mapcount)) },
    { header: "CGROUP", drop: 2, value: (r) => (r.cgroup === null ? "-" : `@${r.cgroup}`) },
    { header: "PM", align: "left", drop: 1, value: pmBits },
    { header: "FLAGS", align: "left", cut: "end", value: (r) => r.letters ?? "-" },
    { header: "MAPPING", align: "left", cut: "middle", value: (r) => r.mapping },
  ];
  write(`${report.pid} ${safeText(report.command)}: addresses and PFNs in hex, PAGES in hex (page-types style)\n`);
  writeTable(write, cols, report.runs, [], o);
}

export function renderPagesTable(report: PagesReport, o: TableOptions = {}): string {
  const parts: string[] = [];
  writePagesTable(report, o, (t) => parts.push(t));
  return parts.join("");
}

export const PAGES_CSV_COLUMNS = ["address", "pages", "kind", "pfn", "swapType", "swapOffset", "mapcount", "cgroup", "flags", "letters", "file", "exclusive", "softDirty", "uffdWp", "guard", "mapping"] as const;

/** One row per run (or page with --each); numbers in decimal, kpageflags in hex as in --json. */
export function writePagesCsv(report: PagesReport, write: Write): void {
  writeCsv(
    write,
    PAGES_CSV_COLUMNS,
    report.runs.map((r) => PAGES_CSV_COLUMNS.map((c) => (r as unknown as Record<string, string | number | boolean | null>)[c] ?? null)),
  );
}

/**
 * One JSON document; the runs are written one per line in chunks. With
 * --each a process of a few GiB has a million of them: as one string the
 * document passed V8's limit ("Invalid string length", seen at 4 GiB).
 */
export function writePagesJson(report: PagesReport, write: Write): void {
  const { runs, ...rest } = report;
  const head = JSON.stringify(rest, null, 2);
  write(head.slice(0, -2) + ',\n  "runs": [');
  const out = chunkedWriter(write);
  for (let i = 0; i < runs.length; i++) out.push((i === 0 ? "\n    " : ",\n    ") + JSON.stringify(runs[i]));
  out.end(runs.length === 0 ? "]\n}\n" : "\n  ]\n}\n");
}

export function renderPagesJson(report: PagesReport): string {
  const parts: string[] = [];
  writePagesJson(report, (t) => parts.push(t));
  return parts.join("");
}
