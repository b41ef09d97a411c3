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
const TWO32 = 2 ** 32;
/** Runs are cut at this length so that step x offset stays exact in a double (2^20 x 2^31 = 2^51). */
const MAX_RUN = 1 << 20;
/** No file has more words than this (2^52 words of 8 bytes: more than any address space or memory). */
export const MAX_WORD_INDEX = 2 ** 52;

export interface WordChunk {
  readonly index: number;
  /** Whole words, little-endian, as read. */
  readonly bytes: Uint8Array;
}

/** Encode recorded reads (first read of a word wins) into the member format above. */
export function encodeWords(chunks: readonly WordChunk[], end: number): Uint8Array {
  const sorted = [...chunks].filter((c) => c.bytes.length >= 8).sort((a, b) => a.index - b.index);
  const extStart: number[] = [];
  const extCount: number[] = [];
  const len: number[] = [];
  const step: number[] = [];
  const lo: number[] = [];
  const hi: number[] = [];
  let curEnd = -1;
  // Run state.
  let rLen = 0;
  let rStep = 0;
  let pLo = 0;
  let pHi = 0;
  const close = (): void => {
    if (rLen > 0) {
      len.push(rLen);
      step.push(rStep);
    }
    rLen = 0;
  };
  const add = (wLo: number, wHi: number): void => {
    if (rLen === 1) {
      const d = (wHi - pHi) * TWO32 + (wLo - pLo);
      if (d >= -0x80000000 && d <= 0x7fffffff) {
        rStep = d;
        rLen = 2;
        pLo = wLo;
        pHi = wHi;
        return;
      }
    } else if (rLen > 1 && rLen < MAX_RUN) {
      const t = pLo + rStep;
      const eLo = ((t % TWO32) + TWO32) % TWO32;
      const eHi = (pHi + Math.floor(t / TWO32)) >>> 0;
      if (eLo === wLo && eHi === wHi) {
        rLen++;
        pLo = wLo;
        pHi = wHi;
        return;
      }
    }
    close();
    rLen = 1;
    rStep = 0;
    lo.push(wLo);
    hi.push(wHi);
    pLo = wLo;
    pHi = wHi;
  };
  for (const c of sorted) {
    const words = Math.floor(c.bytes.length / 8);
    const dv = new DataView(c.bytes.buffer, c.bytes.byteOffset, words * 8);
    let first = 0;
    if (c.index < curEnd) first = Math.min(words, curEnd - c.index);
    if (first >= words) continue;
    const from = c.index + first;
    if (from !== curEnd) {
      close();
      extStart.push(from);
      extCount.push(0);
    }
    for (let i = first; i < words; i++) add(dv.getUint32(i * 8, true), dv.getUint32(i * 8 + 4, true));
    extCount[extCount.length - 1]! += words - first;
    curEnd = c.index + words;
  }
  close();
  const E = extStart.length;
  const R = len.length;
  const out = new Uint8Array(24 + 12 * E + 16 * R);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  const endC = Math.min(end, MAX_WORD_INDEX);
  dv.setUint32(8, endC % TWO32, true);
  dv.setUint32(12, Math.floor(endC / TWO32), true);
  dv.setUint32(16, E, true);
  dv.setUint32(20, R, true);
  let at = 24;
  for (let i = 0; i < E; i++, at += 4) dv.setUint32(at, extStart[i]! % TWO32, true);
  for (let i = 0; i < E; i++, at += 4) dv.setUint32(at, Math.floor(extStart[i]! / TWO32), true);
  for (let i = 0; i < E; i++, at += 4) dv.setUint32(at, extCount[i]!, true);
  for (let i = 0; i < R; i++, at += 4) dv.setUint32(at, len[i]!, true);
  for (let i = 0; i < R; i++, at += 4) dv.setInt32(at, step[i]!, true);
  for (let i = 0, prev = 0; i < R; i++, at += 4) {
    dv.setUint32(at, (lo[i]! - prev) >>> 0, true);
    prev = lo[i]!;
  }
  for (let i = 0; i < R; i++, at += 4) dv.setUint32(at, hi[i]!, true);
  return out;
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
