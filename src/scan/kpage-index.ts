/**
 * The looked-up pages' values in WebAssembly memory (wasm/kpages.ts): the
 * rank index of a PFN set, counts, flags and cgroups by rank, the buffers
 * the kpage files are read into, and the accounting loop's buffers. One per
 * scan: the lookup fills it (kpage-lookup.ts), the accounting reads it
 * (kpage-account.ts). Its memory is sized once, so views on it stay
 * valid.
 */
import { ParseError } from "../errors.js";
import { BLOCK_WORDS, E_SHMEM_VMA, OBJECT_FIELDS, OBJECT_STRIDE, PFN_BLOCK_SHIFT, SUMS } from "./wasm-abi.js";
import { wasmModule } from "./wasm-modules.js";

/** PFN blocks in a 52-bit physical address space (2^40 page frames). */
const MAX_BLOCKS = 2 ** (40 - PFN_BLOCK_SHIFT);

/** Stored runs handed to the accounting loop at once (an EntryStore chunk). */
export const RUNS_AT_ONCE = 16384;
/** Words per read window, per buffer (two buffers: one read while the other is stored). */
export const WINDOW = 128 * 1024;

interface Exports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  setup(dir: number, blocks: number, bitmaps: number, bases: number, counts: number, flags: number, pfn: number, len: number, vma: number, bits: number, out: number, acc: number): void;
  setValues(flagsHi: number, cgroups: number): void;
  compact(into: number, n: number, start: number, len: number, got: number, buf: number): number;
  runsReset(subset: number): void;
  maxBlock(pfn: number, len: number, n: number): number;
  clearBlocks(dir: number, blocks: number): void;
  markRuns(pfn: number, len: number, n: number, dir: number): void;
  assignSlots(dir: number, blocks: number): number;
  buildSets(pfn: number, len: number, bits: number, n: number, subset: number, shmemMark: number): void;
  rankBases(slots: number): number;
  subsetSize(slots: number): number;
  nextRuns(gap: number, maxWords: number, start: number, len: number): number;
  setPageSize(pageSize: number): void;
  begin(): void;
  account(from: number, to: number, partial: number): number;
  end(): number;
  prefixRuns(n: number, partial: number, rowsAt: number, first: number, stride: number): number;
}

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

/** Hands out 16-aligned areas of wasm memory from a start offset, and grows the memory to cover them. */
class Areas {
  constructor(
    private readonly x: Exports,
    public at: number,
  ) {}
  take(bytes: number): number {
    const p = this.at;
    this.at += Math.ceil(bytes / 16) * 16;
    return p;
  }
  /** Grow the memory to cover every area taken; views made before are invalid afterwards. */
  grow(): ArrayBuffer {
    const have = this.x.memory.buffer.byteLength;
    if (this.at > have) this.x.memory.grow(Math.ceil((this.at - have) / 65536));
    return this.x.memory.buffer;
  }
}

/** The rank index of a PFN set, as JavaScript views on an index's memory (for KpageTable). */
export interface RankViews {
  readonly pages: (Uint32Array | undefined)[];
  readonly bases: (Uint32Array | undefined)[];
  readonly size: number;
  /** PFNs whose flags are to be read (the subset), when built from a store with one. */
  readonly subsetSize: number;
  /** The same index as three flat arrays (scan-data.ts KpageValues): block number per slot, bitmaps and bases of every slot. */
  readonly blocks: Uint32Array;
  readonly bitmaps: Uint32Array;
  readonly baseWords: Uint32Array;
}

/** A run store as the index reads it (scan/entry-store.ts EntryStore). */
export interface StoreColumns {
  readonly length: number;
  /** Rows of shared objects' prefix sums to make room for (kpage-account.ts objectSums): their runs / OBJECT_STRIDE + 1. */
  readonly prefixRows?: number;
  forEachChunk(start: number, end: number, fn: (cols: { pfn: Float64Array; len: Uint32Array; bits: Uint8Array }, from: number, to: number) => void): void;
}

function instantiate(): Exports {
  return new WebAssembly.Instance(wasmModule("kpages.wasm"), {}).exports as unknown as Exports;
}

