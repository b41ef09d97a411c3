/**
 * The memory-usage record, kept per VMA as one row of a Float64Array (so the
 * hot loops index numbers, not objects) and turned into a named object for
 * reports. Every value is in bytes; PSS values are fractional bytes, summed
 * exactly per page (4096/mapcount) and rounded only when printed.
 */

/** Field order of a usage row. */
export const USAGE_FIELDS = [
  "rss", // present pages the kernel counts in smaps Rss (zero pages, PFN maps and hugetlb excluded)
  "pss", // Σ page/mapcount
  "uss", // pages with mapcount 1 (smaps Private_Clean + Private_Dirty)
  "shared", // pages with mapcount ≥ 2 (smaps Shared_Clean + Shared_Dirty)
  "anon", // anonymous pages (smaps Anonymous)
  "file", // page-cache pages that are not shmem
  "shmem", // shmem, tmpfs, SysV shm, memfd and shared anonymous pages
  "pssAnon",
  "pssFile",
  "pssShmem",
  "swap", // swap entries in the page tables
  "swapPss", // Σ page / number of scanned PTEs referencing the same swap slot
  "ksm", // KSM-merged pages
  "thp", // pages mapped by a 2 MiB huge page mapping (THP PMD-mapped: smaps AnonHugePages + ShmemPmdMapped + FilePmdMapped)
  "hugetlbPrivate", // hugetlb pages mapped once (smaps Private_Hugetlb)
  "hugetlbShared", // hugetlb pages mapped more than once (smaps Shared_Hugetlb)
  "hugetlbPss",
  "zeroPage", // PTEs of the shared zero page or the huge zero page (not memory use; left out of rss)
  "unmanaged", // present PTEs without an rmap-tracked page: PFN maps, device memory (left out of rss)
  "migration", // migration, hwpoison and device-private entries (transient; not swap)
  "guard", // guard-region markers (MADV_GUARD_INSTALL)
  "uffdWp", // userfaultfd write-protected entries
  "softDirty", // soft-dirty entries (only with CONFIG_MEM_SOFT_DIRTY)
] as const;

export type UsageField = (typeof USAGE_FIELDS)[number];
export type MemUsage = Record<UsageField, number>;

export const NF = USAGE_FIELDS.length;

/**
 * Column index of each field. A frozen literal (not built at run time) so
 * that hot loops compile `U.rss` to a constant.
 */
export const U = {
  rss: 0,
  pss: 1,
  uss: 2,
  shared: 3,
  anon: 4,
  file: 5,
  shmem: 6,
  pssAnon: 7,
  pssFile: 8,
  pssShmem: 9,
  swap: 10,
  swapPss: 11,
  ksm: 12,
  thp: 13,
  hugetlbPrivate: 14,
  hugetlbShared: 15,
  hugetlbPss: 16,
  zeroPage: 17,
  unmanaged: 18,
  migration: 19,
  guard: 20,
  uffdWp: 21,
  softDirty: 22,
} as const satisfies Record<UsageField, number>;

export function zeroUsage(): MemUsage {
  return Object.fromEntries(USAGE_FIELDS.map((f) => [f, 0])) as MemUsage;
}

/** Row `row` of a usage table as a named record. */
export function usageRow(table: Float64Array, row: number): MemUsage {
  const out = zeroUsage();
  const base = row * NF;
  for (let i = 0; i < NF; i++) out[USAGE_FIELDS[i]!] = table[base + i]!;
  return out;
}

/** Sum of all rows of a usage table. */
export function sumRows(table: Float64Array): MemUsage {
  return usageRow(sumRowsInto(table, new Float64Array(NF)), 0);
}

/**
 * Sum of all rows of a usage table into `into` (NF numbers, overwritten),
 * allocating nothing: for reports built again and again from a Scanner's
 * scans (docs/performance.md section 3).
 */
export function sumRowsInto(table: Float64Array, into: Float64Array): Float64Array {
  into.fill(0, 0, NF);
  for (let base = 0; base < table.length; base += NF) for (let f = 0; f < NF; f++) into[f]! += table[base + f]!;
  return into;
}

/** Sum of one field over all rows of a usage table (`U.uss` ...), allocating nothing. */
export function sumField(table: Float64Array, field: number): number {
  let sum = 0;
  for (let i = field; i < table.length; i += NF) sum += table[i]!;
  return sum;
}

export function addUsage(into: MemUsage, other: MemUsage): MemUsage {
  for (const f of USAGE_FIELDS) into[f] += other[f];
  return into;
}

/**
 * A usage row from the kernel's own figures: the fields of one smaps entry or
 * of smaps_rollup, in bytes. Used where a process's pages cannot be read
 * (no root: PFNs hidden), so its numbers are the kernel's. Fields smaps does
 * not have (file, shmem, zero pages, markers ...) stay 0; Pss_Anon, Pss_File
 * and Pss_Shmem exist in smaps_rollup only. Written into row `row` of
 * `table`, which is returned.
 */
export function usageFromSmaps(fields: Readonly<Record<string, number>>, table = new Float64Array(NF), row = 0): Float64Array {
  const g = (k: string): number => fields[k] ?? 0;
  const b = row * NF;
  table[b + U.rss] = g("Rss");
  table[b + U.pss] = g("Pss");
  table[b + U.uss] = g("Private_Clean") + g("Private_Dirty");
  table[b + U.shared] = g("Shared_Clean") + g("Shared_Dirty");
  table[b + U.anon] = g("Anonymous");
  table[b + U.pssAnon] = g("Pss_Anon");
  table[b + U.pssFile] = g("Pss_File");
  table[b + U.pssShmem] = g("Pss_Shmem");
  table[b + U.swap] = g("Swap");
  table[b + U.swapPss] = g("SwapPss");
  table[b + U.ksm] = g("KSM");
  table[b + U.thp] = g("AnonHugePages") + g("ShmemPmdMapped") + g("FilePmdMapped");
  table[b + U.hugetlbPrivate] = g("Private_Hugetlb");
  table[b + U.hugetlbShared] = g("Shared_Hugetlb");
  return table;
}

// U must list USAGE_FIELDS in order; checked once at load so the two can never drift apart.
USAGE_FIELDS.forEach((f, i) => {
  if (U[f] !== i) throw new Error(`usage field ${f} has index ${U[f]}, expected ${i}`);
});
