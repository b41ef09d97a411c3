/** Renderers for the per-process report: pure `report -> text`. */
import type { PsReport, ProcessRow } from "../report/process-report.js";
import type { Write } from "./chunked-writer.js";
import { safeText } from "./safe-text.js";
import { renderCsv, writeCsv, writeTable, type Column, type TableOptions } from "./table.js";
import { formatSize, type Unit } from "./units.js";

type Row = ProcessRow | { total: true; label: string; r: PsReport["totals"] };

function size(get: (r: ProcessRow | PsReport["totals"]) => number) {
  return (row: Row): number | null => {
    if ("total" in row) return get(row.r);
    return row.state === "ok" ? get(row) : null;
  };
}

/** Marks rows whose numbers are the kernel's smaps_rollup totals rather than page-level. */
function sourceMark(r: ProcessRow): string {
  if (r.state === "unreadable") return "unreadable";
  if (r.state === "no-mm") return "no-mm";
  if (r.state === "bad-input") return "bad input";
  return r.source === "pagemap" ? "" : "rollup";
}

/** Commands longer than this are cut in tables (not in JSON or CSV) unless `wide`. */
export const COMMAND_WIDTH = 80;

/** A command line made safe for the terminal (see safeText), cut at COMMAND_WIDTH columns unless `wide`. */
export function truncateCommand(command: string, wide: boolean): string {
  const safe = safeText(command);
  return wide || safe.length <= COMMAND_WIDTH ? safe : `${safe.slice(0, COMMAND_WIDTH - 1)}…`;
}

/** The table and its footer lines; `o.width` fits it to a terminal. */
export function writePsTable(report: PsReport, o: TableOptions & { readonly wide?: boolean }, write: Write): void {
  const unit = o.unit ?? "human";
  const wide = o.wide === true;
  const anyMark = report.processes.some((r) => sourceMark(r) !== "");
  // drop: left out first on a narrow terminal (VSS says least about memory use).
  const cols: Column<Row>[] = [
    { header: "PID", value: (r) => ("total" in r ? "" : String(r.pid)) },
    { header: "USER", align: "left", drop: 3, value: (r) => ("total" in r ? r.label : r.user) },
    { header: "VSS", size: size((r) => r.vss), drop: 5 },
    { header: "RSS", size: size((r) => r.rss), drop: 2 },
    { header: "PSS", size: size((r) => r.pss) },
    { header: "USS", size: size((r) => r.uss) },
    { header: "SWAP", size: size((r) => r.swap), drop: 1 },
  ];
  if (anyMark) cols.push({ header: "SOURCE", align: "left", drop: 4, value: (r) => ("total" in r ? "" : sourceMark(r)) });
  cols.push({
    header: "COMMAND",
    align: "left",
    cut: "end",
    safe: true,
    value: (r) => ("total" in r ? `${r.r.measured} processes${r.r.unreadable ? `, ${r.r.unreadable} unreadable` : ""}` : truncateCommand(r.command, wide)),
  });
  writeTable(write, cols, report.processes, [{ total: true, label: "TOTAL", r: report.totals }], o);
  let out = "";
  const m = report.machine;
  if (m.distinctMapped !== null) {
    out += `\nDistinct physical memory mapped by processes: ${formatSize(m.distinctMapped, unit)}`;
    if (m.memTotal !== null) out += ` of ${formatSize(m.memTotal, unit)} MemTotal`;
    if (m.distinctHugetlb) out += `, plus ${formatSize(m.distinctHugetlb, unit)} of hugetlb pages`;
    out += "\n";
  }
  if (out !== "") write(out);
}

export function renderPsTable(report: PsReport, unit: Unit, wide = false): string {
  const parts: string[] = [];
  writePsTable(report, { unit, wide }, (t) => parts.push(t));
  return parts.join("");
}

export function renderPsJson(report: PsReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}

export const PS_CSV_COLUMNS = [
  "pid",
  "ppid",
  "user",
  "uid",
  "state",
  "source",
  "vss",
  "rss",
  "pss",
  "uss",
  "shared",
  "swap",
  "swapPss",
  "anon",
  "file",
  "shmem",
  "pssAnon",
  "pssFile",
  "pssShmem",
  "ksm",
  "thp",
  "hugetlbPrivate",
  "hugetlbShared",
  "zeroPage",
  "command",
] as const;

export function writePsCsv(report: PsReport, write: Write): void {
  writeCsv(
    write,
    PS_CSV_COLUMNS,
    report.processes.map((r) => PS_CSV_COLUMNS.map((c) => (r as unknown as Record<string, string | number | null>)[c] ?? null)),
  );
}

export function renderPsCsv(report: PsReport): string {
  return renderCsv(
    PS_CSV_COLUMNS,
    report.processes.map((r) => PS_CSV_COLUMNS.map((c) => (r as unknown as Record<string, string | number | null>)[c] ?? null)),
  );
}
