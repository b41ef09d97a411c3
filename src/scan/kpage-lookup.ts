/**
 * Looks up /proc/kpagecount, /proc/kpageflags (and optionally
 * /proc/kpagecgroup) for a set of PFNs, over sorted, coalesced runs: PFNs
 * closer than GAP are read through, runs never cross a 64 Ki-PFN page of the
 * set, and each run costs one pread per file. Never one read per page. The
 * runs come from a cursor over the set's bitmaps in WebAssembly, and the
 * values read are stored there by rank (kpage-index.ts, wasm/kpages.ts).
 *
 * Values are stored by rank (the PFN's position among the looked-up PFNs in
 * ascending order), so a scattered set of PFNs costs a few bytes per PFN
 * rather than a table sized by the PFN space. Every PFN of a stored run is in
 * the set, so a run's PFNs have consecutive ranks: loops over runs index the
 * value arrays directly from `rankOf(first PFN)`.
 */
import type { ProcFs, U64File } from "../procfs/procfs.js";
import { KpageIndex, type KpageWasm, type StoreColumns, type Window } from "./kpage-index.js";
import { BLOCK_WORDS, popcount, type KpageValues, type LookupStats } from "./scan-data.js";
import { INTO_CGROUP, INTO_COUNT, INTO_FLAGS, PFN_BLOCK_SHIFT } from "./wasm-abi.js";

const PAGE = 1 << PFN_BLOCK_SHIFT;
const WORDS = PAGE / 32;
/**
 * Read through holes up to this many PFNs instead of starting a new read.
 * Each PFN read costs the kernel about 0.1 us whether wanted or not (measured
 * on 6.18: ~95 ns per kpagecount word, ~100 per kpageflags word); one more
 * synchronous pread costs about 1.5 us, so holes of up to ~16 PFNs are worth
 * reading through. Measured on the 8 x 512 MiB + 1 GiB workload with memory
 * fragmented (273 K PFNs scattered among the private pages), reads as below:
 * gap 16: 56 ms, 60 ms of CPU; 32: 59 ms; gap 64 all on the pool (before):
 * 142 ms, 150 ms of CPU.
 */
export const GAP = 16;
/**
 * Runs of at most this many words are read synchronously on this thread; only
 * longer ones go to libuv's pool. A pool read costs 10-20 us of CPU (the
 * request, two thread wake-ups, the promise) against ~1.5 us for a pread
 * here, and the scattered PFNs of shared libraries and fragmented memory come
 * as thousands of runs of a few words: with a system's 13 K library PFNs in
 * 9.8 K runs, the lookup took 105-187 ms (100-120 ms of CPU) on the pool and
 * 28-44 ms (33 ms of CPU) synchronously. Long runs (dense sets: --exact, big
 * processes) still go to the pool, where their kernel time (0.1 us a word)
 * spreads over the cores while this thread reads the short ones.
 */
const SYNC_MAX = 512;

/** The PFNs to look up, as a bitmap in pages of 64 Ki PFNs. */
export class PfnSet {
  readonly pages: (Uint32Array | undefined)[] = [];
  size = 0;

  private words(p: number): Uint32Array {
    let words = this.pages[p];
    if (!words) {
      words = new Uint32Array(WORDS);
      this.pages[p] = words;
    }
    return words;
  }

  add(pfn: number): void {
    const words = this.words(Math.floor(pfn / PAGE));
    const o = pfn & (PAGE - 1);
    const m = 1 << (o & 31);
    if ((words[o >>> 5]! & m) === 0) {
      words[o >>> 5]! |= m;
      this.size++;
    }
  }

  /** Add `len` PFNs from `pfn`, a word (32 PFNs) at a time. */
  addRun(pfn: number, len: number): void {
    let p = pfn;
    const end = pfn + len;
    while (p < end) {
      const o = p & (PAGE - 1); // the low bits survive ToInt32, whatever the size of p
      const words = this.words(Math.floor(p / PAGE));
      let left = Math.min(end - p, PAGE - o);
      p += left;
      let w = o >>> 5;
      let b = o & 31;
      while (left > 0) {
        const k = Math.min(32 - b, left);
        const mask = k === 32 ? -1 : ((1 << k) - 1) << b;
        const old = words[w]!;
        if ((old & mask) !== mask) {
          this.size += popcount(mask & ~old);
          words[w] = old | mask;
        }
        left -= k;
        b = 0;
        w++;
      }
    }
  }
}

