/**
 * Column store for the pagemap entries that need a kpagecount/kpageflags
 * lookup (present pages not provably mapped once) and for swap entries.
 * Chunked typed arrays: no object per entry, no copying as it grows.
 */

const SHIFT = 16;
const CHUNK = 1 << SHIFT;
const MASK = CHUNK - 1;

/** Compact pagemap bits kept per stored entry. */
export const E_FILE = 1; // PM_FILE
export const E_EXCLUSIVE = 2; // PM_MMAP_EXCLUSIVE
export const E_SOFT_DIRTY = 4;
export const E_UFFD_WP = 8;
export const E_HUGE_RUN = 16; // part of a 2 MiB-aligned run of 512 physically contiguous pages (likely PMD-mapped)

export class EntryStore {
  private pfnChunks: Float64Array[] = [];
  private vmaChunks: Uint32Array[] = [];
  private bitChunks: Uint8Array[] = [];
  private n = 0;
  /** Highest PFN stored, to size the lookup bitmap. */
  maxPfn = -1;

  get length(): number {
    return this.n;
  }

  push(pfn: number, vma: number, bits: number): void {
    const c = this.n >>> SHIFT;
    if (c === this.pfnChunks.length) {
      this.pfnChunks.push(new Float64Array(CHUNK));
      this.vmaChunks.push(new Uint32Array(CHUNK));
      this.bitChunks.push(new Uint8Array(CHUNK));
    }
    const o = this.n & MASK;
    this.pfnChunks[c]![o] = pfn;
    this.vmaChunks[c]![o] = vma;
    this.bitChunks[c]![o] = bits;
    if (pfn > this.maxPfn) this.maxPfn = pfn;
    this.n++;
  }

  /** Drop entries from `length` on (a process that vanished mid-read is rolled back). */
  truncate(length: number): void {
    this.n = Math.min(this.n, length);
  }

  pfn(i: number): number {
    return this.pfnChunks[i >>> SHIFT]![i & MASK]!;
  }

  vma(i: number): number {
    return this.vmaChunks[i >>> SHIFT]![i & MASK]!;
  }

  bits(i: number): number {
    return this.bitChunks[i >>> SHIFT]![i & MASK]!;
  }

  /**
   * Visit entries [start, end) chunk by chunk: the callback gets the raw
   * column arrays and an index range inside them, so hot loops index typed
   * arrays directly.
   */
  forEachChunk(start: number, end: number, fn: (pfn: Float64Array, vma: Uint32Array, bits: Uint8Array, from: number, to: number) => void): void {
    let i = start;
    while (i < end) {
      const c = i >>> SHIFT;
      const from = i & MASK;
      const to = Math.min(CHUNK, from + (end - i));
      fn(this.pfnChunks[c]!, this.vmaChunks[c]!, this.bitChunks[c]!, from, to);
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

  truncate(length: number): void {
    this.slots.length = Math.min(this.slots.length, length);
    this.vmas.length = this.slots.length;
  }
}
