/**
 * Looks up /proc/kpagecount, /proc/kpageflags (and optionally
 * /proc/kpagecgroup) for a set of PFNs, over sorted, coalesced runs: PFNs
 * closer than GAP are read through, runs never exceed one table page, and
 * each run costs one pread per file. Never one read per page.
 */
import type { ProcFs, U64File } from "../procfs/procfs.js";
import type { EntryStore } from "./entry-store.js";

const PAGE_SHIFT = 16;
const PAGE = 1 << PAGE_SHIFT;
/**
 * Read through holes up to this many PFNs instead of starting a new read: the
 * kernel spends about as long on 20-30 unwanted PFNs as on one extra read call.
 */
const GAP = 32;

/** The PFNs to look up, as a bitmap paged like the table (64 Ki PFNs per page). */
export class PfnSet {
  readonly pages: (Uint32Array | undefined)[] = [];
  size = 0;

  add(pfn: number): void {
    const p = Math.floor(pfn / PAGE);
    let words = this.pages[p];
    if (!words) {
      words = new Uint32Array(PAGE / 32);
      this.pages[p] = words;
    }
    const o = pfn & (PAGE - 1);
    const w = o >>> 5;
    const m = 1 << (o & 31);
    if ((words[w]! & m) === 0) {
      words[w]! |= m;
      this.size++;
    }
  }

  /** Add `len` PFNs from `pfn`, setting whole words where possible. */
  addRun(pfn: number, len: number): void {
    let p = pfn;
    const end = pfn + len;
    while (p < end) {
      const o = p & (PAGE - 1);
      if ((o & 31) === 0 && end - p >= 32) {
        const pg = Math.floor(p / PAGE);
        let words = this.pages[pg];
        if (!words) {
          words = new Uint32Array(PAGE / 32);
          this.pages[pg] = words;
        }
        const w = o >>> 5;
        if (words[w] !== 0xffffffff) {
          this.size += 32 - popcount(words[w]!);
          words[w] = 0xffffffff;
        }
        p += 32;
      } else {
        this.add(p);
        p++;
      }
    }
  }

  static fromStore(store: EntryStore): PfnSet {
    const set = new PfnSet();
    store.forEachChunk(0, store.length, (cols, from, to) => {
      for (let i = from; i < to; i++) set.addRun(cols.pfn[i]!, cols.len[i]!);
    });
    return set;
  }
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0xf0f0f0f) * 0x1010101) >>> 24;
}

/** Values of looked-up PFNs, one table page per 64 Ki PFNs that hold any. */
export interface KpagePage {
  readonly count: Uint32Array;
  readonly flagsLo: Uint32Array;
  readonly flagsHi: Uint32Array;
  readonly cgroup: Float64Array | undefined;
  /** Which PFNs of this page were asked for (the others may hold read-through values). */
  readonly known: Uint32Array;
}

export class KpageTable {
  readonly pages: (KpagePage | undefined)[] = [];
  /** PFNs past the end of the kpage files (device memory): no values. */
  beyondEnd = 0;

  countOf(pfn: number): number {
    return this.pages[Math.floor(pfn / PAGE)]?.count[pfn & (PAGE - 1)] ?? 0;
  }
  flagsLoOf(pfn: number): number {
    return this.pages[Math.floor(pfn / PAGE)]?.flagsLo[pfn & (PAGE - 1)] ?? 0;
  }
  flagsHiOf(pfn: number): number {
    return this.pages[Math.floor(pfn / PAGE)]?.flagsHi[pfn & (PAGE - 1)] ?? 0;
  }
  cgroupOf(pfn: number): number {
    return this.pages[Math.floor(pfn / PAGE)]?.cgroup?.[pfn & (PAGE - 1)] ?? 0;
  }
  has(pfn: number): boolean {
    const k = this.pages[Math.floor(pfn / PAGE)]?.known;
    const o = pfn & (PAGE - 1);
    return k !== undefined && ((k[o >>> 5]! >>> (o & 31)) & 1) === 1;
  }
  get hasCgroups(): boolean {
    return this.pages.some((p) => p?.cgroup !== undefined);
  }

  /** Visit every looked-up PFN in ascending order. */
  forEachKnown(fn: (pfn: number, count: number, lo: number, hi: number, cgroup: number) => void): void {
    for (let p = 0; p < this.pages.length; p++) {
      const page = this.pages[p];
      if (!page) continue;
      const k = page.known;
      for (let w = 0; w < k.length; w++) {
        let bits = k[w]!;
        while (bits !== 0) {
          const low = bits & -bits;
          bits ^= low;
          const o = w * 32 + 31 - Math.clz32(low);
          fn(p * PAGE + o, page.count[o]!, page.flagsLo[o]!, page.flagsHi[o]!, page.cgroup?.[o] ?? 0);
        }
      }
    }
  }
}

