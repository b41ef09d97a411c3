/**
 * One refresh of `serve`: one scan, and every report it shows built from
 * that scan (ps, groups by user, memory cgroup and unit, the system
 * reconciliation), so the numbers on /metrics agree with each other as the
 * CLI's do. The scan is dropped once the reports are built: only plain report
 * data (a few hundred KiB) outlives a refresh.
 */
import { buildPsReport } from "../../report/process-report.js";
import { scanSystem, type Scan } from "../../scan/system-scan.js";
import { groupsReportFrom } from "../../views/groups.js";
import type { ViewSource } from "../../views/source.js";
import { gatherSystemFrom, systemReportOf } from "../../views/system.js";
import type { HtmlReport } from "../../report/html-report.js";
import { reportFrom } from "../../views/report.js";
import type { ScanReports } from "./metrics.js";

/**
 * The scan call, one fresh scanSystem per refresh. A Scanner
 * (src/scan/scanner.ts) keeps its buffers between scans and saves their
 * allocation, but what it keeps is resident between refreshes: measured in
 * the serve tests on a fixture tree, 1000 refreshes through a Scanner went
 * from 97.9 to 121.7 MiB of VmRSS (flat only after ~400), against 82-87 MiB
 * flat with a fresh scan each time; a refresh every 15 s does not need the
 * saving.
 */
export function takeScan(src: ViewSource): Promise<Scan> {
  return scanSystem(src.procfs, { passwdFile: src.passwdFile });
}

export async function scanReports(src: ViewSource): Promise<ScanReports> {
  const t0 = performance.now();
  const scan = await takeScan(src);
  const gathered = gatherSystemFrom(src, scan, t0);
  const system = systemReportOf(gathered, src.procfs.isLive);
  const ps = buildPsReport(scan);
  const user = groupsReportFrom(src, scan, { by: "user" });
  const cgroup = groupsReportFrom(src, scan, { by: "cgroup" });
  const unit = groupsReportFrom(src, scan, { by: "unit" });
  return { ps, groups: { user, cgroup, unit }, system };
}

/**
 * The same, for a server that also shows the web view: the HTML report's
 * data (views/report.ts: also libraries, sharing, the flags census and the
 * address maps of the top `addressMaps` processes) from the same scan, and
 * the /metrics reports taken from it, so the page and /metrics agree.
 */
export async function scanReportsWithPage(src: ViewSource, o: { readonly pagelensVersion: string; readonly addressMaps: number }): Promise<ScanReports & { readonly page: HtmlReport }> {
  const t0 = performance.now();
  const scan = await takeScan(src);
  const page = reportFrom(src, scan, gatherSystemFrom(src, scan, t0), o);
  return { ps: page.ps, groups: page.groups, system: page.system, page };
}