/** Rank of the first PFN of each bitmap word of each page: rank(pfn) = base[word] + bits below it. */
function rankBases(set: PfnSet): { bases: (Uint32Array | undefined)[]; total: number } {
  const bases: (Uint32Array | undefined)[] = [];
  let rank = 0;
  set.pages.forEach((words, p) => {
    if (!words) return;
    const base = new Uint32Array(WORDS);
    for (let w = 0; w < WORDS; w++) {
      base[w] = rank;
      if (words[w] !== 0) rank += popcount(words[w]!);
    }
    bases[p] = base;
  });
  return { bases, total: rank };
}

/** The values of looked-up PFNs, by rank. */
export class KpageTable {
  /** Map count (kpagecount) by rank. */
  readonly count: Uint32Array;
  /** kpageflags bits 0-31 and 32-63, by rank. */
  readonly flagsLo: Uint32Array;
  readonly flagsHi: Uint32Array;
  /** kpagecgroup inode by rank, when read. */
  readonly cgroup: Float64Array | undefined;
  /** Looked-up PFNs past the end of the kpage files (device memory): no values (count 0). */
  beyondEnd = 0;
  /** kpageflags was read only for some PFNs (LookupOptions.flagsFor); the others read as 0. */
  partialFlags = false;

  constructor(
    private readonly set: PfnSet = new PfnSet(),
    private readonly bases: (Uint32Array | undefined)[] = [],
    readonly size = 0,
    withCgroup = false,
    /** The values' home when the table was filled by a lookup: WebAssembly memory the accounting reads in place. */
    readonly index?: KpageIndex,
  ) {
    this.count = index?.count ?? new Uint32Array(size);
    this.flagsLo = index?.flagsLo ?? new Uint32Array(size);
    this.flagsHi = index?.flagsHi ?? new Uint32Array(size);
    this.cgroup = index ? index.cgroup : withCgroup ? new Float64Array(size) : undefined;
  }

  static forSet(set: PfnSet, withCgroup: boolean): KpageTable {
    const { bases, total } = rankBases(set);
    return new KpageTable(set, bases, total, withCgroup);
  }

  /** A table whose values live in a KpageIndex (for lookups). */
  static indexed(set: PfnSet, withCgroup: boolean): KpageTable {
    const { bases, total } = rankBases(set);
    return new KpageTable(set, bases, total, withCgroup, KpageIndex.fromSet(set.pages, bases, total, withCgroup));
  }

  /**
   * A table for the PFNs of a run store's records, its set and rank index
   * built in WebAssembly; with `subset`, it also knows which PFNs need flags
   * (records without E_SHMEM_VMA). Returns the table and that subset's size.
   */
  static fromStore(store: StoreColumns, withCgroup: boolean, subset: boolean, reuse?: KpageWasm): { table: KpageTable; subsetSize: number } {
    const index = KpageIndex.fromStore(store, withCgroup, subset, reuse);
    const v = index.views!;
    const set = new PfnSet();
    v.pages.forEach((words, p) => (set.pages[p] = words));
    set.size = v.size;
    return { table: new KpageTable(set, v.bases, v.size, withCgroup, index), subsetSize: subset ? v.subsetSize : v.size };
  }

  /** The rank index (see KpagePages in kpage-account.ts). */
  rankIndex(): { readonly pages: readonly (Uint32Array | undefined)[]; readonly bases: readonly (Uint32Array | undefined)[] } {
    return { pages: this.set.pages, bases: this.bases };
  }

  /**
   * The table as the scan's plain value holds it (scan-data.ts KpageValues):
   * views on the same arrays, not copies, when the index was built from a
   * store in WebAssembly; the JavaScript-built index flattened.
   */
  values(): KpageValues {
    const flat = this.index?.views;
    let blocks: Uint32Array;
    let bitmaps: Uint32Array;
    let bases: Uint32Array;
    if (flat) ({ blocks, bitmaps, baseWords: bases } = flat);
    else {
      const used: number[] = [];
      this.set.pages.forEach((words, p) => words && used.push(p));
      blocks = Uint32Array.from(used);
      bitmaps = new Uint32Array(used.length * BLOCK_WORDS);
      bases = new Uint32Array(used.length * BLOCK_WORDS);
      used.forEach((p, s) => {
        bitmaps.set(this.set.pages[p]!, s * BLOCK_WORDS);
        bases.set(this.bases[p]!, s * BLOCK_WORDS);
      });
    }
    return {
      size: this.size,
      blocks,
      bitmaps,
      bases,
      count: this.count,
      flagsLo: this.flagsLo,
      flagsHi: this.flagsHi,
      cgroup: this.cgroup,
      beyondEnd: this.beyondEnd,
      partialFlags: this.partialFlags,
    };
  }

