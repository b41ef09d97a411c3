/**
 * One refresh of `serve`: one scan, and every report it shows built from
 * that scan (ps, groups by user, memory cgroup and unit, the system
 * reconciliation), so the numbers on /metrics agree with each other as the
 * CLI's do. The scan is dropped once the reports are built: only plain report
 * data (a few hundred KiB) outlives a refresh.
 */
import { buildPsReport } from "../../report/process-report.js";
import { Scanner } from "../../scan/scanner.js";
import { groupsReportFrom } from "../../views/groups.js";
import type { ViewSource } from "../../views/source.js";
import { gatherSystemFrom, systemReportOf } from "../../views/system.js";
import type { ScanReports } from "./metrics.js";

/**
 * The reports of one refresh. A serve keeps one Scanner (src/scan/scanner.ts)
 * for its whole life, so repeated scans reuse its buffers, WebAssembly
 * instances and indexes instead of building them anew; the scan it returns
 * is valid until its next scan, and only the reports built here outlive it.
 */
export async function scanReports(src: ViewSource, scanner: Scanner = new Scanner(src.procfs, { passwdFile: src.passwdFile })): Promise<ScanReports> {
  const t0 = performance.now();
  const scan = await scanner.scan();
  const gathered = gatherSystemFrom(src, scan, t0);
  const system = systemReportOf(gathered, src.procfs.isLive);
  const ps = buildPsReport(scan);
  const user = groupsReportFrom(src, scan, { by: "user" });
  const cgroup = groupsReportFrom(src, scan, { by: "cgroup" });
  const unit = groupsReportFrom(src, scan, { by: "unit" });
  return { ps, groups: { user, cgroup, unit }, system };
}
