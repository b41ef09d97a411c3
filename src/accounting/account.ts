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
import { E_HUGE_RUN, E_SHMEM_VMA, type RunColumns } from "../scan/entry-store.js";
import { NF, U } from "./usage.js";

/**
 * Per-PFN values by rank (the shape of scan/kpage-lookup.ts's KpageTable):
 * the PFNs of a stored run have consecutive ranks from rankOf(first PFN).
 */
export interface KpagePages {
  rankOf(pfn: number): number;
  readonly count: Uint32Array;
  readonly flagsLo: Uint32Array;
  /** kpageflags was read only where a page's class is not known from its mapping (E_SHMEM_VMA records have no flags). */
  readonly partialFlags: boolean;
}

/** The paging of PFN bitmaps (scan/kpage-lookup.ts PfnSet) and of the page-owner index. */
export const KPAGE_PAGE_SHIFT = 16;

/** Columns of stored runs. */
export interface RunSource {
  forEachChunk(start: number, end: number, fn: (cols: RunColumns, from: number, to: number) => void): void;
}

/** Per-run page counts, in the order sumRun fills them (PSS-like fields are fractional pages). */
const S_RSS = 0, S_PSS = 1, S_USS = 2, S_ANON = 3, S_PSS_ANON = 4, S_SHMEM = 5, S_PSS_SHMEM = 6, S_FILE = 7, S_PSS_FILE = 8;
const S_KSM = 9, S_THP = 10, S_ZERO = 11, S_UNMANAGED = 12, S_HUGE_PRIV = 13, S_HUGE_SHARED = 14, S_HUGE_PSS = 15;
const S_FIELDS = 16;

/** Usage row columns fed by each per-run count, and the row's `shared` = rss - uss. */
const S_TO_U: readonly number[] = [
  U.rss, U.pss, U.uss, U.anon, U.pssAnon, U.shmem, U.pssShmem, U.file, U.pssFile,
  U.ksm, U.thp, U.zeroPage, U.unmanaged, U.hugetlbPrivate, U.hugetlbShared, U.hugetlbPss,
];

/**
 * Add the pages of one run (`len` pages from `pfn`) to the counts in `acc`.
 * `shmem`: the run's pages are known to be shmem pages (E_SHMEM_VMA) and
 * their flags were not read.
 */
function sumRun(pfn: number, len: number, huge: boolean, shmem: boolean, kpage: KpagePages, acc: Float64Array): void {
  const r0 = kpage.rankOf(pfn);
  if (r0 < 0) {
    // Not looked up (the kpage files could not be read for it): not rmap-tracked as far as we know.
    acc[S_UNMANAGED]! += len;
    return;
  }
  const counts = kpage.count;
  if (shmem) {
    for (let r = r0; r < r0 + len; r++) {
      const c = counts[r]!;
      if (c === 0) {
        acc[S_UNMANAGED]!++;
        continue;
      }
      const share = c >= 2 ? 1 / c : 1;
      acc[S_RSS]!++;
      acc[S_PSS]! += share;
      if (c === 1) acc[S_USS]!++;
      acc[S_SHMEM]!++;
      acc[S_PSS_SHMEM]! += share;
    }
    return;
  }
  const flags = kpage.flagsLo;
  for (let r = r0; r < r0 + len; r++) {
    const f = flags[r]!;
    const c = counts[r]!;
    if ((f & (F_ZERO_PAGE | F_HUGE)) !== 0 || c === 0) {
      if ((f & F_ZERO_PAGE) !== 0) acc[S_ZERO]!++;
      else if ((f & F_HUGE) !== 0) {
        acc[c >= 2 ? S_HUGE_SHARED : S_HUGE_PRIV]!++;
        acc[S_HUGE_PSS]! += c >= 2 ? 1 / c : 1;
      } else acc[S_UNMANAGED]!++;
      continue;
    }
    const share = c >= 2 ? 1 / c : 1;
    acc[S_RSS]!++;
    acc[S_PSS]! += share;
    if (c === 1) acc[S_USS]!++;
    if ((f & F_ANON) !== 0) {
      acc[S_ANON]!++;
      acc[S_PSS_ANON]! += share;
    } else if ((f & F_SWAPBACKED) !== 0) {
      acc[S_SHMEM]!++;
      acc[S_PSS_SHMEM]! += share;
    } else {
      acc[S_FILE]!++;
      acc[S_PSS_FILE]! += share;
    }
    if ((f & F_KSM) !== 0) acc[S_KSM]!++;
    // THP counts pages mapped by a PMD, as smaps AnonHugePages does: the walk marks such runs.
    if (huge && (f & F_THP) !== 0) acc[S_THP]!++;
  }
}

