/**
 * The scan: discover processes, read every page table (several reads at once
 * on the I/O pool threads), look up kpagecount/kpageflags once for all PFNs
 * that need it, and do the accounting. The result is plain data from which every
 * report is a pure function (and which snapshots will save and reload).
 */
import { NF, usageFromSmaps } from "../accounting/usage.js";
import { Accounting, accountSwap, countSwapRefs } from "../accounting/account.js";
import { PermissionError, ProcessGoneError, ProcReadError } from "../errors.js";
import { probeKernel, type KernelInfo } from "../kernel/features.js";
import type { Vma } from "../parse/maps.js";
import { parseMeminfo, type Meminfo } from "../parse/meminfo.js";
import { parseSmapsRollup } from "../parse/smaps.js";
import type { ProcFs } from "../procfs/procfs.js";
import { UserNames, type PasswdSource } from "../procfs/users.js";
import { discoverProcesses, type Candidate } from "./collect.js";
import { EntryStore, SwapStore } from "./entry-store.js";
import { KpageTable, lookupStoreAsync, type LookupStats } from "./kpage-lookup.js";
import { runPagemapPass, type PagemapParams } from "./pagemap-pass.js";
import type { ProcessInfo } from "./process-info.js";

/**
 * How a process's numbers were obtained:
 *  - "pagemap": page by page from pagemap + kpagecount/kpageflags (exact, with USS);
 *  - "smaps_rollup": the kernel's own totals, when PFNs cannot be read (no root);
 *  - "none": nothing could be read (see `state`).
 */
export type UsageSource = "pagemap" | "smaps_rollup" | "none";

export type ProcessState =
  | "ok"
  | "unreadable" // the kernel refused (EACCES), even to root for some processes
  | "no-mm"; // kernel thread or zombie: no user memory

/** A slice [start, end) of a run store or swap store. */
export interface StoreSlice<S> {
  readonly store: S;
  readonly start: number;
  readonly end: number;
}

export interface ScannedProcess {
  readonly info: ProcessInfo;
  readonly state: ProcessState;
  readonly source: UsageSource;
  /** Why the numbers are missing or come from smaps_rollup. */
  readonly reason?: string;
  readonly vmas: readonly Vma[];
  /** One usage row per VMA (pagemap source), or a single row (smaps_rollup source). */
  readonly usage: Float64Array;
  /** This process's page runs that were looked up (shared, file, huge...): see entry-store.ts. */
  readonly runs: StoreSlice<EntryStore>;
  readonly swapEntries: StoreSlice<SwapStore>;
}

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
  /** Receives timings of the scan's phases (for `PAGELENS_TRACE=1`). */
  readonly trace?: (phase: string, ms: number, detail?: string) => void;
  /** Called as processes are read with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
  readonly passwdFile?: PasswdSource;
}

export interface Scan {
  readonly takenAt: string;
  readonly durationMs: number;
  readonly kernel: KernelInfo;
  readonly meminfo: Meminfo | undefined;
  /** "pagemap" when kpage files and PFNs are readable, else "smaps_rollup". */
  readonly mode: "pagemap" | "smaps_rollup";
  readonly processes: readonly ScannedProcess[];
  /** Pids that exited between being listed and being read. */
  readonly vanished: readonly number[];
  /** Plain-language notes on what could not be measured and why. */
  readonly notes: readonly string[];
  readonly kpage: KpageTable;
  readonly lookup: LookupStats | undefined;
  /** Whether pagemap exclusivity was trusted for private anonymous pages (see pagemap-walk.ts). */
  readonly trustedExclusive: boolean;
}

const EMPTY_RUNS: StoreSlice<EntryStore> = { store: new EntryStore(), start: 0, end: 0 };
const EMPTY_SWAPS: StoreSlice<SwapStore> = { store: new SwapStore(), start: 0, end: 0 };

/** A usage row from the kernel's smaps_rollup totals (fallback without PFN access). */

function noUsage(info: ProcessInfo, state: ProcessState, reason: string, vmas: readonly Vma[] = []): ScannedProcess {
  return { info, state, source: "none", reason, vmas, usage: new Float64Array(NF), runs: EMPTY_RUNS, swapEntries: EMPTY_SWAPS };
}

/** The kernel's totals for one process, or why they cannot be had; undefined if it exited. */
function fromRollup(procfs: ProcFs, c: Candidate, reason: string): ScannedProcess | undefined {
  const pid = c.info.pid;
  try {
    const rollup = parseSmapsRollup(procfs.readText(`${pid}/smaps_rollup`, pid), procfs.path(pid, "smaps_rollup"));
    return { info: c.info, state: "ok", source: "smaps_rollup", reason, vmas: c.vmas, usage: usageFromSmaps(rollup), runs: EMPTY_RUNS, swapEntries: EMPTY_SWAPS };
  } catch (err) {
    if (err instanceof ProcessGoneError) return undefined;
    if (err instanceof PermissionError) return noUsage(c.info, "unreadable", err.message, c.vmas);
    throw err;
  }
}

