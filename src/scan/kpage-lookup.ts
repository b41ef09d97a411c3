/**
 * Looks up /proc/kpagecount, /proc/kpageflags (and optionally
 * /proc/kpagecgroup) for a set of PFNs, over sorted, coalesced runs: PFNs
 * closer than GAP are read through, runs never cross a 64 Ki-PFN page of the
 * set, and each run costs one pread per file. Never one read per page.
 *
 * Values are stored by rank (the PFN's position among the looked-up PFNs in
 * ascending order), so a scattered set of PFNs costs a few bytes per PFN
 * rather than a table sized by the PFN space. Every PFN of a stored run is in
 * the set, so a run's PFNs have consecutive ranks: loops over runs index the
 * value arrays directly from `rankOf(first PFN)`.
 */
import type { ProcFs, U64File } from "../procfs/procfs.js";
import type { EntryStore } from "./entry-store.js";

const PAGE_SHIFT = 16;
const PAGE = 1 << PAGE_SHIFT;
const WORDS = PAGE / 32;
/**
 * Read through holes up to this many PFNs instead of starting a new read: the
 * kernel spends about as long on 20-30 unwanted PFNs as on one extra read call.
 */
const GAP = 32;

export function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0xf0f0f0f) * 0x1010101) >>> 24;
}

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

  /** Add `len` PFNs from `pfn`, setting whole words where possible. */
  addRun(pfn: number, len: number): void {
    let p = pfn;
    const end = pfn + len;
    while (p < end) {
      const o = p & (PAGE - 1);
      if ((o & 31) === 0 && end - p >= 32) {
        const words = this.words(Math.floor(p / PAGE));
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

  constructor(
    private readonly set: PfnSet = new PfnSet(),
    private readonly bases: (Uint32Array | undefined)[] = [],
    readonly size = 0,
    withCgroup = false,
  ) {
    this.count = new Uint32Array(size);
    this.flagsLo = new Uint32Array(size);
    this.flagsHi = new Uint32Array(size);
    this.cgroup = withCgroup ? new Float64Array(size) : undefined;
  }

  static forSet(set: PfnSet, withCgroup: boolean): KpageTable {
    const { bases, total } = rankBases(set);
    return new KpageTable(set, bases, total, withCgroup);
  }

  get hasCgroups(): boolean {
    return this.cgroup !== undefined;
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

  /** The values of one 64 Ki-PFN page as arrays indexed by PFN offset (for code that walks pages). */
  densePage(p: number, into: { count: Uint32Array; flagsLo: Uint32Array }): boolean {
    const words = this.set.pages[p];
    if (!words) return false;
    into.count.fill(0);
    into.flagsLo.fill(0);
    let rank = this.bases[p]![0]!;
    for (let w = 0; w < WORDS; w++) {
      let bits = words[w]!;
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const o = w * 32 + 31 - Math.clz32(low);
        into.count[o] = this.count[rank]!;
        into.flagsLo[o] = this.flagsLo[rank]!;
        rank++;
      }
    }
    return true;
  }

  /** Ranks [first, first + n) of the PFNs of set page `p`, for splitting the reads. */
  pageRanks(p: number): { first: number; n: number } {
    const words = this.set.pages[p];
    if (!words) return { first: 0, n: 0 };
    let n = 0;
    for (let w = 0; w < WORDS; w++) if (words[w] !== 0) n += popcount(words[w]!);
    return { first: this.bases[p]![0]!, n };
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

/** The values read for the PFNs of one set page, in rank order (what a worker sends back). */
export interface PageValues {
  readonly index: number;
  readonly count: Uint32Array;
  readonly flagsLo: Uint32Array;
  readonly flagsHi: Uint32Array;
  readonly cgroup: Float64Array | undefined;
}

/**
 * Read kpagecount/kpageflags (and kpagecgroup) for the PFNs of the given
 * pages of `set` (all pages when `which` is omitted): one compact array per
 * page, in rank order. Used whole by one thread, or split between the main
 * thread and the scan worker.
 */
export function readKpagePages(procfs: ProcFs, set: PfnSet, which: readonly number[] | undefined, options: LookupOptions = {}): { pages: PageValues[]; stats: LookupStats; beyondEnd: number } {
  const indexes = which ?? set.pages.flatMap((w, p) => (w ? [p] : []));
  const countFile = procfs.openU64("kpagecount");
  const flagsFile = procfs.openU64("kpageflags");
  const cgroupFile = options.cgroups ? procfs.openU64("kpagecgroup") : undefined;
  const buf = new Uint8Array(PAGE * 8);
  const u32 = new Uint32Array(buf.buffer);
  const out: PageValues[] = [];
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
      let n = 0;
      for (const w of words) if (w !== 0) n += popcount(w);
      pfns += n;
      const vals: PageValues = {
        index: p,
        count: new Uint32Array(n),
        flagsLo: new Uint32Array(n),
        flagsHi: new Uint32Array(n),
        cgroup: cgroupFile ? new Float64Array(n) : undefined,
      };
      out.push(vals);
      const base = p * PAGE;
      let rank = 0;
      runsOfPage(words, base, (start, end) => {
        // Copy the words of the run's set PFNs (not the read-through holes) in rank order.
        const copy = (got: number, put: (k: number, r: number) => void): void => {
          let r = rank;
          for (let k = 0; k < end - start; k++) {
            const o = start - base + k;
            if (((words[o >>> 5]! >>> (o & 31)) & 1) === 0) continue;
            if (k < got) put(k, r);
            r++;
          }
        };
        const counted = readRun(countFile, start, end);
        copy(counted, (k, r) => (vals.count[r] = u32[2 * k]!));
        const flagged = readRun(flagsFile, start, end);
        copy(flagged, (k, r) => {
          vals.flagsLo[r] = u32[2 * k]!;
          vals.flagsHi[r] = u32[2 * k + 1]!;
        });
        if (cgroupFile && vals.cgroup) {
          const cg = vals.cgroup;
          const got = readRun(cgroupFile, start, end);
          // Inode numbers fit a double exactly below 2^53.
          copy(got, (k, r) => (cg[r] = u32[2 * k + 1]! * 4294967296 + u32[2 * k]!));
        }
        // PFNs past the end of the kpage files (device memory) have no values.
        let setInRun = 0;
        copy(end - start, () => setInRun++);
        if (Math.min(counted, flagged) < end - start) copy(end - start, (k) => (k >= Math.min(counted, flagged) ? beyondEnd++ : 0));
        rank += setInRun;
      });
    }
  } finally {
    countFile.close();
    flagsFile.close();
    cgroupFile?.close();
  }
  return { pages: out, stats: { pfns, reads, wordsRead }, beyondEnd };
}

/** Put per-page values into a table for `set`. */
export function tableOf(set: PfnSet, reads: readonly PageValues[], withCgroup: boolean, beyondEnd = 0): KpageTable {
  const table = KpageTable.forSet(set, withCgroup);
  for (const v of reads) {
    const { first } = table.pageRanks(v.index);
    table.count.set(v.count, first);
    table.flagsLo.set(v.flagsLo, first);
    table.flagsHi.set(v.flagsHi, first);
    if (v.cgroup && table.cgroup) table.cgroup.set(v.cgroup, first);
  }
  table.beyondEnd = beyondEnd;
  return table;
}

/** Read kpagecount/kpageflags (and kpagecgroup) for every PFN in `set`. */
export function lookupKpages(procfs: ProcFs, set: PfnSet, options: LookupOptions = {}): { table: KpageTable; stats: LookupStats } {
  const res = readKpagePages(procfs, set, undefined, options);
  return { table: tableOf(set, res.pages, options.cgroups === true, res.beyondEnd), stats: res.stats };
}
