/** Renderers for the sharing report (`pagelens shares`): pure `report -> text`. */
import type { GroupRow, PairRow, SharedMapping, ShareBytes, ShareProcessRow, SharesReport } from "../report/shares-report.js";
import { chunkedWriter, type Write } from "./chunked-writer.js";
import { truncateCommand } from "./ps-render.js";
import { safeText } from "./safe-text.js";
import { writeCsv, writeTable, type Column, type TableOptions } from "./table.js";
import { formatSize, type Unit } from "./units.js";

export interface SharesRenderOptions extends TableOptions {
  readonly unit: Unit;
  /** Also list the exact groups. */
  readonly groups?: boolean;
  /** Mappings named per pair or group (default 3). */
  readonly mappings?: number;
  /** Do not shorten long command lines. */
  readonly wide?: boolean;
}

/** A short label for a mapping: the file's base name (paths are in --json), "[anon 0x...]" for anonymous regions. */
export function mappingLabel(m: Pick<SharedMapping, "name" | "start">): string {
  if (m.start !== null) return `[anon 0x${m.start.toString(16)}]`;
  // Files deep in a tree are known by their base name; /dev/zero (shared anonymous memory), /SYSV... and /memfd:... keep theirs.
  const slash = m.name.lastIndexOf("/");
  if (slash > 0 && !m.name.startsWith("/dev/")) return m.name.slice(slash + 1);
  return m.name;
}

/** Safe for the terminal (mapping names are file names anyone can choose). */
function topMappings(ms: readonly SharedMapping[], n: number, unit: Unit): string {
  const shown = ms.slice(0, n).map((m) => `${safeText(mappingLabel(m))} ${formatSize(m.bytes, unit)}`);
  if (ms.length > n) shown.push(`+${ms.length - n} more`);
  return shown.join(", ");
}

/** Columns for the kinds: file, shmem and cow always; ksm and hugetlb only when some row has them. */
function kindColumns<R extends ShareBytes>(rows: readonly R[]): Column<R>[] {
  const cols: Column<R>[] = [
    { header: "SHARED", size: (r) => r.bytes },
    { header: "FILE", size: (r) => r.file, drop: 2 },
    { header: "SHMEM", size: (r) => r.shmem, drop: 2 },
    { header: "COW", size: (r) => r.cow, drop: 2 },
  ];
  if (rows.some((r) => r.ksm > 0)) cols.push({ header: "KSM", size: (r) => r.ksm, drop: 2 });
  if (rows.some((r) => r.hugetlb > 0)) cols.push({ header: "HUGETLB", size: (r) => r.hugetlb, drop: 2 });
  return cols;
}

export function writeSharesTable(report: SharesReport, o: SharesRenderOptions, write: Write): void {
  const unit = o.unit;
  const nMap = o.mappings ?? 3;
  const sz = (n: number): string => formatSize(n, unit);

  const procCols: Column<ShareProcessRow>[] = [
    { header: "PID", value: (r) => String(r.pid) },
    { header: "USER", align: "left", drop: 3, value: (r) => r.user },
    { header: "RSS", size: (r) => r.rss, drop: 2 },
    { header: "PSS", size: (r) => r.pss },
    { header: "USS", size: (r) => r.uss },
    { header: "SHARED", size: (r) => r.shared, drop: 1 },
    { header: "W/SELECTED", size: (r) => r.withSelected },
    { header: "W/OTHERS", size: (r) => r.withOthers },
    { header: "COMMAND", align: "left", cut: "end", safe: true, value: (r) => truncateCommand(r.command, o.wide === true) },
  ];
  write(`Processes (${report.processes.length} selected of ${report.scanned} scanned):\n`);
  writeTable(write, procCols, report.processes, [], o);

  const more = (shown: number, all: number, what: string): string =>
    shown < all ? `(${all - shown} more ${what} not shown: --limit N shows the first N, --limit 0 all)\n` : "";
  write(`\nPairs sharing pages, most first${report.pairs.length < report.pairCount ? ` (the first ${report.pairs.length} of ${report.pairCount})` : ""}:\n`);
  if (report.pairs.length === 0) write("  (no two selected processes map a common page)\n");
  else {
    const cols: Column<PairRow>[] = [
      { header: "PID", value: (r) => String(r.a.pid) },
      { header: "PID", value: (r) => String(r.b.pid) },
      ...kindColumns(report.pairs),
      { header: "THROUGH", align: "left", cut: "end", safe: true, value: (r) => topMappings(r.mappings, nMap, unit) },
    ];
    writeTable(write, cols, report.pairs, [], o);
    write(more(report.pairs.length, report.pairCount, "pairs"));
  }

  if (o.groups) {
    write(`\nGroups: pages mapped by exactly these selected processes, most first${report.groups.length < report.groupCount ? ` (the first ${report.groups.length} of ${report.groupCount})` : ""}:\n`);
    if (report.groups.length === 0) write("  (none)\n");
    else {
      const cols: Column<GroupRow>[] = [
        ...kindColumns(report.groups),
        { header: "PIDS", align: "left", cut: "end", value: (r) => r.processes.map((p) => p.pid).join(",") },
        { header: "THROUGH", align: "left", cut: "end", safe: true, value: (r) => topMappings(r.mappings, nMap, unit) },
      ];
      writeTable(write, cols, report.groups, [], o);
      write(more(report.groups.length, report.groupCount, "groups"));
    }
  }

  const w = report.withinSelection;
  let out = `\nShared within the selection (distinct pages): ${sz(w.bytes)}: file ${sz(w.file)}, shmem ${sz(w.shmem)}, cow ${sz(w.cow)}`;
  if (w.ksm > 0) out += `, ksm ${sz(w.ksm)}`;
  if (w.hugetlb > 0) out += `, hugetlb ${sz(w.hugetlb)}`;
  out += "\n";
  write(out);
}

export function renderSharesTable(report: SharesReport, o: SharesRenderOptions): string {
  const parts: string[] = [];
  writeSharesTable(report, o, (t) => parts.push(t));
  return parts.join("");
}

/** The pairs as CSV, sizes in bytes; the mappings as "name=bytes" separated by spaces. */
export function writeSharesCsv(report: SharesReport, write: Write): void {
  function* rows(): Generator<(string | number)[]> {
    for (const r of report.pairs)
      yield [r.a.pid, r.b.pid, r.bytes, r.file, r.shmem, r.cow, r.ksm, r.hugetlb, r.mappings.map((m) => `${mappingLabel(m)}=${m.bytes}`).join(" "), r.a.command, r.b.command];
  }
  writeCsv(write, ["pidA", "pidB", "bytes", "file", "shmem", "cow", "ksm", "hugetlb", "through", "commandA", "commandB"], rows());
}

/** One JSON document; pairs and groups are written item by item (with --limit 0 there can be millions). */
export function writeSharesJson(report: SharesReport, write: Write): void {
  const { pairs, groups, ...rest } = report;
  const head = JSON.stringify(rest, null, 2);
  write(head.slice(0, -2) + ",\n");
  const list = (name: string, items: readonly unknown[], last: boolean): void => {
    write(`  "${name}": [`);
    const out = chunkedWriter(write);
    items.forEach((it, i) => out.push((i === 0 ? "\n    " : ",\n    ") + JSON.stringify(it)));
    out.end((items.length === 0 ? "]" : "\n  ]") + (last ? "\n" : ",\n"));
  };
  list("pairs", pairs, false);
  list("groups", groups, true);
  write("}\n");
}

export function renderSharesJson(report: SharesReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
