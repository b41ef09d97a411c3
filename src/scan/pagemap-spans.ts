/**
 * Which stretches of /proc/PID/pagemap to read for a process: the mapped
 * ranges only (never the holes between mappings), with mappings that touch
 * read together (a library is four or five adjacent mappings), cut so that a
 * read never exceeds PAGEMAP_BATCH entries nor straddles a PAGEMAP_BATCH-
 * aligned boundary: a 2 MiB-aligned block of 512 entries, which may be one
 * PMD-mapped huge page, always arrives whole in one buffer.
 */
import type { VmaRange } from "./pagemap-pass.js";
import { WALK_BATCH } from "./wasm-abi.js";

/** Entries per read: a multiple of 512 so batches stay PMD-aligned (512 KiB of pagemap); one input slot of the walk. */
export const PAGEMAP_BATCH = WALK_BATCH;

/** One read: `count` entries from virtual page `vpn`, covering mappings `firstVma`..`lastVma` of the list. */
export interface PagemapSpan {
  readonly vpn: number;
  readonly count: number;
  readonly firstVma: number;
  readonly lastVma: number;
}

/** Does pagemap have entries for this mapping? [vsyscall] lies above TASK_SIZE. */
export function hasPagemap(vma: VmaRange): boolean {
  return vma.kind !== "vsyscall" && vma.end > vma.start;
}

export function pagemapSpans(vmas: readonly VmaRange[], pageSize: number): PagemapSpan[] {
  const spans: PagemapSpan[] = [];
  let v = 0;
  while (v < vmas.length) {
    if (!hasPagemap(vmas[v]!)) {
      v++;
      continue;
    }
    // A stretch of mappings each starting where the previous one ends.
    let last = v;
    while (last + 1 < vmas.length && hasPagemap(vmas[last + 1]!) && vmas[last + 1]!.start === vmas[last]!.end) last++;
    const end = Math.floor(vmas[last]!.end / pageSize);
    let vpn = Math.floor(vmas[v]!.start / pageSize);
    let first = v;
    while (vpn < end) {
      const batchEnd = Math.min(end, (Math.floor(vpn / PAGEMAP_BATCH) + 1) * PAGEMAP_BATCH);
      while (Math.floor(vmas[first]!.end / pageSize) <= vpn) first++;
      let to = first;
      while (to < last && Math.floor(vmas[to]!.end / pageSize) < batchEnd) to++;
      spans.push({ vpn, count: batchEnd - vpn, firstVma: first, lastVma: to });
      vpn = batchEnd;
    }
    v = last + 1;
  }
  return spans;
}
