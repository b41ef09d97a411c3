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
 * Read through holes up to this many PFNs instead of starting a new read.
 * Each PFN read costs the kernel about 0.1 us whether wanted or not (measured
 * on 6.18: ~95 ns per kpagecount word, ~100 per kpageflags word); one more
 * read costs about 1.5 us synchronously but 10-20 us through the I/O pool,
 * where the kernel part runs on other cores. Measured on the 8 x 512 MiB +
 * 1 GiB workload (273 K PFNs): gaps of 4/8 took 155-220/130-170 ms, 16-512
 * about 75-115 ms; 64 keeps both the call count and the extra words low.
 */
const GAP = 64;

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

}

export interface LookupOptions {
  readonly cgroups?: boolean;
}

export interface LookupStats {
  readonly pfns: number;
  /** pread calls, all files together. */
  readonly reads: number;
  /** Words read, all files together (looked-up PFNs plus the holes read through). */
  readonly wordsRead: number;
}

/**
 * The reads that cover a PFN set: [start[i], start[i] + len[i]) for i < n, in
 * ascending order, holes below GAP read through, never crossing a set page.
 */
export interface KpageRuns {
  readonly start: Float64Array;
  readonly len: Uint32Array;
  readonly n: number;
}

export function kpageRuns(set: PfnSet): KpageRuns {
  let start = new Float64Array(1024);
  let len = new Uint32Array(1024);
  let n = 0;
  const push = (s: number, e: number): void => {
    if (n === start.length) {
      const s2 = new Float64Array(n * 2);
      s2.set(start);
      start = s2;
      const l2 = new Uint32Array(n * 2);
      l2.set(len);
      len = l2;
    }
    start[n] = s;
    len[n++] = e - s;
  };
  set.pages.forEach((words, p) => {
    if (!words) return;
    const base = p * PAGE;
    let runStart = -1;
    let last = -1;
    for (let w = 0; w < WORDS; w++) {
      let bits = words[w]!;
      if (bits === 0) continue;
      if (bits === 0xffffffff) {
        // A full word: 32 consecutive PFNs.
        const first = base + w * 32;
        if (runStart < 0) runStart = first;
        else if (first - last > GAP) {
          push(runStart, last + 1);
          runStart = first;
        }
        last = first + 31;
        continue;
      }
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const pfn = base + w * 32 + 31 - Math.clz32(low);
        if (runStart < 0) runStart = pfn;
        else if (pfn - last > GAP) {
          push(runStart, last + 1);
          runStart = pfn;
        }
        last = pfn;
      }
    }
    if (runStart >= 0) push(runStart, last + 1);
  });
  return { start, len, n };
}

/** The files read for a lookup, in this order: kpagecount, kpageflags, optionally kpagecgroup. */
const COUNT = 0;
const FLAGS = 1;
const CGROUP = 2;

/**
 * Copy what was read for runs [from, to) (each file's words for them laid
 * out back to back from byte 0 of its buffer; `got[i]` words arrived for run
 * i) into the table, for the set PFNs only, from rank `rank` on. Returns the
 * next rank. A short read leaves the PFNs past the end of the kpage files
 * (device memory) without values, counted in table.beyondEnd.
 */
function copyRuns(set: PfnSet, table: KpageTable, runs: KpageRuns, from: number, to: number, got: Uint32Array, views: readonly Uint32Array[], rank: number): number {
  const count = table.count;
  const lo = table.flagsLo;
  const hi = table.flagsHi;
  const cg = table.cgroup;
  const c32 = views[COUNT]!;
  const f32 = views[FLAGS]!;
  const g32 = views[CGROUP];
  let at = 0; // word offset of run i in the buffers
  let r = rank;
  for (let i = from; i < to; i++) {
    const start = runs.start[i]!;
    const len = runs.len[i]!;
    const have = got[i - from]!;
    const words = set.pages[Math.floor(start / PAGE)]!;
    const o0 = start % PAGE;
    for (let k = 0; k < len; k++) {
      const o = o0 + k;
      if (((words[o >>> 5]! >>> (o & 31)) & 1) === 0) continue;
      if (k < have) {
        const x = 2 * (at + k);
        count[r] = c32[x]!;
        lo[r] = f32[x]!;
        hi[r] = f32[x + 1]!;
        // Inode numbers fit a double exactly below 2^53.
        if (cg && g32) cg[r] = g32[x + 1]! * 4294967296 + g32[x]!;
      } else table.beyondEnd++;
      r++;
    }
    at += len;
  }
  return r;
}

/** Buffer words per window of runs read at once (per file): 2 MiB. */
const WINDOW = 256 * 1024;

/** Runs [from, to) starting at `from` whose words fit one window (at least one run). */
function windowEnd(runs: KpageRuns, from: number): number {
  let words = 0;
  let to = from;
  while (to < runs.n && (to === from || words + runs.len[to]! <= WINDOW)) words += runs.len[to++]!;
  return to;
}

