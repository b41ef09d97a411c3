/**
 * Physical-page census: how many pages carry each exact 64-bit kpageflags
 * value, for the whole PFN space (or PFN ranges, or one memory cgroup), or
 * for the present and swapped pages of one process. page-types' summary,
 * computed from the raw words; the view (default or raw) and `--bits`
 * filters are applied later, once per distinct value, by the report.
 *
 * The whole-machine sweep is the hot path: 6.5 M words on a 24 GiB machine,
 * read in 512 KiB batches into one reusable buffer and walked through a
 * Uint32Array view. Neighbouring PFNs usually carry the same flags (free
 * blocks, THP subpages, unused memory), so the loop only compares against
 * the previous word and touches the hash table once per run of equal
 * words. No BigInt, no Map and no object per page.
 */
import { availableParallelism, loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import { ParseError, ProcReadError } from "../errors.js";
import type { ProcFs, U64File } from "../procfs/procfs.js";

/** Words per read: 512 KiB, the batch page-types uses and the kernel handles well. */
export const CENSUS_BATCH = 64 * 1024;

const TWO_32 = 4294967296;

/**
 * Page counts per distinct (lo, hi) flag word: open addressing with linear
 * probing over parallel typed arrays. A slot is free while its count is 0
 * (every add counts at least one page).
 */
export class FlagCounter {
  private keyLo: Uint32Array;
  private keyHi: Uint32Array;
  private counts: Float64Array;
  private mask: number;
  private shift: number;
  private used = 0;

  constructor(capacityLog2 = 10) {
    this.keyLo = new Uint32Array(1 << capacityLog2);
    this.keyHi = new Uint32Array(1 << capacityLog2);
    this.counts = new Float64Array(1 << capacityLog2);
    this.mask = (1 << capacityLog2) - 1;
    this.shift = 32 - capacityLog2;
  }

  /** Number of distinct flag words. */
  get size(): number {
    return this.used;
  }

  add(lo: number, hi: number, pages: number): void {
    // Fibonacci hashing of both halves; the top bits index the table.
    let h = Math.imul((lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0, 0x85ebca6b) >>> this.shift;
    const counts = this.counts;
    for (;;) {
      const c = counts[h]!;
      if (c === 0) break;
      if (this.keyLo[h] === lo && this.keyHi[h] === hi) {
        counts[h] = c + pages;
        return;
      }
      h = (h + 1) & this.mask;
    }
    this.keyLo[h] = lo;
    this.keyHi[h] = hi;
    counts[h] = pages;
    if (++this.used * 2 > counts.length) this.grow();
  }

  /** Pages counted for one flag word (0 when absent). */
  get(lo: number, hi: number): number {
    let h = Math.imul((lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0, 0x85ebca6b) >>> this.shift;
    for (;;) {
      const c = this.counts[h]!;
      if (c === 0) return 0;
      if (this.keyLo[h] === lo >>> 0 && this.keyHi[h] === hi >>> 0) return c;
      h = (h + 1) & this.mask;
    }
  }

  forEach(fn: (lo: number, hi: number, pages: number) => void): void {
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) fn(this.keyLo[i]!, this.keyHi[i]!, this.counts[i]!);
  }

  private grow(): void {
    const { keyLo, keyHi, counts } = this;
    const log2 = 32 - this.shift + 1;
    this.keyLo = new Uint32Array(1 << log2);
    this.keyHi = new Uint32Array(1 << log2);
    this.counts = new Float64Array(1 << log2);
    this.mask = (1 << log2) - 1;
    this.shift = 32 - log2;
    this.used = 0;
    for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) this.add(keyLo[i]!, keyHi[i]!, counts[i]!);
  }
}

/**
 * Runs of pages with equal raw flags, contiguous in offset (PFN, or swap
 * offset) and, for a process, in virtual page number. Parallel growable
 * arrays; only kept when a listing is asked for.
 */
export class PageRuns {
  voffset: Float64Array = new Float64Array(1024);
  offset: Float64Array = new Float64Array(1024);
  len: Float64Array = new Float64Array(1024);
  lo: Uint32Array = new Uint32Array(1024);
  hi: Uint32Array = new Uint32Array(1024);
  length = 0;

  push(voffset: number, offset: number, len: number, lo: number, hi: number): void {
    const n = this.length;
    if (n === this.len.length) this.grow();
    this.voffset[n] = voffset;
    this.offset[n] = offset;
    this.len[n] = len;
    this.lo[n] = lo;
    this.hi[n] = hi;
    this.length = n + 1;
  }

  private grow(): void {
    const cap = this.len.length * 2;
    const f = (a: Float64Array): Float64Array => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const u = (a: Uint32Array): Uint32Array => {
      const b = new Uint32Array(cap);
      b.set(a);
      return b;
    };
    this.voffset = f(this.voffset);
    this.offset = f(this.offset);
    this.len = f(this.len);
    this.lo = u(this.lo);
    this.hi = u(this.hi);
  }
}

/** A half-open range of page numbers [start, end); `end` may be Infinity ("to the end"). */
export interface PageRange {
  readonly start: number;
  readonly end: number;
}

export interface Census {
  /**
   * "pfn": raw kpageflags words. "process": kpageflags words with the
   * process's pagemap bits ORed in at page-types' synthetic positions
   * (softdirty 40, file 61, swap 62, mmap_exclusive 63); swapped-out pages
   * are the word with only those bits.
   */
  readonly scope: "pfn" | "process";
  readonly counts: FlagCounter;
  /** Pages counted (after the cgroup filter). */
  readonly pages: number;
  /** Pages examined before the cgroup filter. */
  readonly examined: number;
  /** Listing material, when asked for; voffset is NaN for PFN censuses. */
  readonly runs: PageRuns | undefined;
  /** First PFN past the end of the kpage files, when the sweep reached it. */
  readonly pfnEnd: number | undefined;
  /** Requested pages that lie past that end (clipped range, device memory). */
  readonly beyondEnd: number;
  /** Process censuses: non-present entries that are not swap (PTE markers, migration entries), not counted. */
  readonly skippedNonPresent: number;
}

/** Sort and merge ranges, so that overlapping --addr specs never count a page twice. */
export function normalizeRanges(ranges: readonly PageRange[]): PageRange[] {
  const sorted = [...ranges].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: PageRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push(r);
  }
  return out;
}