/**
 * WebAssembly memory never shrinks: a KpageWasm holding more than this, over
 * twice what the last scan needed, is let go before the next scan, which
 * then starts on a fresh instance sized for itself. One scan of a machine
 * with ~300 K mapped PFNs needs about 10 MiB.
 */
export const KPAGE_WASM_KEEP_BYTES = 32 * 1024 * 1024;

/**
 * One kpages WebAssembly instance kept for scan after scan (src/scan/scanner.ts):
 * its memory, grown to the largest scan so far, is cleared and laid out
 * again instead of a new instance (and a new memory) per scan. An index
 * built on it is valid until the next index is built on it. Memory grown
 * by a scan much larger than the ones that follow (a burst of processes)
 * is released: see KPAGE_WASM_KEEP_BYTES.
 */
export class KpageWasm {
  private x: Exports | undefined;
  /** End of the areas any index used: what must be zeroed before the next. */
  private used = 0;
  /** End of the areas the last index used. */
  private last = 0;

  /** The instance, its used memory zeroed (the set-building loops OR bits into zeroed bitmaps). */
  take(): Exports {
    if (this.x && this.bytes > KPAGE_WASM_KEEP_BYTES && this.bytes > 2 * this.last) {
      // Dropped: the next instance's memory comes zeroed from the system and grows only as far as this scan needs.
      this.x = undefined;
      this.used = 0;
    }
    if (!this.x) this.x = instantiate();
    else if (this.used > this.x.heapBase()) new Uint8Array(this.x.memory.buffer, this.x.heapBase(), this.used - this.x.heapBase()).fill(0);
    return this.x;
  }

  /** Record how far the index just built reaches. */
  usedTo(at: number): void {
    this.used = Math.max(this.used, at);
    this.last = at;
  }

  /** Bytes of WebAssembly memory held. */
  get bytes(): number {
    return this.x?.memory.buffer.byteLength ?? 0;
  }
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
  /** Prefix sums of the shared objects' runs (kpage-account.ts objectSums): rows of OBJECT_FIELDS, as many as the store asked room for. */
  readonly prefix: Float64Array;
  private readonly prefixAt: number;
  /** Set when built from a store: the rank index as views, for the table. */
  readonly views: RankViews | undefined;
  private readonly x: Exports;

  /** An index of a PFN set built in JavaScript (`pages` and rank `bases` as PfnSet and KpageTable keep them). */
  static fromSet(pages: readonly (Uint32Array | undefined)[], bases: readonly (Uint32Array | undefined)[], size: number, withCgroup: boolean): KpageIndex {
    const x = instantiate();
    const areas = new Areas(x, x.heapBase());
    const blocks = pages.length;
    const slots = pages.reduce((n, w) => n + (w ? 1 : 0), 0);
    const dirAt = areas.take(blocks * 4);
    const bitmapAt = areas.take(slots * BLOCK_WORDS * 4);
    const baseAt = areas.take(slots * BLOCK_WORDS * 4);
    const buf = areas.grow();
    const dir = new Int32Array(buf, dirAt, blocks).fill(-1);
    let slot = 0;
    pages.forEach((words, p) => {
      if (!words) return;
      dir[p] = slot;
      new Uint32Array(buf, bitmapAt + slot * BLOCK_WORDS * 4, BLOCK_WORDS).set(words);
      new Uint32Array(buf, baseAt + slot * BLOCK_WORDS * 4, BLOCK_WORDS).set(bases[p]!);
      slot++;
    });
    return new KpageIndex(x, areas, { dirAt, blocks, bitmapAt, baseAt }, size, withCgroup, undefined);
  }

