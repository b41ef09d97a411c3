/**
 * The scan: discover processes, read every page table (several reads at once
 * on the I/O pool threads), look up kpagecount/kpageflags once for all PFNs
 * that need it, and do the accounting. The result is plain data from which every
 * report is a pure function (and which snapshots will save and reload).
 */
import { NF, usageFromSmaps } from "../accounting/usage.js";
import { accountSwap, countSwapRefs } from "../accounting/account.js";
import { ParseError, PermissionError, ProcessGoneError, ProcReadError } from "../errors.js";
import { probeKernel, refreshKernel, type KernelInfo } from "../kernel/features.js";
import type { Vma } from "../parse/maps.js";
import { parseMeminfo, type Meminfo } from "../parse/meminfo.js";
import { parseSmapsRollup } from "../parse/smaps.js";
import { runningAsRoot, type ProcFs } from "../procfs/procfs.js";
import { UserNames, type PasswdSource } from "../procfs/users.js";
import { discoverProcesses, type Candidate, type MapsCache } from "./collect.js";
import { EntryStore, SwapStore } from "./entry-store.js";
import { Accounting } from "./kpage-account.js";
import { KpageTable, lookupStoreAsync } from "./kpage-lookup.js";
import type { KpageWasm } from "./kpage-index.js";
import { newPassStats, runPagemapPass, type PagemapParams, type PagemapScanMode } from "./pagemap-pass.js";
import type { ProcessInfo } from "./process-info.js";
import { EMPTY_RUNS, EMPTY_SWAPS, NO_KPAGES, NO_OBJECTS, NO_REFS, SCAN_DATA_VERSION, type IndexRange, type ScanObjects, type ScanRefs, type LookupStats, type ProcessState, type Scan, type ScannedProcess, type ScanRuns, type ScanSwaps } from "./scan-data.js";
import { stateNotes } from "./scan-notes.js";
import { ObjectStore, RefStore } from "./shared-objects.js";
import type { StoreColumns } from "./kpage-index.js";
import { OBJECT_STRIDE } from "./wasm-abi.js";
import { swapPssFromSmaps } from "./swap-pss.js";

export type { ProcessState, Scan, ScannedProcess, UsageSource } from "./scan-data.js";

