/**
 * The scan: discover processes, read every page table (on two threads where
 * there are two cores), look up kpagecount/kpageflags once for all PFNs that
 * need it, and do the accounting. The result is plain data from which every
 * report is a pure function (and which snapshots will save and reload).
 */
import { NF, U } from "../accounting/usage.js";
import { accountEntries, accountSwap, countSwapRefs, RunMemo } from "../accounting/account.js";
import { PermissionError, ProcessGoneError, ProcReadError } from "../errors.js";
import { probeKernel, type KernelInfo } from "../kernel/features.js";
import type { Vma } from "../parse/maps.js";
import { parseMeminfo, type Meminfo } from "../parse/meminfo.js";
import { parseSmapsRollup, type SmapsFields } from "../parse/smaps.js";
import type { ProcFs } from "../procfs/procfs.js";
import { UserNames } from "../procfs/users.js";
import { discoverProcesses, type Candidate } from "./collect.js";
import { EntryStore, SwapStore } from "./entry-store.js";
import { KpageTable, PfnSet, readKpagePages, tableOf, type LookupStats, type PageValues } from "./kpage-lookup.js";
import { runPagemapPass, type PagemapOutcome, type PagemapParams } from "./pagemap-pass.js";
import type { ProcessInfo } from "./process-info.js";
import { ScanWorker, workerUseful } from "./worker-pool.js";

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
  /** Use a second thread: true, false, or "auto" (default: when there are two cores and enough to read). */
  readonly threads?: boolean | "auto";
  /** Receives timings of the scan's phases (for `PAGELENS_TRACE=1`). */
  readonly trace?: (phase: string, ms: number, detail?: string) => void;
  /** Called as processes are read with (done, total). */
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
  readonly kpage: KpageTable;
  readonly lookup: LookupStats | undefined;
  /** Whether pagemap exclusivity was trusted for private anonymous pages (see pagemap-walk.ts). */
  readonly trustedExclusive: boolean;
}

/** Below this many resident pages in all (256 MiB), a second thread costs more than it saves. */
const WORKER_MIN_PAGES = 65536;

const EMPTY_RUNS: StoreSlice<EntryStore> = { store: new EntryStore(), start: 0, end: 0 };
const EMPTY_SWAPS: StoreSlice<SwapStore> = { store: new SwapStore(), start: 0, end: 0 };

