/** Renderers for the sharing report (`pagelens shares`): pure `report -> text`. */
import type { GroupRow, PairRow, SharedMapping, ShareBytes, ShareProcessRow, SharesReport } from "../report/shares-report.js";
import { truncateCommand } from "./ps-render.js";
import { renderTable, type Column } from "./table.js";
import { formatSize, type Unit } from "./units.js";

export interface SharesRenderOptions {
  readonly unit: Unit;
  /** Also list the exact groups. */
  readonly groups?: boolean;
  /** Mappings named per pair or group (default 3). */
  readonly mappings?: number;
  /** Do not shorten long command lines. */
  readonly wide?: boolean;
}

/** Groups listed in the table (all are in --json): past the first few they are ever smaller slivers. */
export const GROUPS_SHOWN = 20;

/** A short label for a mapping: the file's base name (paths are in --json), "[anon 0x...]" for anonymous regions. */
export function mappingLabel(m: Pick<SharedMapping, "name" | "start">): string {
  if (m.start !== null) return `[anon 0x${m.start.toString(16)}]`;
  // Files deep in a tree are known by their base name; /dev/zero (shared anonymous memory), /SYSV... and /memfd:... keep theirs.
  const slash = m.name.lastIndexOf("/");
  if (slash > 0 && !m.name.startsWith("/dev/")) return m.name.slice(slash + 1);
  return m.name;
}

function topMappings(ms: readonly SharedMapping[], n: number, unit: Unit): string {
  const shown = ms.slice(0, n).map((m) => `${mappingLabel(m)} ${formatSize(m.bytes, unit)}`);
  if (ms.length > n) shown.push(`+${ms.length - n} more`);
  return shown.join(", ");
}

/** Columns for the kinds: file, shmem and cow always; ksm and hugetlb only when some row has them. */
function kindColumns<R extends ShareBytes>(rows: readonly R[], unit: Unit): Column<R>[] {
  const cols: Column<R>[] = [
    { header: "SHARED", value: (r) => formatSize(r.bytes, unit) },
    { header: "FILE", value: (r) => formatSize(r.file, unit) },
    { header: "SHMEM", value: (r) => formatSize(r.shmem, unit) },
    { header: "COW", value: (r) => formatSize(r.cow, unit) },
  ];
  if (rows.some((r) => r.ksm > 0)) cols.push({ header: "KSM", value: (r) => formatSize(r.ksm, unit) });
  if (rows.some((r) => r.hugetlb > 0)) cols.push({ header: "HUGETLB", value: (r) => formatSize(r.hugetlb, unit) });
  return cols;
}

export function renderSharesTable(report: SharesReport, o: SharesRenderOptions): string {
  const unit = o.unit;
  const nMap = o.mappings ?? 3;
  const sz = (n: number): string => formatSize(n, unit);
  let out = "";

  const procCols: Column<ShareProcessRow>[] = [
    { header: "PID", value: (r) => String(r.pid) },
    { header: "USER", align: "left", value: (r) => r.user },
    { header: "RSS", value: (r) => sz(r.rss) },
    { header: "PSS", value: (r) => sz(r.pss) },
    { header: "USS", value: (r) => sz(r.uss) },
    { header: "SHARED", value: (r) => sz(r.shared) },
    { header: "W/SELECTED", value: (r) => sz(r.withSelected) },
    { header: "W/OTHERS", value: (r) => sz(r.withOthers) },
    { header: "COMMAND", align: "left", value: (r) => truncateCommand(r.command, o.wide === true) },
  ];
  out += `Processes (${report.processes.length} selected of ${report.scanned} scanned):\n`;
  out += renderTable(procCols, report.processes);

  out += `\nPairs sharing pages, most first:\n`;
  if (report.pairs.length === 0) out += "  (no two selected processes map a common page)\n";
  else {
    const cols: Column<PairRow>[] = [
      { header: "PID", value: (r) => String(r.a.pid) },
      { header: "PID", value: (r) => String(r.b.pid) },
      ...kindColumns(report.pairs, unit),
      { header: "THROUGH", align: "left", value: (r) => topMappings(r.mappings, nMap, unit) },
    ];
    out += renderTable(cols, report.pairs);
  }

  if (o.groups) {
    out += `\nGroups: pages mapped by exactly these selected processes, most first:\n`;
    if (report.groups.length === 0) out += "  (none)\n";
    else {
      const cols: Column<GroupRow>[] = [
        ...kindColumns(report.groups, unit),
        { header: "PIDS", align: "left", value: (r) => r.processes.map((p) => p.pid).join(",") },
        { header: "THROUGH", align: "left", value: (r) => topMappings(r.mappings, nMap, unit) },
      ];
      out += renderTable(cols, report.groups.slice(0, GROUPS_SHOWN));
      if (report.groups.length > GROUPS_SHOWN) out += `(${report.groups.length - GROUPS_SHOWN} smaller groups not shown; all are in --json)\n`;
    }
  }

  const w = report.withinSelection;
  out += `\nShared within the selection (distinct pages): ${sz(w.bytes)}: file ${sz(w.file)}, shmem ${sz(w.shmem)}, cow ${sz(w.cow)}`;
  if (w.ksm > 0) out += `, ksm ${sz(w.ksm)}`;
  if (w.hugetlb > 0) out += `, hugetlb ${sz(w.hugetlb)}`;
  out += "\n";
  return out;
}

export function renderSharesJson(report: SharesReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