/** The halves of an inode number, for comparing against kpagecgroup words. */
function halves(n: number): [number, number] {
  return [n % TWO_32 >>> 0, Math.floor(n / TWO_32) >>> 0];
}

/**
 * A saved kpageflags file whose size is not a multiple of 8 was cut short:
 * the reader would silently drop the partial word, so say so instead.
 * (Files under /proc report size 0.)
 */
export function checkWholeWords(file: U64File): void {
  // Through the open file (not its path), so a capture answers for the file it recorded.
  const size = file.size();
  if (size === undefined) return; // the read will report any problem
  if (size % 8 !== 0) throw new ParseError(file.file, undefined, `size ${size} is not a multiple of 8 bytes: truncated or not a kpageflags file`);
}

/**
 * The first PFN past the end of a kpage file: reads at or past it return 0
 * bytes (fs/proc/page.c). Exponential then binary search, one-word reads.
 */
export function findKpageEnd(file: U64File): number {
  const one = new Uint8Array(8);
  const readable = (pfn: number): boolean => file.readWords(pfn, 1, one) === 1;
  if (!readable(0)) return 0;
  let good = 0;
  let bad = 1 << 16;
  while (readable(bad)) {
    good = bad;
    bad *= 2;
    if (bad > 2 ** 52) return bad; // no such machine; stop rather than loop
  }
  while (bad - good > 1) {
    const mid = good + Math.floor((bad - good) / 2);
    if (readable(mid)) good = mid;
    else bad = mid;
  }
  return bad;
}

