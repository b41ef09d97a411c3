/** `pagelens kernel` as text: one line of facts, then one row per feature. */
import type { KernelReport } from "../report/kernel-report.js";
import { renderTable, type Column } from "./table.js";

export function renderKernelTable(r: KernelReport): string {
  type Row = KernelReport["features"][number];
  const cols: Column<Row>[] = [
    { header: "FEATURE", align: "left", value: (f) => f.name },
    { header: "HERE", align: "left", value: (f) => (f.available ? "yes" : "no") },
    { header: "USED FOR", align: "left", value: (f) => f.use },
    { header: "NOTE", align: "left", value: (f) => f.note ?? "" },
  ];
  const mapcount =
    r.mapcount === "precise" ? "precise (per page)" : r.mapcount === "average" ? "per-folio average (CONFIG_NO_PAGE_MAPCOUNT)" : "unknown (no kernel config)";
  return (
    `kernel ${r.release ?? "?"}, page size ${r.pageSize}, map counts ${mapcount}, THP ${r.thpMode ?? "?"}, ` +
    `KSM ${r.ksmActive ? "merging" : "idle"}, ${r.swapAreas} swap area(s), swap types below ${r.maxSwapfiles} are swap\n` +
    renderTable(cols, r.features)
  );
}
