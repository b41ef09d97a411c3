/**
 * Column store for the pagemap entries that need a kpagecount/kpageflags
 * lookup (present pages not provably mapped once), run-length encoded:
 * consecutive virtual pages backed by consecutive PFNs with the same pagemap
 * bits form one record. Buddy allocation hands out physically contiguous
 * pages so often that records are tens of pages long on average, which keeps
 * the store small and the later loops tight. Chunked typed arrays: no object
 * per entry, no copying as it grows.
 */

import { RUN_CHUNK_SHIFT, type RunChunk, type ScanRuns } from "./scan-data.js";

/** Records per chunk: the scan's plain value keeps the chunks as they are (scan-data.ts ScanRuns). */
const SHIFT = RUN_CHUNK_SHIFT;
const CHUNK = 1 << SHIFT;
const MASK = CHUNK - 1;

/*
 * Compact pagemap bits kept per record (pagemap bits 55-61 shifted down by
 * 55) and our own marks, shared with the WebAssembly walk (wasm-abi.ts):
 *  - E_SHMEM_VMA: a page-cache page of a shmem mapping (shared anonymous,
 *    SysV shm, memfd, [anon_shmem:]): certainly a shmem page, so accounting
 *    needs only its map count, not its flags. Never set on E_HUGE_RUN
 *    records (hugetlb SysV segments and memfds have shmem-like names too,
 *    and their pages come as aligned 512-page runs);
 *  - E_HUGE_RUN: a 2 MiB-aligned run of 512 physically contiguous pages
 *    (likely PMD-mapped).
 */
export { E_EXCLUSIVE, E_FILE, E_HUGE_RUN, E_PAGEMAP_MASK, E_SHMEM_VMA, E_SOFT_DIRTY, E_UFFD_WP } from "./wasm-abi.js";

/** The raw columns of one chunk, for hot loops. */
export interface RunColumns {
  readonly pfn: Float64Array;
  readonly len: Uint32Array;
  readonly vma: Uint32Array;
  readonly bits: Uint8Array;
}

export class EntryStore {
  private chunks: RunColumns[] = [];
  private n = 0;
  /** Pages in all records. */
  pages = 0;

  /** The raw chunks and record count, to hand the store to another thread (transferable). */
  export(): { chunks: RunColumns[]; n: number; pages: number } {
    return { chunks: this.chunks, n: this.n, pages: this.pages };
  }

  /** Rebuild a store from `export()`ed parts. */
  static from(parts: { chunks: RunColumns[]; n: number; pages: number }): EntryStore {
    const s = new EntryStore();
    s.chunks = parts.chunks;
    s.n = parts.n;
    s.pages = parts.pages;
    return s;
  }

  /** Number of records. */
  get length(): number {
    return this.n;
  }

  /** Append a run of `len` pages starting at `pfn`, all in VMA row `vma` with the same bits. */
  push(pfn: number, len: number, vma: number, bits: number): void {
    const c = this.n >>> SHIFT;
    if (c === this.chunks.length)
      this.chunks.push({ pfn: new Float64Array(CHUNK), len: new Uint32Array(CHUNK), vma: new Uint32Array(CHUNK), bits: new Uint8Array(CHUNK) });
    const o = this.n & MASK;
    const ch = this.chunks[c]!;
    ch.pfn[o] = pfn;
    ch.len[o] = len;
    ch.vma[o] = vma;
    ch.bits[o] = bits;
    this.pages += len;
    this.n++;
  }

  /**
   * Append `n` runs given as columns (the walk's output), all in VMA row
   * `vma`, `pages` pages in all: copied a chunk at a time, not run by run.
   */
  append(pfn: Float64Array, len: Uint32Array, bits: Uint8Array, n: number, vma: number, pages: number): void {
    let k = 0;
    while (k < n) {
      const c = this.n >>> SHIFT;
      if (c === this.chunks.length)
        this.chunks.push({ pfn: new Float64Array(CHUNK), len: new Uint32Array(CHUNK), vma: new Uint32Array(CHUNK), bits: new Uint8Array(CHUNK) });
      const o = this.n & MASK;
      const m = Math.min(n - k, CHUNK - o);
      const ch = this.chunks[c]!;
      ch.pfn.set(pfn.subarray(k, k + m), o);
      ch.len.set(len.subarray(k, k + m), o);
      ch.bits.set(bits.subarray(k, k + m), o);
      ch.vma.fill(vma, o, o + m);
      this.n += m;
      k += m;
    }
    this.pages += pages;
  }

  /** Empty the store, keeping its chunks for the next scan (scanner.ts). */
  reset(): void {
    this.n = 0;
    this.pages = 0;
  }

  /** Drop records from `length` on (a process that vanished mid-read is rolled back). */
  truncate(length: number): void {
    while (this.n > length) {
      this.n--;
      this.pages -= this.chunks[this.n >>> SHIFT]!.len[this.n & MASK]!;
    }
  }

  /**
   * The records as the scan's plain value holds them (scan-data.ts
   * ScanRuns): the chunks themselves, not a copy, the last one cut to its
   * records. Valid until the store is reset (scanner.ts).
   */
  view(): ScanRuns {
    const n = this.n;
    const chunks: RunChunk[] = [];
    for (let c = 0; c * CHUNK < n; c++) {
      const ch = this.chunks[c]!;
      const m = Math.min(CHUNK, n - c * CHUNK);
      chunks.push(m === CHUNK ? { pfn: ch.pfn, len: ch.len, vma: ch.vma, bits: ch.bits } : { pfn: ch.pfn.subarray(0, m), len: ch.len.subarray(0, m), vma: ch.vma.subarray(0, m), bits: ch.bits.subarray(0, m) });
    }
    return { length: n, chunks, pages: this.pages };
  }

  /** Visit records [start, end) chunk by chunk, with an index range inside each chunk's columns. */
  forEachChunk(start: number, end: number, fn: (cols: RunColumns, from: number, to: number) => void): void {
    let i = start;
    while (i < end) {
      const from = i & MASK;
      const to = Math.min(CHUNK, from + (end - i));
      fn(this.chunks[i >>> SHIFT]!, from, to);
      i += to - from;
    }
  }
}

/** Swap entries: the swap slot (type | offset << 5, as pagemap gives it) and the VMA. */
export class SwapStore {
  slots: number[] = [];
  vmas: number[] = [];

  push(slot: number, vma: number): void {
    this.slots.push(slot);
    this.vmas.push(vma);
  }

  get length(): number {
    return this.slots.length;
  }

  reset(): void {
    this.slots = [];
    this.vmas = [];
  }

  truncate(length: number): void {
    this.slots.length = Math.min(this.slots.length, length);
    this.vmas.length = this.slots.length;
  }
}
