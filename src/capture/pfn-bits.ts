/**
 * The page frames a capture's recorded pagemap words name, as a bitmap in
 * pages of 64 Ki PFNs (8 KiB each: a 24 GiB machine is ~100 of them), and
 * the reads that cover them: sorted runs that read through short holes.
 */
import { PM_EXCLUSIVE_HI, PM_FILE_HI, PM_FRAME_HI_MASK, PM_PRESENT_HI, PM_SWAP_HI, TWO_32 } from "../decode/pagemap.js";
import type { WordRecorder } from "./words.js";

const SHIFT = 16;
const PAGE = 1 << SHIFT;
/** Pages per 2 MiB block: a PMD-mapped huge page. */
const PMD_PAGES = 512;

/** What the entries of one process's pagemap showed, besides their PFNs. */
export interface PagemapSeen {
  /** An entry with the swap bit (a swapped page, a migration entry, a marker): a partial replay reads smaps for it (swap-pss.ts). */
  swapped: boolean;
  /** A present entry with PFN 0: PFNs hidden (no CAP_SYS_ADMIN); a replay falls back to smaps_rollup. */
  hidden: boolean;
}

/**
 * Whether the 512 entries from k may be one huge page as the walk's
 * isHugeRun sees it: each the first plus its offset (the PFN is 512-aligned,
 * so the low half cannot carry). True when the block runs past these words:
 * the rest is not at hand, and keeping too much is safe.
 */
function mayBeHuge(u32: Uint32Array, k: number, n: number, lo: number, hi: number): boolean {
  if (k + PMD_PAGES > n) return true;
  for (let j = 1; j < PMD_PAGES; j++) if (u32[2 * (k + j)] !== lo + j || u32[2 * (k + j) + 1] !== hi) return false;
  return true;
}

export class PfnBits {
  private readonly pages = new Map<number, Uint32Array>();
  private lastKey = -1;
  private last: Uint32Array = new Uint32Array(0);

  private add(pfn: number): void {
    // PFNs below 2^31 (8 TiB of 4 KiB pages) with integer shifts, the rest with a division.
    const key = pfn < 0x80000000 ? pfn >>> SHIFT : Math.floor(pfn / PAGE);
    if (key !== this.lastKey) {
      let words = this.pages.get(key);
      if (words === undefined) {
        words = new Uint32Array(PAGE / 32);
        this.pages.set(key, words);
      }
      this.lastKey = key;
      this.last = words;
    }
    const bit = pfn < 0x80000000 ? pfn & (PAGE - 1) : pfn - key * PAGE;
    this.last[bit >>> 5]! |= 1 << (bit & 31);
  }

  /**
   * Add the PFNs a scan that is not exact looks up, among `n` pagemap words
   * of `u32` for virtual pages from `vpn`: every present page's but, in a
   * process whose exclusive pages are settled from pagemap alone
   * (`trusted`: pagemap-walk's trustExclusive), those of present, exclusive,
   * non-file entries, which the walk counts without a lookup
   * (wasm/pagemap-walk.ts). The walk looks up a whole 2 MiB block that
   * is one huge page (512 contiguous frames from a 512-aligned one); so is it
   * here, and also every such block that runs past the words at hand, which
   * keeps more than the walk looks up, never less. (Keeping every block that
   * starts on an aligned frame doubled the words read on the reference
   * workload, whose private memory is often physically contiguous.) `block` carries that across calls: the caller resets it at
   * the start of each stretch of mappings and passes words in address order.
   */
  addLookedUp(u32: Uint32Array, n: number, vpn: number, trusted: boolean, block: { huge: boolean }, seen: PagemapSeen): void {
    // Plain integer compares in the loop (a V8 reservation is tens of millions of hole entries): the present bit
    // is bit 31 of the high half, so a present entry's high half is at least 2^31.
    const PRESENT = 0x80000000;
    let huge = block.huge;
    let swapped = false;
    let hidden = false;
    let pos = vpn % PMD_PAGES;
    for (let k = 0; k < n; k++, pos = (pos + 1) & (PMD_PAGES - 1)) {
      const hi = u32[2 * k + 1]!;
      if (hi < PRESENT) {
        if (pos === 0) huge = false;
        if ((hi & PM_SWAP_HI) !== 0) swapped = true;
        continue;
      }
      const lo = u32[2 * k]!;
      const fhi = hi & PM_FRAME_HI_MASK;
      if (pos === 0) huge = (lo & (PMD_PAGES - 1)) === 0 && (fhi !== 0 || lo !== 0) && mayBeHuge(u32, k, n, lo, hi);
      if (fhi === 0 && lo === 0) {
        hidden = true;
        continue;
      }
      if (trusted && !huge && (hi & (PM_EXCLUSIVE_HI | PM_FILE_HI)) === PM_EXCLUSIVE_HI) continue;
      this.add(fhi * TWO_32 + lo);
    }
    block.huge = huge;
    if (swapped) seen.swapped = true;
    if (hidden) seen.hidden = true;
  }

  /**
   * Add the PFNs of the present entries among a pagemap file's recorded
   * words, from its runs (words.ts): one step per run, not per word, so the
   * 20 M hole entries of a V8 reservation cost nothing here. Runs `from`..n;
   * returns n, where the next call for the same file starts.
   */
  addPagemap(recorder: WordRecorder, seen: PagemapSeen, from = 0): number {
    const c = recorder.runColumns();
    for (let r = from; r < c.n; r++) {
      const hi = c.hi[r]!;
      if ((hi & PM_PRESENT_HI) === 0) {
        if ((hi & PM_SWAP_HI) !== 0) seen.swapped = true;
        continue;
      }
      // Every word of a run has the same flags (a run's high halves differ only by a carry into the frame bits),
      // so word k names PFN first + k * step.
      const first = (hi & PM_FRAME_HI_MASK) * TWO_32 + c.lo[r]!;
      if (first === 0) seen.hidden = true;
      const step = c.step[r]!;
      const len = step === 0 ? 1 : c.len[r]!;
      for (let k = 0; k < len; k++) {
        const pfn = first + k * step;
        if (pfn !== 0) this.add(pfn);
      }
    }
    return c.n;
  }

  /**
   * Reads covering every PFN in the set, ascending: [start, end) pairs, flat.
   * PFNs closer than `gap` are read through (so any reader that reads through
   * holes as long is inside these runs), a run is at most `maxRun` words.
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
