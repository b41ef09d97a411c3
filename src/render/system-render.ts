/**
 * Renderers for `pagelens system`: the reconciliation as an indented table
 * whose top-level rows add up to the MemTotal footer, then the census by
 * class. Pure: report in, text out.
 */
import type { CensusClassRow, SystemLine, SystemReport } from "../report/system-report.js";
import type { Write } from "./chunked-writer.js";
import { renderTable, writeTableCsv, type Column, type TableOptions } from "./table.js";
import { formatSize, type Unit } from "./units.js";

interface Row {
  readonly depth: number;
  readonly line: SystemLine;
}

function flatten(lines: readonly SystemLine[], depth: number, out: Row[]): Row[] {
  for (const l of lines) {
    out.push({ depth, line: l });
    flatten(l.parts, depth + 1, out);
  }
  return out;
}

/** "meminfo: PageTables"; the remainder says how it is made. */
function sourceText(l: SystemLine): string {
  return l.source === "remainder" ? l.how : `${l.source}: ${l.how}`;
}

/** A share of MemTotal, one decimal; "-" when there is no MemTotal to divide by. */
function percent(bytes: number, total: number): string {
  return total > 0 ? `${((100 * bytes) / total).toFixed(1)}%` : "-";
}

function systemColumns(report: SystemReport, unit: Unit): Column<Row>[] {
  const total = report.memTotal;
  return [
    { header: "", align: "left", value: (r) => `${"  ".repeat(r.depth)}${r.line.label}` },
    { header: "SIZE", size: (r) => r.line.bytes },
    { header: "%", value: (r) => percent(r.line.bytes, total) },
    { header: "SOURCE", align: "left", cut: "end", value: (r) => sourceText(r.line) },
    { header: "CROSS-CHECK", align: "left", drop: 1, cut: "end", value: (r) => r.line.checks.map((c) => `${c.source} ${formatSize(c.bytes, unit)}`).join("; ") },
  ];
}

export function renderSystemTable(report: SystemReport, unit: Unit, o: TableOptions = {}): string {
  const rows = flatten(report.lines, 0, []);
  const footer: Row = { depth: 0, line: { id: "memTotal", label: "MemTotal", bytes: report.memTotal, source: "meminfo", how: "MemTotal = the sum of the unindented lines", checks: [], parts: [] } };
  let out = renderTable(systemColumns(report, unit), rows, [footer], { ...o, unit });
  if (report.census) out += "\n" + renderCensusClasses(report, unit, o);
  return out;
}

/** The reconciliation as CSV: one row per line (id, depth, label, bytes, source, how). */
export function writeSystemCsv(report: SystemReport, write: Write): void {
  const cols: Column<Row>[] = [
    { header: "id", value: (r) => r.line.id },
    { header: "depth", value: (r) => String(r.depth) },
    { header: "label", value: (r) => r.line.label },
    { header: "bytes", size: (r) => r.line.bytes },
    { header: "source", value: (r) => r.line.source },
    { header: "how", value: (r) => r.line.how },
  ];
  writeTableCsv(write, cols, flatten(report.lines, 0, []));
}

/** The census by class, non-empty classes only (JSON has them all). */
export function renderCensusClasses(report: SystemReport, unit: Unit, o: TableOptions = {}): string {
  const c = report.census;
  if (!c) return "";
  const cols: Column<CensusClassRow>[] = [
    { header: "PAGE STATE (kpageflags)", align: "left", value: (r) => r.label },
    { header: "SIZE", size: (r) => r.bytes },
    { header: "PAGES", value: (r) => String(r.pages) },
  ];
  const rows = c.classes.filter((r) => r.pages > 0);
  const head = `Every physical page by its flags: ${c.pfns} PFNs in ${c.source}, ${formatSize(c.bytes, unit)}, memory outside MemTotal included:\n`;
  return head + renderTable(cols, rows, [{ id: "other", label: "all PFNs", pages: c.pfns, bytes: c.bytes }], { ...o, unit });
}

export function renderSystemJson(report: SystemReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
