/**
 * Renderers for `pagelens flags`. The summary follows page-types' columns
 * (flags, page-count, MB, symbolic-flags, long-symbolic-flags, then a total
 * row) but is sorted, most pages first. Listings use page-types' own
 * tab-separated hex format, so scripts written for it keep working; they
 * are written in chunks through `write` because a whole-machine --list-each
 * has one line per PFN (millions) and must not be built as one string.
 */
import type { FlagsDescription, FlagsRange, FlagsReport, FlagsRow } from "../report/flags-report.js";
import { safeText } from "./safe-text.js";
import { renderTable, writeTable, writeTableCsv, type Column, type TableOptions } from "./table.js";

import { chunkedWriter, type Write } from "./chunked-writer.js";

const MIB = 1024 * 1024;

/** One line saying what was counted. */
export function describeScope(report: FlagsReport): string {
  const s = report.scope;
  const parts: string[] = [];
  if (s.kind === "process") parts.push(`process ${s.pid}${s.command ? ` (${safeText(s.command)})` : ""}: present and swapped-out pages`);
  else parts.push(`physical pages in ${s.source}${report.pfnEnd !== null ? ` (PFNs end at 0x${report.pfnEnd.toString(16)})` : ""}`);
  if (s.ranges) {
    const unit = s.kind === "process" ? "virtual pages" : "PFNs";
    parts.push(`${unit} ${s.ranges.map((r) => `0x${r.start.toString(16)}-${r.end === null ? "end" : `0x${r.end.toString(16)}`}`).join(", ")}`);
  }
  if (s.cgroup !== undefined) parts.push(`memory cgroup @${s.cgroup}${s.cgroupPath ? ` (${safeText(s.cgroupPath)})` : ""}`);
  if (report.filters.length > 0) parts.push(`bits ${report.filters.join(" and ")}`);
  parts.push(report.raw ? "raw flags" : "default view (--raw shows all bits)");
  return parts.join("; ");
}

function summaryColumns(): Column<FlagsRow>[] {
  return [
    { header: "flags", value: (r) => r.flags },
    { header: "page-count", value: (r) => String(r.pages) },
    // page-types' MB column: whole MiB, rounded down.
    { header: "MB", value: (r) => String(Math.floor(r.bytes / MIB)) },
    { header: "symbolic-flags", align: "left", value: (r) => r.symbolic },
    { header: "long-symbolic-flags", align: "left", cut: "end", value: (r) => r.names.join(",") },
  ];
}

export function writeFlagsSummary(report: FlagsReport, o: TableOptions, write: Write): void {
  const total: FlagsRow = { flags: "total", pages: report.total.pages, bytes: report.total.bytes, symbolic: "", names: [] };
  writeTable(write, summaryColumns(), report.rows, [total], o);
}

export function renderFlagsSummary(report: FlagsReport, o: TableOptions = {}): string {
  const parts: string[] = [];
  writeFlagsSummary(report, o, (t) => parts.push(t));
  return parts.join("");
}

/** The summary as CSV: flags (hex), pages, bytes, letters, names. */
export function writeFlagsCsv(report: FlagsReport, write: Write): void {
  const cols: Column<FlagsRow>[] = [
    { header: "flags", value: (r) => r.flags },
    { header: "pages", value: (r) => String(r.pages) },
    { header: "bytes", value: (r) => String(r.bytes) },
    { header: "symbolic", value: (r) => r.symbolic },
    { header: "names", value: (r) => r.names.join(" ") },
  ];
  writeTableCsv(write, cols, report.rows);
}

function hex(n: number): string {
  return n.toString(16);
}

/** page-types -l / -L listing: hex, tab-separated, a voffset column for processes. */
export function writeFlagsList(report: FlagsReport, write: Write): void {
  const list = report.list ?? [];
  const withV = report.scope.kind === "process";
  write((withV ? "voffset\t" : "") + (report.listEach ? "offset\tflags\n" : "offset\tlen\tflags\n"));
  const out = chunkedWriter(write);
  const push = (line: string): void => out.push(line + "\n");
  for (const r of list) {
    if (!report.listEach) {
      push(`${withV ? `${hex(r.voffset ?? 0)}\t` : ""}${hex(r.offset)}\t${hex(r.pages)}\t${r.symbolic}`);
      continue;
    }
    for (let k = 0; k < r.pages; k++) push(`${withV ? `${hex((r.voffset ?? 0) + k)}\t` : ""}${hex(r.offset + k)}\t${r.symbolic}`);
  }
  out.end();
}

/** The table view: header line, optional listing, then the summary (unless `summary` is false). */
export function writeFlagsTable(report: FlagsReport, write: Write, summary = true, o: TableOptions = {}): void {
  if (report.list) {
    writeFlagsList(report, write);
    if (!summary) return;
    write("\n");
  }
  write(describeScope(report) + "\n");
  writeFlagsSummary(report, o, write);
}

function rangeJson(r: FlagsRange): string {
  return JSON.stringify(r);
}

/**
 * One JSON document, sizes in bytes. The listing is written item by item
 * (one per line); with --list-each every page is its own item.
 */
export function writeFlagsJson(report: FlagsReport, write: Write): void {
  const { list, ...rest } = report;
  const head = JSON.stringify(rest, null, 2);
  if (list === null) {
    write(head.slice(0, -2) + ',\n  "list": null\n}\n');
    return;
  }
  write(head.slice(0, -2) + ',\n  "list": [');
  let first = true;
  const out = chunkedWriter(write);
  const push = (item: string): void => {
    out.push((first ? "\n    " : ",\n    ") + item);
    first = false;
  };
  for (const r of list) {
    if (!report.listEach) push(rangeJson(r));
    else
      for (let k = 0; k < r.pages; k++)
        push(rangeJson({ voffset: r.voffset === null ? null : r.voffset + k, offset: r.offset + k, pages: 1, flags: r.flags, symbolic: r.symbolic }));
  }
  out.end(first ? "]\n}\n" : "\n  ]\n}\n");
}

/** `--describe`: page-types' one line (hex, letters, names) as a small table. */
export function renderDescribe(d: FlagsDescription): string {
  const cols: Column<FlagsDescription>[] = [
    { header: "flags", value: (r) => r.flags },
    { header: "symbolic-flags", align: "left", value: (r) => r.symbolic },
    { header: "long-symbolic-flags", align: "left", value: (r) => r.names.join(",") },
  ];
  return renderTable(cols, [d]);
}

export function renderDescribeJson(d: FlagsDescription): string {
  return JSON.stringify(d, null, 2) + "\n";
}
