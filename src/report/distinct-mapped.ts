/**
 * Distinct memory mapped by the scanned processes: every physical page once,
 * however many processes map it. `ps`'s machine figure, the groups report's
 * total (what no group owns alone is shared across groups) and the "mapped
 * by processes" line of `system` are this one computation.
 *
 * A page with map count 1 is in exactly one process's USS, whether it was
 * looked up or settled without a lookup (private anonymous pages proved
 * mapped once, scan/pagemap-walk.ts); a page mapped more often is in no
 * USS. So the figure is the sum of the USS of the processes read page by
 * page plus every looked-up page with map count 2 or more, once
 * (accounting/distinct-pages.ts): one pass over the looked-up values, none
 * over the runs. Like RSS, it leaves out the zero page and PFN maps;
 * hugetlb pages are counted apart. File and shmem pages are all looked up
 * (only private anonymous pages are settled), so they are counted exactly;
 * anonymous memory is the rest.
 */
import { countDistinctPages } from "../accounting/distinct-pages.js";
import { sumField, U } from "../accounting/usage.js";
import type { Scan } from "../scan/scan-data.js";

/** Bytes of distinct mapped memory, by kind. */
export interface DistinctMapped {
  /** All of it: anon + shmem + file. */
  readonly bytes: number;
  /** Anonymous pages, settled ones included: bytes − shmem − file. */
  readonly anon: number;
  readonly shmem: number;
  readonly file: number;
  /** Distinct hugetlb pages mapped (not in `bytes`). */
  readonly hugetlb: number;
}

/** Distinct memory mapped by all scanned processes; null without page-level data (no root). */
export function distinctMappedOf(scan: Scan): DistinctMapped | null {
  if (scan.mode !== "pagemap") return null;
  const ps = scan.kernel.pageSize;
  const d = countDistinctPages(scan.kpage.count, scan.kpage.flagsLo);
  let uss = 0;
  for (const p of scan.processes) if (p.state === "ok" && p.source === "pagemap") uss += sumField(p.usage, U.uss);
  const bytes = uss + d.shared * ps;
  return { bytes, anon: bytes - (d.shmem + d.file) * ps, shmem: d.shmem * ps, file: d.file * ps, hugetlb: d.hugetlb * ps };
}