/** Run-length state carried across batches of one contiguous sweep. */
class RunState {
  /** -1 never equals a Uint32Array element, so the first word always starts a run. */
  lo = -1;
  hi = -1;
  start = 0;
  len = 0;
  constructor(
    readonly counts: FlagCounter,
    readonly runs: PageRuns | undefined,
  ) {}

  flush(): void {
    if (this.len > 0) {
      this.counts.add(this.lo, this.hi, this.len);
      this.runs?.push(NaN, this.start, this.len, this.lo, this.hi);
    }
    this.lo = -1;
    this.hi = -1;
    this.len = 0;
  }
}

/** Count `n` words of `u32` whose first PFN is `base`. The hot loop of the census. */
function countBatch(u32: Uint32Array, n: number, base: number, st: RunState): void {
  let pl = st.lo;
  let ph = st.hi;
  let start = st.start;
  let len = st.len;
  const counts = st.counts;
  const runs = st.runs;
  for (let i = 0; i < n; i++) {
    const lo = u32[2 * i]!;
    const hi = u32[2 * i + 1]!;
    if (lo === pl && hi === ph) {
      len++;
      continue;
    }
    if (len > 0) {
      counts.add(pl, ph, len);
      if (runs) runs.push(NaN, start, len, pl, ph);
    }
    pl = lo;
    ph = hi;
    start = base + i;
    len = 1;
  }
  st.lo = pl;
  st.hi = ph;
  st.start = start;
  st.len = len;
}

/** The same, keeping only pages whose kpagecgroup word equals (cgLo, cgHi). */
function countBatchInCgroup(u32: Uint32Array, cg: Uint32Array, n: number, base: number, cgLo: number, cgHi: number, st: RunState): number {
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (cg[2 * i] !== cgLo || cg[2 * i + 1] !== cgHi) {
      if (st.len > 0) st.flush();
      continue;
    }
    kept++;
    const lo = u32[2 * i]!;
    const hi = u32[2 * i + 1]!;
    if (lo === st.lo && hi === st.hi) {
      st.len++;
      continue;
    }
    if (st.len > 0) st.flush();
    st.lo = lo;
    st.hi = hi;
    st.start = base + i;
    st.len = 1;
  }
  return kept;
}

export interface PfnCensusOptions {
  /** The kpageflags file, relative to the procfs root (default "kpageflags"). */
  readonly kpageflags?: string;
  /** PFN ranges (default: all of them). */
  readonly ranges?: readonly PageRange[];
  /** Only pages charged to the memory cgroup with this inode (0: uncharged pages). */
  readonly cgroup?: number;
  /** Keep runs for a listing. */
  readonly runs?: boolean;
  /**
   * Threads that may read (default 1). Reading kpageflags is kernel time,
   * one struct page per word, so extra reader threads on extra cores divide
   * it; worth it for /proc, pointless for a saved file in the page cache.
   */
  readonly threads?: number;
}

/**
 * Threads to read /proc/kpageflags with: one per CPU, unless the machine is
 * oversubscribed; one for a tree that is not the live /proc, whose files are
 * in the page cache and cost no kernel time per page. Measured on 2 CPUs
 * (with autogroup scheduling), one thread vs two: at load 1.7, 728 vs 444 ms
 * (the C floor took 628); at load 6.8, 1134 vs 1234 ms, as the second thread
 * adds its start-up but gets no more CPU time.
 */
export function censusThreads(procfs: ProcFs): number {
  if (!procfs.isLive) return 1;
  const cpus = availableParallelism();
  return loadavg()[0]! > 2 * cpus ? 1 : cpus;
}

/** Below this many batches (4 GiB of RAM) a reader thread's ~40 ms start-up is not worth it. */
const MIN_PARALLEL_BATCHES = 16;
/** Reader threads beyond the main one, at most: the kernel side stops scaling well beyond a few. */
const MAX_READERS = 3;

