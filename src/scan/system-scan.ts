/**
 * The scan: one pass that reads every process's maps and pagemap, one
 * batched lookup of kpagecount/kpageflags over all PFNs that need it, and
 * the accounting. The result is plain data from which every report is a
 * pure function (and which snapshots will save and reload).
 */
import { NF, U } from "../accounting/usage.js";
import { accountEntries, accountSwap, countSwapRefs } from "../accounting/account.js";
import { PermissionError, ProcessGoneError, PagelensError } from "../errors.js";
import { probeKernel, type KernelInfo } from "../kernel/features.js";
import { parseMaps, type Vma } from "../parse/maps.js";
import { parseMeminfo, type Meminfo } from "../parse/meminfo.js";
import { parseSmapsRollup, type SmapsFields } from "../parse/smaps.js";
import type { ProcFs } from "../procfs/procfs.js";
import { UserNames } from "../procfs/users.js";
import { EntryStore, SwapStore } from "./entry-store.js";
import { KpageTable, lookupKpages, PfnSet, type LookupStats } from "./kpage-lookup.js";
import { PagemapBuffer, readPagemap } from "./read-pagemap.js";
import { walkPagemap, type WalkTarget } from "./pagemap-walk.js";
import { readProcessInfo, type ProcessInfo } from "./process-info.js";

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

export interface ScannedProcess {
  readonly info: ProcessInfo;
  readonly state: ProcessState;
  readonly source: UsageSource;
  /** Why the numbers are missing or come from smaps_rollup. */
  readonly reason?: string;
  readonly vmas: readonly Vma[];
  /** One usage row per VMA (pagemap source), or a single row (smaps_rollup source). */
  readonly usage: Float64Array;
  /** This process's entries in the scan's entry store, [start, end). */
  readonly entries: readonly [number, number];
  readonly swapEntries: readonly [number, number];
}

export interface ScanOptions {
  /** Only these pids (default: every process). */
  readonly pids?: readonly number[];
  /** Also read /proc/kpagecgroup for every looked-up page. */
  readonly cgroups?: boolean;
  /** Look every present page up, never settling exclusive pages from pagemap alone. */
  readonly exact?: boolean;
  /** Keep only processes for which this returns true (checked before their memory is read). */
  readonly select?: (info: ProcessInfo) => boolean;
  /** Called after each process with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
  readonly passwdFile?: string;
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
  readonly store: EntryStore;
  readonly swaps: SwapStore;
  readonly kpage: KpageTable;
  readonly lookup: LookupStats | undefined;
  /** Whether pagemap exclusivity was trusted for private anonymous pages (see pagemap-walk.ts). */
  readonly trustedExclusive: boolean;
}

function emptyUsage(rows: number): Float64Array {
  return new Float64Array(Math.max(rows, 1) * NF);
}

