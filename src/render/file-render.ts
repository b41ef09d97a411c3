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
import { safeText } from "./safe-text.js";
import { writeTable, writeTableCsv, type Column, type TableOptions } from "./table.js";
import type { Unit } from "./units.js";

import { chunkedWriter, type Write } from "./chunked-writer.js";

type Row = FileEntry | { total: FileReport["totals"]; shown: number };

function isTotal(r: Row): r is { total: FileReport["totals"]; shown: number } {
  return "total" in r;
}

function percent(part: number | null, whole: number): string {
  if (part === null) return "-";
  if (whole === 0) return part === 0 ? "-" : "100%";
  return `${((100 * part) / whole).toFixed(1)}%`;
}

/** Cached bytes with a given flag, or null ("-") when flags are unknown. */
function flagBytes(e: { readonly flags: Readonly<Record<string, number>> | null }, name: string): number | null {
  return e.flags === null ? null : (e.flags[name] ?? 0);
}

function summaryColumns(report: FileReport): Column<Row>[] {
  const anyFlags = report.files.some((f) => f.flags !== null);
  const anyProcs = report.files.some((f) => f.processes !== null);
  const cols: Column<Row>[] = [
    { header: "SIZE", size: (r) => (isTotal(r) ? r.total.size : r.size), drop: 2 },
    { header: "CACHED", size: (r) => (isTotal(r) ? r.total.cached : r.cached) },
    // Of the file's pages (the last one partly beyond the end counts whole), as fincore and vmtouch do.
    { header: "%", value: (r) => (isTotal(r) ? percent(r.total.cached, roundUp(r.total.size, report.pageSize)) : percent(r.cached, r.pages * report.pageSize)) },
    { header: "DIRTY", size: (r) => (isTotal(r) ? r.total.dirty : r.dirty), drop: 3 },
    { header: "WRITEBACK", size: (r) => (isTotal(r) ? r.total.writeback : r.writeback), drop: 5 },
    { header: "EVICTED", size: (r) => (isTotal(r) ? r.total.evicted : r.evicted), drop: 4 },
  ];
  if (anyFlags)
    cols.push(
      { header: "ACTIVE", size: (r) => flagBytes(isTotal(r) ? r.total : r, "active"), drop: 6 },
      { header: "REFERENCED", size: (r) => flagBytes(isTotal(r) ? r.total : r, "referenced"), drop: 6 },
      { header: "MAPPED", size: (r) => (isTotal(r) ? r.total.mapped : r.mapped), drop: 1 },
    );
  if (anyProcs) cols.push({ header: "PROCS", drop: 1, value: (r) => (isTotal(r) ? "" : r.processes === null ? "-" : String(r.processes.length)) });
  cols.push({
    header: "FILE",
    align: "left",
    cut: "middle",
    value: (r) => {
      if (!isTotal(r)) return r.path + (r.note ? `  (${r.note})` : "");
      const t = r.total;
      const shown = r.shown < t.files ? `top ${r.shown} of ` : "";
      return `TOTAL: ${shown}${t.files} files${t.unknown > 0 ? `, ${t.unknown} unknown` : ""}`;
    },
  });
  return cols;
}

export function writeFileSummary(report: FileReport, o: TableOptions, write: Write): void {
  const footer: Row[] = report.files.length > 1 || report.totals.files !== report.files.length ? [{ total: report.totals, shown: report.files.length }] : [];
  writeTable(write, summaryColumns(report), report.files, footer, o);
}

export function renderFileSummary(report: FileReport, unit: Unit): string {
  const parts: string[] = [];
  writeFileSummary(report, { unit }, (t) => parts.push(t));
  return parts.join("");
}

/** One row per file, sizes in bytes, "-" figures empty. */
export function writeFileCsv(report: FileReport, write: Write): void {
  writeTableCsv(write, summaryColumns(report), report.files);
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** page-types' summary: one row per exact flag combination of the cached pages, most pages first. */
export function writeCombinations(e: FileEntry, o: TableOptions, write: Write): void {
  const rows = e.combinations ?? [];
  const cols: Column<FlagCombination>[] = [
    { header: "flags", value: (r) => r.flags },
    { header: "page-count", value: (r) => String(r.pages) },
    { header: "size", size: (r) => r.bytes },
    { header: "symbolic-flags", align: "left", value: (r) => r.letters },
    { header: "long-symbolic-flags", align: "left", cut: "end", value: (r) => r.names.join(",") },
  ];
  writeTable(write, cols, rows, [], o);
}

export function writeProcesses(e: FileEntry, o: TableOptions & { readonly wide?: boolean }, write: Write): void {
  const cols: Column<FileProcess>[] = [
    { header: "PID", value: (r) => String(r.pid) },
    { header: "USER", align: "left", drop: 2, value: (r) => r.user },
    { header: "MAPPINGS", drop: 1, value: (r) => String(r.mappings) },
    { header: "MAPPED", size: (r) => r.mappedBytes },
    { header: "RESIDENT", size: (r) => r.resident },
    { header: "COMMAND", align: "left", cut: "end", safe: true, value: (r) => truncateCommand(r.command, o.wide === true) },
  ];
  writeTable(write, cols, e.processes ?? [], [], o);
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
export function writeFileTable(report: FileReport, o: TableOptions & { readonly wide?: boolean }, write: Write): void {
  writeFileSummary(report, o, write);
  const single = report.files.length === 1 && report.totals.files === 1;
  for (const e of report.files) {
    const name = safeText(e.path);
    if ((single || report.list !== null) && e.combinations !== null && e.combinations.length > 0) {
      write(`\n${name}: cached pages by flags${report.raw ? " (raw)" : ""}\n`);
      writeCombinations(e, o, write);
    }
    if ((single || report.list !== null) && e.processes !== null && e.processes.length > 0) {
      write(`\n${name}: mapped by\n`);
      writeProcesses(e, o, write);
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
