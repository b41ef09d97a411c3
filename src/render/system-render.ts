/**
 * Renderers for `pagelens system`: the reconciliation as an indented table
 * whose top-level rows add up to the MemTotal footer, then the census by
 * class. Pure: report in, text out.
 */
import type { CensusClassRow, SystemLine, SystemReport } from "../report/system-report.js";
import { renderTable, type Column } from "./table.js";
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

export function renderSystemTable(report: SystemReport, unit: Unit): string {
  const total = report.memTotal;
  const cols: Column<Row>[] = [
    { header: "", align: "left", value: (r) => `${"  ".repeat(r.depth)}${r.line.label}` },
    { header: "SIZE", value: (r) => formatSize(r.line.bytes, unit) },
    { header: "%", value: (r) => percent(r.line.bytes, total) },
    { header: "SOURCE", align: "left", value: (r) => sourceText(r.line) },
    { header: "CROSS-CHECK", align: "left", value: (r) => r.line.checks.map((c) => `${c.source} ${formatSize(c.bytes, unit)}`).join("; ") },
  ];
  const rows = flatten(report.lines, 0, []);
  const footer: Row = { depth: 0, line: { id: "memTotal", label: "MemTotal", bytes: total, source: "meminfo", how: "MemTotal = the sum of the unindented lines", checks: [], parts: [] } };
  let out = renderTable(cols, rows, [footer]);
  if (report.census) out += "\n" + renderCensusClasses(report, unit);
  return out;
}

/** The census by class, non-empty classes only (JSON has them all). */
export function renderCensusClasses(report: SystemReport, unit: Unit): string {
  const c = report.census;
  if (!c) return "";
  const cols: Column<CensusClassRow>[] = [
    { header: "PAGE STATE (kpageflags)", align: "left", value: (r) => r.label },
    { header: "SIZE", value: (r) => formatSize(r.bytes, unit) },
    { header: "PAGES", value: (r) => String(r.pages) },
  ];
  const rows = c.classes.filter((r) => r.pages > 0);
  const head = `Every physical page by its flags: ${c.pfns} PFNs in ${c.source}, ${formatSize(c.bytes, unit)}, memory outside MemTotal included:\n`;
  return head + renderTable(cols, rows, [{ id: "other", label: "all PFNs", pages: c.pfns, bytes: c.bytes }]);
}

export function renderSystemJson(report: SystemReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