  /**
   * The index of the PFNs of a run store's records, built in WebAssembly
   * (the scan's path): directory, bitmaps and rank bases, and with
   * `subset`, a second bitmap of the PFNs of records without E_SHMEM_VMA,
   * whose flags are needed.
   */
  static fromStore(store: StoreColumns, withCgroup: boolean, subset: boolean, reuse?: KpageWasm): KpageIndex {
    const x = reuse ? reuse.take() : instantiate();
    const areas = new Areas(x, x.heapBase());
    const n = store.length;
    // The runs pass through a batch area, RUNS_AT_ONCE at a time, three times (bounds, blocks, bits):
    // copying them all in at once cost 13 bytes a run of WebAssembly memory (30 MB for fragmented memory).
    const pfnAt = areas.take(RUNS_AT_ONCE * 8);
    const lenAt = areas.take(RUNS_AT_ONCE * 4);
    const bitsAt = areas.take(RUNS_AT_ONCE);
    const batches = (withBits: boolean, fn: (m: number) => void): void => {
      const buf = x.memory.buffer;
      const pfn = new Float64Array(buf, pfnAt, RUNS_AT_ONCE);
      const len = new Uint32Array(buf, lenAt, RUNS_AT_ONCE);
      const bits = new Uint8Array(buf, bitsAt, RUNS_AT_ONCE);
      store.forEachChunk(0, n, (cols, from, to) => {
        for (let a = from; a < to; a += RUNS_AT_ONCE) {
          const b = Math.min(to, a + RUNS_AT_ONCE);
          pfn.set(cols.pfn.subarray(a, b));
          len.set(cols.len.subarray(a, b));
          if (withBits) bits.set(cols.bits.subarray(a, b));
          fn(b - a);
        }
      });
    };
    areas.grow();
    let blocks = 0;
    batches(false, (m) => (blocks = Math.max(blocks, x.maxBlock(pfnAt, lenAt, m) >>> 0)));
    // Physical addresses have at most 52 bits (x86-64, arm64 with LPA): 2^40 page frames, 2^24
    // blocks. A pagemap naming more was not written by a kernel (a bad or hostile tree), and the
    // directory it would need does not fit in memory.
    if (blocks > MAX_BLOCKS) throw new ParseError("pagemap", undefined, `names page frame numbers beyond 2^40 (52-bit physical addresses): no kernel wrote it`);
    const dirAt = areas.take(blocks * 4);
    areas.grow();
    x.clearBlocks(dirAt, blocks);
    batches(false, (m) => x.markRuns(pfnAt, lenAt, m, dirAt));
    const slots = x.assignSlots(dirAt, blocks);
    const bitmapAt = areas.take(slots * BLOCK_WORDS * 4);
    const subsetAt = subset ? areas.take(slots * BLOCK_WORDS * 4) : 0;
    const baseAt = areas.take(slots * BLOCK_WORDS * 4);
    areas.grow();
    x.setup(dirAt, blocks, bitmapAt, baseAt, 0, 0, 0, 0, 0, 0, 0, 0);
    batches(true, (m) => x.buildSets(pfnAt, lenAt, bitsAt, m, subsetAt, E_SHMEM_VMA));
    const size = x.rankBases(slots);
    const subsetSize = x.subsetSize(slots);
    const index = new KpageIndex(x, areas, { dirAt, blocks, bitmapAt, baseAt }, size, withCgroup, subsetSize, store.prefixRows ?? 0);
    reuse?.usedTo(areas.at);
    return index;
  }

