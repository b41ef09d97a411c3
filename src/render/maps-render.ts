/** Renderers for the mapping-by-mapping report. */
import type { MapsReport, MappingRow } from "../report/maps-report.js";
import { renderTable, type Column } from "./table.js";
import { formatSize, type Unit } from "./units.js";

type Row = MappingRow | { total: true; t: MapsReport["totals"] };

export function renderMapsTable(report: MapsReport, unit: Unit): string {
  const s = (get: (r: MapsReport["totals"] | MappingRow) => number) => (r: Row) => formatSize(get("total" in r ? r.t : r), unit);
  const k = (get: (d: NonNullable<MappingRow["kernel"]>) => number) => (r: Row) => {
    const d = "total" in r ? r.t.kernel : r.kernel;
    return d ? formatSize(get(d), unit) : "-";
  };
  const cols: Column<Row>[] = [
    { header: "ADDRESS", align: "left", value: (r) => ("total" in r ? "TOTAL" : `${r.start}-${r.end}`) },
    { header: "PERM", align: "left", value: (r) => ("total" in r ? "" : r.perms) },
    { header: "SIZE", value: s((r) => r.size) },
    { header: "RSS", value: s((r) => r.rss) },
    { header: "PSS", value: s((r) => r.pss) },
    { header: "USS", value: s((r) => r.uss) },
    { header: "SHARED", value: s((r) => r.shared) },
    { header: "PR_CLEAN", value: k((d) => d.privateClean) },
    { header: "PR_DIRTY", value: k((d) => d.privateDirty) },
    { header: "SH_CLEAN", value: k((d) => d.sharedClean) },
    { header: "SH_DIRTY", value: k((d) => d.sharedDirty) },
    { header: "SWAP", value: s((r) => r.swap) },
    { header: "THP", value: s((r) => r.thp) },
    { header: "HUGETLB", value: s((r) => r.hugetlbPrivate + r.hugetlbShared) },
    { header: "NAME", align: "left", value: (r) => ("total" in r ? "" : r.name.replaceAll("\n", "\\n")) },
  ];
  return (
    `${report.pid} ${report.command} (${report.user})${report.state === "no-mm" ? ": kernel thread or zombie, no user memory" : report.source === "pagemap" ? "" : `: numbers from ${report.source}`}\n` +
    renderTable(cols, report.mappings, [{ total: true, t: report.totals }])
  );
}

export function renderMapsJson(report: MapsReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
