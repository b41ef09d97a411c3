/** Renderers for the per-process report: pure `report -> text`. */
import type { PsReport, ProcessRow } from "../report/process-report.js";
import { renderCsv, renderTable, type Column } from "./table.js";
import { formatSize, type Unit } from "./units.js";

type Row = ProcessRow | { total: true; label: string; r: PsReport["totals"] };

function size(unit: Unit, get: (r: ProcessRow | PsReport["totals"]) => number) {
  return (row: Row): string => {
    if ("total" in row) return formatSize(get(row.r), unit);
    return row.state === "ok" ? formatSize(get(row), unit) : "-";
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

export function truncateCommand(command: string, wide: boolean): string {
  const oneLine = command.replaceAll("\n", " ");
  return wide || oneLine.length <= COMMAND_WIDTH ? oneLine : `${oneLine.slice(0, COMMAND_WIDTH - 1)}…`;
}

export function renderPsTable(report: PsReport, unit: Unit, wide = false): string {
  const anyMark = report.processes.some((r) => sourceMark(r) !== "");
  const cols: Column<Row>[] = [
    { header: "PID", value: (r) => ("total" in r ? "" : String(r.pid)) },
    { header: "USER", align: "left", value: (r) => ("total" in r ? r.label : r.user) },
    { header: "VSS", value: size(unit, (r) => r.vss) },
    { header: "RSS", value: size(unit, (r) => r.rss) },
    { header: "PSS", value: size(unit, (r) => r.pss) },
    { header: "USS", value: size(unit, (r) => r.uss) },
    { header: "SWAP", value: size(unit, (r) => r.swap) },
  ];
  if (anyMark) cols.push({ header: "SOURCE", align: "left", value: (r) => ("total" in r ? "" : sourceMark(r)) });
  cols.push({
    header: "COMMAND",
    align: "left",
    value: (r) => ("total" in r ? `${r.r.measured} processes${r.r.unreadable ? `, ${r.r.unreadable} unreadable` : ""}` : truncateCommand(r.command, wide)),
  });
  let out = renderTable(cols, report.processes, [{ total: true, label: "TOTAL", r: report.totals }]);
  const m = report.machine;
  if (m.distinctMapped !== null) {
    out += `\nDistinct physical memory mapped by processes: ${formatSize(m.distinctMapped, unit)}`;
    if (m.memTotal !== null) out += ` of ${formatSize(m.memTotal, unit)} MemTotal`;
    if (m.distinctHugetlb) out += `, plus ${formatSize(m.distinctHugetlb, unit)} of hugetlb pages`;
    out += "\n";
  }
  return out;
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

export function renderPsCsv(report: PsReport): string {
  return renderCsv(
    PS_CSV_COLUMNS,
    report.processes.map((r) => PS_CSV_COLUMNS.map((c) => (r as unknown as Record<string, string | number | null>)[c] ?? null)),
  );
}
