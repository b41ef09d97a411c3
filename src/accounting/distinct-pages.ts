/**
 * Distinct pages: looked-up physical pages counted once each, by class
 * (page-class.ts), whatever number of mappings the scan found for them. The
 * values are by rank (one entry per looked-up PFN), so a plain loop over the
 * arrays visits every page once. Pages the scan settled without a lookup are
 * not in the arrays; report/distinct-mapped.ts adds them.
 */
import { PAGE_ANON, PAGE_FILE, PAGE_HUGETLB, PAGE_MEMORY, PAGE_SHMEM, pageClass } from "./page-class.js";

export interface DistinctPages {
  readonly anon: number;
  readonly shmem: number;
  readonly file: number;
  /** hugetlb pages: not memory use in RSS's sense (they return to the hugetlb pool), counted apart. */
  readonly hugetlb: number;
  /** Memory-use pages (any kind) with a map count of 2 or more: in no process's USS. */
  readonly shared: number;
}

/** Pages by class from per-page map counts and kpageflags (low half). */
export function countDistinctPages(count: Uint32Array, flagsLo: Uint32Array): DistinctPages {
  const n = new Float64Array(PAGE_FILE + 1);
  let shared = 0;
  for (let r = 0; r < count.length; r++) {
    const c = count[r]!;
    const cls = pageClass(c, flagsLo[r]!);
    n[cls]!++;
    if (c >= 2 && cls >= PAGE_MEMORY) shared++;
  }
  return { anon: n[PAGE_ANON]!, shmem: n[PAGE_SHMEM]!, file: n[PAGE_FILE]!, hugetlb: n[PAGE_HUGETLB]!, shared };
}
