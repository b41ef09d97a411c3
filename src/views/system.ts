/**
 * The system view: what `pagelens system` reads: the page-table scan, the kpageflags census
 * and /proc/meminfo (with zoneinfo, the kernel config and free page
 * reporting), handed to the pure reconciliation in report/system-report.ts.
 *
 * Both the scan and the census take about half a second on a 24 GiB
 * machine. The census is synchronous (its reader threads report to the
 * calling thread), so it cannot overlap the scan: they run one after the
 * other, scan first, and meminfo is read right before and right after the
 * census so the report can say how much memory moved meanwhile.
 */
import { readKernelConfig } from "../kernel/features.js";
import { parseMeminfo, type Meminfo } from "../parse/meminfo.js";
import type { ProcFs } from "../procfs/procfs.js";
import { scanHeader } from "../report/scan-header.js";
import { buildSystemReport, processFigures, summarizeCensus, zoneManagedPages, type PageReporting, type SystemInputs, type SystemReport, type SystemTiming } from "../report/system-report.js";
import { censusPfns, censusThreads, type Census } from "../scan/census.js";
import { scanSystem, type Scan } from "../scan/system-scan.js";
import type { ViewHooks, ViewSource } from "./source.js";

/** Everything `pagelens system` reads, kept so tests can compare the report with its own scan. */
export interface SystemGathered {
  readonly scan: Scan;
  readonly census: Census | undefined;
  readonly inputs: SystemInputs;
  readonly timing: SystemTiming;
}


function readMeminfo(procfs: ProcFs): Meminfo {
  return parseMeminfo(procfs.readText("meminfo"), procfs.path("meminfo"));
}

/**
 * CONFIG_VMAP_STACK from the tree's config.gz, or undefined when there is
 * none (the reconciliation then decides from the numbers and says so).
 */
function vmapStackOf(procfs: ProcFs): boolean | undefined {
  const config = readKernelConfig(procfs);
  return config === undefined ? undefined : config.get("CONFIG_VMAP_STACK") === "y";
}

/** Bytes the memory zones manage, read with meminfo; undefined without /proc/zoneinfo (a tree may not have one). */
function zoneManagedOf(procfs: ProcFs, pageSize: number): number | undefined {
  const text = procfs.readOptionalText("zoneinfo");
  return text === undefined ? undefined : zoneManagedPages(text) * pageSize;
}

/**
 * Free page reporting's parameters, when the kernel has it. max_waiting_mib
 * is not upstream (the test VM's kernel has it, and holds up to that much
 * freed memory off the buddy lists while it waits to be reported).
 */
function pageReportingOf(procfs: ProcFs): PageReporting | undefined {
  const order = procfs.readSysText("module/page_reporting/parameters/page_reporting_order");
  if (order === undefined || !/^\d+\s*$/.test(order)) return undefined;
  const waiting = procfs.readSysText("module/page_reporting/parameters/max_waiting_mib");
  return { order: Number(order), maxWaiting: waiting !== undefined && /^\d+\s*$/.test(waiting) ? Number(waiting) * 1024 * 1024 : undefined };
}


/** Read the three sources, one after another (see the module comment). */
export async function gatherSystem(src: ViewSource, hooks: ViewHooks = {}): Promise<SystemGathered> {
  const t0 = performance.now();
  const scan = await scanSystem(src.procfs, { passwdFile: src.passwdFile, onProgress: hooks.onProgress, trace: hooks.trace });
  hooks.onScan?.(scan);
  return gatherSystemFrom(src, scan, t0);
}

/**
 * The census and meminfo after a scan already taken (`serve` builds every
 * report from one scan). `t0`: when the scan started (performance.now()).
 */
export function gatherSystemFrom(src: ViewSource, scan: Scan, t0: number): SystemGathered {
  const { procfs } = src;
  const t1 = performance.now();
  let census: Census | undefined;
  let before: Meminfo | undefined;
  // Without root the kpage files cannot be opened; the reconciliation then falls back to meminfo and says so.
  if (scan.kernel.features.kpageflags.available) {
    before = readMeminfo(procfs);
    census = censusPfns(procfs, { threads: censusThreads(procfs) });
  }
  const t2 = performance.now();
  const meminfo = readMeminfo(procfs);
  const t3 = performance.now();
  const inputs: SystemInputs = {
    meminfo,
    census: census ? summarizeCensus(census, procfs.path("kpageflags")) : undefined,
    processes: processFigures(scan),
    pageSize: scan.kernel.pageSize,
    vmapStack: vmapStackOf(procfs),
    zoneManaged: zoneManagedOf(procfs, scan.kernel.pageSize),
    pageReporting: pageReportingOf(procfs),
  };
  const timing: SystemTiming = {
    scanMs: t1 - t0,
    censusMs: census ? t2 - t1 : 0,
    spanMs: t3 - t0,
    memFreeChangeDuringCensus: before ? (meminfo["MemFree"] ?? 0) - (before["MemFree"] ?? 0) : 0,
  };
  return { scan, census, inputs, timing };
}

export function systemReportOf(g: SystemGathered, live: boolean): SystemReport {
  return buildSystemReport(g.inputs, { header: scanHeader(g.scan), timing: g.timing, live });
}

/** The system view: MemTotal split into lines that do not overlap, each with its source. */
export async function systemView(src: ViewSource, hooks: ViewHooks = {}): Promise<SystemReport> {
  return systemReportOf(await gatherSystem(src, hooks), src.procfs.isLive);
}
