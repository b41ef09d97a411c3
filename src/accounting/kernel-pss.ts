/**
 * Which `Pss` line of smaps_rollup the kernel can print for a process whose
 * exact PSS pagelens computed: where the two legitimately differ, and by how
 * much. The live oracle test and the scale bench's accuracy check
 * (bench/scale/compare.ts) hold pagelens to this interval instead of a
 * guessed tolerance.
 *
 * The kernel's arithmetic (fs/proc/task_mmu.c, smaps_account with
 * CONFIG_PAGE_MAPCOUNT, and show_smaps_rollup): each present page adds, in
 * units of 1/4096 byte (PSS_SHIFT = 12), `PAGE_SIZE << 12` when its map count
 * m is below 2, else `(PAGE_SIZE << 12) / m` truncated; the sums are kept in a
 * u64 and printed as `pss >> 12 >> 10`, i.e. truncated to kB. So, with P the
 * exact sum Σ PAGE_SIZE/m in kB (pagelens's value) and S the kernel's sum in
 * kB, each shared page loses less than 1/4096 byte: P - n/2^22 < S <= P for n
 * shared pages (map count >= 2: Rss - USS), and the printed value is
 * floor(S). Hence floor(P - n/2^22) <= printed <= floor(P), nothing wider and
 * nothing narrower without the per-page map counts.
 *
 * Measured (PostgreSQL 15, 205 processes, 600 MiB of shared_buffers read by
 * every backend): a backend maps about 159,300 shared pages with map counts
 * near 205; the kernel's fixed-point sum came out 6.25 bytes (0.0061 kB)
 * below the exact one on every backend (mean loss 0.161/4096 byte a page, the
 * bound n/2^22 is 0.038 kB). A backend whose exact PSS lies in [N, N +
 * 0.0061) kB is printed as N - 1: pagelens 4347.01 against the kernel's 4346
 * is right, and the old check (|P - printed| < 1 kB) called it a mismatch.
 * The old check also accepted a printed value above floor(P), which the
 * kernel's arithmetic cannot produce.
 */

/** Slack for the double-precision sum of page/mapcount fractions (its error is far below 1e-6 kB for any real process). */
const FLOAT_SLACK_KIB = 1e-6;

/** The interval [low, high] of kB values the kernel can print as `Pss` for an exact PSS of `pssBytes` with `sharedPages` pages of map count >= 2. */
export function kernelPssRangeKiB(pssBytes: number, sharedPages: number): { low: number; high: number } {
  const p = pssBytes / 1024;
  // Each shared page's (pageSize << 12) / m truncates less than one unit of 1/4096 byte.
  const maxLossKiB = sharedPages / 4096 / 1024;
  return { low: Math.floor(p - maxLossKiB - FLOAT_SLACK_KIB), high: Math.floor(p + FLOAT_SLACK_KIB) };
}

/** Whether the kernel's printed `Pss` (kB) is one its arithmetic can give for pagelens's exact PSS. */
export function pssAgrees(pssBytes: number, sharedPages: number, rollupPssKiB: number): boolean {
  const { low, high } = kernelPssRangeKiB(pssBytes, sharedPages);
  return rollupPssKiB >= low && rollupPssKiB <= high;
}
