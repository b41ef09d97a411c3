/** Renderers for the page-by-page report. */
import type { PageRun, PagesReport } from "../report/pages-report.js";
import { renderTable, type Column } from "./table.js";

export function renderPagesTable(report: PagesReport): string {
  const cols: Column<PageRun>[] = [
    { header: "ADDRESS", align: "left", value: (r) => r.address },
    { header: "PAGES", value: (r) => r.pages.toString(16) },
    {
      header: "PFN",
      align: "left",
      value: (r) =>
        r.pfn !== null ? r.pfn.toString(16) : r.kind === "swap" ? `swap ${r.swapType}:${(r.swapOffset ?? 0).toString(16)}` : r.kind === "marker" ? (r.guard ? "guard" : "marker") : r.kind,
    },
    { header: "MAPCNT", value: (r) => (r.mapcount === null ? "-" : String(r.mapcount)) },
    { header: "CGROUP", value: (r) => (r.cgroup === null ? "-" : `@${r.cgroup}`) },
    { header: "PM", align: "left", value: (r) => `${r.file ? "F" : "_"}${r.exclusive ? "1" : "_"}${r.softDirty ? "f" : "_"}${r.uffdWp ? "w" : "_"}` },
    { header: "FLAGS", align: "left", value: (r) => r.letters ?? "-" },
    { header: "MAPPING", align: "left", value: (r) => r.mapping.replaceAll("\n", "\\n") },
  ];
  return `${report.pid} ${report.command}: addresses and PFNs in hex, PAGES in hex (page-types style)\n` + renderTable(cols, report.runs);
}

export function renderPagesJson(report: PagesReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
