/**
 * The result of a scan as one plain value: records and typed arrays, no
 * class, nothing in its type about WebAssembly or the scanner (its arrays
 * may be views on their buffers: see Ownership below).
 * Every report reads this (through the pure helpers below), so a report can
 * be computed from a value decoded on any machine (scan-codec.ts
 * encodeScan/decodeScan), and a saved scan gives the same reports as the
 * live one (test/fixture/scan-codec.test.ts checks every view).
 *
 * Indexes, in one place:
 *  - a process's VMA index `v` is its position in `vmas`; its usage row is
 *    `usage[v * NF .. (v + 1) * NF)` (accounting/usage.ts USAGE_FIELDS order,
 *    bytes);
 *  - a run index `r` numbers the runs of ScanData.runs (chunked: see
 *    ScanRuns); a process owns the runs `[runs.start, runs.end)`, and a
 *    run's `vma` is a VMA index of that process;
 *  - an object index `o` numbers the shared objects of ScanData.objects (a
 *    file or shmem object more than one mapping maps); a process owns the
 *    references `[refs.start, refs.end)` of ScanData.refs, each a stretch of
 *    one object's pages by page offset, in one of its VMAs;
 *  - a rank is a looked-up PFN's position among all looked-up PFNs in
 *    ascending order: `kpage.count[rank]` etc. (kpageRankOf). Every PFN of a
 *    run was looked up, so a run's PFNs have consecutive ranks from the rank
 *    of its first PFN.
 *
 * Ownership: the big arrays are not copied out of the machinery that filled
 * them: the run chunks are the scan's run store's, the shared objects' runs
 * and the references views on their stores' columns, the kpage values views
 * on the lookup's WebAssembly memory. scanSystem() makes both for that scan
 * alone, so its value owns them. A Scanner's scan (scanner.ts) shares them
 * with the scanner, whose next scan refills them: such a value is valid
 * until that next scan; `Scanner.detach(scan)` (or detachScan) copies it
 * out (17 bytes per run, 12 per looked-up page).
 */
import type { KernelInfo } from "../kernel/features.js";
import type { Vma } from "../parse/maps.js";
import type { Meminfo } from "../parse/meminfo.js";
import type { ProcessInfo } from "./process-info.js";
import { BLOCK_WORDS, PFN_BLOCK_SHIFT } from "./wasm-abi.js";

/** The version of this shape; encodeScan writes it and decodeScan refuses any other. */
export const SCAN_DATA_VERSION = 2;

/**
 * The 2^16-PFN block by which the rank index (and every PFN-indexed
 * structure) is paged, and its bitmap words: re-exported from wasm-abi.ts,
 * their one definition, for the reports, which may read this module only.
 */
export { BLOCK_WORDS, PFN_BLOCK_SHIFT };

/**
 * How a process's numbers were obtained:
 *  - "pagemap": page by page from pagemap + kpagecount/kpageflags (exact, with USS);
 *  - "smaps_rollup": the kernel's own totals, when PFNs cannot be read (no root);
 *  - "none": nothing could be read (see `state`).
 */
export type UsageSource = "pagemap" | "smaps_rollup" | "none";

export type ProcessState =
  | "ok"
  | "unreadable" // the kernel refused (EACCES): another user's process without root, or one that refuses even root
  | "bad-input" // a file of it is malformed or truncated (a bad tree), or failed to read (EIO): `reason` names it
  | "no-mm"; // kernel thread or zombie: no user memory

/** A range [start, end) of indexes into one of the scan's column sets. */
export interface IndexRange {
  readonly start: number;
  readonly end: number;
}

