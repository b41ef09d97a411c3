/**
 * The page frames a capture's recorded pagemap words name, as a bitmap in
 * pages of 64 Ki PFNs (8 KiB each: a 24 GiB machine is ~100 of them), and
 * the reads that cover them: sorted runs that read through short holes.
 */
import { PM_FRAME_HI_MASK, PM_PRESENT_HI, PM_SWAP_HI, TWO_32 } from "../decode/pagemap.js";

const SHIFT = 16;
const PAGE = 1 << SHIFT;

/** What the present entries of one block of pagemap words showed, besides their PFNs. */
export interface PagemapSeen {
  /** An entry with the swap bit (a swapped page, a migration entry, a marker): a partial replay reads smaps for it (swap-pss.ts). */
  swapped: boolean;
  /** A present entry with PFN 0: PFNs hidden (no CAP_SYS_ADMIN); a replay falls back to smaps_rollup. */
  hidden: boolean;
}

export class PfnBits {
  private readonly pages = new Map<number, Uint32Array>();
  private lastKey = -1;
  private last: Uint32Array | undefined;

  /** Add the PFNs of the present entries among the first `n` pagemap words of `u32` (little-endian word pairs). */
  addPagemap(u32: Uint32Array, n: number, seen: PagemapSeen): void {
    for (let k = 0; k < n; k++) {
      const hi = u32[2 * k + 1]!;
      if ((hi & PM_PRESENT_HI) === 0) {
        if ((hi & PM_SWAP_HI) !== 0) seen.swapped = true;
        continue;
      }
      const lo = u32[2 * k]!;
      const fhi = hi & PM_FRAME_HI_MASK;
      if (fhi === 0 && lo === 0) {
        seen.hidden = true;
        continue;
      }
      // PFN >> 16 without going through a double for the common case (PFNs below 2^32).
      const key = fhi === 0 ? lo >>> SHIFT : Math.floor((fhi * TWO_32 + lo) / PAGE);
      let words = this.last;
      if (key !== this.lastKey) {
        words = this.pages.get(key);
        if (words === undefined) {
          words = new Uint32Array(PAGE / 32);
          this.pages.set(key, words);
        }
        this.lastKey = key;
        this.last = words;
      }
      const bit = lo & (PAGE - 1);
      words![bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  /**
   * Reads covering every PFN in the set, ascending: [start, end) pairs, flat.
   * PFNs closer than `gap` are read through (so any reader that reads through
   * smaller holes reads inside these runs), a run is at most `maxRun` words.
   */
  runs(gap: number, maxRun: number): number[] {
    const out: number[] = [];
    let start = -1;
    let end = -1;
    for (const key of [...this.pages.keys()].sort((a, b) => a - b)) {
      const words = this.pages.get(key)!;
      const base = key * PAGE;
      for (let w = 0; w < words.length; w++) {
        let bits = words[w]!;
        while (bits !== 0) {
          const low = bits & -bits;
          const pfn = base + w * 32 + (31 - Math.clz32(low));
          bits ^= low;
          if (start >= 0 && pfn - end <= gap) {
            if (pfn + 1 - start > maxRun) {
              // Cut, but go on from where this run ends: the hole is read, as a reader reading through it will.
              out.push(start, end);
              start = end;
            }
            end = pfn + 1;
          } else {
            if (start >= 0) out.push(start, end);
            start = pfn;
            end = pfn + 1;
          }
        }
      }
    }
    if (start >= 0) out.push(start, end);
    return out;
  }
}