export async function scanSystem(procfs: ProcFs, options: ScanOptions = {}): Promise<Scan> {
  const t0 = performance.now();
  const pids = options.pids ?? procfs.listPids();
  let mark = performance.now();
  const phase = (name: string, detail?: string): void => {
    const now = performance.now();
    options.trace?.(name, now - mark, detail);
    mark = now;
  };
  const kernel = probeKernel(procfs);
  const users = new UserNames(options.passwdFile);
  const notes: string[] = [];
  const f = kernel.features;
  const canLookup = f.kpagecount.available && f.kpageflags.available;
  let mode: Scan["mode"] = canLookup ? "pagemap" : "smaps_rollup";
  if (!canLookup)
    notes.push(
      `${f.kpagecount.note ?? f.kpageflags.note}: USS is taken from smaps_rollup (Private_Clean + Private_Dirty), ` +
        `and page flags, hugetlb sharing, distinct-page totals and cgroup charges cannot be known. Run as root for page-level numbers.`,
    );
  const trustedExclusive = !options.exact && kernel.mapcount === "precise" && !kernel.ksmActive;
  phase("probe kernel");
  const found = discoverProcesses(procfs, pids, users, options.select);
  phase("discover processes", `${found.candidates.length} to read`);
  const vanished = [...found.vanished];
  const processes: ScannedProcess[] = found.skipped.map((s) => noUsage(s.info, s.why, s.reason));
  const candidates = found.candidates;
  let kpage = new KpageTable();
  let lookup: LookupStats | undefined;

  if (mode === "smaps_rollup") {
    candidates.forEach((c, n) => {
      options.onProgress?.(n, candidates.length);
      const p = fromRollup(procfs, c, "page-level data needs root");
      if (p) processes.push(p);
      else vanished.push(c.info.pid);
    });
  } else {
    const params: PagemapParams = { pageSize: kernel.pageSize, maxSwapfiles: kernel.maxSwapfiles, trustExclusive: trustedExclusive };
    const targets = candidates.map((c) => ({ pid: c.info.pid, vmas: c.vmas }));
    const store = new EntryStore();
    const swaps = new SwapStore();
    const outcomes = await runPagemapPass(procfs, targets, params, store, swaps, options.onProgress);
    phase("pagemap", `${outcomes.length} processes, ${store.pages} pages in ${store.length} runs kept for lookup`);

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
          runs: { store, start: o.runs[0], end: o.runs[1] },
          swapEntries: { store: swaps, start: o.swaps[0], end: o.swaps[1] },
        });
      else if (o.status === "gone") vanished.push(c.info.pid);
      else if (o.status === "denied" || o.status === "failed") processes.push(noUsage(c.info, "unreadable", o.reason ?? "cannot read pagemap", c.vmas));
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

    if (store.length > 0) {
      const cgroups = options.cgroups === true && f.kpagecgroup.available;
      const res = await lookupStoreAsync(procfs, store, { cgroups, flagsWhereNeeded: options.pageFlags === "accounting" });
      kpage = res.table;
      lookup = res.stats;
      phase("kpagecount/kpageflags", `${lookup.pfns} PFNs, ${lookup.reads} reads, ${lookup.wordsRead} words`);
    }
    const accounting = new Accounting(kpage);
    for (const p of processes) {
      if (p.source !== "pagemap") continue;
      accounting.account(p.runs.store, p.runs.start, p.runs.end, p.usage, kernel.pageSize);
    }
    const refs = countSwapRefs(swaps.slots);
    for (const p of processes) {
      if (p.source !== "pagemap") continue;
      const sw = p.swapEntries;
      accountSwap(sw.store.slots, sw.store.vmas, sw.start, sw.end, refs, p.usage, kernel.pageSize);
    }
  }
  phase("accounting");
  if (processes.some((p) => p.state === "unreadable"))
    notes.push("Some processes refuse to be read even by root (shown as unreadable); their memory is not in the totals.");

  let meminfo: Meminfo | undefined;
  try {
    const mi = procfs.readOptionalText("meminfo");
    if (mi !== undefined) meminfo = parseMeminfo(mi, procfs.path("meminfo"));
  } catch (err) {
    if (!(err instanceof ProcReadError)) throw err;
  }
  processes.sort((a, b) => a.info.pid - b.info.pid);
  return {
    takenAt: procfs.capturedAt ?? new Date().toISOString(),
    durationMs: performance.now() - t0,
    kernel,
    meminfo,
    mode,
    processes,
    vanished: vanished.sort((a, b) => a - b),
    notes,
    kpage,
    lookup,
    trustedExclusive,
  };
}
