/** Renderers for the per-mapping report (`pagelens libs`): pure `report -> text`. */
import type { LibProcessRow, LibRow, LibsReport, LibSizes } from "../report/libs-report.js";
import type { Write } from "./chunked-writer.js";
import { truncateCommand } from "./ps-render.js";
import { safeText } from "./safe-text.js";
import { writeCsv, writeTable, type Column, type TableOptions } from "./table.js";
import type { Unit } from "./units.js";

/**
 * Processes listed under each name in the table by default: a library
 * mapped by 2,000 processes would otherwise print 2,000 rows (the table
 * took 132 s that way). The rest are counted in a row of their own;
 * `--limit 0` lists them all, and --json and --csv always have them all.
 */
export const DEFAULT_LIBS_LIMIT = 10;

type Row = { lib: LibRow } | { proc: LibProcessRow } | { more: number } | { total: LibsReport["totals"] };

export interface LibsRenderOptions extends TableOptions {
  /** One row per name, without the per-process rows. */
  readonly summary?: boolean;
  /** Do not cut long command lines. */
  readonly wide?: boolean;
  /** Processes listed per name; 0 for all (default DEFAULT_LIBS_LIMIT). */
  readonly limit?: number;
}

/**
 * librank's layout: one row per name with the sums, then, indented under
 * it, one row per process with that process's share (`summary` leaves
 * those out).
 */
export function writeLibsTable(report: LibsReport, o: LibsRenderOptions, write: Write): void {
  const sizesOf = (r: Row): LibSizes | undefined => ("lib" in r ? r.lib : "proc" in r ? r.proc : "total" in r ? r.total : undefined);
  const size = (get: (s: LibSizes) => number) => (r: Row) => {
    const s = sizesOf(r);
    return s === undefined ? undefined : get(s);
  };
  const limit = o.limit ?? DEFAULT_LIBS_LIMIT;
  const cols: Column<Row>[] = [
    { header: "RSS", size: size((s) => s.rss), drop: 2 },
    { header: "PSS", size: size((s) => s.pss) },
    { header: "USS", size: size((s) => s.uss) },
    { header: "SWAP", size: size((s) => s.swap), drop: 1 },
    // hugetlb pages are not in RSS (as in smaps): a column of their own when any are mapped.
    ...(report.totals.hugetlb > 0 ? [{ header: "HUGETLB", size: size((s) => s.hugetlb), drop: 3 }] : []),
    { header: "PROCS", drop: 4, value: (r) => ("lib" in r ? String(r.lib.count) : "total" in r ? String(r.total.processes) : "") },
    {
      header: o.summary ? "NAME" : "NAME / COMMAND [PID]",
      align: "left",
      cut: "middle",
      safe: true,
      value: (r) => {
        if ("lib" in r) return safeText(r.lib.name);
        if ("proc" in r) return `    ${truncateCommand(r.proc.command, o.wide === true)} [${r.proc.pid}]${r.proc.source === "smaps" ? " (smaps)" : ""}`;
        if ("more" in r) return `    ... and ${r.more} more process(es) (--limit 0 lists all)`;
        return `TOTAL: ${r.total.names} name(s)${report.libraries.length < r.total.names ? `, ${report.libraries.length} shown` : ""}`;
      },
    },
  ];
  const rows: Row[] = [];
  for (const lib of report.libraries) {
    rows.push({ lib });
    if (o.summary) continue;
    const n = limit > 0 ? Math.min(limit, lib.processes.length) : lib.processes.length;
    for (let i = 0; i < n; i++) rows.push({ proc: lib.processes[i]! });
    if (n < lib.processes.length) rows.push({ more: lib.processes.length - n });
  }
  writeTable(write, cols, rows, [{ total: report.totals }], o);
}

export function renderLibsTable(report: LibsReport, unit: Unit, summary = false, wide = false, limit?: number): string {
  const parts: string[] = [];
  writeLibsTable(report, { unit, summary, wide, limit }, (t) => parts.push(t));
  return parts.join("");
}

export const LIBS_CSV_COLUMNS = ["name", "kind", "pid", "user", "vmas", "source", "vss", "rss", "pss", "uss", "swap", "swapPss", "hugetlb", "hugetlbPss", "command"] as const;

/** One row per (name, process), sizes in bytes: every process, whatever the table's limit. */
export function writeLibsCsv(report: LibsReport, write: Write): void {
  function* rows(): Generator<(string | number | null)[]> {
    for (const l of report.libraries)
      for (const p of l.processes) yield [l.name, l.kind, p.pid, p.user, p.vmas, p.source, p.vss, p.rss, p.pss, p.uss, p.swap, p.swapPss, p.hugetlb, p.hugetlbPss, p.command];
  }
  writeCsv(write, LIBS_CSV_COLUMNS, rows());
}

export function renderLibsJson(report: LibsReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