  /** The rank of a looked-up PFN, or -1. */
  rankOf(pfn: number): number {
    const p = Math.floor(pfn / PAGE);
    const words = this.set.pages[p];
    if (!words) return -1;
    const o = pfn & (PAGE - 1);
    const w = o >>> 5;
    const bit = o & 31;
    const word = words[w]!;
    if (((word >>> bit) & 1) === 0) return -1;
    return this.bases[p]![w]! + (bit === 0 ? 0 : popcount(word & (0xffffffff >>> (32 - bit))));
  }

  has(pfn: number): boolean {
    return this.rankOf(pfn) >= 0;
  }
  /** Map count (kpagecount); 0 when not looked up. */
  countOf(pfn: number): number {
    const r = this.rankOf(pfn);
    return r < 0 ? 0 : this.count[r]!;
  }
  flagsLoOf(pfn: number): number {
    const r = this.rankOf(pfn);
    return r < 0 ? 0 : this.flagsLo[r]!;
  }
  flagsHiOf(pfn: number): number {
    const r = this.rankOf(pfn);
    return r < 0 ? 0 : this.flagsHi[r]!;
  }
  /** Memory cgroup inode (kpagecgroup); 0 when uncharged or not read. */
  cgroupOf(pfn: number): number {
    const r = this.rankOf(pfn);
    return r < 0 || !this.cgroup ? 0 : this.cgroup[r]!;
  }

  /** Visit every looked-up PFN in ascending order (so ranks 0, 1, 2, ...). */
  forEachKnown(fn: (pfn: number, count: number, lo: number, hi: number, cgroup: number, rank: number) => void): void {
    let rank = 0;
    this.set.pages.forEach((words, p) => {
      if (!words) return;
      for (let w = 0; w < WORDS; w++) {
        let bits = words[w]!;
        while (bits !== 0) {
          const low = bits & -bits;
          bits ^= low;
          const pfn = p * PAGE + w * 32 + 31 - Math.clz32(low);
          fn(pfn, this.count[rank]!, this.flagsLo[rank]!, this.flagsHi[rank]!, this.cgroup?.[rank] ?? 0, rank);
          rank++;
        }
      }
    });
  }
}

export interface LookupOptions {
  readonly cgroups?: boolean;
}

export type { LookupStats } from "./scan-data.js";

/**
 * One file's part of a lookup: what its words become, and whether it reads
 * the set's runs or (kpageflags where only some pages need flags) those of
 * the index's subset.
 */
interface FilePass {
  readonly name: "kpagecount" | "kpageflags" | "kpagecgroup";
  readonly into: number;
  readonly subset?: boolean;
}

function passesFor(cgroups: boolean, flagsSubset: boolean): FilePass[] {
  const passes: FilePass[] = [
    { name: "kpagecount", into: INTO_COUNT },
    { name: "kpageflags", into: INTO_FLAGS, subset: flagsSubset },
  ];
  if (cgroups) passes.push({ name: "kpagecgroup", into: INTO_CGROUP });
  return passes;
}

/**
 * Read kpagecount/kpageflags (and kpagecgroup) for every PFN in `set`, one
 * pread per run and file, on this thread: for the single-process views.
 */
export function lookupKpages(procfs: ProcFs, set: PfnSet, options: LookupOptions = {}): { table: KpageTable; stats: LookupStats } {
  const table = KpageTable.indexed(set, options.cgroups === true);
  const index = table.index!;
  const win = index.windows[0]!;
  let reads = 0;
  let wordsRead = 0;
  for (const pass of passesFor(options.cgroups === true, false)) {
    const file = procfs.openU64(pass.name);
    try {
      index.runsReset(false);
      for (let n = index.nextRuns(0, GAP); n > 0; n = index.nextRuns(0, GAP)) {
        let at = 0;
        for (let k = 0; k < n; k++) {
          const got = file.readWords(win.start[k]!, win.len[k]!, win.bytes.subarray(at * 8));
          win.got[k] = got;
          wordsRead += got;
          at += win.len[k]!;
        }
        reads += n;
        const beyond = index.compact(pass.into, 0, n);
        if (pass.into === INTO_COUNT) table.beyondEnd += beyond;
      }
    } finally {
      file.close();
    }
  }
  return { table, stats: { pfns: table.size, reads, wordsRead } };
}