/** A usage row from the kernel's smaps_rollup totals (fallback without PFN access). */
export function usageFromRollup(r: SmapsFields): Float64Array {
  const row = emptyUsage(1);
  const g = (k: string): number => r[k] ?? 0;
  row[U.rss] = g("Rss");
  row[U.pss] = g("Pss");
  row[U.uss] = g("Private_Clean") + g("Private_Dirty");
  row[U.shared] = g("Shared_Clean") + g("Shared_Dirty");
  row[U.anon] = g("Anonymous");
  row[U.pssAnon] = g("Pss_Anon");
  row[U.pssFile] = g("Pss_File");
  row[U.pssShmem] = g("Pss_Shmem");
  row[U.swap] = g("Swap");
  row[U.swapPss] = g("SwapPss");
  row[U.ksm] = g("KSM");
  row[U.thp] = g("AnonHugePages") + g("ShmemPmdMapped") + g("FilePmdMapped");
  row[U.hugetlbPrivate] = g("Private_Hugetlb");
  row[U.hugetlbShared] = g("Shared_Hugetlb");
  return row;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function scanSystem(procfs: ProcFs, options: ScanOptions = {}): Scan {
  const t0 = performance.now();
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
  const store = new EntryStore();
  const swaps = new SwapStore();
  const buf = new PagemapBuffer();
  const pids = options.pids ?? procfs.listPids();
  const processes: ScannedProcess[] = [];
  const vanished: number[] = [];
  let pfnHiddenSeen = false;

  for (let n = 0; n < pids.length; n++) {
    const pid = pids[n]!;
    options.onProgress?.(n, pids.length);
    let info: ProcessInfo;
    try {
      info = readProcessInfo(procfs, pid, users);
    } catch (err) {
      if (err instanceof ProcessGoneError) {
        vanished.push(pid);
        continue;
      }
      throw err;
    }
    if (options.select && !options.select(info)) continue;
    const unreadable = (reason: string): ScannedProcess => ({
      info,
      state: "unreadable",
      source: "none",
      reason,
      vmas: [],
      usage: emptyUsage(1),
      entries: [store.length, store.length],
      swapEntries: [swaps.length, swaps.length],
    });
    let vmas: Vma[];
    try {
      vmas = parseMaps(procfs.readText(`${pid}/maps`, pid), procfs.path(pid, "maps"));
    } catch (err) {
      if (err instanceof ProcessGoneError) vanished.push(pid);
      else if (err instanceof PermissionError) processes.push(unreadable(err.message));
      else throw err;
      continue;
    }
    if (vmas.length === 0) {
      processes.push({
        info,
        state: "no-mm",
        source: "none",
        reason: info.cmdline.length === 0 ? "kernel thread or zombie: no user memory" : "no mappings",
        vmas,
        usage: emptyUsage(1),
        entries: [store.length, store.length],
        swapEntries: [swaps.length, swaps.length],
      });
      continue;
    }
    const entryStart = store.length;
    const swapStart = swaps.length;
    const fromRollup = (reason: string): ScannedProcess | undefined => {
      store.truncate(entryStart);
      swaps.truncate(swapStart);
      try {
        const rollup = parseSmapsRollup(procfs.readText(`${pid}/smaps_rollup`, pid), procfs.path(pid, "smaps_rollup"));
        return {
          info,
          state: "ok",
          source: "smaps_rollup",
          reason,
          vmas,
          usage: usageFromRollup(rollup),
          entries: [entryStart, entryStart],
          swapEntries: [swapStart, swapStart],
        };
      } catch (err) {
        if (err instanceof ProcessGoneError) return undefined;
        if (err instanceof PermissionError) return unreadable(err.message);
        throw err;
      }
    };
    let result: ScannedProcess | undefined;
    if (mode === "smaps_rollup") {
      result = fromRollup("page-level data needs root");
    } else {
      const target: WalkTarget = {
        store,
        swaps,
        usage: emptyUsage(vmas.length),
        trustExclusive: trustedExclusive,
        maxSwapfiles: kernel.maxSwapfiles,
        pageSize: kernel.pageSize,
        pfnHidden: false,
      };
      try {
        readPagemap(procfs, pid, vmas, kernel.pageSize, buf, (u32, count, vpn, v) => walkPagemap(u32, count, vpn, v, target));
        if (target.pfnHidden) {
          pfnHiddenSeen = true;
          result = fromRollup("PFNs read as zero (no CAP_SYS_ADMIN in the initial user namespace)");
        } else {
          result = {
            info,
            state: "ok",
            source: "pagemap",
            vmas,
            usage: target.usage,
            entries: [entryStart, store.length],
            swapEntries: [swapStart, swaps.length],
          };
        }
      } catch (err) {
        store.truncate(entryStart);
        swaps.truncate(swapStart);
        if (err instanceof ProcessGoneError) result = undefined;
        else if (err instanceof PermissionError) result = unreadable(err.message);
        else if (err instanceof PagelensError) result = unreadable(describe(err));
        else throw err;
      }
    }
    if (result) processes.push(result);
    else vanished.push(pid);
  }
  options.onProgress?.(pids.length, pids.length);
  if (pfnHiddenSeen) {
    notes.push("PFNs read as zero: this process lacks CAP_SYS_ADMIN in the initial user namespace; affected processes use smaps_rollup totals.");
    if (!processes.some((p) => p.source === "pagemap")) mode = "smaps_rollup";
  }

  let kpage = new KpageTable();
  let lookup: LookupStats | undefined;
  if (mode === "pagemap" && store.length > 0) {
    const wantCgroups = options.cgroups === true && f.kpagecgroup.available;
    const res = lookupKpages(procfs, PfnSet.fromStore(store), { cgroups: wantCgroups });
    kpage = res.table;
    lookup = res.stats;
  }
  const refs = countSwapRefs(swaps.slots);
  for (const p of processes) {
    if (p.source !== "pagemap") continue;
    accountEntries(store, p.entries[0], p.entries[1], kpage, p.usage, kernel.pageSize);
    accountSwap(swaps.slots, swaps.vmas, p.swapEntries[0], p.swapEntries[1], refs, p.usage, kernel.pageSize);
  }
  if (processes.some((p) => p.state === "unreadable"))
    notes.push("Some processes refuse to be read even by root (shown as unreadable); their memory is not in the totals.");

  let meminfo: Meminfo | undefined;
  const mi = procfs.readOptionalText("meminfo");
  if (mi !== undefined) meminfo = parseMeminfo(mi, procfs.path("meminfo"));

  return {
    takenAt: new Date().toISOString(),
    durationMs: performance.now() - t0,
    kernel,
    meminfo,
    mode,
    processes,
    vanished,
    notes,
    store,
    swaps,
    kpage,
    lookup,
    trustedExclusive,
  };
}
