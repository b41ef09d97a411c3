/**
 * The class of a mapped page: the one rule every number that splits memory
 * by kind of page follows (RSS/PSS/USS and their anon/file/shmem split, the
 * zero page, hugetlb, KSM and THP in the usage rows; group USS and the
 * charges of `groups`; the kinds of `shares`; `ps`'s distinct mapped memory;
 * the mapped lines of `system`). It follows the kernel's smaps rules
 * (fs/proc/task_mmu.c smaps_account, smaps_hugetlb_range) so that the
 * results can be checked against smaps_rollup:
 *  - zero pages (KPF_ZERO_PAGE: the shared zero page and the huge zero page)
 *    are not memory use and are left out of Rss (counted apart);
 *  - hugetlb pages (KPF_HUGE) are reported apart, not in Rss/Pss, whatever
 *    their map count (smaps_hugetlb_range does not look at it);
 *  - pages with map count 0 are not rmap-tracked (PFN maps, device memory)
 *    and are left out, as vm_normal_page() leaves them out;
 *  - the rest is memory use: anonymous (KPF_ANON), else shmem (KPF_SWAPBACKED:
 *    MAP_SHARED anonymous memory, SysV shm, memfd, tmpfs), else file (page
 *    cache). KSM (KPF_KSM) and THP (KPF_THP, counted only on a PMD-sized run)
 *    are attributes of a memory-use page, not classes of their own;
 *  - PSS adds page/mapcount per page, truncated to 1/4096 byte as the
 *    kernel's fixed point does (accounting/kernel-pss.ts; docs/numbers.md).
 *
 * This file is compiled twice: by tsc for the reports, and by asc into the
 * WebAssembly accounting loop (wasm/kpages.ts imports it). So it holds only
 * plain constants and functions over `u32` (see assemblyscript-types.d.ts)
 * and imports nothing: asc cannot follow the `.js` imports tsc needs. The
 * kpageflags bits it reads are therefore spelled here once more;
 * test/unit/page-class.test.ts checks that they are decode/kpageflags.ts's.
 *
 * A new class or attribute goes here and nowhere else for the rule: e.g. a
 * working-set "idle" attribute (KPF_IDLE, bit 25, set by the page_idle
 * bitmap) would be `F_IDLE = 1 << 25` and `isIdlePage(flags)` next to
 * isKsmPage below; the accounting loop would then add it to a new sum
 * (scan/wasm-abi.ts SUM_IDLE, fed to a usage field in accounting/usage.ts
 * through scan/kpage-account.ts SUM_TO_U), and the reports that split by
 * class call isIdlePage as they call isKsmPage.
 */

/** kpageflags bits (low half) the rule reads: include/uapi/linux/kernel-page-flags.h. */
export const F_ANON = 1 << 12; // KPF_ANON
export const F_SWAPBACKED = 1 << 14; // KPF_SWAPBACKED
export const F_HUGE = 1 << 17; // KPF_HUGE
export const F_KSM = 1 << 21; // KPF_KSM
export const F_THP = 1 << 22; // KPF_THP
export const F_ZERO_PAGE = 1 << 24; // KPF_ZERO_PAGE

/** Not memory use, counted apart: the zero page. */
export const PAGE_ZERO = 0;
/** Not in Rss, counted apart: a hugetlb page. */
export const PAGE_HUGETLB = 1;
/** Not memory use: map count 0 (a PFN map, device memory). */
export const PAGE_UNMANAGED = 2;
/** Memory use, by kind: anonymous, shmem, file. */
export const PAGE_ANON = 3;
export const PAGE_SHMEM = 4;
export const PAGE_FILE = 5;
/** Classes from here up are memory use: in RSS, PSS, USS, group USS and distinct mapped memory. */
export const PAGE_MEMORY = 3;

/**
 * The flags a page of a shmem mapping is classed by when its kpageflags were
 * not read (scan/entry-store.ts E_SHMEM_VMA: its mapping says it is shmem,
 * never a zero or hugetlb page): only its map count decides.
 */
export const SHMEM_MAPPING_FLAGS = F_SWAPBACKED;

/** The kind of a memory-use page from its flags: anonymous, shmem or file. */
export function memoryKind(flags: u32): i32 {
  if ((flags & F_ANON) !== 0) return PAGE_ANON;
  if ((flags & F_SWAPBACKED) !== 0) return PAGE_SHMEM;
  return PAGE_FILE;
}

/** The class of a page from its map count (kpagecount) and the low half of its kpageflags word. */
export function pageClass(count: u32, flags: u32): i32 {
  if ((flags & F_ZERO_PAGE) !== 0) return PAGE_ZERO;
  if ((flags & F_HUGE) !== 0) return PAGE_HUGETLB;
  if (count === 0) return PAGE_UNMANAGED;
  return memoryKind(flags);
}

/** A memory-use page KSM merged (anonymous, shared between unrelated processes). */
export function isKsmPage(flags: u32): boolean {
  return (flags & F_KSM) !== 0;
}

/** Part of a transparent huge page (counted only where the run is PMD-sized, as smaps counts AnonHugePages). */
export function isThpPage(flags: u32): boolean {
  return (flags & F_THP) !== 0;
}