/** Census of physical pages by exact kpageflags word. */
export function censusPfns(procfs: ProcFs, options: PfnCensusOptions = {}): Census {
  const flagsFile = procfs.openU64(options.kpageflags ?? "kpageflags");
  let cgroupFile: U64File | undefined;
  try {
    checkWholeWords(flagsFile);
    if (options.cgroup !== undefined) cgroupFile = openCgroupFile(procfs);
    const ranges = options.ranges ? normalizeRanges(options.ranges) : [{ start: 0, end: Infinity }];
    const readers = Math.min(MAX_READERS, Math.max(0, Math.floor(options.threads ?? 1) - 1));
    if (readers > 0) {
      const pfnEnd = findKpageEnd(flagsFile);
      const batches = batchesOf(ranges, pfnEnd);
      if (batches.length / 2 >= MIN_PARALLEL_BATCHES) return censusParallel(flagsFile, cgroupFile, batches, ranges, pfnEnd, options, readers);
    }
    return censusSequential(flagsFile, cgroupFile, ranges, options);
  } finally {
    flagsFile.close();
    cgroupFile?.close();
  }
}

function censusSequential(flagsFile: U64File, cgroupFile: U64File | undefined, ranges: readonly PageRange[], options: PfnCensusOptions): Census {
  const counts = new FlagCounter();
  const runs = options.runs ? new PageRuns() : undefined;
  const st = new RunState(counts, runs);
  const buf = new Uint8Array(CENSUS_BATCH * 8);
  const u32 = new Uint32Array(buf.buffer);
  const cgBuf = cgroupFile ? new Uint8Array(CENSUS_BATCH * 8) : undefined;
  const cgU32 = cgBuf ? new Uint32Array(cgBuf.buffer) : undefined;
  const [cgLo, cgHi] = halves(options.cgroup ?? 0);
  let examined = 0;
  let pages = 0;
  let pfnEnd: number | undefined;
  let beyondEnd = 0;
  for (const r of ranges) {
    if (pfnEnd !== undefined) {
      beyondEnd += Math.max(0, r.end - Math.max(r.start, pfnEnd));
      continue;
    }
    let pfn = r.start;
    while (pfn < r.end) {
      const want = Math.min(CENSUS_BATCH, r.end - pfn);
      const got = flagsFile.readWords(pfn, want, buf);
      if (got > 0) {
        if (cgroupFile && cgBuf && cgU32) {
          const gotCg = cgroupFile.readWords(pfn, got, cgBuf);
          // kpagecgroup ends where kpageflags does; a shorter read would mean a race with memory hot-remove.
          if (gotCg < got) cgU32.fill(0xffffffff, 2 * gotCg, 2 * got);
          pages += countBatchInCgroup(u32, cgU32, got, pfn, cgLo, cgHi, st);
        } else {
          countBatch(u32, got, pfn, st);
          pages += got;
        }
        examined += got;
      }
      if (got < want) {
        pfnEnd = pfn + got;
        if (r.end !== Infinity) beyondEnd += r.end - pfnEnd;
        break;
      }
      pfn += got;
    }
    // Runs never span two ranges: the gap between them was not read.
    st.flush();
  }
  return { scope: "pfn", counts, pages, examined, runs, pfnEnd, beyondEnd, skippedNonPresent: 0 };
}

/** The ranges clipped at `pfnEnd` and cut into batches: [start0, words0, start1, words1, ...]. */
function batchesOf(ranges: readonly PageRange[], pfnEnd: number): Float64Array {
  const out: number[] = [];
  for (const r of ranges) {
    const end = Math.min(r.end, pfnEnd);
    for (let pfn = r.start; pfn < end; pfn += CENSUS_BATCH) out.push(pfn, Math.min(CENSUS_BATCH, end - pfn));
  }
  return Float64Array.from(out);
}