  private constructor(x: Exports, areas: Areas, rank: { dirAt: number; blocks: number; bitmapAt: number; baseAt: number }, size: number, withCgroup: boolean, subsetSize: number | undefined, prefixRows = 0) {
    this.x = x;
    const countAt = areas.take(size * 4);
    const flagAt = areas.take(size * 4);
    const flagHiAt = areas.take(size * 4);
    const cgroupAt = areas.take(withCgroup ? size * 8 : 0);
    const pfnAt = areas.take(RUNS_AT_ONCE * 8);
    const lenAt = areas.take(RUNS_AT_ONCE * 4);
    const vmaAt = areas.take(RUNS_AT_ONCE * 4);
    const bitsAt = areas.take(RUNS_AT_ONCE * 4);
    const outAt = areas.take((RUNS_AT_ONCE + 1) * (SUMS + 1) * 8);
    const accAt = areas.take(2 * SUMS * 8);
    const prefixAt = areas.take(prefixRows * OBJECT_FIELDS * 8);
    const win = [0, 1].map(() => ({ bytesAt: areas.take(WINDOW * 8), startAt: areas.take(WINDOW * 8), lenAt: areas.take(WINDOW * 4), gotAt: areas.take(WINDOW * 4) }));
    // The last growth: the views made from here on stay valid.
    const buf = areas.grow();
    this.count = new Uint32Array(buf, countAt, size);
    this.flagsLo = new Uint32Array(buf, flagAt, size);
    this.flagsHi = new Uint32Array(buf, flagHiAt, size);
    this.cgroup = withCgroup ? new Float64Array(buf, cgroupAt, size) : undefined;
    this.runPfn = new Float64Array(buf, pfnAt, RUNS_AT_ONCE);
    this.runLen = new Uint32Array(buf, lenAt, RUNS_AT_ONCE);
    this.runVma = new Uint32Array(buf, vmaAt, RUNS_AT_ONCE);
    this.runBits = new Uint32Array(buf, bitsAt, RUNS_AT_ONCE);
    this.out = new Float64Array(buf, outAt, (RUNS_AT_ONCE + 1) * (SUMS + 1));
    this.prefixAt = prefixAt;
    this.prefix = new Float64Array(buf, prefixAt, prefixRows * OBJECT_FIELDS);
    this.windows = win.map((w) => ({
      ...w,
      bytes: new Uint8Array(buf, w.bytesAt, WINDOW * 8),
      start: new Float64Array(buf, w.startAt, WINDOW),
      len: new Uint32Array(buf, w.lenAt, WINDOW),
      got: new Uint32Array(buf, w.gotAt, WINDOW),
    }));
    x.setup(rank.dirAt, rank.blocks, rank.bitmapAt, rank.baseAt, countAt, flagAt, pfnAt, lenAt, vmaAt, bitsAt, outAt, accAt);
    x.setValues(flagHiAt, cgroupAt);
    if (subsetSize === undefined) this.views = undefined;
    else {
      const dir = new Int32Array(buf, rank.dirAt, rank.blocks);
      const pages: (Uint32Array | undefined)[] = [];
      const bases: (Uint32Array | undefined)[] = [];
      const used: number[] = [];
      for (let b = 0; b < rank.blocks; b++) {
        const slot = dir[b]!;
        if (slot < 0) continue;
        used.push(b);
        pages[b] = new Uint32Array(buf, rank.bitmapAt + slot * BLOCK_WORDS * 4, BLOCK_WORDS);
        bases[b] = new Uint32Array(buf, rank.baseAt + slot * BLOCK_WORDS * 4, BLOCK_WORDS);
      }
      // markBlocks numbers the slots in ascending block order, so slot s is used[s].
      const words = used.length * BLOCK_WORDS;
      this.views = {
        pages,
        bases,
        size,
        subsetSize,
        blocks: Uint32Array.from(used),
        bitmaps: new Uint32Array(buf, rank.bitmapAt, words),
        baseWords: new Uint32Array(buf, rank.baseAt, words),
      };
    }
  }

  /** Store by rank the words read into window `w` for its first `n` runs; returns the PFNs past the end of the file. */
  compact(into: number, w: number, n: number): number {
    const win = this.windows[w]!;
    return this.x.compact(into, n, win.startAt, win.lenAt, win.gotAt, win.bytesAt);
  }

  /** Start over the runs of the whole set, or of the flags subset of an index built from a store (see nextRuns). */
  runsReset(subset = false): void {
    this.x.runsReset(subset ? 1 : 0);
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

  /** Start a process's accounting; its PSS sums come in units of 1/4096 byte of `pageSize`-byte pages (wasm/kpages.ts shareOf). */
  begin(pageSize: number): void {
    this.x.setPageSize(pageSize);
    this.x.begin();
  }

  /** Account the first `n` runs of the run buffer; returns the per-VMA segments written to `out`. */
  account(n: number, partial: boolean): number {
    return this.x.account(0, n, partial ? 1 : 0);
  }

  /**
   * Prefix rows of the shared objects' sums (`prefix`, rows of
   * OBJECT_FIELDS, one per OBJECT_STRIDE runs) for the first `n` runs of
   * the run buffer, which are runs `first` .. of all (wasm/kpages.ts
   * prefixRuns); a flag byte per run at the start of `out` marks runs with
   * other sums, whose number is returned.
   */
  prefixRuns(n: number, first: number, partial: boolean, pageSize: number): number {
    this.x.setPageSize(pageSize);
    return this.x.prefixRuns(n, partial ? 1 : 0, this.prefixAt, first, OBJECT_STRIDE);
  }

  /** Flush the last VMA's sums to segment 0 of `out`; returns 1, or 0 when there was none. */
  end(): number {
    return this.x.end();
  }
}