function openFiles(procfs: ProcFs, cgroups: boolean): U64File[] {
  const files: U64File[] = [];
  try {
    files.push(procfs.openU64("kpagecount"), procfs.openU64("kpageflags"));
    if (cgroups) files.push(procfs.openU64("kpagecgroup"));
  } catch (err) {
    for (const f of files) f.close();
    throw err;
  }
  return files;
}

interface Window {
  readonly buffers: Uint8Array[];
  readonly views: Uint32Array[];
  readonly got: Uint32Array;
}

function newWindow(files: number, runs: number): Window {
  const buffers = Array.from({ length: files }, () => new Uint8Array(WINDOW * 8));
  return { buffers, views: buffers.map((b) => new Uint32Array(b.buffer)), got: new Uint32Array(runs) };
}

/**
 * Read kpagecount/kpageflags (and kpagecgroup) for every PFN in `set`, one
 * pread per run and file, on this thread: for the single-process views.
 */
export function lookupKpages(procfs: ProcFs, set: PfnSet, options: LookupOptions = {}): { table: KpageTable; stats: LookupStats } {
  const cgroups = options.cgroups === true;
  const table = KpageTable.forSet(set, cgroups);
  const runs = kpageRuns(set);
  const files = openFiles(procfs, cgroups);
  let wordsRead = 0;
  try {
    const win = newWindow(files.length, 1);
    let rank = 0;
    for (let i = 0; i < runs.n; i++) {
      let have = runs.len[i]!; // at most a set page (64 Ki PFNs), so within a window
      for (let f = 0; f < files.length; f++) {
        const n = files[f]!.readWords(runs.start[i]!, runs.len[i]!, win.buffers[f]!);
        wordsRead += n;
        have = Math.min(have, n);
      }
      win.got[0] = have;
      rank = copyRuns(set, table, runs, i, i + 1, win.got, win.views, rank);
    }
  } finally {
    for (const f of files) f.close();
  }
  return { table, stats: { pfns: table.size, reads: runs.n * files.length, wordsRead } };
}

/**
 * The same for the whole-system scan, with the reads on libuv's pool
 * threads: every file's reads of a window of runs are issued at once, so the
 * kernel work (about 0.1 us per PFN and file) spreads over the cores, and the
 * next window is read while this thread copies the values of the last one.
 */
export async function lookupKpagesAsync(procfs: ProcFs, set: PfnSet, options: LookupOptions = {}): Promise<{ table: KpageTable; stats: LookupStats }> {
  const cgroups = options.cgroups === true;
  const table = KpageTable.forSet(set, cgroups);
  const runs = kpageRuns(set);
  const files = openFiles(procfs, cgroups);
  let wordsRead = 0;
  const issue = (win: Window, from: number, to: number): Promise<void> => {
    const reads: Promise<void>[] = [];
    win.got.fill(0xffffffff, 0, to - from);
    for (let f = 0; f < files.length; f++) {
      let at = 0;
      for (let i = from; i < to; i++) {
        const k = i - from;
        const len = runs.len[i]!;
        reads.push(
          files[f]!.readWordsAsync(runs.start[i]!, len, win.buffers[f]!, at * 8).then((n) => {
            wordsRead += n;
            if (n < win.got[k]!) win.got[k] = n;
          }),
        );
        at += len;
      }
    }
    // Settle every read before reporting a failure, so none is left writing into a buffer or a closed fd.
    return Promise.allSettled(reads).then((results) => {
      for (const r of results) if (r.status === "rejected") throw r.reason;
    });
  };
  try {
    const maxRuns = maxWindowRuns(runs);
    const wins = [newWindow(files.length, maxRuns), newWindow(files.length, maxRuns)];
    let rank = 0;
    let from = 0;
    let to = windowEnd(runs, 0);
    let pending = runs.n > 0 ? issue(wins[0]!, from, to) : undefined;
    let w = 0;
    while (pending) {
      await pending;
      const nextFrom = to;
      const nextTo = nextFrom < runs.n ? windowEnd(runs, nextFrom) : nextFrom;
      pending = nextFrom < runs.n ? issue(wins[1 - w]!, nextFrom, nextTo) : undefined;
      rank = copyRuns(set, table, runs, from, to, wins[w]!.got, wins[w]!.views, rank);
      from = nextFrom;
      to = nextTo;
      w = 1 - w;
    }
  } finally {
    for (const f of files) f.close();
  }
  return { table, stats: { pfns: table.size, reads: runs.n * files.length, wordsRead } };
}

/** The largest number of runs in one window (to size the per-run arrays once). */
function maxWindowRuns(runs: KpageRuns): number {
  let most = 1;
  for (let from = 0; from < runs.n; ) {
    const to = windowEnd(runs, from);
    most = Math.max(most, to - from);
    from = to;
  }
  return most;
}