export interface ScannedProcess {
  /** pid, parent, owner, names, memory cgroup, start time (clock ticks after boot, /proc/PID/stat field 22). */
  readonly info: ProcessInfo;
  readonly state: ProcessState;
  readonly source: UsageSource;
  /** Why the numbers are missing or come from smaps_rollup. */
  readonly reason?: string;
  /** The mappings as /proc/PID/maps listed them; a VMA index is a position here. */
  readonly vmas: readonly Vma[];
  /**
   * Usage rows of NF numbers in bytes (accounting/usage.ts): one per VMA
   * (pagemap source), or a single row for the whole process (smaps_rollup
   * and none; zeros for none).
   */
  readonly usage: Float64Array;
  /** This process's runs of looked-up pages: indexes into ScanData.runs (empty unless source is pagemap). */
  readonly runs: IndexRange;
  /** This process's references to shared objects' pages: indexes into ScanData.refs (empty unless source is pagemap). */
  readonly refs: IndexRange;
  /** This process's swap entries: indexes into ScanData.swaps. */
  readonly swaps: IndexRange;
}

/** Runs per chunk of ScanRuns: 2^14 (the run store's chunk, scan/entry-store.ts). */
export const RUN_CHUNK_SHIFT = 14;
export const RUN_CHUNK = 1 << RUN_CHUNK_SHIFT;

/** The columns of one chunk of runs; entry `i` of chunk `c` is run `c * RUN_CHUNK + i`. */
export interface RunChunk {
  /** First PFN of each run (exact: PFNs have at most 40 bits). */
  readonly pfn: Float64Array;
  /** Pages in each run (at least 1). */
  readonly len: Uint32Array;
  /** The VMA index, in the owning process's `vmas`, of each run. */
  readonly vma: Uint32Array;
  /** Compact pagemap bits and marks of each run (scan/wasm-abi.ts E_*: pagemap bits 55-61 >> 55, E_SHMEM_VMA, E_HUGE_RUN). */
  readonly bits: Uint8Array;
}

/**
 * The runs of pages that were looked up (present pages not provably mapped
 * once), all processes together: consecutive virtual pages of one VMA
 * backed by consecutive PFNs with the same pagemap bits. Kept in chunks of
 * RUN_CHUNK runs (every chunk full but the last), as the scan's run store
 * fills them, so the value costs no copy of them (1.46 M runs, 25 MB, on a
 * fragmented machine); forEachRunSlice walks a range of them.
 */
export interface ScanRuns {
  /** Number of runs. */
  readonly length: number;
  /** Run r is entry r & (RUN_CHUNK - 1) of chunk r >> RUN_CHUNK_SHIFT. */
  readonly chunks: readonly RunChunk[];
  /** Pages in all runs (the sum of `len`). */
  readonly pages: number;
}

/**
 * The pages of shared objects (files and shmem objects that more than one
 * mapping maps: scan/shared-objects.ts), each kept once however many
 * processes map it: per object, runs by page offset of consecutive PFNs
 * with the same pagemap bits. A process's pages of an object are then a few
 * references (ScanRefs) instead of runs of their own: 300 processes mapping
 * the same 256 MiB shmem segment store it once, not 300 times.
 */
export interface ScanObjects {
  /** Objects: object o's runs are [first[o], first[o + 1]); length objects + 1. */
  readonly first: Uint32Array;
  /** Page offset in the object (file offset / page size) of each run's first page; ascending within an object. */
  readonly off: Float64Array;
  /** First PFN, pages, and compact pagemap bits and marks (as RunChunk's) of each run. */
  readonly pfn: Float64Array;
  readonly len: Uint32Array;
  readonly bits: Uint8Array;
}

/**
 * References: a stretch of `len` pages of object `object` from page offset
 * `off`, mapped in VMA `vma` of the owning process, every page of which is
 * in the object's runs. forEachProcessRun hands them out as runs.
 */
export interface ScanRefs {
  readonly object: Uint32Array;
  readonly off: Float64Array;
  readonly len: Uint32Array;
  readonly vma: Uint32Array;
}

/** Swap entries found in page tables, all processes in one set of columns. */
export interface ScanSwaps {
  /** The swap entry as pagemap gives it: type | offset << 5 (exact below 2^53). */
  readonly slot: Float64Array;
  /** The VMA index, in the owning process's `vmas`, of each entry. */
  readonly vma: Uint32Array;
}

