/**
 * The looked-up pages' values in WebAssembly memory (wasm/kpages.ts): the
 * rank index of a PFN set, counts, flags and cgroups by rank, the buffers
 * the kpage files are read into, and the accounting loop's buffers. One per
 * scan: the lookup fills it (kpage-lookup.ts), the accounting reads it
 * (accounting/account.ts). Its memory is sized once, so views on it stay
 * valid.
 */
import { readFileSync } from "node:fs";
import { F_ANON, F_HUGE, F_KSM, F_SWAPBACKED, F_THP, F_ZERO_PAGE } from "../decode/kpageflags.js";
import { E_HUGE_RUN, E_SHMEM_VMA } from "./entry-store.js";
import { wasmFile } from "./walk-wasm.js";

const BLOCK_WORDS = 2048;
/** Stored runs handed to the accounting loop at once (an EntryStore chunk). */
export const RUNS_AT_ONCE = 16384;
/** Per-run sums of the accounting loop. */
export const SUMS = 16;
/** Words per read window, per buffer (two buffers: one read while the other is stored). */
export const WINDOW = 128 * 1024;

/** What a kpage file's words become (INTO_ constants of wasm/kpages.ts). */
export const INTO_COUNT = 0;
export const INTO_FLAGS = 1;
export const INTO_CGROUP = 2;

interface Exports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  setup(dir: number, blocks: number, bitmaps: number, bases: number, counts: number, flags: number, pfn: number, len: number, vma: number, bits: number, out: number, acc: number): void;
  setValues(flagsHi: number, cgroups: number): void;
  setFlags(zero: number, huge: number, anon: number, swapbacked: number, ksm: number, thp: number, hugeRun: number, shmemVma: number): void;
  compact(into: number, n: number, start: number, len: number, got: number, buf: number): number;
  runsReset(): void;
  nextRuns(gap: number, maxWords: number, start: number, len: number): number;
  begin(): void;
  account(from: number, to: number, partial: number): number;
  end(): number;
}

let compiled: WebAssembly.Module | undefined;

/** One read window: the bytes read, and the runs they cover. */
export interface Window {
  readonly bytes: Uint8Array;
  readonly bytesAt: number;
  readonly start: Float64Array;
  readonly len: Uint32Array;
  readonly got: Uint32Array;
  readonly startAt: number;
  readonly lenAt: number;
  readonly gotAt: number;
}

export class KpageIndex {
  readonly count: Uint32Array;
  readonly flagsLo: Uint32Array;
  readonly flagsHi: Uint32Array;
  readonly cgroup: Float64Array | undefined;
  readonly windows: readonly Window[];
  readonly runPfn: Float64Array;
  readonly runLen: Uint32Array;
  readonly runVma: Uint32Array;
  readonly runBits: Uint32Array;
  readonly out: Float64Array;
  private readonly x: Exports;