// Shared control words (Int32Array over a SharedArrayBuffer) between the main thread and the readers.
const CTL_NEXT = 0; // next batch to claim, for every thread
const CTL_ABORT = 1; // set by the main thread when it stops: readers quit
const CTL_ERROR = 2; // set by a reader that failed; its message is in the error buffer
const CTL_SEQ = 3; // bumped (and notified) by a reader after each filled slot
const CTL_SLOTS = 4; // per reader and slot: [state (0 free, 1 full), batch, words, spare]
const SLOTS_PER_READER = 4;
/** The main thread gives up when no reader makes progress for this long. */
const STALL_MS = 60_000;

interface ReaderData {
  readonly ctl: SharedArrayBuffer;
  readonly err: SharedArrayBuffer;
  readonly flags: SharedArrayBuffer;
  readonly cgroup: SharedArrayBuffer | null;
  readonly flagsPath: string;
  readonly cgroupPath: string | null;
  readonly batches: Float64Array;
  readonly reader: number;
  readonly slots: number;
  readonly slotWords: number;
}

/**
 * A reader thread: claims batches from the shared counter, reads them into
 * its free slots and marks them full; the main thread counts them. It is
 * started from source text (this function, stringified) so that it needs
 * no module file: it behaves the same from dist/src and from the bundled
 * CLI. Hence no references outside its body: the control indexes are
 * written as numbers (0 CTL_NEXT, 1 CTL_ABORT, 2 CTL_ERROR, 3 CTL_SEQ, 4
 * CTL_SLOTS). It opens the path that ProcFs resolved, after the main thread
 * opened it through ProcFs (which reports missing files and refused
 * permissions): the one place outside ProcFs that opens a file, because a
 * thread started from source text cannot import it.
 */
async function readerThread(): Promise<void> {
  const wt = await import("node:worker_threads");
  const fs = await import("node:fs");
  const d = wt.workerData as ReaderData;
  const ctl = new Int32Array(d.ctl);
  const base = 4 + d.reader * d.slots * 4;
  const nBatches = d.batches.length / 2;
  let fd = -1;
  let cfd = -1;
  const readFull = (f: number, into: Uint8Array, position: number): number => {
    let done = 0;
    while (done < into.length) {
      let n: number;
      try {
        n = fs.readSync(f, into, done, into.length - done, position + done);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "EINTR" || code === "EAGAIN") continue;
        throw e;
      }
      if (n === 0) break;
      done += n;
    }
    return Math.floor(done / 8);
  };
  try {
    fd = fs.openSync(d.flagsPath, "r");
    if (d.cgroupPath !== null) cfd = fs.openSync(d.cgroupPath, "r");
    for (let k = 0; ; k++) {
      if (Atomics.load(ctl, 1) !== 0) return;
      const b = Atomics.add(ctl, 0, 1);
      if (b >= nBatches) return;
      const s = k % d.slots;
      const st = base + s * 4;
      while (Atomics.load(ctl, st) !== 0) {
        if (Atomics.load(ctl, 1) !== 0) return;
        Atomics.wait(ctl, st, 1, 200);
      }
      const start = d.batches[2 * b]!;
      const words = d.batches[2 * b + 1]!;
      const got = readFull(fd, new Uint8Array(d.flags, s * d.slotWords * 8, words * 8), start * 8);
      if (d.cgroup !== null) {
        const cg = new Uint8Array(d.cgroup, s * d.slotWords * 8, got * 8);
        const gotCg = readFull(cfd, cg, start * 8);
        if (gotCg < got) cg.fill(0xff, gotCg * 8);
      }
      ctl[st + 1] = b;
      ctl[st + 2] = got;
      Atomics.store(ctl, st, 1);
      Atomics.add(ctl, 3, 1);
      Atomics.notify(ctl, 3);
    }
  } catch (e) {
    const text = new TextEncoder().encode(`${d.flagsPath}: ${e instanceof Error ? e.message : String(e)}`).subarray(0, 1020);
    const err = new Uint8Array(d.err);
    err.set(text, 4);
    new Int32Array(d.err, 0, 1)[0] = text.length;
    Atomics.store(ctl, 2, 1);
    Atomics.add(ctl, 3, 1);
    Atomics.notify(ctl, 3);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    if (cfd >= 0) fs.closeSync(cfd);
  }
}