/**
 * The whole-system scan's lookup, for the PFNs of a run store's records (their
 * set and rank index built in WebAssembly), a window of runs at a time: its
 * long runs read on libuv's pool threads (the kernel work, about 0.1 us per
 * PFN and file, spreads over the cores), its short ones here meanwhile (see
 * SYNC_MAX), the next window while the values of the last are stored. With `flagsWhereNeeded`, kpageflags is read
 * only for the PFNs of records without E_SHMEM_VMA; the others keep flags 0
 * (for reports that take a page's class from its mapping where that is
 * certain: see entry-store.ts E_SHMEM_VMA).
 */
export async function lookupStoreAsync(
  procfs: ProcFs,
  store: StoreColumns,
  options: LookupOptions & { flagsWhereNeeded?: boolean; reuse?: KpageWasm; onIndexed?: (pfns: number) => void } = {},
): Promise<{ table: KpageTable; stats: LookupStats }> {
  const subset = options.flagsWhereNeeded === true;
  const { table, subsetSize } = KpageTable.fromStore(store, options.cgroups === true, subset, options.reuse);
  options.onIndexed?.(table.size);
  const { reads, wordsRead } = await readPasses(procfs, table, passesFor(options.cgroups === true, subset));
  table.partialFlags = subsetSize < table.size;
  return { table, stats: { pfns: table.size, reads, wordsRead } };
}

/**
 * Read one long run on the pool into window `win` at word `at`; its word
 * count lands in `win.got[k]`. A function of its own, not a closure in the
 * loop over a window's runs: a closure there captures the loop's `k`, and V8
 * then allocates a context for every iteration, pool read or not (37 K runs
 * a scan of the reference workload: 1.3 MB of garbage a scan, the largest
 * single share of a repeated scan's, docs/performance.md section 3).
 */
function readOnPool(file: U64File, win: Window, k: number, len: number, at: number): Promise<number> {
  return file.readWordsAsync(win.start[k]!, len, win.bytes, at * 8).then((got) => (win.got[k] = got));
}

/** Read every pass's file over its runs into the table's index, a window at a time (long runs on the pool threads). */
async function readPasses(procfs: ProcFs, table: KpageTable, passes: readonly FilePass[]): Promise<{ reads: number; wordsRead: number }> {
  const index = table.index!;
  let reads = 0;
  let wordsRead = 0;
  for (const pass of passes) {
    const file = procfs.openU64(pass.name);
    index.runsReset(pass.subset === true);
    /** Read the next runs into window `w`; resolves with their number once all are in. */
    const issue = (w: number): Promise<number> | undefined => {
      const n = index.nextRuns(w, GAP);
      if (n === 0) return undefined;
      reads += n;
      const win = index.windows[w]!;
      const pending: Promise<number>[] = [];
      let at = 0;
      for (let k = 0; k < n; k++) {
        const len = win.len[k]!;
        if (len <= SYNC_MAX) {
          try {
            const got = file.readWords(win.start[k]!, len, win.bytes, at * 8);
            wordsRead += got;
            win.got[k] = got;
          } catch (err) {
            // Reported once the pool reads of this window are settled (below).
            pending.push(Promise.reject(err));
            break;
          }
        } else pending.push(readOnPool(file, win, k, len, at));
        at += len;
      }
      // Settle every read before reporting a failure, so none is left writing into a buffer or a closed fd.
      return Promise.allSettled(pending).then((results) => {
        for (const r of results) {
          if (r.status === "rejected") throw r.reason;
          wordsRead += r.value;
        }
        return n;
      });
    };
    try {
      let pending = issue(0);
      for (let w = 0; pending; w = 1 - w) {
        const n = await pending;
        pending = issue(1 - w);
        const beyond = index.compact(pass.into, w, n);
        if (pass.into === INTO_COUNT) table.beyondEnd += beyond;
      }
    } finally {
      file.close();
    }
  }
  return { reads, wordsRead };
}
