/**
 * The report view: everything the HTML report (`pagelens report`) and
 * `serve`'s web view draw, from one scan: ps, the system reconciliation (with
 * its census, which also gives the flags census), groups by user, memory
 * cgroup and unit, libraries, who shares with whom, and the address maps of
 * the top processes by PSS.
 *
 * The address maps are the one thing the scan does not keep: it stores the
 * pages it looked up by physical run, not by virtual address, and settles
 * exclusive anonymous pages without storing them. So the chosen processes'
 * pagemaps are read once more (readPagemap, a process at a time), folded
 * into runs as they are read (no object per page), and their PFNs looked up
 * in kpagecount/kpageflags in one lookup for all of them.
 */
import { buildPageOwners } from "../analysis/page-owners.js";
import { PermissionError, ProcessGoneError, ProcReadError } from "../errors.js";
import { buildAddressMap, PagemapRuns, type AddressMap } from "../report/address-map.js";
import { buildFlagsReport, type FlagsReport } from "../report/flags-report.js";
import { buildHtmlReport, DEFAULT_ADDRESS_MAPS, type HtmlReport } from "../report/html-report.js";
import { buildPsReport } from "../report/process-report.js";
import { buildSharesReport } from "../report/shares-report.js";
import { lookupKpages, PfnSet } from "../scan/kpage-lookup.js";
import { commandOf } from "../scan/process-info.js";
import { PagemapBuffer, readPagemap } from "../scan/read-pagemap.js";
import { scanSystem, type Scan, type ScannedProcess } from "../scan/system-scan.js";
import { groupsReportFrom } from "./groups.js";
import { libsReportFrom } from "./libs.js";
import type { ViewHooks, ViewSource } from "./source.js";
import { gatherSystemFrom, systemReportOf, type SystemGathered } from "./system.js";

export interface ReportViewOptions {
  /** The pagelens version, written into the page. */
  readonly pagelensVersion: string;
  /** How many of the top processes by PSS get an address map (default DEFAULT_ADDRESS_MAPS; 0: none). */
  readonly addressMaps?: number;
  /** Libraries kept, largest PSS first. */
  readonly libs?: number;
}

/** Library names kept by default: the page's table shows them all, so keep it readable. */
export const DEFAULT_REPORT_LIBS = 60;

interface Pending {
  readonly proc: ScannedProcess;
  readonly pre: PagemapRuns;
}

/** The address maps of `procs`, read now (see the module comment); a process that exited or refuses is left out. */
export function addressMapsOf(src: ViewSource, scan: Scan, procs: readonly ScannedProcess[]): { maps: AddressMap[]; notes: string[] } {
  const { procfs } = src;
  const pageSize = scan.kernel.pageSize;
  const buf = new PagemapBuffer();
  const pending: Pending[] = [];
  const notes: string[] = [];
  for (const proc of procs) {
    const pre = new PagemapRuns(scan.kernel.maxSwapfiles);
    try {
      readPagemap(procfs, proc.info.pid, proc.vmas, pageSize, buf, (u32, count, vpn) => pre.add(u32, count, vpn), { skipHoles: true });
    } catch (err) {
      if (err instanceof ProcessGoneError) continue;
      if (err instanceof PermissionError || err instanceof ProcReadError) {
        notes.push(`no address map for process ${proc.info.pid}: ${err.message}`);
        continue;
      }
      throw err;
    }
    pending.push({ proc, pre });
  }
  const set = new PfnSet();
  if (scan.mode === "pagemap") for (const p of pending) p.pre.forEachPresent((pfn, pages) => set.addRun(pfn, pages));
  const table = set.size > 0 ? lookupKpages(procfs, set, { cgroups: false }).table : undefined;
  const maps = pending.map((p) => buildAddressMap({ pid: p.proc.info.pid, command: commandOf(p.proc.info), pageSize }, p.proc.vmas, p.pre, table));
  return { maps, notes };
}

/** The report from a scan already taken and the system sources read after it (serve reuses its refresh's scan). */
export function reportFrom(src: ViewSource, scan: Scan, gathered: SystemGathered, o: ReportViewOptions, hooks: ViewHooks = {}): HtmlReport {
  let mark = performance.now();
  const phase = (name: string, detail?: string): void => {
    const now = performance.now();
    hooks.trace?.(name, now - mark, detail);
    mark = now;
  };
  const ps = buildPsReport(scan);
  const limit = o.addressMaps ?? DEFAULT_ADDRESS_MAPS;
  const byPid = new Map(scan.processes.map((p) => [p.info.pid, p]));
  const chosen = ps.processes
    .filter((r) => r.state === "ok" && r.source === "pagemap")
    .slice(0, limit)
    .map((r) => byPid.get(r.pid)!);
  const { maps, notes } = addressMapsOf(src, scan, chosen);
  phase("report: address maps", `${maps.length} processes, ${maps.reduce((n, m) => n + m.totals.mapped, 0)} pages mapped, ${maps.reduce((n, m) => n + m.runs.vpn.length, 0)} runs`);
  let flags: FlagsReport | null = null;
  if (gathered.census)
    flags = buildFlagsReport(gathered.census, { raw: false, filters: [], pageSize: scan.kernel.pageSize, scope: { kind: "machine", source: src.procfs.path("kpageflags") } });
  if (scan.mode !== "pagemap") notes.push("address maps, who shares with whom and the flags census need page frame numbers and the kpage files: run as root");
  const report = buildHtmlReport(scan, {
    pagelensVersion: o.pagelensVersion,
    source: src.procfs.isLive ? "live" : src.procfs.root,
    ps,
    system: systemReportOf(gathered, src.procfs.isLive),
    groups: {
      user: groupsReportFrom(src, scan, { by: "user" }),
      cgroup: groupsReportFrom(src, scan, { by: "cgroup" }),
      unit: groupsReportFrom(src, scan, { by: "unit" }),
    },
    libs: libsReportFrom(src, scan, { top: o.libs ?? DEFAULT_REPORT_LIBS }),
    shares: scan.mode === "pagemap" ? buildSharesReport(scan, {}, buildPageOwners(scan.processes, scan)) : null,
    flags,
    addressMapLimit: limit,
    addressMaps: maps,
    notes,
  });
  phase("report: the other reports");
  return report;
}

/** One scan, the census and meminfo after it, and the report. */
export async function reportView(src: ViewSource, o: ReportViewOptions, hooks: ViewHooks = {}): Promise<HtmlReport> {
  const t0 = performance.now();
  const scan = await scanSystem(src.procfs, { passwdFile: src.passwdFile, onProgress: hooks.onProgress, trace: hooks.trace });
  hooks.onScan?.(scan);
  const gathered = gatherSystemFrom(src, scan, t0);
  hooks.trace?.("report: census and meminfo", performance.now() - t0 - scan.durationMs);
  return reportFrom(src, scan, gathered, o, hooks);
}
