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
/** Read through holes up to this many PFNs instead of starting a new read. */
const GAP = 256;

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

  static fromStore(store: EntryStore): PfnSet {
    const set = new PfnSet();
    store.forEachChunk(0, store.length, (pfn, _vma, _bits, from, to) => {
      for (let i = from; i < to; i++) set.add(pfn[i]!);
    });
    return set;
  }
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

/** Read kpagecount/kpageflags (and kpagecgroup) for every PFN in `set`. */
export function lookupKpages(procfs: ProcFs, set: PfnSet, options: LookupOptions = {}): { table: KpageTable; stats: LookupStats } {
  const table = new KpageTable();
  const countFile = procfs.openU64("kpagecount");
  const flagsFile = procfs.openU64("kpageflags");
  const cgroupFile = options.cgroups ? procfs.openU64("kpagecgroup") : undefined;
  const buf = new Uint8Array(PAGE * 8);
  const u32 = new Uint32Array(buf.buffer);
  const f64 = new Float64Array(buf.buffer);
  let reads = 0;
  let wordsRead = 0;
  const readRun = (file: U64File, start: number, end: number): number => {
    reads++;
    const got = file.readWords(start, end - start, buf);
    wordsRead += got;
    return got;
  };
  try {
    for (let p = 0; p < set.pages.length; p++) {
      const words = set.pages[p];
      if (!words) continue;
      const page: KpagePage = {
        count: new Uint32Array(PAGE),
        flagsLo: new Uint32Array(PAGE),
        flagsHi: new Uint32Array(PAGE),
        cgroup: cgroupFile ? new Float64Array(PAGE) : undefined,
        known: words,
      };
      table.pages[p] = page;
      const base = p * PAGE;
      runsOfPage(words, base, (start, end) => {
        const o = start - base;
        let got = readRun(countFile, start, end);
        for (let k = 0; k < got; k++) page.count[o + k] = u32[2 * k]!;
        const counted = got;
        got = readRun(flagsFile, start, end);
        for (let k = 0; k < got; k++) {
          page.flagsLo[o + k] = u32[2 * k]!;
          page.flagsHi[o + k] = u32[2 * k + 1]!;
        }
        if (cgroupFile && page.cgroup) {
          const gotCg = readRun(cgroupFile, start, end);
          // Inode numbers fit a double exactly below 2^53.
          for (let k = 0; k < gotCg; k++) page.cgroup[o + k] = f64[k]! === 0 ? 0 : u32[2 * k + 1]! * 4294967296 + u32[2 * k]!;
        }
        if (Math.min(counted, got) < end - start) table.beyondEnd += end - start - Math.min(counted, got);
      });
    }
  } finally {
    countFile.close();
    flagsFile.close();
    cgroupFile?.close();
  }
  return { table, stats: { pfns: set.size, reads, wordsRead } };
}
