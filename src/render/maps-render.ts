/** Renderers for the mapping-by-mapping report. */
import type { MapsReport, MappingRow } from "../report/maps-report.js";
import type { Write } from "./chunked-writer.js";
import { safeText } from "./safe-text.js";
import { writeCsv, writeTable, type Column, type TableOptions } from "./table.js";

type Row = MappingRow | { total: true; t: MapsReport["totals"] };

/** The line above the table: pid, command and user (safe for the terminal), and where the numbers come from. */
export function mapsHeading(report: MapsReport): string {
  const state = report.state === "no-mm" ? ": kernel thread or zombie, no user memory" : report.source === "pagemap" ? "" : `: numbers from ${report.source}`;
  return `${report.pid} ${safeText(report.command)} (${safeText(report.user)})${state}\n`;
}

export function writeMapsTable(report: MapsReport, o: TableOptions, write: Write): void {
  const s = (get: (r: MapsReport["totals"] | MappingRow) => number) => (r: Row) => get("total" in r ? r.t : r);
  const k = (get: (d: NonNullable<MappingRow["kernel"]>) => number) => (r: Row) => {
    const d = "total" in r ? r.t.kernel : r.kernel;
    return d ? get(d) : null;
  };
  // drop: on a narrow terminal the kernel's clean/dirty split goes first, then the rarer kinds.
  const cols: Column<Row>[] = [
    { header: "ADDRESS", align: "left", value: (r) => ("total" in r ? "TOTAL" : `${r.start}-${r.end}`) },
    { header: "PERM", align: "left", value: (r) => ("total" in r ? "" : r.perms) },
    { header: "SIZE", size: s((r) => r.size), drop: 5 },
    { header: "RSS", size: s((r) => r.rss), drop: 4 },
    { header: "PSS", size: s((r) => r.pss) },
    { header: "USS", size: s((r) => r.uss) },
    { header: "SHARED", size: s((r) => r.shared), drop: 5 },
    { header: "PR_CLEAN", size: k((d) => d.privateClean), drop: 9 },
    { header: "PR_DIRTY", size: k((d) => d.privateDirty), drop: 9 },
    { header: "SH_CLEAN", size: k((d) => d.sharedClean), drop: 9 },
    { header: "SH_DIRTY", size: k((d) => d.sharedDirty), drop: 9 },
    { header: "SWAP", size: s((r) => r.swap), drop: 3 },
    { header: "THP", size: s((r) => r.thp), drop: 7 },
    { header: "HUGETLB", size: s((r) => r.hugetlbPrivate + r.hugetlbShared), drop: 8 },
    { header: "NAME", align: "left", cut: "middle", value: (r) => ("total" in r ? "" : r.name) },
  ];
  write(mapsHeading(report));
  writeTable(write, cols, report.mappings, [{ total: true, t: report.totals }], o);
}

export function renderMapsTable(report: MapsReport, o: TableOptions = {}): string {
  const parts: string[] = [];
  writeMapsTable(report, o, (t) => parts.push(t));
  return parts.join("");
}

export const MAPS_CSV_COLUMNS = [
  "start",
  "end",
  "perms",
  "offset",
  "dev",
  "inode",
  "size",
  "rss",
  "pss",
  "uss",
  "shared",
  "privateClean",
  "privateDirty",
  "sharedClean",
  "sharedDirty",
  "swap",
  "swapPss",
  "anon",
  "file",
  "shmem",
  "thp",
  "hugetlbPrivate",
  "hugetlbShared",
  "kind",
  "name",
] as const;

/** One row per mapping, sizes in bytes; the kernel's clean/dirty split empty when smaps was unreadable. */
export function writeMapsCsv(report: MapsReport, write: Write): void {
  const rows = report.mappings.map((m) =>
    MAPS_CSV_COLUMNS.map((c) => {
      if (c === "privateClean" || c === "privateDirty" || c === "sharedClean" || c === "sharedDirty") return m.kernel ? m.kernel[c] : null;
      return (m as unknown as Record<string, string | number>)[c] ?? null;
    }),
  );
  writeCsv(write, MAPS_CSV_COLUMNS, rows);
}

export function renderMapsJson(report: MapsReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