export interface LookupOptions {
  readonly cgroups?: boolean;
}

export interface LookupStats {
  readonly pfns: number;
  readonly reads: number;
  readonly wordsRead: number;
}

/** Yield [start, end) runs of set PFNs within one page, reading through gaps below GAP. */
function runsOfPage(words: Uint32Array, base: number, fn: (start: number, end: number) => void): void {
  let runStart = -1;
  let last = -1;
  for (let w = 0; w < words.length; w++) {
    let bits = words[w]!;
    while (bits !== 0) {
      const low = bits & -bits;
      bits ^= low;
      const pfn = base + w * 32 + 31 - Math.clz32(low);
      if (runStart < 0) runStart = pfn;
      else if (pfn - last > GAP) {
        fn(runStart, last + 1);
        runStart = pfn;
      }
      last = pfn;
    }
  }
  if (runStart >= 0) fn(runStart, last + 1);
}

export interface PageRead {
  readonly index: number;
  readonly page: KpagePage;
}

/**
 * Read kpagecount/kpageflags (and kpagecgroup) for the PFNs of the given
 * table pages of `set` (all pages when `which` is omitted). Used whole by one
 * thread, or split between the main thread and the scan worker.
 */
export function readKpagePages(procfs: ProcFs, set: PfnSet, which: readonly number[] | undefined, options: LookupOptions = {}): { pages: PageRead[]; stats: LookupStats; beyondEnd: number } {
  const indexes = which ?? set.pages.flatMap((w, p) => (w ? [p] : []));
  const countFile = procfs.openU64("kpagecount");
  const flagsFile = procfs.openU64("kpageflags");
  const cgroupFile = options.cgroups ? procfs.openU64("kpagecgroup") : undefined;
  const buf = new Uint8Array(PAGE * 8);
  const u32 = new Uint32Array(buf.buffer);
  const out: PageRead[] = [];
  let reads = 0;
  let wordsRead = 0;
  let pfns = 0;
  let beyondEnd = 0;
  const readRun = (file: U64File, start: number, end: number): number => {
    reads++;
    const got = file.readWords(start, end - start, buf);
    wordsRead += got;
    return got;
  };
  try {
    for (const p of indexes) {
      const words = set.pages[p];
      if (!words) continue;
      for (const w of words) pfns += popcount(w);
      const page: KpagePage = {
        count: new Uint32Array(PAGE),
        flagsLo: new Uint32Array(PAGE),
        flagsHi: new Uint32Array(PAGE),
        cgroup: cgroupFile ? new Float64Array(PAGE) : undefined,
        known: words,
      };
      out.push({ index: p, page });
      const base = p * PAGE;
      runsOfPage(words, base, (start, end) => {
        const o = start - base;
        const counted = readRun(countFile, start, end);
        for (let k = 0; k < counted; k++) page.count[o + k] = u32[2 * k]!;
        const flagged = readRun(flagsFile, start, end);
        for (let k = 0; k < flagged; k++) {
          page.flagsLo[o + k] = u32[2 * k]!;
          page.flagsHi[o + k] = u32[2 * k + 1]!;
        }
        if (cgroupFile && page.cgroup) {
          const got = readRun(cgroupFile, start, end);
          // Inode numbers fit a double exactly below 2^53.
          for (let k = 0; k < got; k++) page.cgroup[o + k] = u32[2 * k + 1]! * 4294967296 + u32[2 * k]!;
        }
        // PFNs past the end of the kpage files (device memory) have no values.
        if (Math.min(counted, flagged) < end - start) beyondEnd += end - start - Math.min(counted, flagged);
      });
    }
  } finally {
    countFile.close();
    flagsFile.close();
    cgroupFile?.close();
  }
  return { pages: out, stats: { pfns, reads, wordsRead }, beyondEnd };
}

/** Put read pages into a table. */
export function tableOf(reads: readonly PageRead[], beyondEnd = 0): KpageTable {
  const table = new KpageTable();
  for (const r of reads) table.pages[r.index] = r.page;
  table.beyondEnd = beyondEnd;
  return table;
}

/** Read kpagecount/kpageflags (and kpagecgroup) for every PFN in `set`. */
export function lookupKpages(procfs: ProcFs, set: PfnSet, options: LookupOptions = {}): { table: KpageTable; stats: LookupStats } {
  const res = readKpagePages(procfs, set, undefined, options);
  return { table: tableOf(res.pages, res.beyondEnd), stats: res.stats };
}
