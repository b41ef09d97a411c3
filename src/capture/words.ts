/**
 * The capture format of a 64-bit-word file (pagemap, kpagecount, kpageflags,
 * kpagecgroup): only the words that were read, as extents, each word kept
 * exactly.
 *
 * Within an extent the words are stored as arithmetic runs (length, step,
 * first value): pagemap entries of physically contiguous pages differ by 1
 * (the PFN), swap entries of consecutive slots by 32 (the offset starts at
 * bit 5), absent pages and most kpageflags/kpagecount words by 0. On the
 * reference workload (3.0 M present pages) this is 0.94 M runs, which gzip
 * then squeezes further; the columns are stored apart (lengths, steps, low
 * halves as deltas, high halves) because alike columns compress better.
 *
 * Layout (little-endian; documented in docs/captures.md):
 *   "PLWORDS1"                      8 bytes
 *   endLo u32, endHi u32            first word index that reads as end of file
 *   extents E u32, runs R u32
 *   E x startLo u32, E x startHi u32, E x count u32
 *   R x len u32, R x step i32, R x (lo - previous run's lo) u32, R x hi u32
 * Runs fill the extents in order, each run inside one extent.
 */
import { CaptureFormatError, CaptureMissingError } from "./errors.js";

const MAGIC = "PLWORDS1";
/** The format is little-endian; typed arrays follow the host. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const TWO32 = 2 ** 32;
/** Runs are cut at this length so that step x offset stays exact in a double (2^20 x 2^31 = 2^51). */
const MAX_RUN = 1 << 20;
/** No file has more words than this (2^52 words of 8 bytes: more than any address space or memory). */
export const MAX_WORD_INDEX = 2 ** 52;

/** Growable columns of runs. */
class Columns {
  n = 0;
  len = new Uint32Array(1024);
  step = new Int32Array(1024);
  lo = new Uint32Array(1024);
  hi = new Uint32Array(1024);

  push(len: number, step: number, lo: number, hi: number): void {
    if (this.n === this.len.length) {
      const grow = <T extends Uint32Array | Int32Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.len = grow(this.len, (k) => new Uint32Array(k));
      this.step = grow(this.step, (k) => new Int32Array(k));
      this.lo = grow(this.lo, (k) => new Uint32Array(k));
      this.hi = grow(this.hi, (k) => new Uint32Array(k));
    }
    this.len[this.n] = len;
    this.step[this.n] = step;
    this.lo[this.n] = lo;
    this.hi[this.n] = hi;
    this.n++;
  }
}

/** Disjoint sorted [start, end) intervals: what a word file already holds. */
class Coverage {
  readonly s: number[] = [];
  readonly e: number[] = [];

  /** Add [a, b); return the parts of it that were not yet covered. */
  add(a: number, b: number): Array<[number, number]> {
    const s = this.s;
    const e = this.e;
    // Reads mostly arrive in ascending order (a file read front to back, look-ups by ascending PFN): append.
    const last = e.length - 1;
    if (last < 0 || a > e[last]!) {
      s.push(a);
      e.push(b);
      return [[a, b]];
    }
    if (a === e[last]! && a >= s[last]!) {
      e[last] = Math.max(e[last]!, b);
      return b > a ? [[a, b]] : [];
    }
    // First interval ending after a.
    let lo = 0;
    let hi = e.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (e[mid]! < a) lo = mid + 1;
      else hi = mid;
    }
    const first = lo;
    const out: Array<[number, number]> = [];
    let at = a;
    let k = first;
    for (; k < s.length && s[k]! <= b; k++) {
      if (s[k]! > at) out.push([at, Math.min(s[k]!, b)]);
      at = Math.max(at, e[k]!);
    }
    if (at < b) out.push([at, b]);
    const ns = Math.min(a, first < s.length ? s[first]! : a);
    const ne = Math.max(b, k > first ? e[k - 1]! : b);
    s.splice(first, k - first, ns);
    e.splice(first, k - first, ne);
    return out;
  }
}

/**
 * The words recorded from one file, encoded as they arrive (the raw words
 * are not kept: a process with a 300 GiB reservation has 80 M pagemap words,
 * nearly all one run of zeros). The first read of a word is the one kept:
 * the reports computed while capturing saw that value.
 */
