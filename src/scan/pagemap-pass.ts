/**
 * The page-table pass: read the pagemap of each target process and walk it
 * into a run store, a swap store and per-VMA usage rows. The same function
 * runs on the main thread and in the scan worker; both pull process indexes
 * from a shared queue so the two cores stay busy until the end.
 */
import { NF } from "../accounting/usage.js";
import { PagelensError, PermissionError, ProcessGoneError } from "../errors.js";
import type { Vma } from "../parse/maps.js";
import type { ProcFs } from "../procfs/procfs.js";
import type { EntryStore, SwapStore } from "./entry-store.js";
import { walkPagemap, type WalkTarget } from "./pagemap-walk.js";
import { PagemapBuffer, readPagemap } from "./read-pagemap.js";

export interface PagemapParams {
  readonly pageSize: number;
  readonly maxSwapfiles: number;
  readonly trustExclusive: boolean;
}

/** What readPagemap needs of a mapping. */
export type VmaRange = Pick<Vma, "start" | "end" | "kind">;

export interface PagemapTarget {
  readonly pid: number;
  readonly vmas: readonly VmaRange[];
}

export interface PagemapOutcome {
  /** Index of the target in the list. */
  readonly index: number;
  /** ok; hidden: PFNs read as zero (no CAP_SYS_ADMIN); gone: exited; denied: EACCES; failed: another read error. */
  readonly status: "ok" | "hidden" | "gone" | "denied" | "failed";
  readonly reason?: string;
  readonly usage: Float64Array;
  /** Records [start, end) in the thread's run store, and [start, end) in its swap store. */
  readonly runs: readonly [number, number];
  readonly swaps: readonly [number, number];
}

/** Read targets until `next()` returns -1. */
export function runPagemapPass(
  procfs: ProcFs,
  targets: readonly PagemapTarget[],
  params: PagemapParams,
  next: () => number,
  store: EntryStore,
  swaps: SwapStore,
): PagemapOutcome[] {
  const buf = new PagemapBuffer();
  const out: PagemapOutcome[] = [];
  for (let index = next(); index >= 0; index = next()) {
    const { pid, vmas } = targets[index]!;
    const runStart = store.length;
    const swapStart = swaps.length;
    const target: WalkTarget = {
      store,
      swaps,
      usage: new Float64Array(Math.max(vmas.length, 1) * NF),
      trustExclusive: params.trustExclusive,
      maxSwapfiles: params.maxSwapfiles,
      pageSize: params.pageSize,
      pfnHidden: false,
    };
    const fail = (status: PagemapOutcome["status"], reason?: string): void => {
      store.truncate(runStart);
      swaps.truncate(swapStart);
      out.push({ index, status, reason, usage: target.usage, runs: [runStart, runStart], swaps: [swapStart, swapStart] });
    };
    try {
      readPagemap(procfs, pid, vmas as Vma[], params.pageSize, buf, (u32, count, vpn, v) => walkPagemap(u32, count, vpn, v, target));
    } catch (err) {
      if (err instanceof ProcessGoneError) fail("gone");
      else if (err instanceof PermissionError) fail("denied", err.message);
      else if (err instanceof PagelensError) fail("failed", err.message);
      else throw err;
      continue;
    }
    if (target.pfnHidden) fail("hidden");
    else out.push({ index, status: "ok", usage: target.usage, runs: [runStart, store.length], swaps: [swapStart, swaps.length] });
  }
  return out;
}