/**
 * Sums of runs already counted, by first PFN. The same physical run is
 * usually mapped by many processes (a library, a shared memory segment, the
 * pages of a fork): it is counted once and reused. Only runs of at least
 * MEMO_MIN pages are kept, where a lookup is cheaper than a recount.
 */
export class RunMemo {
  private readonly index = new Map<number, number>();
  private lens = new Float64Array(1024);
  private sums = new Float64Array(1024 * S_FIELDS);
  private n = 0;

  /** Add the sums of the run (pfn, key) to `acc`; false when not known. */
  addTo(pfn: number, key: number, acc: Float64Array): boolean {
    const i = this.index.get(pfn);
    if (i === undefined || this.lens[i] !== key) return false;
    const sums = this.sums;
    for (let k = 0, o = i * S_FIELDS; k < S_FIELDS; k++, o++) acc[k]! += sums[o]!;
    return true;
  }

  put(pfn: number, key: number, acc: Float64Array): void {
    if (this.n === this.lens.length) {
      const lens = new Float64Array(this.n * 2);
      lens.set(this.lens);
      this.lens = lens;
      const sums = new Float64Array(this.n * 2 * S_FIELDS);
      sums.set(this.sums);
      this.sums = sums;
    }
    this.lens[this.n] = key;
    this.sums.set(acc, this.n * S_FIELDS);
    this.index.set(pfn, this.n++);
  }
}

const MEMO_MIN = 8;

/** Add the stored runs [start, end) of one process to its usage table. `memo` is shared by all processes of one scan. */
export function accountEntries(entries: RunSource, start: number, end: number, kpage: KpagePages, usage: Float64Array, pageSize: number, memo?: RunMemo): void {
  const ps = pageSize;
  const partial = kpage.partialFlags;
  // Runs come in VMA order: count a VMA's runs into `acc` and add it to the usage row once.
  const acc = new Float64Array(S_FIELDS);
  const one = new Float64Array(S_FIELDS);
  let vma = -1;
  const flush = (): void => {
    if (vma < 0) return;
    const base = vma * NF;
    for (let k = 0; k < S_FIELDS; k++) usage[base + S_TO_U[k]!]! += acc[k]! * ps;
    usage[base + U.shared]! += (acc[S_RSS]! - acc[S_USS]!) * ps;
    acc.fill(0);
  };
  entries.forEachChunk(start, end, (cols, from, to) => {
    for (let r = from; r < to; r++) {
      const pfn = cols.pfn[r]!;
      const len = cols.len[r]!;
      const bits = cols.bits[r]!;
      const huge = (bits & E_HUGE_RUN) !== 0;
      const shmem = partial && (bits & E_SHMEM_VMA) !== 0;
      if (cols.vma[r]! !== vma) {
        flush();
        vma = cols.vma[r]!;
      }
      if (memo && len >= MEMO_MIN) {
        // Memo keys: a run's length, negative for huge runs, and offset for runs summed as shmem.
        const key = (huge ? -len : len) + (shmem ? 0.5 : 0);
        if (!memo.addTo(pfn, key, acc)) {
          one.fill(0);
          sumRun(pfn, len, huge, shmem, kpage, one);
          memo.put(pfn, key, one);
          for (let k = 0; k < S_FIELDS; k++) acc[k]! += one[k]!;
        }
      } else sumRun(pfn, len, huge, shmem, kpage, acc);
    }
  });
  flush();
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