/**
 * The kpage files' values of every looked-up PFN, by rank, and the rank
 * index: the looked-up PFNs as a bitmap per 2^16-PFN block.
 */
export interface KpageValues {
  /** Number of looked-up PFNs: the length of every by-rank array. */
  readonly size: number;
  /** Block number (PFN >> 16) of each stored block, ascending; a slot is a position here. */
  readonly blocks: Uint32Array;
  /** BLOCK_WORDS words per slot: bit (pfn & 31) of word ((pfn & 0xffff) >> 5) is set when PFN was looked up. */
  readonly bitmaps: Uint32Array;
  /** BLOCK_WORDS words per slot: the rank of the first looked-up PFN at or after each word's first PFN (derived from `bitmaps`). */
  readonly bases: Uint32Array;
  /** Map count (/proc/kpagecount) by rank; 0 for PFNs past the end of the file. */
  readonly count: Uint32Array;
  /** /proc/kpageflags bits 0-31 and 32-63 by rank (0 where not read: see partialFlags). */
  readonly flagsLo: Uint32Array;
  readonly flagsHi: Uint32Array;
  /** Memory cgroup inode (/proc/kpagecgroup) by rank, when the scan read it (0: uncharged). */
  readonly cgroup: Float64Array | undefined;
  /** Looked-up PFNs past the end of the kpage files (device memory): no values (count 0). */
  readonly beyondEnd: number;
  /** kpageflags was read only for the pages whose class is not certain from their mapping; the others read 0. */
  readonly partialFlags: boolean;
}

/** What the kpage lookup cost. */
export interface LookupStats {
  readonly pfns: number;
  /** pread calls, all files together. */
  readonly reads: number;
  /** Words read, all files together (looked-up PFNs plus the holes read through). */
  readonly wordsRead: number;
}

export interface ScanData {
  /** SCAN_DATA_VERSION. */
  readonly version: typeof SCAN_DATA_VERSION;
  /** When the scan started (ISO 8601), or when the capture it read was taken. */
  readonly takenAt: string;
  /** Wall time of the scan, milliseconds. */
  readonly durationMs: number;
  /** The kernel's facts: version, page size, map count mode, swap areas, KSM, THP, features. */
  readonly kernel: KernelInfo;
  /** /proc/meminfo (bytes; HugePages_* counts as printed), when readable. */
  readonly meminfo: Meminfo | undefined;
  /** "pagemap" when kpage files and PFNs are readable, else "smaps_rollup". */
  readonly mode: "pagemap" | "smaps_rollup";
  /** Every process scanned, by ascending pid. */
  readonly processes: readonly ScannedProcess[];
  /** Pids that exited between being listed and being read, ascending. */
  readonly vanished: readonly number[];
  /** Pids asked for that did not exist when the scan started. */
  readonly notFound: readonly number[];
  /** Plain-language notes on what could not be measured and why. */
  readonly notes: readonly string[];
  readonly runs: ScanRuns;
  readonly objects: ScanObjects;
  readonly refs: ScanRefs;
  readonly swaps: ScanSwaps;
  readonly kpage: KpageValues;
  /** The lookup's cost, when one was made. */
  readonly lookup: LookupStats | undefined;
  /** Whether pagemap exclusivity was trusted for private anonymous pages of at least one process (see pagemap-walk.ts). */
  readonly trustedExclusive: boolean;
  /** Processes whose exclusive pages were settled from pagemap alone, ascending; the others were looked up page by page. */
  readonly trustedPids: readonly number[];
}

/** The scan's result. The same value as ScanData: the name the rest of the code has always used. */
export type Scan = ScanData;

/** Set bits of a 32-bit word (for ranks within a bitmap word). */
export function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0xf0f0f0f) * 0x1010101) >>> 24;
}

