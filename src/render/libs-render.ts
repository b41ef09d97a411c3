/** Renderers for the per-mapping report (`pagelens libs`): pure `report -> text`. */
import type { LibProcessRow, LibRow, LibsReport, LibSizes } from "../report/libs-report.js";
import { truncateCommand } from "./ps-render.js";
import { renderTable, type Column } from "./table.js";
import { formatSize, type Unit } from "./units.js";

type Row = { lib: LibRow } | { proc: LibProcessRow } | { total: LibsReport["totals"] };

const sizesOf = (r: Row): LibSizes => ("lib" in r ? r.lib : "proc" in r ? r.proc : r.total);

/**
 * librank's layout: one row per name with the sums, then, indented under
 * it, one row per process with that process's share (`summary` leaves
 * those out).
 */
export function renderLibsTable(report: LibsReport, unit: Unit, summary = false, wide = false): string {
  const size = (get: (s: LibSizes) => number) => (r: Row) => formatSize(get(sizesOf(r)), unit);
  const cols: Column<Row>[] = [
    { header: "RSS", value: size((s) => s.rss) },
    { header: "PSS", value: size((s) => s.pss) },
    { header: "USS", value: size((s) => s.uss) },
    { header: "SWAP", value: size((s) => s.swap) },
    // hugetlb pages are not in RSS (as in smaps): a column of their own when any are mapped.
    ...(report.totals.hugetlb > 0 ? [{ header: "HUGETLB", value: size((s) => s.hugetlb) }] : []),
    { header: "PROCS", value: (r) => ("lib" in r ? String(r.lib.count) : "total" in r ? String(r.total.processes) : "") },
    {
      header: summary ? "NAME" : "NAME / COMMAND [PID]",
      align: "left",
      value: (r) => {
        if ("lib" in r) return r.lib.name;
        if ("proc" in r) return `    ${truncateCommand(r.proc.command, wide)} [${r.proc.pid}]${r.proc.source === "smaps" ? " (smaps)" : ""}`;
        return `TOTAL: ${r.total.names} name(s)${report.libraries.length < r.total.names ? `, ${report.libraries.length} shown` : ""}`;
      },
    },
  ];
  const rows: Row[] = [];
  for (const lib of report.libraries) {
    rows.push({ lib });
    if (!summary) for (const proc of lib.processes) rows.push({ proc });
  }
  const out = renderTable(cols, rows, [{ total: report.totals }]);
  return out;
}

export function renderLibsJson(report: LibsReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
