/**
 * Renderers for `pagelens file`. The table view is one row per file (with a
 * total for several), then, for a single file, page-types' flag summary and
 * the processes that map it. Listings (--list, --each) follow page-types -f -l
 * / -L: tab-separated hex (file page offset, map count, cgroup, PFN, length,
 * flags), written in chunks because --each on a large file has one line per
 * page and must not be built as one string.
 */
import type { FileEntry, FileProcess, FileRange, FileReport, FlagCombination } from "../report/file-report.js";
import { truncateCommand } from "./ps-render.js";
import { renderTable, type Column } from "./table.js";
import { formatSize, type Unit } from "./units.js";

import { chunkedWriter, type Write } from "./chunked-writer.js";

type Row = FileEntry | { total: FileReport["totals"]; shown: number };

function isTotal(r: Row): r is { total: FileReport["totals"]; shown: number } {
  return "total" in r;
}

function sizeOrDash(v: number | null, unit: Unit): string {
  return v === null ? "-" : formatSize(v, unit);
}

function percent(part: number | null, whole: number): string {
  if (part === null) return "-";
  if (whole === 0) return part === 0 ? "-" : "100%";
  return `${((100 * part) / whole).toFixed(1)}%`;
}

/** Cached bytes with a given flag, or "-" when flags are unknown. */
function flagBytes(e: { readonly flags: Readonly<Record<string, number>> | null }, name: string, unit: Unit): string {
  return e.flags === null ? "-" : formatSize(e.flags[name] ?? 0, unit);
}

