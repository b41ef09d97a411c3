/** `pagelens kernel` as text or CSV: one line of facts, then one row per feature. */
import type { KernelReport } from "../report/kernel-report.js";
import type { Write } from "./chunked-writer.js";
import { renderTable, writeTableCsv, type Column, type TableOptions } from "./table.js";

type FeatureRow = KernelReport["features"][number];
const FEATURE_COLUMNS: Column<FeatureRow>[] = [
  { header: "FEATURE", align: "left", value: (f) => f.name },
  { header: "HERE", align: "left", value: (f) => (f.available ? "yes" : "no") },
  { header: "USED FOR", align: "left", drop: 1, cut: "end", value: (f) => f.use },
  { header: "NOTE", align: "left", cut: "end", value: (f) => f.note ?? "" },
];

/** The features as CSV: feature, here, used for, note. */
export function writeKernelCsv(r: KernelReport, write: Write): void {
  writeTableCsv(write, FEATURE_COLUMNS, r.features);
}

export function renderKernelTable(r: KernelReport, o: TableOptions = {}): string {
  const mapcount =
    r.mapcount === "precise" ? "precise (per page)" : r.mapcount === "average" ? "per-folio average (CONFIG_NO_PAGE_MAPCOUNT)" : "unknown (no kernel config)";
  return (
    `kernel ${r.release ?? "?"}, page size ${r.pageSize}, map counts ${mapcount}, THP ${r.thpMode ?? "?"}, ` +
    `KSM ${r.ksmActive ? "merging" : "idle"}, ${r.swapAreas} swap area(s), swap types below ${r.maxSwapfiles} are swap\n` +
    renderTable(FEATURE_COLUMNS, r.features, [], o)
  );
}