export class WordRecorder {
  private readonly cov = new Coverage();
  private readonly pieces: Array<{ index: number; count: number; first: number; runs: number }> = [];
  private readonly cols = new Columns();
  /** The first index a read found past the end of the file. */
  end = MAX_WORD_INDEX;
  /** Words kept. */
  words = 0;

  /** Set once the member is written: a later read could not be kept (a programming error, not the machine's). */
  sealed = false;

  /** Keep `got` words read at `index` (bytes at `into[at..]`); `count` were asked for. */
  record(index: number, count: number, got: number, into: Uint8Array, at: number): void {
    if (this.sealed) throw new Error("pagelens: words read after their capture member was written");
    if (got < count) this.end = Math.min(this.end, index + got);
    if (got <= 0) return;
    let u32: Uint32Array;
    if ((into.byteOffset + at) % 4 === 0) u32 = new Uint32Array(into.buffer, into.byteOffset + at, got * 2);
    else u32 = new Uint32Array(into.slice(at, at + got * 8).buffer);
    for (const [a, b] of this.cov.add(index, index + got)) this.encode(a, u32.subarray((a - index) * 2, (b - index) * 2));
  }

  private encode(index: number, w: Uint32Array): void {
    const cols = this.cols;
    const firstRun = cols.n;
    const count = w.length / 2;
    let i = 0;
    while (i < count) {
      const lo = w[2 * i]!;
      const hi = w[2 * i + 1]!;
      let len = 1;
      let step = 0;
      if (i + 1 < count && w[2 * i + 3] === hi && Math.abs(w[2 * i + 2]! - lo) <= 0x7fffffff) {
        // The common case, kept to plain integer compares (~25 M words on the reference workload): the high
        // half stays, the low half moves by `step` without wrapping. A run cut short here is still a valid run.
        step = w[2 * i + 2]! - lo;
        len = 2;
        let p = w[2 * i + 2]!;
        const lim = Math.min(count - i, MAX_RUN);
        while (len < lim) {
          const t = p + step;
          if (w[2 * (i + len)] !== t || w[2 * (i + len) + 1] !== hi) break;
          p = t;
          len++;
        }
      } else if (i + 1 < count) {
        const d = (w[2 * i + 3]! - hi) * TWO32 + (w[2 * i + 2]! - lo);
        if (d >= -0x80000000 && d <= 0x7fffffff) {
          step = d;
          let pLo = w[2 * i + 2]!;
          let pHi = w[2 * i + 3]!;
          len = 2;
          while (i + len < count && len < MAX_RUN) {
            const t = pLo + step;
            const eLo = t >>> 0 === t ? t : ((t % TWO32) + TWO32) % TWO32;
            const eHi = t >= 0 && t < TWO32 ? pHi : (pHi + Math.floor(t / TWO32)) >>> 0;
            if (w[2 * (i + len)] !== eLo || w[2 * (i + len) + 1] !== eHi) break;
            pLo = eLo;
            pHi = eHi;
            len++;
          }
        }
      }
      cols.push(len, step, lo, hi);
      i += len;
    }
    this.pieces.push({ index, count, first: firstRun, runs: cols.n - firstRun });
    this.words += count;
  }

  /**
   * The runs encoded so far, in the order the words arrived: run r is
   * len[r] words w[k] = ((hi[r] << 32) | lo[r]) + k * step[r] (mod 2^64), r < n.
   * Read-only views, valid until the next record().
   */
  runColumns(): { readonly n: number; readonly len: Uint32Array; readonly step: Int32Array; readonly lo: Uint32Array; readonly hi: Uint32Array } {
    const c = this.cols;
    return { n: c.n, len: c.len, step: c.step, lo: c.lo, hi: c.hi };
  }