/** A usage row from the kernel's smaps_rollup totals (fallback without PFN access). */
export function usageFromRollup(r: SmapsFields): Float64Array {
  const row = new Float64Array(NF);
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

function noUsage(info: ProcessInfo, state: ProcessState, reason: string, vmas: readonly Vma[] = []): ScannedProcess {
  return { info, state, source: "none", reason, vmas, usage: new Float64Array(NF), runs: EMPTY_RUNS, swapEntries: EMPTY_SWAPS };
}

/** The kernel's totals for one process, or why they cannot be had; undefined if it exited. */
function fromRollup(procfs: ProcFs, c: Candidate, reason: string): ScannedProcess | undefined {
  const pid = c.info.pid;
  try {
    const rollup = parseSmapsRollup(procfs.readText(`${pid}/smaps_rollup`, pid), procfs.path(pid, "smaps_rollup"));
    return { info: c.info, state: "ok", source: "smaps_rollup", reason, vmas: c.vmas, usage: usageFromRollup(rollup), runs: EMPTY_RUNS, swapEntries: EMPTY_SWAPS };
  } catch (err) {
    if (err instanceof ProcessGoneError) return undefined;
    if (err instanceof PermissionError) return noUsage(c.info, "unreadable", err.message, c.vmas);
    throw err;
  }
}

/** Split table pages between two readers so each gets about half of the PFNs. */
function splitPages(set: PfnSet): [number[], number[]] {
  const sizes: [number, number][] = [];
  set.pages.forEach((w, p) => {
    if (!w) return;
    let n = 0;
    for (const x of w) if (x !== 0) n++;
    sizes.push([p, n]);
  });
  const total = sizes.reduce((a, [, n]) => a + n, 0);
  const mine: number[] = [];
  const theirs: number[] = [];
  let acc = 0;
  for (const [p, n] of sizes) {
    (acc < total / 2 ? theirs : mine).push(p);
    acc += n;
  }
  return [mine, theirs];
}

export async function scanSystem(procfs: ProcFs, options: ScanOptions = {}): Promise<Scan> {
  const t0 = performance.now();
  const pids = options.pids ?? procfs.listPids();
  // Start the worker first: its start-up (~40 ms) overlaps discovery below.
  let worker: ScanWorker | undefined =
    options.threads === true || (options.threads !== false && pids.length > 1 && workerUseful()) ? new ScanWorker(procfs.root, procfs.sysRoot) : undefined;
  try {
    return await scanWith(procfs, options, pids, worker, t0);
  } finally {
    worker?.close();
    worker = undefined;
  }
}

async function scanWith(procfs: ProcFs, options: ScanOptions, pids: readonly number[], worker: ScanWorker | undefined, t0: number): Promise<Scan> {
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
  const found = discoverProcesses(procfs, pids, users, kernel.pageSize, options.select);
  phase("discover processes", `${found.candidates.length} to read`);
  const vanished = [...found.vanished];
  const processes: ScannedProcess[] = found.skipped.map((s) => noUsage(s.info, s.why, s.reason));
  // Biggest first, so the two threads finish together.
  const candidates = [...found.candidates].sort((a, b) => b.estimatedPages - a.estimatedPages);
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
    const targets = candidates.map((c) => ({ pid: c.info.pid, vmas: c.vmas.map((v) => ({ start: v.start, end: v.end, kind: v.kind })) }));
    const totalPages = candidates.reduce((a, c) => a + c.estimatedPages, 0);
    const useWorker = worker !== undefined && (options.threads === true || totalPages >= WORKER_MIN_PAGES);
    const queue = new Int32Array(new SharedArrayBuffer(4));
    const next = (): number => {
      const i = Atomics.add(queue, 0, 1);
      if (i < targets.length) options.onProgress?.(i, targets.length);
      return i < targets.length ? i : -1;
    };
    const remote = useWorker ? worker!.pagemaps(targets, params, queue.buffer as SharedArrayBuffer) : undefined;
    const localStore = new EntryStore();
    const localSwaps = new SwapStore();
    const local = runPagemapPass(procfs, targets, params, next, localStore, localSwaps);
    phase("pagemap (main thread)", `${local.length} processes, ${localStore.pages} pages kept for lookup`);
    const parts: { outcomes: PagemapOutcome[]; store: EntryStore; swaps: SwapStore }[] = [{ outcomes: local, store: localStore, swaps: localSwaps }];
    if (remote) {
      parts.push(await remote);
      phase("pagemap (waiting for the worker)", `${parts[1]!.outcomes.length} processes, ${parts[1]!.store.pages} pages kept`);
    }
    options.onProgress?.(targets.length, targets.length);

    let hidden = 0;
    for (const part of parts) {
      for (const o of part.outcomes) {
        const c = candidates[o.index]!;
        if (o.status === "ok")
          processes.push({
            info: c.info,
            state: "ok",
            source: "pagemap",
            vmas: c.vmas,
            usage: o.usage,
            runs: { store: part.store, start: o.runs[0], end: o.runs[1] },
            swapEntries: { store: part.swaps, start: o.swaps[0], end: o.swaps[1] },
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
    }
    if (hidden > 0) {
      notes.push("PFNs read as zero: this process lacks CAP_SYS_ADMIN in the initial user namespace; affected processes use smaps_rollup totals.");
      if (!processes.some((p) => p.source === "pagemap")) mode = "smaps_rollup";
    }

    const set = new PfnSet();
    for (const part of parts) {
      part.store.forEachChunk(0, part.store.length, (cols, from, to) => {
        for (let i = from; i < to; i++) set.addRun(cols.pfn[i]!, cols.len[i]!);
      });
    }
    if (set.size > 0) {
      const cgroups = options.cgroups === true && f.kpagecgroup.available;
      const reads: PageValues[] = [];
      let beyondEnd = 0;
      let stats: LookupStats = { pfns: 0, reads: 0, wordsRead: 0 };
      const merge = (r: { pages: PageValues[]; stats: LookupStats; beyondEnd: number }): void => {
        reads.push(...r.pages);
        beyondEnd += r.beyondEnd;
        stats = { pfns: stats.pfns + r.stats.pfns, reads: stats.reads + r.stats.reads, wordsRead: stats.wordsRead + r.stats.wordsRead };
      };
      if (useWorker && set.size >= WORKER_MIN_PAGES / 4) {
        const [mine, theirs] = splitPages(set);
        const remoteReads = worker!.kpages(
          theirs.map((index) => ({ index, words: set.pages[index]! })),
          cgroups,
        );
        merge(readKpagePages(procfs, set, mine, { cgroups }));
        merge(await remoteReads);
      } else merge(readKpagePages(procfs, set, undefined, { cgroups }));
      kpage = tableOf(set, reads, cgroups, beyondEnd);
      phase("kpagecount/kpageflags", `${stats.pfns} PFNs, ${stats.reads} reads, ${stats.wordsRead} words`);
      lookup = stats;
    }
    // Accounting: the worker takes the processes it read, this thread the others, at the same time.
    const remoteStore = parts[1]?.store;
    const remoteAccount =
      remoteStore && remoteStore.length > 0 && kpage.size > 0
        ? worker!.account(
            set.pages.flatMap((words, index) => (words ? [{ index, words }] : [])),
            kpage.count,
            kpage.flagsLo,
            kernel.pageSize,
          )
        : undefined;
    const memo = new RunMemo();
    for (const p of processes) {
      if (p.source !== "pagemap" || (remoteAccount && p.runs.store === remoteStore)) continue;
      accountEntries(p.runs.store, p.runs.start, p.runs.end, kpage, p.usage, kernel.pageSize, memo);
    }
    phase("accounting (main thread)");
    if (remoteAccount) {
      const byPid = new Map(processes.map((p) => [p.info.pid, p]));
      for (const d of (await remoteAccount).deltas) {
        const p = byPid.get(candidates[d.index]!.info.pid);
        if (!p || p.source !== "pagemap") continue;
        for (let k = 0; k < d.usage.length; k++) p.usage[k]! += d.usage[k]!;
      }
    }
    if (remoteAccount) phase("accounting (waiting for the worker)");
    const refs = countSwapRefs(parts.flatMap((p) => p.swaps.slots));
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
    takenAt: new Date().toISOString(),
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
