/**
 * Pure accounting over decoded arrays: stored pagemap runs plus their
 * kpagecount/kpageflags values become usage rows, following the kernel's own
 * smaps rules (fs/proc/task_mmu.c smaps_account) so that the results can be
 * checked against smaps_rollup:
 *  - zero pages (KPF_ZERO_PAGE) are not memory use and are left out of Rss;
 *  - pages with map count 0 are not rmap-tracked (PFN maps, device memory)
 *    and are left out, as vm_normal_page() leaves them out;
 *  - hugetlb pages (KPF_HUGE) are reported apart, not in Rss/Pss;
 *  - PSS adds page/mapcount per page, exactly (the kernel truncates a fixed-
 *    point value per page and per VMA; see docs/numbers.md).
 * The loop over runs and pages is wasm/kpages.ts, compiled to WebAssembly
 * and driven over the scan's runs and kpage values by scan/kpage-account.ts;
 * swap, whose entries need no lookup, is counted here.
 */
import { NF, U } from "./usage.js";

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