export function renderFileSummary(report: FileReport, unit: Unit): string {
  const anyFlags = report.files.some((f) => f.flags !== null);
  const anyProcs = report.files.some((f) => f.processes !== null);
  const cols: Column<Row>[] = [
    { header: "SIZE", value: (r) => formatSize(isTotal(r) ? r.total.size : r.size, unit) },
    { header: "CACHED", value: (r) => (isTotal(r) ? formatSize(r.total.cached, unit) : sizeOrDash(r.cached, unit)) },
    // Of the file's pages (the last one partly beyond the end counts whole), as fincore and vmtouch do.
    { header: "%", value: (r) => (isTotal(r) ? percent(r.total.cached, roundUp(r.total.size, report.pageSize)) : percent(r.cached, r.pages * report.pageSize)) },
    { header: "DIRTY", value: (r) => (isTotal(r) ? formatSize(r.total.dirty, unit) : sizeOrDash(r.dirty, unit)) },
    { header: "WRITEBACK", value: (r) => (isTotal(r) ? formatSize(r.total.writeback, unit) : sizeOrDash(r.writeback, unit)) },
    { header: "EVICTED", value: (r) => (isTotal(r) ? formatSize(r.total.evicted, unit) : sizeOrDash(r.evicted, unit)) },
  ];
  if (anyFlags)
    cols.push(
      { header: "ACTIVE", value: (r) => flagBytes(isTotal(r) ? r.total : r, "active", unit) },
      { header: "REFERENCED", value: (r) => flagBytes(isTotal(r) ? r.total : r, "referenced", unit) },
      { header: "MAPPED", value: (r) => (isTotal(r) ? formatSize(r.total.mapped, unit) : sizeOrDash(r.mapped, unit)) },
    );
  if (anyProcs) cols.push({ header: "PROCS", value: (r) => (isTotal(r) ? "" : r.processes === null ? "-" : String(r.processes.length)) });
  cols.push({
    header: "FILE",
    align: "left",
    value: (r) => {
      if (!isTotal(r)) return r.path.replaceAll("\n", "\\n") + (r.note ? `  (${r.note})` : "");
      const t = r.total;
      const shown = r.shown < t.files ? `top ${r.shown} of ` : "";
      return `TOTAL: ${shown}${t.files} files${t.unknown > 0 ? `, ${t.unknown} unknown` : ""}`;
    },
  });
  const footer: Row[] = report.files.length > 1 || report.totals.files !== report.files.length ? [{ total: report.totals, shown: report.files.length }] : [];
  return renderTable(cols, report.files, footer);
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** page-types' summary: one row per exact flag combination of the cached pages, most pages first. */
export function renderCombinations(e: FileEntry, unit: Unit): string {
  const rows = e.combinations ?? [];
  const cols: Column<FlagCombination>[] = [
    { header: "flags", value: (r) => r.flags },
    { header: "page-count", value: (r) => String(r.pages) },
    { header: "size", value: (r) => formatSize(r.bytes, unit) },
    { header: "symbolic-flags", align: "left", value: (r) => r.letters },
    { header: "long-symbolic-flags", align: "left", value: (r) => r.names.join(",") },
  ];
  return renderTable(cols, rows);
}

export function renderProcesses(e: FileEntry, unit: Unit): string {
  const cols: Column<FileProcess>[] = [
    { header: "PID", value: (r) => String(r.pid) },
    { header: "USER", align: "left", value: (r) => r.user },
    { header: "MAPPINGS", value: (r) => String(r.mappings) },
    { header: "MAPPED", value: (r) => formatSize(r.mappedBytes, unit) },
    { header: "RESIDENT", value: (r) => sizeOrDash(r.resident, unit) },
    { header: "COMMAND", align: "left", value: (r) => truncateCommand(r.command, false) },
  ];
  return renderTable(cols, e.processes ?? []);
}

function hex(n: number): string {
  return n.toString(16);
}

/** page-types -f -l / -L: foffset map-cnt cgroup offset(PFN) len flags, hex, tab-separated. */
export function writeRanges(e: FileEntry, each: boolean, write: Write): void {
  const ranges = e.ranges ?? [];
  const withPfn = e.source === "pagemap";
  write(withPfn ? (each ? "foffset\tmap-cnt\tcgroup\toffset\tflags\n" : "foffset\tmap-cnt\tcgroup\toffset\tlen\tflags\n") : each ? "foffset\n" : "foffset\tlen\n");
  const out = chunkedWriter(write);
  const push = (text: string): void => out.push(text + "\n");
  const line = (r: FileRange, page: number, pfn: number | null, len: number | null): string => {
    if (!withPfn) return len === null ? hex(page) : `${hex(page)}\t${hex(len)}`;
    const known = r.letters !== null;
    const cols = [hex(page), known ? String(r.mapcount) : "-", r.cgroup === null ? "-" : `@${r.cgroup}`, pfn === null ? "-" : hex(pfn)];
    if (len !== null) cols.push(hex(len));
    cols.push(known ? r.letters! : "(not looked up)");
    return cols.join("\t");
  };
  for (const r of ranges) {
    if (!each) push(line(r, r.page, r.pfn, r.pages));
    else for (let k = 0; k < r.pages; k++) push(line(r, r.page + k, r.pfn === null ? null : r.pfn + k, null));
  }
  out.end();
}

/** The table view: summary; for one file its flag combinations and mappers; listings when asked. */
export function writeFileTable(report: FileReport, unit: Unit, write: Write): void {
  write(renderFileSummary(report, unit));
  const single = report.files.length === 1 && report.totals.files === 1;
  for (const e of report.files) {
    const name = e.path.replaceAll("\n", "\\n");
    if ((single || report.list !== null) && e.combinations !== null && e.combinations.length > 0) {
      write(`\n${name}: cached pages by flags${report.raw ? " (raw)" : ""}\n`);
      write(renderCombinations(e, unit));
    }
    if ((single || report.list !== null) && e.processes !== null && e.processes.length > 0) {
      write(`\n${name}: mapped by\n`);
      write(renderProcesses(e, unit));
    }
    if (report.list !== null && e.ranges !== undefined && e.ranges.length > 0) {
      write(`\n${name}: cached pages${e.source === "pagemap" ? " (foffset and offset = file page and PFN, in hex)" : " (file pages, in hex)"}\n`);
      writeRanges(e, report.list === "each", write);
    }
  }
}

/**
 * One JSON document, sizes in bytes. Files are written one by one and
 * ranges item by item, so a per-page listing of a large file is never one string.
 */
export function writeFileJson(report: FileReport, write: Write): void {
  const { files, ...rest } = report;
  const head = JSON.stringify(rest, null, 2);
  write(head.slice(0, -2) + ',\n  "files": [');
  files.forEach((f, i) => {
    const { ranges, ...fields } = f;
    const body = JSON.stringify(fields, null, 2).replaceAll("\n", "\n    ");
    write((i === 0 ? "\n    " : ",\n    ") + (ranges === undefined ? body : body.slice(0, -6) + ',\n      "ranges": ['));
    if (ranges === undefined) return;
    const out = chunkedWriter(write);
    ranges.forEach((r, k) => out.push((k === 0 ? "\n        " : ",\n        ") + JSON.stringify(r)));
    out.end(ranges.length === 0 ? "]\n    }" : "\n      ]\n    }");
  });
  write(files.length === 0 ? "]\n}\n" : "\n  ]\n}\n");
}
