/**
 * The bits of a /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst,
 * fs/proc/task_mmu.c PM_*), by bit number: the one spelling that
 * decode/pagemap.ts (the 32-bit halves the TypeScript loops use) and the
 * WebAssembly walk (wasm/pagemap-walk.ts, 64-bit masks) both derive from.
 * Plain constants with no imports, so that asc compiles this file too.
 */
export const PM_PRESENT_BIT = 63;
/** Neither present nor none: swap, migration, a PTE marker... */
export const PM_SWAP_BIT = 62;
/** Not anonymous: page cache, shmem, vDSO, the huge zero page. */
export const PM_FILE_BIT = 61;
/** 6.15: a guard region marker. */
export const PM_GUARD_BIT = 58;
/** 5.13. */
export const PM_UFFD_WP_BIT = 57;
/** 4.2: the page is mapped exactly once (PM_MMAP_EXCLUSIVE; see the THP caveat in pagemap-walk.ts). */
export const PM_EXCLUSIVE_BIT = 56;
/** 3.11. */
export const PM_SOFT_DIRTY_BIT = 55;
/** Bits 0-54: the PFN of a present entry, the swap type and offset of a swapped one. */
export const PM_FRAME_BITS = 55;
