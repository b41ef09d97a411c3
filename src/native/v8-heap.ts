/**
 * V8's heap, for callers that scan again and again in one process (`serve`,
 * `top`, a library user's daemon): the two things V8 does on its own that a
 * caller watching its RSS cannot tell from a leak, and the settings that stop
 * them. Both are process-wide, so the library applies them only when asked
 * (ScannerOptions).
 */
import * as v8 from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Stop V8 from growing this process's young generation beyond its present
 * size: `--semi-space-growth-factor=1`, which V8 reads each time it decides
 * to grow (Heap::CheckNewSpaceExpansionCriteria: new capacity = factor x
 * current, at most --max-semi-space-size), so it takes effect at run time,
 * unlike the semi-space sizes themselves.
 *
 * Why: V8 doubles the young generation whenever the bytes that survived
 * scavenges since it last grew exceed its size, a count that never resets
 * otherwise. A scan keeps ~20-40 KB of what it allocates (its own working set
 * caught by a scavenge), so every long-running scanner eventually crossed
 * it: the young generation went 8 -> 16 -> 32 MiB committed (+15-24 MiB of
 * RSS) at scan 10-100, steps that are V8's sizing, not a leak, but that a
 * caller watching RSS cannot tell from one (docs/performance.md section 3).
 * Held after the first scans have grown it to what a scan's allocation
 * needs, a scan costs the same scavenges; shrinking (V8 does it when the
 * allocation rate falls) still happens.
 */
export function holdYoungGeneration(): void {
  v8.setFlagsFromString("--semi-space-growth-factor=1");
}

/** Scans after which `serve` and `top` hold the young generation: by then it has grown to what a scan's allocation needs. */
export const HOLD_YOUNG_GENERATION_AFTER = 5;

/**
 * What a caller that scans again and again does before its scan number
 * `scan` (from 1): hold the young generation once `holdAfter` scans are
 * done, and with `collect` collect what the scans before left.
 */
export function beforeRepeatedScan(scan: number, o: { readonly holdAfter?: number; readonly collect?: boolean }): void {
  if (o.holdAfter !== undefined && scan === o.holdAfter + 1) holdYoungGeneration();
  if (o.collect === true && scan > 1) collectGarbage();
}

let collector: (() => void) | undefined | null = null;

/**
 * A full garbage collection, now. Each whole-machine scan leaves garbage
 * that survived two scavenges and was promoted (maps and status texts of
 * changed processes, the scan's working set caught by a scavenge, the
 * caller's reports): ~65 KB a scan on the bench's repeat machine, 6.9 ->
 * 13 MiB of old generation over 100 scans before V8's own limit made it
 * collect; on 2,000 processes tens of MB a scan (top's RSS swung between 220
 * and 310 MiB). A collection between scans costs 5-6 ms on a 15 MiB heap.
 * `gc` is not exposed without --expose-gc; setting the flag at run time
 * exposes it in contexts made afterwards. If that ever fails, nothing is
 * collected and everything works as before.
 */
export function collectGarbage(): void {
  if (collector === null) collector = exposedGc();
  collector?.();
}

function exposedGc(): (() => void) | undefined {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