  constructor(pages: readonly (Uint32Array | undefined)[], bases: readonly (Uint32Array | undefined)[], size: number, withCgroup: boolean) {
    compiled ??= new WebAssembly.Module(readFileSync(wasmFile("kpages.wasm")));
    const x = new WebAssembly.Instance(compiled, {}).exports as unknown as Exports;
    this.x = x;
    const blocks = pages.length;
    const slots = pages.reduce((n, w) => n + (w ? 1 : 0), 0);
    let at = x.heapBase();
    const take = (bytes: number): number => {
      const p = at;
      at += Math.ceil(bytes / 16) * 16;
      return p;
    };
    const dirAt = take(blocks * 4);
    const bitmapAt = take(slots * BLOCK_WORDS * 4);
    const baseAt = take(slots * BLOCK_WORDS * 4);
    const countAt = take(size * 4);
    const flagAt = take(size * 4);
    const flagHiAt = take(size * 4);
    const cgroupAt = take(withCgroup ? size * 8 : 0);
    const pfnAt = take(RUNS_AT_ONCE * 8);
    const lenAt = take(RUNS_AT_ONCE * 4);
    const vmaAt = take(RUNS_AT_ONCE * 4);
    const bitsAt = take(RUNS_AT_ONCE * 4);
    const outAt = take((RUNS_AT_ONCE + 1) * (SUMS + 1) * 8);
    const accAt = take(2 * SUMS * 8);
    const win = [0, 1].map(() => ({ bytesAt: take(WINDOW * 8), startAt: take(WINDOW * 8), lenAt: take(WINDOW * 4), gotAt: take(WINDOW * 4) }));
    const have = x.memory.buffer.byteLength;
    if (at > have) x.memory.grow(Math.ceil((at - have) / 65536));
    const buf = x.memory.buffer;
    const dir = new Int32Array(buf, dirAt, blocks).fill(-1);
    let slot = 0;
    pages.forEach((words, p) => {
      if (!words) return;
      dir[p] = slot;
      new Uint32Array(buf, bitmapAt + slot * BLOCK_WORDS * 4, BLOCK_WORDS).set(words);
      new Uint32Array(buf, baseAt + slot * BLOCK_WORDS * 4, BLOCK_WORDS).set(bases[p]!);
      slot++;
    });
    this.count = new Uint32Array(buf, countAt, size);
    this.flagsLo = new Uint32Array(buf, flagAt, size);
    this.flagsHi = new Uint32Array(buf, flagHiAt, size);
    this.cgroup = withCgroup ? new Float64Array(buf, cgroupAt, size) : undefined;
    this.runPfn = new Float64Array(buf, pfnAt, RUNS_AT_ONCE);
    this.runLen = new Uint32Array(buf, lenAt, RUNS_AT_ONCE);
    this.runVma = new Uint32Array(buf, vmaAt, RUNS_AT_ONCE);
    this.runBits = new Uint32Array(buf, bitsAt, RUNS_AT_ONCE);
    this.out = new Float64Array(buf, outAt, (RUNS_AT_ONCE + 1) * (SUMS + 1));
    this.windows = win.map((w) => ({
      ...w,
      bytes: new Uint8Array(buf, w.bytesAt, WINDOW * 8),
      start: new Float64Array(buf, w.startAt, WINDOW),
      len: new Uint32Array(buf, w.lenAt, WINDOW),
      got: new Uint32Array(buf, w.gotAt, WINDOW),
    }));
    x.setup(dirAt, blocks, bitmapAt, baseAt, countAt, flagAt, pfnAt, lenAt, vmaAt, bitsAt, outAt, accAt);
    x.setValues(flagHiAt, cgroupAt);
    x.setFlags(F_ZERO_PAGE, F_HUGE, F_ANON, F_SWAPBACKED, F_KSM, F_THP, E_HUGE_RUN, E_SHMEM_VMA);
  }

  /** Store by rank the words read into window `w` for its first `n` runs; returns the PFNs past the end of the file. */
  compact(into: number, w: number, n: number): number {
    const win = this.windows[w]!;
    return this.x.compact(into, n, win.startAt, win.lenAt, win.gotAt, win.bytesAt);
  }

  /** Start over the runs of the whole set (see nextRuns). */
  runsReset(): void {
    this.x.runsReset();
  }

  /**
   * Fill window `w`'s run columns with the next runs of the set (holes of at
   * most `gap` PFNs read through, never crossing a 64 Ki-PFN block), as many
   * as fit the window; returns how many, 0 at the end.
   */
  nextRuns(w: number, gap: number): number {
    const win = this.windows[w]!;
    return this.x.nextRuns(gap, WINDOW, win.startAt, win.lenAt);
  }

  /** Start a process's accounting. */
  begin(): void {
    this.x.begin();
  }

  /** Account the first `n` runs of the run buffer; returns the per-VMA segments written to `out`. */
  account(n: number, partial: boolean): number {
    return this.x.account(0, n, partial ? 1 : 0);
  }

  /** Flush the last VMA's sums to segment 0 of `out`; returns 1, or 0 when there was none. */
  end(): number {
    return this.x.end();
  }
}