/** The slot of block `b`, or -1 (binary search: a scan has at most a few thousand blocks). */
export function kpageSlotOf(k: KpageValues, block: number): number {
  const blocks = k.blocks;
  let lo = 0;
  let hi = blocks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const b = blocks[mid]!;
    if (b === block) return mid;
    if (b < block) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * A block -> slot directory, when the blocks are dense enough for one to be
 * small (every real machine: the reference VM's 24 GiB are 86 blocks up to
 * block 96). Made once per value and kept aside, so that the value stays
 * plain: the binary search it replaces cost groups 12% of its CPU time (a
 * lookup per run, 1.2 M runs).
 */
const directories = new WeakMap<KpageValues, Int32Array | null>();

function directoryOf(k: KpageValues): Int32Array | null {
  let dir = directories.get(k);
  if (dir !== undefined) return dir;
  const n = k.blocks.length;
  const top = n === 0 ? 0 : k.blocks[n - 1]! + 1;
  // At most 4 MiB, or 256 bytes per block present: a hostile value with one block at 2^24 searches instead.
  if (top <= Math.max(1 << 20, 64 * n)) {
    dir = new Int32Array(top).fill(-1);
    for (let s = 0; s < n; s++) dir[k.blocks[s]!] = s;
  } else dir = null;
  directories.set(k, dir);
  return dir;
}

/** A function giving the rank of a looked-up PFN, or -1: for loops that look up many. */
export function kpageRanker(k: KpageValues): (pfn: number) => number {
  const dir = directoryOf(k);
  const { bitmaps, bases } = k;
  return (pfn) => {
    const b = Math.floor(pfn / (1 << PFN_BLOCK_SHIFT));
    const slot = dir ? (b < dir.length ? dir[b]! : -1) : kpageSlotOf(k, b);
    if (slot < 0) return -1;
    const o = pfn & ((1 << PFN_BLOCK_SHIFT) - 1);
    const at = slot * BLOCK_WORDS + (o >>> 5);
    const bit = o & 31;
    const word = bitmaps[at]!;
    if (((word >>> bit) & 1) === 0) return -1;
    return bases[at]! + (bit === 0 ? 0 : popcount(word & (0xffffffff >>> (32 - bit))));
  };
}

/** The rank of a looked-up PFN, or -1. */
export function kpageRankOf(k: KpageValues, pfn: number): number {
  return kpageRanker(k)(pfn);
}

/**
 * The map counts and low flags of block `block` laid out by PFN offset in
 * `into` (zero where not looked up); false when the block has no looked-up PFN.
 */
export function kpageDenseBlock(k: KpageValues, block: number, into: { count: Uint32Array; flagsLo: Uint32Array }): boolean {
  const dir = directoryOf(k);
  const slot = dir ? (block < dir.length ? dir[block]! : -1) : kpageSlotOf(k, block);
  if (slot < 0) return false;
  into.count.fill(0);
  into.flagsLo.fill(0);
  const at = slot * BLOCK_WORDS;
  let rank = k.bases[at]!;
  for (let w = 0; w < BLOCK_WORDS; w++) {
    let bits = k.bitmaps[at + w]!;
    while (bits !== 0) {
      const low = bits & -bits;
      bits ^= low;
      const o = w * 32 + 31 - Math.clz32(low);
      into.count[o] = k.count[rank]!;
      into.flagsLo[o] = k.flagsLo[rank]!;
      rank++;
    }
  }
  return true;
}

/**
 * Call `fn` for every run of `p` whose pages were looked up, as rank ranges
 * [from, to) of the kpage value arrays.
 */
export function forEachRankRange(scan: ScanData, p: ScannedProcess, fn: (from: number, to: number) => void): void {
  const rankOf = kpageRanker(scan.kpage);
  forEachProcessRun(scan, p, (cols, from, to) => {
    const { pfn, len } = cols;
    for (let r = from; r < to; r++) {
      const r0 = rankOf(pfn[r]!);
      if (r0 >= 0) fn(r0, r0 + len[r]!);
    }
  });
}

/** Visit runs [start, end) chunk by chunk, with an index range inside each chunk's columns. */
export function forEachRunSlice(runs: ScanRuns, start: number, end: number, fn: (cols: RunChunk, from: number, to: number) => void): void {
  let i = start;
  while (i < end) {
    const from = i & (RUN_CHUNK - 1);
    const to = Math.min(RUN_CHUNK, from + (end - i));
    fn(runs.chunks[i >>> RUN_CHUNK_SHIFT]!, from, to);
    i += to - from;
  }
}

/**
 * Call `fn` with every run of looked-up pages of `p`: its own runs
 * (ScanData.runs), then its references to shared objects' pages expanded
 * into runs (forEachRefRun). Every page `p` maps that was looked up comes
 * exactly once; the order is not address order.
 */
export function forEachProcessRun(scan: Pick<ScanData, "runs" | "objects" | "refs">, p: { readonly runs: IndexRange; readonly refs: IndexRange }, fn: (cols: RunChunk, from: number, to: number) => void): void {
  forEachRunSlice(scan.runs, p.runs.start, p.runs.end, fn);
  forEachRefRun(scan.objects, scan.refs, p.refs.start, p.refs.end, fn);
}

/** Runs handed out at once by forEachRefRun. */
const REF_SCRATCH = 4096;

/** forEachRefRun's scratch chunk, made once and reused (it is called per process, and per reference by the accounting); a nested call makes its own. */
let refScratch: RunChunk | undefined;
let refScratchBusy = false;

function newRefScratch(): RunChunk {
  return { pfn: new Float64Array(REF_SCRATCH), len: new Uint32Array(REF_SCRATCH), vma: new Uint32Array(REF_SCRATCH), bits: new Uint8Array(REF_SCRATCH) };
}

/** Index of object `o`'s run holding page offset `off` (its runs are ascending and do not overlap), or -1. */
export function objectRunAt(objects: ScanObjects, o: number, off: number): number {
  let lo = objects.first[o]!;
  let hi = objects.first[o + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (objects.off[mid]! + objects.len[mid]! <= off) lo = mid + 1;
    else if (objects.off[mid]! > off) hi = mid - 1;
    else return mid;
  }
  return -1;
}

/**
 * References [start, end) expanded into runs: each reference's pages, cut
 * where its object's runs are cut, with the reference's VMA, handed to `fn`
 * as a scratch chunk (valid only during the call) of up to REF_SCRATCH runs.
 * A reference reaching a page offset no run holds is a broken value
 * (decodeScan refuses such values before any report reads them).
 */
export function forEachRefRun(objects: ScanObjects, refs: ScanRefs, start: number, end: number, fn: (cols: RunChunk, from: number, to: number) => void): void {
  if (end <= start) return;
  const shared = !refScratchBusy;
  const cols = shared ? (refScratch ??= newRefScratch()) : newRefScratch();
  const pfn = cols.pfn as Float64Array;
  const len = cols.len as Uint32Array;
  const vma = cols.vma as Uint32Array;
  const bits = cols.bits as Uint8Array;
  if (shared) refScratchBusy = true;
  try {
    expandRefs(objects, refs, start, end, cols, pfn, len, vma, bits, fn);
  } finally {
    if (shared) refScratchBusy = false;
  }
}

function expandRefs(objects: ScanObjects, refs: ScanRefs, start: number, end: number, cols: RunChunk, pfn: Float64Array, len: Uint32Array, vma: Uint32Array, bits: Uint8Array, fn: (cols: RunChunk, from: number, to: number) => void): void {
  let n = 0;
  for (let r = start; r < end; r++) {
    const o = refs.object[r]!;
    let at = refs.off[r]!;
    const stop = at + refs.len[r]!;
    let k = objectRunAt(objects, o, at);
    while (at < stop) {
      if (k < 0 || k >= objects.first[o + 1]! || objects.off[k]! > at) throw new RangeError(`reference ${r} reaches page ${at} of object ${o}, which no run holds`);
      const runEnd = objects.off[k]! + objects.len[k]!;
      const m = Math.min(runEnd, stop) - at;
      pfn[n] = objects.pfn[k]! + (at - objects.off[k]!);
      len[n] = m;
      vma[n] = refs.vma[r]!;
      bits[n] = objects.bits[k]!;
      if (++n === REF_SCRATCH) {
        fn(cols, 0, n);
        n = 0;
      }
      at += m;
      k++;
    }
  }
  if (n > 0) fn(cols, 0, n);
}

/** Rank bases of a set of block bitmaps: what `bases` must hold for them; returns the total too. */
export function rankBasesOf(bitmaps: Uint32Array): { bases: Uint32Array; size: number } {
  const bases = new Uint32Array(bitmaps.length);
  let rank = 0;
  for (let i = 0; i < bitmaps.length; i++) {
    bases[i] = rank;
    const w = bitmaps[i]!;
    if (w !== 0) rank += popcount(w);
  }
  return { bases, size: rank };
}

/** An empty set of runs, swaps and kpage values (a scan without a lookup). */
export const EMPTY_RUNS: ScanRuns = { length: 0, chunks: [], pages: 0 };
export const NO_OBJECTS: ScanObjects = { first: new Uint32Array(1), off: new Float64Array(0), pfn: new Float64Array(0), len: new Uint32Array(0), bits: new Uint8Array(0) };
export const NO_REFS: ScanRefs = { object: new Uint32Array(0), off: new Float64Array(0), len: new Uint32Array(0), vma: new Uint32Array(0) };
export const EMPTY_SWAPS: ScanSwaps = { slot: new Float64Array(0), vma: new Uint32Array(0) };
export const NO_KPAGES: KpageValues = {
  size: 0,
  blocks: new Uint32Array(0),
  bitmaps: new Uint32Array(0),
  bases: new Uint32Array(0),
  count: new Uint32Array(0),
  flagsLo: new Uint32Array(0),
  flagsHi: new Uint32Array(0),
  cgroup: undefined,
  beyondEnd: 0,
  partialFlags: false,
};

/** Copy a typed array's visible part into a buffer of its own (`slice` copies only the view, never the whole WebAssembly memory). */
function own<T extends Float64Array | Uint32Array | Uint8Array>(a: T): T {
  return a.slice() as T;
}

/**
 * A copy of a scan sharing no array with anything else: what to keep of a
 * Scanner's scan beyond its next scan (the kpage values may live in the
 * scanner's WebAssembly memory). Records are shared (they are never written).
 */
export function detachScan(scan: ScanData): ScanData {
  const k = scan.kpage;
  return {
    ...scan,
    processes: scan.processes.map((p) => ({ ...p, usage: own(p.usage) })),
    runs: { ...scan.runs, chunks: scan.runs.chunks.map((c) => ({ pfn: own(c.pfn), len: own(c.len), vma: own(c.vma), bits: own(c.bits) })) },
    objects: { first: own(scan.objects.first), off: own(scan.objects.off), pfn: own(scan.objects.pfn), len: own(scan.objects.len), bits: own(scan.objects.bits) },
    refs: { object: own(scan.refs.object), off: own(scan.refs.off), len: own(scan.refs.len), vma: own(scan.refs.vma) },
    swaps: { slot: own(scan.swaps.slot), vma: own(scan.swaps.vma) },
    kpage: {
      ...k,
      blocks: own(k.blocks),
      bitmaps: own(k.bitmaps),
      bases: own(k.bases),
      count: own(k.count),
      flagsLo: own(k.flagsLo),
      flagsHi: own(k.flagsHi),
      cgroup: k.cgroup ? own(k.cgroup) : undefined,
    },
  };
}
