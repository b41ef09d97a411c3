/**
 * The hot loop over decoded pagemap words: a pure function over a Uint32Array
 * view of entries just read (no I/O, no BigInt, no object per entry).
 *
 * A 2 MiB-aligned run of 512 physically contiguous pages with identical bits
 * is kept as one record marked E_HUGE_RUN and always looked up: it is most
 * likely PMD-mapped (THP or hugetlb). Since 6.15 a PMD-mapped THP reports the
 * head page's exclusivity for all 512 subpages (fs/proc/task_mmu.c
 * pagemap_pmd_range), and hugetlb pages look exclusive too.
 *
 * Any other present page is settled on the spot, without a kpagecount
 * lookup, only when pagemap alone proves it is a private anonymous page
 * mapped once: PM_MMAP_EXCLUSIVE set, PM_FILE clear, and the caller allows it
 * (the kernel keeps precise per-page mapcounts and KSM is idle). Everything
 * else goes to the run store for a batched kpagecount/kpageflags lookup.
 */
import {
  PM_EXCLUSIVE_HI,
  PM_FILE_HI,
  PM_FRAME_HI_MASK,
  PM_GUARD_HI,
  PM_PRESENT_HI,
  PM_SOFT_DIRTY_HI,
  PM_SWAP_HI,
  PM_UFFD_WP_HI,
  SWP_PTE_MARKER,
  TWO_32,
} from "../decode/pagemap.js";
import { NF, U } from "../accounting/usage.js";
import { E_HUGE_RUN, E_PAGEMAP_MASK, E_SHMEM_VMA, type EntryStore, type SwapStore } from "./entry-store.js";

export interface WalkTarget {
  readonly store: EntryStore;
  readonly swaps: SwapStore;
  /** Usage table of the process, one row per VMA. */
  readonly usage: Float64Array;
  /** May an exclusive anonymous entry be settled without a lookup (see above)? */
  readonly trustExclusive: boolean;
  readonly maxSwapfiles: number;
  readonly pageSize: number;
  /** Set when a present entry has PFN 0: the reader lacks CAP_SYS_ADMIN. */
  pfnHidden: boolean;
}

/** Entries in one PMD (2 MiB of 4 KiB pages). */
const PMD_PAGES = 512;

/**
 * Do entries i..i+511 form one physically contiguous, aligned run with
 * identical flags? Entry k continues entry i when its high word is the same
 * and its low word is k higher (a run crossing a 2^32-PFN boundary, 16 TiB
 * in, merely ends there).
 */
function isHugeRun(u32: Uint32Array, i32: Int32Array, i: number): boolean {
  const lo0 = u32[2 * i]!;
  const hi0 = i32[2 * i + 1]!;
  if ((lo0 & (PMD_PAGES - 1)) !== 0) return false;
  for (let k = 1; k < PMD_PAGES; k++) {
    if (i32[2 * (i + k) + 1] !== hi0 || u32[2 * (i + k)] !== lo0 + k) return false;
  }
  return true;
}

/*
 * The two inner loops below are functions of their own: small, so V8
 * optimises them within the first few thousand entries, long before the
 * whole walk is optimised (a scan is over in a fraction of a second).
 */
const TRUSTED_MASK = PM_PRESENT_HI | PM_EXCLUSIVE_HI | PM_FILE_HI | PM_SOFT_DIRTY_HI | PM_UFFD_WP_HI;
const TRUSTED_VALUE = PM_PRESENT_HI | PM_EXCLUSIVE_HI;

/** The first entry from j on that is not present, exclusive and anonymous with a PFN (or the next 2 MiB boundary). */
function trustedEnd(u32: Uint32Array, i32: Int32Array, j: number, count: number, first: number): number {
  while (j < count && ((j - first) & (PMD_PAGES - 1)) !== 0) {
    const h = i32[2 * j + 1]!;
    if ((h & TRUSTED_MASK) !== TRUSTED_VALUE || (u32[2 * j]! | (h & PM_FRAME_HI_MASK)) === 0) break;
    j++;
  }
  return j;
}

/** The first entry from j on that does not continue the run physically with high word `hi` (next low word `lo`), or the next 2 MiB boundary. */
function contiguousEnd(u32: Uint32Array, i32: Int32Array, j: number, count: number, first: number, hi: number, lo: number): number {
  while (j < count && ((j - first) & (PMD_PAGES - 1)) !== 0 && i32[2 * j + 1] === hi && u32[2 * j] === lo) {
    j++;
    lo++;
  }
  return j;
}

function entryBits(hi: number): number {
  return (hi >>> 23) & E_PAGEMAP_MASK;
}

/**
 * Walk `count` entries whose first virtual page number is `firstVpn`, all in
 * the VMA at row `vmaRow` of the target's usage table. Pages that need a
 * lookup are appended to the store as runs (see entry-store.ts); in a shmem
 * mapping (`shmemVma`) page-cache pages are marked E_SHMEM_VMA.
 */
