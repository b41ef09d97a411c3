/**
 * Decoding of /proc/PID/pagemap entries (Documentation/admin-guide/mm/pagemap.rst,
 * fs/proc/task_mmu.c PM_*). One little-endian u64 per virtual page. Hot loops
 * read the two 32-bit halves through a Uint32Array and use the `hi*`
 * functions below: no BigInt and no object per entry.
 */

import { PM_EXCLUSIVE_BIT, PM_FILE_BIT, PM_FRAME_BITS, PM_GUARD_BIT, PM_PRESENT_BIT, PM_SOFT_DIRTY_BIT, PM_SWAP_BIT, PM_UFFD_WP_BIT } from "./pagemap-bits.js";

export * from "./pagemap-bits.js";

/** Bits of the high 32-bit half (entry bit N is bit N-32 here); what each means: pagemap-bits.ts. */
export const PM_PRESENT_HI = 1 << (PM_PRESENT_BIT - 32);
export const PM_SWAP_HI = 1 << (PM_SWAP_BIT - 32);
export const PM_FILE_HI = 1 << (PM_FILE_BIT - 32);
export const PM_GUARD_HI = 1 << (PM_GUARD_BIT - 32);
export const PM_UFFD_WP_HI = 1 << (PM_UFFD_WP_BIT - 32);
export const PM_EXCLUSIVE_HI = 1 << (PM_EXCLUSIVE_BIT - 32);
export const PM_SOFT_DIRTY_HI = 1 << (PM_SOFT_DIRTY_BIT - 32);
/** PFN / swap bits 32..54 live in the low 23 bits of the high half. */
export const PM_FRAME_HI_MASK = 2 ** (PM_FRAME_BITS - 32) - 1;

export const TWO_32 = 4294967296;

/** PFN (bits 0-54) of a present entry; exact: real PFNs are far below 2^53. */
export function pfnOf(lo: number, hi: number): number {
  return (hi & PM_FRAME_HI_MASK) * TWO_32 + (lo >>> 0);
}

/** Swap type (bits 0-4) of a bit-62 entry. */
export function swapTypeOf(lo: number): number {
  return lo & 0x1f;
}

/** Swap offset (bits 5-54) of a bit-62 entry; for migration entries, the PFN. */
export function swapOffsetOf(lo: number, hi: number): number {
  return (hi & PM_FRAME_HI_MASK) * (TWO_32 / 32) + ((lo >>> 5) & 0x7ffffff);
}

/** The swap type the kernel reserves for PTE markers (SWP_PTE_MARKER), always the top one. */
export const SWP_PTE_MARKER = 31;
/** Marker bits carried in the offset of a SWP_PTE_MARKER entry (include/linux/swapops.h). */
export const PTE_MARKER_UFFD_WP = 1;
export const PTE_MARKER_POISONED = 2;
export const PTE_MARKER_GUARD = 4;

/** What a non-present, non-empty entry (bit 62) stands for. */
export type NonPresentKind = "swap" | "marker" | "migration-or-device";

/**
 * Classify a bit-62 entry. `maxSwapfiles` is the kernel's MAX_SWAPFILES: types
 * below it are real swap areas; 31 is a PTE marker; the types between are
 * hwpoison, migration and device-private entries (include/linux/swap.h).
 */
export function classifyNonPresent(lo: number, maxSwapfiles: number): NonPresentKind {
  const type = lo & 0x1f;
  if (type === SWP_PTE_MARKER) return "marker";
  return type < maxSwapfiles ? "swap" : "migration-or-device";
}

/** A decoded entry, for page listings and tests (not for hot loops). */
export interface PagemapEntry {
  readonly present: boolean;
  readonly swapped: boolean;
  readonly file: boolean;
  readonly exclusive: boolean;
  readonly softDirty: boolean;
  readonly uffdWp: boolean;
  readonly guard: boolean;
  /** PFN when present (0 when the reader lacks CAP_SYS_ADMIN). */
  readonly pfn: number | undefined;
  readonly swapType: number | undefined;
  readonly swapOffset: number | undefined;
}

export function decodePagemapEntry(lo: number, hi: number): PagemapEntry {
  const present = (hi & PM_PRESENT_HI) !== 0;
  const swapped = (hi & PM_SWAP_HI) !== 0;
  return {
    present,
    swapped,
    file: (hi & PM_FILE_HI) !== 0,
    exclusive: (hi & PM_EXCLUSIVE_HI) !== 0,
    softDirty: (hi & PM_SOFT_DIRTY_HI) !== 0,
    uffdWp: (hi & PM_UFFD_WP_HI) !== 0,
    guard: (hi & PM_GUARD_HI) !== 0,
    pfn: present ? pfnOf(lo, hi) : undefined,
    swapType: swapped && !present ? swapTypeOf(lo) : undefined,
    swapOffset: swapped && !present ? swapOffsetOf(lo, hi) : undefined,
  };
}

/** Build an entry's two halves (tests and fixtures use this; inverse of decodePagemapEntry). */
export function encodePagemapEntry(e: Partial<PagemapEntry>): { lo: number; hi: number } {
  let lo = 0;
  let hi = 0;
  if (e.present) {
    const pfn = e.pfn ?? 0;
    lo = pfn % TWO_32 >>> 0;
    hi = Math.floor(pfn / TWO_32) & PM_FRAME_HI_MASK;
    hi |= PM_PRESENT_HI;
  } else if (e.swapped) {
    const frame = (e.swapType ?? 0) + (e.swapOffset ?? 0) * 32;
    lo = frame % TWO_32 >>> 0;
    hi = Math.floor(frame / TWO_32) & PM_FRAME_HI_MASK;
  }
  if (e.swapped) hi |= PM_SWAP_HI;
  if (e.file) hi |= PM_FILE_HI;
  if (e.exclusive) hi |= PM_EXCLUSIVE_HI;
  if (e.softDirty) hi |= PM_SOFT_DIRTY_HI;
  if (e.uffdWp) hi |= PM_UFFD_WP_HI;
  if (e.guard) hi |= PM_GUARD_HI;
  return { lo: lo >>> 0, hi: hi >>> 0 };
}
