/**
 * SwapPss the kernel's way when a scan saw only some processes.
 *
 * The kernel divides each swapped-out page by the slot's reference count in
 * the swap map (fs/proc/task_mmu.c smaps_pte_entry: swp_swapcount()), which
 * counts every page table that holds the entry. The page-table scan can only
 * count the entries it read: over every process that is the same number, but
 * a scan of one process (`maps PID`, `ps --pid`, `ps --user`) sees one
 * reference to a slot that four processes share and would charge it the
 * whole page (2048K where the kernel says 512K). The swap map itself is not
 * readable from user space, so for such a scan the per-mapping SwapPss comes
 * from the kernel's own /proc/PID/smaps, read only for processes that have
 * swap entries. Swap (the page count) stays page-level either way.
 */
import { NF, U } from "../accounting/usage.js";
import { PermissionError, ProcessGoneError } from "../errors.js";
import type { Vma } from "../parse/maps.js";
import { parseSmaps } from "../parse/smaps.js";
import type { ProcFs } from "../procfs/procfs.js";

export interface SwapPssTarget {
  readonly pid: number;
  readonly vmas: readonly Vma[];
  /** One usage row per VMA; the swapPss column is overwritten. */
  readonly usage: Float64Array;
}

/**
 * Replace the swapPss of every mapping of `p` with smaps' SwapPss. Returns
 * false (usage untouched) when smaps could not be read: the process exited or
 * refuses it; the scan's own figure then stands, an upper bound.
 */
export function swapPssFromSmaps(procfs: ProcFs, p: SwapPssTarget): boolean {
  let text: string;
  try {
    text = procfs.readText(`${p.pid}/smaps`, p.pid);
  } catch (err) {
    if (err instanceof ProcessGoneError || err instanceof PermissionError) return false;
    throw err;
  }
  const byRange = new Map<string, number>();
  for (const e of parseSmaps(text, procfs.path(p.pid, "smaps"))) byRange.set(e.vma.range, e.fields["SwapPss"] ?? 0);
  for (let i = 0; i < p.vmas.length; i++) {
    // A mapping that changed since maps was read keeps the scan's figure.
    const k = byRange.get(p.vmas[i]!.range);
    if (k !== undefined) p.usage[i * NF + U.swapPss] = k;
  }
  return true;
}