export function walkPagemap(u32: Uint32Array, count: number, firstVpn: number, vmaRow: number, t: WalkTarget, shmemVma = false): void {
  // High words are read as signed 32-bit integers: always small integers to V8, never boxed
  // numbers, even before the loop is optimised (a Uint32 with bit 31 set, as every present
  // entry has, is a heap-allocated double in the interpreter).
  const i32 = new Int32Array(u32.buffer, u32.byteOffset, u32.length);
  const shmemMark = shmemVma ? E_SHMEM_VMA : 0;
  const { store, swaps, usage } = t;
  const trust = t.trustExclusive;
  let trusted = 0;
  let swapped = 0;
  let migration = 0;
  let guard = 0;
  let uffdWp = 0;
  let softDirty = 0;
  // The run being built: `runLen` pages from `runPfn`, ending at entry `runEnd` (exclusive).
  let runPfn = 0;
  let runLen = 0;
  let runBits = 0;
  let runEnd = -1;
  // Entry i starts a 2 MiB-aligned block iff (i - first) % 512 == 0, kept in small integers (firstVpn exceeds 2^31).
  const first = (PMD_PAGES - (firstVpn % PMD_PAGES)) % PMD_PAGES;
  for (let i = 0; i < count; i++) {
    const hi = i32[2 * i + 1]!;
    if (hi === 0) continue; // pte_none (a PFN alone, without any flag bit, cannot occur)
    // Fast path: a stretch of present, exclusive, anonymous entries without soft-dirty/uffd-wp bits,
    // stopping at each 2 MiB boundary (where a PMD-sized run may start). A tight loop of its own.
    if (trust && (hi & TRUSTED_MASK) === TRUSTED_VALUE && ((i - first) & (PMD_PAGES - 1)) !== 0 && (u32[2 * i]! | (hi & PM_FRAME_HI_MASK)) !== 0) {
      const j = trustedEnd(u32, i32, i + 1, count, first);
      trusted += j - i;
      i = j - 1;
      continue;
    }
    if ((hi & PM_SOFT_DIRTY_HI) !== 0) softDirty++;
    if ((hi & PM_UFFD_WP_HI) !== 0) uffdWp++;
    if ((hi & PM_PRESENT_HI) !== 0) {
      const lo = u32[2 * i]!;
      const frameHi = hi & PM_FRAME_HI_MASK;
      const pfn = frameHi === 0 ? lo : frameHi * TWO_32 + lo;
      if (pfn === 0) {
        t.pfnHidden = true;
        continue;
      }
      // A 2 MiB-aligned run of 512 physically contiguous pages is most likely PMD-mapped (THP or
      // hugetlb): kept as one record and always looked up, whatever its bits say.
      if (((i - first) & (PMD_PAGES - 1)) === 0 && (lo & (PMD_PAGES - 1)) === 0 && i + PMD_PAGES <= count && isHugeRun(u32, i32, i)) {
        if (runLen > 0) store.push(runPfn, runLen, vmaRow, runBits);
        store.push(pfn, PMD_PAGES, vmaRow, entryBits(hi) | E_HUGE_RUN);
        runLen = 0;
        i += PMD_PAGES - 1;
        continue;
      }
      if (trust && (hi & (PM_EXCLUSIVE_HI | PM_FILE_HI)) === PM_EXCLUSIVE_HI) {
        trusted++;
        continue;
      }
      const bits = entryBits(hi) | ((hi & PM_FILE_HI) !== 0 ? shmemMark : 0);
      // Entries continuing this one physically with the same bits, up to the next 2 MiB boundary:
      // the same high word, the low word one higher each (see isHugeRun).
      const j = contiguousEnd(u32, i32, i + 1, count, first, hi, lo + 1);
      const n = j - i;
      if ((hi & PM_SOFT_DIRTY_HI) !== 0) softDirty += n - 1;
      if ((hi & PM_UFFD_WP_HI) !== 0) uffdWp += n - 1;
      if (runLen > 0 && runEnd === i && pfn === runPfn + runLen && bits === runBits) {
        runLen += n;
      } else {
        if (runLen > 0) store.push(runPfn, runLen, vmaRow, runBits);
        runPfn = pfn;
        runLen = n;
        runBits = bits;
      }
      runEnd = j;
      i = j - 1;
    } else if ((hi & PM_SWAP_HI) !== 0) {
      const lo = u32[2 * i]!;
      const type = lo & 0x1f;
      if ((hi & PM_GUARD_HI) !== 0) guard++;
      else if (type === SWP_PTE_MARKER) {
        // Other markers (uffd-wp, poisoned) are counted from the pagemap bits above.
      } else if (type < t.maxSwapfiles) {
        swapped++;
        swaps.push((hi & PM_FRAME_HI_MASK) * TWO_32 + lo, vmaRow);
      } else migration++;
    }
  }
  if (runLen > 0) store.push(runPfn, runLen, vmaRow, runBits);
  const base = vmaRow * NF;
  const ps = t.pageSize;
  if (trusted > 0) {
    const b = trusted * ps;
    usage[base + U.rss]! += b;
    usage[base + U.pss]! += b;
    usage[base + U.uss]! += b;
    usage[base + U.anon]! += b;
    usage[base + U.pssAnon]! += b;
  }
  usage[base + U.swap]! += swapped * ps;
  usage[base + U.migration]! += migration * ps;
  usage[base + U.guard]! += guard * ps;
  usage[base + U.uffdWp]! += uffdWp * ps;
  usage[base + U.softDirty]! += softDirty * ps;
}
