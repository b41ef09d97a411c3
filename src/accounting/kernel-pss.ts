/**
 * PSS as the kernel computes it, and what smaps_rollup then prints.
 *
 * The kernel's arithmetic (fs/proc/task_mmu.c: smaps_account with
 * CONFIG_PAGE_MAPCOUNT, smaps_pte_entry for swap, show_smaps_rollup): each
 * present page adds, in units of 1/4096 byte (PSS_SHIFT = 12), `PAGE_SIZE <<
 * 12` when its map count m is below 2, else `(PAGE_SIZE << 12) / m`
 * truncated; the sums are u64 and printed as `pss >> 12 >> 10`, i.e.
 * truncated to kB. SwapPss does the same with the slot's swap count.
 *
 * pagelens adds each page's share exactly so (wasm/kpages.ts shareOf for the
 * resident pages, pssShareBytes below for swap): its PSS in bytes is the
 * kernel's `pss` divided by 4096, a multiple of 1/4096 byte, so
 *  - smaps_rollup's `Pss` is floor(P / 1024) kB for pagelens's P bytes,
 *    exactly, as are Pss_Anon, Pss_File and Pss_Shmem;
 *  - every PSS sum is a sum of integers (in 1/4096 byte), exact in a double
 *    up to 2^53 units (2 TiB), so it does not depend on the order or the
 *    grouping in which pages are added: a process's pages summed run by run,
 *    page by page or range by range give the same bits.
 *
 * Before, pagelens added page/m as a fraction, and the kernel's printed value
 * could only be bounded ([floor(P - n/2^22), floor(P)] for n shared pages);
 * measured on PostgreSQL (205 processes, 600 MiB of shared_buffers read by
 * every backend), the truncations cost a backend 6.25 bytes, which printed
 * an exact 4347.005 kB as 4346.
 */

/** PSS units per byte: the kernel's `1 << PSS_SHIFT`. */
export const PSS_UNITS_PER_BYTE = 4096;

/** One page's share of PSS in bytes for `mapCount` mappers, truncated to 1/4096 byte as the kernel does. */
export function pssShareBytes(pageSize: number, mapCount: number): number {
  const whole = pageSize * PSS_UNITS_PER_BYTE;
  return (mapCount >= 2 ? Math.floor(whole / mapCount) : whole) / PSS_UNITS_PER_BYTE;
}

/** The kB value smaps_rollup prints as `Pss` (or Pss_Anon, _File, _Shmem, SwapPss) for pagelens's PSS of `pssBytes`. */
export function kernelPssKiB(pssBytes: number): number {
  return Math.floor(pssBytes / 1024);
}

/** Whether the kernel's printed `Pss` (kB) is what its arithmetic gives for pagelens's PSS (bytes). */
export function pssAgrees(pssBytes: number, rollupPssKiB: number): boolean {
  return kernelPssKiB(pssBytes) === rollupPssKiB;
}
