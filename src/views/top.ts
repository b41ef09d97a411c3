/**
 * The top view: what one refresh of `pagelens top` shows, from ONE scan.
 * `psView`, `groupsView` and `libsView` each scan the machine; top shows all
 * four of their reports in turn every few seconds, so it scans once and
 * hands the same Scan to the pure report builders (buildPsReport,
 * buildGroupsReport by user and by cgroup, buildLibsReport). The reports are
 * the same data the commands print, so a row in top and in `pagelens ps`
 * agree for the same scan.
 *
 * Besides the reports it reads what following processes over time needs:
 * each process's start time (/proc/PID/stat field 22), so that a reused pid
 * is a new process, and meminfo for the machine's totals.
 */
import { parseMeminfo, type Meminfo } from "../parse/meminfo.js";
import { buildGroupsReport, type GroupsReport } from "../report/groups-report.js";
import type { LibsReport } from "../report/libs-report.js";
import { buildPsReport, type PsReport } from "../report/process-report.js";
import type { Scanner } from "../scan/scanner.js";
import { scanSystem, type Scan } from "../scan/system-scan.js";
import { libsReportFrom } from "./libs.js";
import type { ViewHooks, ViewSource } from "./source.js";

export interface TopViewOptions {
  /**
   * Also build the libraries report. Without root it reads every process's
   * smaps (one file per process, several times the cost of smaps_rollup),
   * so top asks for it only while the libraries view is on screen.
   */
  readonly libraries?: boolean;
  /**
   * The Scanner a long-running caller keeps (src/scan/scanner.ts): its
   * buffers, WebAssembly instances and indexes serve every refresh instead
   * of being built anew. Without one, each refresh is a fresh scanSystem.
   */
  readonly scanner?: Scanner;
}

export interface TopSnapshot {
  /** Wall time of the scan and the reports (what the header calls "scan"). */
  readonly scanMs: number;
  readonly mode: Scan["mode"];
  readonly meminfo: Meminfo | undefined;
  readonly ps: PsReport;
  readonly users: GroupsReport;
  readonly cgroups: GroupsReport;
  readonly libraries: LibsReport | undefined;
  /** Processes whose memory could not be read (another user's, without root). */
  readonly unreadable: number;
  /** In smaps_rollup mode: why page-level data could not be had (e.g. "/proc/kpagecount is readable by root only"). */
  readonly fallbackReason: string | undefined;
}

export async function topView(src: ViewSource, o: TopViewOptions = {}, hooks: ViewHooks = {}): Promise<TopSnapshot> {
  const t0 = performance.now();
  const scan = o.scanner
    ? await o.scanner.scan({ onProgress: hooks.onProgress, trace: hooks.trace })
    : await scanSystem(src.procfs, { passwdFile: src.passwdFile, onProgress: hooks.onProgress, trace: hooks.trace });
  const ps = buildPsReport(scan, {});
  const users = buildGroupsReport(scan, { by: "user" });
  const cgroups = buildGroupsReport(scan, { by: "cgroup" });
  const libraries = o.libraries ? libsReportFrom(src, scan) : undefined;
  const scanMs = performance.now() - t0;
  let meminfo = scan.meminfo;
  if (meminfo === undefined) {
    const text = src.procfs.readOptionalText("meminfo");
    if (text !== undefined) meminfo = parseMeminfo(text, src.procfs.path("meminfo"));
  }
  const unreadable = scan.processes.filter((p) => p.state === "unreadable").length;
  const f = scan.kernel.features;
  const fallbackReason =
    scan.mode === "pagemap" ? undefined : (f.kpagecount.note ?? f.kpageflags.note ?? "PFNs read as zero (no CAP_SYS_ADMIN in the initial user namespace)");
  return { scanMs, mode: scan.mode, meminfo, ps, users, cgroups, libraries, unreadable, fallbackReason };
}