export interface ScanOptions {
  /** Only these pids (default: every process). */
  readonly pids?: readonly number[];
  /** Keep only processes for which this returns true (checked before their memory is read). */
  readonly select?: (info: ProcessInfo) => boolean;
  /** Also read /proc/kpagecgroup for every looked-up page. */
  readonly cgroups?: boolean;
  /** Look every present page up, never settling exclusive pages from pagemap alone. */
  readonly exact?: boolean;
  /**
   * "all" (default): read kpageflags for every looked-up page. "accounting":
   * only where the usage figures need them; page-cache pages of shmem
   * mappings then keep flags 0 in `kpage` (their class is certain from the
   * mapping, see E_SHMEM_VMA). For reports that use only the usage rows and
   * the zero-page/hugetlb flags (ps, maps): about half the kpage reads on a
   * machine with much shared memory.
   */
  readonly pageFlags?: "all" | "accounting";
  /**
   * Narrow pagemap reads to the ranges that hold something with the
   * PAGEMAP_SCAN ioctl (Linux 6.7+, live /proc, koffi): "auto" (default) for
   * large, mostly empty stretches of mappings; "always" for every stretch;
   * "off" to read every mapped page's entry. The numbers are the same either
   * way. The environment variable PAGELENS_PAGEMAP_SCAN sets the default.
   */
  readonly pagemapScan?: PagemapScanMode;
  /** Receives timings of the scan's phases (for `PAGELENS_TRACE=1`). */
  readonly trace?: (phase: string, ms: number, detail?: string) => void;
  /** Called as processes are read with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
  readonly passwdFile?: PasswdSource;
}

const NO_RANGE: IndexRange = { start: 0, end: 0 };

/** A usage row from the kernel's smaps_rollup totals (fallback without PFN access). */

function noUsage(info: ProcessInfo, state: ProcessState, reason: string, vmas: readonly Vma[] = []): ScannedProcess {
  return { info, state, source: "none", reason, vmas, usage: new Float64Array(NF), runs: NO_RANGE, refs: NO_RANGE, swaps: NO_RANGE };
}

/** The kernel's totals for one process, or why they cannot be had; undefined if it exited. */
function fromRollup(procfs: ProcFs, c: Candidate, reason: string): ScannedProcess | undefined {
  const pid = c.info.pid;
  try {
    const rollup = parseSmapsRollup(procfs.readText(`${pid}/smaps_rollup`, pid), procfs.path(pid, "smaps_rollup"));
    return { info: c.info, state: "ok", source: "smaps_rollup", reason, vmas: c.vmas, usage: usageFromSmaps(rollup), runs: NO_RANGE, refs: NO_RANGE, swaps: NO_RANGE };
  } catch (err) {
    if (err instanceof ProcessGoneError) return undefined;
    if (err instanceof PermissionError) return noUsage(c.info, "unreadable", err.message, c.vmas);
    // One process's malformed file is that process's problem, not the whole scan's.
    if (err instanceof ParseError || err instanceof ProcReadError) return noUsage(c.info, "bad-input", err.message, c.vmas);
    throw err;
  }
}

/** The PAGEMAP_SCAN mode: the option, else PAGELENS_PAGEMAP_SCAN (auto, always, off), else auto. */
function pagemapScanMode(options: ScanOptions): PagemapScanMode {
  if (options.pagemapScan) return options.pagemapScan;
  const env = process.env["PAGELENS_PAGEMAP_SCAN"];
  return env === "off" || env === "always" || env === "auto" ? env : "auto";
}

/** The run store followed by the shared objects' runs, as the kpage index reads its PFNs (kpage-index.ts fromStore). */
function withObjectRuns(store: EntryStore, objects: ScanObjects): StoreColumns {
  const n = objects.pfn.length;
  return {
    length: store.length + n,
    prefixRows: Math.floor(n / OBJECT_STRIDE) + 1,
    forEachChunk(start, end, fn) {
      if (start !== 0 || end !== store.length + n) throw new RangeError("the looked-up runs are read whole");
      store.forEachChunk(0, store.length, fn);
      if (n > 0) fn({ pfn: objects.pfn, len: objects.len, bits: objects.bits }, 0, n);
    },
  };
}

/** VmRSS + VmSwap in pages, when status had them. */
function residentPagesOf(info: ProcessInfo, pageSize: number): number | undefined {
  if (info.vmRssBytes === undefined) return undefined;
  return Math.ceil((info.vmRssBytes + (info.vmSwapBytes ?? 0)) / pageSize);
}

/**
 * What a scanner keeps from one scan to the next (scanner.ts): the kernel's
 * fixed facts, the user names, the run and swap stores and the kpage
 * WebAssembly instance, reused instead of made again.
 */
export interface ScanState {
  kernel: KernelInfo | undefined;
  users: UserNames | undefined;
  readonly store: EntryStore;
  readonly refs: RefStore;
  readonly objects: ObjectStore;
  readonly swaps: SwapStore;
  readonly kpage: KpageWasm;
  readonly maps: MapsCache;
}

export async function scanSystem(procfs: ProcFs, options: ScanOptions = {}, state?: ScanState): Promise<Scan> {
  const t0 = performance.now();
  const pids = options.pids ?? procfs.listPids();
  let mark = performance.now();
  // CPU time (all threads: the I/O pool's reads included) beside wall time, since a loaded machine
  // stretches wall time but not CPU time.
  let cpuMark = options.trace ? process.cpuUsage() : undefined;
  const phase = (name: string, detail?: string): void => {
    if (!options.trace) return;
    const now = performance.now();
    const cpu = process.cpuUsage(cpuMark);
    // And the resident size so far, to see which phase a peak comes from.
    const cpuText = `cpu ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms, rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB`;
    options.trace(name, now - mark, detail ? `${detail}; ${cpuText}` : cpuText);
    mark = now;
    cpuMark = process.cpuUsage();
  };
  const kernel = state?.kernel ? refreshKernel(procfs, state.kernel) : probeKernel(procfs);
  const users = state?.users ?? new UserNames(options.passwdFile);
  if (state) {
    state.kernel = kernel;
    state.users = users;
  }
  const notes: string[] = [];
  const f = kernel.features;
  const canLookup = f.kpagecount.available && f.kpageflags.available;
  let mode: Scan["mode"] = canLookup ? "pagemap" : "smaps_rollup";
  if (!canLookup)
    notes.push(
      `${f.kpagecount.note ?? f.kpageflags.note}: USS is taken from smaps_rollup (Private_Clean + Private_Dirty), ` +
        `and page flags, hugetlb sharing, distinct-page totals and cgroup charges cannot be known. Run as root for page-level numbers.`,
    );
  // Exclusive anonymous pages may be settled from pagemap alone when map counts are per page, and per
  // process unless it may map KSM pages (a KSM page mapped once looks exclusive): once KSM has merged
  // anything, each candidate's ksm_stat says whether it can (parse/ksm-stat.ts).
  const mayTrust = !options.exact && kernel.mapcount === "precise";
  phase("probe kernel");
  const found = discoverProcesses(procfs, pids, users, options.select, mayTrust && kernel.ksmActive, state?.maps);
  phase("discover processes", `${found.candidates.length} to read`);
  // A pid asked for by number that is not there at all was never seen to exit.
  const notFound = options.pids !== undefined ? [...found.missing] : [];
  const vanished = options.pids !== undefined ? [...found.vanished] : [...found.vanished, ...found.missing];
  const processes: ScannedProcess[] = found.skipped.map((s) => noUsage(s.info, s.why, s.reason));
  const candidates = found.candidates;
  let kpage = new KpageTable();
  let runs: ScanRuns = EMPTY_RUNS;
  let objects: ScanObjects = NO_OBJECTS;
  let refCols: ScanRefs = NO_REFS;
  let swapCols: ScanSwaps = EMPTY_SWAPS;
  let lookup: LookupStats | undefined;
  let trustedExclusive = false;
  const trustedPids = new Set<number>();

  if (mode === "smaps_rollup") {
    candidates.forEach((c, n) => {
      options.onProgress?.(n, candidates.length);
      const p = fromRollup(procfs, c, "page-level data needs root");
      if (p) processes.push(p);
      else vanished.push(c.info.pid);
    });
  } else {
    // Shared objects' pages kept once (shared-objects.ts); `exact` keeps every page a run of its process, the reference.
    const params: PagemapParams = { pageSize: kernel.pageSize, maxSwapfiles: kernel.maxSwapfiles, trustExclusive: mayTrust, pagemapScan: pagemapScanMode(options), sharedObjects: options.exact !== true };
    const targets = candidates.map((c) => ({
      pid: c.info.pid,
      vmas: c.vmas,
      residentPages: residentPagesOf(c.info, kernel.pageSize),
      trustExclusive: mayTrust && c.mayMapKsm !== true,
    }));
    for (const t of targets) if (t.trustExclusive) trustedPids.add(t.pid);
    trustedExclusive = trustedPids.size > 0;
    const store = state?.store ?? new EntryStore();
    const refs = state?.refs ?? new RefStore();
    const swaps = state?.swaps ?? new SwapStore();
    store.reset();
    swaps.reset();
    const stats = newPassStats();
    const pass = await runPagemapPass(procfs, targets, params, store, swaps, options.onProgress, stats, refs, state?.objects);
    const outcomes = pass.outcomes;
    objects = pass.objects;
    refCols = refs.view();
    phase(
      "pagemap",
      `${outcomes.length} processes, ${store.pages} pages in ${store.length} runs kept for lookup, ` +
        `${refs.pages} in ${refs.length} references to ${objects.first.length - 1} shared objects (${objects.pfn.length} runs); ` +
        `${stats.entriesRead} of ${stats.entriesMapped} mapped entries read, PAGEMAP_SCAN ${stats.scanCalls} calls, ${stats.scanRegions} regions` +
        (stats.scanUnavailable ? ` (${stats.scanUnavailable})` : ""),
    );

    let hidden = 0;
    for (const o of outcomes) {
      const c = candidates[o.index]!;
      if (o.status === "ok")
        processes.push({
          info: c.info,
          state: "ok",
          source: "pagemap",
          vmas: c.vmas,
          usage: o.usage,
          runs: { start: o.runs[0], end: o.runs[1] },
          refs: { start: o.refs[0], end: o.refs[1] },
          swaps: { start: o.swaps[0], end: o.swaps[1] },
        });
      else if (o.status === "gone") vanished.push(c.info.pid);
      else if (o.status === "denied") processes.push(noUsage(c.info, "unreadable", o.reason ?? "cannot read pagemap", c.vmas));
      else if (o.status === "failed") processes.push(noUsage(c.info, "bad-input", o.reason ?? "cannot read pagemap", c.vmas));
      else {
        hidden++;
        const p = fromRollup(procfs, c, "PFNs read as zero (no CAP_SYS_ADMIN in the initial user namespace)");
        if (p) processes.push(p);
        else vanished.push(c.info.pid);
      }
    }
    if (hidden > 0) {
      notes.push("PFNs read as zero: this process lacks CAP_SYS_ADMIN in the initial user namespace; affected processes use smaps_rollup totals.");
      if (!processes.some((p) => p.source === "pagemap")) mode = "smaps_rollup";
    }

    // The PFNs to look up: the processes' runs and the shared objects' runs.
    const lookedUp = withObjectRuns(store, objects);
    if (lookedUp.length > 0) {
      const cgroups = options.cgroups === true && f.kpagecgroup.available;
      const res = await lookupStoreAsync(procfs, lookedUp, {
        cgroups,
        flagsWhereNeeded: options.pageFlags === "accounting",
        reuse: state?.kpage,
        onIndexed: (size) => phase("kpage index", `${size} PFNs from ${lookedUp.length} runs`),
      });
      kpage = res.table;
      lookup = res.stats;
      phase("kpagecount/kpageflags", `${lookup.pfns} PFNs, ${lookup.reads} reads, ${lookup.wordsRead} words`);
    }
    const accounting = new Accounting(kpage);
    // Each shared object's runs summed once; a reference then costs two reads of their prefix sums.
    const objectSums = accounting.objectSums(objects, kernel.pageSize);
    if (objects.pfn.length > 0) phase("shared objects' sums", `${objects.pfn.length} runs of ${objects.first.length - 1} objects`);
    for (const p of processes) {
      if (p.source !== "pagemap") continue;
      accounting.account(store, p.runs.start, p.runs.end, p.usage, kernel.pageSize);
      // Sums of integers (PSS in 1/4096 byte): the same bits whether a page came as a run or by reference.
      accounting.accountRefs(objectSums, refCols, p.refs.start, p.refs.end, p.usage, kernel.pageSize);
    }
    const slotRefs = countSwapRefs(swaps.slots);
    const partial = options.pids !== undefined || options.select !== undefined;
    for (const p of processes) {
      if (p.source !== "pagemap") continue;
      const sw = p.swaps;
      accountSwap(swaps.slots, swaps.vmas, sw.start, sw.end, slotRefs, p.usage, kernel.pageSize);
      // Only some processes scanned: `refs` misses the other holders of a slot (see swap-pss.ts).
      if (partial && sw.end > sw.start) swapPssFromSmaps(procfs, { pid: p.info.pid, vmas: p.vmas, usage: p.usage });
    }
    // The plain value's columns: the store's run chunks themselves (no copy: 25 MB on a fragmented
    // machine), the swap entries as typed arrays.
    runs = store.view();
    swapCols = { slot: Float64Array.from(swaps.slots), vma: Uint32Array.from(swaps.vmas) };
  }
  phase("accounting");
  notes.push(...stateNotes(processes, procfs.isLive ? runningAsRoot() : mode === "pagemap", vanished.length));

  let meminfo: Meminfo | undefined;
  try {
    const mi = procfs.readOptionalText("meminfo");
    if (mi !== undefined) meminfo = parseMeminfo(mi, procfs.path("meminfo"));
  } catch (err) {
    if (!(err instanceof ProcReadError)) throw err;
  }
  processes.sort((a, b) => a.info.pid - b.info.pid);
  return {
    version: SCAN_DATA_VERSION,
    takenAt: procfs.capturedAt ?? new Date().toISOString(),
    durationMs: performance.now() - t0,
    kernel,
    meminfo,
    mode,
    processes,
    vanished: vanished.sort((a, b) => a - b),
    notFound,
    notes,
    runs,
    objects,
    refs: refCols,
    swaps: swapCols,
    // Views over the lookup's WebAssembly memory, not copies (3.3 MB for the reference workload):
    // a plain scan's instance is its own; a Scanner's is reused by its next scan (scanner.ts detach).
    kpage: lookup ? kpage.values() : NO_KPAGES,
    lookup,
    trustedExclusive,
    trustedPids: [...trustedPids].sort((a, b) => a - b),
  };
}