  /** The member (layout above): pieces sorted, touching pieces made one extent. */
  encodeMember(): Uint8Array {
    const pieces = [...this.pieces].sort((a, b) => a.index - b.index);
    const extStart: number[] = [];
    const extCount: number[] = [];
    for (const p of pieces) {
      const last = extStart.length - 1;
      if (last >= 0 && extStart[last]! + extCount[last]! === p.index) extCount[last]! += p.count;
      else {
        extStart.push(p.index);
        extCount.push(p.count);
      }
    }
    const E = extStart.length;
    const R = this.cols.n;
    const out = new Uint8Array(24 + 12 * E + 16 * R);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
    const endC = Math.min(this.end, MAX_WORD_INDEX);
    dv.setUint32(8, endC % TWO32, true);
    dv.setUint32(12, Math.floor(endC / TWO32), true);
    dv.setUint32(16, E, true);
    dv.setUint32(20, R, true);
    let at = 24;
    for (let i = 0; i < E; i++, at += 4) dv.setUint32(at, extStart[i]! % TWO32, true);
    for (let i = 0; i < E; i++, at += 4) dv.setUint32(at, Math.floor(extStart[i]! / TWO32), true);
    for (let i = 0; i < E; i++, at += 4) dv.setUint32(at, extCount[i]!, true);
    // Runs in the order of the sorted pieces, each column whole.
    const cols = this.cols;
    let r = 0;
    let prevLo = 0;
    if (LITTLE_ENDIAN) {
      // Typed arrays in the host's order, which is the format's: 4 stores per run instead of 4 DataView calls.
      const len = new Uint32Array(out.buffer, at, R);
      const step = new Int32Array(out.buffer, at + 4 * R, R);
      const lo = new Uint32Array(out.buffer, at + 8 * R, R);
      const hi = new Uint32Array(out.buffer, at + 12 * R, R);
      for (const p of pieces) {
        len.set(cols.len.subarray(p.first, p.first + p.runs), r);
        step.set(cols.step.subarray(p.first, p.first + p.runs), r);
        hi.set(cols.hi.subarray(p.first, p.first + p.runs), r);
        for (let k = p.first; k < p.first + p.runs; k++, r++) {
          lo[r] = cols.lo[k]! - prevLo;
          prevLo = cols.lo[k]!;
        }
      }
      return out;
    }
    const colAt = [at, at + 4 * R, at + 8 * R, at + 12 * R];
    for (const p of pieces) {
      for (let k = p.first; k < p.first + p.runs; k++, r++) {
        dv.setUint32(colAt[0]! + 4 * r, cols.len[k]!, true);
        dv.setInt32(colAt[1]! + 4 * r, cols.step[k]!, true);
        dv.setUint32(colAt[2]! + 4 * r, (cols.lo[k]! - prevLo) >>> 0, true);
        dv.setUint32(colAt[3]! + 4 * r, cols.hi[k]!, true);
        prevLo = cols.lo[k]!;
      }
    }
    return out;
  }

  /** Merged [start, end) intervals recorded. */
  covered(): Array<[number, number]> {
    return this.cov.s.map((s, i): [number, number] => [s, this.cov.e[i]!]);
  }
}

/** A decoded word member: answers reads inside its extents, refuses the rest. */
export class WordTable {
  private constructor(
    readonly end: number,
    private readonly extStart: Float64Array,
    private readonly extEnd: Float64Array,
    private readonly runStart: Float64Array,
    private readonly runStep: Int32Array,
    private readonly runLo: Uint32Array,
    private readonly runHi: Uint32Array,
  ) {}

  /** Words recorded. */
  get recorded(): number {
    let n = 0;
    for (let i = 0; i < this.extStart.length; i++) n += this.extEnd[i]! - this.extStart[i]!;
    return n;
  }