/**
 * The census with reader threads: every thread, the main one included,
 * claims batches from one shared counter, so a reader that starts late
 * simply takes fewer. The main thread counts all batches (its own as it
 * reads them, the readers' from their slots), each with its own run state,
 * and puts listing runs back in PFN order at the end.
 */
function censusParallel(
  flagsFile: U64File,
  cgroupFile: U64File | undefined,
  batches: Float64Array,
  ranges: readonly PageRange[],
  pfnEnd: number,
  options: PfnCensusOptions,
  readers: number,
): Census {
  const nBatches = batches.length / 2;
  const slots = SLOTS_PER_READER;
  const ctlBuf = new SharedArrayBuffer((CTL_SLOTS + readers * slots * 4) * 4);
  const ctl = new Int32Array(ctlBuf);
  const errBuf = new SharedArrayBuffer(1024);
  const flagsBufs: SharedArrayBuffer[] = [];
  const cgBufs: (SharedArrayBuffer | null)[] = [];
  const workers: Worker[] = [];
  const source = `(${readerThread.toString()})()`;
  try {
    for (let r = 0; r < readers; r++) {
      flagsBufs.push(new SharedArrayBuffer(slots * CENSUS_BATCH * 8));
      cgBufs.push(cgroupFile ? new SharedArrayBuffer(slots * CENSUS_BATCH * 8) : null);
      const data: ReaderData = {
        ctl: ctlBuf,
        err: errBuf,
        flags: flagsBufs[r]!,
        cgroup: cgBufs[r]!,
        flagsPath: flagsFile.file,
        cgroupPath: cgroupFile?.file ?? null,
        batches,
        reader: r,
        slots,
        slotWords: CENSUS_BATCH,
      };
      const w = new Worker(source, { eval: true, workerData: data });
      // Never keep the process alive for a reader: it ends by itself once the batches run out.
      w.unref();
      workers.push(w);
    }
  } catch {
    // No thread to be had (resource limits): the main thread claims every batch alone.
  }

  const counts = new FlagCounter();
  const runs = options.runs ? new PageRuns() : undefined;
  const segments: number[] = []; // [batch, first run, end run] per counted batch, for reordering runs
  const st = new RunState(counts, runs);
  const [cgLo, cgHi] = halves(options.cgroup ?? 0);
  let examined = 0;
  let pages = 0;
  let counted = 0;
  const count = (b: number, u32: Uint32Array, cg: Uint32Array | undefined, got: number): void => {
    const start = batches[2 * b]!;
    const before = runs?.length ?? 0;
    if (cg) pages += countBatchInCgroup(u32, cg, got, start, cgLo, cgHi, st);
    else {
      countBatch(u32, got, start, st);
      pages += got;
    }
    st.flush();
    if (runs) segments.push(b, before, runs.length);
    examined += got;
    counted++;
  };
  const views = flagsBufs.map((buf) => Array.from({ length: slots }, (_, s) => new Uint32Array(buf, s * CENSUS_BATCH * 8, CENSUS_BATCH * 2)));
  const cgViews = cgBufs.map((buf) => (buf ? Array.from({ length: slots }, (_, s) => new Uint32Array(buf, s * CENSUS_BATCH * 8, CENSUS_BATCH * 2)) : undefined));
  const drain = (): boolean => {
    if (Atomics.load(ctl, CTL_ERROR) !== 0) {
      const err = new Uint8Array(errBuf);
      const len = new Int32Array(errBuf, 0, 1)[0]!;
      throw new ProcReadError(flagsFile.file, `reader thread failed: ${new TextDecoder().decode(err.subarray(4, 4 + len))}`);
    }
    let any = false;
    for (let r = 0; r < workers.length; r++)
      for (let s = 0; s < slots; s++) {
        const at = CTL_SLOTS + (r * slots + s) * 4;
        if (Atomics.load(ctl, at) !== 1) continue;
        count(ctl[at + 1]!, views[r]![s]!, cgViews[r]?.[s], ctl[at + 2]!);
        Atomics.store(ctl, at, 0);
        Atomics.notify(ctl, at);
        any = true;
      }
    return any;
  };

  const buf = new Uint8Array(CENSUS_BATCH * 8);
  const u32 = new Uint32Array(buf.buffer);
  const cgBuf = cgroupFile ? new Uint8Array(CENSUS_BATCH * 8) : undefined;
  const cgU32 = cgBuf ? new Uint32Array(cgBuf.buffer) : undefined;
  try {
    for (;;) {
      const b = Atomics.add(ctl, CTL_NEXT, 1);
      if (b >= nBatches) break;
      const got = flagsFile.readWords(batches[2 * b]!, batches[2 * b + 1]!, buf);
      if (cgroupFile && cgBuf && cgU32) {
        const gotCg = cgroupFile.readWords(batches[2 * b]!, got, cgBuf);
        if (gotCg < got) cgU32.fill(0xffffffff, 2 * gotCg, 2 * got);
      }
      count(b, u32, cgU32, got);
      drain();
    }
    // The readers still hold the batches they claimed last.
    let idleSince = performance.now();
    while (counted < nBatches) {
      const seq = Atomics.load(ctl, CTL_SEQ);
      if (drain()) {
        idleSince = performance.now();
        continue;
      }
      if (performance.now() - idleSince > STALL_MS) throw new ProcReadError(flagsFile.file, `reader threads made no progress for ${STALL_MS / 1000} s`);
      Atomics.wait(ctl, CTL_SEQ, seq, 100);
    }
  } finally {
    Atomics.store(ctl, CTL_ABORT, 1);
    for (let i = CTL_SLOTS; i < ctl.length; i += 4) Atomics.notify(ctl, i);
  }

  let beyondEnd = 0;
  for (const r of ranges) if (r.end !== Infinity) beyondEnd += Math.max(0, r.end - Math.max(r.start, pfnEnd));
  const reached = ranges.some((r) => r.end >= pfnEnd);
  return { scope: "pfn", counts, pages, examined, runs: runs ? inBatchOrder(runs, segments) : undefined, pfnEnd: reached ? pfnEnd : undefined, beyondEnd, skippedNonPresent: 0 };
}

/** Runs counted batch by batch in completion order, rearranged into batch (hence PFN) order. */
function inBatchOrder(runs: PageRuns, segments: readonly number[]): PageRuns {
  const order: number[] = [];
  for (let i = 0; i < segments.length; i += 3) order.push(i);
  order.sort((a, b) => segments[a]! - segments[b]!);
  const out = new PageRuns();
  for (const i of order)
    for (let k = segments[i + 1]!; k < segments[i + 2]!; k++) out.push(runs.voffset[k]!, runs.offset[k]!, runs.len[k]!, runs.lo[k]!, runs.hi[k]!);
  return out;
}

/** kpagecgroup, with a clear message where the kernel lacks it. */
export function openCgroupFile(procfs: ProcFs): U64File {
  try {
    return procfs.openU64("kpagecgroup");
  } catch (err) {
    if (err instanceof ProcReadError && err.code === "ENOENT")
      throw new ProcReadError(err.file, "missing: the kernel was built without CONFIG_MEMCG, so pages cannot be told apart by cgroup");
    throw err;
  }
}
