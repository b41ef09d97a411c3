/**
 * Pure accounting over decoded arrays: stored pagemap entries plus their
 * kpagecount/kpageflags values become usage rows, following the kernel's own
 * smaps rules (fs/proc/task_mmu.c smaps_account) so that the results can be
 * checked against smaps_rollup:
 *  - zero pages (KPF_ZERO_PAGE) are not memory use and are left out of Rss;
 *  - pages with map count 0 are not rmap-tracked (PFN maps, device memory)
 *    and are left out, as vm_normal_page() leaves them out;
 *  - hugetlb pages (KPF_HUGE) are reported apart, not in Rss/Pss;
 *  - PSS adds page/mapcount per page, exactly (the kernel truncates a fixed-
 *    point value per page and per VMA; see docs/numbers.md).
 */
import { F_ANON, F_DIRTY, F_HUGE, F_KSM, F_SWAPBACKED, F_THP, F_ZERO_PAGE } from "../decode/kpageflags.js";
import { NF, U } from "./usage.js";

/** Read access to per-PFN values (a KpageTable, or anything shaped like it). */
export interface KpageValues {
  countOf(pfn: number): number;
  flagsLoOf(pfn: number): number;
}

/** Columns of stored entries: PFN and VMA row per entry. */
export interface EntryColumns {
  forEachChunk(start: number, end: number, fn: (pfn: Float64Array, vma: Uint32Array, bits: Uint8Array, from: number, to: number) => void): void;
}

/** Add the stored entries [start, end) of one process to its usage table. */
export function accountEntries(entries: EntryColumns, start: number, end: number, kpage: KpageValues, usage: Float64Array, pageSize: number): void {
  const ps = pageSize;
  entries.forEachChunk(start, end, (pfns, vmas, _bits, from, to) => {
    for (let i = from; i < to; i++) {
      const pfn = pfns[i]!;
      const base = vmas[i]! * NF;
      const f = kpage.flagsLoOf(pfn);
      const c = kpage.countOf(pfn);
      if ((f & F_ZERO_PAGE) !== 0) {
        usage[base + U.zeroPage]! += ps;
        continue;
      }
      if ((f & F_HUGE) !== 0) {
        usage[base + (c >= 2 ? U.hugetlbShared : U.hugetlbPrivate)]! += ps;
        usage[base + U.hugetlbPss]! += c >= 2 ? ps / c : ps;
        continue;
      }
      if (c === 0) {
        usage[base + U.unmanaged]! += ps;
        continue;
      }
      const pss = c >= 2 ? ps / c : ps;
      usage[base + U.rss]! += ps;
      usage[base + U.pss]! += pss;
      usage[base + (c === 1 ? U.uss : U.shared)]! += ps;
      if ((f & F_ANON) !== 0) {
        usage[base + U.anon]! += ps;
        usage[base + U.pssAnon]! += pss;
      } else if ((f & F_SWAPBACKED) !== 0) {
        usage[base + U.shmem]! += ps;
        usage[base + U.pssShmem]! += pss;
      } else {
        usage[base + U.file]! += ps;
        usage[base + U.pssFile]! += pss;
      }
      if ((f & F_KSM) !== 0) usage[base + U.ksm]! += ps;
      if ((f & F_THP) !== 0) usage[base + U.thp]! += ps;
      if ((f & F_DIRTY) !== 0) usage[base + U.pgDirty]! += ps;
    }
  });
}

/**
 * Proportional swap: each swap slot's page divided by the number of scanned
 * page-table entries that reference it (procrank's PSwap). The kernel's
 * SwapPss divides by the slot's swap count, which also counts references we
 * cannot see (other processes not scanned, shmem): see docs/numbers.md.
 */
export function countSwapRefs(slots: readonly number[]): Map<number, number> {
  const refs = new Map<number, number>();
  for (const s of slots) refs.set(s, (refs.get(s) ?? 0) + 1);
  return refs;
}

export function accountSwap(slots: readonly number[], vmas: readonly number[], start: number, end: number, refs: ReadonlyMap<number, number>, usage: Float64Array, pageSize: number): void {
  for (let i = start; i < end; i++) {
    const n = refs.get(slots[i]!) ?? 1;
    usage[vmas[i]! * NF + U.swapPss]! += pageSize / n;
  }
}