  /**
   * Check and decode a member. Memory used is proportional to the member's
   * size (every count is checked against the bytes actually present), so a
   * lying header cannot make it allocate more.
   */
  static decode(data: Uint8Array, file: string): WordTable {
    const bad = (why: string): CaptureFormatError => new CaptureFormatError(file, why);
    if (data.length < 24) throw bad("word file shorter than its header");
    for (let i = 0; i < 8; i++) if (data[i] !== MAGIC.charCodeAt(i)) throw bad("word file without the PLWORDS1 magic");
    const dv = new DataView(data.buffer, data.byteOffset, data.length);
    const end = dv.getUint32(8, true) + dv.getUint32(12, true) * TWO32;
    const E = dv.getUint32(16, true);
    const R = dv.getUint32(20, true);
    if (end > MAX_WORD_INDEX) throw bad("word file end out of range");
    if (24 + 12 * E + 16 * R !== data.length) throw bad(`word file of ${data.length} bytes cannot hold ${E} extents and ${R} runs`);
    const extStart = new Float64Array(E);
    const extEnd = new Float64Array(E);
    let at = 24;
    for (let i = 0; i < E; i++) extStart[i] = dv.getUint32(at + 4 * i, true) + dv.getUint32(at + 4 * (E + i), true) * TWO32;
    at += 8 * E;
    let prevEnd = -1;
    for (let i = 0; i < E; i++) {
      const n = dv.getUint32(at + 4 * i, true);
      if (n === 0 || extStart[i]! <= prevEnd || extStart[i]! + n > end) throw bad(`word file extent ${i} empty, out of order or past the end`);
      extEnd[i] = extStart[i]! + n;
      prevEnd = extEnd[i]!;
    }
    at += 4 * E;
    const runStart = new Float64Array(R);
    const runStep = new Int32Array(R);
    const runLo = new Uint32Array(R);
    const runHi = new Uint32Array(R);
    const lenAt = at;
    const stepAt = at + 4 * R;
    const loAt = at + 8 * R;
    const hiAt = at + 12 * R;
    let e = 0;
    let pos = E > 0 ? extStart[0]! : 0;
    let prevLo = 0;
    for (let r = 0; r < R; r++) {
      const n = dv.getUint32(lenAt + 4 * r, true);
      if (e >= E) throw bad("word file has more runs than its extents hold");
      if (n === 0 || n > MAX_RUN || pos + n > extEnd[e]!) throw bad(`word file run ${r} of length ${n} does not fit its extent`);
      runStart[r] = pos;
      runStep[r] = dv.getInt32(stepAt + 4 * r, true);
      prevLo = (prevLo + dv.getUint32(loAt + 4 * r, true)) >>> 0;
      runLo[r] = prevLo;
      runHi[r] = dv.getUint32(hiAt + 4 * r, true);
      pos += n;
      if (pos === extEnd[e]) {
        e++;
        if (e < E) pos = extStart[e]!;
      }
    }
    if (e !== E) throw bad("word file runs do not fill its extents");
    return new WordTable(end, extStart, extEnd, runStart, runStep, runLo, runHi);
  }

  /**
   * Read `count` words from `index` into `into` at byte `at`, as pread on
   * the kernel's file would: fewer at the end of the file. Words not
   * recorded are a CaptureMissingError naming `what`, never zeros.
   */
  read(index: number, count: number, into: Uint8Array, at: number, capture: string, what: string): number {
    if (index >= this.end || count <= 0) return 0;
    const n = Math.min(count, this.end - index);
    const e = upperBound(this.extStart, index) - 1;
    if (e < 0 || index + n > this.extEnd[e]!)
      throw new CaptureMissingError(capture, `${what} words ${index}-${index + n - 1}`);
    const dv = new DataView(into.buffer, into.byteOffset + at, n * 8);
    let r = upperBound(this.runStart, index) - 1;
    let i = index;
    let o = 0;
    while (o < n) {
      const start = this.runStart[r]!;
      const runEnd = r + 1 < this.runStart.length && this.runStart[r + 1]! <= this.extEnd[e]! && this.runStart[r + 1]! > start ? this.runStart[r + 1]! : this.extEnd[e]!;
      const step = this.runStep[r]!;
      const lo = this.runLo[r]!;
      const hi = this.runHi[r]!;
      const stop = Math.min(runEnd, index + n);
      for (; i < stop; i++, o++) {
        const t = lo + step * (i - start);
        const wLo = ((t % TWO32) + TWO32) % TWO32;
        dv.setUint32(o * 8, wLo, true);
        dv.setUint32(o * 8 + 4, (hi + Math.floor(t / TWO32)) >>> 0, true);
      }
      r++;
    }
    return n;
  }
}

/** The first i with a[i] > x (a ascending). */
function upperBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
