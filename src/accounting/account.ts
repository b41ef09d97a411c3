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
 */
import { F_ANON, F_HUGE, F_KSM, F_SWAPBACKED, F_THP, F_ZERO_PAGE } from "../decode/kpageflags.js";
import { E_HUGE_RUN, type RunColumns } from "../scan/entry-store.js";
import { NF, U } from "./usage.js";

/** Per-PFN values in pages of 2^16 PFNs (the shape of scan/kpage-lookup.ts's KpageTable). */
export interface KpagePages {
  readonly pages: readonly ({ readonly count: Uint32Array; readonly flagsLo: Uint32Array } | undefined)[];
}

export const KPAGE_PAGE_SHIFT = 16;
const PAGE = 1 << KPAGE_PAGE_SHIFT;
const EMPTY = new Uint32Array(PAGE);

/** Columns of stored runs. */
export interface RunSource {
  forEachChunk(start: number, end: number, fn: (cols: RunColumns, from: number, to: number) => void): void;
}

/** Add the stored runs [start, end) of one process to its usage table. */
export function accountEntries(entries: RunSource, start: number, end: number, kpage: KpagePages, usage: Float64Array, pageSize: number): void {
  const ps = pageSize;
  entries.forEachChunk(start, end, (cols, from, to) => {
    for (let r = from; r < to; r++) {
      // A run lies in one VMA: count its pages in locals, then add them to the row once.
      let rss = 0, pss = 0, uss = 0, anon = 0, pssAnon = 0, shmem = 0, pssShmem = 0, file = 0, pssFile = 0;
      let ksm = 0, thp = 0, zero = 0, unmanaged = 0, hugePriv = 0, hugeShared = 0, hugePss = 0;
      // THP counts pages mapped by a PMD, as smaps AnonHugePages does: the walk marks such runs.
      const huge = (cols.bits[r]! & E_HUGE_RUN) !== 0;
      let pfn = cols.pfn[r]!;
      let left = cols.len[r]!;
      while (left > 0) {
        // The part of the run inside one table page: index its arrays directly.
        const page = kpage.pages[Math.floor(pfn / PAGE)];
        const counts = page?.count ?? EMPTY;
        const flags = page?.flagsLo ?? EMPTY;
        const o0 = pfn % PAGE;
        const n = Math.min(left, PAGE - o0);
        for (let o = o0; o < o0 + n; o++) {
          const f = flags[o]!;
          const c = counts[o]!;
          if ((f & (F_ZERO_PAGE | F_HUGE)) !== 0 || c === 0) {
            if ((f & F_ZERO_PAGE) !== 0) zero++;
            else if ((f & F_HUGE) !== 0) {
              if (c >= 2) {
                hugeShared++;
                hugePss += 1 / c;
              } else {
                hugePriv++;
                hugePss += 1;
              }
            } else unmanaged++;
            continue;
          }
          const share = c >= 2 ? 1 / c : 1;
          rss++;
          pss += share;
          if (c === 1) uss++;
          if ((f & F_ANON) !== 0) {
            anon++;
            pssAnon += share;
          } else if ((f & F_SWAPBACKED) !== 0) {
            shmem++;
            pssShmem += share;
          } else {
            file++;
            pssFile += share;
          }
          if ((f & F_KSM) !== 0) ksm++;
          if (huge && (f & F_THP) !== 0) thp++;
        }
        pfn += n;
        left -= n;
      }
      const base = cols.vma[r]! * NF;
      usage[base + U.rss]! += rss * ps;
      usage[base + U.pss]! += pss * ps;
      usage[base + U.uss]! += uss * ps;
      usage[base + U.shared]! += (rss - uss) * ps;
      usage[base + U.anon]! += anon * ps;
      usage[base + U.pssAnon]! += pssAnon * ps;
      usage[base + U.shmem]! += shmem * ps;
      usage[base + U.pssShmem]! += pssShmem * ps;
      usage[base + U.file]! += file * ps;
      usage[base + U.pssFile]! += pssFile * ps;
      usage[base + U.ksm]! += ksm * ps;
      usage[base + U.thp]! += thp * ps;
      usage[base + U.zeroPage]! += zero * ps;
      usage[base + U.unmanaged]! += unmanaged * ps;
      usage[base + U.hugetlbPrivate]! += hugePriv * ps;
      usage[base + U.hugetlbShared]! += hugeShared * ps;
      usage[base + U.hugetlbPss]! += hugePss * ps;
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
